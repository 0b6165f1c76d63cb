"""Train and evaluate the offensive-language model on ViHOS (needs scikit-learn, a development dependency).

Reproducible: fixed hashing, deterministic solver, thresholds chosen on ``dev`` only; ``test`` is read only by
:func:`evaluate`. Training data is doubled with a diacritic-free copy of every comment, because people type
without marks and the model must not depend on them; for the same reason the decision threshold is chosen on dev
as written plus dev stripped of its diacritics.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import random
import re
import time
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import regex

from moderation.detect.lexicon import Lexicon, Term
from moderation.detect.offensive import (
    MODEL_DIR,
    OffensiveModel,
    _h,
    doc_features,
    prepare,
    token_features,
)
from moderation.text.normalise import normalise, normalise_term

__all__ = [
    "DEFAULT_DATA",
    "Example",
    "clean_training_texts",
    "evaluate",
    "load_split",
    "strip_diacritics",
    "train",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "vihos"
DEFAULT_BADWORDS = REPO_ROOT.parent / "shared" / "data" / "vn-badwords" / "vi.json"
HASH_BITS = 20
FEATURES = 2  # feature set version (see moderation.detect.offensive.doc_features / token_features)
C_GRID = (0.5, 1.0, 2.0)
TOKEN_C = 0.5


@dataclass(frozen=True, slots=True)
class Example:
    """One ViHOS row: the text and the set of offensive character offsets."""

    text: str
    offsets: frozenset[int]

    @property
    def label(self) -> bool:
        return bool(self.offsets)


def load_split(data_dir: Path, split: str) -> list[Example]:
    """Read ``{split}.csv`` (columns ``content``, ``index_spans``)."""
    path = Path(data_dir) / f"{split}.csv"
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            text = row["content"]
            offsets = frozenset(int(i) for i in json.loads(row["index_spans"]) if 0 <= int(i) < len(text))
            out.append(Example(text, offsets))
    return out


def strip_diacritics(ex: Example) -> Example:
    """Remove every diacritic (and fold đ) from ``ex``, carrying the offensive offsets along."""
    chars: list[str] = []
    offsets: set[int] = set()
    for i, ch in enumerate(ex.text):
        d = unicodedata.normalize("NFD", ch)
        kept = "".join(c for c in d if not unicodedata.category(c).startswith("M")).replace("đ", "d")
        kept = kept.replace("Đ", "D")
        for c in kept:
            if i in ex.offsets:
                offsets.add(len(chars))
            chars.append(c)
    return Example("".join(chars), frozenset(offsets))


# How an evader writes the offensive words, for ``obfuscate``: letter by letter with a separator between letters
# ("spaced", "dotted"), or each word split by a dot after its first consonants ("split").
OBFUSCATIONS = {"spaced": " ", "dotted": ".", "split": "."}
_ONSET_CLUSTERS = ("ngh", "ng", "nh", "ch", "gh", "gi", "kh", "ph", "th", "tr", "qu")


def _split_word(word: str) -> str:
    """``word`` with a dot after its initial consonants ("ch.ó", "l.ồn", "ng.u"), or after its first letter when
    it begins with a vowel ("ă.n"); a one-letter word as it is."""
    if len(word) < 2:
        return word
    low = unicodedata.normalize("NFD", word.lower())
    k = next((len(c) for c in _ONSET_CLUSTERS if low.startswith(c) and len(word) > len(c)), 1)
    return word[:k] + "." + word[k:]


def obfuscate(ex: Example, how: str) -> Example:
    """Write each offensive span of ``ex`` as evaders do to slip past word lists: letter by letter, ``spaced``
    ("chó đẻ" -> "c h ó đ ẻ") or ``dotted`` ("c.h.ó.đ.ẻ"), the spaces between the span's words gone too as the
    letters are spaced evenly; or ``split``, each word cut by a dot ("ch.ó đ.ẻ"). Marks stay on their letters;
    text outside the spans is unchanged. The offensive offsets follow the letters (and the separators inside the
    span), so span scores still apply."""
    sep = OBFUSCATIONS[how]
    chars: list[str] = []
    offsets: set[int] = set()
    text = ex.text
    i = 0
    while i < len(text):
        if i not in ex.offsets:
            chars.append(text[i])
            i += 1
            continue
        j = i
        while j < len(text) and j in ex.offsets:
            j += 1
        span = unicodedata.normalize("NFC", text[i:j])
        if how == "split":
            written = regex.sub(r"\p{L}[\p{L}\p{M}]*", lambda m: _split_word(m.group()), span)
        else:
            letters: list[str] = []  # each letter with the marks after it
            for ch in span:
                if unicodedata.category(ch).startswith("M") and letters:
                    letters[-1] += ch
                elif not ch.isspace():
                    letters.append(ch)
            written = sep.join(letters)
        for c in written:
            offsets.add(len(chars))
            chars.append(c)
        i = j
    return Example("".join(chars), frozenset(offsets))


def derive_lexicon(path: Path = DEFAULT_BADWORDS) -> list[str]:
    """Return the normalised, de-duplicated entries of the vn-badwords seed list (MIT, Eris-js/vn-badwords)."""
    if not path.exists():
        return []
    entries = json.loads(path.read_text(encoding="utf-8"))
    forms = {normalise_term(str(e))[0] for e in entries if str(e).strip()}
    return sorted(f for f in forms if f)


CLEAN_SEED = 20261206  # shuffles the clean corpus: which compounds share a pseudo-sentence, which strings are held out
CLEAN_HELD_OUT = 0.2  # share of the catalogue sentences kept out of training, to measure the flag rate on
# Share of the dictionary's kept compounds made into pseudo-sentences: all of them (2,500 texts) taught the document
# model too much (ViHOS dev F1 0.897); a quarter keeps dev F1 at 0.902 (see the model card's table of variants).
CLEAN_COMPOUND_SHARE = 0.25


def _offensive_ngrams(examples: Sequence[Example], longest: int = 4) -> set[str]:
    """Every run of 2..``longest`` words (lower case) lying wholly inside an offensive span of ``examples``."""
    grams: set[str] = set()
    for ex in examples:
        marked = "".join(ch if i in ex.offsets else "\0" for i, ch in enumerate(ex.text)).lower()
        for run in marked.split("\0"):
            words = re.findall(r"\w+", run)
            for size in range(2, longest + 1):
                grams.update(" ".join(words[j : j + size]) for j in range(len(words) - size + 1))
    return grams


def clean_training_texts(
    compounds: Sequence[str],
    sentences: Sequence[str],
    vihos_train: Sequence[Example],
    lexicon: Lexicon | None,
    *,
    seed: int = CLEAN_SEED,
    share: float = CLEAN_COMPOUND_SHARE,
) -> tuple[list[str], list[str], dict[str, int]]:
    """Turn the clean corpus into training texts; return ``(train_texts, held_out_sentences, counts)``.

    A dictionary compound is left out when it holds a term of the model's profanity lexicon or when ViHOS train
    marks it offensive somewhere (insults are words too: "khốn nạn", "mất dạy"); a random ``share`` of the rest
    is shuffled into pseudo-sentences of 6-12 compounds. The catalogue sentences are shuffled and
    :data:`CLEAN_HELD_OUT` of them kept out of training, so the flag rate on clean text of a register ViHOS lacks
    can be measured on text the model did not see."""
    from moderation.detect.clean_corpus import pseudo_sentences

    seen = _offensive_ngrams(vihos_train)
    kept = [w for w in compounds if w not in seen and not (lexicon is not None and lexicon.find(normalise(w)))]
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle, not a secret
    pool = list(sentences)
    rng.shuffle(pool)
    cut = int(len(pool) * (1 - CLEAN_HELD_OUT))
    rng.shuffle(kept)
    used = kept[: round(len(kept) * share)]
    texts = pool[:cut] + pseudo_sentences(used, rng)
    counts = {
        "compounds": len(compounds),
        "compounds_kept": len(kept),
        "compounds_used": len(used),
        "sentences": len(pool),
        "sentences_trained": cut,
        "texts": len(texts),
    }
    return texts, pool[cut:], counts


def save_npz(path: Path, arrays: dict[str, Any]) -> None:
    """Write ``arrays`` as a compressed ``.npz`` whose bytes depend on the arrays only (``np.savez_compressed``
    stamps each member with the current time), so the same training gives the same file and SHA-256."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, value in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.asanyarray(value), allow_pickle=False)
            zf.writestr(info, buf.getvalue())


