"""The short-text leet stage skips tokens made of letters only (no letter is a digit, so they hold nothing to
replace) and asks the compiled ``leet_exact`` for its hint: it gives what the token-by-token reference gives."""

from __future__ import annotations

import contextlib

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from tests.unit.test_normalise_compiled import python_path


def reference(buf: N._Buf, flags: set[str]) -> N._Buf:
    """The stage as it was: the regex hint, then every token's letters and digits counted."""
    text = buf.text
    if not N._LEET_HINT.search(text):
        return buf
    edits: list[N._Edit] = []
    for m in N._LEET_TOKEN.finditer(text):
        tok = m.group()
        if len(tok) > N._MAX_LEET_TOKEN:
            continue
        letters = sum(ch.isalpha() for ch in tok)
        digits = sum(ch.isdigit() or ch == "@" for ch in tok)
        if letters < 2 or digits == 0 or digits > letters:
            continue
        if N._GLUED_DIGITS.search(tok) or tok[0] == "@" or tok[-1] == "@":
            continue
        new = tok.translate(N._LEET_TABLE)
        if new != tok:
            edits.append((m.start(), m.end(), new, [(j, j + 1) for j in range(len(tok))]))
    if edits:
        flags.add("obfuscation")
        return N._apply(buf, edits)
    return buf


def check(text: str) -> None:
    text = text[: N._SMALL - 1]
    starts = np.arange(len(text), dtype=np.int64)
    buf = N._Buf(text, starts, starts + 1)
    want_flags: set[str] = set()
    want = reference(buf, want_flags)
    for path in (contextlib.nullcontext(), python_path()):
        with path:
            flags: set[str] = set()
            got = N._leet(buf, flags)
            assert got.text == want.text
            assert got.starts.tolist() == want.starts.tolist()
            assert got.ends.tolist() == want.ends.tolist()
            assert flags == want_flags


pieces = st.sampled_from(
    [*"ab0134579@²٣𝟘 .-đêÀ\u0301", "ch0ng", "ph4", "@nh", "c0vid19", "2024abc", "ngu", "ủng", "10000usd", "a1", "1a"]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pieces, max_size=40).map("".join))
def test_leet_short_equals_the_reference(text: str) -> None:
    check(text)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_leet_short_arbitrary_unicode(text: str) -> None:
    check(text)


def test_leet_short_cases() -> None:
    for text in ("ai giết dk con linh cá lóc tui ủng hộ 10000usd", "ch0ng ph4 nh4", "@nh 3m", "ｋ0", "Ⅻ1a", "é1é"):
        check(text)
