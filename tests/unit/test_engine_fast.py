"""The engine's compiled rule loop (``_rules.run_rules``) and slot-filling constructor (``_rules.SlotMaker``) against
their Python references (``engine._run_rules_py``, the dataclass constructor): whole evaluations, with only the
engine's extension switched off, give the same stored decisions, trace entries and category results."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Action, History, Item, ItemKind, PostKind, Signal, Span
from moderation.policy import Classifier, engine, load_packs
from moderation.policy.engine import CategoryResult
from moderation.policy.rules import FrozenDict

_c: Any = pytest.importorskip("moderation._ext._rules")

POLICIES = Path(__file__).resolve().parents[2] / "policies"

PIECES = [
    "Hôm nay trời Hà Nội se lạnh.",
    "Bán ma túy đá giá rẻ, ship cod toàn quốc, lh 0901 234 567.",
    "thằng chó Nguyễn Văn An này lừa đảo",
    "địa chỉ 12 Lê Lợi, Phường Bến Nghé, Quận 1",
    "Công an triệt phá đường dây bán ma túy theo Nghị định 72/2013.",
    'Báo chí đưa tin "thằng chó này" bị bắt.',
    "Anh ta hô “lật đổ chế độ” rồi bị bắt.",
    "xem phim sex clip nóng miễn phí tại đây",
    "Đả đảo cộng sản, lật đổ chế độ ngay!",
    "đồ ngu, mày là con chó, @tuan_anh",
    "Nhận cá độ bóng đá, nạp tiền khuyến mãi 100%.",
    "dit me may thang ngu",
]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def _dump(ev: Any) -> str:
    return json.dumps([ev.to_json(), ev.to_record()], sort_keys=True, ensure_ascii=False)


def _both(clf: Classifier, item: Item, history: History, monkeypatch: pytest.MonkeyPatch) -> None:
    got = clf.classify(item, history)
    with monkeypatch.context() as m:
        m.setattr(engine, "_c", None)  # the Python rule loop and constructor, over the same compiled rule programs
        want = clf.classify(item, history)
    assert _dump(got) == _dump(want)
    assert got.categories == want.categories
    assert got.quiet == want.quiet
    assert [type(c) for c in got.categories] == [CategoryResult] * len(want.categories)
    for a, b in zip(got.trace, want.trace, strict=True):
        assert type(a) is type(b)
        if not isinstance(a, FrozenDict):  # a fired rule's entry and its conditions are the caller's own
            assert type(a["conditions"]) is list
            assert all(type(c) is dict for c in a["conditions"])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), min_size=0, max_size=8).map(" ".join),
    st.sampled_from([ItemKind.COMMENT, ItemKind.POST, ItemKind.BLOG]),
    st.sampled_from([PostKind.ORIGINAL, PostKind.SHARE]),
    st.sampled_from([None, "2001-01-01T00:00:00Z", "2030-06-01T00:00:00Z"]),
    st.integers(0, 4),
)
def test_compiled_rule_loop_equals_the_python_one(
    clf: Classifier, text: str, kind: ItemKind, post_kind: PostKind, published: str | None, violations: int
) -> None:
    item = Item(kind=kind, fields={"title": text[:40], "body": text}, post_kind=post_kind, published_at=published)
    history = History(
        author_violations=violations,
        blog_violations=violations,
        author_violations_by_category={"c07.s3_1.slander": violations},
        blog_violations_by_category={"c07.s3_1.slander": violations},
    )
    with pytest.MonkeyPatch.context() as mp:
        _both(clf, item, history, mp)


def test_run_rules_refuses_malformed_arguments(clf: Classifier) -> None:
    pack = next(iter(clf.packs))
    plan = clf._plans[pack.id]
    n = len(plan.rules)
    item = Item(kind=ItemKind.COMMENT, fields={"body": "x"})
    facts = engine.Facts(item, History(), pack.id, {}, frozenset(), {}, {}, {})
    modes = [("enforce", "")] * n
    args: list[Any] = [[], set(), plan.fast, modes, [None] * n, [None] * n, 0, [], facts, pack.id]
    rest = [lambda p, e: [], 1, 1, engine._not_fired_entry, plan.rules, Action.REMOVE, Action.REVIEW]
    assert _c.run_rules(*args, *rest) == {}
    with pytest.raises(ValueError, match="one mode"):
        _c.run_rules(args[0], args[1], args[2], modes[:-1], *args[4:], *rest)
    with pytest.raises(ValueError, match="malformed"):
        _c.run_rules(args[0], args[1], tuple(f[:-1] for f in plan.fast), *args[3:], *rest)
    with pytest.raises(IndexError):
        _c.run_rules([n], {n}, *args[2:], *rest)
    with pytest.raises(IndexError):
        _c.run_rules([-1], set(), *args[2:], *rest)


def test_slot_maker_equals_the_constructor() -> None:
    names = [f.name for f in dataclasses.fields(CategoryResult)]
    values = (
        "c",
        "vi",
        "en",
        "p",
        "1",
        "r",
        Action.REVIEW,
        "enforce",
        0.5,
        {"law": "x"},
        [Span("body", 0, 1, "a")],
        None,
        ["warn"],
        2,
        ["r"],
        ["legal: x"],
        "",
    )
    made = _c.SlotMaker(CategoryResult, names).make(values)
    want = CategoryResult(*values)
    assert type(made) is CategoryResult
    assert made == want
    assert made.to_json() == want.to_json()
    with pytest.raises(dataclasses.FrozenInstanceError):
        made.id = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="17 values"):
        _c.SlotMaker(CategoryResult, names).make(values[:-1])

    @dataclasses.dataclass
    class Plain:  # no slots: built by calling it
        a: int
        b: int

    assert _c.SlotMaker(Plain, ["a", "b"]).make((1, 2)) == Plain(1, 2)


@pytest.mark.parametrize("kind", list(ItemKind))
@pytest.mark.parametrize("post_kind", list(PostKind))
def test_compiled_kind_and_history_conditions_equal_the_python_ones(kind: ItemKind, post_kind: PostKind) -> None:
    from moderation.policy import rules

    item = Item(kind=kind, fields={"body": "x"}, post_kind=post_kind)
    for h in (History(), History(2, 7, {"c": 3}, {"c": 1, "d": 0}), History(10**30, -1)):
        facts = rules.Facts(item, h, "p", {})
        cases: list[tuple[str, dict[str, Any]]] = [
            ("item_kind", {"in": ins}) for ins in (["post"], ["comment", "blog"], [], ("blog",))
        ]
        cases += [("post_kind", {"is": v}) for v in ("original", "share", "other")]
        cases += [
            (fn, {"min": m, **({"category": c} if c is not None else {})})
            for fn in ("author_violations", "blog_violations")
            for m in (0, 1, 2, 3)
            for c in (None, "", "c", "d", "e")
        ]
        for name, args in cases:
            for _ in range(2):  # the second time from the kept results
                got, want = _c.CONDITIONS[name](facts, args), rules.FUNCTIONS[name].evaluate(facts, args)
                assert got == want, (name, args)
                assert type(got) is type(want)
                assert type(got.matched) is type(want.matched)
                assert type(got.score) is type(want.score)


def test_group_signals_equals_the_python_grouping() -> None:
    sigs = [
        Signal("offensive", "m", 0.5),
        Signal("target", "person", 1),
        Signal("offensive", "m", 0.9),
        Signal("offensive", "n", 0.9),
        Signal("lexicon", "p/x", -0.0),
        Signal("lexicon", "p/x", 0.0),
        Signal("target", "org", 1.0, detector="targets/2"),
        Signal("lexicon", "p/y", 1.0, detector="lexicon/1"),
        Signal("lexicon", "p/z", 1.0, detector="lexicon/0"),
        Signal("offensive", "m", 0.1, detector=""),
    ]
    for signals in ([], sigs, sigs[::-1], sigs[:1]):
        got, want = _c.group_signals(list(signals)), engine._group_signals_py(signals)
        assert got == want
        for kind in want[0]:
            assert [id(s) for s in got[0][kind]] == [id(s) for s in want[0][kind]]
            assert got[2][kind] is want[2][kind] or type(got[2][kind]) is type(want[2][kind])
        assert list(got[0]) == list(want[0])  # the same kind order


_span = st.builds(
    Span,
    st.sampled_from(["body", "title", "name"]),
    st.integers(0, 60),
    st.integers(0, 70),
    st.sampled_from(["a", "ma túy", ""]),
)
_ctx = st.builds(
    lambda key, spans, attrs: Signal("context", key, 1.0, tuple(spans), attrs),
    st.sampled_from(["p/ctx_legal", "p/ctx_news", "q/ctx_legal", "p"]),
    st.lists(_span, max_size=3),
    st.dictionaries(st.sampled_from(["cue", "term"]), st.sampled_from(["legal", "nghị định", None, 3]), max_size=2),
)
_TEXTS = st.fixed_dictionaries(
    {"body": st.sampled_from(["", 'he said "ma túy" today', "“a” " * 20, "x" * 80])},
    optional={"title": st.sampled_from(["“ma túy”", "t"])},
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_ctx, max_size=4),
    st.lists(_span, min_size=0, max_size=5),
    st.sampled_from([0, 5, 200]),
    st.booleans(),
    _TEXTS,
    st.sampled_from(["downgrade", "ignore"]),
    st.booleans(),
)
def test_cue_finder_equals_the_python_cues(
    clf: Classifier,
    ctx: list[Any],
    evidence: list[Span],
    window: int,
    quotation: bool,
    texts: dict[str, str],
    policy: str,
    kept: bool,
) -> None:
    from moderation.policy.matching import in_quotation
    from moderation.policy.pack import ContextPolicy

    pack = dataclasses.replace(next(iter(clf.packs)), id="p", context=ContextPolicy(window=window, quotation=quotation))
    item = Item(kind=ItemKind.COMMENT, fields={"body": "x"})
    facts = engine.Facts(item, History(), "p", {"context": ctx})
    memo_c: dict[Any, Any] | None = {} if kept else None
    memo_py: dict[Any, Any] | None = {} if kept else None
    finder = _c.CueFinder("p", facts.kind("context"), window, quotation, texts, memo_c, in_quotation)
    for _ in range(2):  # the second time from the memo
        got = finder(policy, evidence)
        want = clf._cues_memo(pack, policy, evidence, facts, texts, memo=memo_py)
        assert got == want
        assert type(got) is list
    if kept:
        assert memo_c is not None
        assert memo_py is not None
        assert {k: (v[0], v[1]) for k, v in memo_c.items()} == {k: (v[0], v[1]) for k, v in memo_py.items()}


def test_build_categories_equals_the_python_one_and_refuses_malformed_input(clf: Classifier) -> None:
    pack = next(iter(clf.packs))
    plan = clf._plans[pack.id]
    modes = [("enforce", f"note {i}") for i in range(len(plan.rules))]
    ev_a = [Span("body", 0, 3, "abc"), Span("body", 5, 6, "d")]
    ev_b = [Span("body", 0, 3, "abc"), Span("body", 2, 4, "x"), Span("title", 0, 1, "t")]
    rule_ids = [p.rule.id for p in plan.rules]
    cat_id = plan.rules[0].rule.category
    fired = {
        (cat_id, "enforce"): [
            (Action.REVIEW, rule_ids[0], 0.5, ev_a, ["legal: x"]),
            (Action.REMOVE, rule_ids[1], 0.25, ev_b, []),
            (Action.REMOVE, rule_ids[2], 0.25, ev_a, ["news: y"]),
        ],
        (cat_id, "shadow"): [(Action.LABEL, rule_ids[3], 1, ev_b, [])],
    }
    maker = engine._MAKE_CATEGORY
    for original in (True, False):
        got = _c.build_categories(
            fired, plan.cats, modes, plan.first, original, engine.unique_spans, maker, engine._fired_rank
        )
        assert got == engine._categories_py(fired, plan.cats, modes, plan.first, original)
        assert [c.to_json() for c in got] == [
            c.to_json() for c in engine._categories_py(fired, plan.cats, modes, plan.first, original)
        ]
    bad = {cat_id: plan.cats[cat_id][:-1]}
    with pytest.raises(ValueError, match="malformed"):
        _c.build_categories(fired, bad, modes, plan.first, True, engine.unique_spans, maker, engine._fired_rank)
    empty: dict[Any, Any] = {(cat_id, "enforce"): []}
    with pytest.raises(ValueError, match="malformed"):
        _c.build_categories(empty, plan.cats, modes, plan.first, True, engine.unique_spans, maker, engine._fired_rank)


def test_pack_rules_checks_where_the_pack_starts(clf: Classifier) -> None:
    pack = next(iter(clf.packs))
    plan = clf._plans[pack.id]
    item = Item(kind=ItemKind.COMMENT, fields={"body": "x"})
    facts = engine.Facts(item, History(), pack.id, {}, frozenset(), {}, {}, {})
    modes = [("enforce", "")] * len(plan.rules)
    baseline: list[Any] = [None] * len(plan.rules)
    with pytest.raises(ValueError, match="start"):
        _c.pack_rules(
            plan, modes, baseline, [], frozenset(), 1, [], set(), facts, pack.id, lambda p, e: [], 1, 1,
            plan.fast[0][0], Action.REMOVE, Action.REVIEW,
        )  # fmt: skip
