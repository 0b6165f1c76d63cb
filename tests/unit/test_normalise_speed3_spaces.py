"""``_normalise.collapse_spaces`` (runs found first, the text joined from slices, the map copied by stretches)
against the Python stage it speeds up, with maps that are not the identity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N

compiled = N._compiled()
pytestmark = pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")

_SPACEY = [*"ab đ😀\n\t\r\x0b\x0c\x1c\x85\u00a0\u2028\u3000\u200b", "ê", "  "]
spacey = st.lists(st.sampled_from(_SPACEY), max_size=60).map("".join)


def _python(buf: N._Buf) -> N._Buf:
    saved = N._c
    N._c = None
    try:
        return N._collapse_spaces(buf, N._Scan(buf.text))
    finally:
        N._c = saved


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spacey | st.text(max_size=40), st.integers(1, 3))
def test_collapse_spaces_equals_the_python_stage(text: str, step: int) -> None:
    starts = np.arange(len(text), dtype=np.int64) * step
    ends = starts + step + 1
    buf = N._Buf(text, starts, ends)
    done = compiled.collapse_spaces(text, starts, ends)
    want = _python(buf) if text else buf
    if done is None:
        assert want is buf
        return
    new, new_starts, new_ends = done
    assert new == want.text
    assert new_starts.dtype == np.int64
    assert new_ends.dtype == np.int64
    assert np.array_equal(new_starts, want.starts)
    assert np.array_equal(new_ends, want.ends)
    if len(new) == len(text):  # one character for one: the arrays given, as the Python stage keeps them
        assert new_starts is starts
        assert new_ends is ends


def test_collapse_spaces_cases() -> None:
    idx = np.arange(12, dtype=np.int64)
    assert compiled.collapse_spaces("a b c", idx[:5], idx[1:6]) is None
    assert compiled.collapse_spaces("", idx[:0], idx[1:1]) is None
    given_starts, given_ends = idx[:3], idx[1:4]
    new, s, e = compiled.collapse_spaces("a\nb", given_starts, given_ends)
    assert new == "a b"
    assert s is given_starts
    assert e is given_ends
    new, s, e = compiled.collapse_spaces("a \n\tb ", idx[:6], idx[1:7])
    assert new == "a b "
    assert s.tolist() == [0, 1, 4, 5]
    assert e.tolist() == [1, 4, 5, 6]
    new, s, e = compiled.collapse_spaces("\u3000" * 5, idx[:5], idx[1:6])
    assert (new, s.tolist(), e.tolist()) == (" ", [0], [5])
    with pytest.raises(ValueError, match="length"):
        compiled.collapse_spaces("a  b", idx[:3], idx[1:4])
    with pytest.raises(TypeError):
        compiled.collapse_spaces(None, idx[:0], idx[:0])
