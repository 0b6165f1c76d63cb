"""Offensive and insulting language: a score for the whole text and the spans of the offensive words.

Two linear models over hashed features of the normalised text (accented and diacritic-free word n-grams, character
trigrams, and a derived profanity lexicon): a document model for "contains offensive language" and a token tagger
(logistic regression over a window of neighbouring words) for the spans. They are trained by
``moderation train offensive`` (:mod:`moderation.detect.offensive_train`, which needs scikit-learn) and shipped as
``data/offensive/model.npz`` + ``model.json``; inference here needs only numpy. See ``docs/offensive-model.md``.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import io
import itertools
import json
import math
import re
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moderation.detect import model_choice
from moderation.detect import targets as _targets
from moderation.detect.lexicon import Lexicon, LiteralScanner, Term
from moderation.detect.targets import _FAST_SIGNAL, _FAST_SPAN, _HAS_MAKE, _SIGNAL_FIELDS, _plain_init
from moderation.detect.targets import _c as _ct
from moderation.domain import Signal, Span
from moderation.text.normalise import Normalised, _codes, _fold_fast, normalise, normalise_term

_hs: Any
try:  # pragma: no cover - depends on the platform
    import hyperscan as _hs
except ImportError:  # pragma: no cover
    _hs = None

_c: Any
try:  # pragma: no cover - depends on the build
    from moderation._ext import _offensive as _c
except ImportError:  # pragma: no cover
    _c = None

__all__ = [
    "DETECTOR",
    "SHIPPED_NPZ_SHA256",
    "OffensiveModel",
    "OffensiveResult",
    "default_model",
    "doc_features",
    "offensive_signals",
    "score_offensive",
    "token_features",
    "tokenise",
]

DETECTOR = "offensive/2"
# The SHA-256 of the shipped default model.npz: those weights alone are ``offensive/2``. A model retrained into the
# default directory whose bytes differ is named by its hash like any other (tests/unit/test_offensive_model_choice.py
# ties this to the committed file: a new default model must update it).
SHIPPED_NPZ_SHA256 = "2c8dff9609b4530c188cb3408b3c66d29bc9d051af945bed09c4f327e0d76a68"
MODEL_DIR = Path(str(resources.files("moderation.detect").joinpath("data", "offensive")))
_TOKEN = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?;:\n]")
# The model was trained on social-media comments (median 36 characters); a longer text is scored by segments of
# whole sentences of at most this many tokens, and its score is the highest segment's.
SEGMENT_TOKENS = 80
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class OffensiveResult:
    """``score`` in [0, 1]; ``spans`` are (start, end) in ORIGINAL offsets of the offensive words."""

    score: float
    spans: tuple[tuple[int, int], ...]
    flagged: bool  # score at or above the model's decision threshold (chosen on the dev split)
    segments: tuple[int, int] = (1, 1)  # segments scored, of the text's segments (see choose_segments)


_RESULT_FIELDS = ("score", "spans", "flagged", "segments")
# The compiled target loops make the result (and the signal) objects by filling their slots (``_targets.make``): a
# frozen dataclass's ``__init__`` stores each field through ``object.__setattr__``, which costs more here than
# scoring a comment's tokens.
_FAST_RESULT = _HAS_MAKE and _plain_init(OffensiveResult, _RESULT_FIELDS)
_FAST_MAKE_SIGNAL = _FAST_SIGNAL and _HAS_MAKE


def _result(score: float, spans: tuple[tuple[int, int], ...], flagged: bool, segs: tuple[int, int]) -> OffensiveResult:
    """``OffensiveResult(score, spans, flagged, segs)``."""
    if _FAST_RESULT:
        return _ct.make(OffensiveResult, _RESULT_FIELDS, (score, spans, flagged, segs))  # type: ignore[no-any-return]
    return OffensiveResult(score, spans, flagged, segs)


def tokenise(n: Normalised) -> list[tuple[int, int]]:
    """Return the word tokens of ``n.text`` as (start, end) offsets into the normalised text."""
    return [m.span() for m in _TOKEN.finditer(n.text)]


def _h(feature: str, mask: int) -> int:
    return zlib.crc32(feature.encode("utf-8", errors="surrogatepass")) & mask


def _crcs(strings: Sequence[str], prefix: bytes = b"") -> npt.NDArray[np.int64]:
    """``zlib.crc32`` of ``prefix`` + each string's UTF-8 (``_h`` without the mask), in C loops: the strings are
    encoded as one (joined by NUL, which no word holds) and split, and the prefix's CRC is the start value (CRC32
    of a concatenation continues from the CRC of its first part)."""
    parts = "\x00".join(strings).encode("utf-8", errors="surrogatepass").split(b"\x00")
    if len(parts) != len(strings):  # a string holds NUL (or there are none): encode one by one
        parts = [s.encode("utf-8", errors="surrogatepass") for s in strings]
    start = zlib.crc32(prefix)
    return np.fromiter(map(zlib.crc32, parts, itertools.repeat(start, len(parts))), dtype=np.int64, count=len(parts))


def token_features(
    words: Sequence[str], folded: Sequence[str], lex: Sequence[bool], version: int = 1
) -> list[list[str]]:
    """Return the feature strings of each token (a window of two words each side, lexicon flags, trigrams).

    Version 2 adds what survives when a writer drops the diacritics: the folded word trigram around the token and
    the folded character 4-grams of the word.
    """
    n = len(words)
    out: list[list[str]] = []
    for i in range(n):
        f = folded[i]
        prev_f = folded[i - 1] if i else "<s>"
        next_f = folded[i + 1] if i + 1 < n else "</s>"
        feats = [
            "w:" + words[i],
            "f:" + f,
            "f-1:" + prev_f,
            "f+1:" + next_f,
            "f-2:" + (folded[i - 2] if i > 1 else "<s>"),
            "f+2:" + (folded[i + 2] if i + 2 < n else "</s>"),
            "w-1:" + (words[i - 1] if i else "<s>"),
            "w+1:" + (words[i + 1] if i + 1 < n else "</s>"),
            "b-:" + prev_f + "_" + f,
            "b+:" + f + "_" + next_f,
            "len:" + str(min(len(f), 8)),
        ]
        if lex[i]:
            feats.append("lex")
            feats.append("lexw:" + f)
        if i and lex[i - 1]:
            feats.append("lex-1")
        if i + 1 < n and lex[i + 1]:
            feats.append("lex+1")
        padded = "<" + f + ">"
        feats.extend("c:" + padded[k : k + 3] for k in range(len(padded) - 2))
        if version >= 2:
            feats.append("t:" + prev_f + "_" + f + "_" + next_f)
            feats.extend("c4:" + padded[k : k + 4] for k in range(len(padded) - 3))
        out.append(feats)
    return out


def doc_features(words: Sequence[str], folded: Sequence[str], lex: Sequence[bool], version: int = 1) -> list[str]:
    """Return the feature strings of a whole text (word unigrams and bigrams, lexicon counts, char trigrams).

    The same in feature versions 1 and 2 (``version`` is accepted for symmetry with :func:`token_features`):
    character 4- and 5-grams of the diacritic-free form were tried for version 2 and lost dev F1.
    """
    del version
    feats = ["W:" + w for w in words]
    feats.extend("F:" + f for f in folded)
    feats.extend("B:" + a + "_" + b for a, b in itertools.pairwise(folded))
    hits = sum(lex)
    feats.append("LEX:" + str(min(hits, 3)))
    feats.extend("LEXW:" + f for f, hit in zip(folded, lex, strict=True) if hit)
    feats.extend("C:" + g for f in folded for g in _grams("<" + f + ">", 3))
    return feats


def _grams(s: str, n: int) -> Iterable[str]:
    return (s[k : k + n] for k in range(len(s) - n + 1))


def lexicon_mask(lexicon: Lexicon | None, n: Normalised, tokens: Sequence[tuple[int, int]]) -> list[bool]:
    """Flag the tokens covered by a lexicon hit."""
    if not tokens:
        return []
    first = np.fromiter((a for a, _ in tokens), dtype=np.int64, count=len(tokens))
    last = np.fromiter((b for _, b in tokens), dtype=np.int64, count=len(tokens))
    return [bool(x) for x in _lex_mask(lexicon, n, first, last)]


def _lex_mask(
    lexicon: Lexicon | None, n: Normalised, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]
) -> npt.NDArray[np.bool_]:
    """Flag the tokens ``[starts[i], ends[i])`` (normalised offsets, never empty) that overlap a lexicon hit.

    O((tokens + hits) log hits), so a text full of hits costs no more per token than a clean one.
    """
    mask = np.zeros(len(starts), dtype=bool)
    if lexicon is None or not len(starts):
        return mask
    hits = lexicon.find(n)
    if not hits:
        return mask
    h_lo = np.fromiter((h.start for h in hits), dtype=np.int64, count=len(hits))
    h_hi = np.fromiter((h.end for h in hits), dtype=np.int64, count=len(hits))
    return _overlapping(n, starts, ends, h_lo, h_hi)


# Texts up to this long that have at most SEGMENT_TOKENS tokens are scored with Python lists (_predict_short).
_SHORT_CHARS = 1024


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _overlapping_short(n: Normalised, tokens: Sequence[tuple[int, int]], hits: Sequence[tuple[int, int]]) -> list[bool]:
    """:func:`_overlapping` over lists (short texts): the same comparisons in original offsets."""
    order = sorted(hits, key=lambda h: h[0])  # stable, as argsort(kind="stable")
    h_lo = [h[0] for h in order]
    reach = list(itertools.accumulate((h[1] for h in order), max))
    starts, ends = n.starts, n.ends
    out = []
    for a, b in tokens:
        lo = int(starts[a])
        hi = max(lo, int(ends[b - 1]))
        before = bisect.bisect_left(h_lo, hi)
        out.append(before > 0 and reach[before - 1] > lo)
    return out


def _overlapping(
    n: Normalised,
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    h_lo: npt.NDArray[np.int64],
    h_hi: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """Flag the tokens ``[starts[i], ends[i])`` (normalised offsets) that overlap one of the hits ``[h_lo[k],
    h_hi[k])`` (original offsets), comparing in original offsets."""
    mask = np.zeros(len(starts), dtype=bool)
    lo = n.starts[starts]
    hi = np.maximum(lo, n.ends[ends - 1])
    # Overlap (lo < hit.end and hit.start < hi): among the hits starting before ``hi``, the furthest end is > lo.
    order = np.argsort(h_lo, kind="stable")
    reach = np.maximum.accumulate(h_hi[order])
    before = np.searchsorted(h_lo[order], hi, side="left")
    has = before > 0
    mask[has] = reach[before[has] - 1] > lo[has]
    return mask


@dataclass(frozen=True, slots=True)
class _Prepared:
    n: Normalised
    tokens: list[tuple[int, int]]
    words: list[str]
    folded: list[str]
    lex: list[bool]


def prepare(text: str | Normalised, lexicon: Lexicon | None) -> _Prepared:
    """Normalise and tokenise ``text`` the way both training and inference see it."""
    n = normalise(text) if isinstance(text, str) else text
    tokens = tokenise(n)
    words = [n.text[a:b] for a, b in tokens]
    folded = [n.folded[a:b] for a, b in tokens]
    return _Prepared(n, tokens, words, folded, lexicon_mask(lexicon, n, tokens))


def merge_spans(n: Normalised, tokens: Sequence[tuple[int, int]], positive: Sequence[bool]) -> list[tuple[int, int]]:
    """Join runs of positive tokens separated only by spaces and map them to original offsets."""
    idx = np.flatnonzero(np.asarray(positive, dtype=bool)) if len(positive) else np.zeros(0, dtype=np.int64)
    return _merge(n, [tokens[i] for i in idx.tolist()], idx.tolist())


def _merge(n: Normalised, spans_of: Sequence[tuple[int, int]], index: Sequence[int]) -> list[tuple[int, int]]:
    """:func:`merge_spans` over the positive tokens only (``index`` their token numbers, ``spans_of`` their spans)."""
    spans: list[tuple[int, int]] = []
    prev = -2
    for (a, b), i in zip(spans_of, index, strict=True):
        if spans and i == prev + 1 and n.text[spans[-1][1] : a].strip() == "":
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
        prev = i
    out: list[tuple[int, int]] = []
    for a, b in spans:
        lo, hi = n.to_original(a, b)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        elif hi > lo:
            out.append((lo, hi))
    return out


def _pack(starts: Sequence[int], n: int, max_tokens: int) -> list[tuple[int, int]]:
    """Cut ``n`` tokens into runs of whole sentences (``starts``: sorted sentence starts, 0 first, ``n`` last) of at
    most ``max_tokens``: each run ends at the last sentence start within reach, or is cut at ``max_tokens``."""
    if n <= max_tokens:
        return [(0, n)]
    arr = np.asarray(starts, dtype=np.int64)
    out: list[tuple[int, int]] = []
    lo = 0
    while lo < n:
        j = int(np.searchsorted(arr, lo + max_tokens, side="right")) - 1
        cut = int(arr[j]) if j >= 0 and arr[j] > lo else lo + max_tokens
        out.append((lo, min(cut, n)))
        lo = cut
    return out


def _sentence_starts(text: str, t_start: npt.NDArray[np.int64], t_end: npt.NDArray[np.int64]) -> list[int]:
    """Token numbers that start a sentence (the gap before them holds ``.!?;:`` or a line break), with 0 and n."""
    n = len(t_start)
    if n < 2:
        return [0, n]
    # A gap holds a sentence end when fewer of them lie before its start than before its end.
    at = np.fromiter((m.start() for m in _SENTENCE_END.finditer(text)), dtype=np.int64)
    gap = np.searchsorted(at, t_start[1:], side="left") > np.searchsorted(at, t_end[:-1], side="left")
    return [0, *(np.flatnonzero(gap) + 1).tolist(), n]


def segments(p: _Prepared, max_tokens: int = SEGMENT_TOKENS) -> list[tuple[int, int]]:
    """Split the tokens into runs of whole sentences of at most ``max_tokens`` (a long sentence is cut)."""
    n = len(p.tokens)
    if n <= max_tokens:
        return [(0, n)]
    t = np.asarray(p.tokens, dtype=np.int64)
    return _pack(_sentence_starts(p.n.text, t[:, 0], t[:, 1]), n, max_tokens)


@functools.cache
def _word_chars() -> npt.NDArray[np.bool_]:
    r"""``\w`` (as :data:`_TOKEN` sees it) for every code point, so texts are tokenised with numpy."""
    table = np.zeros(0x110000, dtype=bool)
    # Every code point in order, lone surrogates included: decoded from UTF-32 in one call (a join of 1.1 million
    # one-character strings took about 110 ms of start-up).
    every = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", "surrogatepass")
    for m in _TOKEN.finditer(every):
        table[m.start() : m.end()] = True
    return table


def token_spans(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    r"""The (start, end) offsets of the ``\w+`` tokens of ``text`` as two arrays (the spans of :func:`tokenise`)."""
    if not text:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return _spans_of(_word_chars()[_codes(text)])


def _spans_of(w: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(start, end) of the runs of True in ``w`` (not empty)."""
    edge = np.empty(len(w) + 1, dtype=bool)
    edge[0], edge[-1] = w[0], w[-1]
    np.not_equal(w[1:], w[:-1], out=edge[1:-1])
    at = np.flatnonzero(edge)  # alternately a token's start and its end
    return at[0::2], at[1::2]


