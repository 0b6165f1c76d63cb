"""``moderation.heap``: a warm process takes its long-lived objects out of the collector's generations."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import pytest

from moderation.heap import YOUNG_THRESHOLD, freeze_long_lived

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
