"""The regex stage's compiled fold and prefilter in one call (``_scan.fold_prefilter``) give what ``fold_bytes``
and ``Prefilter.skipped_bytes`` give, and ``regex_signals`` gives the same signals with it and without the
extension."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.policy import matching
from moderation.policy.matching import FieldText, Prefilter, compile_patterns, regex_signals

_s: Any = matching._s
needs_c = pytest.mark.skipif(_s is None, reason="the compiled extension is not built")

_PATTERNS = compile_patterns(
    [
        ("p", "phone", r"(?<!\d)(?:\+?84|0)[35789](?:[ .\-]?\d){8}(?!\d)", True, 1.0),
        ("p", "handle", r"\b(?:zalo|tele(?:gram)?|inbox|ib)\s*[:.]?\s*@?[a-z0-9_.]{3,}", True, 0.5),
        ("p", "word", r"\bxyz\b", True, 0.5),
        ("p", "raw", r"ABC", False, 0.5),
        ("p", "v1", r"[[a-z]--[b]]+q", True, 0.5),  # V1-only: not covered by the prefilter
    ]
)
_PIECES = ["0912345678", "zalo: abcd", "Zalo: Ánh_1", "xyz", "XYZ", " ", "1", "ib", "@x", "\x0b", "ABC", "ạ", "e\u0301",
           "\u0301", "😀", "\U0001d7d8", "“x”", "", "inbox", "0912 345 678", "\x1c"]  # fmt: skip
_TEXTS = st.lists(st.sampled_from(_PIECES), max_size=12).map("".join)


@needs_c
@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_fold_prefilter_is_fold_bytes_then_skipped_bytes(text: str) -> None:
    pf = Prefilter(_PATTERNS)
    lut = matching._fold_lut_bytes()
    folded, mapped, spaces = _s.fold_bytes(text, lut, unicodedata.combining)
    want = pf.skipped_bytes(folded, spaces) if folded else set()
    got = _s.fold_prefilter(text, lut, unicodedata.combining, pf.db, pf.scratch(), pf.candidates)
    assert got == (folded, mapped, want)
    assert type(got[2]) is set


def _signals_both(fields: list[FieldText]) -> tuple[list[Any], list[Any], list[Any]]:
    pf = Prefilter(_PATTERNS)
    fused = [s.to_json() for s in regex_signals(_PATTERNS, fields, pf)]
    saved = matching._s
    try:
        matching._s = None
        reference = [s.to_json() for s in regex_signals(_PATTERNS, fields, pf)]
        unfiltered = [s.to_json() for s in regex_signals(_PATTERNS, fields, None)]
    finally:
        matching._s = saved
    return fused, reference, unfiltered


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.lists(_TEXTS, min_size=0, max_size=3))
def test_regex_signals_equal_the_python_path(texts: list[str]) -> None:
    fields = [FieldText(f"f{i}", t, t) for i, t in enumerate(texts)]
    fused, reference, unfiltered = _signals_both(fields)
    assert fused == reference == unfiltered


@needs_c
def test_fold_prefilter_cases() -> None:
    pf = Prefilter(_PATTERNS)
    lut = matching._fold_lut_bytes()
    covered = set(pf.candidates)
    assert covered == {0, 1, 2}

    def skip(text: str) -> set[int]:
        got: set[int] = _s.fold_prefilter(text, lut, unicodedata.combining, pf.db, pf.scratch(), pf.candidates)[2]
        return got

    assert skip("") == set()
    assert skip("hello") == covered
    assert skip("goi 0912345678") == {1, 2}
    assert skip("0912345678 zalo: abcd xyz") == set()  # every covered pattern may match
    assert skip("0912345678\x0b") == set()  # Python-only white space: nothing skipped
    with pytest.raises(TypeError):
        _s.fold_prefilter("x", lut, unicodedata.combining, pf.db, pf.scratch(), None)
    with pytest.raises(ValueError):
        _s.fold_prefilter("x", b"short", unicodedata.combining, pf.db, pf.scratch(), pf.candidates)
