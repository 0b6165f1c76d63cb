"""Compile a pack set's term lists and patterns once, and find them in an item's fields with original offsets.

Uses ``moderation.detect.lexicon`` when it is installed (the text engineer's matcher, with the full normaliser);
until then a built-in matcher folds case and Vietnamese diacritics one character for one character (so offsets
need no map in the common case), tolerates simple obfuscation (separators inside words, repeated letters, a few
look-alike digits and symbols) and scans every list of every pack with one Hyperscan database.
"""

from __future__ import annotations

import functools
import html
import importlib
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import hyperscan
import numpy as np
import regex

from moderation.domain import Item, Signal, Span
from moderation.heap import item_time
from moderation.hscache import compile_database

_c: Any
try:  # the compiled loops (moderation/_ext/_rules.pyx); without them the Python code below does the same work
    from moderation._ext import _rules as _c
except ImportError:  # pragma: no cover - depends on the build
    _c = None
_s: Any
try:  # the compiled regex-stage fold and lexicon grouping (moderation/_ext/_scan.pyx)
    from moderation._ext import _scan as _s
except ImportError:  # pragma: no cover - depends on the build
    _s = None
_t: Any
try:  # Span and Signal objects made in C without their __init__ (moderation/_ext/_targets.pyx: build)
    from moderation._ext import _targets as _t
except ImportError:  # pragma: no cover - depends on the build
    _t = None

MATCHER_VERSION = "policy-lexicon/1"
REGEX_VERSION = "policy-regex/1"
CONTEXT_VERSION = "policy-context/1"
REGEX_TIMEOUT_S = 0.05  # per search
REGEX_ITEM_BUDGET_S = 0.05  # all the searches of one item together
# Evidence kept per term (or pattern) and field: enough for any rule's min_hits, and bounded work on a hostile
# megabyte of repeated terms. Counting rules see at most this many hits.
MAX_SPANS = 100

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------------------------------
# Folding: one output character per input character, so folded[i] comes from original[i].


@functools.cache
def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for cp in range(0x80, 0x2000):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c)).casefold()
        if len(base) == 1 and base != ch:
            table[cp] = base
    for cp in range(0x41, 0x5B):
        table[cp] = chr(cp + 32)
    table.update({ord("đ"): "d", ord("Đ"): "d", ord("ð"): "d"})
    # Typographic quotes fold to ASCII so the quotation cue and the patterns see one kind.
    table.update({ord(c): '"' for c in "“”„«»"})
    table.update({ord(c): "'" for c in "‘’‚"})
    table.update({ord(c): "-" for c in "‐‑‒–—"})
    return table


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_COMBINING = re.compile(r"[\u0300-\u036f]")


_LUT_SIZE = 0x2100  # the fold table's range plus the typographic punctuation it maps
_DROP = 0xFF  # marks a combining character in the lookup table


