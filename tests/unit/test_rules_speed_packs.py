"""``_rules.evaluate_packs`` (the compiled branch of ``Classifier._evaluate_pack`` for every pack of an item, in C)
against the engine's pack-by-pack loop (compiled and pure Python), and its checks of malformed rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Action, History, Item, ItemKind, PostKind
from moderation.policy import Classifier, engine, load_packs
from moderation.policy.matching import in_quotation

_c: Any = pytest.importorskip("moderation._ext._rules")

POLICIES = Path(__file__).resolve().parents[2] / "policies"

PIECES = [
    "Hôm nay trời Hà Nội se lạnh.",
    "Bán ma túy đá giá rẻ, ship cod toàn quốc, lh 0901 234 567.",
    "thằng chó Nguyễn Văn An này lừa đảo",
    "Công an triệt phá đường dây bán ma túy theo Nghị định 72/2013.",
    'Báo chí đưa tin "thằng chó này" bị bắt.',
    "Đả đảo cộng sản, lật đổ chế độ ngay!",
    "đồ ngu, mày là con chó, @tuan_anh",
    "dit me may thang ngu",
]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def _dump(ev: Any) -> str:
    return json.dumps([ev.to_json(), ev.to_record(), sorted(ev.quiet)], sort_keys=True, ensure_ascii=False)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), min_size=0, max_size=6).map(" ".join),
    st.sampled_from([ItemKind.COMMENT, ItemKind.POST]),
    st.sampled_from([PostKind.ORIGINAL, PostKind.SHARE]),
    st.sampled_from([None, "2001-01-01T00:00:00Z", "2030-06-01T00:00:00Z"]),
)
def test_all_packs_in_c_equal_the_pack_loop(
    clf: Classifier, text: str, kind: ItemKind, post_kind: PostKind, published: str | None
) -> None:
    item = Item(kind=kind, fields={"title": text[:30], "body": text}, post_kind=post_kind, published_at=published)
    got = clf.classify(item)
    with pytest.MonkeyPatch.context() as m:
        m.setattr(Classifier, "_compiled_rows", lambda *a: None)  # the compiled branch, pack by pack
        by_pack = clf.classify(item)
        m.setattr(engine, "_c", None)  # the Python rule loop
        python = clf.classify(item)
    assert _dump(got) == _dump(by_pack) == _dump(python)
    assert got.categories == by_pack.categories == python.categories


def _call(clf: Classifier, rows: list[Any], trace: list[Any] | None = None) -> list[Any]:
    item = Item(kind=ItemKind.COMMENT, fields={"body": "đồ ngu"})
    return list(
        _c.evaluate_packs(
            rows, item, History(), {}, frozenset(), {}, {}, {}, {"body": "đồ ngu"}, [] if trace is None else trace,
            set(), {}, engine._MAKE_FACTS, engine._MAKE_CATEGORY, _c.unique_spans, engine._fired_rank,
            in_quotation, True, Action.REMOVE, Action.REVIEW,
        )
    )  # fmt: skip


def test_evaluate_packs_refuses_malformed_rows(clf: Classifier) -> None:
    item = Item(kind=ItemKind.COMMENT, fields={"body": "x"})
    rows = clf._compiled_rows(engine.content_date(item), item, History())
    assert rows is not None
    assert len(rows) == len(clf.packs)
    trace: list[Any] = []
    assert _call(clf, rows, trace) == []
    assert len(trace) == sum(len(clf._plans[p.id].rules) for p in clf.packs)
    with pytest.raises(ValueError, match="11 fields"):
        _call(clf, [rows[0][:-1]])
    with pytest.raises(TypeError):
        _call(clf, [list(rows[0])])
    with pytest.raises(TypeError):
        _call(clf, [(None, *rows[0][1:])])  # the pack id must be a str
    with pytest.raises(ValueError, match="start"):
        _call(clf, [rows[1]])  # the second pack starts after the first one's entries
    with pytest.raises(ValueError, match="start"):
        _call(clf, rows, trace=[None])
    with pytest.raises(TypeError):
        _call(clf, [(*rows[0][:6], "0", *rows[0][7:])])
    no_fast = type("Plan", (), {"fast": ()})()
    with pytest.raises(ValueError, match="no compiled rules"):
        _call(clf, [(*rows[0][:2], no_fast, *rows[0][3:])])
    with pytest.raises(ValueError, match="one mode"):
        _call(clf, [(rows[0][0], rows[0][1][:-1], *rows[0][2:])])
