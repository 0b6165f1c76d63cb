"""``moderation.heap``: a warm process takes its long-lived objects out of the collector's generations."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from moderation.heap import YOUNG_THRESHOLD, freeze_long_lived, item_time

POLICIES = Path(__file__).resolve().parents[2] / "policies"


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_freeze_keeps_what_lives_and_collects_garbage_first() -> None:
    saved = gc.get_threshold()
    gc.unfreeze()
    try:
        kept = [_Cycle() for _ in range(10)]
        garbage = weakref.ref(_Cycle())  # a cycle nothing refers to: only the collector frees it
        assert garbage() is not None
        freeze_long_lived()
        assert garbage() is None  # collected, not frozen for good
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        ids = {id(o) for o in kept}
        assert not any(id(o) in ids for o in gc.get_objects())  # out of the generations the collector walks
        gc.collect()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ((700, 10, 10), (YOUNG_THRESHOLD, 10, 10)),  # Python's default: raised, the older generations kept
        ((2000, 5, 20), (YOUNG_THRESHOLD, 5, 20)),
        ((YOUNG_THRESHOLD * 2, 10, 10), (YOUNG_THRESHOLD * 2, 10, 10)),  # already higher: kept
        ((0, 10, 10), (0, 10, 10)),  # the collector turned off by whoever runs us: left off
    ],
)
def test_freeze_raises_the_young_threshold(before: tuple[int, int, int], after: tuple[int, int, int]) -> None:
    saved = gc.get_threshold()
    gc.unfreeze()
    try:
        gc.set_threshold(*before)
        freeze_long_lived()
        assert gc.get_threshold() == after
    finally:
        gc.unfreeze()
        gc.set_threshold(*saved)


def test_classifying_makes_no_cyclic_garbage() -> None:
    """What makes the raised threshold cheap: a classified item's objects are freed by reference counting."""
    from moderation.domain import Item, ItemKind
    from moderation.policy import Classifier, load_packs

    clf = Classifier(load_packs(POLICIES))
    items = [
        Item(ItemKind.COMMENT, {"body": "thằng chó này lừa đảo, đm mày"}),
        Item(ItemKind.POST, {"title": "Rao vặt", "body": "Bán ma túy đá giá rẻ, lh 0901 234 567. " * 40}),
        Item(ItemKind.POST, {"title": "Tin", "body": "<p>Công an <b>triệt phá</b> đường dây ma túy</p>" * 20}),
    ]
    clf.classify(items[0])  # loads what the detectors load lazily
    gc.collect()
    gc.disable()
    try:
        for it in items * 5:
            clf.classify(it)
        assert gc.collect() == 0
    finally:
        gc.enable()


# ------------------------------------------------------------------------------------------------------------------
# item_time: the CPU time the per-item budgets count leaves the collector's passes out


@pytest.fixture
def pending_heap() -> Iterator[None]:
    """300,000 objects no collection has walked yet, with the collector off: the next collections walk them all,
    some tens of milliseconds (a test process, or a web process that classifies inline, holds millions)."""
    saved, enabled = gc.get_threshold(), gc.isenabled()
    gc.collect()
    gc.disable()
    junk = [[i] for i in range(300_000)]
    try:
        yield
    finally:
        gc.set_threshold(*saved)
        if enabled:
            gc.enable()
        del junk


def _collect_often() -> None:
    gc.set_threshold(1, 1, 1)  # every allocation starts a collection, and the older generations follow
    gc.enable()


def _explicit() -> None:
    gc.collect()


def _on_allocation() -> None:
    _collect_often()
    [[] for _ in range(3)]


@pytest.mark.parametrize("collect", [_explicit, _on_allocation], ids=["gc.collect", "on allocation"])
def test_item_time_leaves_out_the_collectors_passes(pending_heap: None, collect: Callable[[], None]) -> None:
    t0, i0 = time.thread_time(), item_time()
    collect()
    spent, charged = time.thread_time() - t0, item_time() - i0
    assert spent > 0.01  # the collections ran, in this thread
    assert charged < spent / 10


def test_item_time_is_per_thread(pending_heap: None) -> None:
    """A collection in another thread is not taken off this thread's time (it did not run in it)."""
    before = item_time() - time.thread_time()
    worker = threading.Thread(target=gc.collect)
    worker.start()
    worker.join()
    assert abs((item_time() - time.thread_time()) - before) < 0.001


def test_item_time_counts_each_collection_once_after_a_reload(pending_heap: None) -> None:
    """A reload of ``moderation.heap`` (a test runner's, a debugger's) replaces its callback: two would take each
    collection off twice. Functions imported before the reload read the module's new state (the same globals)."""
    import importlib

    import moderation.heap

    before = item_time
    importlib.reload(moderation.heap)
    ours = [cb for cb in gc.callbacks if getattr(cb, "__qualname__", "") == "_on_collection"]
    assert len(ours) == 1
    t0, i0, j0 = time.thread_time(), before(), moderation.heap.item_time()
    gc.collect()
    spent = time.thread_time() - t0
    assert spent > 0.01
    assert before() - i0 < spent / 10
    assert moderation.heap.item_time() - j0 < spent / 10


def _regex(budget_s: float) -> Any:
    from moderation.policy.matching import FieldText, Prefilter, compile_patterns, regex_signals

    patterns = compile_patterns([("p", "raw", r"ABC", False, 0.5), ("p", "word", r"\bxyz\b", True, 0.5)])
    fields = [FieldText(f"f{i}", "xyz ABC", "xyz ABC") for i in range(3)]
    prefilter = Prefilter(patterns)
    timed_out: list[str] = []
    _collect_often()
    signals = regex_signals(patterns, fields, prefilter, budget_s=budget_s, timed_out=timed_out)
    gc.disable()
    assert timed_out == []
    return sorted((s.key, s.attrs["field"]) for s in signals)


def _personal(budget_s: float) -> Any:
    from moderation.detect.personal import find_personal_data

    _collect_often()
    data = find_personal_data("gọi 0912 345 678 nhé", budget_s=budget_s)
    gc.disable()
    return [(d.kind, d.start, d.end) for d in data]


@pytest.mark.parametrize("detect", [_regex, _personal], ids=["regex patterns", "personal data"])
def test_a_collection_inside_an_item_leaves_its_budget(pending_heap: None, detect: Callable[[float], Any]) -> None:
    """CI saw it: a full collection that started inside ``regex_signals`` used up its 50 ms, and no pattern gave the
    item a verdict. Here the first allocations inside the item start collections of 300,000 objects."""
    want = detect(60.0)
    assert want  # something to lose
    gc.collect()
    gc.disable()
    junk = [[i] for i in range(300_000)]  # noqa: F841 -- walked by the collections inside the item
    t0 = time.thread_time()
    got = detect(0.01)
    assert time.thread_time() - t0 > 0.02  # the collections took twice the budget, inside the item
    assert got == want
