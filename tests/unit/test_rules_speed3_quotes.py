"""The compiled ``in_quotation`` reads a text's code units with one loop per width (1, 2 or 4 bytes) and skips the
characters that are no quote mark or line break in two comparisons: it must still give what the Python reference
gives on texts of every width, with the marks at the window's edges. ``field_texts`` builds its FieldTexts in C when
the extension is built: they must equal the ones the dataclass builds."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Item, ItemKind, Span
from moderation.policy import matching

_c = pytest.importorskip("moderation._ext._rules")

# Fillers of each width: Latin-1 only (1 byte), Vietnamese letters (2 bytes), an astral emoji (4 bytes); the marks
# « » and " are Latin-1, so a text of them and ASCII stays 1 byte wide; “ ” „ make it 2 bytes wide.
_FILLERS = {1: ["a", " ", "é", "\xaa", "\xbc"], 2: ["ạ", "ế", "\u201b", "\u201f"], 4: ["\U0001f600"]}
_MARKS = ['"', "\n", "«", "»", "“", "”", "„"]


def _texts() -> list[str]:
    out = []
    for width, fillers in _FILLERS.items():
        for marks in itertools.combinations(_MARKS, 2):
            for filler in fillers:
                out.append(filler + marks[0] + filler * 2 + marks[1] + filler)
                out.append(marks[0] + filler + marks[1] + marks[0] + filler + marks[1])
        out.append("".join(fillers) * 2)
        assert all((ord(f) <= 0xFF, 0xFF < ord(f) <= 0xFFFF, ord(f) > 0xFFFF)[width // 2] for f in fillers)
    return out


@pytest.mark.parametrize("text", _texts())
def test_in_quotation_every_span_and_window(text: str) -> None:
    n = len(text)
    for start in range(n + 1):
        for end in range(start, n + 1):
            for window in (0, 1, 2, 3, n):
                assert _c.in_quotation(text, start, end, window) is matching._in_quotation_py(text, start, end, window)


_PIECES = st.sampled_from([*_MARKS, "a", "é", "ạ", "\u201f", "\U0001f600", " "])


@settings(max_examples=600, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join), st.data())
def test_in_quotation_random_texts(text: str, data: st.DataObject) -> None:
    n = len(text)
    start = data.draw(st.integers(0, n))
    end = data.draw(st.integers(start, n))
    window = data.draw(st.integers(0, n))
    assert _c.in_quotation(text, start, end, window) is matching._in_quotation_py(text, start, end, window)


def test_field_texts_equal_the_dataclass_ones() -> None:
    item = Item(kind=ItemKind.POST, fields={"title": "Tiêu đề", "body": "nội dung", "empty": "", "n": 3})
    got = matching.field_texts(item)
    assert got == [
        matching.FieldText("title", "Tiêu đề", "Tiêu đề"),
        matching.FieldText("body", "nội dung", "nội dung"),
    ]
    assert all(type(f) is matching.FieldText for f in got)
    assert all(f.to_orig is None for f in got)
    html = Item(kind=ItemKind.POST, fields={"body": "<b>x</b>", "title": "t"}, body_format="html")
    body, title = matching.field_texts(html)
    assert body.original == "<b>x</b>"
    assert len(body.text) == len(body.original)
    assert title == matching.FieldText("title", "t", "t")


# ``near_any`` compares in C when the field is a str and the bounds, starts and ends are ints that fit a machine word;
# anything else (big ints, bools, floats, spans of another class) takes the object comparisons.
_BOUNDS = st.one_of(st.integers(-5, 40), st.sampled_from([2**70, -(2**70), True, False, 3.5, -0.5]))


class _LooseSpan:  # not a Span: read by attribute
    def __init__(self, field: object, start: object, end: object) -> None:
        self.field, self.start, self.end, self.text = field, start, end, ""


@st.composite
def _evidence(draw: st.DrawFn) -> list[object]:
    out: list[object] = []
    for _ in range(draw(st.integers(0, 6))):
        field = draw(st.sampled_from(["body", "title"]))
        if draw(st.booleans()):
            field = "".join(list(field))  # an equal str, not the same object
        start, end = draw(_BOUNDS), draw(_BOUNDS)
        if draw(st.booleans()) and type(start) is int and type(end) is int:
            out.append(Span(field, start, end, "x"))
        else:
            out.append(_LooseSpan(field, start, end))
    return out


@settings(max_examples=800, deadline=None)
@given(_evidence(), st.sampled_from(["body", "title", "other"]), _BOUNDS, _BOUNDS)
def test_near_any_equals_the_python_expression(evidence: list[object], field: str, lo: object, hi: object) -> None:
    want = any(ev.field == field and lo <= ev.end and ev.start <= hi for ev in evidence)  # type: ignore[attr-defined,operator]
    assert _c.near_any(evidence, field, lo, hi) is want
