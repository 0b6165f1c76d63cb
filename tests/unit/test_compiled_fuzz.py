"""Hostile-input fuzzing of the compiled modules (``moderation/_ext/_offensive``, ``_normalise``, ``_targets``).

They are compiled with ``boundscheck=False, wraparound=False``: an index past a buffer is a silent memory error, not
an exception. These tests drive them with what the internet sends (every string kind, astral characters, lone
surrogates, combining-mark floods, NULs, words longer than any buffer, megabyte texts, more distinct words than the
offensive model's tables hold) and compare every result with the pure-Python reference; they also check that
repeated calls do not leak and that misuse (arrays shorter than the text, objects used before their setup) raises
instead of reading out of bounds. Regression cases for the bugs found are at the end.
"""

from __future__ import annotations

import gc
import itertools
import random
import resource
import tracemalloc

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from moderation.detect import offensive, targets
from moderation.detect.offensive import OffensiveResult, default_model
from moderation.text.normalise import Normalised, normalise

from .test_normalise_compiled import assert_same as _same_normalised
from .test_targets_compiled import _same_targets

_model = default_model()
needs_offensive = pytest.mark.skipif(_model._fast is None, reason="compiled offensive path not in use here")
needs_normalise = pytest.mark.skipif(N._compiled() is None, reason="moderation._ext._normalise is not built")
needs_targets = pytest.mark.skipif(targets._c is None, reason="moderation._ext._targets is not built")

_SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _same_offensive(text: str | Normalised) -> OffensiveResult:
    want = _model._predict_python(text)
    got = _model._predict_compiled(text)
    # repr of the float: the same bits
    assert (repr(got.score), got.spans, got.flagged, got.segments) == (
        repr(want.score),
        want.spans,
        want.flagged,
        want.segments,
    ), (text if isinstance(text, str) else text.text)[:300]
    return got


# ---------------------------------------------------------------------------------------------------------------
# Hostile text

_LEXICON = list(_model.meta.get("lexicon", []))[:80] or ["ngu", "chó"]
_PIECES = [
    "a", "đ", "ư", "ngu", "chó", "mày", "thằng", "vcl", "dm", "ko", "ch0ng", "ph4", "nguuuuu", "hoà", "thuỷ",
    "Nguyễn", "@tuan", "ABC", "UBND", "ﬁ", "ß", "İ", "Ǆ", "ΣΑΣ", "٣", "²", "Ⅻ", "ｎｇｕ", "😀", "𝐀𝐁", "𐍈", "\U0010ffff",
    "\U000e0001",
    "\ud800", "\udfff", "\ud83d", "\u0301", "\u0300\u0301\u0302\u0303\u0309", "\u200b", "\u202e", "\ufeff", "\x00",
    "\x1f", "\x7f", "\x85", "\u3000", "\ufffd", "\uffff", "_", "0", "1", "3", "4", "7", "@",
]  # fmt: skip
_SEPS = ["", " ", "  ", "\n", "\t", ".", "!", "?", ";", ":", ",", "_", "-", "\u0301", ". "]
_EVERY = st.characters(codec=None, exclude_categories=())  # every code point, lone surrogates included


def _kind_mix(parts: list[tuple[str, str]]) -> str:
    return "".join(a + b for a, b in parts)


_WORDY = st.lists(st.tuples(st.sampled_from(_PIECES + _LEXICON), st.sampled_from(_SEPS)), max_size=40).map(_kind_mix)
_FLOOD = st.builds(
    lambda base, mark, k, tail: base + mark * k + tail,
    st.sampled_from(["a", "ngu", "đ", "😀", "", " ", "\ud800"]),
    st.sampled_from(["\u0301", "\u0323", "\u0300\u0301", "\u20dd", "\U0001d167"]),
    st.integers(1, 400),
    st.sampled_from(["", " chó", " mày ngu", "x"]),
)
_LONG_WORD = st.builds(
    lambda ch, k, around: around + ch * k + around,
    st.sampled_from(["x", "đ", "á", "😀", "𝐀", "a\u0301", "ngu", "_"]),
    st.integers(100, 700),
    st.sampled_from(["", " ngu ", " "]),
)
HOSTILE = st.one_of(
    st.text(_EVERY, max_size=80),
    _WORDY,
    _WORDY.map(str.upper),
    _FLOOD,
    _LONG_WORD,
    st.text(st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=10),
    st.text(st.characters(min_codepoint=0x10000, max_codepoint=0x10FFFF), max_size=30),
)


@needs_normalise
@settings(_SLOW, max_examples=250)
@given(HOSTILE)
def test_normalise_hostile_text_equals_the_python_path(text: str) -> None:
    _same_normalised(text)


@needs_offensive
@settings(_SLOW, max_examples=250)
@given(HOSTILE)
def test_offensive_hostile_text_equals_the_python_path(text: str) -> None:
    _same_offensive(text)