@dataclass(frozen=True, slots=True)
class _Tokens:
    r"""The ``\w+`` tokens of a text: the words (``_TOKEN.findall``), their spans (:func:`token_spans`) and the
    text's code points, from one pass over them."""

    words: list[str]
    start: npt.NDArray[np.int64]
    end: npt.NDArray[np.int64]
    codes: npt.NDArray[np.uint32]
    word: npt.NDArray[np.bool_]  # per character: a word character

    @classmethod
    def of(cls, text: str) -> _Tokens:
        codes = _codes(text)
        if not len(codes):
            return cls([], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), codes, np.zeros(0, dtype=bool))
        w = _word_chars()[codes]
        # Every other character becomes a space, so str.split cuts exactly between the tokens.
        spaced = np.where(w, codes, np.uint32(32)).tobytes().decode("utf-32-le", errors="surrogatepass")
        start, end = _spans_of(w)
        return cls(spaced.split(), start, end, codes, w)


# Columns of the per-word weight table: the token-model weight of the word's own features (without and with the
# lexicon flag), the document-model ones, and what the word adds to its neighbours' token features.
# _M1 is _FM1 + _WM1, summed once per word (the logit adds them first, so the sum is the same float).
_T_SELF, _T_LEX, _D_SELF, _D_LEX, _FM1, _FP1, _FM2, _FP2, _WM1, _WP1, _M1 = range(11)
_ID_BITS = 20
_VOCAB_MAX = (1 << _ID_BITS) - 1
_PAIRS_MAX = 1 << 20
# Long texts: at most this many segments are scored per text (see docs/offensive-model.md, "Long texts").
MAX_SEGMENTS = 48
# A "word" longer than this is not one (a URL, a blob, a flood): the model sees its first MAX_WORD_CHARS characters.
MAX_WORD_CHARS = 128
SAMPLED_SEGMENTS = 12


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


