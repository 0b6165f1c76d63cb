"""The compiled address prefilter (``_scan.address_prefilter``) is ``personal._address_hint().search`` and, when that
finds nothing, ``_scan.chars_from`` of the characters beyond the fold table; ``_may_hold_address`` answers the same
on both paths."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import personal
from moderation.detect.identity import FOLD_TABLE_LIMIT


def _compiled() -> Any:
    try:
        from moderation._ext import _scan
    except ImportError:  # not built (or blocked): only the Python paths are tested
        pytest.skip("moderation._ext._scan is not built")
    return _scan


def _class_chars() -> list[str]:
    """A few characters of each class of the hint (the comma's, the skipped, the empty, each marker letter's)."""
    letters, skip, empty = personal._hint_classes()
    out: list[str] = []
    for chars in [*letters.values(), skip, empty]:
        ordered = sorted(chars)
        out += ordered[:3] + ordered[-2:]
    return out


TEXTS = [
    "", ",", ", p", ", phường", "Số 12 Lý Thường Kiệt, phường 7, quận 10", "12 ngõ 5, Kim Mã, quận Ba Đình \U0001f600",
    "a,\tP.5", "a,  Q. 3", "x ,tp HCM", "x,\u0301thi tran", "x, thị trấn", "x, t\u0301h\u0301i tran", "xß phuong",
    "x,ẞxa", ", th anh pho", ",thanh\u0301 pho", ", huyen", ", HUYỆN", ", Phường", ",\u3000quan", "😀, 中文 quận",
    ",,,,,, p", ", p" * 50, "a, b, c, d, tinh", "ẚ\u0301\u0301tinh", ", \ud800 xa", "\U0001f600" * 5 + ", tỉnh",
]  # fmt: skip
_PIECES = st.sampled_from(
    [",", ", ", " ", "\t", "\u0301", "\u0323", "ß", "ẞ", "p", "P", "h", "ư", "ơ", "ng", "x", "a", "ã", "t", "i", "r",
     "q", ".", "u", "y", "ê", "e", "n", "o", "phuong", "xa", "thi tran", "p.", "quan", "huyen", "q.", "tp",
     "thanh pho", "tinh", "phường", "xã", "thị trấn", "quận", "huyện", "thành phố", "tỉnh", "😀", "中", "\uff0c",
     "\u3000", "\ud800", "1", "\n"]
)  # fmt: skip
_TEXTS = st.one_of(
    st.sampled_from(TEXTS),
    st.lists(_PIECES, max_size=30).map("".join),
    st.lists(st.one_of(_PIECES, st.sampled_from(_class_chars())), max_size=30).map("".join),
    st.text(st.characters(), max_size=40),
)


def _reference(text: str) -> tuple[bool, set[str] | None]:
    if personal._address_hint().search(text) is not None:
        return True, None
    return False, set(re.findall(f"[{chr(FOLD_TABLE_LIMIT)}-\U0010ffff]", text))


def _prefilter(text: str) -> tuple[bool, set[str] | None]:
    hint = personal._hint_table()
    assert hint is not None
    return _compiled().address_prefilter(text, *hint, FOLD_TABLE_LIMIT)  # type: ignore[no-any-return]


@pytest.mark.parametrize("text", TEXTS)
def test_prefilter_is_the_hint_search(text: str) -> None:
    assert _prefilter(text) == _reference(text)


@settings(max_examples=500, deadline=None)
@given(_TEXTS)
def test_prefilter_is_the_hint_search_on_any_text(text: str) -> None:
    assert _prefilter(text) == _reference(text)


@settings(max_examples=200, deadline=None)
@given(_TEXTS)
def test_may_hold_address_both_paths(text: str) -> None:
    got = personal._may_hold_address(text)
    saved = personal._s
    try:
        personal._s = None
        assert got == personal._may_hold_address(text)
    finally:
        personal._s = saved


def test_cases_match_and_miss() -> None:
    found = [t for t in TEXTS if _reference(t)[0]]
    assert 10 <= len(found) <= len(TEXTS) - 3


def test_prefilter_refuses_bad_tables() -> None:
    _s = _compiled()
    table, markers = personal._hint_table() or (b"", b"")
    with pytest.raises(ValueError):
        _s.address_prefilter("a, p", table[:-4], markers, FOLD_TABLE_LIMIT)
    with pytest.raises(ValueError):
        _s.address_prefilter("a, p", table, markers, FOLD_TABLE_LIMIT + 1)
    for bad in (b"\x02\x03", b"\x00", b"\x01\x02", b"\x01\x20", b"\x41" + b"\x03" * 65):
        with pytest.raises(ValueError):
            _s.address_prefilter("a, p", table, bad, FOLD_TABLE_LIMIT)
    assert _s.address_prefilter("a, p", table, b"", FOLD_TABLE_LIMIT) == (False, set())


def test_clock_check_is_the_scan_of_an_empty_text() -> None:
    # _find skips the address search of an empty fold: the check still raises once the budget is spent
    assert personal._Clock(None).check() == () == tuple(personal._Clock(None).scan(personal._ADDRESS, ""))
    assert personal._Clock(10.0).check() == ()
    for clock in (personal._Clock(0.0), personal._Clock(-1.0)):
        with pytest.raises(personal.PersonalDataTimeout):
            clock.check()
        with pytest.raises(personal.PersonalDataTimeout):
            clock.scan(personal._ADDRESS, "")


def test_the_skipped_class_is_what_fullmatch_gives() -> None:
    """``_hint_classes`` reads the two engines' ``\\s`` once over every character instead of a ``fullmatch`` per
    character: the same class as the ``fullmatch`` test it replaced."""
    import regex

    from moderation.detect.identity import fold_table

    table = fold_table()
    folds = {chr(cp): table.get(cp, chr(cp)) for cp in range(FOLD_TABLE_LIMIT)}
    want = frozenset(c for c, f in folds.items() if regex.fullmatch(r"\s*", f) or re.fullmatch(r"\s*", c))
    _letters, skip, _empty = personal._hint_classes()
    assert skip == want
    assert {"\t", " ", "\u2003", "\u0301"} <= skip  # white space, and a mark that folds to nothing
    assert "\x1c" in skip  # white space for `re` only (str.isspace), not for `regex`