@needs_targets
@settings(_SLOW, max_examples=150)
@given(HOSTILE)
def test_targets_hostile_text_equals_the_python_path(text: str) -> None:
    _same_targets(text)


@needs_offensive
@settings(_SLOW, max_examples=25)
@given(
    st.lists(st.tuples(st.sampled_from(_PIECES + _LEXICON), st.sampled_from(_SEPS[1:])), min_size=1, max_size=12),
    st.integers(10, 700),
)
def test_offensive_long_segmented_text_equals_the_python_path(parts: list[tuple[str, str]], repeat: int) -> None:
    # more than SEGMENT_TOKENS tokens, and often more than MAX_SEGMENTS segments (choose_segments)
    _same_offensive(_kind_mix(parts) * repeat)


@needs_offensive
@needs_normalise
@pytest.mark.parametrize(
    "unit",
    [
        "thằng chó ngu vl đm mày. ",
        "😀 ngu\u0301\u0301\u0301\u0301 \ud800 chó ",
        "x" * 200 + " ",
        "a\u0301" * 1000 + " ngu ",
    ],
    ids=["words", "astral-surrogate-marks", "long-words", "mark-flood"],
)
def test_megabyte_text_equals_the_python_path(unit: str) -> None:
    text = unit * (2**20 // len(unit) + 1)
    assert len(text) >= 2**20
    n = normalise(text)
    with_python = N._c
    N._c = None
    try:
        ref = N._normalise(text)
    finally:
        N._c = with_python
    assert (n.text, n.folded, n.starts.tolist(), n.ends.tolist()) == (
        ref.text,
        ref.folded,
        ref.starts.tolist(),
        ref.ends.tolist(),
    )
    _same_offensive(n)


# ---------------------------------------------------------------------------------------------------------------
# The offensive engine's tables past their bounds


@needs_offensive
def test_offensive_tables_reset_past_their_bounds_and_results_stay_equal() -> None:
    engine = _model._fast
    vocab = ("".join(p) for p in itertools.product("abcdeghiklmnopqrstuvxyđêôơư", repeat=5))  # 14M distinct words

    def distinct_words(k: int) -> str:
        return " ".join(itertools.islice(vocab, k))

    lex = " ".join(_LEXICON[:6])
    seen_max = 0
    reset_at = None
    for i in range(400):  # 3,800 new words, bigrams and trigrams a text: past 2**20 of each within ~280 texts
        text = distinct_words(1900) + ". " + lex + " " + distinct_words(1900)
        _model._predict_compiled(text)
        words, pairs, tris = engine.stats()
        if words < seen_max:
            reset_at = i
            # the text that crossed the bound, and texts after the reset, equal the Python path
            _same_offensive(text)
            for _ in range(3):
                _same_offensive(distinct_words(300) + " " + lex + ". " + distinct_words(100))
            break
        seen_max = max(seen_max, words)
        assert words <= offensive._VOCAB_MAX
        assert pairs <= offensive._PAIRS_MAX
        assert tris <= offensive._PAIRS_MAX
    assert reset_at is not None, "the tables never reset"
    for text in ("thằng chó ngu vl", "Hôm nay trời đẹp " + lex, distinct_words(2) + " ngu"):
        _same_offensive(text)


# ---------------------------------------------------------------------------------------------------------------
# Leaks


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() // 1024


@needs_offensive
@needs_normalise
@needs_targets
def test_repeated_calls_do_not_leak() -> None:
    rng = random.Random(7)
    texts = [
        "".join(rng.choice(_PIECES) + rng.choice(_SEPS) for _ in range(rng.randrange(1, 60))) for _ in range(200)
    ] + ["ngu " * 2000, "a\u0301" * 3000, "😀\ud800 " * 500]

    def run() -> None:
        for t in texts:
            n = N._normalise(t)  # not the lru-cached normalise: every call does the work
            _model._predict_compiled(n)
            targets._find_targets_c(n)
            N._fold_fast(t)

    for _ in range(3):  # warm-up: lazily filled class tables, the engine's words and scratch buffers
        run()
    gc.collect()
    tracemalloc.start()
    rss0 = _rss_kib()
    before = tracemalloc.take_snapshot()
    for _ in range(10):  # 2,030 texts through all three modules
        run()
    gc.collect()
    after = tracemalloc.take_snapshot()
    rss1 = _rss_kib()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert grown < 256 * 1024, f"Python heap grew by {grown} bytes"
    # C allocations (malloc/PyMem) are invisible to tracemalloc: RSS must not grow either
    assert rss1 - rss0 < 8 * 1024, f"RSS grew by {rss1 - rss0} KiB"


# ---------------------------------------------------------------------------------------------------------------
# Regressions: misuse that read or wrote out of bounds (or dereferenced NULL) and now raises


@needs_offensive
def test_offensive_engine_rejects_offset_maps_shorter_than_the_text() -> None:
    # read starts/ends past their end (silent heap over-read; IndexError in a bounds-checked build)
    text = "ngu chó " * 3 + "mày"
    short = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError):
        _model._fast.predict(text, text, short, short + 1)
    with pytest.raises(ValueError):  # a folded form longer than the maps
        _model._fast.predict("ngu", "ngu chó", np.arange(3, dtype=np.int64), np.arange(1, 4, dtype=np.int64))
    full = np.arange(len(text), dtype=np.int64)
    assert _model._fast.predict(text, text, full, full + 1)[0] >= 0.0


