"""Shortcuts of the personal-data detector against what they replace: ``identity.fold_plain`` (the keyword window's
fold without numpy) is ``fold_with_offsets(text)[0]``; the precompiled patterns are the module-level calls; the
compiled ``_scan.chars_from`` is the ``_BEYOND_TABLE`` findall of ``_may_hold_address``; the address fold
(compiled ``_scan.fold_single`` or numpy) is ``fold_with_offsets``."""

from __future__ import annotations

import re
from typing import Any

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import personal
from moderation.detect.identity import fold_char, fold_plain, fold_with_offsets


def _compiled() -> Any:
    try:
        from moderation._ext import _scan
    except ImportError:  # not built (or blocked): only the Python paths are tested
        pytest.skip("moderation._ext._scan is not built")
    return _scan


TEXTS = [
    "",
    "abc XYZ",
    "Số tài khoản Vietcombank: 0123 456 789",
    "ĐT liên hệ: ０９０１ ２３４ ５６７",  # fullwidth: beyond the fold table
    "ß ﬁ İ ǅ \u0301x\u0323",
    "emoji \U0001f600 中文 \ud800",
]


def _texts(*alphabets: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The examples above, or up to 50 characters drawn from ``alphabets`` and from any code point."""
    return st.one_of(st.sampled_from(TEXTS), st.text(st.one_of(*alphabets, st.characters()), max_size=50))


@settings(max_examples=300, deadline=None)
@given(_texts(st.characters(max_codepoint=0x7F), st.characters(min_codepoint=0x80, max_codepoint=0x3100)))
def test_fold_plain_is_the_fold_with_offsets(text: str) -> None:
    assert fold_plain(text) == fold_with_offsets(text)[0] == "".join(map(fold_char, text))


@settings(max_examples=200, deadline=None)
@given(st.text(st.sampled_from("0123456789 .-abc\u0661\uff10đ\t\n"), max_size=30))
def test_precompiled_patterns(text: str) -> None:
    assert personal._NON_DIGIT.sub("", text) == regex.sub(r"\D", "", text)
    got, want = personal._FIRST_WORD.match(text), regex.match(r"\S+\s+", text)
    assert (got and got.span()) == (want and want.span())


@settings(max_examples=300, deadline=None)
@given(
    _texts(st.characters(max_codepoint=0xFF), st.characters(min_codepoint=0x2F00, max_codepoint=0x3100)),
    st.sampled_from([0x3000, 0x80, 0xFF, 0x100, 0x10000, 0]),
)
def test_chars_from_is_the_class_findall(text: str, limit: int) -> None:
    _s = _compiled()
    assert _s.chars_from(text, limit) == set(re.findall(f"[{re.escape(chr(limit))}-\U0010ffff]", text))


@pytest.mark.parametrize(
    "text",
    [*TEXTS, "Số 12 Lý Thường Kiệt, phường 7, quận 10", "12 ngõ 5, Kim Mã, quận Ba Đình \U0001f600", "1, x"],
)
def test_may_hold_address_both_paths(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    got = personal._may_hold_address(text)
    monkeypatch.setattr(personal, "_s", None)
    assert got == personal._may_hold_address(text)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.sampled_from([*TEXTS, "Số 12 Lý Thường Kiệt, phường 7, quận 10 \U0001f600\U0001f1fb\U0001f1f3"]),
        st.text(
            st.one_of(
                st.characters(max_codepoint=0x7F),
                st.characters(min_codepoint=0x80, max_codepoint=0x3100),
                st.sampled_from("\u0300\u0301\u0323ßﬁİ\u3000\uff21\U0001f600\U0001d400\ud800"),
                st.characters(),
            ),
            max_size=50,
        ),
    )
)
def test_fold_for_address_is_the_fold_with_offsets(text: str) -> None:
    folded, offsets_of = personal._fold_for_address(text)
    want = fold_with_offsets(text)
    assert (folded, list(offsets_of())) == want


def test_fold_single_checks_its_tables() -> None:
    _s = _compiled()
    points, lengths = personal._fold_tables()
    limit = len(lengths)
    assert _s.fold_single("aé\U0001f600", points, lengths, limit, personal._high_fold) is not None
    assert _s.fold_single("ß", points, lengths, limit, personal._high_fold) is None  # folds to two: the general way
    for bad in ((points[:-4], lengths, limit), (points, lengths[:-1], limit), (points, lengths, limit + 1)):
        with pytest.raises(ValueError):
            _s.fold_single("a", *bad, personal._high_fold)