# OpenBLAS's kernels for x86-64 processors with AVX2 and FMA (Zen ones use them too). liblinear's solver calls BLAS
# (scipy's OpenBLAS, through scikit-learn), and OpenBLAS picks its kernels by processor: its AVX-512 (SkylakeX) ones
# sum in another order, and the solver then stops at slightly other weights (checked 2026-12-06 on an Intel Xeon:
# another model.npz, up to 0.022 off in a weight, though the same thresholds and ViHOS test figures).
BLAS_KERNELS = "Haswell"
# And its threads: OpenBLAS shares a call out between them, and the parts' sums are added in another order with
# another number of them. With one thread (``OPENBLAS_NUM_THREADS=1``, which many container images set, and every
# other ``moderation`` command since 2026-12-07) training built another model.npz (checked 2026-12-07: 0459fc90…
# against the shipped 2c8dff96…). Both shipped models were trained with two, the pool of a 2-core machine;
# training sets two for its fits whatever the machine or the environment says (``threadpool_limits`` raises a
# pool too, on one core as well).
BLAS_THREADS = 2


def blas_kernels_for(machine: str, cpu_flags: Iterable[str]) -> str | None:
    """The OpenBLAS kernels training pins on a processor (:data:`BLAS_KERNELS` on x86-64 with AVX2 and FMA), or None
    where it leaves OpenBLAS's own choice."""
    if machine.lower() in {"x86_64", "amd64"} and {"avx2", "fma"} <= set(cpu_flags):
        return BLAS_KERNELS
    return None


