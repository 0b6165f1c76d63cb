"""``context_cues`` with the compiled signal maker, and ``lexicon_signals``' check of the fields it can group in C,
give what the Python code gives; the personal-data clock builds the address hint once and keeps its budget."""

from __future__ import annotations

from typing import Any

import pytest

from moderation.detect import personal
from moderation.domain import Signal, Span
from moderation.policy import matching
from moderation.policy.matching import FieldText, NormalisedMatcher, context_cues, lexicon_signals

needs_c = pytest.mark.skipif(matching._MAKE_SIGNALS is None, reason="the compiled extension is not built")

_LISTS = {"p/ctx_legal": "legal", "p/ctx_news": "news"}


def _signals() -> list[Signal]:
    span = Span("body", 0, 4, "luật")
    return [
        Signal("lexicon", "p/ctx_legal", 0.5, (span,), {"term": "luật", "field": "body"}, "lexicon/1"),
        Signal("lexicon", "p/insult", 1.0, (span,), {"term": "ngu"}, "lexicon/1"),
        Signal("regex", "p/ctx_news", 1.0, (), {"field": "title"}, "policy-regex/1"),
        Signal("lexicon", "p/ctx_legal", 1.0, (span, span), {}, "lexicon/1"),
    ]


def _cues_both(lists: dict[str, str], signals: list[Signal]) -> tuple[list[Signal], list[Signal]]:
    saved = matching._MAKE_SIGNALS
    try:
        compiled = context_cues(lists, signals)
        matching._MAKE_SIGNALS = None
        reference = context_cues(lists, signals)
    finally:
        matching._MAKE_SIGNALS = saved
    return compiled, reference


@needs_c
@pytest.mark.parametrize("lists", [_LISTS, {}, {"p/insult": "discussion"}])
@pytest.mark.parametrize("count", [0, 1, 4])
def test_context_cues_equal_the_python_path(lists: dict[str, str], count: int) -> None:
    compiled, reference = _cues_both(lists, _signals()[:count])
    assert compiled == reference
    assert [s.to_json() for s in compiled] == [s.to_json() for s in reference]
    assert all(type(s) is Signal for s in compiled)
    assert type(compiled) is list


@pytest.fixture(scope="module")
def matcher() -> NormalisedMatcher:
    lists = [
        ("p", "insult", "word", [("ngu", 1.0, True), ("lồn", 2.0, True)]),
        ("p", "ctx", "word", [("luật", 1, True)]),
    ]
    return NormalisedMatcher(lists)


def _lexicon_both(m: NormalisedMatcher, fields: list[FieldText]) -> tuple[Any, Any]:
    saved = matching._s
    try:
        compiled = lexicon_signals(m, fields)
        matching._s = None
        reference = lexicon_signals(m, fields)
    finally:
        matching._s = saved
    return compiled, reference


@pytest.mark.parametrize(
    "fields",
    [
        [],
        [FieldText("body", "mày ngu lồn", "mày ngu lồn")],
        [FieldText("title", "ngu", "ngu"), FieldText("body", "theo luật thì ngu", "theo luật thì ngu")],
        [FieldText("body", "ngu", "ngu"), FieldText("body", "lồn ngu", "lồn ngu")],  # a name twice: Python path
        [FieldText("body", "ngu ngu", "ngu ngu", lambda a, b: (a, b))],  # mapped offsets: Python path
        [FieldText("title", "ngu", "ngu"), FieldText("body", "ngu", "ngu", lambda a, b: (a, b))],
    ],
)
def test_lexicon_signals_equal_the_python_path(matcher: NormalisedMatcher, fields: list[FieldText]) -> None:
    compiled, reference = _lexicon_both(matcher, fields)
    assert [s.to_json() for s in compiled] == [s.to_json() for s in reference]


def test_clock_builds_the_hint_once_and_keeps_its_budget() -> None:
    clock = personal._Clock(0.04)
    assert personal._Clock._built
    assert clock.budget_s == 0.04
    assert clock.check() == ()
    with pytest.raises(AttributeError):
        clock.other = 1  # type: ignore[attr-defined]
    with pytest.raises(personal.PersonalDataTimeout):
        personal._Clock(0.0).check()