@functools.cache
def _fold_lut() -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Return, for each code point below ``_LUT_SIZE``, the ASCII byte :func:`fold_text` turns it into."""
    table = _fold_table()
    lut = np.full(_LUT_SIZE, 0x1A, dtype=np.uint8)
    for cp in range(_LUT_SIZE):
        ch = chr(cp)
        if unicodedata.combining(ch):
            lut[cp] = _DROP
            continue
        out = table.get(cp, ch)
        if out.isascii():
            lut[cp] = ord(out)
    return lut


def _fold_text_slow(text: str) -> tuple[str, list[int] | None]:
    folded = text.translate(_fold_table())
    offsets: list[int] | None = None
    if _COMBINING.search(folded):
        keep = [i for i, ch in enumerate(folded) if not unicodedata.combining(ch)]
        folded = "".join(folded[i] for i in keep)
        offsets = [*keep, len(text)]
    if not folded.isascii():
        folded = _NON_ASCII.sub("\x1a", folded)
    return folded, offsets


@functools.cache
def _fold_lut_bmp() -> np.ndarray[Any, np.dtype[np.uint8]]:
    """:func:`_fold_lut` extended to the whole BMP (what fold_text does beyond it: 0x1A, or drop a combining mark),
    so a text without astral characters folds with one lookup and no range checks."""
    lut = np.full(0x10000, 0x1A, dtype=np.uint8)
    lut[:_LUT_SIZE] = _fold_lut()
    for cp in range(_LUT_SIZE, 0x10000):
        if unicodedata.combining(chr(cp)):
            lut[cp] = _DROP
    return lut


@functools.cache
def _fold_lut_bytes() -> bytes:
    return _fold_lut_bmp().tobytes()


def fold_text(text: str) -> tuple[str, list[int] | None]:
    """Fold ``text`` (lower case, no diacritics, ASCII only) and return the offset map, or None when it is 1:1.

    Characters that stay non-ASCII become U+001A so byte offsets equal character offsets; combining marks (text in
    decomposed form) are dropped, and then the map gives each folded character's original index (plus the end).
    Computed with one table lookup per character in the compiled extension, else in numpy (:func:`_fold_text_np`;
    ``str.translate`` with a dict costs more than the regexes).
    """
    if text.isascii():
        return text.lower(), None
    if _c is not None:
        folded: tuple[str, list[int] | None] = _c.fold_non_ascii(text, _fold_lut_bytes(), unicodedata.combining)
        return folded
    return _fold_text_np(text)


def _fold_bytes(text: str) -> tuple[bytes, Sequence[int] | None, bool, bool | None]:
    """``fold_text(text)`` for the regex stage: the folded text as ASCII bytes, its offset map when already made,
    whether there is one (the compiled path makes no map: :func:`_fold_offsets` makes it for a match), and
    whether the bytes hold one of ``_PY_ONLY_SPACES`` (None: not looked for)."""
    if _s is not None:
        data, mapped, spaces = _s.fold_bytes(text, _fold_lut_bytes(), unicodedata.combining)
        return data, None, mapped, spaces
    folded, offsets = fold_text(text)
    return folded.encode("ascii"), offsets, offsets is not None, None


def _fold_offsets(text: str) -> Sequence[int] | None:
    """``fold_text(text)[1]`` (compiled: a view of native integers, no Python int per character)."""
    if _s is not None:
        raw = _s.fold_offsets(text, _fold_lut_bytes(), unicodedata.combining)
        return None if raw is None else memoryview(raw).cast("q")
    return fold_text(text)[1]


def _fold_text_np(text: str) -> tuple[str, list[int] | None]:
    """:func:`fold_text` in numpy (the reference of the compiled path, and the path without it)."""
    if text.isascii():
        return text.lower(), None
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    if cps.max() <= 0xFFFF:  # the common case: one lookup; a drop (0xFF) is the only byte above ASCII
        out = _fold_lut_bmp()[cps]
        if out.max() != _DROP:
            return out.tobytes().decode("ascii"), None
        return _drop_marks(cps, out, len(text))
    return _fold_general(cps, len(text))


def _fold_general(cps: np.ndarray[Any, np.dtype[np.uint32]], n: int) -> tuple[str, list[int] | None]:
    """:func:`fold_text` of any non-ASCII text given as code points (the BMP shortcut must agree with it)."""
    lut = _fold_lut()
    big = cps >= _LUT_SIZE
    if big.any():
        out = lut[np.where(big, 0x41, cps)]  # placeholder, overwritten below
        highs = np.unique(cps[big]).tolist()
        drop = [cp for cp in highs if unicodedata.combining(chr(cp))]
        out[big] = 0x1A
        if drop:
            out[np.isin(cps, drop)] = _DROP
    else:
        out = lut[cps]
    if not (out == _DROP).any():
        return out.tobytes().decode("ascii"), None
    return _drop_marks(cps, out, n)


def _drop_marks(
    cps: np.ndarray[Any, np.dtype[np.uint32]], out: np.ndarray[Any, np.dtype[np.uint8]], n: int
) -> tuple[str, list[int] | None]:
    dropped = out == _DROP
    in_block = (cps >= 0x300) & (cps <= 0x36F)
    if not in_block.any():  # other combining marks are dropped only when the text also has Latin ones
        return np.where(dropped, 0x1A, out).astype(np.uint8).tobytes().decode("ascii"), None
    keep = ~dropped
    offsets: list[int] = np.flatnonzero(keep).tolist()
    offsets.append(n)
    return out[keep].tobytes().decode("ascii"), offsets


def to_original(offsets: Sequence[int] | None, start: int, end: int, text: str) -> tuple[int, int]:
    """Map a folded ``[start, end)`` back to the original text (keeping trailing combining marks in the span)."""
    if offsets is None:
        return start, end
    s = offsets[start]
    e = offsets[end - 1] + 1 if end > start else s
    while e < len(text) and unicodedata.combining(text[e]):
        e += 1
    return s, e


# ------------------------------------------------------------------------------------------------------------------
# Field text: HTML bodies become text of the same length (tags and entities blanked), so offsets stay original.

_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.S | re.I)
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z][a-z0-9]*);", re.I)


_NOT_PLAIN_TAGS = re.compile(r"<(?:script|style|!--)", re.I)


def _blank_plain_tags(body: str) -> str:
    """``_TAG`` blanking for a body with no script, style or comment (only ``<[^>]*>`` can match), in numpy.

    ``re.sub`` scans left to right: a tag opens at the first ``<`` after the previous tag and closes at the next
    ``>``. So each ``>`` closes a tag exactly when a ``<`` comes after the ``>`` before it; no ``>`` after a ``<``
    means no tag there (nor after). One call per body instead of one Python call per tag (a deep-nested megabyte
    holds ~100,000 tags).
    """
    cps = np.frombuffer(body.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    opens = np.flatnonzero(cps == ord("<"))
    closes = np.flatnonzero(cps == ord(">"))
    if not len(opens) or not len(closes):
        return body
    after = np.concatenate(([-1], closes[:-1]))  # the previous ">" of each ">"
    first = np.searchsorted(opens, after, side="right")  # index of the first "<" after it
    has = first < len(opens)
    starts = opens[np.minimum(first, len(opens) - 1)]
    keep = has & (starts < closes)
    starts, ends = starts[keep], closes[keep] + 1
    if not len(starts):
        return body
    depth = np.zeros(len(cps) + 1, dtype=np.int32)
    depth[starts] += 1  # starts are distinct, and so are ends (a tag may start where the previous one ended)
    depth[ends] -= 1
    out = cps.copy()
    out[np.cumsum(depth[:-1]) > 0] = 0x20
    return out.tobytes().decode("utf-32-le", "surrogatepass")


def html_to_text_same_length(body: str) -> str:
    """Blank tags, comments, scripts and styles with spaces and decode entities in place, padding with U+200B."""
    if "<" not in body:
        out = body
    elif len(body) > 4096 and body.count("<") * 64 > len(body) and _NOT_PLAIN_TAGS.search(body) is None:
        out = _blank_plain_tags(body)
    else:
        out = _TAG.sub(lambda m: " " * len(m.group(0)), body)

    def entity(m: re.Match[str]) -> str:
        decoded = html.unescape(m.group(0))
        if len(decoded) != 1:
            return " " * len(m.group(0))
        # The zero-width space pads the entity to its length and folds to a non-word byte the matcher skips.
        return decoded + "\u200b" * (len(m.group(0)) - 1)

    return _ENTITY.sub(entity, out)


@dataclass(frozen=True, slots=True)
class FieldText:
    """One field: its original text, the text the matchers scan, and how to map offsets back."""

    field: str
    original: str
    text: str  # same length as original unless ``to_orig`` is given
    to_orig: Callable[[int, int], tuple[int, int]] | None = None

    def span(self, start: int, end: int) -> Span:
        if self.to_orig is not None:
            start, end = self.to_orig(start, end)
        return Span(self.field, start, end, self.original[start:end])


def _extractor() -> Callable[[str], Any] | None:
    try:
        mod = importlib.import_module("moderation.text.extract")
    except ImportError:
        return None
    for name in ("html_to_text", "extract_html", "extract"):
        fn = getattr(mod, name, None)
        if callable(fn):
            return fn  # type: ignore[no-any-return]
    return None


# FieldText(field, original, text, None) with its slots filled directly when the extension is built (a frozen
# dataclass's ``__init__`` stores each field through ``object.__setattr__``).
_MAKE_FIELD: Any = _c.SlotMaker(FieldText, ["field", "original", "text", "to_orig"]) if _c is not None else None


def field_texts(item: Item) -> list[FieldText]:
    """Return the text to scan for every non-empty field of ``item``."""
    out = []
    html = item.body_format == "html"
    for name, value in item.fields.items():
        if not isinstance(value, str) or not value:
            continue
        if html and name == "body":
            out.append(FieldText(name, value, html_to_text_same_length(value)))
        elif _MAKE_FIELD is not None:
            out.append(_MAKE_FIELD.make((name, value, value, None)))
        else:
            out.append(FieldText(name, value, value))
    return out


# ------------------------------------------------------------------------------------------------------------------
# The built-in term matcher

# Look-alikes seen in evasion: 0 for o, 1/! for i, 3 for e, 4/@ for a, 5/$ for s, 7 for t.
_LEET = {"a": "a4@", "e": "e3", "i": "i1!l", "o": "o0", "s": "s5$", "t": "t7", "u": "uv", "y": "yi", "d": "d"}
_SEP = r"[\x1a._*'`~^\-]?"
_GAP = r"[\s\x1a._*'`~^\-]+"


def _char_re(ch: str, first: bool) -> str:
    variants = _LEET.get(ch, ch)
    if first:
        variants = "".join(c for c in variants if c.isalnum())
    cls = "[" + "".join(re.escape(c) for c in variants) + "]" if len(variants) > 1 else re.escape(variants)
    return cls + "+"


def term_regex(term: str, match: str = "word") -> str:
    """Translate a folded term into a Hyperscan expression that tolerates simple obfuscation."""
    words = []
    for word in term.split():
        parts = []
        for i, ch in enumerate(word):
            if ch.isalnum():
                parts.append(_char_re(ch, first=i == 0))
                if i < len(word) - 1:
                    parts.append(_SEP)
            else:
                parts.append(re.escape(ch))
        words.append("".join(parts))
    body = _GAP.join(words)
    if match == "word":
        return rf"\b{body}\b"
    return body


@dataclass(frozen=True, slots=True)
class TermRef:
    pack_id: str
    lexicon_id: str
    term: str
    weight: float


class Matcher:
    """All term lists of a pack set in one Hyperscan database (compiled once per pack-set version)."""

    def __init__(self, lists: Iterable[tuple[str, str, str, Sequence[tuple[str, float, bool]]]]) -> None:
        """``lists`` yields (pack id, lexicon id, match mode, [(term, weight, fold)]); the fallback always folds."""
        self.refs: list[TermRef] = []
        exprs: list[bytes] = []
        for pack_id, lex_id, mode, terms in lists:
            for term, weight, _fold in terms:
                folded, _ = fold_text(term)
                folded = " ".join(folded.split())
                exprs.append(term_regex(folded, mode).encode())
                self.refs.append(TermRef(pack_id, lex_id, term, weight))
        self.terms = len(exprs)
        self.db: hyperscan.Database | None = None
        if exprs:
            flags = [hyperscan.HS_FLAG_SOM_LEFTMOST | hyperscan.HS_FLAG_CASELESS] * len(exprs)
            self.db = compile_database(exprs, range(len(exprs)), flags)  # cached on disk between processes

    def scan(self, folded: str) -> list[tuple[int, int, int]]:
        """Return (term index, start, end) for every match in a folded ASCII text, leftmost-longest per term."""
        if self.db is None or not folded:
            return []
        found: dict[tuple[int, int], int] = {}

        def on_match(idx: int, start: int, end: int, _flags: int, _ctx: object) -> None:
            key = (idx, start)
            if found.get(key, -1) < end:
                found[key] = end

        # Scratch space is per thread: Hyperscan allocates a clone when the shared one is busy.
        self.db.scan(folded.encode("ascii"), match_event_handler=on_match, scratch=self._scratch())
        out = sorted((idx, s, e) for (idx, s), e in found.items())
        # Drop matches contained in an earlier match of the same term (repeated letters give several ends).
        kept: list[tuple[int, int, int]] = []
        for idx, s, e in out:
            if kept and kept[-1][0] == idx and s < kept[-1][2]:
                continue
            kept.append((idx, s, e))
        return kept

    def _scratch(self) -> hyperscan.Scratch:
        # Hyperscan scratch space may not be shared between threads: keep one per thread and matcher.
        local: dict[int, hyperscan.Scratch] = _scratch_local.__dict__.setdefault("by_matcher", {})
        sc = local.get(id(self))
        if sc is None:
            sc = local[id(self)] = hyperscan.Scratch(self.db)
        return sc


_scratch_local = threading.local()


class NormalisedMatcher:
    """All term lists of a pack set as one ``moderation.detect.lexicon.Lexicon`` (the text engineer's matcher:
    teencode, legacy encodings, look-alikes, spaced letters; whole-syllable hits in original offsets)."""

    version = "lexicon/1"

    def __init__(self, lists: Iterable[tuple[str, str, str, Sequence[tuple[str, float, bool]]]]) -> None:
        """``lists`` yields (pack id, lexicon id, match mode, [(term, weight, fold)])."""
        lexicon = importlib.import_module("moderation.detect.lexicon")
        normalise = importlib.import_module("moderation.text.normalise")
        self._normalise: Callable[[str], Any] = normalise.normalise
        self.refs: list[TermRef] = []
        terms = []
        for pack_id, lex_id, _mode, items in lists:
            for term, weight, fold in items:
                terms.append(lexicon.Term(str(len(self.refs)), term, accent_sensitive=not fold))
                self.refs.append(TermRef(pack_id, lex_id, term, weight))
        self.terms = len(terms)
        self.lexicon = lexicon.Lexicon.compile(terms)
        self.version = str(getattr(lexicon, "DETECTOR", "lexicon/1"))
        # What each term's signal carries: (key, score, term, weight), for the compiled lexicon_signals.
        self.rows = [(f"{r.pack_id}/{r.lexicon_id}", min(1.0, r.weight), r.term, r.weight) for r in self.refs]

    def scan_field(self, ft: FieldText) -> list[tuple[int, int, int]]:
        """Return (term index, original start, original end) for every hit in the field."""
        found = self.found(ft)
        if found is None:
            return [(int(h.term_id), h.start, h.end) for h in self.lexicon.find(self._normalise(ft.text))]
        return [(int(term_id), lo, hi) for (lo, hi), ids in sorted(found.items()) for term_id in ids]

    def found(self, ft: FieldText) -> dict[tuple[int, int], Any] | None:
        """Return ``Lexicon.spans`` of the field, ``{(original start, end): term ids}`` (None: no such method)."""
        spans = getattr(self.lexicon, "spans", None)
        if spans is None:
            return None
        found: dict[tuple[int, int], Any] = spans(self._normalise(ft.text), per_form_limit=MAX_SPANS)
        return found


def has_normaliser() -> bool:
    """Return whether the text engineer's normaliser and lexicon matcher are installed."""
    try:
        importlib.import_module("moderation.detect.lexicon")
        importlib.import_module("moderation.text.normalise")
    except ImportError:
        return False
    return True


