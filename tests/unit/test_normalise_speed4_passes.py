"""The compiled passes with block scans (``collapse_repeats``' triple search, ``suspicious_tokens``' candidate
search), ``fold`` into a buffer of the text's own kind, ``leet_long`` copying the text only when a token changes, and
``drop_mark_floods`` reading the shared class cache give what the Python stages give, with matches on either side
of a block boundary."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from tests.unit.test_normalise_compiled import compiled, python_path

pytestmark = pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")


def _maps(n: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(n, dtype=np.int64)
    return starts, starts + 1


def _python_repeats(text: str) -> tuple[str, list[int], list[int]]:
    starts, ends = _maps(len(text))
    with python_path():
        scan = N._Scan(text)
        buf = N._runs_to(N._Buf(text, starts, ends), scan.repeats(), lambda s: s[0])
    return buf.text, buf.starts.tolist(), buf.ends.tolist()


def check(text: str) -> None:
    assert compiled is not None
    starts, ends = _maps(len(text))
    got = compiled.collapse_repeats(text, starts, ends)
    want = _python_repeats(text)
    if got is None:
        assert want == (text, starts.tolist(), ends.tolist())
    else:
        assert (got[0], got[1].tolist(), got[2].tolist()) == want
    with python_path():
        scan = N._Scan(text)
        want_tokens = N._suspicious_tokens(text, scan)
        want_floods = N._drop_mark_floods(N._Buf(text, starts, ends), scan)
    assert compiled.suspicious_tokens(text) == want_tokens
    floods = compiled.drop_mark_floods(text, starts, ends)
    if floods is None:
        assert want_floods.text == text
    else:
        assert floods[0] == want_floods.text
        assert floods[1].tolist() == want_floods.starts.tolist()
    assert compiled.suspicious_tokens(text) == want_tokens  # again, from the class cache
    assert compiled.fold(text) == text.translate(N._fold_table())
    with python_path():
        want_leet = N._leet(N._Buf(text, starts, ends), set())
    leet = compiled.leet_long(text)
    assert (text if leet is None else leet) == want_leet.text


pieces = st.sampled_from(
    [
        *"abo uxyđêàáọ.!- ",
        "...",
        "!!!!!!",
        "aaa",
        "oà",
        "uý",
        "quý",
        "ṭ",
        "a\u0301\u0301\u0301\u0301",
        "😀😀😀",
        "ch0ng",
        "@nh",
        "ÀÉ",
        "\U0001d400",
        "x" * 13,
        "." * 31,
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(pieces, max_size=40).map("".join), st.integers(0, 40))
def test_passes_equal_the_python_stages(text: str, shift: int) -> None:
    check(text)
    check("-" * shift + text)  # matches moved across the block boundaries
    check(("z" * shift + text + " ") * (N._SMALL // (len(text) + shift + 1) + 1))


@pytest.mark.parametrize("shift", range(0, 40))
def test_block_boundaries(shift: int) -> None:
    for piece in ("aaa", "bbbb", "...", "..aaa", "oà", "uý", "a\u0301", "ṭ"):
        for pad in ("-", "x", "đ", "😀"):
            check(pad * shift + piece + pad * 3)
            check(pad * shift + piece)


def test_fold_keeps_the_kind_and_the_text() -> None:
    assert compiled is not None
    for text in ("abc", "đường", "ĐƯỜNG ÀÉ", "😀 đi", "ÿ à", ""):
        got = compiled.fold(text)
        assert got == text.translate(N._fold_table())
    same = "abc đ"[:3]
    assert compiled.fold(same) is same
