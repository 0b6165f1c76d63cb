"""Speed round 3 of the target detector: accusations read from the hit tuples (``targets._row_accusations``) are
those of the reference, and the cue trie (numbered breadth first, 16-bit dense edges, no walk from a character
beyond its literals') finds what the regex alternations find."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import targets
from moderation.text.normalise import normalise
from tests.unit.test_language_speed_cues import _reference as _cue_reference
from tests.unit.test_targets_compiled import _TEXTS as _ANY_TEXTS
from tests.unit.test_targets_compiled import CASES

_c: Any = targets._c
needs_c = pytest.mark.skipif(_c is None, reason="moderation._ext._targets is not built")

# Wrongdoing terms next to targets of every kind, nominal uses, sentence breaks between and several on a tie.
ACCUSATIONS = [
    "Nguyễn Văn Tèo lừa đảo tiền của tao", "bọn kia ăn cắp", "UBND xa tham nhung", "tội tham nhũng của Bộ Tài chính",
    "mày lừa đảo. Nguyễn Văn Tèo thì không", "Công ty ABC lừa đảo, @tuan ăn cắp, UBND tham ô!",
    "thằng kia lừa đảo thằng này", "phòng chống lừa đảo @tuan", "vụ tham nhũng\nUBND", "bạn lừa đảo em",
    "Lê Văn A và Trần Thị B lừa đảo Nguyễn Văn C", "lừa đảo " * 40 + "mày", "mày " + "x" * 90 + " lừa đảo",
    "mày " + "x" * 70 + " lừa đảo", "đồ lừa đảo", "UBND UBND UBND tham ô", "@ab @cd lừa đảo @ef @gh",
    "thang kia lua dao. bon may an cap; UBND tham o? Cty ABC buon lau!", "canh bao lua dao mày",
]  # fmt: skip
_TERMS = st.sampled_from(
    ["lừa đảo", "ăn cắp", "tham ô", "tội ", "phòng chống ", "mày", "thằng kia", "@tuan", "Nguyễn Văn Tèo", "UBND",
     "công ty ABC", "bạn", ". ", "\n", " ", "x", "😀", ", "]
)  # fmt: skip
_ACCUSATION_TEXTS = st.one_of(_ANY_TEXTS, st.lists(_TERMS, max_size=30).map("".join))


def _reference(text: str) -> list[targets.Accusation]:
    n = normalise(text)
    strong = [h for h in targets._find_targets_py(n) if h.strong]
    return targets._find_accusations_py(n, strong) if strong else []


def _same(text: str) -> None:
    n = normalise(text)
    got = targets._row_accusations(n, targets._target_rows_c(n))
    assert got == _reference(text)
    assert all(type(a.target) is targets.TargetHit for a in got)


@needs_c
@pytest.mark.parametrize("text", ACCUSATIONS + CASES)
def test_row_accusations_equal_the_reference(text: str) -> None:
    _same(text)


@needs_c
@settings(max_examples=300, deadline=None)
@given(_ACCUSATION_TEXTS)
def test_row_accusations_equal_the_reference_on_any_text(text: str) -> None:
    _same(text)


@needs_c
@pytest.mark.parametrize("text", ACCUSATIONS)
def test_field_signals_equal_the_python_path(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    n = normalise(text)
    spans = [(0, min(4, len(text)))]
    fast = targets.field_signals("body", text, n, spans)
    monkeypatch.setattr(targets, "_FAST_ROWS", False)
    assert fast == targets.field_signals("body", text, n, spans)


@needs_c
def test_the_cases_hold_accusations() -> None:
    held = [
        t for t in ACCUSATIONS if any(s.kind == "accusation" for s in targets.field_signals("b", t, normalise(t), []))
    ]
    assert len(held) >= 10  # and the others are negatives: nominal, weak targets, too far, another sentence


# Literals of small code points only: every character beyond them (emoji, CJK, the Vietnamese block) has no edge.
_SMALL: list[tuple[bool, list[str], bool]] = [
    (False, ["mày", "bọn mày", "m", "ab c", "abc"], False),
    (True, ["may", "m", "bon may", "c"], True),
]
_SMALL_PIECES = st.sampled_from(
    ["😀", " ", "mày", "bọn", "m", "may", "bon ", "ab", "c", "abc", "中", "\u1ea5", "\U0001d400", "9 ", "\u0301"]
)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(_SMALL_PIECES, max_size=25).map("".join), st.lists(_SMALL_PIECES, max_size=25).map("".join))
def test_cue_matcher_of_small_literals_equals_the_alternations(text: str, other: str) -> None:
    matcher = _c.CueMatcher(_SMALL)
    folded = (other + text)[: len(text)].ljust(len(text))
    starts = np.arange(len(text), dtype=np.int64)
    assert matcher.spans(text, folded, starts, starts + 1) == _cue_reference(text, folded, _SMALL)


@needs_c
@pytest.mark.parametrize("text", ["mày bọn mày", "😀 may m c", "abc ab c 中 mày"])
def test_cue_matcher_reads_strided_offset_arrays_as_their_values(text: str) -> None:
    matcher = _c.CueMatcher(_SMALL)
    starts = np.arange(len(text), dtype=np.int64)
    strided_starts = np.repeat(starts, 2)[::2]  # the same values, not contiguous
    strided_ends = np.repeat(starts + 1, 2)[::2]
    assert not strided_starts.flags.c_contiguous
    want = matcher.spans(text, text, starts, starts + 1)
    assert want == _cue_reference(text, text, _SMALL)
    assert matcher.spans(text, text, strided_starts, strided_ends) == want
