"""Targets: the cue words found with one Hyperscan pass give the same matches as running the patterns over the text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect.targets import _cue_scanner, _cue_specs, _patterns
from moderation.text.normalise import normalise

_CUES = [w for _, _, words in _cue_specs() for w in words]
_AROUND = [" ", "", "_", "9 ", "\n", ".", "-", "a", "ấ", "\u0301", "1", "@", "Ắ", "x_", "_9 ", "Đ", "M"]


def _finditer(text: str) -> dict[str, list[tuple[int, int, str]]]:
    n = normalise(text)
    return {
        name: [(m.start(), m.end(), m.group()) for m in _patterns()[name].finditer(n.folded if folded else n.text)]
        for name, folded, _ in _cue_specs()
    }


def _scanned(text: str) -> dict[str, list[tuple[int, int, str]]]:
    found = _cue_scanner().matches(normalise(text))
    return {name: [(m.start(), m.end(), m.group()) for m in found[name]] for name in found}


@pytest.mark.parametrize(
    "text",
    [
        "mày là đồ ngu", "bọn mày ăn cắp", "9 m", "a m b", "may_m", "_may_", "thằng kia lừa đảo", "thang kia",
        "tội tham nhũng", "Công ty ABC", "em anh chị bạn", "đồ lừa đảo", "lũ chó bọn chó", "mi mi mi", "", "ĐM m",
        "con đĩ", "mấy người", "thang cho ngu", "bộ sở báo", "xembạn", "bạnh",
    ],
)  # fmt: skip
def test_cue_matches_equal_the_patterns(text: str) -> None:
    assert _scanned(text) == _finditer(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_CUES), st.sampled_from(_AROUND)), max_size=12), st.booleans())
def test_cue_matches_equal_the_patterns_on_any_mix(parts: list[tuple[str, str]], upper: bool) -> None:
    text = "".join(a + b for a, b in parts)
    text = text.upper() if upper else text
    assert _scanned(text) == _finditer(text)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_cue_matches_equal_the_patterns_on_any_text(text: str) -> None:
    assert _scanned(text) == _finditer(text)
