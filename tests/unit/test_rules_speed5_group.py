"""``_rules.group_signals`` keeps the detectors dict of each set of detector names and hands out a copy: the same
result as ``engine._group_signals_py`` on every call, a new dict each time, unchanged by what a caller does to one."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Signal, Span
from moderation.policy import engine

_c: Any = pytest.importorskip("moderation._ext._rules")

_DETECTORS = ["lexicon", "regex/urls", "regex/phones", "language/offensive", "language/targets", "a/x", "a/y", ""]


def _signal(kind: str, detector: str, score: float) -> Signal:
    return Signal(kind, f"{kind}/k", score, (Span("body", 0, 1, "x"),), detector=detector)


_SIGNALS = st.lists(
    st.builds(
        _signal, st.sampled_from(["lexicon", "regex", "offensive"]), st.sampled_from(_DETECTORS), st.floats(0, 1)
    ),
    max_size=8,
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_SIGNALS, min_size=1, max_size=4))
def test_detectors_equal_the_reference_and_are_new_dicts(batches: list[list[Signal]]) -> None:
    for signals in batches * 2:  # every set of names seen again
        got = _c.group_signals(signals)
        want = engine._group_signals_py(signals)
        assert got == want
        assert list(got[3].items()) == list(want[3].items())
        again = _c.group_signals(signals)[3]
        assert again is not got[3]
        got[3]["changed"] = "by the caller"
        got[3].pop(next(iter(want[3]), None), None)
        assert _c.group_signals(signals)[3] == want[3]