def _cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> list[str]:
    try:
        text = cpuinfo.read_text()
    except OSError:
        return []
    return next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])


def pin_blas_kernels() -> None:
    """Make OpenBLAS use :data:`BLAS_KERNELS` where the processor runs them, so that training gives the same bytes on
    every such x86-64 machine. Takes effect for an OpenBLAS loaded after the call (scipy's, which training uses, is
    loaded when scikit-learn is first imported); an ``OPENBLAS_CORETYPE`` set by the caller is kept."""
    import platform

    if "OPENBLAS_CORETYPE" not in os.environ and (kernels := blas_kernels_for(platform.machine(), _cpu_flags())):
        os.environ["OPENBLAS_CORETYPE"] = kernels


def _blas_kernels() -> str:
    """The kernels of the OpenBLAS that scikit-learn's liblinear calls (scipy's), as OpenBLAS names them."""
    import scipy.linalg  # noqa: F401 - loads scipy's BLAS, if scikit-learn has not
    from threadpoolctl import threadpool_info

    names = sorted(
        {i.get("architecture") or "?" for i in threadpool_info() if "scipy.libs" in Path(i.get("filepath", "")).parts}
    )
    return ", ".join(names) or "unknown"


def _versions() -> dict[str, str | int]:
    """The versions that decide the trained weights (liblinear comes with scikit-learn), the BLAS kernels and the
    BLAS threads of the fits."""
    import platform

    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "blas_kernels": _blas_kernels(),
        "blas_threads": BLAS_THREADS,
    }


def _token_labels(prep: Any, ex: Example) -> list[int]:
    labels = []
    for a, b in prep.tokens:
        lo, hi = prep.n.to_original(a, b)
        labels.append(int(any(i in ex.offsets for i in range(lo, hi))))
    return labels


def _matrix(rows: Sequence[Sequence[str]], mask: int) -> Any:
    from scipy import sparse

    indptr = [0]
    indices: list[int] = []
    for feats in rows:
        indices.extend(_h(f, mask) for f in feats)
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float32)
    m = sparse.csr_matrix((data, np.asarray(indices, dtype=np.int64), np.asarray(indptr)), shape=(len(rows), mask + 1))
    m.sum_duplicates()
    return m


def input_digest(terms: Sequence[str], preps: Iterable[Any]) -> str:
    """SHA-256 of what training reads: the lexicon's terms, then each prepared text's words, folded words and
    lexicon flags (after normalisation and tokenisation), in order."""
    h = hashlib.sha256()
    h.update("\x1f".join(terms).encode())
    for p in preps:
        h.update(b"\x1e")
        h.update("\x1f".join(p.words).encode())
        h.update(b"\x1d")
        h.update("\x1f".join(p.folded).encode())
        h.update(b"\x1d")
        h.update(bytes(bytearray(p.lex)))
    return h.hexdigest()


