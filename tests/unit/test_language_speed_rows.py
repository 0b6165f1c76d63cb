"""``_targets.target_rows`` sorts and deduplicates its hits as C records: the same rows, in the same order, as the
sorted set of tuples it stands for, also when the cue lists repeat a match or two kinds share a span."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import targets
from moderation.text.normalise import normalise

_c: Any = targets._c
pytestmark = pytest.mark.skipif(_c is None, reason="moderation._ext._targets is not built")

_Cue = tuple[int, int, int, int, str]


def _reference(
    person: list[_Cue], folded: list[_Cue], dem: list[_Cue], marked: list[_Cue], org: list[_Cue], original: str
) -> list[tuple[str, int, int, bool]]:
    """``target_rows`` with a set of (start, end, kind, strong) tuples, as it was written before."""
    rows: set[tuple[int, int, str, bool]] = set()
    spans: list[tuple[int, int]] = []
    for m in person:
        rows.add((m[2], m[3], "second_person", m[4] not in targets._WEAK_SECOND_PERSON))
        spans.append((m[2], m[3]))
    for m in folded:
        if not any(a <= m[2] and m[3] <= b for a, b in spans):
            rows.add((m[2], m[3], "second_person", m[4] in targets._FOLDED_STRONG))
            spans.append((m[2], m[3]))
    for m in dem + marked:
        rows.add((m[2], m[3], "demonstrative", True))
    mentions, names, acronyms = _c.original_spans(original)
    for a, b in mentions:
        rows.add((a, b, "mention", True))
    for a, b in names:
        start = targets._name_start(original[a:b], a)
        if start is not None:
            rows.add((start, b, "name", True))
    for m in org:
        tail = _c.org_tail(original, m[3])
        if tail >= 0:
            rows.add((m[2], tail, "organisation", True))
    for a, b in acronyms:
        if original[a:b] not in targets._ACRONYM_STOP:
            rows.add((a, b, "organisation", True))
    return [(r[2], r[0], r[1], r[3]) for r in sorted(rows)]


def _rows(
    person: list[_Cue], folded: list[_Cue], dem: list[_Cue], marked: list[_Cue], org: list[_Cue], original: str
) -> Any:
    return _c.target_rows(
        person,
        folded,
        dem,
        marked,
        org,
        original,
        targets._WEAK_SECOND_PERSON,
        targets._FOLDED_STRONG,
        targets._ACRONYM_STOP,
        targets._NOT_NAMES,
        targets._SURNAMES,
        targets._NAME_LEADS,
    )


_TEXT = "Công ty ABC lừa đảo, mày và bạn. @tuan Nguyễn Văn Tèo UBND OK ĐM"
_SPAN = st.tuples(st.integers(0, len(_TEXT)), st.integers(0, 6))
_CUES = st.lists(
    st.tuples(_SPAN, st.sampled_from(["mày", "bạn", "em", "may", "bon may", "m", "công ty"])).map(
        lambda t: (t[0][0], t[0][0] + t[0][1], t[0][0], t[0][0] + t[0][1], t[1])
    ),
    max_size=8,
)


@settings(max_examples=400, deadline=None)
@given(_CUES, _CUES, _CUES, _CUES, _CUES)
def test_rows_equal_the_sorted_set(
    person: list[_Cue], folded: list[_Cue], dem: list[_Cue], marked: list[_Cue], org: list[_Cue]
) -> None:
    person = person + person[:2]  # repeated matches
    got = _rows(person, folded, dem, marked, org, _TEXT)
    assert got == _reference(person, folded, dem, marked, org, _TEXT)
    assert all(type(r[1]) is int and type(r[2]) is int and type(r[3]) is bool for r in got)


def test_rows_of_real_cues_and_of_nothing() -> None:
    for text in [_TEXT, "mày mày mày", "", "thằng kia lừa đảo. " * 20, "Anh Nguyễn An và UBND xã, @ab @ab"]:
        n = normalise(text)
        cues = targets._cue_spans(n)
        args = [
            cues[k]
            for k in ("second_person", "second_person_folded", "demonstrative", "demonstrative_marked", "organisation")
        ]
        assert _rows(*args, n.original) == _reference(*args, n.original)
    assert _rows([], [], [], [], [], "") == []
