"""Personal data: the fold the address search reads (``personal._fold_for_address``) is ``fold_with_offsets``."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import personal
from moderation.detect.identity import FOLD_TABLE_LIMIT, fold_with_offsets

_CASES = [
    "",
    "abc",
    "Số 12 ngõ 3, phường Láng Hạ, quận Đống Đa 😀",
    "😀",
    "\u0301😀",
    "a\u0301b😀ß",  # a character folding to two: the general way
    "ﬁ😀",
    "ǰ😀",
    "\ud800x😀",  # a lone surrogate
    "Ａ，😀 phường",  # fullwidth: beyond the table, folds to another single character
    "ＡＢ x",
    "😀\u302a",
    "中😀 ,q.",
    "😀\U0001d400",
    "\u302a",
    chr(FOLD_TABLE_LIMIT) + chr(FOLD_TABLE_LIMIT - 1),
    "Ꝺ 😀 Ω K Å ẞ 12",
]
_PIECES = st.sampled_from(["😀", "Ａ", "ß", "ﬁ", "\u0301", "ễ", "Đ", ", ", "12", "\ud800", "中", "\U0001d400", "ǰ"])
_ANY = st.characters(codec=None, exclude_categories=())  # every code point, lone surrogates included
_TEXTS = st.lists(st.one_of(_PIECES, st.text(_ANY, max_size=5)), max_size=20)


def _check(text: str) -> None:
    folded, offsets = personal._fold_for_address(text)
    assert (folded, offsets()) == fold_with_offsets(text)


@pytest.mark.parametrize("text", _CASES)
def test_fold_for_address_is_fold_with_offsets(text: str) -> None:
    _check(text)


@settings(max_examples=500, deadline=None)
@given(_TEXTS.map("".join))
def test_fold_for_address_is_fold_with_offsets_on_any_text(text: str) -> None:
    _check(text)


def _reference_fold(text: str) -> tuple[str, Callable[[], list[int]]]:
    folded, offsets = fold_with_offsets(text)
    return folded, lambda: offsets


_ADDRESS = "số 12 ngõ 34 đường Láng, phường Láng Thượng, quận Đống Đa"


@pytest.mark.parametrize(
    "text",
    [
        f"😀 Nhà ở {_ADDRESS} 😀😀 ai qua chơi nhé",
        f"Ａ Nhà ở {_ADDRESS} 🙂",
        f"{_ADDRESS} 😀",
        f"ß😀 {_ADDRESS}",
        f"Nhà ở {_ADDRESS}",
        "😀 gọi 0901 234 567, phường 3 😀",
    ],
)
def test_find_personal_data_equals_the_reference_fold(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = personal.find_personal_data(text)
    assert any(d.kind == "address" for d in fast) == ("ngõ" in text)
    monkeypatch.setattr(personal, "_fold_for_address", _reference_fold)
    assert personal.find_personal_data(text) == fast


# The compiled digit scan (moderation/_ext/_targets.pyx: digit_scan) against the patterns it stands for.

_DIGITISH = st.sampled_from(
    ["0", "5", "9", "١", "٣", "０", "９", "𝟙", "²", "½", "Ⅻ", "@", " ", ".", "-", "  ", "a", "_", "\t"]
)
_DIGIT_TEXTS = st.lists(st.one_of(_DIGITISH, st.text(_ANY, max_size=3)), max_size=30).map("".join)


def _reference_scan(text: str) -> tuple[int, bool]:
    first = personal._DIGIT_OR_AT.search(text)
    return (-1 if first is None else first.start()), personal._SIX_DIGITS.search(text) is not None


@pytest.mark.skipif(personal._c is None, reason="moderation._ext._targets is not built")
@pytest.mark.parametrize(
    "text",
    ["", "@", "12345", "123456", "1 2 3 4 5 6", "1  2 3 4 5 6", "1.2-3 4.5-6", "١٢٣٤٥٦", "０１２３４５", "12 34 56",
     "a123456", "12345 @6", "1-2-3-4-5--6", "--1-2-3-4-5-6", "x 0901 234 567", "😀 12.345.6", "\ud800123456"],
)  # fmt: skip
def test_digit_scan_cases(text: str) -> None:
    assert personal._c.digit_scan(text) == _reference_scan(text)
    assert personal._digits(text) == personal._digits_py(text)


@pytest.mark.skipif(personal._c is None, reason="moderation._ext._targets is not built")
@settings(max_examples=800, deadline=None)
@given(_DIGIT_TEXTS)
def test_digit_scan_equals_the_patterns(text: str) -> None:
    assert personal._c.digit_scan(text) == _reference_scan(text)
    assert personal._digits(text) == personal._digits_py(text)


@pytest.mark.skipif(personal._c is None, reason="moderation._ext._targets is not built")
def test_digit_scan_rejects_what_is_not_a_string() -> None:
    with pytest.raises(TypeError):
        personal._c.digit_scan(None)
    with pytest.raises(TypeError):
        personal._c.digit_scan(b"123456")
