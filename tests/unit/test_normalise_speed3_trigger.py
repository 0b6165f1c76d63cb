"""The 16-bit trigger pass (``_normalise._window_bits16``, vectorised) against the UCS4 pass it replaces
(``trigger_bits_ucs4``) and the Hyperscan databases, on text of every length around the vector width, with code
points at and beyond U+FFFF, and through ``rescan_bits`` (windows of a longer text)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N

compiled = N._compiled()
pytestmark = pytest.mark.skipif(
    compiled is None or N._triggers() is None, reason="moderation._ext._normalise or hyperscan is missing"
)


def _hyperscan_bits(text: str) -> int:
    t = N._triggers()
    assert t is not None
    saved = N._c
    N._c = None  # the whole Hyperscan path (its leet test included)
    try:
        return t.scan(text)
    finally:
        N._c = saved


pieces = st.sampled_from(
    [
        *"aoubdđkvlmcz .-_*~+|/\\'`^0134579@\n\t\u3000\u00a0",
        *"\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031bòóỏõọàáạỳýỷỹỵṭ",
        *"😀\U0001d400\U0001f600\uffff\ufffe\U00010000\U0010ffff\uff2f\u0436ǅ²ª_",
        "ko",
        "vcl",
        "dm",
        "aaa",
        "ooo",
        "ééé",
        "c.h.o",
        "n g u ",
        "ch0",
        "0o",
        "hoà ",
        "quý",
    ]
)
texts = st.lists(pieces, max_size=60).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts | st.text(max_size=70))
def test_sixteen_bit_pass_equals_the_ucs4_pass_and_hyperscan(text: str) -> None:
    for sample in (text, text * 3, "x" * 15 + text, text + "\uffff" * 3, "\U0001f600" + text):
        fast = compiled.trigger_bits(sample)
        assert fast == compiled.trigger_bits_ucs4(sample), repr(sample)
        assert fast == _hyperscan_bits(sample), repr(sample)


@pytest.mark.parametrize("size", range(40))
def test_every_length_around_the_vector_width(size: int) -> None:
    # Each test placed at the end of texts of every length (the vector loop's remainder, the sentinels after it).
    for tail in ("aaa", "  ", "ch0", "0a", "oà", "uý", "a b c d", "a.b", "ko", "\u0301", "đ", "\u3000", "ｋ"):
        sample = ("x " * size)[:size] + tail
        assert compiled.trigger_bits(sample) == compiled.trigger_bits_ucs4(sample) == _hyperscan_bits(sample)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts, texts, st.integers(0, 3))
def test_rescan_windows_are_a_superset(old: str, insert: str, where: int) -> None:
    # ``rescan_bits`` scans windows with the same pass: its answer holds every bit of the new text.
    cut = len(old) * where // 3
    new = old[:cut] + insert + old[cut:]
    bits = compiled.trigger_bits(old)
    got = compiled.rescan_bits(bits, old, new)
    assert got & compiled.trigger_bits(new) == compiled.trigger_bits(new)


def test_long_texts_equal_the_ucs4_pass() -> None:
    line = "Xin chào các bạn, hôm nay trời đẹp quá \U0001f600 ko biết nói gì luôn, thằng này ngu vl!!! \n"
    for text in (line * 60, line.upper() * 7, (line * 9).replace(" ", "\u00a0"), "\uffff".join([line] * 5)):
        assert compiled.trigger_bits(text) == compiled.trigger_bits_ucs4(text) == _hyperscan_bits(text)


def test_teencode_window_widened_to_word_ends() -> None:
    # A window cut inside a word made its tail look like a key ("...z" of "chez", "ng" of "không"): widened to the
    # word's ends, the windows' bits lose the false teencode bit, and both paths build the same windows.
    filler = "xin chào các bạn hôm nay trời đẹp quá " * 8
    text = filler + "chez clear ko petland " + filler + "nhưng ko thì sao " + filler
    expanded = N._teencode_fast(N._identity(text), set(), None)
    assert expanded.window is not None
    assert "\x00" in expanded.window or len(expanded.window) < len(expanded.text)
    for part in expanded.window.split("\x00"):
        assert part in expanded.text
        at = expanded.text.index(part)
        assert at == 0 or not expanded.text[at - 1].isalnum()
        end = at + len(part)
        assert end == len(expanded.text) or not expanded.text[end].isalnum()
    assert not compiled.trigger_bits(expanded.window) & N._T_TEEN
    saved = N._c
    N._c = None
    try:
        slow = N._teencode_fast(N._identity(text), set(), None)
    finally:
        N._c = saved
    assert slow.window == expanded.window
    # Words longer than the widening stay cut (the bits are a superset all the same).
    long_word = "a" * 100
    text = long_word + " ko " + long_word + " " + filler
    expanded = N._teencode_fast(N._identity(text), set(), None)
    assert expanded.window is not None
    assert expanded.window == "a" * (N._TRIGGER_CONTEXT - 1 + N._WORD_WIDEN) + " không " + "a" * (
        N._TRIGGER_CONTEXT - 1 + N._WORD_WIDEN
    )
