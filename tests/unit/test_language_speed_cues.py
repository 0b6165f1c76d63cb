"""The compiled cue matcher (moderation/_ext/_targets.pyx: CueMatcher, its trie edges in a dense table for small code
points and a hash table for the rest) finds what the regex alternations it stands for find, with literals of any
code point (beyond its root table too)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import targets

_c: Any = targets._c
needs_c = pytest.mark.skipif(_c is None, reason="moderation._ext._targets is not built")

# (on the folded form?, literals in priority order, needs (?<!\d ))
_SPECS: list[tuple[bool, list[str], bool]] = [
    (False, ["😀 x", "😀", "a😀", "ab", "abc", "中文", "中"], False),
    (False, ["ab", "b", "bạn", "bạn bè", "\u2f00", "\U0001d400z"], True),
    (True, ["may", "m", "bon may", "😀😀", "x" * 40], True),
    (True, ["ab c", "ab", "c"], False),
]
_PIECES = st.sampled_from(
    ["😀", " ", "x", "a", "b", "c", "ab", "abc", "中", "文", "bạn", " bè", "\u2f00", "\U0001d400", "z", "m", "may",
     "bon ", "1", "2 ", "é", "\u0301", "x" * 40, ".", "\n"]
)  # fmt: skip
_TEXTS = st.lists(_PIECES, max_size=25).map("".join)


def _pattern(literals: list[str], no_digit_space: bool) -> regex.Pattern[str]:
    left, right = r"(?<![\p{L}\p{M}\d])", r"(?![\p{L}\p{M}\d])"
    return regex.compile(
        (r"(?<!\d )" if no_digit_space else "")
        + left
        + "(?:"
        + "|".join(regex.escape(w) for w in literals)
        + ")"
        + right
    )


def _reference(
    text: str, folded: str, specs: list[tuple[bool, list[str], bool]] | None = None
) -> list[list[tuple[int, int, int, int, str]]]:
    """What ``CueMatcher(specs).spans`` must give (``_SPECS`` by default), from ``regex`` alternations."""
    out = []
    for on_folded, literals, no_digit_space in _SPECS if specs is None else specs:
        form = folded if on_folded else text
        found = []
        for m in _pattern(literals, no_digit_space).finditer(form):
            a, b = m.span()
            found.append((a, b, a, b if b > a else a, m.group()))
        out.append(found)
    return out


@needs_c
@settings(max_examples=600, deadline=None)
@given(_TEXTS, _TEXTS)
def test_cue_matcher_equals_the_alternations(text: str, other: str) -> None:
    matcher = _c.CueMatcher(_SPECS)
    folded = (other + text)[: len(text)].ljust(len(text))  # another string of the same length
    starts = np.arange(len(text), dtype=np.int64)
    ends = starts + 1
    assert matcher.spans(text, folded, starts, ends) == _reference(text, folded)


@needs_c
def test_cue_matcher_of_no_literals_and_bad_specs() -> None:
    matcher = _c.CueMatcher([])
    assert matcher.spans("ab", "ab", np.arange(2), np.arange(2) + 1) == []
    with pytest.raises(ValueError):
        _c.CueMatcher([(False, [""], False)])
    with pytest.raises(ValueError):
        _c.CueMatcher([(False, ["a"], False)] * 17)
    many = _c.CueMatcher([(False, [chr(0x4E00 + k) + chr(0x4E00 + j) for k in range(40) for j in range(40)], False)])
    text = "".join(chr(0x4E00 + k) + chr(0x4E00 + 39 - k) + " " for k in range(40))
    found = many.spans(text, text, np.arange(len(text)), np.arange(len(text)) + 1)
    assert [m[4] for m in found[0]] == [text[3 * k : 3 * k + 2] for k in range(40)]
