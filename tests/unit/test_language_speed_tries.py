"""The literal tries of the language detectors keep their edges for small code points in a dense table (up to 255
numbered code points) and the rest in a hash table: the lexicon trie of the compiled offensive model
(``_offensive.Engine``) and the cue trie of the target detector (``_targets.CueMatcher``). Both must find what the
references find, with alphabets past the dense table's 255 columns and code points past its range too. The
accusation check's regex-free nominal test (``targets._nominal_before``) must agree with its regex."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import offensive, targets
from moderation.detect.offensive import default_model
from moderation.text.normalise import normalise_term
from tests.unit.test_language_speed_cues import _reference

_ct: Any = targets._c


def _kept_by_fold(lo: int, hi: int) -> list[str]:
    """The code points in [lo, hi) that the lexicon's folding keeps between two letters."""
    out = []
    for c in range(lo, hi):
        folded = normalise_term("a" + chr(c) + "b")[1]
        if folded and chr(c) in folded:
            out.append(chr(c))
    return out


@pytest.fixture(scope="module")
def wide_model() -> offensive.OffensiveModel:
    """The shipped weights with a lexicon of more than 255 distinct small code points after the first character,
    and some past the dense range."""
    base = default_model()
    small = _kept_by_fold(0x21, 0x300)
    assert len(small) > 255
    big = _kept_by_fold(0x370, 0x400)[:20]
    terms = ["x" + ch + "q" for ch in small] + ["y" + ch + ch for ch in big] + ["z" + small[0] + " " + big[0]]
    meta = {**base.meta, "lexicon": terms}
    m = offensive.OffensiveModel(
        {"doc_w": base.doc_w, "doc_b": base.doc_b, "tok_w": base.tok_w, "tok_b": base.tok_b}, meta
    )
    if m._fast is None:
        pytest.skip("compiled path not in use here")
    return m


def _same(a: offensive.OffensiveResult, b: offensive.OffensiveResult) -> bool:
    return (repr(a.score), a.spans, a.flagged, a.segments) == (repr(b.score), b.spans, b.flagged, b.segments)


def test_wide_lexicon_alphabet_gives_the_python_results(wide_model: offensive.OffensiveModel) -> None:
    small = _kept_by_fold(0x21, 0x300)
    big = _kept_by_fold(0x370, 0x400)[:20]
    words = (
        ["x" + ch + "q" for ch in small]
        + ["y" + ch + ch for ch in big]
        + ["x" + ch + "r" for ch in small[:40]]
        + ["z" + small[0] + " " + big[0], "ngu", "chó", "x", "xq", "y"]
    )
    rng = random.Random(7)
    for _ in range(60):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(1, 120)))
        got, want = wide_model._predict_compiled(text), wide_model._predict_python(text)
        assert _same(got, want), text
    hit = wide_model._predict_compiled(" ".join(words))
    assert _same(hit, wide_model._predict_python(" ".join(words)))


_WIDE = [chr(0x100 + k) for k in range(300)]  # more than 255 code points below the matcher's root table
_SPECS: list[tuple[bool, list[str], bool]] = [
    (False, [ch + ch for ch in _WIDE] + ["a" + ch for ch in _WIDE[::7]] + ["中" + _WIDE[3], "a中"], False),
    (True, ["b" + ch + "c" for ch in _WIDE[250:]] + ["bc"], True),
]
_PIECES = st.sampled_from([*_WIDE[::13], *_WIDE[250:260], "a", "b", "c", "中", " ", "1 ", "\n", "\u0301"])
_TEXTS = st.lists(_PIECES, max_size=30).map("".join)


@pytest.mark.skipif(_ct is None, reason="moderation._ext._targets is not built")
@settings(max_examples=400, deadline=None)
@given(_TEXTS, _TEXTS)
def test_cue_matcher_with_a_wide_alphabet_equals_the_alternations(text: str, other: str) -> None:
    matcher = _ct.CueMatcher(_SPECS)
    folded = (other + text)[: len(text)].ljust(len(text))
    starts = np.arange(len(text), dtype=np.int64)
    assert matcher.spans(text, folded, starts, starts + 1) == _reference(text, folded, _SPECS)


_NOMINAL_PIECES = st.sampled_from(
    [*targets._NOMINAL_WORDS, " ", "  ", "\n", "\r", "\r\n", "\u2028", "\x85", "x", "toi", "ve", "lua dao", "."]
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_NOMINAL_PIECES, max_size=12).map("".join))
def test_nominal_before_equals_its_regex(before: str) -> None:
    assert targets._nominal_before(before) is (targets._NOMINAL_BEFORE.search(before) is not None)


@pytest.mark.parametrize(
    "before", ["toi ", "toi \n", "toi \n\n", "toi \r\n", "xtoi ", "toi", "phong chong \n", "", "\n", " ", "ve  "]
)
def test_nominal_before_cases(before: str) -> None:
    assert targets._nominal_before(before) is (targets._NOMINAL_BEFORE.search(before) is not None)
