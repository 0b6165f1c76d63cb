"""``aimed``: bisection over sentence breaks and sorted targets gives what the plain scan over every pair gives."""

from __future__ import annotations

import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect.targets import _WINDOW, TargetHit, aimed

_BREAK = regex.compile(r"[.!?;\n]")


def naive(hits: list[TargetHit], spans: list[tuple[int, int]], text: str) -> set[TargetHit]:
    out = set()
    for lo, hi in spans:
        s_lo = max((m.end() for m in _BREAK.finditer(text, 0, lo)), default=0)
        end = _BREAK.search(text, hi)
        s_hi = end.start() if end else len(text)
        for t in hits:
            if t.end <= s_lo or t.start >= s_hi:
                continue
            dist = 0 if (t.start < hi and lo < t.end) else (lo - t.end if t.end <= lo else t.start - hi)
            if dist <= _WINDOW:
                out.add(t)
    return out


@st.composite
def cases(draw: st.DrawFn) -> tuple[list[TargetHit], list[tuple[int, int]], str]:
    text = draw(st.text(alphabet="ab .!\n", min_size=1, max_size=400))
    n = len(text)

    def span() -> tuple[int, int]:
        lo = draw(st.integers(0, n - 1))
        return lo, draw(st.integers(lo + 1, min(n, lo + 30)))

    hits = [TargetHit("name", *span()) for _ in range(draw(st.integers(0, 8)))]
    spans = [span() for _ in range(draw(st.integers(0, 8)))]
    return hits, spans, text


@settings(max_examples=150, deadline=None)
@given(cases())
def test_aimed_equals_the_plain_scan(case: tuple[list[TargetHit], list[tuple[int, int]], str]) -> None:
    hits, spans, text = case
    assert aimed(hits, spans, text) == naive(hits, spans, text)
