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
_TEXTS = st.lists(
    st.one_of(_PIECES, st.text(st.characters(codec=None, exclude_categories=()), max_size=5)), max_size=20
)


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
