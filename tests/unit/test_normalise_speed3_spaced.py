"""``_normalise.spaced_starts`` (its first test vectorised over the whole text, then the positions that pass it)
against a line-by-line port of the loop it replaces, over the same class bits."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N

compiled = N._compiled()
pytestmark = pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")


def _reference(text: str) -> list[int]:
    n = len(text)
    cls = [int(b) for b in N._classes_of(N._codes(text))] + [0] if n else [0]
    b_l, b_m, b_d, b_sep, b_sp, b_0134 = N._L, N._M, N._D, N._SEP, N._SP, N._D0134
    out = []
    prev = 0
    for i in range(n):
        c0, before, prev = cls[i], prev, cls[i]
        if not (c0 & (b_l | b_0134) and cls[i + 1] & (b_m | b_sep | b_sp) and not before & (b_l | b_m | b_d)):
            continue
        q = i + 1
        while q < n and cls[q] & b_m:
            q += 1
        if cls[q] & b_sep:
            q += 1
            while q < n and cls[q] & b_sep:
                q += 1
            if cls[q] & (b_l | b_0134):
                out.append(i)
                continue
        if not c0 & b_l:
            continue
        q, ok = i, True
        for _ in range(2):  # three letters separated by spaces: the second branch of _SPACED
            if not cls[q] & b_l:
                ok = False
                break
            q += 1
            while q < n and cls[q] & b_m:
                q += 1
            if q >= n or text[q] != " ":
                ok = False
                break
            q += 1
        if ok and cls[q] & b_l:
            out.append(i)
    return out


pieces = st.sampled_from([*"abđ0134 .-_*~+|/\\'`^\n\u0301\u0302ǅ😀é", "a b c d ", "n.g.u", "x \u0301 y", "ch0"])


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pieces, max_size=50).map("".join) | st.text(max_size=40))
def test_spaced_starts_equal_the_loop_they_replace(text: str) -> None:
    for sample in (text, text * 5, " " * 7 + text, text + "a"):
        assert compiled.spaced_starts(sample) == _reference(sample), repr(sample)


@pytest.mark.parametrize("size", range(20))
def test_every_length_around_the_eight_position_skip(size: int) -> None:
    for tail in ("a b c d", "a.b", "x-", "a \u0301b c d", "0.1"):
        for head in ("", "x" * size, "xy " * size):
            sample = head + tail
            assert compiled.spaced_starts(sample) == _reference(sample), repr(sample)