def normalise_cache_size() -> int:
    """How many recent results the normaliser keeps (its ``CACHE_SIZE``; 32 without it): the detectors of an item
    find the texts another one normalised while that many texts have been normalised since."""
    try:
        return int(importlib.import_module("moderation.text.normalise").CACHE_SIZE)
    except (ImportError, AttributeError):
        return 32


_SIGNAL_FIELDS = ("kind", "key", "score", "spans", "attrs", "detector")
_MAKE_SPANS = functools.partial(_t.build, Span, ("field", "start", "end", "text")) if _t is not None else None
_MAKE_SIGNALS = functools.partial(_t.build, Signal, _SIGNAL_FIELDS) if _t is not None else None


def lexicon_signals(matcher: Matcher | NormalisedMatcher, fields: Sequence[FieldText]) -> list[Signal]:
    """Run the matcher over every field; one signal per (list, field, term) with every span of that term."""
    if (
        _s is not None
        and _t is not None
        and isinstance(matcher, NormalisedMatcher)
        and getattr(matcher.lexicon, "spans", None) is not None
    ):  # the grouping below in C, the spans and signals made without their __init__, when every field is mapped
        # 1:1 and named once (checked in the loop: no generator and set comprehension per item)
        found = []
        names = set()
        for ft in fields:
            if ft.to_orig is not None or ft.field in names:
                break
            names.add(ft.field)
            found.append((ft.field, ft.original, matcher.found(ft)))
        else:
            made: list[Signal] = _s.lexicon_signals(
                found, matcher.rows, _MAKE_SPANS, _MAKE_SIGNALS, "lexicon", matcher.version
            )
            return made
    grouped: dict[tuple[int, str], list[Span]] = {}
    detector = MATCHER_VERSION
    for ft in fields:
        if isinstance(matcher, NormalisedMatcher):
            detector = matcher.version
            for idx, s0, e0 in matcher.scan_field(ft):
                grouped.setdefault((idx, ft.field), []).append(ft.span(s0, e0))
            continue
        folded, offsets = fold_text(ft.text)
        for idx, s, e in matcher.scan(folded):
            s0, e0 = to_original(offsets, s, e, ft.text)
            grouped.setdefault((idx, ft.field), []).append(ft.span(s0, e0))
    out = []
    for (idx, field_name), spans in sorted(grouped.items(), key=lambda kv: (kv[0][1], kv[1][0].start)):
        ref = matcher.refs[idx]
        out.append(
            Signal(
                kind="lexicon",
                key=f"{ref.pack_id}/{ref.lexicon_id}",
                score=min(1.0, ref.weight),
                spans=tuple(spans),
                attrs={"term": ref.term, "field": field_name, "weight": ref.weight},
                detector=detector,
            )
        )
    return out