class _RowCache:
    """Key -> table row of recently seen bigram (trigram) keys, in numpy arrays in front of the dict that holds
    every key: direct-mapped (each key has one slot, a newer key takes it), so a text whose bigrams were seen
    before is looked up with a few gathers instead of one dict lookup per token."""

    # 2**20 slots (12 MB: int64 keys, int32 rows < _PAIRS_MAX): real posts bring ~1,000 new bigrams each, and
    # with 2**16 slots most of a warm text's keys had been pushed out (60% misses on ViHOS posts, 7% now).
    BITS = 20

    def __init__(self) -> None:
        self.keys = np.full(1 << self.BITS, -1, dtype=np.int64)
        self.rows = np.zeros(1 << self.BITS, dtype=np.int32)

    def lookup(
        self, keys: npt.NDArray[np.int64], table: dict[int, int], add: Callable[[list[int]], None]
    ) -> npt.NDArray[np.int32]:
        """The rows of ``keys`` (non-negative) in ``table``; ``add`` puts new keys (distinct) into it."""
        keys = np.ascontiguousarray(keys, dtype=np.int64)
        slot = ((keys.view(np.uint64) * _GOLDEN) >> np.uint64(64 - self.BITS)).astype(np.intp)
        seen = self.keys[slot] == keys
        rows = self.rows[slot]
        if seen.all():
            return rows
        miss = np.flatnonzero(~seen)
        wanted = keys[miss].tolist()
        got = list(map(table.get, wanted))
        if None in got:
            add(list(dict.fromkeys(k for k, r in zip(wanted, got, strict=True) if r is None)))
            got = list(map(table.get, wanted))
        found = np.asarray(got, dtype=np.int64)
        rows[miss] = found
        self.keys[slot[miss]] = keys[miss]
        self.rows[slot[miss]] = found
        return rows


