"""The per-hit loop of ``Lexicon.spans`` without a byte map of the whole text (``_scan.lexicon_few``) gives what
the Python loop gives: the same dict, in the same order, for accented, folded and shared
positions, ASCII and non-ASCII text, with and without a per-form limit."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import lexicon
from moderation.detect.lexicon import Lexicon, Term
from moderation.text.normalise import normalise

_s: Any = lexicon._s
needs_c = pytest.mark.skipif(_s is None, reason="the compiled extension is not built")

TERMS = [
    Term("lon", "lồn"), Term("ngu", "ngu"), Term("dm", "địt mẹ"), Term("ngu-accented", "ngủ", accent_sensitive=True),
    Term("lua-dao", "lừa đảo"), Term("ngu-2", "ngu"), Term("ngu-x", "ngủ", accent_sensitive=True), Term("dm-2", "dm"),
    Term("cho", "chó", accent_sensitive=True), Term("emoji", "😀 x"), Term("a", "á", accent_sensitive=True),
]  # fmt: skip
_WORDS = [
    "ngu", "ngủ", "NGỦ", "lồn", "lon", "long", "đ.m", "dm", "lừa đảo", "vl", "😀", "_", "x", "1", " ", "\u0301", "chó",
    "cho", "á", "a", "\ud800", "中", "\u200b", ", ", "ă",
]  # fmt: skip
_TEXTS = st.one_of(
    st.lists(st.sampled_from(_WORDS), max_size=40).map(" ".join),
    st.lists(st.sampled_from(_WORDS), max_size=40).map("".join),
)
_LEXICONS = [
    Lexicon.compile(TERMS),
    Lexicon.compile([t for t in TERMS if t.accent_sensitive]),
    Lexicon.compile([t for t in TERMS if not t.accent_sensitive]),
]


def _both_ways(lex: Lexicon, text: str, limit: int | None) -> tuple[Any, Any]:
    saved = lexicon._s
    try:
        few = lex.spans(text, per_form_limit=limit)
        lexicon._s = None
        loop = lex.spans(text, per_form_limit=limit)
    finally:
        lexicon._s = saved
    return few, loop


@needs_c
@settings(max_examples=400, deadline=None)
@given(_TEXTS, st.sampled_from([None, 0, 1, 3]))
def test_few_hits_equal_the_python_loop(text: str, limit: int | None) -> None:
    for lex in _LEXICONS:
        few, loop = _both_ways(lex, text, limit)
        assert list(few.items()) == list(loop.items())
        assert all(type(a) is int and type(b) is int for a, b in few)


@needs_c
@pytest.mark.parametrize(
    "text",
    ["", "ngu", "mày ngủ đi 😀 x, lồn", "chó CHÓ cho", "á a ă", "đ.m \ud800 ngu", "😀" * 30 + " ngủ " + "á" * 5,
     "ngu " * 40, "x😀 x ngu😀"],
)  # fmt: skip
def test_few_hits_on_cases(text: str) -> None:
    for lex in _LEXICONS:
        for limit in (None, 1):
            few, loop = _both_ways(lex, text, limit)
            assert list(few.items()) == list(loop.items())


@needs_c
def test_few_hits_refuse_offsets_beyond_the_text() -> None:
    n = normalise("ngu ngủ")
    tb, fb = n.text.encode(), n.folded.encode()
    ids = [("a",), ("b",)]

    def call(pids: list[int], ends: list[int], starts: Any = None) -> Any:
        return _s.lexicon_few(
            pids, ends, 0, [3, 3], ids, 1, False, len(tb), n.text, n.folded, tb, fb, 10,
            n.starts if starts is None else starts, n.ends,
        )  # fmt: skip

    assert call([1], [len(tb) + 4]) == {(0, 3): ("b",)}
    assert call([0], [len(tb) + 40]) == {}  # an accented form found past the text: in the folded part
    with pytest.raises(ValueError):
        call([0], [1])  # starts before the text
    with pytest.raises(ValueError):
        call([1], [len(tb) + len(fb) + 5])
    with pytest.raises(ValueError):
        call([2], [3])
    with pytest.raises(ValueError):
        call([-1], [3])
    with pytest.raises(ValueError):
        call([0], [3, 4])
    with pytest.raises(ValueError):
        call([0], [3], starts=np.zeros(2, dtype=np.int64))
    assert call([0], [3], starts=list(range(len(n.text)))) == {(0, 3): ("a",)}


@needs_c
def test_few_hits_read_strided_offset_arrays_as_their_values() -> None:
    n = normalise("mày ngủ đi ngu 😀 lồn")
    tb, fb = n.text.encode(), n.folded.encode()
    lex = _LEXICONS[0]
    flat = lex._scanner.scan_flat(tb + b"\x00" + fb)
    pids, ends = list(flat[0::2]), list(flat[1::2])

    def call(starts: Any, ends_map: Any) -> Any:
        return _s.lexicon_few(
            pids, ends, 0, lex._lengths, lex._ids, lex._n_accented, False, len(tb), n.text, n.folded, tb, fb,
            len(pids), starts, ends_map,
        )  # fmt: skip

    strided_starts = np.repeat(n.starts, 2)[::2]
    strided_ends = np.repeat(n.ends, 2)[::2]
    assert not strided_starts.flags.c_contiguous
    want = call(n.starts, n.ends)
    assert want == lex.spans(n.original)
    assert call(strided_starts, strided_ends) == want
