"""The compiled passes added to speed up the normaliser on informal text give what their Python twins give.

``lower_simple`` against ``str.lower``; ``collapse_repeats`` (runs found by a per-kind scan, the map copied in
stretches) against the Python run loop, on maps that have moved as well as identity maps.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N

compiled = N._compiled()
pytestmark = pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")


def test_lower_simple_is_str_lower_for_every_code_point() -> None:
    # Every code point alone: the simple lowercase beyond the BMP, the table within it, ``None`` where ``str.lower``
    # must decide (a character that lowers to two, NUL, the capital sigma).
    for cp in range(0x110000):
        ch = chr(cp)
        got = compiled.lower_simple(ch)
        if got is None:
            assert cp == 0x3A3 or len(ch.lower()) != 1 or N._lower_array()[cp] == 0
        else:
            assert got == ch.lower()


runs = st.lists(
    st.sampled_from([*"aAbđĐ ., ;\n", "ΣΑΣ", "İ", "😀", "𐐀", "\x00", "\ud800", "ẞ", "ǅ", "Ω", "ß", "ﬁ"]), max_size=50
).map("".join)


@settings(max_examples=400, deadline=None)
@given(runs | st.text(max_size=40))
def test_lower_simple_equals_str_lower(text: str) -> None:
    for sample in (text, text * 3, "x" * 300 + text):
        got = compiled.lower_simple(sample)
        if got is not None:
            assert got == sample.lower()
            assert (got is sample) == (sample.lower() == sample)
        fast = N._lower(N._identity(sample))
        with_python = N._c
        N._c = None
        try:
            slow = N._lower(N._identity(sample))
        finally:
            N._c = with_python
        assert (fast.text, fast.starts.tolist(), fast.ends.tolist(), fast.identity) == (
            slow.text,
            slow.starts.tolist(),
            slow.ends.tolist(),
            slow.identity,
        )


repeat_like = st.lists(
    st.sampled_from([*"aaab ..", "aaa", "bbbb", "đđđ", "ééé", "😀😀😀", "\u0301" * 3, "111", "   ", "ǅǅǅ", "ab"]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(repeat_like | st.text(max_size=40), st.booleans())
def test_collapse_repeats_equals_the_run_loop(text: str, moved: bool) -> None:
    n = len(text)
    if moved:  # a map that has moved: every character on a wider span, some shared
        starts = np.arange(n, dtype=np.int64) * 2
        ends = starts + 1 + (np.arange(n, dtype=np.int64) % 3)
    else:
        starts = np.arange(n, dtype=np.int64)
        ends = starts + 1
    buf = N._Buf(text, starts, ends)
    got = compiled.collapse_repeats(text, starts, ends)
    ref = N._runs_to(buf, N._Scan(text).repeats(), lambda s: s[0])
    if got is None:
        assert ref is buf
    else:
        assert (got[0], got[1].tolist(), got[2].tolist()) == (ref.text, ref.starts.tolist(), ref.ends.tolist())
        assert got[1].dtype == np.int64
        assert got[2].dtype == np.int64
        assert got[1].flags.c_contiguous
        assert got[2].flags.c_contiguous


def test_collapse_repeats_rejects_malformed_arguments() -> None:
    starts = np.arange(5, dtype=np.int64)
    with pytest.raises(ValueError):
        compiled.collapse_repeats("aaaaaa", starts, starts + 1)
    with pytest.raises(ValueError):
        compiled.collapse_repeats("aaaa", starts, starts + 1)
    with pytest.raises((ValueError, TypeError)):
        compiled.collapse_repeats("aaaaa", starts.astype(np.int32), starts + 1)
    with pytest.raises(TypeError):
        compiled.collapse_repeats(None, starts, starts + 1)
    with pytest.raises(TypeError):
        compiled.lower_simple(None)
    assert compiled.collapse_repeats("", starts[:0], starts[:0]) is None
    assert compiled.lower_simple("") == ""


def test_text_functions_reject_none() -> None:
    # ``str``/``list`` parameters are declared ``not None``: a None would otherwise be read as a string object.
    empty = np.zeros(0, dtype=np.int64)
    calls = [
        lambda: compiled.apply_edits(None, empty, empty, []),
        lambda: compiled.apply_edits("", empty, empty, None),
        lambda: compiled.apply_edits("", None, empty, []),
        lambda: compiled.has_invisible(None),
        lambda: compiled.delete_invisible(None, empty, empty),
        lambda: compiled.delete_invisible("", None, None),
        lambda: compiled.lower_bmp(None),
        lambda: compiled.lower_simple(None),
        lambda: compiled.collapse_repeats(None, empty, empty),
        lambda: compiled.collapse_repeats("", None, empty),
        lambda: compiled.spaced_candidates(None),
        lambda: compiled.spaced_starts(None),
        lambda: compiled.leet_long(None),
        lambda: compiled.drop_mark_floods(None, empty, empty),
        lambda: compiled.suspicious_tokens(None),
        lambda: compiled.collapse_spaces(None, empty, empty),
        lambda: compiled.collapse_spaces("", empty, None),
        lambda: compiled.teencode_hits(None, 0, [], []),
        lambda: compiled.teencode_hits("", 0, None, []),
        lambda: compiled.teencode_hits("", 0, [], None),
        lambda: compiled.teencode_window(None, []),
        lambda: compiled.teencode_window("", None),
        lambda: compiled.fold(None),
        lambda: compiled.teencode_runs(None),
        lambda: compiled.leet_exact(None),
        lambda: compiled.trigger_bits(None),
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()


def test_apply_edits_takes_only_int64_vectors() -> None:
    # The maps are read through the buffer protocol: anything but a one-dimensional C-contiguous int64 array
    # raises (``_apply`` then runs the Python path), and a read-only map (an identity view) is fine.
    text = "ko biết đc ko"
    buf = N._identity(text)
    edits = [(0, 2, "không", None), (9, 11, "được", None)]
    want = N._apply(buf, edits)
    got = compiled.apply_edits(text, buf.starts, buf.ends, edits)
    assert (got[0], got[1].tolist(), got[2].tolist()) == (want.text, want.starts.tolist(), want.ends.tolist())
    assert got[1].flags.writeable
    assert got[2].flags.writeable
    wide = np.arange(2 * len(text), dtype=np.int64)
    for starts in (wide[::2], buf.starts.astype(np.int32), wide.reshape(2, -1), buf.starts.astype(np.float64)):
        with pytest.raises(ValueError):
            compiled.apply_edits(text, starts, buf.ends, edits)
    for starts in (None, list(range(len(text))), "abc"):
        with pytest.raises(TypeError):
            compiled.apply_edits(text, starts, buf.ends, edits)
    assert compiled.apply_edits(text, buf.starts[:-1], buf.ends, edits) is False
    assert compiled.apply_edits(text, buf.starts, buf.ends, []) is None


marks_like = st.lists(
    st.sampled_from(
        [*"aouqhtb .,\n0😀", "\u0301", "\u0323\u0302", "ṭ", "ṃ", "oà", "oá", "uý", "quý", "hoà", "thuỷ", "oàn"]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(marks_like | st.text(max_size=40))
def test_suspicious_tokens_equal_the_python_scan(text: str) -> None:
    for sample in (text, text * 9):
        want = N._suspicious_tokens(sample, N._Scan(sample)) if sample else []
        assert compiled.suspicious_tokens(sample) == want


spaced_like = st.lists(
    st.sampled_from([*"ab đ0134x.-_*~+|/\\'`^ \u0301\u0323😀\n", "c.h.ó", "n g u ", " k ", "a..b", "1.3", "a b c d"]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(spaced_like | st.text(max_size=40))
def test_spaced_starts_find_what_the_candidates_find(text: str) -> None:
    def found(candidates: list[int]) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in N._spaced_matches(text, candidates)]

    assert found(compiled.spaced_starts(text)) == found(compiled.spaced_candidates(text))
    assert set(compiled.spaced_starts(text)) <= set(compiled.spaced_candidates(text))


leet_like = st.lists(
    st.sampled_from([*"abcnhgt 013457@9.\u0301😀", "ch0ng", "ph4", "@nh", "3m", "c0vid19", "2024abc", "a@", "@a"]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(leet_like | st.text(max_size=40))
def test_leet_long_equals_the_python_leet(text: str) -> None:
    sample = (text + " ") * (N._SMALL // (len(text) + 1) + 1)  # the long-text path
    saved = N._c
    N._c = None
    try:
        want = N._leet(N._identity(sample), set(), None)
    finally:
        N._c = saved
    got = compiled.leet_long(sample)
    assert got == (None if want.text == sample else want.text)