class _Weights:
    """Per-word, per-bigram and per-trigram weight sums of a model, kept across texts (words repeat).

    Words get integer ids; a text becomes an array of ids padded with ``<s>``/``</s>``, and each token's logit is
    a handful of numpy gathers over it. Only a word, bigram or trigram never seen before costs Python work (the
    CRC32 of its feature strings). The tables are dropped and rebuilt when they grow past their bounds.
    """

    def __init__(self, model: OffensiveModel) -> None:
        self.m = model
        self.lex_prev = float(model.tok_w[_h("lex-1", model.mask)])
        self.lex_next = float(model.tok_w[_h("lex+1", model.mask)])
        self.reset()

    def reset(self) -> None:
        self.ids: dict[str, int] = {}
        self.folds: list[str] = []
        # The rows of cols, pair_w and tri_w as Python floats, for short texts (see linear_short).
        self.py_cols: list[list[float]] = []
        self.py_pairs: list[list[float]] = []
        self.py_tris: list[float] = []
        self.cols = np.zeros((1024, 11), dtype=np.float64)
        self.pairs: dict[int, int] = {}
        self.pair_w = np.zeros((1024, 3), dtype=np.float64)
        self.tris: dict[int, int] = {}
        self.tri_w = np.zeros(1024, dtype=np.float64)
        self.pair_rows = _RowCache()
        self.tri_rows = _RowCache()
        self.S = self._add_words(["<s>"], ["<s>"])[0]
        self.E = self._add_words(["</s>"], ["</s>"])[0]

    def room(self, words: int) -> None:
        """Make sure ``words`` new words (and their bigrams and trigrams) fit; clear the tables if not."""
        if (
            len(self.ids) + words > _VOCAB_MAX
            or len(self.pairs) + words > _PAIRS_MAX
            or len(self.tris) + words > _PAIRS_MAX
        ):
            self.reset()

    def _sum(self, w: FloatArray, feats: list[str], groups: list[int]) -> npt.NDArray[np.float64]:
        """Sum the weights of consecutive groups of ``feats`` (``groups`` their sizes)."""
        vals = w[_crcs(feats) & self.m.mask].astype(np.float64)
        bounds = np.concatenate(([0], np.cumsum(groups)))
        sums = np.add.reduceat(vals, bounds[:-1]) if len(vals) else np.zeros(len(groups))
        sums[np.asarray(groups) == 0] = 0.0
        return sums

    def _add_words(self, words: Sequence[str], folds: Sequence[str]) -> list[int]:
        first = len(self.folds)
        k = len(words)
        while first + k > len(self.cols):
            self.cols = np.concatenate((self.cols, np.zeros_like(self.cols)))
        v2 = self.m.features >= 2
        tok: list[str] = []
        tok_n: list[int] = []
        doc: list[str] = []
        doc_n: list[int] = []
        for w, f in zip(words, folds, strict=True):
            padded = "<" + f + ">"
            tri = [padded[j : j + 3] for j in range(len(padded) - 2)]
            t = ["w:" + w, "f:" + f, "len:" + str(min(len(f), 8)), *("c:" + g for g in tri)]
            if v2:
                t += ["c4:" + padded[j : j + 4] for j in range(len(padded) - 3)]
            d = ["W:" + w, "F:" + f, *("C:" + g for g in tri)]
            tok += t
            tok += ["lex", "lexw:" + f]
            tok += ["f-1:" + f, "f+1:" + f, "f-2:" + f, "f+2:" + f, "w-1:" + w, "w+1:" + w]
            tok_n += [len(t), 2, 1, 1, 1, 1, 1, 1]
            doc += d
            doc.append("LEXW:" + f)
            doc_n += [len(d), 1]
        ts = self._sum(self.m.tok_w, tok, tok_n).reshape(k, 8)
        ds = self._sum(self.m.doc_w, doc, doc_n).reshape(k, 2)
        block = self.cols[first : first + k]
        block[:, [_T_SELF, _T_LEX, _FM1, _FP1, _FM2, _FP2, _WM1, _WP1]] = ts
        block[:, [_D_SELF, _D_LEX]] = ds
        block[:, _M1] = block[:, _FM1] + block[:, _WM1]
        self.py_cols.extend(block.tolist())
        out = list(range(first, first + k))
        for w, f, i in zip(words, folds, out, strict=True):
            self.ids[w] = i
            self.folds.append(f)
        return out

    def word_ids(self, words: Sequence[str]) -> list[int]:
        """Return the ids of ``words`` (normalised word tokens), adding the new ones."""
        if max(map(len, words), default=0) > MAX_WORD_CHARS:
            words = [w[:MAX_WORD_CHARS] for w in words]
        ids = list(map(self.ids.get, words))
        if None in ids:
            new = list(dict.fromkeys(w for w, i in zip(words, ids, strict=True) if i is None))
            self._add_words(new, [_fold_fast(w) for w in new])
            ids = list(map(self.ids.get, words))
        return ids  # type: ignore[return-value]  # every word has an id now

    def pair_weights(self, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        """Return [b-, b+, B] weights of the bigrams (a[i], b[i])."""
        rows = self.pair_rows.lookup((a << _ID_BITS) | b, self.pairs, self._add_pairs)
        return self.pair_w[rows]  # after the lookup: adding pairs may grow the table

    def _add_pairs(self, new: list[int]) -> None:
        first = len(self.pairs)
        while first + len(new) > len(self.pair_w):
            self.pair_w = np.concatenate((self.pair_w, np.zeros_like(self.pair_w)))
        mid = [self.folds[k >> _ID_BITS] + "_" + self.folds[k & _VOCAB_MAX] for k in new]
        # One weight per feature: _sum over groups of one is the weight itself as float64.
        mask, block = self.m.mask, self.pair_w[first : first + len(new)]
        block[:, 0] = self.m.tok_w[_crcs(mid, b"b-:") & mask]
        block[:, 1] = self.m.tok_w[_crcs(mid, b"b+:") & mask]
        block[:, 2] = self.m.doc_w[_crcs(mid, b"B:") & mask]
        self.py_pairs.extend(self.pair_w[first : first + len(new)].tolist())
        for j, k in enumerate(new):
            self.pairs[k] = first + j

    def tri_weights(
        self, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], c: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Return the ``t:`` weights of the trigrams (a[i], b[i], c[i])."""
        keys = (a << (2 * _ID_BITS)) | (b << _ID_BITS) | c
        rows = self.tri_rows.lookup(keys, self.tris, self._add_tris)
        return self.tri_w[rows]  # after the lookup: adding trigrams may grow the table

    def _add_tris(self, new: list[int]) -> None:
        first = len(self.tris)
        while first + len(new) > len(self.tri_w):
            self.tri_w = np.concatenate((self.tri_w, np.zeros_like(self.tri_w)))
        fo = self.folds
        feats = [
            fo[k >> (2 * _ID_BITS)] + "_" + fo[(k >> _ID_BITS) & _VOCAB_MAX] + "_" + fo[k & _VOCAB_MAX] for k in new
        ]
        self.tri_w[first : first + len(new)] = self.m.tok_w[_crcs(feats, b"t:") & self.m.mask]
        self.py_tris.extend(self.tri_w[first : first + len(new)].tolist())
        for j, k in enumerate(new):
            self.tris[k] = first + j

    def _py_rows(self, keys: list[int], table: dict[int, int], add: Callable[[list[int]], None]) -> list[int]:
        rows = list(map(table.get, keys))
        if None in rows:
            add(list(dict.fromkeys(k for k, r in zip(keys, rows, strict=True) if r is None)))
            rows = list(map(table.get, keys))
        return rows  # type: ignore[return-value]  # every key has a row now

    def linear_short(self, words: Sequence[str], lex: Sequence[bool] | None) -> tuple[list[float], float, float, float]:
        """:meth:`linear` of a whole short text (``left = right = 0``) in Python floats, where a numpy call costs
        more than the arithmetic: the token logits, the running sums (as ``np.cumsum``) of the words' and of the
        bigrams' document weights, and the first bigram's document weight. Same operations in the same order as
        :meth:`linear`, so the same floats."""
        self.room(3 * len(words) + 8)
        S, E = self.S, self.E
        x = [S, S, *self.word_ids(words), E, E]
        m = len(words)
        pairs = self.py_pairs
        pw = [
            pairs[r]
            for r in self._py_rows(
                [(x[k + 1] << _ID_BITS) | x[k + 2] for k in range(m + 1)], self.pairs, self._add_pairs
            )
        ]
        tw: list[float] | None = None
        if self.m.features >= 2:
            keys = [(x[k + 1] << (2 * _ID_BITS)) | (x[k + 2] << _ID_BITS) | x[k + 3] for k in range(m)]
            tris = self.py_tris
            tw = [tris[r] for r in self._py_rows(keys, self.tris, self._add_tris)]
        cols = self.py_cols
        c = [cols[k] for k in x]
        lex_prev, lex_next = self.lex_prev, self.lex_next
        zs: list[float] = []
        s_self = s_big = 0.0
        for i in range(m):
            me = c[i + 2]
            if lex is None:
                z = me[_T_SELF]
                d_self = me[_D_SELF]
            else:
                lx = 1.0 if lex[i] else 0.0
                z = me[_T_SELF] + lx * me[_T_LEX]
                d_self = me[_D_SELF] + lx * me[_D_LEX]
            z = z + (c[i + 1][_M1] + c[i + 3][_FP1] + c[i + 3][_WP1])
            z = z + (c[i][_FM2] + c[i + 4][_FP2])
            z = z + (pw[i][0] + pw[i + 1][1])
            if lex is not None:
                lp = 1.0 if i and lex[i - 1] else 0.0
                ln = 1.0 if i + 1 < m and lex[i + 1] else 0.0
                z = z + (lp * lex_prev + ln * lex_next)
            if tw is not None:
                z = z + tw[i]
            zs.append(z)
            d_big = pw[i][2] * (1.0 if x[i + 1] != S else 0.0)
            if i:
                s_self, s_big = s_self + d_self, s_big + d_big
            else:
                s_self, s_big = d_self, d_big
        return zs, s_self, s_big, pw[0][2] * 0.0

    def linear(
        self, words: Sequence[str], lex: npt.NDArray[np.bool_] | None, left: int, right: int
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Token logits (without the intercept), document weights of the words and of the bigram ending at each of
        ``words[left:len - right]``.

        ``words``/``lex`` are a run of the text's tokens with ``left`` (``right``) tokens of context before (after)
        the tokens scored, at most 2; missing context is the start (end) of the text. ``lex`` None: no lexicon hit
        (the terms it would add are all zero, so they are skipped).
        """
        self.room(3 * len(words) + 8)
        x = np.array([self.S] * (2 - left) + self.word_ids(words) + [self.E] * (2 - right), dtype=np.int64)
        m = len(x) - 4  # tokens scored: x[2 : 2 + m]
        c = self.cols[x]
        pw = self.pair_weights(x[1 : m + 2], x[2 : m + 3])  # pw[i]: the pair (x[i + 1], x[i + 2])
        # The same sums, in the same order, as the feature lists' (a lexicon flag of 0 adds exact zeros).
        if lex is None:
            z = c[2 : 2 + m, _T_SELF].copy()
            d_self = c[2 : 2 + m, _D_SELF]
        else:
            lx = np.zeros(len(x), dtype=np.float64)
            lx[2 - left : len(x) - 2 + right] = lex
            lex_me = lx[2 : 2 + m]
            z = c[2 : 2 + m, _T_SELF] + lex_me * c[2 : 2 + m, _T_LEX]
            d_self = c[2 : 2 + m, _D_SELF] + lex_me * c[2 : 2 + m, _D_LEX]
        z += c[1 : 1 + m, _M1] + c[3 : 3 + m, _FP1] + c[3 : 3 + m, _WP1]
        z += c[0:m, _FM2] + c[4 : 4 + m, _FP2]
        z += pw[:m, 0] + pw[1 : m + 1, 1]  # b- of the pair ending here, b+ of the pair starting here
        if lex is not None:
            z += lx[1 : 1 + m] * self.lex_prev + lx[3 : 3 + m] * self.lex_next
        if self.m.features >= 2:
            z += self.tri_weights(x[1 : 1 + m], x[2 : 2 + m], x[3 : 3 + m])
        d_big = pw[:m, 2] * (x[1 : 1 + m] != self.S)
        return z, d_self, d_big


def _lexicon_forms(terms: Sequence[str]) -> list[str]:
    """The distinct folded forms of the lexicon terms that :class:`_LexiconScanner` scans for."""
    return list(dict.fromkeys(f for f in (normalise_term(t)[1] for t in terms) if f and "\x00" not in f))


class _LexiconScanner:
    """The model lexicon's folded forms in one Hyperscan database, scanned over the folded text only.

    :meth:`Lexicon.find` reports the same hits (its folded forms only count in the folded text), but scans the
    accented text too and builds an object per hit; the model needs only where they are.
    """

    def __init__(self, terms: Sequence[str]) -> None:
        forms = _lexicon_forms(terms)
        encoded = [f.encode() for f in forms]
        self.lengths = np.asarray([len(b) for b in encoded], dtype=np.int64)
        self.lengths_list = [len(b) for b in encoded]
        self.scanner = LiteralScanner(encoded) if _hs is not None and encoded else None

    def _scan(self, raw: bytes) -> list[tuple[int, int]]:
        return self.scanner.scan(raw) if self.scanner is not None else []

    def hits_short(self, n: Normalised) -> list[tuple[int, int]]:
        """:meth:`hits` as a list of (start, end), one hit at a time (for short texts, where that is cheaper)."""
        folded = n.folded
        if not folded:
            return []
        raw = folded.encode("utf-8", errors="surrogatepass")
        found = self._scan(raw)
        if not found:
            return []
        same_size, size, lengths = len(raw) == len(folded), len(folded), self.lengths_list
        starts, ends = n.starts, n.ends
        out: list[tuple[int, int]] = []
        for pid, end_b in found:
            start_b = end_b - lengths[pid]
            if same_size:
                start, end = start_b, end_b
            else:  # byte offsets to characters (a form starts and ends on a character boundary)
                start = len(raw[:start_b].decode("utf-8", errors="surrogatepass"))
                end = start + len(raw[start_b:end_b].decode("utf-8", errors="surrogatepass"))
            if (start > 0 and _is_word_char(folded[start - 1])) or (end < size and _is_word_char(folded[end])):
                continue
            lo = int(starts[start])
            out.append((lo, max(lo, int(ends[end - 1]))))
        return out

    def hits(
        self, n: Normalised, word: npt.NDArray[np.bool_] | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
        """(start, end) in original offsets of every whole-syllable occurrence of a form; None when there is none."""
        folded = n.folded
        if not folded:
            return None
        raw = folded.encode("utf-8", errors="surrogatepass")
        found = self._scan(raw)
        if not found:
            return None
        at = np.array(found, dtype=np.int64)
        end = at[:, 1]
        start = end - self.lengths[at[:, 0]]
        if len(raw) != len(folded):  # byte offsets to characters
            char_of = np.cumsum((np.frombuffer(raw, dtype=np.uint8) & 0xC0) != 0x80, dtype=np.int64) - 1
            start, end = char_of[start], char_of[end - 1] + 1
        # Whole syllables: no word character (str.isalnum or "_", as \w) right before or after.
        if word is None:  # folding keeps every character's word status, so the accented text's flags serve too
            word = _word_chars()[_codes(folded)]
        size = len(folded)
        ok = ~((start > 0) & word[np.maximum(start - 1, 0)]) & ~((end < size) & word[np.minimum(end, size - 1)])
        if not ok.any():
            return None
        start, end = start[ok], end[ok]
        lo = n.starts[start]
        return lo, np.maximum(lo, n.ends[end - 1])


class OffensiveModel:
    """The shipped (or a freshly trained) model; load with :meth:`load` and call :meth:`predict`."""

    def __init__(self, weights: dict[str, Any], meta: dict[str, Any], *, detector: str = DETECTOR) -> None:
        self.meta = meta
        self.detector = detector  # what every offensive signal says made it
        self.bits = int(meta["hash_bits"])
        self.mask = (1 << self.bits) - 1
        self.features = int(meta.get("features", 1))
        self.doc_w: FloatArray = np.asarray(weights["doc_w"], dtype=np.float32)
        self.doc_b = float(weights["doc_b"])
        self.tok_w: FloatArray = np.asarray(weights["tok_w"], dtype=np.float32)
        self.tok_b = float(weights["tok_b"])
        self.threshold = float(meta["threshold"])
        self.token_threshold = float(meta["token_threshold"])
        terms = meta.get("lexicon", [])
        self.lexicon = Lexicon.compile(Term(t, t) for t in terms) if terms else None
        self._lex_scan = _LexiconScanner(terms) if terms and _hs is not None else None
        self._lex_arr = np.asarray(
            [float(self.doc_w[_h("LEX:" + str(k), self.mask)]) for k in range(4)], dtype=np.float64
        )
        self._lex_w = (
            float(self.doc_w[_h("LEX:0", self.mask)]),
            float(self.doc_w[_h("LEX:1", self.mask)]),
            float(self.doc_w[_h("LEX:2", self.mask)]),
            float(self.doc_w[_h("LEX:3", self.mask)]),
        )
        self._fast = self._engine()

    @functools.cached_property
    def _weights(self) -> _Weights:
        """The Python path's tables (made on first use: with the compiled path they are never needed)."""
        return _Weights(self)

    def _engine(self) -> Any:
        """The compiled :meth:`predict` (``moderation._ext._offensive``) with this model's weights, or None: not
        built, or no Hyperscan (the lexicon hits then come from :meth:`Lexicon.find`)."""
        if _c is None or self._lex_scan is None:
            return None
        return _c.Engine(
            self.tok_w,
            self.doc_w,
            self.mask,
            self.features >= 2,
            self.tok_b,
            self.doc_b,
            self.threshold,
            self.token_threshold,
            self.meta.get("combine") == "mean",
            self._lex_w,
            float(self.tok_w[_h("lex-1", self.mask)]),  # as _Weights.lex_prev
            float(self.tok_w[_h("lex+1", self.mask)]),  # as _Weights.lex_next
            self.combined_score(_sigmoid(self.doc_b), np.zeros(0, dtype=np.float32)),
            _word_chars(),
            _fold_fast,
            _lexicon_forms(self.meta.get("lexicon", [])),
            choose_segments,
        )

    @classmethod
    def load(cls, directory: str | Path = MODEL_DIR) -> OffensiveModel:
        """Load ``model.npz`` and ``model.json`` from ``directory``.

        The shipped default weights (:data:`SHIPPED_NPZ_SHA256`) say ``offensive/2``; any other model's, a model
        retrained into the default directory included, say ``offensive/2@`` and the first 12 hex digits of its
        ``model.npz``'s SHA-256, so a decision records which weights scored it (hashing 1.5 MB costs about 2 ms)."""
        d = Path(directory)
        meta = json.loads((d / "model.json").read_text(encoding="utf-8"))
        raw = (d / "model.npz").read_bytes()
        with np.load(io.BytesIO(raw), allow_pickle=False) as z:
            weights = {k: z[k] for k in z.files}
        sha = hashlib.sha256(raw).hexdigest()
        if sha == SHIPPED_NPZ_SHA256:
            return cls(weights, meta)
        return cls(weights, meta, detector=f"{DETECTOR}@{sha[:12]}")

    # Scoring sums the weights of the features of :func:`token_features` and :func:`doc_features` without building
    # them: what depends on one word, one bigram or one trigram is summed once and kept in :class:`_Weights`, and a
    # text's logits are numpy gathers over its word ids. Same sums as the feature lists (the unit tests check).

    def _linear(self, p: _Prepared) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return each token's token-model logit and its share of the document logit (its word and the bigram
        ending at it)."""
        if not p.words:
            return np.zeros(0), np.zeros(0)
        tz, d_self, d_big = self._weights.linear(p.words, np.asarray(p.lex, dtype=bool), 0, 0)
        return tz + self.tok_b, d_self + d_big

    def _doc_z(self, dz: npt.NDArray[np.float64], lex: npt.NDArray[np.bool_], start: int, end: int) -> float:
        """The document logit of tokens ``start:end`` (``dz``: their shares, the first one's bigram excluded)."""
        if end <= start:
            return self.doc_b
        return float(dz[start:end].sum()) + self.doc_b + self._lex_w[min(int(lex[start:end].sum()), 3)]

    def _doc_prob(self, p: _Prepared, dz: npt.NDArray[np.float64], start: int, end: int) -> float:
        if end <= start:
            return _sigmoid(self.doc_b)
        z = self._doc_z(dz, np.asarray(p.lex, dtype=bool), start, end)
        if start:
            # dz[start] holds the bigram with the token before the segment: not part of this document.
            z -= float(self.doc_w[_h("B:" + p.folded[start - 1] + "_" + p.folded[start], self.mask)])
        return _sigmoid(z)

    def prepare(self, text: str | Normalised) -> _Prepared:
        """Normalise and tokenise ``text`` with this model's lexicon."""
        return prepare(text, self.lexicon)

    def doc_score(self, p: _Prepared, start: int = 0, end: int | None = None) -> float:
        """Return P(offensive) for the tokens ``start:end`` (the whole text by default) as one document."""
        end = len(p.words) if end is None else end
        if end <= start:
            return self._doc_prob(p, np.zeros(0), 0, 0)
        return self._doc_prob(p, self._linear(p)[1], start, end)

    def token_scores(self, p: _Prepared) -> FloatArray:
        """Return P(offensive) for every token."""
        if not p.words:
            return np.zeros(0, dtype=np.float32)
        return (1.0 / (1.0 + _exp(-np.clip(self._linear(p)[0], -500.0, 500.0)))).astype(np.float32)

    def combined_score(self, doc: float, tokens: FloatArray) -> float:
        """Combine the document score with the strongest token (the mean of the two, when the model says so)."""
        if self.meta.get("combine") == "mean":
            return (doc + (float(tokens.max()) if len(tokens) else 0.0)) / 2.0
        return doc

    def score(self, p: _Prepared, tokens: FloatArray) -> float:
        """Return the text's score: the highest combined score of its segments (one segment for a comment)."""
        return self._score(p, tokens, self._linear(p)[1] if p.words else np.zeros(0))

    def _score(self, p: _Prepared, tokens: FloatArray, dz: npt.NDArray[np.float64]) -> float:
        return max(
            (self.combined_score(self._doc_prob(p, dz, a, b), tokens[a:b]) for a, b in segments(p)),
            default=self.combined_score(self._doc_prob(p, dz, 0, 0), tokens),
        )

    def predict(self, text: str | Normalised) -> OffensiveResult:
        """Score ``text`` and find its offensive spans (in original offsets).

        A text of more than :data:`MAX_SEGMENTS` segments is scored on a bounded choice of them (every segment
        with a profanity-lexicon hit first, the first and last ones, and a sample of the rest; see
        :func:`choose_segments`); ``OffensiveResult.segments`` says how many were scored of how many.

        Runs the compiled version when it is built (:meth:`_predict_compiled`), else :meth:`_predict_python`: the
        same results.
        """
        n = normalise(text) if isinstance(text, str) else text
        return self._predict_python(n) if self._fast is None else self._predict_compiled(n)

    def _predict_compiled(self, text: str | Normalised) -> OffensiveResult:
        """:meth:`predict` by ``moderation._ext._offensive`` (which must be available here)."""
        n = normalise(text) if isinstance(text, str) else text
        if self._fast is None:
            raise RuntimeError("the compiled offensive model is not available")
        # the engine's tables and scratch buffers are shared: it runs one call at a time (it can call back into
        # Python, where another thread may call it)
        score, spans, flagged, segs = self._fast.predict(n.text, n.folded, n.starts, n.ends)
        return _result(score, spans, flagged, segs)

    def _predict_python(self, text: str | Normalised) -> OffensiveResult:
        """:meth:`predict` in Python and numpy: the reference."""
        n = normalise(text) if isinstance(text, str) else text
        if len(n.text) <= _SHORT_CHARS and self._lex_scan is not None:
            short = _TOKEN.findall(n.text)
            if 0 < len(short) <= SEGMENT_TOKENS:
                return self._predict_short(n, short)
        tk = _Tokens.of(n.text)
        words = tk.words
        total = len(words)
        if not total:
            empty = self.combined_score(_sigmoid(self.doc_b), np.zeros(0, dtype=np.float32))
            return OffensiveResult(empty, (), empty >= self.threshold)
        lex: npt.NDArray[np.bool_] | None = None  # None: no token touches a lexicon hit
        hits = self._lexicon_hits(n, tk.word)
        if hits is not None:
            lex = _overlapping(n, tk.start, tk.end, *hits)
        if total <= SEGMENT_TOKENS:
            best, pos = self._one_segment(words, None if lex is None else lex.tolist())
            segs = chosen = [(0, total)]
        else:
            segs = _pack(_sentence_starts(n.text, tk.start, tk.end), total, SEGMENT_TOKENS)
            lex_all = np.zeros(total, dtype=bool) if lex is None else lex
            chosen = segs if len(segs) <= MAX_SEGMENTS else choose_segments(segs, lex_all, n.text)
            best, pos = self._segments(words, lex, lex_all, chosen)
        if not len(pos):
            return OffensiveResult(best, (), best >= self.threshold, (len(chosen), len(segs)))
        pos_idx = pos.tolist()
        found = _merge(n, list(zip(tk.start[pos].tolist(), tk.end[pos].tolist(), strict=True)), pos_idx)
        return OffensiveResult(best, tuple(found), best >= self.threshold, (len(chosen), len(segs)))

    def _lexicon_hits(
        self, n: Normalised, word: npt.NDArray[np.bool_] | None = None
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
        """Original (start, end) of the model lexicon's hits in ``n`` (those of ``self.lexicon.find``), or None;
        ``word``: the word-character flags of ``n.text``, when the caller has them."""
        if self._lex_scan is not None:
            return self._lex_scan.hits(n, word)
        found = self.lexicon.find(n) if self.lexicon is not None else []  # pragma: no cover - no Hyperscan
        if not found:
            return None
        return np.asarray([h.start for h in found], dtype=np.int64), np.asarray([h.end for h in found], dtype=np.int64)

    def _token_probs(self, tz: npt.NDArray[np.float64]) -> FloatArray:
        """P(offensive) of each token from its logit (without the intercept)."""
        z = tz + self.tok_b
        np.maximum(z, -500.0, out=z)
        np.minimum(z, 500.0, out=z)
        np.negative(z, out=z)
        z = _exp(z)
        z += 1.0
        return (1.0 / z).astype(np.float32)

    def _predict_short(self, n: Normalised, words: list[str]) -> OffensiveResult:
        """:meth:`predict` of a short text of one segment, with Python lists where numpy calls would cost more than
        the work: the same lexicon hits, flags, scores and spans."""
        hits = self._lex_scan.hits_short(n) if self._lex_scan is not None else []
        spans: list[tuple[int, int]] | None = None
        lex: list[bool] | None = None
        if hits:
            spans = [m.span() for m in _TOKEN.finditer(n.text)]
            lex = _overlapping_short(n, spans, hits)
        best, pos = self._one_segment(words, lex)
        if not len(pos):
            return OffensiveResult(best, (), best >= self.threshold)
        if spans is None:
            spans = [m.span() for m in _TOKEN.finditer(n.text)]
        pos_idx = pos.tolist()
        found = _merge(n, [spans[i] for i in pos_idx], pos_idx)
        return OffensiveResult(best, tuple(found), best >= self.threshold)

    def _one_segment(self, words: list[str], lex: list[bool] | None) -> tuple[float, npt.NDArray[np.intp]]:
        """Score a text of one segment: its score and its positive tokens.

        :meth:`_segments` for the single segment ``(0, len(words))``, with the same float operations in the same
        order (:meth:`_Weights.linear_short`), so the same results.
        """
        zs, s_self, s_big, d_big0 = self._weights.linear_short(words, lex)
        tok = self._token_probs(np.array(zs, dtype=np.float64))
        # The document: ((c_self[n] - c_self[0]) + c_big[n]) - c_big[1] + doc_b, c_* the running sums from 0.0.
        z = s_self - 0.0 + s_big - d_big0 + self.doc_b
        z += self._lex_w[min(sum(lex), 3) if lex is not None else 0]
        doc = 1.0 / (1.0 + math.exp(-min(max(z, -500.0), 500.0)))
        if self.meta.get("combine") == "mean":
            doc = (doc + float(tok.max())) / 2.0
        return max(0.0, doc), np.flatnonzero(tok >= self.token_threshold)

    def _segments(
        self,
        words: list[str],
        lex: npt.NDArray[np.bool_] | None,
        lex_all: npt.NDArray[np.bool_],
        chosen: Sequence[tuple[int, int]],
    ) -> tuple[float, npt.NDArray[np.intp]]:
        """Score the ``chosen`` segments of a long text: the best combined score and the positive tokens."""
        total = len(words)
        best = 0.0
        pos: list[npt.NDArray[np.intp]] = []
        for a, b in _runs(chosen):
            lo, hi = max(0, a - 2), min(total, b + 2)
            tz, d_self, d_big = self._weights.linear(words[lo:hi], None if lex is None else lex[lo:hi], a - lo, hi - b)
            tok = self._token_probs(tz)
            # The segments of this run, as offsets into it; they tile it.
            bounds = np.asarray([(sa - a, sb - a) for sa, sb in chosen if a <= sa and sb <= b], dtype=np.int64)
            i, j = bounds[:, 0], bounds[:, 1]
            c_self = np.concatenate(([0.0], np.cumsum(d_self)))
            c_big = np.concatenate(([0.0], np.cumsum(d_big)))
            c_lex = np.concatenate(([0], np.cumsum(lex_all[a:b])))
            # A segment's document: its words and the bigrams inside it (not the one with the token before it).
            z = c_self[j] - c_self[i] + c_big[j] - c_big[i + 1] + self.doc_b
            z += self._lex_arr[np.minimum(c_lex[j] - c_lex[i], 3)]
            doc = 1.0 / (1.0 + _exp(-np.clip(z, -500.0, 500.0)))
            if self.meta.get("combine") == "mean":
                doc = (doc + np.maximum.reduceat(tok, i)) / 2.0
            best = max(best, float(doc.max()))
            pos.append(np.flatnonzero(tok >= self.token_threshold) + a)
        return best, np.concatenate(pos)


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(z, -500.0), 500.0)))