# ------------------------------------------------------------------------------------------------------------------
# Pack regular expressions


@dataclass(frozen=True, slots=True)
class CompiledPattern:
    pack_id: str
    pattern_id: str
    fold: bool
    weight: float
    rx: regex.Pattern[str]
    source: str = ""


# ``regex`` (V1) syntax that PCRE/Hyperscan reads differently or not at all: set operations, fuzzy matching,
# word-start/end, recursion, branch reset, named lists. Patterns using any of it are never prefiltered.
_V1_ONLY = re.compile(r"\[\[|--|&&|\|\||~~|\{[^}]*[eids]\s*<|\\[mMGKXNL]|\(\?[&R|(]|\(\?\d|\(\?[VrfwbeE]")
# Python's \s (and so ``regex``'s) also matches these; Hyperscan's does not, so their presence disables the filter.
# The compiled fold (``_scan.fold_bytes``) says whether they are there; else looked for one by one.
_PY_ONLY_SPACES = ("\x0b", "\x1c", "\x1d", "\x1e", "\x1f")
_PY_ONLY_SPACES_B = tuple(ch.encode() for ch in _PY_ONLY_SPACES)


class Prefilter:
    """One Hyperscan database over the folded patterns in prefilter mode: it may report a pattern that then does
    not match, never miss one that does, so ``regex`` (with its timeout) runs only where a match is possible."""

    def __init__(self, patterns: Sequence[CompiledPattern]) -> None:
        _fold_lut_bytes()  # built with the database, not inside the first item's time budget
        self.candidates: list[int] = []  # indexes into ``patterns`` the database covers
        exprs: list[bytes] = []
        for i, p in enumerate(patterns):
            if not p.fold or not p.source or _V1_ONLY.search(p.source):
                continue
            expr = p.source.encode()
            try:  # compile alone first: one unsupported pattern must not disable the others
                probe = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
                probe.compile(expressions=[expr], ids=[0], elements=1, flags=[self._FLAGS])
            except hyperscan.error:
                continue
            self.candidates.append(i)
            exprs.append(expr)
        self.db: hyperscan.Database | None = None
        if exprs:
            self.db = compile_database(exprs, range(len(exprs)), [self._FLAGS] * len(exprs))  # cached on disk
        self._local = threading.local()

    _FLAGS = hyperscan.HS_FLAG_PREFILTER | hyperscan.HS_FLAG_SINGLEMATCH | hyperscan.HS_FLAG_ALLOWEMPTY

    def skipped(self, folded: str) -> set[int]:
        """Return the indexes of the covered patterns that cannot match ``folded`` (ASCII, as from fold_text)."""
        if self.db is None:
            return set()
        return self.skipped_bytes(folded.encode("ascii", errors="replace"))

    def scratch(self) -> hyperscan.Scratch:
        """This thread's scratch space for :attr:`db` (scratch may not be shared between threads)."""
        scratch: hyperscan.Scratch | None = self._local.__dict__.get("scratch")
        if scratch is None:
            scratch = self._local.scratch = hyperscan.Scratch(self.db)
        return scratch

    def skipped_bytes(self, folded: bytes, spaces: bool | None = None) -> set[int]:
        """:meth:`skipped` of a folded text given as its ASCII bytes (``fold_text(text)[0].encode("ascii")``);
        ``spaces`` says whether they hold one of ``_PY_ONLY_SPACES`` (None: look)."""
        if self.db is None:
            return set()
        if spaces is None:
            spaces = any(ch in folded for ch in _PY_ONLY_SPACES_B)
        if spaces:
            return set()
        scratch = self.scratch()
        hit: set[int]
        if _s is not None:  # the compiled handler (no Python frame per match); arguments by position (cheaper)
            handler = _s.FlatHits()
            self.db.scan(folded, handler, 0, None, scratch)
            if not handler.hits:  # no covered pattern can match (most texts): every one is skipped
                return set(self.candidates)
            hit = set(handler.hits[0::2])
        else:
            hit = found = set()
            self.db.scan(folded, lambda idx, _start, _end, _flags, _ctx: found.add(idx), 0, None, scratch)
        if len(hit) == len(self.candidates):  # every covered pattern may match: none is skipped
            return set()
        return {i for k, i in enumerate(self.candidates) if k not in hit}


