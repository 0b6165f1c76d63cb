"""Evidence ordering of the compiled extension (``_rules.unique_spans`` / ``signal_spans``) on the shapes real
evidence has: several signals whose spans are each in order (sorted runs merged by the natural merge sort), spans
at one place from two signals (the pair fast path), and groups of three or more; always the same span objects, in
the same order, as the pure-Python reference."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Signal, Span
from moderation.policy.rules import _unique_spans_py

_c: Any = pytest.importorskip("moderation._ext._rules")


def _same(got: list[Span], want: list[Span]) -> None:
    assert got == want
    assert [id(s) for s in got] == [id(s) for s in want]


@dataclasses.dataclass(frozen=True, slots=True)
class _OtherSpan:  # not exactly a Span: read by attribute
    field: str
    start: int
    end: int
    text: str


_place = st.tuples(st.sampled_from(["body", "title", "a"]), st.integers(0, 30), st.integers(0, 30))
_text = st.sampled_from(["x", "y", "xy", ""])


@st.composite
def _runs(draw: st.DrawFn) -> list[list[Any]]:
    """Up to 8 signals, each with spans strictly in order (as detectors give them), often at the same places."""
    places = sorted(set(draw(st.lists(_place, max_size=25))))
    runs = []
    for _ in range(draw(st.integers(0, 8))):
        picked = [p for p in places if draw(st.booleans())]
        cls = _OtherSpan if draw(st.integers(0, 9)) == 0 else Span
        runs.append([cls(f, s, e, draw(_text)) for f, s, e in picked])
    return runs


@settings(max_examples=500, deadline=None)
@given(_runs())
def test_sorted_runs_merge_as_the_reference(runs: list[list[Any]]) -> None:
    sigs = [Signal("target", f"k{i}", spans=tuple(r)) for i, r in enumerate(runs)]
    flat = [sp for r in runs for sp in r]
    _same(_c.signal_spans(sigs), _unique_spans_py(flat))
    _same(_c.unique_spans(flat), _unique_spans_py(flat))
    _same(_c.unique_spans(flat[::-1]), _unique_spans_py(flat[::-1]))


@pytest.mark.parametrize(
    "texts",
    [("x", "x"), ("x", "y"), ("x", "x", "x"), ("x", "y", "x"), ("y", "x", "y", "x"), ("x", "y", "z")],
)
def test_groups_at_one_place(texts: tuple[str, ...]) -> None:
    spans = [Span("body", 5, 7, "after")] + [Span("body", 2, 4, t) for t in texts] + [Span("body", 0, 1, "first")]
    _same(_c.unique_spans(spans), _unique_spans_py(spans))
    mixed = [_OtherSpan(s.field, s.start, s.end, s.text) if i % 2 else s for i, s in enumerate(spans)]
    _same(_c.unique_spans(mixed), _unique_spans_py(mixed))


def test_many_runs_and_long_runs() -> None:
    runs = [[Span("body", i * k, i * k + 1, "t") for i in range(50)] for k in range(1, 20)]
    flat = [sp for r in runs for sp in r]
    _same(_c.unique_spans(flat), _unique_spans_py(flat))
    descending = [Span("body", 100 - i, 101 - i, "t") for i in range(100)]  # one run per span
    _same(_c.unique_spans(descending), _unique_spans_py(descending))


@settings(max_examples=300, deadline=None)
@given(_runs())
def test_category_merges_of_rule_evidence_equal_the_reference(runs: list[list[Any]]) -> None:
    from moderation.domain import Action
    from moderation.policy import engine

    lists = [_c.unique_spans(r) for r in runs if r]  # each rule's evidence: distinct and in order
    if not lists:
        return
    fired = {("c", "enforce"): [(Action.REVIEW, f"r{i}", 0.5, ev, []) for i, ev in enumerate(lists)]}
    cats = {"c": ("c", "vi", "en", "p", "1", {}, [], 1, None, None)}
    modes = [("enforce", "")] * len(lists)
    first = {f"r{i}": i for i in range(len(lists))}
    want = engine._categories_py(fired, cats, modes, first, True)
    for unique in (_c.unique_spans, _unique_spans_py):
        got = _c.build_categories(fired, cats, modes, first, True, unique, engine._MAKE_CATEGORY, engine._fired_rank)
        assert got == want
        _same(got[0].evidence, want[0].evidence)
