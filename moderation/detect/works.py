"""Protected works: a near-duplicate index of registered press, literary and other works (Circular 07/2008 §3.3, 3.5).

Method. Text is split into words (runs of letters and digits of the original text, HTML tags masked), each word
case-folded and stripped of diacritics, and every run of ``SHINGLE_WORDS`` consecutive words inside one paragraph
becomes a 32-bit shingle hash (a numpy rolling hash over word ids, which are themselves vectorised polynomial hashes
of the folded letters, so NFC and NFD spellings agree). A work is summarised by a **bottom-k MinHash sketch**: the
``SKETCH_SIZE`` smallest distinct shingle hashes. Because the sample is uniform over the work's shingles,
``|sketch ∩ shingles(post)| / |sketch|`` estimates the share of the work contained in the post (containment, not
Jaccard), so a work that is a small part of a long post is still found, and deleted or shuffled paragraphs only
lower the share by the text removed. Stripped diacritics cost nothing (folding), a small edit loses the few shingles
it touches.

Lookup. The sketches of all works form one inverted index: a sorted ``uint32`` array of sampled hashes with a
parallel ``uint32`` array of work numbers. A post's shingles are looked up with one vectorised ``searchsorted``;
hit counts per work (``bincount``) give every candidate's share at once. The inverted index plays the role LSH
banding plays for Jaccard MinHash: it returns only works that share sampled shingles, with no per-work loop; unlike
banding over a whole-work signature it does not miss a work embedded in a much longer post.

Memory per work: ``SKETCH_SIZE`` × 8 bytes in the inverted index (hash + work number: 512 B at k = 64, 516 B with the
sample-size array) plus the kept :class:`WorkSketch` (metadata strings and its own copy of the sketch, about 640 B
measured with short ids and titles), so about 1.2 KB per work, ~115 MB for 100,000 works. Bodies are not kept.
Measured by ``benches/bench_detectors.py`` (``.venv/bin/python -m benches.bench_detectors``).

Licences. A post crediting the rights holder (or the work's source host) does not infringe a work whose licence
accepts attribution (Creative Commons family); public-domain and CC0 works are never reported.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import regex

from moderation.detect.identity import fold, fold_table_1to1
from moderation.domain import Item, Signal, Span

DETECTOR = "work_match/1"
SHINGLE_WORDS = 5
SKETCH_SIZE = 64
MIN_SHARE = 0.3  # below this a share is reported nowhere; the policy pack sets the real thresholds
MIN_HITS = 4  # sampled shingles that must match, so a tiny work is not matched by one common phrase
SPAN_GAP_WORDS = 24  # hits closer than this many words are merged into one evidence span

_TAG = regex.compile(r"<[^>]*>")
_BLOCK_TAG = regex.compile(r"<\s*/?\s*(?:p|br|div|li|h[1-6]|blockquote|tr|section|article)\b", regex.I)

_MUL = np.uint64(0x9E3779B97F4A7C15)
_BASE = np.uint64(1099511628211)

_PD_LICENCES = ("cc0", "public domain", "public-domain", "pd", "cong cong")
_ATTRIBUTION_LICENCES = ("cc-by", "cc by", "creative commons")


_P = np.uint64(0x100000001B3)  # odd, so invertible modulo 2**64
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_MARK = 1  # code point the 1:1 fold table gives combining marks


@functools.cache
def _fold_lut() -> npt.NDArray[np.int64]:
    """Return the 1:1 fold table as a code-point lookup array (``str.translate`` with a dict is 10x slower)."""
    table = fold_table_1to1()
    size = max(table) + 1
    lut = np.arange(size, dtype=np.int64)
    for cp, folded in table.items():
        lut[cp] = ord(folded)
    return lut


@functools.cache
def _word_char_mask() -> npt.NDArray[np.bool_]:
    mask = np.fromiter((chr(cp).isalnum() for cp in range(0x10000)), dtype=np.bool_, count=0x10000)
    mask[_MARK] = True
    return mask


_power_tables: dict[int, npt.NDArray[np.uint64]] = {}


def _powers(base: np.uint64, n: int) -> npt.NDArray[np.uint64]:
    """Return ``base**0 .. base**n`` modulo 2**64 (cached, grown by doubling)."""
    table = _power_tables.get(int(base))
    if table is None or len(table) <= n:
        size = max(n + 1, 2 * (len(table) if table is not None else 4096))
        table = np.empty(size, dtype=np.uint64)
        table[0] = 1
        table[1:] = np.cumprod(np.full(size - 1, base, dtype=np.uint64))  # wraps modulo 2**64, as intended
        _power_tables[int(base)] = table
    return table


def _words(
    text: str,
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Return (word ids, word starts, word ends, paragraph numbers) of ``text``, all vectorised.

    The text is folded one character to one character (so offsets are the original's), combining marks are skipped
    when hashing (so NFC and NFD spellings of a word get the same id), and a word id is a polynomial hash of its
    folded letters computed from prefix sums: ``(S[end] - S[start]) * P^-rank(start)``.
    """
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    lut = _fold_lut()
    in_table = cps < len(lut)
    cps[in_table] = lut[cps[in_table]]
    n = len(cps)
    empty = np.zeros(0, dtype=np.int64)
    if n == 0:
        return np.zeros(0, dtype=np.uint64), empty, empty, empty
    is_word = np.zeros(n, dtype=np.bool_)
    low = cps < 0x10000
    is_word[low] = _word_char_mask()[cps[low]]
    edges = np.diff(np.concatenate(([0], is_word.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    is_mark = cps == _MARK
    counted = is_word & ~is_mark
    rank = np.cumsum(counted) - counted  # index of each counted character among counted characters
    pw = _powers(_P, int(counted.sum()))
    contrib = np.where(counted, cps.astype(np.uint64) + np.uint64(1), np.uint64(0)) * pw[rank]
    prefix = np.concatenate((np.zeros(1, dtype=np.uint64), np.cumsum(contrib, dtype=np.uint64)))
    inv = _powers(_P_INV, int(rank[starts].max()) if len(starts) else 0)
    ids = (prefix[ends] - prefix[starts]) * inv[rank[starts]]
    paragraph = np.cumsum(cps == 10)[starts] if len(starts) else empty
    return ids, starts.astype(np.int64), ends.astype(np.int64), paragraph.astype(np.int64)


@dataclass(frozen=True, slots=True)
class Shingles:
    """The shingles of one text: hash per shingle and the word range it covers (offsets into the original)."""

    hashes: npt.NDArray[np.uint32]
    first_word: npt.NDArray[np.int32]
    last_word: npt.NDArray[np.int32]
    word_starts: npt.NDArray[np.int32]
    word_ends: npt.NDArray[np.int32]


def _mask_html(text: str) -> str:
    """Blank HTML tags with spaces (block tags become a newline) so offsets stay those of the original."""

    def blank(m: regex.Match[str]) -> str:
        tag = m.group()
        return ("\n" if _BLOCK_TAG.match(tag) else " ") + " " * (len(tag) - 1)

    return _TAG.sub(blank, text)


def shingle(text: str, *, html: bool = False, k: int = SHINGLE_WORDS) -> Shingles:
    """Return the word shingles of ``text``; a paragraph shorter than ``k`` words is one shingle."""
    source = _mask_html(text) if html else text
    word, word_starts, word_ends, par = _words(source)
    n = len(word)
    empty32 = np.zeros(0, dtype=np.int32)
    if n == 0:
        return Shingles(np.zeros(0, dtype=np.uint32), empty32, empty32, empty32, empty32)
    first_parts: list[npt.NDArray[np.int32]] = []
    last_parts: list[npt.NDArray[np.int32]] = []
    hash_parts: list[npt.NDArray[np.uint64]] = []
    if n >= k:
        h = np.zeros(n - k + 1, dtype=np.uint64)
        for j in range(k):
            h = h * _BASE + word[j : n - k + 1 + j]
        first = np.arange(n - k + 1, dtype=np.int32)
        same_para = par[first] == par[first + k - 1]
        hash_parts.append(h[same_para])
        first_parts.append(first[same_para])
        last_parts.append(first[same_para] + k - 1)
    # Short paragraphs: one shingle each, so a work of short lines (a poem) is still indexed.
    boundaries = np.flatnonzero(np.diff(par)) + 1
    para_starts = np.concatenate(([0], boundaries)).astype(np.int32)
    para_ends = np.concatenate((boundaries, [n])).astype(np.int32)
    short = (para_ends - para_starts) < k
    for s, e in zip(para_starts[short], para_ends[short], strict=True):
        h1 = 0  # Python ints: numpy scalars warn on the (intended) wrap-around
        for j in range(int(s), int(e)):
            h1 = (h1 * int(_BASE) + int(word[j])) & 0xFFFFFFFFFFFFFFFF
        hash_parts.append(np.asarray([h1 ^ int(e - s)], dtype=np.uint64))
        first_parts.append(np.asarray([s], dtype=np.int32))
        last_parts.append(np.asarray([e - 1], dtype=np.int32))
    raw = np.concatenate(hash_parts) if hash_parts else np.zeros(0, dtype=np.uint64)
    mixed = raw * _MUL
    mixed ^= mixed >> np.uint64(29)
    hashes = (mixed >> np.uint64(32)).astype(np.uint32)
    return Shingles(
        hashes=hashes,
        first_word=np.concatenate(first_parts) if first_parts else empty32,
        last_word=np.concatenate(last_parts) if last_parts else empty32,
        word_starts=word_starts.astype(np.int32),
        word_ends=word_ends.astype(np.int32),
    )


@dataclass(frozen=True, slots=True)
class Work:
    """A registered work a platform or rights holder protects."""

    id: str
    title: str
    body: str
    rights_holder: str = ""
    licence: str = ""  # "all-rights-reserved", "CC-BY-4.0", "CC0", ...
    platform_id: str | None = None
    source_url: str = ""


@dataclass(frozen=True, slots=True)
class WorkSketch:
    """What the index keeps of a work: its metadata and bottom-k sketch (storable, no body needed)."""

    id: str
    title: str
    rights_holder: str
    licence: str
    platform_id: str | None
    shingle_count: int
    sketch: npt.NDArray[np.uint32]
    source_url: str = ""

    def sketch_bytes(self) -> bytes:
        """Return the sketch as little-endian bytes for storage."""
        return self.sketch.astype("<u4").tobytes()

    @staticmethod
    def sketch_from_bytes(data: bytes) -> npt.NDArray[np.uint32]:
        """Decode a stored sketch."""
        return np.frombuffer(data, dtype="<u4").astype(np.uint32)


def sketch_work(work: Work, *, size: int = SKETCH_SIZE) -> WorkSketch:
    """Compute a work's bottom-k sketch from its title and body."""
    body = shingle(work.body).hashes
    unique = np.unique(body)
    return WorkSketch(
        id=work.id,
        title=work.title,
        rights_holder=work.rights_holder,
        licence=work.licence,
        platform_id=work.platform_id,
        shingle_count=len(unique),
        sketch=unique[:size].astype(np.uint32),
        source_url=work.source_url,
    )


@dataclass(frozen=True, slots=True)
class WorkHit:
    """A work found in a text."""

    work: WorkSketch
    share: float  # estimated share of the work's shingles found in the text
    hits: int  # sampled shingles found
    spans: tuple[tuple[str, int, int], ...]  # (field, start, end) regions of the text around the hits


_EMPTY32 = np.zeros(0, dtype=np.uint32)


@dataclass(frozen=True)
class WorksIndex:
    """The inverted index of work sketches (see the module docstring)."""

    works: tuple[WorkSketch, ...] = ()
    hashes: npt.NDArray[np.uint32] = field(default_factory=lambda: _EMPTY32, repr=False)
    work_numbers: npt.NDArray[np.uint32] = field(default_factory=lambda: _EMPTY32, repr=False)
    sample_sizes: npt.NDArray[np.int32] = field(default_factory=lambda: np.zeros(0, dtype=np.int32), repr=False)

    @classmethod
    def build(cls, works: Iterable[Work | WorkSketch]) -> WorksIndex:
        """Index works (bodies are sketched; stored sketches are used as they are)."""
        sketches = tuple(w if isinstance(w, WorkSketch) else sketch_work(w) for w in works)
        if not sketches:
            return cls()
        sizes = np.fromiter((len(s.sketch) for s in sketches), dtype=np.int32, count=len(sketches))
        all_hashes = np.concatenate([s.sketch for s in sketches]).astype(np.uint32)
        numbers = np.repeat(np.arange(len(sketches), dtype=np.uint32), sizes)
        order = np.argsort(all_hashes, kind="stable")
        return cls(works=sketches, hashes=all_hashes[order], work_numbers=numbers[order], sample_sizes=sizes)

    def __len__(self) -> int:
        return len(self.works)

    @property
    def nbytes(self) -> int:
        """Return the bytes held by the index arrays (not the metadata objects)."""
        return int(self.hashes.nbytes + self.work_numbers.nbytes + self.sample_sizes.nbytes)

    def search(
        self,
        texts: Sequence[tuple[str, str]],
        *,
        html_fields: Iterable[str] = (),
        min_share: float = MIN_SHARE,
        min_hits: int = MIN_HITS,
        platform_id: str | None = None,
    ) -> list[WorkHit]:
        """Return the works contained in the (field, text) pairs with share >= ``min_share``, best first."""
        if not len(self.works):
            return []
        html = set(html_fields)
        per_field = [(name, text, shingle(text, html=name in html)) for name, text in texts]
        all_post = [sh.hashes for _, _, sh in per_field if len(sh.hashes)]
        if not all_post:
            return []
        post = np.unique(np.concatenate(all_post))
        left = np.searchsorted(self.hashes, post, side="left")
        right = np.searchsorted(self.hashes, post, side="right")
        lengths = right - left
        total = int(lengths.sum())
        if total == 0:
            return []
        seg_start = np.repeat(left - (np.cumsum(lengths) - lengths), lengths)
        idx = seg_start + np.arange(total)
        works_hit = self.work_numbers[idx]
        counts = np.bincount(works_hit, minlength=len(self.works))
        candidates = np.flatnonzero(counts >= min_hits)
        hits: list[WorkHit] = []
        for w in candidates:
            sketch = self.works[int(w)]
            if sketch.platform_id is not None and platform_id is not None and sketch.platform_id != platform_id:
                continue
            share = float(counts[w]) / float(self.sample_sizes[w])
            if share < min_share:
                continue
            matched = self.hashes[idx[works_hit == w]]
            hits.append(WorkHit(sketch, round(share, 4), int(counts[w]), _spans(per_field, matched)))
        hits.sort(key=lambda h: (-h.share, h.work.id))
        return hits


def _spans(
    per_field: Sequence[tuple[str, str, Shingles]], matched: npt.NDArray[np.uint32]
) -> tuple[tuple[str, int, int], ...]:
    out: list[tuple[str, int, int]] = []
    for name, _text, sh in per_field:
        if not len(sh.hashes):
            continue
        where = np.flatnonzero(np.isin(sh.hashes, matched))
        if not len(where):
            continue
        order = np.argsort(sh.first_word[where], kind="stable")
        firsts = sh.first_word[where][order]
        lasts = sh.last_word[where][order]
        cur_a, cur_b = int(firsts[0]), int(lasts[0])
        for a, b in zip(firsts[1:], lasts[1:], strict=True):
            if int(a) <= cur_b + SPAN_GAP_WORDS:
                cur_b = max(cur_b, int(b))
            else:
                out.append((name, int(sh.word_starts[cur_a]), int(sh.word_ends[cur_b])))
                cur_a, cur_b = int(a), int(b)
        out.append((name, int(sh.word_starts[cur_a]), int(sh.word_ends[cur_b])))
    return tuple(out)


def licence_kind(licence: str) -> str:
    """Classify a licence string: ``public`` (no conditions), ``attribution`` (credit suffices) or ``reserved``."""
    lic = fold(licence).strip()
    if lic.startswith(_PD_LICENCES) or lic.replace(" ", "").startswith("cc0"):
        return "public"
    if lic.startswith(_ATTRIBUTION_LICENCES):
        return "attribution"
    return "reserved"


def credits_work(post_text: str, work: WorkSketch) -> bool:
    """Tell whether ``post_text`` credits the work's rights holder or source (compared without diacritics)."""
    post = " ".join(fold(post_text).split())
    holder = " ".join(fold(work.rights_holder).split())
    if holder and len(holder) >= 3 and holder in post:
        return True
    if work.source_url:
        from moderation.detect.urls import normalise_url

        norm = normalise_url(work.source_url)
        if norm is not None and norm.registrable_domain and norm.registrable_domain in post:
            return True
    return False


_TEXT_FIELDS = ("title", "body")


def detect_work_matches(
    item: Item, registries: Any, *, min_share: float = MIN_SHARE, fields: Sequence[str] = _TEXT_FIELDS
) -> list[Signal]:
    """Report registered works contained in the item's title and body, unless the licence and credit allow it.

    ``registries`` is a :class:`~moderation.detect.registries.Registries` or a :class:`WorksIndex`.
    """
    index: WorksIndex = registries if isinstance(registries, WorksIndex) else registries.works
    texts = [(name, item.fields[name]) for name in fields if item.fields.get(name)]
    if not texts or not len(index):
        return []
    html_fields = ("body",) if item.body_format == "html" else ()
    signals = []
    full_text = "\n".join(text for _, text in texts)
    for hit in index.search(texts, html_fields=html_fields, min_share=min_share, platform_id=item.platform_id):
        kind = licence_kind(hit.work.licence)
        if kind == "public":
            continue
        credited = credits_work(full_text, hit.work)
        if kind == "attribution" and credited:
            continue
        field_text = dict(texts)
        signals.append(
            Signal(
                kind="work_match",
                key=hit.work.id,
                score=min(1.0, hit.share),
                spans=tuple(Span(f, s, e, field_text[f][s:e]) for f, s, e in hit.spans),
                attrs={
                    "work_id": hit.work.id,
                    "title": hit.work.title,
                    "rights_holder": hit.work.rights_holder,
                    "licence": hit.work.licence,
                    "licence_kind": kind,
                    "share": hit.share,
                    "sampled_hits": hit.hits,
                    "sample_size": len(hit.work.sketch),
                    "credited": credited,
                },
                detector=DETECTOR,
            )
        )
    return signals
