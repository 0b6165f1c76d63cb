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

DETECTOR = "offensive/1"
MODEL_DIR = Path(str(resources.files("moderation.detect").joinpath("data", "offensive")))
_TOKEN = re.compile(r"\w+")
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


def token_features(words: Sequence[str], folded: Sequence[str], lex: Sequence[bool]) -> list[list[str]]:
    """Return the feature strings of each token (a window of two words each side, lexicon flags, trigrams)."""
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
        out.append(feats)
    return out


def doc_features(words: Sequence[str], folded: Sequence[str], lex: Sequence[bool]) -> list[str]:
    """Return the feature strings of a whole text (word unigrams and bigrams, lexicon counts)."""
    feats = ["W:" + w for w in words]
    feats.extend("F:" + f for f in folded)
    feats.extend("B:" + a + "_" + b for a, b in itertools.pairwise(folded))
    hits = sum(lex)
    feats.append("LEX:" + str(min(hits, 3)))
    feats.extend("LEXW:" + f for f, hit in zip(folded, lex, strict=True) if hit)
    feats.extend("C:" + g for f in folded for g in _trigrams(f))
    return feats


def _trigrams(f: str) -> Iterable[str]:
    padded = "<" + f + ">"
    return (padded[k : k + 3] for k in range(len(padded) - 2))


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


class OffensiveModel:
    """The shipped (or a freshly trained) model; load with :meth:`load` and call :meth:`predict`."""

    def __init__(self, weights: dict[str, Any], meta: dict[str, Any]) -> None:
        self.meta = meta
        self.bits = int(meta["hash_bits"])
        self.mask = (1 << self.bits) - 1
        self.doc_w: FloatArray = np.asarray(weights["doc_w"], dtype=np.float32)
        self.doc_b = float(weights["doc_b"])
        self.tok_w: FloatArray = np.asarray(weights["tok_w"], dtype=np.float32)
        self.tok_b = float(weights["tok_b"])
        self.threshold = float(meta["threshold"])
        self.token_threshold = float(meta["token_threshold"])
        terms = meta.get("lexicon", [])
        self.lexicon = Lexicon.compile(Term(t, t) for t in terms) if terms else None

    @classmethod
    def load(cls, directory: str | Path = MODEL_DIR) -> OffensiveModel:
        """Load ``model.npz`` and ``model.json`` from ``directory``."""
        d = Path(directory)
        meta = json.loads((d / "model.json").read_text(encoding="utf-8"))
        with np.load(d / "model.npz", allow_pickle=False) as z:
            weights = {k: z[k] for k in z.files}
        return cls(weights, meta)

    def _hash_all(self, features: Iterable[str]) -> npt.NDArray[np.int64]:
        mask = self.mask
        return np.fromiter((_h(f, mask) for f in features), dtype=np.int64)

    def doc_score(self, p: _Prepared) -> float:
        """Return P(offensive) for the whole text."""
        if not p.words:
            return float(1.0 / (1.0 + np.exp(-self.doc_b)))
        idx = self._hash_all(doc_features(p.words, p.folded, p.lex))
        z = float(self.doc_w[idx].sum()) + self.doc_b
        return float(1.0 / (1.0 + np.exp(-z)))

    def token_scores(self, p: _Prepared) -> FloatArray:
        """Return P(offensive) for every token."""
        if not p.words:
            return np.zeros(0, dtype=np.float32)
        feats = token_features(p.words, p.folded, p.lex)
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

    def predict(self, text: str | Normalised) -> OffensiveResult:
        """Score ``text`` and find its offensive spans (in original offsets)."""
        p = prepare(text, self.lexicon)
        tok = self.token_scores(p)
        score = self.combined_score(self.doc_score(p), tok)
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
    """Return one ``offensive`` signal (score and spans) for ``field``; none for an empty text."""
    if not original.strip():
        return []
    res = result if result is not None else score_offensive(original)
    spans = tuple(Span(field, a, b, original[a:b]) for a, b in res.spans)
    attrs = {"flagged": res.flagged, "threshold": default_model().threshold if result is None else None}
    return [
        Signal(
            kind="offensive",
            key=key,
            score=res.score,
            spans=spans,
            attrs={k: v for k, v in attrs.items() if v is not None},
            detector=DETECTOR,
        )
    ]