@needs_offensive
def test_offensive_engine_before_init_raises() -> None:
    # the tables and word_chars are NULL before __init__: predict and word_columns segfaulted
    engine = type(_model._fast).__new__(type(_model._fast))
    ar = np.arange(2, dtype=np.int64)
    with pytest.raises(RuntimeError):
        engine.predict("ab", "ab", ar, ar + 1)
    with pytest.raises(RuntimeError):
        engine.word_columns("ab")


@needs_normalise
def test_to_original_rejects_a_negative_length() -> None:
    # read ends[n - 1] with n < 0: before the array
    ar = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError):
        N._c.to_original(ar, ar, -5, 0, 0)
    assert N._c.to_original(ar, ar + 1, 3, 0, 0) == (0, 0)


def test_normalise_stages_before_setup_raise() -> None:
    # a stage called before setup() read the NULL class tables: a segfault. In a subprocess: this process is set up.
    import subprocess
    import sys

    code = (
        "from moderation._ext import _normalise as c\n"
        "import numpy as np\n"
        "a = np.zeros(2, dtype=np.int64)\n"
        "calls = [lambda: c.has_invisible('ab'), lambda: c.lower_bmp('AB'), lambda: c.delete_invisible('ab', a, a),\n"
        "         lambda: c.collapse_repeats('aaa', np.zeros(3, dtype=np.int64), np.zeros(3, dtype=np.int64)),\n"
        "         lambda: c.spaced_candidates('a b'), lambda: c.leet_long('ab'),\n"
        "         lambda: c.drop_mark_floods('ab', a, a), lambda: c.suspicious_tokens('ab'),\n"
        "         lambda: c.collapse_spaces('ab', a, a), lambda: c.teencode_hits('ab', 2, [], [])]\n"
        "for f in calls:\n"
        "    try:\n"
        "        f()\n"
        "    except RuntimeError:\n"
        "        pass\n"
        "    else:\n"
        "        raise SystemExit('no error')\n"
        "print('ok')\n"
    )
    pytest.importorskip("moderation._ext._normalise")
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"


@needs_targets
def test_cue_matcher_rejects_offset_maps_shorter_than_the_text() -> None:
    matcher = targets._c.CueMatcher(
        [(folded, words, name in targets._NO_DIGIT_SPACE) for name, folded, words in targets._cue_specs()]
    )
    text = "xin chao " * 5 + "mày ngu"
    short = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError):
        matcher.spans(text, text, short, short + 1)
    full = np.arange(len(text), dtype=np.int64)
    assert any(matcher.spans(text, text, full, full + 1))
    with pytest.raises(RuntimeError):  # a second __init__ leaked the first one's arrays
        matcher.__init__([])


@needs_offensive
def test_offensive_engine_rejects_weights_shorter_than_the_mask() -> None:
    # every weight is read at (CRC-32 & mask) without a check: short vectors were read past their end
    m = _model
    args = [
        m.tok_w,
        m.doc_w,
        m.mask,
        m.features >= 2,
        m.tok_b,
        m.doc_b,
        m.threshold,
        m.token_threshold,
        m.meta.get("combine") == "mean",
        m._lex_w,
        0.0,
        0.0,
        0.0,
        offensive._word_chars(),
        offensive._fold_fast,
        offensive._lexicon_forms(m.meta.get("lexicon", [])),
        offensive.choose_segments,
    ]
    engine_cls = type(m._fast)
    assert engine_cls(*args).stats()[0] == 2  # <s> and </s>
    for k in (0, 1):
        short = list(args)
        short[k] = np.asarray(args[k])[:16]
        with pytest.raises(ValueError):
            engine_cls(*short)


@needs_normalise
def test_teencode_hits_rejects_matches_outside_the_keys_or_the_text() -> None:
    # the list indexing (boundscheck=False) and before[to] were unchecked: a bad pair read out of bounds
    c = N._c
    text = "ko biết đâu"
    size = len(text.encode("utf-8"))
    keys = ["ko"]
    assert c.teencode_hits(text, size, [0, 3], keys) == [(0, 2, 0)]
    for flat in ([0], [1, 3], [-1, 3], [0, 0], [0, size + 1], [0, -4]):
        with pytest.raises(ValueError):
            c.teencode_hits(text, size, flat, keys)
    with pytest.raises(ValueError):
        c.teencode_hits(text, -1, [], keys)
