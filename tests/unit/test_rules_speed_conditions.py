"""The compiled scored conditions (``_rules.cond_offensive``, ``cond_target``, ``cond_accusation``: their details
formatted once per score value and kept) against the Python ones, on any score (zeros of both signs, NaN, ints,
repeated values); and the compiled programs' trace entries built directly in the frozen classes, or by calling
them when a class is not a plain dict / list subclass."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import History, Item, ItemKind, Signal, Span
from moderation.policy import rules
from moderation.policy.rules import CondResult, Facts, FrozenDict, FrozenList

_c: Any = pytest.importorskip("moderation._ext._rules")

_score = st.one_of(
    st.sampled_from([0.0, -0.0, 0.5, 0.7, 1.0, 1, 0, True, 0.125, 0.005, 0.015, 2.5, math.inf, math.nan]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_threshold = st.sampled_from([0.0, -0.0, 0.5, 0.7, 1e-7, 0.33333, 1, 0])


def _facts(scores: list[Any], kind: str) -> Facts:
    sigs = [
        Signal(kind, f"k{i}", s, (Span("body", i, i + 1, "x"),), {"target_kind": "person"} if i % 2 else {})
        for i, s in enumerate(scores)
    ]
    return Facts(Item(kind=ItemKind.COMMENT, fields={"body": "x"}), History(), "p", {kind: sigs})


def _same(got: CondResult, want: CondResult) -> None:
    assert (got.matched, got.detail, got.signals) == (want.matched, want.detail, want.signals)
    assert type(got.score) is type(want.score)
    assert got.score == want.score or (got.score != got.score and want.score != want.score)


@settings(max_examples=400, deadline=None)
@given(st.lists(_score, max_size=6), _threshold, st.sampled_from([None, ["person"], ["org"]]))
def test_scored_conditions_equal_the_python_ones(scores: list[Any], t: Any, kinds: list[str] | None) -> None:
    for kind, compiled, python, args in [
        ("offensive", _c.cond_offensive, rules._offensive, {"min_score": t}),
        ("target", _c.cond_target, rules._target, {"min_score": t, **({"kinds": kinds} if kinds else {})}),
        ("accusation", _c.cond_accusation, rules._accusation, {"min_score": t}),
    ]:
        facts = _facts(scores, kind)
        want = python(facts, args)
        _same(compiled(facts, args), want)
        _same(compiled(facts, args), want)  # the second time from the kept formats


def test_zero_scores_keep_their_sign_in_details() -> None:
    for score in (0.0, -0.0, 0.0):
        facts = _facts([score], "offensive")
        _same(_c.cond_offensive(facts, {"min_score": -1.0}), rules._offensive(facts, {"min_score": -1.0}))
    for t in (0.0, -0.0, 0.0):
        facts = _facts([], "offensive")
        _same(_c.cond_offensive(facts, {"min_score": t}), rules._offensive(facts, {"min_score": t}))


class _CountingDict(dict):  # type: ignore[type-arg]
    made = 0

    def __init__(self, *args: Any) -> None:
        type(self).made += 1
        super().__init__(*args)


class _CountingList(list):  # type: ignore[type-arg]
    made = 0

    def __init__(self, *args: Any) -> None:
        type(self).made += 1
        super().__init__(*args)


def _program(frozen_dict: Any, frozen_list: Any) -> Any:
    res = CondResult(False, 0.25, (), "two")
    steps = ((0, None, None, 0.0, lambda f, a: res, {}, ("c",)), (1, None, None, 0.0, lambda f, a: res, {}, ("d",)))
    descs = (("when_all", 0, "first", "w0"), ("when_all", 1, "second", "w1"))
    return _c.Program(
        None, steps, descs, [None, None], {}, [{}, {}], 2, 0, 1, "p", "r", 10, rules.OutcomeShape,
        frozen_dict, frozen_list, rules._NO_HITS,
    )  # fmt: skip


def test_trace_entries_of_plain_and_other_frozen_classes() -> None:
    facts = Facts(Item(kind=ItemKind.COMMENT, fields={}), History(), "p", {})
    plain, _ = _program(FrozenDict, FrozenList).run(facts)
    counted, _ = _program(_CountingDict, _CountingList).run(facts)
    assert type(plain.trace) is FrozenList
    assert all(type(e) is FrozenDict for e in plain.trace)
    assert _CountingDict.made == 2  # one per condition, called as the class
    assert _CountingList.made == 1
    assert type(counted.trace) is _CountingList
    assert list(plain.trace) == list(counted.trace)
    assert [list(e) for e in plain.trace] == [list(e) for e in counted.trace]  # the same keys in the same order
    assert plain.reason == counted.reason == "when_all [0] first, [1] second did not hold"
    with pytest.raises(TypeError):
        plain.trace[0]["score"] = 1
    with pytest.raises(TypeError):
        plain.trace.append(None)


@settings(max_examples=300, deadline=None)
@given(st.lists(_score, min_size=1, max_size=4))
def test_trace_scores_are_rounded_as_round_does(scores: list[Any]) -> None:
    facts = Facts(Item(kind=ItemKind.COMMENT, fields={}), History(), "p", {})
    for score in scores * 2:  # the second time from the kept roundings
        res = CondResult(True, score, (), "d")
        steps = ((0, None, None, 0.0, lambda f, a, r=res: r, {}, ("c",)),)
        prog = _c.Program(
            None, steps, (("when_all", 0, "c", "w"),), [None], {}, [{}], 1, 0, 1, "p", "r", 10, rules.OutcomeShape,
            FrozenDict, FrozenList, rules._NO_HITS,
        )  # fmt: skip
        shape, _ = prog.run(facts)
        got, want = shape.trace[0]["score"], round(score, 6)
        assert type(got) is type(want)
        assert repr(got) == repr(want)


@pytest.mark.parametrize(
    "detectors",
    [[], [""], ["lexicon/1"], ["lexicon/2", "lexicon/1", "targets/2"], ["b/1", "a", "b/1", "a/x/y", "", "a"]],
)
def test_group_signals_detectors_equal_the_python_grouping(detectors: list[str]) -> None:
    from moderation.policy.engine import _group_signals_py

    sigs = [Signal("lexicon", f"k{i}", 0.5, (), {}, d) for i, d in enumerate(detectors)]
    for _ in range(2):  # the second time from the kept pairs
        got, want = _c.group_signals(sigs), _group_signals_py(sigs)
        assert got == want
        assert list(got[3].items()) == list(want[3].items())


_cue = st.sampled_from([None, "", "legal", "news", "quotation", "discussion", 0, 1, "other"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(_cue, st.booleans(), st.integers(0, 3)), max_size=6),
    st.sampled_from([None, ["news", "legal"], ["quotation"], [], ("discussion", "x")]),
    st.sampled_from([None, 0, 1, 2, 5]),
)
def test_context_condition_equals_the_python_one(
    cues: list[tuple[Any, bool, int]], want_cues: list[str] | None, min_count: int | None
) -> None:
    sigs = [
        Signal(
            "context", f"p/ctx{i}", 1.0, tuple(Span("body", j, j + 1, "x") for j in range(n)), {"cue": c} if has else {}
        )
        for i, (c, has, n) in enumerate(cues)
    ]
    facts = Facts(Item(kind=ItemKind.COMMENT, fields={"body": "x"}), History(), "p", {"context": sigs})
    args: dict[str, Any] = {}
    if want_cues is not None:
        args["cues"] = want_cues
    if min_count is not None:
        args["min_count"] = min_count
    got, want = _c.cond_context(facts, args), rules._context(facts, args)
    _same(got, want)
    assert got == want
    assert [id(s) for s in got.signals] == [id(s) for s in want.signals]


def test_context_condition_defaults_and_refusals() -> None:
    assert _c.CONTEXT_CUES == rules.CONTEXT_CUES
    assert _c.CONDITIONS["context"] is _c.cond_context
    facts = Facts(Item(kind=ItemKind.COMMENT, fields={"body": "x"}), History(), "p", {})
    for args in ({"cues": 3}, {"min_count": "x"}, {"cues": None}):
        with pytest.raises((TypeError, ValueError)) as got:
            _c.cond_context(facts, args)
        with pytest.raises(type(got.value)):
            rules._context(facts, args)
