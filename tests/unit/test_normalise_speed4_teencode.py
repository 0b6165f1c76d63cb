"""``_normalise.teencode_apply`` (the teencode stage in one call) gives what ``teencode_edits``, ``apply_edits``
and ``teencode_window`` give one after the other, and the stage it serves equals the Python stage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from tests.unit.test_normalise_compiled import compiled, python_path

pytestmark = pytest.mark.skipif(
    compiled is None or N._hs is None, reason="moderation._ext._normalise or Hyperscan is missing"
)


def _maps(n: int, moved: bool) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(n, dtype=np.int64)
    if moved:
        starts = starts * 2 + 3
        return starts, starts + 2
    return starts, starts + 1


def check(text: str, moved: bool = False) -> None:
    assert compiled is not None
    starts, ends = _maps(len(text), moved)
    table = N._teencode()
    for want_window in (False, True):
        got = compiled.teencode_apply(text, starts, ends, table, want_window)
        edits, surrogate = compiled.teencode_edits(text, table)
        if not edits:
            assert got is None
            continue
        assert got is not None
        done = compiled.apply_edits(text, starts, ends, edits)
        assert isinstance(done, tuple)
        new, s, e = done
        assert got[0] == new
        assert got[1].tolist() == s.tolist()
        assert got[2].tolist() == e.tolist()
        assert got[1].dtype == np.int64
        assert got[2].dtype == np.int64
        window = compiled.teencode_window(new, edits) if want_window and not surrogate else None
        assert got[3] == window
    # the stage, against the Python stage
    buf = N._Buf(text, starts, ends)
    flags: set[str] = set()
    fast = N._teencode_fast(buf, flags, None)
    slow_flags: set[str] = set()
    with python_path():
        slow = N._teencode_fast(buf, slow_flags, None)
    assert fast.text == slow.text
    assert fast.starts.tolist() == slow.starts.tolist()
    assert fast.ends.tolist() == slow.ends.tolist()
    assert flags == slow_flags


KEYS = list(N._teencode())[:40]
words = st.sampled_from([*KEYS, "ko", "k", "đc", "vs", "ng", "bít", "dc", "ko.", "1", " ", "  ", ".", "😀", "\ud800"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(words, max_size=50), st.booleans())
def test_teencode_apply_equals_the_steps(parts: list[str], moved: bool) -> None:
    text = " ".join(parts)
    check(text, moved)
    check((text + " ") * (N._SMALL // (len(text) + 1) + 1), moved)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ko",
        "ko biết đc không",
        "kođc ko.ko ko,ko",
        "a" * 300 + " ko " + "b" * 300,
        "ko " * 200,
        "😀ko😀 đc" * 40,
        "ko \ud800 đc " * 40,
        "KO ko",
    ],
)
def test_teencode_apply_cases(text: str) -> None:
    check(text)
    check(text, moved=True)


def test_teencode_apply_rejects_malformed_arguments() -> None:
    assert compiled is not None
    table = N._teencode()
    good = np.arange(2, dtype=np.int64)
    with pytest.raises(TypeError):
        compiled.teencode_apply(None, good, good, table, False)
    with pytest.raises(TypeError):
        compiled.teencode_apply("ko", None, good, table, False)
    with pytest.raises(TypeError):
        compiled.teencode_apply("ko", good, good, None, False)
    with pytest.raises(ValueError):
        compiled.teencode_apply("ko", good[:1], good, table, False)
    with pytest.raises((TypeError, ValueError)):
        compiled.teencode_apply("ko", good.astype(np.int32), good, table, False)
    # another table is read again
    got = compiled.teencode_apply("ko", good, good + 1, {"ko": "XY"}, False)
    assert got is not None
    assert got[0] == "XY"
    assert compiled.teencode_apply("ko", good, good + 1, {"ko": "ko"}, False) is None
    got = compiled.teencode_apply("ko", good, good + 1, table, False)
    assert got is not None
    assert got[0] == table["ko"]
