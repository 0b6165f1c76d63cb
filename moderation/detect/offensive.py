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
    hits = lexicon.find(n)
    if not hits:
        return [False] * len(tokens)
    # Original offsets of every token at once (Normalised.to_original, vectorised; tokens are never empty).
    first = np.fromiter((a for a, _ in tokens), dtype=np.int64, count=len(tokens))
    last = np.fromiter((b - 1 for _, b in tokens), dtype=np.int64, count=len(tokens))
    lo = np.asarray(n.starts)[first]
    hi = np.maximum(lo, np.asarray(n.ends)[last])
    mask = np.zeros(len(tokens), dtype=bool)
    for h in hits:
        mask |= (lo < h.end) & (hi > h.start)
    return [bool(x) for x in mask]


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
        self._tok_cache: dict[str, float] = {}
        self._doc_cache: dict[str, float] = {}
        self._word_cache: dict[tuple[str, str, bool], tuple[float, float]] = {}

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

    # Scoring sums the weights of the features of :func:`token_features` and :func:`doc_features` without building
    # most of them: what depends on one word only is summed once per distinct word and kept (words repeat), and
    # the weight of every other feature string is kept too. Same sums as the feature lists (the unit tests check).

    def _tw(self, feature: str) -> float:
        v = self._tok_cache.get(feature)
        if v is None:
            if len(self._tok_cache) >= _HASH_CACHE_MAX:
                self._tok_cache.clear()
            v = self._tok_cache[feature] = float(self.tok_w[_h(feature, self.mask)])
        return v

    def _dw(self, feature: str) -> float:
        v = self._doc_cache.get(feature)
        if v is None:
            if len(self._doc_cache) >= _HASH_CACHE_MAX:
                self._doc_cache.clear()
            v = self._doc_cache[feature] = float(self.doc_w[_h(feature, self.mask)])
        return v

    def _word_weights(self, word: str, f: str, lex: bool) -> tuple[float, float]:
        """Return the token-model and document-model weight of the features that depend on this word alone."""
        key = (word, f, lex)
        got = self._word_cache.get(key)
        if got is not None:
            return got
        padded = "<" + f + ">"
        tri = [padded[k : k + 3] for k in range(len(padded) - 2)]
        tok = ["w:" + word, "f:" + f, "len:" + str(min(len(f), 8))]
        doc = ["W:" + word, "F:" + f]
        if lex:
            tok += ["lex", "lexw:" + f]
            doc.append("LEXW:" + f)
        tok += ["c:" + g for g in tri]
        doc += ["C:" + g for g in tri]
        if self.features >= 2:
            tok += ["c4:" + padded[k : k + 4] for k in range(len(padded) - 3)]
        got = (
            float(self.tok_w[self._hash_all(tok)].astype(np.float64).sum()),
            float(self.doc_w[self._hash_all(doc)].astype(np.float64).sum()),
        )
        if len(self._word_cache) >= _HASH_CACHE_MAX:
            self._word_cache.clear()
        self._word_cache[key] = got
        return got

    def _linear(self, p: _Prepared) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Return each token's token-model logit and its share of the document logit (its word and the bigram
        ending at it), in one pass."""
        words, folded, lex = p.words, p.folded, p.lex
        n = len(words)
        tz = np.empty(n, dtype=np.float64)
        dz = np.empty(n, dtype=np.float64)
        tw, dw, v2 = self._tw, self._dw, self.features >= 2
        s_, e_ = "<s>", "</s>"
        for i in range(n):
            f, w = folded[i], words[i]
            t_self, d_self = self._word_weights(w, f, lex[i])
            pf = folded[i - 1] if i else s_
            nf = folded[i + 1] if i + 1 < n else e_
            z = (
                t_self
                + tw("f-1:" + pf)
                + tw("f+1:" + nf)
                + tw("f-2:" + (folded[i - 2] if i > 1 else s_))
                + tw("f+2:" + (folded[i + 2] if i + 2 < n else e_))
                + tw("w-1:" + (words[i - 1] if i else s_))
                + tw("w+1:" + (words[i + 1] if i + 1 < n else e_))
                + tw("b-:" + pf + "_" + f)
                + tw("b+:" + f + "_" + nf)
            )
            if i and lex[i - 1]:
                z += tw("lex-1")
            if i + 1 < n and lex[i + 1]:
                z += tw("lex+1")
            if v2:
                z += tw("t:" + pf + "_" + f + "_" + nf)
            tz[i] = z
            dz[i] = d_self + (dw("B:" + pf + "_" + f) if i else 0.0)
        return tz + self.tok_b, dz

    def _doc_prob(self, p: _Prepared, dz: npt.NDArray[np.float64], start: int, end: int) -> float:
        if end <= start:
            z = self.doc_b
        else:
            # dz[start] holds the bigram with the token before the segment: not part of this document.
            z = float(dz[start:end].sum()) + self.doc_b + self._dw("LEX:" + str(min(sum(p.lex[start:end]), 3)))
            if start:
                z -= self._dw("B:" + p.folded[start - 1] + "_" + p.folded[start])
        return float(1.0 / (1.0 + np.exp(-z)))

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
        return (1.0 / (1.0 + np.exp(-self._linear(p)[0]))).astype(np.float32)

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
        """Score ``text`` and find its offensive spans (in original offsets)."""
        p = self.prepare(text)
        if not p.words:
            empty = self._score(p, np.zeros(0, dtype=np.float32), np.zeros(0))
            return OffensiveResult(empty, (), empty >= self.threshold)
        tz, dz = self._linear(p)
        tok = (1.0 / (1.0 + np.exp(-tz))).astype(np.float32)
        score = self._score(p, tok, dz)
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
