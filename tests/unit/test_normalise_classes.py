"""The normaliser's character-class table (``normalise._class_bits``) reads each class as runs, and the look-alikes'
class by membership: the same bits as matching every class's pattern one character at a time."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.text import normalise


def _one_by_one(chars: str) -> npt.NDArray[np.uint16]:
    """The reference: every character of every match of each class's own pattern."""
    out = np.zeros(len(chars), dtype=np.uint16)
    for bit, pat in normalise._class_tests():
        idx = [i for m in pat.finditer(chars) for i in range(m.start(), m.end())]
        if idx:
            out[np.asarray(idx, dtype=np.int64)] |= bit
    return out


def test_every_code_point() -> None:
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    assert np.array_equal(normalise._class_bits(every), _one_by_one(every))


@pytest.mark.parametrize(
    "text",
    ["", "a", "\ud800x", "Аа\u200b\u200b!", "\U0001d400\uff41", "ồ\u0301\u0301 0134 @ ỳ", "\u3000\ufeff\x00\x9f"],
)
def test_table(text: str) -> None:
    assert np.array_equal(normalise._class_bits(text), _one_by_one(text))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text(text: str) -> None:
    assert np.array_equal(normalise._class_bits(text), _one_by_one(text))