def _exp(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``exp`` of each element by the C library's ``exp`` (``math.exp``), as the compiled path computes it.

    Not ``np.exp``: numpy picks a SIMD version of its own on some processors (its AVX-512 one among them) whose
    results differ from the C library's in the last bit, and both paths must give the same scores on every machine.
    """
    return np.fromiter(map(math.exp, z.tolist()), dtype=np.float64, count=len(z))


def _runs(chosen: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Join sorted, adjacent segments into runs of consecutive tokens."""
    out: list[tuple[int, int]] = []
    for a, b in chosen:
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def choose_segments(segs: Sequence[tuple[int, int]], lex: npt.NDArray[np.bool_], text: str) -> list[tuple[int, int]]:
    """Choose at most :data:`MAX_SEGMENTS` of a long text's segments to score (sorted by position).

    1. Segments with profanity-lexicon hits, most hits first (ties: in text order), up to ``MAX_SEGMENTS -
       SAMPLED_SEGMENTS``; 2. the first and the last segment; 3. the rest of the budget is a sample of the
       remaining segments drawn with a seed taken from the text's CRC32, so the same text always gets the same
       score but a writer cannot tell which clean-looking segments will be read.
    """
    hits = np.concatenate(([0], np.cumsum(lex)))
    bounds = np.asarray(segs, dtype=np.int64)
    count = hits[bounds[:, 1]] - hits[bounds[:, 0]]
    by_hits = np.lexsort((np.arange(len(segs)), -count))
    picked: list[int] = [int(i) for i in by_hits[: MAX_SEGMENTS - SAMPLED_SEGMENTS] if count[i] > 0]
    chosen = set(picked)
    for edge in (0, len(segs) - 1):
        if edge not in chosen:
            chosen.add(edge)
    rest = np.setdiff1d(np.arange(len(segs)), np.fromiter(chosen, dtype=np.int64))
    room = MAX_SEGMENTS - len(chosen)
    if room > 0 and len(rest):
        rng = np.random.default_rng(zlib.crc32(text.encode("utf-8", errors="surrogatepass")))
        chosen.update(rng.choice(rest, size=min(room, len(rest)), replace=False).tolist())
    return [segs[i] for i in sorted(chosen)]


@functools.cache
def default_model() -> OffensiveModel:
    """Load the model ``MODERATION_OFFENSIVE_MODEL`` names (the shipped default when unset; see
    :mod:`moderation.detect.model_choice`) once per process."""
    return OffensiveModel.load(model_choice.resolve())


def score_offensive(text: str | Normalised) -> OffensiveResult:
    """Score ``text`` with the shipped model."""
    return default_model().predict(text)


def offensive_signals(
    field: str, original: str, result: OffensiveResult | None = None, *, key: str = "vihos"
) -> list[Signal]:
    """Return one ``offensive`` signal (score and spans) for ``field``; none for an empty text.

    ``original`` is the text the result's offsets index (score it here when ``result`` is None). The signal
    carries the model's own decision (``flagged``) for reference; the policy pack sets the thresholds that act.
    """
    if not original or original.isspace():  # not original.strip(), without the copy
        return []
    model = default_model()
    res = result if result is not None else model.predict(original)
    spans = _result_spans(field, original, res.spans)
    return [_offensive_signal(model, field, key, res.score, spans, flagged=res.flagged)]


def _offensive_signal(
    model: OffensiveModel, field: str, key: str, score: float, spans: tuple[Span, ...], *, flagged: bool
) -> Signal:
    """The ``offensive`` signal of one field (made by filling its slots when the compiled objects are available)."""
    attrs = {
        "field": field,
        "flagged": flagged,
        "model": str(model.meta.get("name", "")),
        "model_threshold": model.threshold,
    }
    row = ("offensive", key, score, spans, attrs, model.detector)
    if _FAST_MAKE_SIGNAL:
        return _ct.make(Signal, _SIGNAL_FIELDS, row)  # type: ignore[no-any-return]
    return Signal(*row)


def language_signals(field: str, original: str, n: Normalised) -> list[Signal]:
    """The language signals of one field: ``offensive_signals(field, original, res) +
    targets.field_signals(field, original, n, res.spans)`` with ``res = default_model().predict(n)`` (``n``: the
    normalised ``original``).

    With the compiled model and objects the engine's answer is read as it comes (no :class:`OffensiveResult`).
    """
    model = default_model()
    fast = model._fast
    if fast is None or not (_FAST_MAKE_SIGNAL and _FAST_SPAN):
        res = model.predict(n)
        return offensive_signals(field, original, res) + _targets.field_signals(field, original, n, res.spans)
    score, pairs, flagged, _ = fast.predict(n.text, n.folded, n.starts, n.ends)
    found: list[Signal] = []
    if original and not original.isspace():
        spans = _ct.pair_spans(Span, field, original, pairs) if pairs else ()
        found.append(_offensive_signal(model, field, "vihos", score, spans, flagged=flagged))
    found += _targets.field_signals(field, original, n, pairs)
    return found


def _result_spans(field: str, original: str, pairs: Sequence[tuple[int, int]]) -> tuple[Span, ...]:
    """``Span(field, a, b, original[a:b])`` for each (a, b): in C when the compiled target loops are built."""
    if not pairs:
        return ()
    if _FAST_SPAN:
        return _ct.pair_spans(Span, field, original, pairs)  # type: ignore[no-any-return]
    return tuple(Span(field, a, b, original[a:b]) for a, b in pairs)