def compile_patterns(items: Iterable[tuple[str, str, str, bool, float]]) -> list[CompiledPattern]:
    """Compile (pack id, pattern id, pattern, fold, weight) with the ``regex`` module (timeouts per search)."""
    return [CompiledPattern(p, i, f, w, regex.compile(src, regex.V1), src) for p, i, src, f, w in items]


def regex_signals(
    patterns: Sequence[CompiledPattern],
    fields: Sequence[FieldText],
    prefilter: Prefilter | None = None,
    *,
    budget_s: float = REGEX_ITEM_BUDGET_S,
    timed_out: list[str] | None = None,
) -> list[Signal]:
    """Run each pattern over every field (folded or as written) with a timeout; one signal per pattern and field.

    ``prefilter`` skips the patterns that cannot match a field. All the searches of one call share ``budget_s`` of
    this thread's CPU time less the collector's passes (:func:`moderation.heap.item_time`; time spent descheduled
    between searches does not count either): each search gets at most what is left (and ``REGEX_TIMEOUT_S``) as its
    wall-clock timeout, so one hostile item costs bounded CPU time; a search that runs out gives no verdict from
    that pattern on that field (logged by pattern id, never content) and is named in ``timed_out``
    (``"<pack>/<pattern> on <field>"``) so the caller can send the item to review.
    """
    out = []
    any_fold = False
    for p in patterns:  # any(p.fold for p in patterns), without a generator per call
        if p.fold:
            any_fold = True
            break
    fused = any_fold and _s is not None and prefilter is not None and prefilter.db is not None
    if fused:  # the fold and the prefilter of each field in one compiled call (_scan.fold_prefilter)
        assert prefilter is not None
        lut, scratch = _fold_lut_bytes(), prefilter.scratch()
    # The budget starts here: the fold table and the scratch space are made once per process (or thread), and a
    # fresh worker's first item must not lose its patterns to them.
    started = item_time()
    for ft in fields:
        folded: str | None
        if fused:
            assert prefilter is not None
            data, mapped, skip = _s.fold_prefilter(
                ft.text, lut, unicodedata.combining, prefilter.db, scratch, prefilter.candidates
            )
            offsets: Sequence[int] | None = None
            folded = None
        elif any_fold:  # folded as bytes for the prefilter; as a string and with its offset map only for a search
            data, offsets, mapped, spaces = _fold_bytes(ft.text)
            folded = None
            skip = prefilter.skipped_bytes(data, spaces) if prefilter is not None and data else set()
        else:
            folded, offsets, mapped = ft.text, None, False
            skip = prefilter.skipped(folded) if prefilter is not None and folded else set()
        for k, p in enumerate(patterns):
            if k in skip:
                continue
            if p.fold:
                if folded is None:
                    folded = data.decode("ascii")
                text = folded
            else:
                text = ft.text
            spans = []
            left = min(REGEX_TIMEOUT_S, budget_s - (item_time() - started))
            try:
                if left <= 0:
                    raise TimeoutError
                for m in p.rx.finditer(text, timeout=left):
                    if m.end() <= m.start():
                        continue
                    if p.fold:
                        if mapped and offsets is None:
                            offsets = _fold_offsets(ft.text)
                        s, e = to_original(offsets, m.start(), m.end(), ft.text)
                    else:
                        s, e = m.start(), m.end()
                    spans.append(ft.span(s, e))
                    if len(spans) >= MAX_SPANS:
                        break
            except TimeoutError:
                # A pathological input: no verdict from this pattern rather than a stuck worker.
                log.warning("pattern %s/%s timed out on field %s", p.pack_id, p.pattern_id, ft.field)
                if timed_out is not None:
                    timed_out.append(f"{p.pack_id}/{p.pattern_id} on {ft.field}")
                spans = []
            if spans:
                out.append(
                    Signal(
                        kind="regex",
                        key=f"{p.pack_id}/{p.pattern_id}",
                        score=min(1.0, p.weight),
                        spans=tuple(spans),
                        attrs={"field": ft.field, "pattern": p.pattern_id},
                        detector=REGEX_VERSION,
                    )
                )
    return out


