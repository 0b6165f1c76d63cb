"""``Classifier.classify_many``: the detectors run stage by stage over groups of items, and every item's Evaluation is
the one ``classify`` gives it alone (signals and their order, detector errors, verdict, trace, stored record)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import History, Item, ItemKind, PostKind, Signal
from moderation.policy import Classifier, load_packs
from moderation.policy import engine as engine_module
from moderation.policy.detectors import Adapter, default_adapters
from moderation.text import normalise as normalise_module

POLICIES = Path(__file__).resolve().parents[2] / "policies"

PIECES = [
    "Hôm nay trời Hà Nội se lạnh.",
    "Bán ma túy đá giá rẻ, ship cod toàn quốc, lh 0901 234 567.",
    "thằng chó Nguyễn Văn An này lừa đảo",
    "địa chỉ 12 Lê Lợi, Phường Bến Nghé, Quận 1",
    'Báo chí đưa tin "thằng chó này" bị bắt.',
    "xem phim sex clip nóng miễn phí tại đây https://phim-sex.example.vn",
    "Đả đảo cộng sản, lật đổ chế độ ngay!",
    "đồ ngu, mày là con chó, @tuan_anh",
    "dit me may thang ngu",
    "",
]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def _dump(ev: Any) -> str:
    return json.dumps([ev.to_json(), ev.to_record()], sort_keys=True, ensure_ascii=False)


def _items(texts: Sequence[str]) -> list[Item]:
    kinds = [ItemKind.COMMENT, ItemKind.POST, ItemKind.BLOG]
    out = []
    for i, text in enumerate(texts):
        kind = kinds[i % 3]
        fields = {"body": text} if kind is ItemKind.COMMENT else {"title": text[:30], "body": text}
        if kind is ItemKind.BLOG:
            fields = {"name": text[:20] or "blog", "description": text}
        out.append(Item(kind=kind, fields=fields, post_kind=PostKind.SHARE if i % 4 == 3 else PostKind.ORIGINAL))
    return out


def _histories(n: int) -> list[History | None]:
    return [
        None if i % 3 == 0 else History(author_violations=i % 5, author_violations_by_category={"c07.s3_1.slander": i})
        for i in range(n)
    ]


CASES = [
    # (texts, with histories)
    ([], False),
    (["thằng chó Nguyễn Văn An này lừa đảo"], False),
    (PIECES, False),
    (PIECES, True),
    (PIECES * 9, True),  # more fields than one group holds: several groups
    (["Bán ma túy đá giá rẻ, ship cod toàn quốc, lh 0901 234 567."] * 40, False),  # the same text in every item
]


@pytest.mark.parametrize(("texts", "with_history"), CASES)
def test_classify_many_gives_what_classify_gives(clf: Classifier, texts: list[str], with_history: bool) -> None:
    items = _items(texts)
    histories = _histories(len(items)) if with_history else None
    got = clf.classify_many(items, histories)
    want = [clf.classify(it, histories[i] if histories else None) for i, it in enumerate(items)]
    assert len(got) == len(items)
    assert [_dump(e) for e in got] == [_dump(e) for e in want]
    assert [e.signals for e in got] == [e.signals for e in want]  # the same signals, in the same order


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from(PIECES), max_size=4).map(" ".join), max_size=12), st.integers(1, 9))
def test_any_grouping_gives_what_classify_gives(clf: Classifier, texts: list[str], cache: int) -> None:
    """Whatever the normaliser's cache size (and so the groups), the Evaluations are those of ``classify``."""
    items = _items(texts)
    want = [_dump(clf.classify(it)) for it in items]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine_module, "normalise_cache_size", lambda: cache)
        assert [_dump(e) for e in clf.classify_many(items)] == want


def test_groups_hold_fewer_fields_than_the_normaliser_keeps(clf: Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each group's fields fit in three quarters of the normaliser's cache; one item with more fields is a group."""
    sizes: list[int] = []
    real = Classifier._signals_many

    def spy(self: Classifier, items: Sequence[Item], fields: Any) -> Any:
        sizes.append(sum(len(f) for f in fields))
        return real(self, items, fields)

    monkeypatch.setattr(Classifier, "_signals_many", spy)
    monkeypatch.setattr(engine_module, "normalise_cache_size", lambda: 8)  # room for 6 fields
    items = _items(PIECES * 3)
    clf.classify_many(items)
    assert sum(sizes) == sum(len(engine_module.field_texts(it)) for it in items)
    assert max(sizes) <= 6
    assert len(sizes) > 1
    sizes.clear()
    many = Item(kind=ItemKind.BLOG, fields={f"f{i}": "chào" for i in range(9)})  # 9 fields, more than the room
    clf.classify_many([many, many])
    assert sizes == [len(engine_module.field_texts(many))] * 2


def test_the_stream_yields_each_group_before_starting_the_next(
    clf: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``classify_stream`` gives a group's Evaluations before it runs the detectors over the next group."""
    calls: list[int] = []
    real = Classifier._signals_many

    def spy(self: Classifier, items: Sequence[Item], fields: Any) -> Any:
        calls.append(len(items))
        return real(self, items, fields)

    monkeypatch.setattr(Classifier, "_signals_many", spy)
    monkeypatch.setattr(engine_module, "normalise_cache_size", lambda: 4)  # room for 3 fields: one post a group
    items = _items(PIECES[:6])
    stream = clf.classify_stream(items)
    assert calls == []  # nothing is done before it is asked for
    first = next(stream)
    assert len(calls) == 1
    rest = list(stream)
    assert sum(calls) == len(items)
    assert [_dump(e) for e in [first, *rest]] == [_dump(clf.classify(it)) for it in items]


def test_each_text_of_a_group_is_normalised_once(clf: Classifier) -> None:
    """The language detector finds the texts the lexicon stage normalised, for the whole group."""
    items = _items([f"{p} số {i}" for i, p in enumerate(PIECES[:-1] * 2)])  # distinct texts, none seen before
    texts = {ft.text for it in items for ft in engine_module.field_texts(it)}
    clf.classify(Item(kind=ItemKind.POST, fields={"body": "chào"}))  # the detectors' tables loaded (they normalise)
    normalise_module._normalise_cached.cache_clear()
    clf.classify_many(items)
    assert normalise_module._normalise_cached.cache_info().misses == len(texts)


def _failing(name: str, exc: Exception, on: str) -> Adapter:
    def run(item: Item, registries: Any) -> Sequence[Signal]:
        if on in item.fields.get("body", ""):
            raise exc
        return []

    return Adapter(name, run)


def test_detector_errors_stay_with_their_item() -> None:
    """A detector that fails or runs out of time on one item of a group: that item records it (and a timeout sends
    it to review), as ``classify`` does; the others are untouched."""
    adapters = [
        *default_adapters(),
        _failing("broken", RuntimeError("boom"), "ma túy"),
        _failing("slow", TimeoutError("budget"), "Hà Nội"),
    ]
    clf = Classifier(load_packs(POLICIES), adapters=adapters)
    items = _items(PIECES)
    got = clf.classify_many(items)
    want = [clf.classify(it) for it in items]
    assert [_dump(e) for e in got] == [_dump(e) for e in want]
    errors = [[e["detector"] for e in ev.detector_errors] for ev in got]
    assert errors[:3] == [["slow"], ["broken"], []]  # a comment and a post with a body, a blog with none
    assert got[0].verdict.value == "review"  # part of it was not scanned


def test_one_history_per_item(clf: Classifier) -> None:
    with pytest.raises(ValueError, match="one history per item"):
        clf.classify_many(_items(PIECES[:3]), [None])