def training_input_digest(data_dir: Path = DEFAULT_DATA, badwords: Path = DEFAULT_BADWORDS) -> str:
    """:func:`input_digest` of the ViHOS part of what :func:`train` reads (train as written, train with its
    diacritics stripped, dev), as ``train`` records it in the meta (``vihos_input_sha256``). When a change to the
    normaliser or the tokeniser changes it, the committed models are no longer what the command builds: retrain them
    (``tests/unit/test_offensive_reproducible.py`` checks it)."""
    terms = derive_lexicon(badwords)
    lexicon = Lexicon.compile(Term(t, t) for t in terms) if terms else None
    train_ex = load_split(data_dir, "train")
    texts = [e.text for e in train_ex] + [strip_diacritics(e).text for e in train_ex]
    texts += [e.text for e in load_split(data_dir, "dev")]
    return input_digest(terms, (prepare(t, lexicon) for t in texts))


def _features(examples: Sequence[Example], lexicon: Lexicon | None) -> tuple[list[Any], list[list[str]], list[Any]]:
    preps = [prepare(ex.text, lexicon) for ex in examples]
    docs = [doc_features(p.words, p.folded, p.lex, FEATURES) for p in preps]
    return preps, docs, [token_features(p.words, p.folded, p.lex, FEATURES) for p in preps]


def _best_threshold(scores: Sequence[float], labels: Sequence[int]) -> tuple[float, float]:
    best = (0.5, -1.0)
    for t in np.arange(0.05, 0.96, 0.01):
        f1 = _f1([s >= t for s in scores], [bool(y) for y in labels])["f1"]
        if f1 > best[1]:
            best = (float(round(t, 2)), f1)
    return best


def _f1(pred: Sequence[bool], gold: Sequence[bool]) -> dict[str, float]:
    tp = sum(1 for p, g in zip(pred, gold, strict=True) if p and g)
    fp = sum(1 for p, g in zip(pred, gold, strict=True) if p and not g)
    fn = sum(1 for p, g in zip(pred, gold, strict=True) if g and not p)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"precision": prec, "recall": rec, "f1": f1}