# ------------------------------------------------------------------------------------------------------------------
# Context: is a hit inside a quotation?


def in_quotation(text: str, start: int, end: int, window: int) -> bool:
    """Return whether ``text[start:end]`` sits between quote marks that open and close within ``window`` chars."""
    if _c is not None and type(text) is str:
        got: bool = _c.in_quotation(text, start, end, window)
        return got
    return _in_quotation_py(text, start, end, window)


def _in_quotation_py(text: str, start: int, end: int, window: int) -> bool:
    """The reference of :func:`in_quotation` (and its path without the compiled extension)."""
    lo, hi = max(0, start - window), min(len(text), end + window)
    before, after = text[lo:start], text[end:hi]
    for open_q, close_q in (("“", "”"), ("«", "»"), ("„", "“")):
        if before.rfind(open_q) > before.rfind(close_q) and close_q in after:
            return True
    # Straight quotes: an odd number before the hit on the same paragraph, and one after it.
    para_start = text.rfind("\n", lo, start) + 1
    return text.count('"', max(lo, para_start), start) % 2 == 1 and '"' in after


def context_cues(
    lists: Mapping[str, str],
    signals: Sequence[Signal],
) -> list[Signal]:
    """Re-label the hits of a pack's context lists (legal, news, ...) as ``context`` signals with their cue."""
    if _MAKE_SIGNALS is not None:  # the same signals made without their __init__
        rows = []
        for sig in signals:
            cue = lists.get(sig.key)
            if cue is not None:
                attrs = {"cue": cue, "term": sig.attrs.get("term", "")}
                rows.append(("context", sig.key, 1.0, sig.spans, attrs, CONTEXT_VERSION))
        if not rows:
            return []
        made: list[Signal] = _MAKE_SIGNALS(rows)
        return made
    out = []
    for sig in signals:
        cue = lists.get(sig.key)
        if cue is not None:
            out.append(
                Signal(
                    kind="context",
                    key=sig.key,
                    score=1.0,
                    spans=sig.spans,
                    attrs={"cue": cue, "term": sig.attrs.get("term", "")},
                    detector=CONTEXT_VERSION,
                )
            )
    return out
