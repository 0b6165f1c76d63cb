"""The compiled lexicon scan input and hit reading (``_scan.scan_input``, ``_scan.lexicon_scan_few``,
``_scan.FlatHits``) and the prefilter's compiled match handler give what the Python code gives: the same bytes, the
same flat hit lists, the same ``Lexicon.spans`` dicts and the same skipped patterns."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import lexicon
from moderation.detect.lexicon import Lexicon, LiteralScanner, Term
from moderation.policy import matching
from moderation.policy.matching import CompiledPattern, Prefilter, compile_patterns
from moderation.text.normalise import normalise

_s: Any = lexicon._s
needs_c = pytest.mark.skipif(_s is None, reason="the compiled extension is not built")

_CHARS = st.sampled_from(
    ["a", "b", " ", "ủ", "ngu", "đ", "é", "ÿ", "😀", "\ud800", "\udfff", "中", "\x00", "\u200b", "\U0010ffff", ","]
)
_STRINGS = st.lists(_CHARS, max_size=30).map("".join)


def _utf8(s: str) -> bytes:
    return s.encode("utf-8", errors="surrogatepass")


@needs_c
@settings(max_examples=300, deadline=None)
@given(_STRINGS, _STRINGS)
def test_scan_input_is_the_utf8_of_both_parts(text: str, folded: str) -> None:
    assert _s.scan_input(text, folded) == (_utf8(text) + b"\x00" + _utf8(folded), len(_utf8(text)))
    assert _s.scan_input(text, None) == (_utf8(text), len(_utf8(text)))
    assert _s.scan_input(None, folded) == (_utf8(folded), -1)


@needs_c
@pytest.mark.parametrize("text", ["", "abc", "é", "ÿ" * 9, "ngủ 😀", "\ud800x", "中" * 4, "a\U0010ffff"])
def test_scan_input_cases(text: str) -> None:
    for kind_probe in (text, text + "é", text + "中", text + "😀"):
        assert _s.scan_input(kind_probe, text) == (_utf8(kind_probe) + b"\x00" + _utf8(text), len(_utf8(kind_probe)))
    with pytest.raises(TypeError):
        _s.scan_input(None, None)
    with pytest.raises(TypeError):
        _s.scan_input(b"x", None)


def _closure_flat(scanner: LiteralScanner, data: bytes) -> list[int]:
    saved = lexicon._s
    try:
        lexicon._s = None
        return scanner.scan_flat(data)
    finally:
        lexicon._s = saved


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"ngu", b"lon", b"x", b" ", b"\xc3\xa9", b"\x00", b"ab"]), max_size=40))
def test_flat_hits_handler_gives_the_closure_list(parts: list[bytes]) -> None:
    scanner = LiteralScanner([b"ngu", b"lon", b"\xc3\xa9", b"ab", b"a"])
    data = b"".join(parts)
    assert scanner.scan_flat(data) == _closure_flat(scanner, data)
    assert scanner.scan_flat(data) == [x for pair in scanner.scan(data) for x in pair]


@needs_c
def test_flat_hits_collects_pattern_and_end() -> None:
    handler = _s.FlatHits()
    assert handler.hits == []
    assert handler(3, 0, 7, 0, None) is None
    handler(1, 2, 9, 0, None)
    assert handler.hits == [3, 7, 1, 9]
    with pytest.raises(TypeError):
        handler(1, 2)


TERMS = [
    Term("lon", "lồn"), Term("ngu", "ngu"), Term("dm", "địt mẹ"), Term("ngu-accented", "ngủ", accent_sensitive=True),
    Term("cho", "chó", accent_sensitive=True), Term("emoji", "😀 x"), Term("a", "á", accent_sensitive=True),
]  # fmt: skip
_LEXICONS = [
    Lexicon.compile(TERMS),
    Lexicon.compile([t for t in TERMS if t.accent_sensitive]),
    Lexicon.compile([t for t in TERMS if not t.accent_sensitive]),
]
_WORDS = ["ngu", "ngủ", "NGỦ", "lồn", "lon", "long", "đ.m", "dm", "😀", "_", "x", "1", " ", "chó", "cho", "á", "a",
          "\ud800", "中", ", "]  # fmt: skip


def _spans_both(lex: Lexicon, text: str, limit: int | None) -> tuple[Any, Any]:
    saved = lexicon._s
    try:
        compiled = lex.spans(text, per_form_limit=limit)
        lexicon._s = None
        loop = lex.spans(text, per_form_limit=limit)
    finally:
        lexicon._s = saved
    return compiled, loop


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=60).map(" ".join), st.sampled_from([None, 0, 1, 2, -1]))
def test_compiled_spans_equal_the_python_path(text: str, limit: int | None) -> None:
    for lex in _LEXICONS:
        compiled, loop = _spans_both(lex, text, limit)
        assert list(compiled.items()) == list(loop.items())


@needs_c
@pytest.mark.parametrize("text", ["ngu " * 60, "ngủ lồn " * 40 + "😀 x", "á " * 80, "lon, " * 70 + "中"])
def test_compiled_spans_with_many_hits_equal_the_python_path(text: str) -> None:
    for lex in _LEXICONS:
        for limit in (None, 3):
            compiled, loop = _spans_both(lex, text, limit)
            assert list(compiled.items()) == list(loop.items())


@needs_c
def test_scan_few_equals_few_on_the_two_halves() -> None:
    n = normalise("mày ngủ đi ngu 😀 x lồn á")
    lex = _LEXICONS[0]
    data, split = _s.scan_input(n.text, n.folded)
    flat = lex._scanner.scan_flat(data)
    tb, fb = data[:split], data[split + 1 :]
    for limit in (len(flat), 1, 0):
        want = _s.lexicon_few(
            flat[0::2], flat[1::2], 0, lex._lengths, lex._ids, lex._n_accented, False, split, n.text, n.folded, tb,
            fb, limit, n.starts, n.ends,
        )  # fmt: skip
        got = _s.lexicon_scan_few(
            flat, lex._lengths, lex._ids, lex._n_accented, False, split, n.text, n.folded, data, limit, n.starts,
            n.ends,
        )  # fmt: skip
        assert list(got.items()) == list(want.items())
    strided = np.repeat(n.starts, 2)[::2]
    args = (lex._lengths, lex._ids, lex._n_accented, False, split, n.text, n.folded, data, 9)
    assert _s.lexicon_scan_few(flat, *args, strided, n.ends) == _s.lexicon_scan_few(flat, *args, n.starts, n.ends)
    as_list = _s.lexicon_scan_few(flat, *args, n.starts.tolist(), n.ends.astype(np.int32))
    assert as_list == _s.lexicon_scan_few(flat, *args, n.starts, n.ends)


@needs_c
def test_scan_few_refuses_malformed_arguments() -> None:
    n = normalise("ngu ngủ")
    lex = _LEXICONS[0]
    data, split = _s.scan_input(n.text, n.folded)
    flat = lex._scanner.scan_flat(data)
    args = (lex._lengths, lex._ids, lex._n_accented, False)
    tail = (n.text, n.folded, data, 9, n.starts, n.ends)
    with pytest.raises(ValueError):
        _s.lexicon_scan_few([*flat, 1], *args, split, *tail)  # an odd flat list
    with pytest.raises(ValueError):
        _s.lexicon_scan_few(flat, *args, len(data) + 1, *tail)  # split beyond the data
    with pytest.raises(ValueError):
        _s.lexicon_scan_few(flat, *args, -2, *tail)
    with pytest.raises(ValueError):
        _s.lexicon_scan_few([len(lex._lengths) - 1, len(data) + 9], *args, split, *tail)  # a hit beyond the bytes
    with pytest.raises(ValueError):
        _s.lexicon_scan_few([len(lex._lengths), 3], *args, split, *tail)  # a pattern beyond the forms
    with pytest.raises(ValueError):
        _s.lexicon_scan_few(flat, *args, split, n.text, n.folded, data, 9, np.zeros(2, dtype=np.int64), n.ends)
    with pytest.raises(ValueError):
        _s.lexicon_scan_few(flat, *args, split, n.text, n.folded + "x", data, 9, n.starts, n.ends)
    with pytest.raises(TypeError):
        _s.lexicon_scan_few(None, *args, split, *tail)


_PATTERNS = compile_patterns(
    [
        ("p", "phone", r"(?<!\d)(?:\+?84|0)[35789](?:[ .\-]?\d){8}(?!\d)", True, 1.0),
        ("p", "handle", r"\b(?:zalo|tele(?:gram)?|inbox|ib)\s*[:.]?\s*@?[a-z0-9_.]{3,}", True, 0.5),
        ("p", "word", r"\bxyz\b", True, 0.5),
        ("p", "raw", r"ABC", False, 0.5),
    ]
)


def _skipped_both(pf: Prefilter, data: bytes) -> tuple[set[int], set[int]]:
    saved = matching._s
    try:
        compiled = pf.skipped_bytes(data)
        matching._s = None
        reference = pf.skipped_bytes(data)
    finally:
        matching._s = saved
    return compiled, reference


@needs_c
@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["0912345678", "zalo: abcd", "xyz", " ", "1", "ib", "@x", "\x0b", "ABC"]), max_size=12))
def test_prefilter_handlers_skip_the_same_patterns(parts: list[str]) -> None:
    pf = Prefilter(_PATTERNS)
    data = " ".join(parts).encode()
    compiled, reference = _skipped_both(pf, data)
    assert compiled == reference
    assert type(compiled) is set


def test_prefilter_without_patterns_skips_nothing() -> None:
    pf = Prefilter([CompiledPattern("p", "v1", True, 1.0, _PATTERNS[0].rx, "")])
    assert pf.skipped_bytes(b"0912345678") == set()


@needs_c
def test_offset_arrays_of_other_shapes_and_types() -> None:
    n = normalise("mày ngủ đi ngu")
    lex = _LEXICONS[0]
    data, split = _s.scan_input(n.text, n.folded)
    flat = lex._scanner.scan_flat(data)
    args = (lex._lengths, lex._ids, lex._n_accented, False, split, n.text, n.folded, data, 9)
    want = _s.lexicon_scan_few(flat, *args, n.starts, n.ends)
    for starts in (n.starts.astype(">i8"), n.starts.astype(np.uint64), n.starts.tolist(), tuple(n.starts.tolist())):
        assert _s.lexicon_scan_few(flat, *args, starts, n.ends) == want
    with pytest.raises(ValueError):
        _s.lexicon_scan_few(flat, *args, np.zeros((len(n.text), 2), dtype=np.int64), n.ends)  # 2-D
    with pytest.raises(ValueError):
        _s.lexicon_scan_few(flat, *args, np.int64(3), n.ends)  # 0-D: shorter than the text
    with pytest.raises(ValueError):
        _s.lexicon_scan_few(flat, *args, n.starts, np.zeros((len(n.text), 1), dtype=np.int64))