def train(
    data_dir: Path = DEFAULT_DATA,
    out_dir: Path = MODEL_DIR,
    *,
    badwords: Path = DEFAULT_BADWORDS,
    clean: Sequence[str] = (),
    clean_weight: float = 1.0,
    clean_stripped: bool = False,
    clean_doc: bool = True,
    clean_held_out: Sequence[str] = (),
    clean_sources: Sequence[dict[str, Any]] = (),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Train on ``train``, pick C and thresholds on ``dev``, write the artefact to ``out_dir``; return its meta.

    ``clean``: texts of other registers known to hold no offensive language, added to the training data as clean
    examples (every token clean) with weight ``clean_weight`` (and their diacritic-free copies when
    ``clean_stripped``: off by default, since unaccented formal words collide with unaccented insults and the
    copies cost recall on them), for the token tagger and, when ``clean_doc``, the document model; ``clean_sources``
    describes where they came from, for the model card. Dev and test stay ViHOS only: C and the thresholds are
    still chosen on ViHOS dev. ``clean_held_out`` (clean sentences kept out of training) gives the share the final
    model flags, recorded in the meta."""
    pin_blas_kernels()
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    started = time.time()
    mask = (1 << HASH_BITS) - 1
    terms = derive_lexicon(badwords)
    lexicon = Lexicon.compile(Term(t, t) for t in terms) if terms else None
    train_ex = load_split(data_dir, "train")
    train_ex = train_ex + [strip_diacritics(e) for e in train_ex]
    extra = [Example(t, frozenset()) for t in clean]
    if clean_stripped:
        extra += [strip_diacritics(e) for e in extra]
    n_vihos = len(train_ex)
    train_ex = train_ex + extra
    dev_ex = load_split(data_dir, "dev")
    log(
        f"train {n_vihos} ViHOS examples (with diacritic-free copies) + {len(extra)} clean ones (weight "
        f"{clean_weight}), dev {len(dev_ex)}, lexicon {len(terms)} terms"
    )

    preps, docs, toks = _features(train_ex, lexicon)
    y_doc = np.array([int(e.label) for e in train_ex])
    tok_rows = [f for fs in toks for f in fs]
    y_tok = np.array([lab for p, e in zip(preps, train_ex, strict=True) for lab in _token_labels(p, e)])
    w_doc = np.where(np.arange(len(train_ex)) < n_vihos, 1.0, clean_weight)
    w_tok = np.repeat(w_doc, [len(fs) for fs in toks])
    if not clean_doc:
        docs, y_doc, w_doc = docs[:n_vihos], y_doc[:n_vihos], w_doc[:n_vihos]
    x_doc = _matrix(docs, mask)
    x_tok = _matrix(tok_rows, mask)
    dev_preps, dev_docs, dev_toks = _features(dev_ex, lexicon)
    x_dev_doc = _matrix(dev_docs, mask)
    dev_tok_rows = [f for fs in dev_toks for f in fs]
    x_dev_tok = _matrix(dev_tok_rows, mask)
    y_dev_doc = [int(e.label) for e in dev_ex]
    y_dev_tok = [lab for p, e in zip(dev_preps, dev_ex, strict=True) for lab in _token_labels(p, e)]

    best_doc: tuple[float, float, Any, float] = (0.0, -1.0, None, 0.5)
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):  # see BLAS_THREADS
        for c in C_GRID:
            clf = LogisticRegression(C=c, solver="liblinear", max_iter=200)
            clf.fit(x_doc, y_doc, sample_weight=w_doc)
            t, f1 = _best_threshold(clf.predict_proba(x_dev_doc)[:, 1].tolist(), y_dev_doc)
            log(f"doc  C={c}: dev F1 {f1:.4f} at threshold {t}")
            if f1 > best_doc[1]:
                best_doc = (c, f1, clf, t)
        # One C for the tagger: it is the slow fit, and C in 0.5..2 moved dev token F1 by under 0.01.
        tok_clf = LogisticRegression(C=TOKEN_C, solver="liblinear", max_iter=200)
        tok_clf.fit(x_tok, y_tok, sample_weight=w_tok)
    t_tok, f1_tok = _best_threshold(tok_clf.predict_proba(x_dev_tok)[:, 1].tolist(), y_dev_tok)
    log(f"token C={TOKEN_C}: dev token F1 {f1_tok:.4f} at threshold {t_tok}")

    doc_clf = best_doc[2]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    npz = out_dir / "model.npz"
    save_npz(
        npz,
        {
            "doc_w": doc_clf.coef_[0].astype(np.float32),
            "doc_b": np.float32(doc_clf.intercept_[0]),
            "tok_w": tok_clf.coef_[0].astype(np.float32),
            "tok_b": np.float32(tok_clf.intercept_[0]),
        },
    )
    # Choose how to combine the document score with the strongest token, and the threshold, on dev as written plus
    # dev with every diacritic stripped (production sees both kinds of writing), through the exact inference path
    # that will run in production.
    base_meta = {
        "hash_bits": HASH_BITS,
        "features": FEATURES,
        "threshold": 0.5,
        "token_threshold": t_tok,
        "lexicon": terms,
    }
    weights = dict(np.load(npz, allow_pickle=False))
    stripped_preps = [prepare(strip_diacritics(e).text, lexicon) for e in dev_ex]
    y_both = y_dev_doc + y_dev_doc
    combine, threshold, dev_f1 = "doc", 0.5, -1.0
    for mode in ("doc", "mean"):
        model = OffensiveModel(weights, {**base_meta, "combine": mode})
        scores = [model.score(p, model.token_scores(p)) for p in [*dev_preps, *stripped_preps]]
        t, f1 = _best_threshold(scores, y_both)
        log(f"combine={mode}: dev (as written + stripped) F1 {f1:.4f} at threshold {t}")
        if f1 > dev_f1:
            combine, threshold, dev_f1 = mode, t, f1
    held_out: dict[str, Any] = {}
    if clean_held_out:
        final = OffensiveModel(weights, {**base_meta, "combine": combine, "threshold": threshold})
        report = clean_text_report(final, clean_held_out, show=0)
        held_out = {k: report[k] for k in ("sentences", "flagged", "flagged_rate")}
        log(f"clean held-out sentences: {held_out['flagged']} of {held_out['sentences']} flagged")
    meta: dict[str, Any] = {
        # the name goes into every offensive signal: a model trained with clean text says so
        "name": "vihos+clean-hashed-logreg" if extra else "vihos-hashed-logreg",
        "version": 2,
        "trained_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "hash_bits": HASH_BITS,
        "features": FEATURES,
        "combine": combine,
        "threshold": threshold,
        "token_threshold": t_tok,
        "doc_C": best_doc[0],
        "token_C": TOKEN_C,
        "dev": {
            "binary_f1_written_and_stripped": round(dev_f1, 4),
            "doc_only_f1": round(best_doc[1], 4),
            "token_f1": round(f1_tok, 4),
        },
        "train_examples": len(train_ex),
        "data": "ViHOS (Hoang et al., EACL 2023), MIT, github.com/phusroyal/ViHOS",
        "lexicon_source": "derived from vn-badwords vi.json (MIT, github.com/Eris-js/vn-badwords), normalised",
        "lexicon": terms,
        "npz_sha256": hashlib.sha256(npz.read_bytes()).hexdigest(),
        "vihos_input_sha256": input_digest(terms, [*preps[:n_vihos], *dev_preps]),
        "train_seconds": round(time.time() - started, 1),
        "trained_with": _versions(),
    }
    if extra:  # a model trained on ViHOS alone keeps the meta it always had
        meta |= {
            "clean_examples": len(extra),
            "clean_weight": clean_weight,
            "clean_in_document_model": clean_doc,
            "clean_sources": list(clean_sources),
            "clean_held_out": held_out,
        }
    (out_dir / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {npz} ({npz.stat().st_size / 1e6:.2f} MB) in {meta['train_seconds']} s")
    return meta


def _char_f1(pred: set[int], gold: frozenset[int]) -> float:
    if not pred and not gold:
        return 1.0
    if not pred or not gold:
        return 0.0
    tp = len(pred & gold)
    if not tp:
        return 0.0
    p, r = tp / len(pred), tp / len(gold)
    return 2 * p * r / (p + r)


def _predicted_offsets(model: OffensiveModel, text: str) -> tuple[float, set[int]]:
    res = model.predict(text)  # the production path
    offsets: set[int] = set()
    for a, b in res.spans:
        offsets.update(range(a, b))
    return res.score, offsets


def evaluate(model: OffensiveModel, examples: Sequence[Example]) -> dict[str, Any]:
    """Return binary P/R/F1 and span F1 (per-comment character F1, averaged; plus micro) on ``examples``."""
    started = time.perf_counter()
    scores: list[float] = []
    span_f1s: list[float] = []
    tp = fp = fn = 0
    for ex in examples:
        score, offsets = _predicted_offsets(model, ex.text)
        scores.append(score)
        span_f1s.append(_char_f1(offsets, ex.offsets))
        tp += len(offsets & ex.offsets)
        fp += len(offsets - ex.offsets)
        fn += len(ex.offsets - offsets)
    elapsed = time.perf_counter() - started
    binary = _f1([s >= model.threshold for s in scores], [e.label for e in examples])
    micro_p = tp / (tp + fp) if tp + fp else 0.0
    micro_r = tp / (tp + fn) if tp + fn else 0.0
    return {
        "n": len(examples),
        "binary": {k: round(v, 4) for k, v in binary.items()},
        "span_f1": round(float(np.mean(span_f1s)) if span_f1s else 0.0, 4),
        "span_f1_offensive_only": round(
            float(np.mean([f for f, e in zip(span_f1s, examples, strict=True) if e.label] or [0.0])), 4
        ),
        "char_micro_f1": round(2 * micro_p * micro_r / (micro_p + micro_r) if micro_p + micro_r else 0.0, 4),
        "items_per_second": round(len(examples) / elapsed, 1) if elapsed else None,
    }


_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


def clean_sentences(text: str, min_chars: int = 20, max_chars: int = 300) -> list[str]:
    """Split ``text`` into sentences (after ``. ! ? ;`` and at line breaks) of ``min_chars`` to ``max_chars``."""
    return [s.strip() for s in _SENTENCE_END.split(text) if min_chars <= len(s.strip()) <= max_chars]


def clean_text_report(model: OffensiveModel, sentences: Sequence[str], show: int = 10) -> dict[str, Any]:
    """How often the model flags sentences known to hold no offensive language (a false-positive rate on text of
    the caller's register: its own articles, official documents), with the first ``show`` flagged ones."""
    flagged = []
    with_span = 0
    for text in sentences:
        res = model.predict(text)
        if res.flagged:
            with_span += bool(res.spans)
            flagged.append({"score": round(res.score, 3), "spans": [text[a:b] for a, b in res.spans], "text": text})
    n = len(sentences)
    return {
        "sentences": n,
        "flagged": len(flagged),
        "flagged_rate": round(len(flagged) / n, 4) if n else 0.0,
        "flagged_with_span": with_span,
        "examples": flagged[:show],
    }
