"""``_rules.unique_spans`` / ``signal_spans`` read a span's text only where it shares its place with another span
(the texts compared there must be str, or the reference's dict does the work): against the reference, with texts of
other types alone at their place and in groups, and spans of other classes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Signal, Span
from moderation.policy.rules import _unique_spans_py

_c: Any = pytest.importorskip("moderation._ext._rules")


class StrSub(str):
    pass


def _same(got: list[Any], want: list[Any]) -> None:
    assert got == want
    assert [id(s) for s in got] == [id(s) for s in want]


_TEXTS = st.sampled_from(["x", "y", "", "\U0001f600", StrSub("x"), StrSub("z"), 1, 1.0, True, None, (1, 2), b"x"])
_span = st.builds(Span, st.sampled_from(["body", "title", "é"]), st.integers(0, 8), st.integers(0, 8), _TEXTS)


@settings(max_examples=800, deadline=None)
@given(st.lists(_span, max_size=30), st.booleans())
def test_texts_of_any_hashable_type_equal_the_reference(spans: list[Span], presort: bool) -> None:
    if presort:
        spans = sorted(spans, key=lambda s: (s.field, s.start, s.end))
    _same(_c.unique_spans(spans), _unique_spans_py(spans))
    sigs = [Signal("lexicon", "k", spans=tuple(spans[::2])), Signal("target", "t", spans=tuple(spans[1::2]))]
    _same(_c.signal_spans(sigs), _unique_spans_py(sp for s in sigs for sp in s.spans))


@pytest.mark.parametrize(
    "texts",
    [("x", 1), (1, "x"), (1, 1), (1, 1.0), ("x", StrSub("x")), (StrSub("x"), "x", 1), ("x", "y", None), ((1,), "x")],
)
def test_non_str_texts_sharing_a_place_take_the_reference(texts: tuple[Any, ...]) -> None:
    spans = [Span("body", 9, 10, "late")] + [Span("body", 2, 4, t) for t in texts] + [Span("body", 0, 1, 5)]
    _same(_c.unique_spans(spans), _unique_spans_py(spans))
    _same(_c.signal_spans([Signal("lexicon", "k", spans=tuple(spans))]), _unique_spans_py(spans))


def test_unhashable_text_alone_at_its_place_is_kept() -> None:
    # The reference's dict cannot hash it; the compiled evidence never reads the text of a span alone at its place
    # (as its in-order shortcut never did), so it keeps the span where the order puts it.
    odd = Span("body", 3, 4, ["not", "hashable"])  # type: ignore[arg-type]
    spans = [Span("body", 5, 6, "b"), odd, Span("body", 0, 1, "a")]
    assert _c.unique_spans(spans) == [spans[2], odd, spans[0]]
    assert _c.unique_spans(sorted(spans, key=lambda s: s.start)) == [spans[2], odd, spans[0]]
    with pytest.raises(TypeError):
        _unique_spans_py(spans)
    pair = [Span("body", 3, 4, "x"), odd]  # sharing a place: the texts are compared, as the reference does
    with pytest.raises(TypeError):
        _c.unique_spans([*pair, Span("body", 0, 1, "a")])
