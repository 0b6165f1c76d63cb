"""Lexicon matcher: whole syllables, accent sensitivity, original offsets, both engines agree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect.lexicon import Lexicon, Term, hits_to_signals

TERMS = [
    Term("lon", "lồn"),
    Term("ngu", "ngu"),
    Term("dm", "địt mẹ"),
    Term("ngu-accented", "ngủ", accent_sensitive=True),
    Term("lua-dao", "lừa đảo"),
]


@pytest.mark.parametrize("engine", ["auto", "aho-corasick"])
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("long lanh", [], id="lon-not-inside-long"),
        pytest.param("mày ngu", [("ngu", "ngu")], id="plain"),
        pytest.param("mày NGU", [("ngu", "NGU")], id="case"),
        pytest.param("Đ.M nó", [("dm", "Đ.M")], id="dotted-abbreviation-to-multiword-term"),
        pytest.param("ngu vl", [("ngu", "ngu"), ("lon", "vl")], id="teencode-expansion-hit-on-abbreviation"),
        pytest.param("đi ngủ", [("ngu-accented", "ngủ"), ("ngu", "ngủ")], id="insensitive-term-matches-accented"),
        pytest.param("lua   dao", [("lua-dao", "lua   dao")], id="stripped-and-spaced"),
        pytest.param("ngu\u200bngốc", [], id="zero-width-joins-into-other-word"),
    ],
)
def test_find(engine: str, text: str, expected: list[tuple[str, str]]) -> None:
    lex = Lexicon.compile(TERMS, engine=engine)
    got = [(h.term_id, text[h.start : h.end]) for h in lex.find(text)]
    assert sorted(got) == sorted(expected)


def test_signals_group_by_term() -> None:
    text = "ngu ngu"
    lex = Lexicon.compile(TERMS)
    [signal] = hits_to_signals("body", text, lex.find(text), key="pack")
    assert signal.key == "pack:ngu"
    assert [s.text for s in signal.spans] == ["ngu", "ngu"]


def test_fingerprint_is_stable() -> None:
    assert Lexicon.compile(TERMS).fingerprint == Lexicon.compile(TERMS).fingerprint


def test_many_terms_engines_agree() -> None:
    terms = [Term(f"t{i}", f"từ{i} khóa") for i in range(3000)]
    text = " ".join(f"tu{i} khoa" for i in range(0, 3000, 7))
    a = Lexicon.compile(terms, engine="auto").find(text)
    b = Lexicon.compile(terms, engine="aho-corasick").find(text)
    assert a == b
    assert len(a) == len(range(0, 3000, 7))


@pytest.mark.parametrize(("limit", "expected_ngu"), [(None, 500), (10, 10)])
def test_per_form_limit_bounds_one_term_not_the_others(limit: int | None, expected_ngu: int) -> None:
    text = "ngu " * 500 + "lừa đảo"
    found = Lexicon.compile(TERMS).spans(text, per_form_limit=limit)
    assert sum("ngu" in ids for ids in found.values()) == expected_ngu
    assert any("lua-dao" in ids for ids in found.values())  # padding with one term hides no other


SHARED = [*TERMS, Term("ngu-2", "ngu"), Term("ngu-x", "ngủ", accent_sensitive=True), Term("dm-2", "dm")]
_WORDS = ["ngu", "ngủ", "NGỦ", "lồn", "lon", "long", "đ.m", "dm", "lừa đảo", "vl", "😀", "_", "x", "1", " ", "\u0301"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=80).map(" ".join), st.sampled_from([None, 1, 3]))
def test_vectorised_spans_equal_the_hit_loop(text: str, limit: int | None) -> None:
    # The numpy path (many raw hits) and the per-hit loop (few) give the same dict, in the same order, for
    # accented, folded and shared positions, ASCII and non-ASCII text.
    from moderation.detect import lexicon

    for terms in (SHARED, [t for t in SHARED if t.accent_sensitive], [t for t in SHARED if not t.accent_sensitive]):
        lex = Lexicon.compile(terms)
        saved = lexicon._VECTOR_MIN
        try:
            lexicon._VECTOR_MIN = 10**9
            loop = lex.spans(text, per_form_limit=limit)
            lexicon._VECTOR_MIN = 1
            vectorised = lex.spans(text, per_form_limit=limit)
        finally:
            lexicon._VECTOR_MIN = saved
        assert list(vectorised.items()) == list(loop.items())


def test_flat_scan_equals_the_pair_scan() -> None:
    from moderation.detect.lexicon import LiteralScanner, _AhoCorasickScanner

    patterns = [b"ngu", "ch\u00f3".encode(), b"a"]
    data = "ngu ch\u00f3 a ngu\x00banana".encode()
    for scanner in (LiteralScanner(patterns), _AhoCorasickScanner(patterns)):
        pairs = scanner.scan(data)
        assert scanner.scan_flat(data) == [x for pair in pairs for x in pair]
        pids, ends = scanner.scan_arrays(data)
        assert list(zip(pids.tolist(), ends.tolist(), strict=True)) == pairs
