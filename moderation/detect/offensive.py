"""Offensive and insulting language: a score for the whole text and the spans of the offensive words.

Two linear models over hashed features of the normalised text (accented and diacritic-free word n-grams, character
trigrams, and a derived profanity lexicon): a document model for "contains offensive language" and a token tagger
(logistic regression over a window of neighbouring words) for the spans. They are trained by
``moderation train offensive`` (:mod:`moderation.detect.offensive_train`, which needs scikit-learn) and shipped as
``data/offensive/model.npz`` + ``model.json``; inference here needs only numpy. See ``docs/offensive-model.md``.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moderation.detect.lexicon import Lexicon, Term
from moderation.domain import Signal, Span
from moderation.text.normalise import Normalised, normalise

__all__ = [
    "DETECTOR",
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
MODEL_DIR = Path(str(resources.files("moderation.detect").joinpath("data", "offensive")))
_TOKEN = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"[.!?;:\n]")
# The model was trained on social-media comments (median 36 characters); a longer text is scored by segments of
# whole sentences of at most this many tokens, and its score is the highest segment's.
SEGMENT_TOKENS = 80
_HASH_CACHE_MAX = 1 << 18
FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class OffensiveResult:
    """``score`` in [0, 1]; ``spans`` are (start, end) in ORIGINAL offsets of the offensive words."""

    score: float
    spans: tuple[tuple[int, int], ...]
    flagged: bool  # score at or above the model's decision threshold (chosen on the dev split)


def tokenise(n: Normalised) -> list[tuple[int, int]]:
    """Return the word tokens of ``n.text`` as (start, end) offsets into the normalised text."""
    return [m.span() for m in _TOKEN.finditer(n.text)]


def _h(feature: str, mask: int) -> int:
    return zlib.crc32(feature.encode("utf-8", errors="surrogatepass")) & mask


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
    if lexicon is None or not tokens:
        return [False] * len(tokens)
    mask = [False] * len(tokens)
    hits = lexicon.find(n)
    if not hits:
        return mask
    orig = [n.to_original(a, b) for a, b in tokens]
    for h in hits:
        for k, (lo, hi) in enumerate(orig):
            if lo < h.end and h.start < hi:
                mask[k] = True
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
    spans: list[tuple[int, int]] = []
    run: tuple[int, int] | None = None
    for (a, b), pos in zip(tokens, positive, strict=True):
        if not pos:
            if run:
                spans.append(run)
            run = None
            continue
        if run is not None and n.text[run[1] : a].strip() == "":
            run = (run[0], b)
        else:
            if run:
                spans.append(run)
            run = (a, b)
    if run:
        spans.append(run)
    out: list[tuple[int, int]] = []
    for a, b in spans:
        lo, hi = n.to_original(a, b)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        elif hi > lo:
            out.append((lo, hi))
    return out


def segments(p: _Prepared, max_tokens: int = SEGMENT_TOKENS) -> list[tuple[int, int]]:
    """Split the tokens into runs of whole sentences of at most ``max_tokens`` (a long sentence is cut)."""
    n = len(p.tokens)
    if n <= max_tokens:
        return [(0, n)]
    # Sentence starts: a token whose preceding gap holds sentence punctuation or a line break.
    starts = [0]
    for i in range(1, n):
        if _SENTENCE_END.search(p.n.text, p.tokens[i - 1][1], p.tokens[i][0]):
            starts.append(i)
    starts.append(n)
    out: list[tuple[int, int]] = []
    lo = 0
    for a, b in itertools.pairwise(starts):
        if b - lo > max_tokens and a > lo:
            out.append((lo, a))
            lo = a
        while b - lo > max_tokens:
            out.append((lo, lo + max_tokens))
            lo += max_tokens
    if lo < n:
        out.append((lo, n))
    return out


class OffensiveModel:
    """The shipped (or a freshly trained) model; load with :meth:`load` and call :meth:`predict`."""

    def __init__(self, weights: dict[str, Any], meta: dict[str, Any]) -> None:
        self.meta = meta
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
        self._buckets: dict[str, int] = {}  # feature string -> bucket; words repeat, CRC-32 is the slow part

    @classmethod
    def load(cls, directory: str | Path = MODEL_DIR) -> OffensiveModel:
        """Load ``model.npz`` and ``model.json`` from ``directory``."""
        d = Path(directory)
        meta = json.loads((d / "model.json").read_text(encoding="utf-8"))
        with np.load(d / "model.npz", allow_pickle=False) as z:
            weights = {k: z[k] for k in z.files}
        return cls(weights, meta)

    def _hash_all(self, features: Iterable[str]) -> npt.NDArray[np.int64]:
        mask, cache = self.mask, self._buckets
        out = []
        for f in features:
            b = cache.get(f)
            if b is None:
                if len(cache) >= _HASH_CACHE_MAX:
                    cache.clear()
                b = cache[f] = _h(f, mask)
            out.append(b)
        return np.fromiter(out, dtype=np.int64, count=len(out))

    def prepare(self, text: str | Normalised) -> _Prepared:
        """Normalise and tokenise ``text`` with this model's lexicon."""
        return prepare(text, self.lexicon)

    def doc_score(self, p: _Prepared, start: int = 0, end: int | None = None) -> float:
        """Return P(offensive) for the tokens ``start:end`` (the whole text by default) as one document."""
        end = len(p.words) if end is None else end
        if end <= start:
            return float(1.0 / (1.0 + np.exp(-self.doc_b)))
        feats = doc_features(p.words[start:end], p.folded[start:end], p.lex[start:end], self.features)
        z = float(self.doc_w[self._hash_all(feats)].sum()) + self.doc_b
        return float(1.0 / (1.0 + np.exp(-z)))

    def token_scores(self, p: _Prepared) -> FloatArray:
        """Return P(offensive) for every token."""
        if not p.words:
            return np.zeros(0, dtype=np.float32)
        feats = token_features(p.words, p.folded, p.lex, self.features)
        lengths = [len(f) for f in feats]
        idx = self._hash_all(f for fs in feats for f in fs)
        offsets = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
        z = np.add.reduceat(self.tok_w[idx], offsets) + self.tok_b
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def combined_score(self, doc: float, tokens: FloatArray) -> float:
        """Combine the document score with the strongest token (the mean of the two, when the model says so)."""
        if self.meta.get("combine") == "mean":
            return (doc + (float(tokens.max()) if len(tokens) else 0.0)) / 2.0
        return doc

    def score(self, p: _Prepared, tokens: FloatArray) -> float:
        """Return the text's score: the highest combined score of its segments (one segment for a comment)."""
        return max(
            (self.combined_score(self.doc_score(p, a, b), tokens[a:b]) for a, b in segments(p)),
            default=self.combined_score(self.doc_score(p), tokens),
        )

    def predict(self, text: str | Normalised) -> OffensiveResult:
        """Score ``text`` and find its offensive spans (in original offsets)."""
        p = self.prepare(text)
        tok = self.token_scores(p)
        score = self.score(p, tok)
        spans = merge_spans(p.n, p.tokens, [bool(s >= self.token_threshold) for s in tok])
        return OffensiveResult(score, tuple(spans), score >= self.threshold)


@functools.cache
def default_model() -> OffensiveModel:
    """Load the shipped model once per process."""
    return OffensiveModel.load()


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
    if not original.strip():
        return []
    model = default_model()
    res = result if result is not None else model.predict(original)
    spans = tuple(Span(field, a, b, original[a:b]) for a, b in res.spans)
    return [
        Signal(
            kind="offensive",
            key=key,
            score=res.score,
            spans=spans,
            attrs={
                "field": field,
                "flagged": res.flagged,
                "model": str(model.meta.get("name", "")),
                "model_threshold": model.threshold,
            },
            detector=DETECTOR,
        )
    ]
