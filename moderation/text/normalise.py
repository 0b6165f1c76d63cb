"""Normalise Vietnamese text for matching while keeping a map back to the original characters.

Evaders strip diacritics, write teencode, put dots between letters, swap letters for digits and lookalike
characters; honest text arrives decomposed, with tone marks on either vowel, or in a legacy 8-bit encoding read
as Windows-1252. :func:`normalise` undoes all of that and returns a :class:`Normalised` whose ``text`` (accented)
and ``folded`` (diacritic-free, ``đ`` → ``d``) have the same length, and whose offset map sends every character
back to a non-empty span of the original string.

Letters written one by one ("c h ó đ ẻ", "c.h.ó.đ.ẻ") are joined with a space at each syllable break and a word cut
by a separator ("l.ồn", "ng.u") is joined when its pieces spell one syllable, both by Vietnamese spelling rules
(:mod:`moderation.text.syllables`). A vulgar word with letters masked by symbols ("l*n", "đ*t", "b**i") reads as
the one word of ``data/masked.txt`` it fits, and a tone typed as a spacing accent after a syllable ("na`o",
"dai´cua") as the tone.

The pipeline is a sequence of stages, each a list of edits over the previous stage's string. An edit replaces a
range either as a whole (every output character points at the whole range: teencode expansions, collapsed runs)
or character by character (tone-mark repairs keep each letter on its own original cluster). Stages that change
nothing cost one regular-expression search, so ordinary text pays almost nothing.
"""

from __future__ import annotations

import functools
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import regex

from moderation.text import legacy, syllables

_c: Any
try:  # the compiled stages (moderation/_ext/_normalise.pyx); without them the Python code below does the same work
    from moderation._ext import _normalise as _c
except ImportError:  # pragma: no cover - depends on the build
    _c = None

__all__ = [
    "Normalised",
    "fold_diacritics",
    "normalise",
    "normalise_term",
]

IntArray = npt.NDArray[np.int64]

# Combining marks that Vietnamese uses: five tones and three vowel shapes.
TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
SHAPE_MARKS = frozenset("\u0302\u0306\u031b")
_VOWELS = frozenset("aeiouy")
# Which vowel-shape marks each letter can carry (â ă ê ô ơ ư); any other shape mark is noise and is dropped.
_SHAPES_FOR = {"a": ("\u0302", "\u0306"), "e": ("\u0302",), "o": ("\u0302", "\u031b"), "u": ("\u031b",)}
# A syllable has at most seven letters ("nghiêng"); longer "tokens" are not syllables and get a cheap NFC.
_MAX_SYLLABLE = 12
_MAX_TOKEN_CANON = 64
# Runs of combining marks beyond this are an attack (Zalgo text), not writing: Vietnamese needs two.
_MAX_MARKS = 3
_MAX_ROUNDS = 4


@dataclass(frozen=True, slots=True, eq=False)
class Normalised:
    """The normalised forms of one string and the map back to it.

    ``text`` is lowercase NFC Vietnamese with teencode expanded; ``folded`` is ``text`` without diacritics.
    ``starts[i]``/``ends[i]`` give the original span that produced ``text[i]`` (and ``folded[i]``).
    ``flags`` says what was repaired or suspected (``legacy:vni``, ``legacy:tcvn3``, ``legacy:suspect``,
    ``marks:repaired``, ``teencode``, ``obfuscation``).
    """

    original: str
    text: str
    folded: str
    starts: IntArray = field(repr=False)
    ends: IntArray = field(repr=False)
    flags: frozenset[str] = frozenset()

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map ``[start, end)`` of ``text``/``folded`` to the span of ``original`` it came from."""
        if _c is not None:
            try:
                out: tuple[int, int] = _c.to_original(self.starts, self.ends, len(self.text), start, end)
            except (TypeError, ValueError, OverflowError):  # not int64 arrays, or not int offsets: the Python path
                pass
            else:
                return out
        n = len(self.text)
        start = min(max(start, 0), n)
        end = min(max(end, start), n)
        if start == end:
            pos = int(self.starts[start]) if start < n else (int(self.ends[n - 1]) if n else 0)
            return pos, pos
        lo = int(self.starts[start])
        hi = int(self.ends[end - 1])
        return lo, max(lo, hi)

    def original_text(self, start: int, end: int) -> str:
        """Return the original characters behind ``text[start:end]``."""
        lo, hi = self.to_original(start, end)
        return self.original[lo:hi]


# The slots of ``Normalised`` set directly: the frozen dataclass's ``__init__`` sets each through
# ``object.__setattr__``, twice the cost of the object's whole construction here.
_SET_NORMALISED = tuple(
    Normalised.__dict__[name].__set__ for name in ("original", "text", "folded", "starts", "ends", "flags")
)


def _new_normalised(
    original: str, text: str, folded: str, *, starts: IntArray, ends: IntArray, flags: frozenset[str]
) -> Normalised:
    """``Normalised(original, text, folded, starts, ends, flags)``, built slot by slot."""
    out: Normalised = object.__new__(Normalised)
    set_original, set_text, set_folded, set_starts, set_ends, set_flags = _SET_NORMALISED
    set_original(out, original)
    set_text(out, text)
    set_folded(out, folded)
    set_starts(out, starts)
    set_ends(out, ends)
    set_flags(out, flags)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Edit machinery


@dataclass(slots=True)
class _Buf:
    text: str
    starts: IntArray
    ends: IntArray
    # Set by a stage that knows where it changed the text: the changed parts with a few characters of context,
    # joined by NUL, so that the trigger bits of the new text can be found without scanning all of it.
    window: str | None = None
    # ``starts`` is ``arange(n)`` and ``ends`` is ``starts + 1`` (nothing has moved yet): a map composed with it is
    # the map itself, so the gathers are skipped.
    identity: bool = False


# (start, end, replacement, per_char) where per_char is None (each output char maps to the whole range) or a
# sequence of (lo, hi) ranges relative to ``start``, one per output character.
_Edit = tuple[int, int, str, Sequence[tuple[int, int]] | npt.NDArray[np.int64] | None]


def _apply(buf: _Buf, edits: Iterable[_Edit]) -> _Buf:
    """Apply sorted, non-overlapping edits to ``buf`` and compose the offset maps.

    The output is a list of segments (an unchanged gap, or a replacement); each segment's map is described by a
    base, a step (1 for a gap, 0 for a whole-range replacement) and a length, and expanded in one numpy pass, so
    the Python work per edit is a handful of list appends.
    """
    if not isinstance(edits, list):
        edits = list(edits)
    c = _compiled()
    if c is not None:
        try:
            done = c.apply_edits(buf.text, buf.starts, buf.ends, edits)
        except (TypeError, ValueError):  # offset arrays that are not contiguous int64: the Python path
            done = False
        if done is None:
            return buf
        if done is not False:
            return _Buf(*done)
    if (
        edits
        and all(e[3] is None for e in edits)
        and all(edits[k][1] <= edits[k + 1][0] and edits[k][0] < edits[k][1] for k in range(len(edits) - 1))
        and edits[-1][0] < edits[-1][1]
    ):
        return _apply_ranges(buf, edits)
    pieces: list[str] = []
    seg_lo: list[int] = []  # first source index (``lo``) of the segment
    seg_hi: list[int] = []  # last source index (``hi - 1``) of the segment's first character
    seg_step: list[int] = []
    seg_len: list[int] = []
    chunks: list[tuple[Any, Any, Any, Any]] = []  # segments as arrays (long per-character maps), in order
    pos = 0
    text = buf.text
    changed = False
    for a, b, repl, per_char in edits:
        if a < pos or b <= a:
            continue  # overlapping or empty source ranges cannot be mapped; skip rather than corrupt the map
        changed = True
        if pos < a:
            pieces.append(text[pos:a])
            seg_lo.append(pos)
            seg_hi.append(pos)
            seg_step.append(1)
            seg_len.append(a - pos)
        pieces.append(repl)
        k = len(repl)
        if per_char is None or len(per_char) != k:
            if k:
                seg_lo.append(a)
                seg_hi.append(b - 1)
                seg_step.append(0)
                seg_len.append(k)
        elif isinstance(per_char, np.ndarray):
            # A long per-character map given as a (k, 2) array: its segments are added as arrays.
            chunks.append((seg_lo, seg_hi, seg_step, seg_len))
            chunks.append(
                (
                    a + per_char[:, 0],
                    a + np.maximum(per_char[:, 1], per_char[:, 0] + 1) - 1,
                    np.zeros(k, dtype=np.int64),
                    np.ones(k, dtype=np.int64),
                )
            )
            seg_lo, seg_hi, seg_step, seg_len = [], [], [], []
        else:
            for r_lo, r_hi in per_char:
                seg_lo.append(a + r_lo)
                seg_hi.append(a + max(r_hi, r_lo + 1) - 1)
                seg_step.append(0)
                seg_len.append(1)
        pos = b
    if not changed:
        return buf
    if pos < len(text):
        pieces.append(text[pos:])
        seg_lo.append(pos)
        seg_hi.append(pos)
        seg_step.append(1)
        seg_len.append(len(text) - pos)
    chunks.append((seg_lo, seg_hi, seg_step, seg_len))
    lo_s, hi_s, step_s, len_s = (np.concatenate([np.asarray(c[i], dtype=np.int64) for c in chunks]) for i in range(4))
    lengths = len_s
    total = int(lengths.sum())
    if not total:
        empty = np.zeros(0, dtype=np.int64)
        return _Buf("".join(pieces), empty, empty.copy())
    out_start = np.cumsum(lengths) - lengths
    within = np.arange(total, dtype=np.int64) - np.repeat(out_start, lengths)
    step = np.repeat(step_s, lengths) * within
    lo_arr = np.repeat(lo_s, lengths) + step
    hi_arr = np.repeat(hi_s, lengths) + step
    return _Buf("".join(pieces), buf.starts[lo_arr], buf.ends[hi_arr])


def _apply_ranges(buf: _Buf, edits: Sequence[_Edit]) -> _Buf:
    """:func:`_apply` for sorted, non-overlapping, whole-range edits, vectorised.

    Segments alternate gap, edit, gap, ..., gap; output character ``i`` of a segment that starts at output offset
    ``o`` maps to source ``lo + step * (i - o)`` (step 1 in a gap, 0 in an edit) and its last source character is
    that plus ``hi - lo`` (0 in a gap, the range's length minus one in an edit).
    """
    a = np.fromiter((e[0] for e in edits), dtype=np.int64, count=len(edits))
    b = np.fromiter((e[1] for e in edits), dtype=np.int64, count=len(edits))
    return _apply_runs(buf, a, b, [e[2] for e in edits])


def _apply_runs(buf: _Buf, a: IntArray, b: IntArray, replacements: Sequence[str]) -> _Buf:
    """:func:`_apply_ranges` with the edits given as arrays of starts and ends and a list of replacements."""
    text = buf.text
    n_edits = len(replacements)
    pieces: list[str] = []
    prev = 0
    for a0, b0, repl in zip(a.tolist(), b.tolist(), replacements, strict=True):
        pieces.append(text[prev:a0])
        pieces.append(repl)
        prev = b0
    pieces.append(text[prev:])
    out = "".join(pieces)
    total = len(out)
    if not total:
        empty = np.zeros(0, dtype=np.int64)
        return _Buf(out, empty, empty.copy())
    seg_len = np.fromiter(map(len, pieces), dtype=np.int64, count=2 * n_edits + 1)
    out_start = np.cumsum(seg_len) - seg_len
    # Every output character first as if in a gap (source = output offset + the segment's shift, one repeat), then
    # the replacements' characters (few) set to their range: ``lo = a``, ``hi = b - 1``.
    shift = np.empty(2 * n_edits + 1, dtype=np.int64)
    shift[0] = 0
    shift[2::2] = b - out_start[2::2]
    shift[1::2] = 0
    lo_arr = np.repeat(shift, seg_len)
    lo_arr += np.arange(total, dtype=np.int64)
    repl_len = seg_len[1::2]
    in_repl = np.repeat(out_start[1::2] - (np.cumsum(repl_len) - repl_len), repl_len)
    in_repl += np.arange(len(in_repl), dtype=np.int64)  # output offsets of the replacements' characters
    lo_arr[in_repl] = np.repeat(a, repl_len)
    if buf.identity:
        hi_arr = lo_arr + 1
        hi_arr[in_repl] = np.repeat(b, repl_len)
        return _Buf(out, lo_arr, hi_arr)
    hi_arr = lo_arr.copy()
    hi_arr[in_repl] = np.repeat(b - 1, repl_len)
    return _Buf(out, buf.starts[lo_arr], buf.ends[hi_arr])


def _sub(buf: _Buf, pattern: re.Pattern[str] | regex.Pattern[str], repl: Callable[[str], str | None]) -> _Buf:
    """Replace every match of ``pattern`` by ``repl(match)`` as a whole-range edit (``None`` keeps the match)."""
    edits: list[_Edit] = []
    for m in pattern.finditer(buf.text):
        new = repl(m.group())
        if new is not None and new != m.group():
            edits.append((m.start(), m.end(), new, None))
    return _apply(buf, edits) if edits else buf


def _translate_confusables(buf: _Buf) -> _Buf:
    """``buf`` with each look-alike replaced by its letter (:func:`_confusables`, one character for one: the offset
    map does not change). By the compiled pass when it is built: ``str.translate`` looks each character of a
    non-ASCII text up in the dict, about 50 ns a character (0.1 ms for a 2 KB post holding one Cyrillic letter, 50 ms
    for a 1 MiB one); the compiled pass reads an array, about 20 times faster."""
    c = _compiled()
    new: str = buf.text.translate(_confusables()) if c is None else c.translate_1to1(buf.text, *_confusables_arrays())
    if new == buf.text:
        return buf
    return _Buf(new, buf.starts, buf.ends, identity=buf.identity)


# ---------------------------------------------------------------------------------------------------------------
# Tables (built on first use, not at import)


def _data_lines(name: str) -> list[list[str]]:
    raw = resources.files("moderation.text").joinpath("data", name).read_text(encoding="utf-8")
    rows = []
    for line in raw.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        rows.append(line.split("\t"))
    return rows


@functools.cache
def _confusables() -> dict[int, str]:
    table: dict[int, str] = {}
    for row in _data_lines("confusables.tsv"):
        table[ord(row[0])] = row[1]
    ranges = [(0xFF01, 0xFF5E), (0x1D400, 0x1D7FF), (0x24B6, 0x24E9), (0x2460, 0x2473)]
    for lo, hi in ranges:
        for cp in range(lo, hi + 1):
            folded = unicodedata.normalize("NFKC", chr(cp)).lower()
            if len(folded) == 1 and folded.isascii() and folded.isprintable():
                table[cp] = folded
    table[0x3000] = " "
    return table


@functools.cache
def _confusables_arrays() -> tuple[npt.NDArray[np.uint32], dict[int, int]]:
    """:func:`_confusables` for ``_normalise.translate_1to1``: what each BMP code point becomes (itself when the
    table leaves it), and the code points beyond with theirs."""
    bmp = np.arange(0x10000, dtype=np.uint32)
    astral: dict[int, int] = {}
    for cp, to in _confusables().items():
        if cp < 0x10000:
            bmp[cp] = ord(to)
        else:
            astral[cp] = ord(to)
    bmp.setflags(write=False)
    return bmp, astral


@functools.cache
def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "D"}
    for lo, hi in ((0x00C0, 0x024F), (0x1E00, 0x1EFF)):
        for cp in range(lo, hi + 1):
            base = unicodedata.normalize("NFD", chr(cp))[0]
            if base.isascii() and base.isalpha() and base != chr(cp):
                table[cp] = base
    return table


@functools.cache
def _teencode() -> dict[str, str]:
    return {row[0]: row[1] for row in _data_lines("teencode.tsv")}


class _Trie(dict[str, "_Trie"]):
    """A character trie; the key ``""`` marks the end of a word."""


def _trie_pattern(words: Iterable[str]) -> str:
    """Build a regular expression that matches any of ``words`` without trying them one by one."""
    trie = _Trie()
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, _Trie())
        node[""] = _Trie()

    def emit(node: _Trie) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return emit(trie)


@functools.cache
def _teencode_re() -> re.Pattern[str]:
    return re.compile(r"(?<!\w)" + _trie_pattern(_teencode()) + r"(?!\w)")


# ---------------------------------------------------------------------------------------------------------------
# Vectorised character classes: every stage first asks a numpy mask whether (and where) it could change anything,
# so ordinary text costs a few array operations per stage instead of a regular-expression pass per character.

_W, _L, _M, _D, _INV, _CTRL, _SP, _TONED, _CONF, _SEP, _LEETD, _AT, _OTONE, _UTONE, _D0134 = (1 << k for k in range(15))
_BMP = 0x10000


@functools.cache
def _class_tests() -> list[tuple[int, re.Pattern[str] | regex.Pattern[str]]]:
    return [
        (_W, re.compile(r"\w")),
        (_L, regex.compile(r"\p{L}")),
        (_M, regex.compile(r"\p{M}")),
        (_D, regex.compile(r"\d")),
        (_INV, _INVISIBLE),
        (_CTRL, _SURROGATES_CONTROLS),
        (_SP, re.compile(r"\s")),
        (_TONED, re.compile("[" + _TONED_CONSONANT + "]")),
        (_CONF, re.compile("[" + re.escape("".join(map(chr, _confusables()))) + "]")),
        (_SEP, re.compile(r"[.\-_*~+|/\\'`^]")),
        (_LEETD, re.compile("[013457]")),
        (_AT, re.compile("@")),
        (_OTONE, re.compile("[òóỏõọèéẻẽẹàáảãạ]")),
        (_UTONE, re.compile("[ỳýỷỹỵ]")),
        (_D0134, re.compile("[0134]")),
    ]


@functools.cache
def _class_run_tests() -> list[tuple[int, re.Pattern[str] | regex.Pattern[str]]]:
    """:func:`_class_tests` with each pattern repeated, ``(?:P)+``: every test is one character of a class (or a run
    of them, ``_INVISIBLE``), with no look-around, so the runs cover exactly the characters ``P`` matches one by one,
    in a match per run instead of one per character (the BMP's letters are a few hundred runs, not 50,000 matches).
    The look-alikes' class is left out: :func:`_class_bits` reads it from :func:`_confusable_table`."""
    out: list[tuple[int, re.Pattern[str] | regex.Pattern[str]]] = []
    for bit, pat in _class_tests():
        if bit == _CONF:
            continue
        if isinstance(pat, regex.Pattern):
            out.append((bit, regex.compile(f"(?:{pat.pattern})+", pat.flags)))
        else:
            out.append((bit, re.compile(f"(?:{pat.pattern})+", pat.flags)))
    return out


@functools.cache
def _confusable_table() -> npt.NDArray[np.bool_]:
    """Per code point up to the largest look-alike: whether it is one (what the look-alikes' class matches)."""
    cps = np.fromiter(_confusables(), dtype=np.int64)
    table = np.zeros(int(cps.max()) + 1 if len(cps) else 0, dtype=bool)
    table[cps] = True
    return table


def _class_bits(chars: str) -> npt.NDArray[np.uint16]:
    """Return the class bits of every character of ``chars``, computed with the same regexes the stages use (the
    look-alikes' class, a set of scattered code points that ``re`` tests slowly, about 45 ms over the BMP, by
    membership in that set: what its pattern matches)."""
    out = np.zeros(len(chars), dtype=np.uint16)
    for bit, pat in _class_run_tests():
        for m in pat.finditer(chars):
            out[m.start() : m.end()] |= bit
    codes = np.frombuffer(chars.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    table = _confusable_table()
    inside = codes < len(table)
    hit = np.zeros(len(codes), dtype=bool)
    hit[inside] = table[codes[inside]]
    out[hit] |= _CONF
    return out


@functools.cache
def _bmp_classes() -> npt.NDArray[np.uint16]:
    return _class_bits("".join(map(chr, range(_BMP))))


@functools.cache
def _fold_array() -> npt.NDArray[np.uint32]:
    table = _fold_table()
    size = max(table) + 1
    arr = np.arange(size, dtype=np.uint32)
    for cp, ch in table.items():
        arr[cp] = ord(ch)
    return arr


# Class bits of every code point: the BMP computed at first use, code points beyond it (emoji, mathematical letters)
# filled in as they are met (every test is a one-character class, so a character's bits do not depend on its
# neighbours). ``_UNKNOWN`` (bit 15, which no class uses) marks a code point not computed yet, so one table lookup
# serves every text and only a new astral character costs a regex pass.
_UNKNOWN = 0xFFFF
_MAX_CP = 0x110000


@functools.cache
def _all_classes() -> npt.NDArray[np.uint16]:
    out = np.full(_MAX_CP, _UNKNOWN, dtype=np.uint16)
    out[:_BMP] = _bmp_classes()
    return out


def _classes_of(codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.uint16]:
    """The class bits of every code point of ``codes``."""
    table = _all_classes()
    cls: npt.NDArray[np.uint16] = table[codes]
    if len(cls) and int(cls.max()) == _UNKNOWN:
        new = np.unique(codes[cls == _UNKNOWN])
        table[new] = _class_bits("".join(map(chr, new.tolist())))
        cls = table[codes]
    return cls


def _astral_bits(cps: list[int]) -> npt.NDArray[np.uint16]:
    return _classes_of(np.asarray(cps, dtype=np.uint32))


def _codes(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype="<u4")


def _from_codes(codes: npt.NDArray[np.uint32]) -> str:
    return codes.astype("<u4", copy=False).tobytes().decode("utf-32-le", errors="surrogatepass")


@functools.cache
def _fold_units() -> npt.NDArray[np.uint16]:
    """:func:`_fold_array` over every UTF-16 code unit (the folded letters are all in the BMP)."""
    arr = np.arange(_BMP, dtype="<u2")
    folded = _fold_array()
    arr[: len(folded)] = folded
    return arr


def _fold_fast(text: str) -> str:
    """``text.translate(_fold_table())`` with a lookup array (one character for one, so lengths match)."""
    if text.isascii():
        return text
    c = _compiled()
    if c is not None:
        done: str = c.fold(text)
        return done
    if len(text) < 256:
        return text.translate(_fold_table())
    try:
        units = text.encode("utf-16-le")
    except UnicodeEncodeError:  # lone surrogates: by code points
        pass
    else:
        # UTF-16 code units through a 64K table (surrogates map to themselves, so astral characters pass whole):
        # half the bytes of the UTF-32 route.
        folded: npt.NDArray[np.uint16] = _fold_units()[np.frombuffer(units, dtype="<u2")]
        return folded.tobytes().decode("utf-16-le")
    codes = _codes(text)
    table = _fold_array()
    inside = codes < len(table)
    if not inside.all():
        out = codes.copy()
        out[inside] = table[codes[inside]]
        return _from_codes(out)
    return _from_codes(table[codes])


def _shift(x: npt.NDArray[Any], k: int, fill: Any) -> npt.NDArray[Any]:
    """``x[i + k]`` at ``i`` (``fill`` outside the array)."""
    out = np.full_like(x, fill)
    n = len(x)
    if k > 0 and k < n:
        out[: n - k] = x[k:]
    elif k < 0 and -k < n:
        out[-k:] = x[: n + k]
    return out


class _Scan:
    """The code points and class bits of one stage's text, recomputed only when the text changes."""

    __slots__ = ("cls", "codes", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.codes = _codes(text)
        self.cls = _classes_of(self.codes)

    def of(self, text: str) -> _Scan:
        return self if text is self.text else _Scan(text)

    def has(self, bits: int) -> bool:
        return bool((self.cls & bits).any())

    def any_mark(self) -> bool:
        return self.has(_M)

    def _is(self, bits: int) -> npt.NDArray[np.bool_]:
        out: npt.NDArray[np.bool_] = (self.cls & bits) != 0
        return out

    def repeats(self) -> list[tuple[int, int]]:
        """Runs of three or more identical letters, as (start, end): what ``(\\p{L})\\1{2,}`` finds."""
        c = self.codes
        if len(c) < 3:
            return []
        same = c[1:] == c[:-1]
        trip = same[:-1] & same[1:] & self._is(_L)[:-2]
        if not trip.any():
            return []
        # run boundaries of identical characters
        change = np.flatnonzero(np.concatenate(([True], ~same, [True])))
        starts, ends = change[:-1], change[1:]
        keep = ((ends - starts) >= 3) & self._is(_L)[starts]
        return list(zip(starts[keep].tolist(), ends[keep].tolist(), strict=True))

    def spaced(self) -> list[int]:
        """A superset of where ``_SPACED`` can match."""
        base = self._is(_L | _D0134) & ~_shift(self._is(_L | _M | _D), -1, False)
        nxt = _shift(self.cls, 1, 0)
        # branch 1: a letter, marks or separators; branch 2: "x y z", a letter, a space, a letter, a space/mark
        after3 = ((_shift(self.cls, 3, 0) & _M) != 0) | (_shift(self.codes, 3, 0) == 32)
        spaced = (_shift(self.codes, 1, 0) == 32) & ((_shift(self.cls, 2, 0) & _L) != 0) & after3
        cand = base & (((nxt & (_M | _SEP)) != 0) | spaced)
        return list(np.flatnonzero(cand).tolist())

    def leet_hint(self) -> bool:
        letter = self._is(_L)
        nxt = _shift(self.cls, 1, 0)
        return bool((letter & ((nxt & (_LEETD | _AT)) != 0)).any() or (self._is(_LEETD) & ((nxt & _L) != 0)).any())

    def suspicious(self) -> list[int]:
        """A superset of where ``_SUSPICIOUS`` can match."""
        c = self.codes
        after2 = (_shift(self.cls, 2, 0) & (_L | _M)) == 0
        nxt = _shift(self.cls, 1, 0)
        cand = self._is(_M | _TONED)
        cand |= (c == ord("o")) & ((nxt & _OTONE) != 0) & after2
        cand |= (c == ord("u")) & (_shift(c, -1, 0) != ord("q")) & ((nxt & _UTONE) != 0) & after2
        return list(np.flatnonzero(cand).tolist())

    def spaces(self) -> list[tuple[int, int]]:
        """Runs of two or more whitespace characters, or one that is not a space: what ``_SPACES`` finds."""
        ws = self._is(_SP)
        if not ws.any():
            return []
        edges = np.flatnonzero(np.diff(np.concatenate(([False], ws, [False])).astype(np.int8)))
        starts, ends = edges[0::2], edges[1::2]
        keep = ((ends - starts) >= 2) | (self.codes[starts] != 32)
        return list(zip(starts[keep].tolist(), ends[keep].tolist(), strict=True))

    def words(self, max_len: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Maximal runs of ``\\w`` characters no longer than ``max_len``: (starts, ends)."""
        w = self._is(_W)
        edges = np.flatnonzero(np.diff(np.concatenate(([False], w, [False])).astype(np.int8)))
        starts, ends = edges[0::2], edges[1::2]
        keep = (ends - starts) <= max_len
        return starts[keep], ends[keep]


_HASH_MUL = np.uint64(0x100000001B3)


def _word_hashes(
    codes: npt.NDArray[np.uint32], starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64], max_len: int
) -> npt.NDArray[np.uint64]:
    padded = np.concatenate((codes.astype(np.uint64), np.zeros(max_len, dtype=np.uint64)))
    h = np.zeros(len(starts), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(max_len):
            ch = np.where(lengths > j, padded[starts + j], np.uint64(0))
            h = h * _HASH_MUL + ch + np.uint64(1)
    return h


@functools.cache
def _teencode_hashes() -> tuple[int, npt.NDArray[np.uint64]]:
    keys = list(_teencode())
    max_len = max(len(k) for k in keys)
    codes = _codes("".join(keys))
    lengths = np.asarray([len(k) for k in keys], dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    return max_len, np.unique(_word_hashes(codes, starts, lengths, max_len))


def _char_bits(ch: str) -> int:
    cp = ord(ch)
    return int(_bmp_classes()[cp]) if cp < _BMP else int(_astral_bits([cp])[0])


class _TeencodeScanner:
    """The teencode keys as one Hyperscan set over UTF-8, each between characters that are not Vietnamese word
    characters (or an end of the text): a superset of the whole-``\\w``-run hits (letters beyond Vietnamese are
    left to the exact test on the neighbours, which runs per hit, for few hits)."""

    def __init__(self) -> None:
        assert _hs is not None
        table = _teencode()
        # Only keys made of word characters can be a whole ``\w`` run, and only keys that change something count.
        self.keys = [k for k, v in table.items() if k and v != k and all(_char_bits(c) & _W for c in k)]
        self.values = [table[k] for k in self.keys]
        self.nchars = np.asarray([len(k) for k in self.keys], dtype=np.int64)
        vietnamese_word = [
            chr(cp) for cp in (*range(0x250), *range(0x1E00, 0x1F00)) if _char_bits(chr(cp)) & _W and cp != 0x0A
        ]
        not_word = "[^" + _hs_class(vietnamese_word)[1:]

        def expression(key: str) -> str:
            body = "".join(f"\\x{{{ord(c):x}}}" for c in key)
            return "(?:^|" + not_word + ")" + body + "(?:" + not_word + "|$)"

        self.db = compile_database(  # cached on disk between processes
            [expression(k).encode() for k in self.keys], range(len(self.keys)), [_hs.HS_FLAG_UTF8] * len(self.keys)
        )
        self.local = threading.local()

    def apply(self, buf: _Buf) -> _Buf | None:
        """Expand the teencode words of ``buf``; ``None`` when the text cannot be scanned (lone surrogates)."""
        text = buf.text
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:
            return None
        scratch = getattr(self.local, "scratch", None)
        if scratch is None:
            scratch = self.local.scratch = _hs.Scratch(self.db)
        flat: list[int] = []  # key index, end byte offset, ...
        append = flat.append

        def on_match(pid: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            append(pid)
            append(to)

        self.db.scan(data, match_event_handler=on_match, scratch=scratch)
        if not flat:
            return buf
        n, size = len(text), len(data)
        c = _compiled()
        if c is not None:
            hits = c.teencode_hits(text, size, flat, self.keys)
            if not hits:
                return buf
            edits: list[_Edit] = [(a, b, self.values[p], None) for a, b, p in hits]
            done = _apply(buf, edits)
            if n >= _SMALL and done is not buf:  # as below: where the new text changed
                done.window = c.teencode_window(done.text, edits)
            return done
        if n < _SMALL:
            return self._apply_small(buf, data, list(zip(flat[0::2], flat[1::2], strict=True)))
        raw = np.array(flat, dtype=np.int64)
        pid, to = raw[0::2], raw[1::2]
        # A match ends with the (non-word) character after the key, whose index is the key's end; or, at the end of
        # the text, with the key itself (the key's last character is a Vietnamese word character, so not both).
        if size != n:
            # characters started up to each byte, counted in 32 bits (text is far below 2**31 bytes), minus one
            b2c = np.cumsum((np.frombuffer(data, dtype=np.uint8) & 0xC0) != 0x80, dtype=np.int32)
            end = b2c[to - 1].astype(np.int64) - 1
        else:
            end = to - 1
        for i in np.flatnonzero(to == size).tolist():
            if text.endswith(self.keys[int(pid[i])]):
                end[i] = n
        start = end - self.nchars[pid]
        # The exact test: neither neighbour is a ``\w`` character.
        codes = _codes(text)
        left = _bits_at(codes, np.maximum(start - 1, 0)) & _W
        right = _bits_at(codes, np.minimum(end, n - 1)) & _W
        keep = ~(((left != 0) & (start > 0)) | ((right != 0) & (end < n)))
        if not keep.any():
            return buf
        order = np.argsort(start[keep], kind="stable")
        values = self.values
        start, end = start[keep][order], end[keep][order]
        replacements = [values[p] for p in pid[keep][order].tolist()]
        out = _apply_runs(buf, start, end, replacements)
        # Where the new text changed: each expansion at its new offset, with context for any trigger match that
        # touches it (trigger patterns span at most 7 characters), widened to the ends of the words it cuts;
        # overlapping windows merged (``_normalise.teencode_window``).
        length = np.fromiter(map(len, replacements), dtype=np.int64, count=len(replacements))
        delta = length - (end - start)
        new_start = start + np.cumsum(delta) - delta
        lo = np.maximum(new_start - _TRIGGER_CONTEXT, 0)
        hi = np.minimum(new_start + length + _TRIGGER_CONTEXT, len(out.text))
        lo, hi = _widen_windows(out.text, lo, hi)
        first = np.flatnonzero(np.concatenate(([True], lo[1:] > hi[:-1])))
        last = np.concatenate((first[1:], [len(lo)])) - 1
        new_text = out.text
        out.window = "\x00".join([new_text[a:b] for a, b in zip(lo[first].tolist(), hi[last].tolist(), strict=True)])
        return out

    def _apply_small(self, buf: _Buf, data: bytes, found: list[tuple[int, int]]) -> _Buf:
        """:meth:`apply`'s second half for short text, hit by hit."""
        text = buf.text
        n, size = len(text), len(data)
        ascii_text = size == n
        edits: list[_Edit] = []
        for pid, to in found:
            key = self.keys[pid]
            b = n  # the key ends the text, or ends where the (non-word) character that ends the match is
            if to < size or not text.endswith(key):
                b = to - 1 if ascii_text else len(data[:to].decode("utf-8")) - 1
            a = b - len(key)
            if a > 0 and _char_bits(text[a - 1]) & _W:
                continue
            if b < n and _char_bits(text[b]) & _W:
                continue
            edits.append((a, b, self.values[pid], None))
        if not edits:
            return buf
        edits.sort(key=lambda e: e[0])
        return _apply(buf, edits)


# Teencode windows are widened to the ends of the words they cut, by at most this many characters either side: a cut
# word looks like a word of its own to the trigger scan (its tail "ng" or "z" a teencode key), and sets bits the
# text does not have. Widening only adds text, so the window's bits stay a superset of those of the change.
_WORD_WIDEN = 32


def _widen_windows(text: str, lo: IntArray, hi: IntArray) -> tuple[IntArray, IntArray]:
    """Each window ``text[lo[k]:hi[k]]`` widened over the word characters (not ``_TC_NW``) either side, by at most
    ``_WORD_WIDEN`` (what ``_normalise.teencode_window`` does)."""
    table = _trigger_table().table
    n = len(text)

    def word(i: int) -> bool:
        cp = ord(text[i])
        bits = int(table[cp])
        if bits == _UNKNOWN:
            bits = _trigger_fill(cp)
        return not bits & _TC_NW

    out_lo, out_hi = lo.tolist(), hi.tolist()
    for k, (a0, b0) in enumerate(zip(out_lo, out_hi, strict=True)):
        if a0 > b0:
            continue
        a, b = a0, b0
        while a > 0 and a > a0 - _WORD_WIDEN and word(a - 1):
            a -= 1
        while b < n and b < b0 + _WORD_WIDEN and word(b):
            b += 1
        out_lo[k], out_hi[k] = a, b
    return np.asarray(out_lo, dtype=np.int64), np.asarray(out_hi, dtype=np.int64)


def _bits_at(codes: npt.NDArray[np.uint32], at: IntArray) -> npt.NDArray[np.uint16]:
    """The class bits of ``codes[at]``."""
    return _classes_of(codes[at])


@functools.cache
def _teencode_scanner() -> _TeencodeScanner | None:
    return _TeencodeScanner() if _hs is not None else None


def _teencode_fast(buf: _Buf, flags: set[str], scan: _Scan | None) -> _Buf:
    """Expand teencode words: whole ``\\w`` runs found in the table (what ``_teencode_re`` matches)."""
    c = _compiled()
    if c is not None:
        return _teencode_c(buf, flags, c)
    scanner = _teencode_scanner()
    done = scanner.apply(buf) if scanner is not None else None
    if done is not None:
        if done is not buf:
            flags.add("teencode")
        return done
    scan = _Scan(buf.text) if scan is None else scan.of(buf.text)
    max_len, key_hashes = _teencode_hashes()
    starts, ends = scan.words(max_len)
    if not len(starts):
        return buf
    lengths = ends - starts
    hashes = _word_hashes(scan.codes, starts, lengths, max_len)
    pos = np.minimum(np.searchsorted(key_hashes, hashes), len(key_hashes) - 1)
    hit = key_hashes[pos] == hashes
    if not hit.any():
        return buf
    table = _teencode()
    text = buf.text
    edits: list[_Edit] = []
    for a, b in zip(starts[hit].tolist(), ends[hit].tolist(), strict=True):
        word = text[a:b]
        new = table.get(word)
        if new is not None and new != word:
            edits.append((a, b, new, None))
    if not edits:
        return buf
    flags.add("teencode")
    return _apply(buf, edits)


def _teencode_c(buf: _Buf, flags: set[str], c: Any) -> _Buf:
    """:func:`_teencode_fast` with the compiled word pass: the ``\\w`` runs that hash like a key, looked up."""
    text = buf.text
    if _hs is not None:
        # The words found, expanded and the maps made in one call (``teencode_apply``: what the lines below do),
        # with the window the Hyperscan scanner leaves when it would leave one.
        want = len(text) >= _SMALL and _teencode_scanner() is not None
        try:
            got = c.teencode_apply(text, buf.starts, buf.ends, _teencode(), want)
        except (TypeError, ValueError):  # offset arrays that are not contiguous int64: the lines below
            pass
        else:
            if got is None:
                return buf
            flags.add("teencode")
            out = _Buf(got[0], got[1], got[2])
            out.window = got[3]
            return out
    # The runs that hash like a key, each looked up in the table (``teencode_runs`` and the loop of
    # ``_teencode_fast``, in one call).
    edits: list[_Edit]
    edits, surrogate = c.teencode_edits(text, _teencode())
    if not edits:
        return buf
    flags.add("teencode")
    done = _apply(buf, edits)
    # The window the Hyperscan scanner leaves on long text it can scan (not the fallback: no Hyperscan, or lone
    # surrogates, which UTF-8 cannot carry).
    if len(text) >= _SMALL and not surrogate and done is not buf and _teencode_scanner() is not None:
        done.window = c.teencode_window(done.text, edits)
    return done


def _collapse_spaces(buf: _Buf, scan: _Scan) -> _Buf:
    """Replace every whitespace run by one space (what ``_spaces`` does): single characters in place."""
    c = _compiled()
    if c is not None:
        return _from_c(buf, c.collapse_spaces(buf.text, buf.starts, buf.ends))
    runs = scan.spaces()
    if not runs:
        return buf
    singles = [a for a, b in runs if b - a == 1]
    if singles:
        codes = scan.codes.copy()
        codes[np.asarray(singles, dtype=np.int64)] = 32
        buf = _Buf(_from_codes(codes), buf.starts, buf.ends)
    longer = [(a, b) for a, b in runs if b - a > 1]
    return _runs_to(buf, longer, lambda s: " ")


def _runs_to(buf: _Buf, runs: Sequence[tuple[int, int]], repl: Callable[[str], str]) -> _Buf:
    if not runs:
        return buf
    text = buf.text
    return _apply(buf, [(a, b, repl(text[a:b]), None) for a, b in runs])


# ---------------------------------------------------------------------------------------------------------------
# Triggers: one Hyperscan pass over the UTF-8 text says which stages could change anything (a superset), so a
# stage that has nothing to do costs nothing; a stage that fires then finds its exact positions with numpy.

_T_INV, _T_CONF, _T_REP, _T_EXOTIC, _T_SPACED, _T_LEET, _T_MARK, _T_TEEN, _T_WS = (1 << k for k in range(9))
_T_ALL = (1 << 9) - 1
# The bits that decide whether a stage of the round loop runs (the others are handled before it).
_T_STAGES = _T_REP | _T_EXOTIC | _T_SPACED | _T_LEET | _T_MARK | _T_TEEN | _T_WS
# What sets ``_T_LEET``: a letter next to a leet digit (what ``_LEET_HINT`` finds).
_LEET_EXACT = r"\p{L}[013457@]|[013457]\p{L}"
_hs: Any
try:  # pragma: no cover - depends on the platform
    import hyperscan as _hs

    from moderation.hscache import compile_database
except ImportError:  # pragma: no cover
    _hs = None


def _hs_class(chars: Iterable[str]) -> str:
    """A Hyperscan character class (``\\x{..}`` escapes) for ``chars``, with ranges merged."""
    cps = sorted({ord(c) for c in chars} - set(range(0xD800, 0xE000)))
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(f"\\x{{{cps[i]:x}}}" if i == j else f"\\x{{{cps[i]:x}}}-\\x{{{cps[j]:x}}}")
        i = j + 1
    return "[" + "".join(parts) + "]"


def _class_chars(pattern: re.Pattern[str] | regex.Pattern[str], lo: int = 0, hi: int = _BMP) -> list[str]:
    chars = "".join(map(chr, range(lo, hi)))
    return [ch for m in pattern.finditer(chars) for ch in m.group()]


# The one-code-point classes the trigger patterns are made of. Each is a Hyperscan class expression (with the
# code points of ``_TC_REP`` and ``_TC_EXOTIC`` given as lists: ``_T_REP`` is literal triples, ``_T_EXOTIC`` ranges),
# so the compiled trigger pass (``_normalise.trigger_bits``) reads them from a table that Hyperscan itself fills,
# with Hyperscan's Unicode properties (not Python's, whose Unicode version may differ).
_TC_CONF, _TC_REP, _TC_NLMN, _TC_L0134, _TC_M, _TC_SEP, _TC_L, _TC_TONED = (1 << k for k in range(8))
_TC_OTONE, _TC_UTONE, _TC_NLM, _TC_NW, _TC_WSX, _TC_EXOTIC = (1 << k for k in range(8, 14))
_TC_BITS: tuple[int, ...] = (_TC_CONF, _TC_REP, _TC_NLMN, _TC_L0134, _TC_M, _TC_SEP, _TC_L, _TC_TONED, _TC_OTONE)
_TC_BITS += (_TC_UTONE, _TC_NLM, _TC_NW, _TC_WSX, _TC_EXOTIC)
_SPACED_SEP = r"[.\-_*~+|/\\'`^]"
_OTONE_CLASS = "[òóỏõọèéẻẽẹàáảãạ]"
_UTONE_CLASS = "[ỳýỷỹỵ]"
_EXOTIC_CLASS = r"[^\x00-\x{24f}\x{1e00}-\x{1eff}]"


@functools.cache
def _rep_letters() -> list[str]:
    """The letters ``_T_REP`` looks for three of in a row."""
    letters = regex.compile(r"\p{L}")
    return [chr(cp) for cp in (*range(0x41, 0x250), *range(0x1E00, 0x1F00)) if letters.match(chr(cp))]


@functools.cache
def _trigger_classes() -> dict[int, str]:
    """The Hyperscan expression of every one-code-point class of the trigger patterns but ``_TC_REP`` and
    ``_TC_EXOTIC``, by class bit."""
    ws = _class_chars(re.compile(r"\s"))
    return {
        _TC_CONF: _hs_class(map(chr, _confusables())),
        _TC_NLMN: r"[^\p{L}\p{M}\p{Nd}]",
        _TC_L0134: r"[\p{L}0134]",
        _TC_M: r"\p{M}",
        _TC_SEP: _SPACED_SEP,
        _TC_L: r"\p{L}",
        _TC_TONED: _hs_class(_TONED_CONSONANT),
        _TC_OTONE: _OTONE_CLASS,
        _TC_UTONE: _UTONE_CLASS,
        _TC_NLM: r"[^\p{L}\p{M}]",
        _TC_NW: r"[^\w]",
        _TC_WSX: _hs_class(c for c in ws if c != " "),
    }


class _Triggers:
    def __init__(self) -> None:
        assert _hs is not None
        cls = _trigger_classes()
        word = cls[_TC_NW]
        # No expression for ``_T_INV``: invisible characters are found before lowering by ``_has_invisible`` (a
        # table lookup), and no stage after it reads the bit. ``_normalise.trigger_bits`` tests the same patterns
        # (keep both in step).
        exprs = {
            _T_CONF: cls[_TC_CONF],
            _T_REP: "(?:" + "|".join(re.escape(c * 3) for c in _rep_letters()) + ")",
            _T_EXOTIC: _EXOTIC_CLASS,
            _T_SPACED: "(?:^|"
            + cls[_TC_NLMN]
            + ")"
            + cls[_TC_L0134]
            + "(?:"
            + cls[_TC_M]
            + "|"
            + cls[_TC_SEP]
            + r"|\x20"
            + cls[_TC_L]
            + r"(?:\x20|"
            + cls[_TC_M]
            + "))",
            # A superset without ``\p{L}`` (a letter is an ASCII letter or not ASCII), twenty times cheaper to scan;
            # when it fires, :meth:`scan` asks the exact pattern (``_LEET_EXACT``) before setting the bit.
            _T_LEET: r"[A-Za-z\x{80}-\x{10ffff}][013457@]|[013457][A-Za-z\x{80}-\x{10ffff}]",
            _T_MARK: cls[_TC_M]
            + "|"
            + cls[_TC_TONED]
            + "|o"
            + cls[_TC_OTONE]
            + "(?:"
            + cls[_TC_NLM]
            + "|$)|u"
            + cls[_TC_UTONE]
            + "(?:"
            + cls[_TC_NLM]
            + "|$)",
            _T_TEEN: "(?:^|" + word + ")(?:" + "|".join(re.escape(k) for k in _teencode()) + ")(?:" + word + "|$)",
            # two whitespace characters, or one that is not a space: two spaces, or any whitespace but a space
            _T_WS: r"\x20\x20|" + cls[_TC_WSX],
        }
        flags = _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_UCP | _hs.HS_FLAG_SINGLEMATCH | _hs.HS_FLAG_ALLOWEMPTY
        self.db = compile_database([e.encode() for e in exprs.values()], list(exprs), [flags] * len(exprs))  # cached
        self.leet = _hs.Database(mode=_hs.HS_MODE_BLOCK)
        self.leet.compile(expressions=[_LEET_EXACT.encode()], ids=[_T_LEET], elements=1, flags=[flags])
        self.local = threading.local()

    def scan(self, text: str) -> int:
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not valid UTF-8, so every stage looks for itself
            return _T_ALL
        scratch = getattr(self.local, "scratch", None)
        if scratch is None:
            scratch = self.local.scratch = _hs.Scratch(self.db)
        found = [0]

        def on_match(pid: int, _from: int, _to: int, _flags: int, _ctx: object) -> None:
            found[0] |= pid

        self.db.scan(data, match_event_handler=on_match, scratch=scratch)
        if found[0] & _T_LEET:
            found[0] &= ~_T_LEET
            c = _compiled()
            exact = c.leet_exact(text) if c is not None else -1
            if exact >= 0:  # decided by ASCII letters alone (Hyperscan's \p{L} decides the others)
                return found[0] | (_T_LEET if exact else 0)
            leet_scratch = getattr(self.local, "leet_scratch", None)
            if leet_scratch is None:
                leet_scratch = self.local.leet_scratch = _hs.Scratch(self.leet)
            self.leet.scan(data, match_event_handler=on_match, scratch=leet_scratch)
        return found[0]


@functools.cache
def _triggers() -> _Triggers | None:
    return _Triggers() if _hs is not None else None


class _TriggerTable:
    """The ``_TC_*`` bits of every code point (``_UNKNOWN`` until met), the table of the compiled trigger pass:
    the Hyperscan classes found by Hyperscan itself (one scan of the code points, every match reported), the
    others from their lists."""

    def __init__(self) -> None:
        assert _hs is not None
        exprs = _trigger_classes()
        flags = _hs.HS_FLAG_UTF8 | _hs.HS_FLAG_UCP
        self.db = compile_database([e.encode() for e in exprs.values()], list(exprs), [flags] * len(exprs))  # cached
        self.scratch = _hs.Scratch(self.db)
        self.lock = threading.Lock()  # one scratch: fills are rare (a code point is filled once)
        self.rep = frozenset(map(ord, _rep_letters()))
        self.table = np.full(_MAX_CP, _UNKNOWN, dtype=np.uint16)
        self.fill([*range(0x250), *range(0x300, 0x370), *range(0x1E00, 0x1F00)])

    def fill(self, cps: Sequence[int]) -> None:
        """Fill the table for ``cps`` (lone surrogates, which UTF-8 cannot carry, are left unknown)."""
        cps = [cp for cp in cps if 0 <= cp < _MAX_CP and not 0xD800 <= cp <= 0xDFFF]
        if not cps:
            return
        bits = [
            (_TC_REP if cp in self.rep else 0) | (_TC_EXOTIC if cp > 0x24F and not 0x1E00 <= cp <= 0x1EFF else 0)
            for cp in cps
        ]
        chars = [chr(cp) for cp in cps]
        at_end: dict[int, int] = {}  # the UTF-8 end offset of each character -> its index
        end = 0
        for i, ch in enumerate(chars):
            end += len(ch.encode("utf-8"))
            at_end[end] = i

        def on_match(pid: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
            bits[at_end[to]] |= pid

        with self.lock:
            self.db.scan("".join(chars).encode("utf-8"), match_event_handler=on_match, scratch=self.scratch)
            self.table[np.asarray(cps, dtype=np.int64)] = np.asarray(bits, dtype=np.uint16)


@functools.cache
def _trigger_table() -> _TriggerTable:
    return _TriggerTable()


def _trigger_fill(cp: int) -> int:
    """The ``_TC_*`` bits of one code point not met yet (the compiled trigger pass asks when it meets one)."""
    table = _trigger_table()
    if 0xD800 <= cp <= 0xDFFF:
        return 0
    table.fill([cp])
    return int(table.table[cp])


def _trigger_bits(text: str) -> int:
    c = _compiled()
    if c is not None and _hs is not None:  # the same bits from one compiled pass (set up by ``_compiled``)
        bits: int = c.trigger_bits(text)
        return bits
    t = _triggers()
    return _T_ALL if t is None else t.scan(text)


# ---------------------------------------------------------------------------------------------------------------
# Stages

# Format characters (zero-width, bidi controls, soft hyphen, variation selectors, tags) are deleted; lone
# surrogates become U+FFFD so the result can always be encoded; other control characters become spaces.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\ufe00-\ufe0f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\U000e0100-\U000e01ef]+"
)
_SURROGATES_CONTROLS = re.compile("[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_MARK_FLOOD = regex.compile(r"(?<=\p{M}{" + str(_MAX_MARKS) + r"})\p{M}+")
_WORDCHAR = r"[\p{L}\p{M}]"
# Tokens that need mark repair: any combining mark; a tone-marked consonant (ṭ, ṃ); new-style tone placement.
_TONED_CONSONANT = "".join(
    chr(cp)
    for cp in range(0x00C0, 0x1EFF + 1)
    if (d := unicodedata.normalize("NFD", chr(cp)))[0].lower() in "bcdfghjklmnpqrstvwxz"
    and any(m in TONE_MARKS for m in d[1:])
)
_SUSPICIOUS = regex.compile(
    r"\p{M}|[" + _TONED_CONSONANT + r"]|o[òóỏõọèéẻẽẹàáảãạ](?!" + _WORDCHAR + r")|(?<!q)u[ỳýỷỹỵ](?!" + _WORDCHAR + ")"
)
_TOKEN_END = regex.compile(r"[^\p{L}\p{M}]")
_TOKEN_START = regex.compile(r"[^\p{L}\p{M}]", regex.REVERSE)
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"}
_LEET_HINT = regex.compile(r"\p{L}[013457@]|[013457]\p{L}")
_LEET_TOKEN = regex.compile(r"[\p{L}\p{M}\d@]++")
_LEET_TABLE = str.maketrans(_LEET)
_MAX_LEET_TOKEN = 64
_D0134_CODES = np.asarray([ord(c) for c in "0134"], dtype=np.uint32)
# Single letters (or leet digits) separated by the same kind of punctuation: "c.h.ố.n.g", "đ-m", "n g u" (three
# letters or more when separated by spaces; :func:`_join_spaced` joins three only when they spell syllables).
_SPACED = regex.compile(
    r"(?<![\p{L}\p{M}\d])"
    r"(?:(?:[\p{L}0134]\p{M}*)[.\-_*~+|/\\'`^]+){1,}[\p{L}0134]\p{M}*(?![\p{L}\p{M}\d]|[.\-_*~+|/\\'`^]+[\p{L}\d])"
    r"|(?<![\p{L}\p{M}\d])(?:(?:\p{L}\p{M}*) ){2,}\p{L}\p{M}*"
    r"(?![\p{L}\p{M}\d])"
)
_REPEAT = regex.compile(r"(\p{L})\1{2,}")
_SPACES = re.compile(r"\s{2,}|[^\S ]")


def _has_invisible(text: str, codes: npt.NDArray[np.uint32] | None = None) -> bool:
    """Whether ``text`` holds a character ``_delete_invisible`` changes (format, control or lone surrogate): the
    class bits of every code point, looked up with numpy (cheaper than a trigger scan). ``codes`` are the code
    points of ``text`` if the caller has them."""
    if text.isascii():
        return not text.isprintable() and bool(_ASCII_CONTROL.search(text))
    c = _compiled()
    if c is not None:
        return bool(c.has_invisible(text))
    if len(text) < _SMALL:  # two regex searches cost less than numpy's fixed overhead on short text
        return bool(_INVISIBLE.search(text) or _SURROGATES_CONTROLS.search(text))
    codes = _codes(text) if codes is None else codes
    if int(codes.max()) < _BMP:  # one gather from a table of the BMP
        return bool(_invisible_bmp()[codes].any())
    return bool((_classes_of(codes) & (_INV | _CTRL)).any())


@functools.cache
def _invisible_bmp() -> npt.NDArray[np.bool_]:
    """Per BMP code point: format, control or surrogate (the ``_INV | _CTRL`` class bits)."""
    out: npt.NDArray[np.bool_] = (_bmp_classes() & (_INV | _CTRL)) != 0
    return out


# Context around a change for the trigger patterns (each spans at most 7 characters).
_TRIGGER_CONTEXT = 8
# Below this many characters, stages use per-match Python instead of numpy (whose fixed cost per call dominates).
_SMALL = 256
_ASCII_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _delete_invisible(buf: _Buf) -> _Buf:
    # Deleting a character keeps every other one on its own original span (the map of the previous character is
    # not widened): a numpy filter over the code points and the map.
    c = _compiled()
    if c is not None:
        return _from_c(buf, c.delete_invisible(buf.text, buf.starts, buf.ends))
    scan = _Scan(buf.text)
    keep = ~scan._is(_INV)
    if not keep.all():
        buf = _Buf(_from_codes(scan.codes[keep]), buf.starts[keep], buf.ends[keep])
    return _sub(buf, _SURROGATES_CONTROLS, lambda s: "\ufffd" if "\ud800" <= s <= "\udfff" else " ")


@functools.cache
def _lower_array() -> npt.NDArray[np.uint32]:
    """Lowercase code point of every BMP character (0 where lowering changes the length)."""
    out = np.arange(_BMP, dtype=np.uint32)
    for cp in range(_BMP):
        low = chr(cp).lower()
        if len(low) != 1:
            out[cp] = 0
        elif low != chr(cp):
            out[cp] = ord(low)
    return out


def _lower(buf: _Buf, codes: npt.NDArray[np.uint32] | None = None) -> _Buf:
    """Lowercase ``buf`` (``codes``: the code points of its text if the caller has them)."""
    text = buf.text
    if text.isascii():
        low = text.lower()
        return buf if low == text else _Buf(low, buf.starts, buf.ends, identity=buf.identity)
    c = _compiled()
    if c is not None:
        return _lower_c(buf, c)
    if codes is None:
        codes = _codes(text) if len(text) >= 256 else np.zeros(0, dtype=np.uint32)
    if len(codes) and int(codes.max()) < _BMP:
        table = _lower_array()
        lowered = table[codes]
        if lowered.all() or not (lowered == 0).any():
            if np.array_equal(lowered, codes):
                return buf
            return _Buf(_from_codes(lowered), buf.starts, buf.ends, identity=buf.identity)
    low = buf.text.lower()
    if len(low) == len(buf.text):
        return buf if low == buf.text else _Buf(low, buf.starts, buf.ends, identity=buf.identity)
    # A few characters (İ) lower to two; replace those as whole-range edits, the rest lower one for one.
    if len(codes) and int(codes.max()) < _BMP:
        # Only where the table says "not one for one" (code 0 included, hence the check).
        at = np.flatnonzero(_lower_array()[codes] == 0).tolist()
        edits: list[_Edit] = [(i, i + 1, text[i].lower(), None) for i in at if len(text[i].lower()) != 1]
    else:
        edits = [(i, i + 1, ch.lower(), None) for i, ch in enumerate(text) if len(ch.lower()) != 1]
    buf = _apply(buf, edits)
    return _Buf(buf.text.lower(), buf.starts, buf.ends)


def _lower_c(buf: _Buf, c: Any) -> _Buf:
    """:func:`_lower` with the compiled table pass (long text), for non-ASCII text."""
    text = buf.text
    if len(text) >= 256:
        lowered = c.lower_bmp(text)
        if lowered is not None:
            return buf if lowered is text else _Buf(lowered, buf.starts, buf.ends, identity=buf.identity)
    # ``text.lower()`` character by character in one pass, when that is what it gives (no capital sigma, nothing
    # that lowers to two characters): cheaper than ``str.lower`` for text beyond ASCII.
    lowered = c.lower_simple(text)
    if lowered is not None:
        return buf if lowered is text else _Buf(lowered, buf.starts, buf.ends, identity=buf.identity)
    low = text.lower()
    if len(low) == len(text):
        return buf if low == text else _Buf(low, buf.starts, buf.ends, identity=buf.identity)
    edits: list[_Edit] = [(i, i + 1, ch.lower(), None) for i, ch in enumerate(text) if len(ch.lower()) != 1]
    buf = _apply(buf, edits)
    return _Buf(buf.text.lower(), buf.starts, buf.ends)


def _matches_at(pattern: regex.Pattern[str], text: str, candidates: Sequence[int] | None) -> Iterable[regex.Match[str]]:
    """Yield what ``pattern.finditer(text)`` yields, trying only ``candidates`` (a sorted superset of the starts)."""
    if candidates is None:
        yield from pattern.finditer(text)
        return
    end = 0
    for p in candidates:
        if p < end:
            continue
        m = pattern.match(text, p)
        if m is not None and m.end() > m.start():
            end = m.end()
            yield m


# A chain of single letters joined by separators ("a.b.c.d"): where the first branch of ``_SPACED`` can only end.
_SEP_CHAIN = regex.compile(r"(?:[\p{L}0134]\p{M}*[.\-_*~+|/\\'`^]+)++[\p{L}0134]?")


_MARKS_RUN = regex.compile(r"\p{M}*")
_SPACED_BAD_END = regex.compile(r"[\p{L}\p{M}\d]|[.\-_*~+|/\\'`^]+[\p{L}\d]")
_SEPARATORS = frozenset(".-_*~+|/\\'`^")
_TRAILING_SEPARATORS = regex.compile(r"[.\-_*~+|/\\'`^]+", regex.REVERSE)
_LONG_CHAIN = 4


def _spaced_matches(text: str, candidates: Sequence[int] | None) -> Iterable[regex.Match[str]]:
    """What ``_SPACED.finditer(text)`` yields, in linear time.

    In a chain of single letters joined by separators ("a.b.c.d") the first branch of ``_SPACED`` can only end at
    the chain's last letter (an earlier letter is followed by a separator and a letter, which its lookahead
    refuses), and the second branch cannot start (it needs spaces). So a long chain is decided once: it matches up
    to its last letter, or no start inside it matches. The regex alone backtracks over the chain from every letter of it
    ("a." * 5000 + "vn" took 20 s).
    """
    if candidates is None:
        candidates = range(len(text))
    end = 0
    for p in candidates:
        if p < end:
            continue
        chain = _SEP_CHAIN.match(text, p)
        if chain is not None and chain.end() - p > _LONG_CHAIN:
            e = chain.end()
            if text[e - 1] in _SEPARATORS:  # no final letter: the chain's last letter is before the separators
                seps = _TRAILING_SEPARATORS.match(text, p, e)
                q = seps.start() if seps is not None else e
            else:  # the final letter and its marks
                marks = _MARKS_RUN.match(text, e)
                q = marks.end() if marks is not None else e
            if _SPACED_BAD_END.match(text, q):
                end = e
                continue
            m = _SPACED.match(text, p, q)  # ends at q, where the lookahead has been checked on the whole text
        else:
            m = _SPACED.match(text, p)
        if m is not None and m.end() > m.start():
            end = m.end()
            yield m
        elif m is None and chain is not None:
            end = chain.end()


# A run of letters written one by one is joined with a space at each syllable break (:mod:`syllables`) for at
# most this many runs of a text, each of at most this many characters; beyond that (crafted input) its letters
# are joined without breaks.
_SYLLABLE_RUNS = 256
_SYLLABLE_RUN_CHARS = 64


def _units(s: str, kept: Sequence[int]) -> list[tuple[int, int]]:
    """The letters among the kept positions ``kept`` of a spaced run ``s``, each with the marks after it: (index in
    ``kept`` of the letter, of the end)."""
    out: list[tuple[int, int]] = []
    for k, j in enumerate(kept):
        if out and unicodedata.category(s[j]).startswith("M"):
            out[-1] = (out[-1][0], k + 1)
        else:
            out.append((k, k + 1))
    return out


def _syllable_plan(s: str, kept: Sequence[int]) -> tuple[bool, list[int]]:
    """For a spaced run ``s`` whose letters (and marks) are at ``kept``: whether to join it, and the positions in
    ``s`` of the separators to keep as spaces (one before each syllable break).

    Three letters separated by spaces are joined only when they spell syllables ("n g u", not "e k b", one-letter
    words of teencode that the teencode stage expands one by one); a longer run, or one with other separators, is
    always joined, as before the syllable breaks."""
    units = _units(s, kept)
    pieces = ["".join(s[kept[k]] for k in range(a, b)) for a, b in units]
    if len(units) < 4 and not any(ch in _SEPARATORS for ch in s) and not syllables.is_syllables(pieces):
        return False, []
    return True, [kept[units[k][0]] - 1 for k in (syllables.breaks(pieces) or ())]


def _join_spaced(buf: _Buf, flags: set[str], candidates: Sequence[int] | None = None) -> _Buf:
    matches = list(_spaced_matches(buf.text, candidates))
    if len(matches) > 16:
        return _join_spaced_many(buf, flags, matches)
    edits: list[_Edit] = []
    for m in matches:
        s = m.group()
        if len(s) > _SYLLABLE_RUN_CHARS:
            # A long run ("n g u n g u ..." over a whole post): the same choice as the loop below, with numpy.
            codes = _codes(s)
            alpha, _digit, mark = _py_classes(codes)
            kept = alpha | np.isin(codes, _D0134_CODES)
            if kept.any():
                kept |= mark & (np.arange(len(s)) > int(np.argmax(kept)))
                at = np.flatnonzero(kept)
                if len(at) >= 2:
                    edits.append((m.start(), m.end(), _from_codes(codes[at]), np.stack((at, at + 1), axis=1)))
            continue
        keep: list[int] = []
        for j, ch in enumerate(s):
            if ch.isalpha() or ch in "0134" or (keep and unicodedata.category(ch).startswith("M")):
                keep.append(j)
        if len(keep) < 2:
            continue
        join, spaces = _syllable_plan(s, keep)
        if not join:
            continue
        if spaces:
            keep = sorted(keep + spaces)
            spaced = set(spaces)
            joined = "".join(" " if j in spaced else s[j] for j in keep)
        else:
            joined = "".join(s[j] for j in keep)
        edits.append((m.start(), m.end(), joined, [(j, j + 1) for j in keep]))
    if edits:
        flags.add("obfuscation")
        return _apply(buf, edits)
    return buf


_MAX_FRAGMENTS = 4
_MAX_FRAGMENT_CHARS = 12  # a syllable's seven letters, with their marks
_FRAGMENT_SEP = re.compile(_SPACED_SEP)
_VOWEL_CODES = frozenset(map(ord, "aeiouy"))


def _fragment_chains_py(text: str) -> list[tuple[int, int]]:
    """The words split inside by separators ("ch.ó", "l.ồn") that may spell one syllable, as (start, end): two to
    four pieces of letters and marks, one separator between each, at most ``_MAX_FRAGMENT_CHARS`` letters and marks,
    no digit on either side, one run of vowels (folded; marks do not end one). Most words run over a full stop
    ("rồi.chứ": two runs) stop here. What ``_normalise.fragment_chains`` computes, over the same class bits."""
    n = len(text)
    if n < 3:
        return []
    codes = _codes(text)
    cls = _classes_of(codes).tolist()
    fold = _fold_array()
    word, sep, letter, mark, digit = _L | _M, _SEP, _L, _M, _D
    out = []
    i = 1
    while i < n - 1:
        if not (cls[i] & sep and cls[i + 1] & letter and cls[i - 1] & word):
            i += 1
            continue
        a = i - 1
        while a > 0 and cls[a - 1] & word:
            a -= 1
        q, pieces = i, 1
        while q + 1 < n and cls[q] & sep and cls[q + 1] & letter:
            q += 1
            while q < n and cls[q] & word:
                q += 1
            pieces += 1
        i = q
        if pieces > _MAX_FRAGMENTS or (a > 0 and cls[a - 1] & digit) or (q < n and cls[q] & digit):
            continue
        chars = runs = 0
        in_vowel = False
        for e in range(a, q):
            if cls[e] & sep:
                continue
            chars += 1
            if cls[e] & mark:
                continue
            cp = int(codes[e])
            vowel = (int(fold[cp]) if cp < len(fold) else cp) in _VOWEL_CODES
            runs += vowel and not in_vowel
            in_vowel = vowel
        if chars <= _MAX_FRAGMENT_CHARS and runs == 1:
            out.append((a, q))
    return out


def _join_fragments(buf: _Buf, flags: set[str], chains: Sequence[tuple[int, int]]) -> _Buf:
    """Join a word split by separators inside it ("ch.ó", "l.ồn", "ng.u", "đ-ịt") when its pieces together spell one
    Vietnamese syllable and some piece is not a syllable on its own; each letter keeps its own span.

    ``chains``: the candidates (:func:`_fragment_chains_py`). Hyphenated loan words ("ô-tô", "ka-ra-ô-kê": every
    piece a syllable), abbreviations ("tp.hcm") and words run into each other over a full stop ("rồi.chứ") are left
    alone; a longer chain ("c.h.ó.đ.ẻ") is the spaced-letter stage's."""
    text = buf.text
    edits: list[_Edit] = []
    for a, q in chains:
        plan = _fragment_plan(text[a:q])
        if plan is not None:
            edits.append((a, q, plan[0], plan[1]))
    if edits:
        flags.add("obfuscation")
        return _apply(buf, edits)
    return buf


@functools.lru_cache(maxsize=4096)
def _fragment_plan(word: str) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """For a chain of pieces (:func:`_fragment_chains_py`): its letters joined and the span of each in ``word``,
    when they spell one syllable and some piece is not a word of its own (not a syllable, or one letter); else
    None."""
    pieces = _FRAGMENT_SEP.split(word)
    units = [_units(piece, range(len(piece))) for piece in pieces]
    if not syllables.is_syllable([p[u0:u1] for p, pu in zip(pieces, units, strict=True) for u0, u1 in pu]):
        return None
    # every piece a word of its own ("ô-tô"): not a split word; a one-letter piece is not one ("mà.y", "c.a")
    if all(
        len(pu) > 1 and syllables.is_syllable([p[u0:u1] for u0, u1 in pu]) for p, pu in zip(pieces, units, strict=True)
    ):
        return None
    kept = [j for j, ch in enumerate(word) if ch not in _SEPARATORS]
    return "".join(word[j] for j in kept), tuple((j, j + 1) for j in kept)


_MAY_MAKE_CHAINS = frozenset(("obfuscation", "marks:repaired", "teencode"))


def _fragment_chains(text: str, c: Any) -> list[tuple[int, int]]:
    if c is not None:
        chains: list[tuple[int, int]] = c.fragment_chains(text)
        return chains
    return _fragment_chains_py(text)


def _join_words(buf: _Buf, flags: set[str], c: Any, chains: list[tuple[int, int]], reads: bool) -> _Buf:
    """:func:`_join_masked` and :func:`_join_accents` when ``reads`` (:func:`_may_read_words` of ``buf``'s text),
    then :func:`_join_fragments` (``chains``: those of ``buf``'s text, found again when a word was read) and the
    accents again where a split word was joined ("a.n`" is "an`")."""
    masked = _join_accents(_join_masked(buf, flags), flags) if reads else buf
    if masked is not buf:
        chains = _fragment_chains(masked.text, c)
    if not chains:
        return masked
    joined = _join_fragments(masked, flags, chains)
    return joined if joined is masked else _join_accents(joined, flags)


def _join_fragments_in(buf: _Buf, flags: set[str], c: Any) -> _Buf:
    """:func:`_join_fragments` at the chains the compiled scan (or :func:`_fragment_chains_py`) finds in ``buf``."""
    chains = _fragment_chains(buf.text, c)
    return _join_fragments(buf, flags, chains) if chains else buf


# Masked words ("l*n", "đ*t", "b**i", "c#c", "ch!ch"): letters, a run of mask symbols, letters, as a whole word.
_MASK_SYMBOLS = "*#!%$"  # not "@": the leet stage reads it as "a" ("l@n" is "lan")
_MAX_MASK = 3
_MASKED_WORD = re.compile(
    rf"([^\W\d_]{{1,4}})([{re.escape(_MASK_SYMBOLS)}]{{1,{_MAX_MASK}}})([^\W\d_]{{1,4}})(?![^\W_])"
)


@functools.cache
def _masked_table() -> dict[tuple[str, int, str], tuple[str, int, int]]:
    """(diacritic-free letters before the mask, the mask's length, letters after it) -> (the word of
    ``data/masked.txt`` it stands for, where the hidden letters start and end in it), for the masked forms that
    fit exactly one listed word (a mask of ``k`` symbols hides ``k - 1`` to ``k + 1`` letters, at least one)."""
    fits: dict[tuple[str, int, str], set[tuple[str, int, int]]] = {}
    for (word,) in _data_lines("masked.txt"):
        folded = fold_diacritics(word)
        for p in range(1, len(folded) - 1):
            for q in range(p + 1, len(folded)):
                hidden = q - p
                for k in range(max(1, hidden - 1), min(hidden + 1, _MAX_MASK) + 1):
                    fits.setdefault((folded[:p], k, folded[q:]), set()).add((word, p, q))
    return {key: next(iter(words)) for key, words in fits.items() if len({w for w, _, _ in words}) == 1}


def _spaced_on(text: str, at: int, then: int) -> bool:
    """Whether ``text[at]`` is a mask symbol with a letter at ``then`` (next to it): the masked word's letters go on
    spaced out ("c*h*ó" is the spaced-letter stage's), unlike a mask symbol used as punctuation ("l*n!")."""
    return 0 <= at < len(text) and 0 <= then < len(text) and text[at] in _MASK_SYMBOLS and text[then].isalpha()


def _mask_starts_py(text: str) -> list[int]:
    """Where a run of at most ``_MAX_MASK`` mask symbols starts right after a letter and ends right before one, in
    order (what ``_normalise.mask_starts`` computes)."""
    at: list[int] = []
    n = len(text)
    for symbol in _MASK_SYMBOLS:
        i = text.find(symbol, 1)
        while 0 < i < n - 1:
            j = i + 1
            while j < n - 1 and j - i < _MAX_MASK and text[j] in _MASK_SYMBOLS:
                j += 1
            if text[j].isalpha() and text[i - 1].isalpha():
                at.append(i)
            i = text.find(symbol, j)
    return sorted(at)


def _word_before(text: str, a: int) -> bool:
    """Whether the letters starting at ``a`` continue a word: a letter or a digit before them, or combining marks on
    one (decomposed text: "ngô\u0300l*n" is not the word "l*n"); marks on nothing are dropped later, so they are
    no part of a word."""
    j = a - 1
    while j >= 0 and unicodedata.combining(text[j]):
        j -= 1
    return j >= 0 and text[j].isalnum()


def _may_hold_mask(text: str) -> bool:
    """Whether ``text`` holds a mask symbol at all (most text does not: a few ``str.__contains__`` scans)."""
    return "*" in text or "#" in text or "!" in text or "%" in text or "$" in text


def _join_masked(buf: _Buf, flags: set[str]) -> _Buf:
    """Read a vulgar word written with letters masked by symbols ("l*n", "đ*t", "b**i", "c#c", "ch!ch") as the one
    word of ``data/masked.txt`` it fits (:func:`_masked_table`); one that fits none or several stays as written.
    The visible letters keep their own spans and each hidden letter maps to the whole mask."""
    text = buf.text
    if not _may_hold_mask(text):  # a few memchr scans, cheaper than the one pass over the text below
        return buf
    c = _compiled()
    at: list[int] = c.mask_starts(text, _MAX_MASK) if c is not None else _mask_starts_py(text)
    if not at:
        return buf
    table = _masked_table()
    edits: list[_Edit] = []
    end = 0  # where the last edit ends: edits are sorted and do not overlap
    for i in at:
        a = i - 1
        while a > 0 and text[a - 1].isalpha() and i - a < 4:
            a -= 1
        if a < end or _word_before(text, a) or _spaced_on(text, a - 1, a - 2):
            continue  # a longer word, a word run into digits, letters spaced out, or inside the last masked word
        m = _MASKED_WORD.match(text, a)
        if m is None or m.start(2) != i or _spaced_on(text, m.end(), m.end() + 1):
            continue
        left, mask, right = m.groups()
        got = table.get((fold_diacritics(left), len(mask), fold_diacritics(right)))
        if got is None:
            continue
        word, p, q = got
        k = len(mask)
        spans = [(j, j + 1) for j in range(p)] + [(p, p + k)] * (q - p)
        spans += [(p + k + j, p + k + j + 1) for j in range(len(word) - q)]
        edits.append((a, m.end(), word, spans))
        end = m.end()
    if edits:
        flags.add("obfuscation")
        return _apply(buf, edits)
    return buf


# Tone marks typed as spacing accents after a syllable's letters ("na`o", "lo`ng", "dai´cua", "no´co´"): the grave
# accent and the acute accent, for the combining grave and acute.
_SPACING_TONES = {"`": "\u0300", "\u00b4": "\u0301"}
_MAX_ACCENTED = 8
_MAX_ACCENTS = 1024  # accents looked at per text and kind of accent (crafted input has a million)


def _may_hold_accent(text: str) -> bool:
    return "`" in text or "\u00b4" in text


def _may_read_words(text: str) -> bool:
    """Whether :func:`_join_masked` or :func:`_join_accents` could change ``text``: an accent, or a run of mask
    symbols between letters (most text with "!" has none). One compiled pass (``_normalise.may_read_words``)."""
    c = _compiled()
    if c is not None:
        found: bool = c.may_read_words(text, _MAX_MASK)
        return found
    return _may_read_words_py(text)


def _may_read_words_py(text: str) -> bool:
    if _may_hold_accent(text):
        return True
    return _may_hold_mask(text) and bool(_mask_starts_py(text))


def _read_words(buf: _Buf, flags: set[str]) -> _Buf:
    """:func:`_join_masked`, then :func:`_join_accents`, when :func:`_may_read_words` says either could apply."""
    if not _may_read_words(buf.text):
        return buf
    return _join_accents(_join_masked(buf, flags), flags)


def _join_accents(buf: _Buf, flags: set[str]) -> _Buf:
    """Read a tone typed as a spacing accent after the letters of a syllable: "na`o" and "lo`ng" read "nào" and
    "lòng" (the letters around it spell one syllable), "dai´cua" and "lam`nhu" read "dái cua" and "làm nhu" (they
    do not: the accent ends the first, and stands for the space too), "no´" reads "nó". The accent becomes the
    combining mark, which the mark stage then puts on the syllable's vowel; the mark, and the space, map to the
    accent. Left alone: letters that already carry a tone, that spell no syllable, or a single letter after the
    accent that is no syllable either ("it´s")."""
    text = buf.text
    if not _may_hold_accent(text):
        return buf
    at: list[int] = []
    for accent in _SPACING_TONES:
        i, seen = text.find(accent, 1), 0
        while i > 0 and seen < _MAX_ACCENTS:
            if text[i - 1].isalpha():
                at.append(i)
            i, seen = text.find(accent, i + 1), seen + 1
    edits: list[_Edit] = []
    n = len(text)
    for i in sorted(at):
        mark = _SPACING_TONES[text[i]]
        a = i
        while a > 0 and text[a - 1].isalpha() and i - a < _MAX_ACCENTED:
            a -= 1
        q = i + 1
        while q < n and text[q].isalpha() and q - i <= _MAX_ACCENTED:
            q += 1
        left, right = text[a:i], text[i + 1 : q]
        if _word_before(text, a) or (q < n and text[q].isalnum()):
            continue  # a longer run of letters, digits (or marks before it): not a syllable typed this way
        if any(m in TONE_MARKS for m in unicodedata.normalize("NFD", left)):
            continue
        if right and syllables.is_syllable(list(left + right)):
            edits.append((i, i + 1, mark, None))  # inside the syllable: "lo`ng"
        elif syllables.is_syllable(list(left)) and (not right or syllables.is_syllable(list(right))):
            edits.append((i, i + 1, mark + " " if right else mark, None))
    if edits:
        flags.add("marks:repaired")
        return _apply(buf, edits)
    return buf


def _join_spaced_many(buf: _Buf, flags: set[str], matches: Sequence[regex.Match[str]]) -> _Buf:
    """:func:`_join_spaced` for many matches at once: inside a match every character that is not a letter, a leet
    digit or a mark after one is deleted (when two or more are left), and kept characters keep their own spans, so
    the whole stage is one numpy filter (with the syllable plan of each run read in a loop)."""
    text = buf.text
    n = len(text)
    a = np.fromiter((m.start() for m in matches), dtype=np.int64, count=len(matches))
    b = np.fromiter((m.end() for m in matches), dtype=np.int64, count=len(matches))
    codes = _codes(text)
    alpha, _digit, mark = _py_classes(codes)
    kept0 = alpha | np.isin(codes, _D0134_CODES)
    pos = np.arange(n)
    mid = np.searchsorted(a, pos, side="right") - 1
    safe = np.maximum(mid, 0)
    inside = (mid >= 0) & (pos < b[safe])
    kpos = np.flatnonzero(kept0)
    fi = np.searchsorted(kpos, a)
    first = np.where(fi < len(kpos), kpos[np.minimum(fi, max(len(kpos) - 1, 0))] if len(kpos) else n, n)
    first = np.where(first < b, first, n)  # the first kept character of each match (n: none)
    keep = inside & (kept0 | (mark & (pos > first[safe])))
    count = np.concatenate(([0], np.cumsum(keep)))
    valid = (count[b] - count[a]) >= 2
    drop = inside & valid[safe] & ~keep
    if not valid.any():
        return buf
    # The syllable plan of each run (:func:`_syllable_plan`, as the loop of :func:`_join_spaced` applies it) for
    # the first runs of at most ``_SYLLABLE_RUN_CHARS`` characters.
    spaces: list[int] = []
    changed = False
    planned = 0
    for k in np.flatnonzero(valid).tolist():
        lo, hi = int(a[k]), int(b[k])
        if hi - lo > _SYLLABLE_RUN_CHARS or planned >= _SYLLABLE_RUNS:
            changed = True
            continue
        planned += 1
        join, at = _syllable_plan(text[lo:hi], (np.flatnonzero(keep[lo:hi])).tolist())
        if not join:
            drop[lo:hi] = False
            continue
        changed = True
        spaces.extend(lo + j for j in at)
    if not changed:
        return buf
    flags.add("obfuscation")
    if spaces:
        codes = codes.copy()
        codes[spaces] = 32
        drop[spaces] = False
    stay = ~drop
    return _Buf(_from_codes(codes[stay]), buf.starts[stay], buf.ends[stay])


def _leet(buf: _Buf, flags: set[str], scan: _Scan | None = None) -> _Buf:
    """Undo letter-digit swaps ("ch0ng ph4") in tokens of letters with a few leet digits.

    A token is a run of ``[\\p{L}\\p{M}\\d@]``; it is rewritten when it has at least two letters, at least one digit
    (or ``@``), no more digits than letters, no two digits at either end and no ``@`` at either end. Runs longer
    than :data:`_MAX_LEET_TOKEN` are not words and are left alone. The tests are numpy masks over the whole text,
    so only the tokens that change cost Python work.
    """
    text = buf.text
    if len(text) < _SMALL:
        c = _compiled()
        # ``_LEET_HINT`` decided by the compiled pass where ASCII letters decide it (the same pattern), else asked
        hint = c.leet_exact(text) if c is not None else -1
        if hint < 0:
            hint = _LEET_HINT.search(text) is not None
        return _leet_small(buf, flags) if hint else buf
    # ``_LEET_HINT`` from the class bits (the same ``\p{L}``): on long text the regex search alone costs more than
    # the whole numpy pass.
    c = _compiled()
    if c is not None:
        # One character for one in place: the offset map does not change.
        new = c.leet_long(text)
        if new is None:
            return buf
        flags.add("obfuscation")
        return _Buf(new, buf.starts, buf.ends)
    scan = _Scan(text) if scan is None else scan.of(text)
    if not scan.leet_hint():
        return buf
    tok = scan._is(_L | _M | _D | _AT)
    edge = np.empty(len(tok) + 1, dtype=bool)
    edge[0], edge[-1] = tok[0], tok[-1]
    np.not_equal(tok[1:], tok[:-1], out=edge[1:-1])
    at = np.flatnonzero(edge)
    starts, ends = at[0::2], at[1::2]
    size = ends - starts
    keep = (size >= 3) & (size <= _MAX_LEET_TOKEN)
    if not keep.any():
        return buf
    starts, ends = starts[keep], ends[keep]
    alpha, digit, _mark = _py_classes(scan.codes)
    c_alpha = np.concatenate(([0], np.cumsum(alpha)))
    c_digit = np.concatenate(([0], np.cumsum(digit | (scan.codes == ord("@")))))
    c_leet = np.concatenate(([0], np.cumsum(scan._is(_LEETD | _AT))))
    letters = c_alpha[ends] - c_alpha[starts]
    digits = c_digit[ends] - c_digit[starts]
    d = scan._is(_D)
    glued = (d[starts] & d[starts + 1]) | (d[ends - 1] & d[ends - 2])  # "covid19", "2024abc": names, not leet
    at_edge = (scan.codes[starts] == ord("@")) | (scan.codes[ends - 1] == ord("@"))
    keep = (letters >= 2) & (digits > 0) & (digits <= letters) & ~glued & ~at_edge
    keep &= c_leet[ends] > c_leet[starts]  # something to replace
    edits: list[_Edit] = []
    for a, b in zip(starts[keep].tolist(), ends[keep].tolist(), strict=True):
        edits.append((a, b, text[a:b].translate(_LEET_TABLE), [(j, j + 1) for j in range(b - a)]))
    if edits:
        flags.add("obfuscation")
        return _apply(buf, edits)
    return buf


def _leet_small(buf: _Buf, flags: set[str]) -> _Buf:
    """:func:`_leet` for short text, token by token (the same tests, with the same character classes)."""
    text = buf.text
    edits: list[_Edit] = []
    for m in _LEET_TOKEN.finditer(text):
        tok = m.group()
        if len(tok) > _MAX_LEET_TOKEN or tok.isalpha():
            # (all letters: no digit and no "@", since no letter is a digit, so nothing to replace; most tokens)
            continue
        letters = sum(ch.isalpha() for ch in tok)
        digits = sum(ch.isdigit() or ch == "@" for ch in tok)
        if letters < 2 or digits == 0 or digits > letters:
            continue
        if _GLUED_DIGITS.search(tok) or tok[0] == "@" or tok[-1] == "@":
            continue
        new = tok.translate(_LEET_TABLE)
        if new != tok:
            edits.append((m.start(), m.end(), new, [(j, j + 1) for j in range(len(tok))]))
    if edits:
        flags.add("obfuscation")
        return _apply(buf, edits)
    return buf


_GLUED_DIGITS = regex.compile(r"\d\d$|^\d\d")


_PY_ALPHA, _PY_DIGIT, _PY_MARK = 1, 2, 4


@functools.cache
def _py_all_classes() -> npt.NDArray[np.uint8]:
    """``str.isalpha``/``str.isdigit``/"is a combining mark" bits of every code point (``_UNKNOWN`` & 0xFF for code
    points beyond the BMP not met yet)."""
    out = np.full(_MAX_CP, 0xFF, dtype=np.uint8)
    out[:_BMP] = _py_bits([chr(cp) for cp in range(_BMP)])
    return out


def _py_bits(chars: Sequence[str]) -> npt.NDArray[np.uint8]:
    return np.fromiter(
        (
            (_PY_ALPHA if c.isalpha() else 0)
            | (_PY_DIGIT if c.isdigit() else 0)
            | (_PY_MARK if unicodedata.category(c).startswith("M") else 0)
            for c in chars
        ),
        dtype=np.uint8,
        count=len(chars),
    )


def _py_classes(
    codes: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """``str.isalpha``, ``str.isdigit`` and "is a combining mark" (``unicodedata``) of every code point."""
    table = _py_all_classes()
    bits = table[codes]
    if len(bits) and int(bits.max()) == 0xFF:
        new = np.unique(codes[bits == 0xFF])
        table[new] = _py_bits([chr(c) for c in new.tolist()])
        bits = table[codes]
    return (bits & _PY_ALPHA) != 0, (bits & _PY_DIGIT) != 0, (bits & _PY_MARK) != 0


def _tone_index(bases: str, shaped: Sequence[bool]) -> int | None:
    """Return where the tone mark of a syllable goes (traditional placement: hòa, thủy, quý, già)."""
    n = len(bases)
    i = 0
    while i < n and bases[i] not in _VOWELS:
        i += 1
    if i == n:
        return None
    if i > 0 and i + 1 < n and bases[i + 1] in _VOWELS and bases[i - 1 : i + 1] in ("qu", "gi"):
        i += 1
    j = i
    while j < n and bases[j] in _VOWELS:
        j += 1
    shaped_in = [k for k in range(i, j) if shaped[k]]
    if shaped_in:
        return shaped_in[-1]
    if j - i == 1:
        return i
    if j < n:
        return j - 1
    if j - i == 3:
        return i + 1
    return i


@functools.lru_cache(maxsize=65536)
def _canon_token(tok: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Repair combining marks in one token; return the new token and the source range of each output char."""
    if len(tok) > _MAX_TOKEN_CANON:
        new = unicodedata.normalize("NFC", tok)
        return new, tuple((0, len(tok)) for _ in new)
    # Clusters: a base letter and the marks after it, with the source range they came from.
    bases: list[str] = []
    marks: list[list[str]] = []
    ranges: list[list[int]] = []
    for idx, ch in enumerate(tok):
        d = unicodedata.normalize("NFD", ch)
        if not unicodedata.category(d[0]).startswith("M"):
            bases.append(d[0])
            marks.append(list(d[1:]))
            ranges.append([idx, idx + 1])
        elif bases:
            marks[-1].extend(d)
            ranges[-1][1] = idx + 1
        # a mark before any letter has nothing to attach to: dropped (its char maps into the next cluster)
    if not bases:
        return "", ()
    ranges[0][0] = 0  # leading orphan marks belong to the first cluster
    latin = all(b.isascii() or b == "đ" for b in bases)
    if latin and len(bases) <= _MAX_SYLLABLE:
        tone: str | None = None
        shapes: list[str | None] = []
        for k, ms in enumerate(marks):
            shape = next((m for m in ms if m in _SHAPES_FOR.get(bases[k].lower(), ())), None)
            shapes.append(shape)
            for m in ms:
                if m in TONE_MARKS and tone is None:
                    tone = m
        # A syllable without a vowel cannot carry a tone: the mark is noise and is dropped.
        target = _tone_index("".join(bases).lower(), [s is not None for s in shapes])
        out = []
        for k, b in enumerate(bases):
            ms2 = [shapes[k]] if shapes[k] else []
            if tone is not None and k == target:
                ms2.append(tone)
            out.append(unicodedata.normalize("NFC", b + "".join(m for m in ms2 if m)))
    else:
        out = []
        for b, ms in zip(bases, marks, strict=True):
            seen: list[str] = []
            for m in ms:
                if m not in seen and unicodedata.category(m).startswith("M"):
                    seen.append(m)
            out.append(unicodedata.normalize("NFC", b + "".join(seen)))
    text: list[str] = []
    per_char: list[tuple[int, int]] = []
    for piece, (lo, hi) in zip(out, ranges, strict=True):
        for ch in piece:
            text.append(ch)
            per_char.append((lo, hi))
    return "".join(text), tuple(per_char)


def _drop_mark_floods(buf: _Buf, scan: _Scan) -> _Buf:
    """Delete every combining mark after the third in a row (what ``_sub(buf, _MARK_FLOOD, "")`` does), with numpy:
    the other characters keep their own spans."""
    mark = scan._is(_M)
    idx = np.arange(len(mark))
    run_start = np.maximum.accumulate(np.where(mark & ~_shift(mark, -1, False), idx, 0))
    drop = mark & (idx - run_start >= _MAX_MARKS)
    if not drop.any():
        return buf
    keep = ~drop
    return _Buf(_from_codes(scan.codes[keep]), buf.starts[keep], buf.ends[keep])


def _suspicious_tokens(text: str, scan: _Scan) -> list[tuple[int, int]]:
    """The tokens (runs of letters and marks) holding a match of ``_SUSPICIOUS``, as (start, end), in order."""
    cand = np.asarray(scan.suspicious(), dtype=np.int64)
    if not len(cand):
        return []
    # Marks and tone-marked consonants match by themselves; the "oà"/"uý" alternatives are checked with the regex.
    sure = scan._is(_M | _TONED)[cand]
    if not sure.all():
        checked = [p for p in cand[~sure].tolist() if _SUSPICIOUS.match(text, p)]
        cand = np.sort(np.concatenate((cand[sure], np.asarray(checked, dtype=np.int64))))
    word = scan._is(_L | _M)
    edge = np.empty(len(word) + 1, dtype=bool)
    edge[0], edge[-1] = word[0], word[-1]
    np.not_equal(word[1:], word[:-1], out=edge[1:-1])
    at = np.flatnonzero(edge)
    starts, ends = at[0::2], at[1::2]
    which = np.unique(np.searchsorted(starts, cand, side="right") - 1)
    return list(zip(starts[which].tolist(), ends[which].tolist(), strict=True))


def _repair_marks(buf: _Buf, flags: set[str], scan: _Scan | None = None) -> _Buf:
    c = _compiled()
    if c is not None:
        buf = _from_c(buf, c.drop_mark_floods(buf.text, buf.starts, buf.ends))
        tokens = c.suspicious_tokens(buf.text)
    elif scan is not None:
        if scan.any_mark():
            buf = _drop_mark_floods(buf, scan)
        tokens = _suspicious_tokens(buf.text, scan.of(buf.text))
    else:
        buf = _sub(buf, _MARK_FLOOD, lambda s: "") if _MARK_FLOOD.search(buf.text) else buf
        tokens = _suspicious_tokens(buf.text, _Scan(buf.text))
    text = buf.text
    edits: list[_Edit] = []
    for a, b in tokens:
        tok = text[a:b]
        new, per_char = _canon_token(tok)
        if new != tok:
            if not new:
                # marks with no letter: drop them by merging them into the previous character if there is one
                if a > 0 and (not edits or edits[-1][1] <= a - 1):
                    edits.append((a - 1, b, text[a - 1], [(0, 1)]))
                continue
            edits.append((a, b, new, per_char))
    if edits:
        flags.add("marks:repaired")
        buf = _apply(buf, edits)
    if not _is_nfc(buf.text):
        buf = _sub(buf, re.compile(r"[^\x00-\x7f]+"), lambda s: unicodedata.normalize("NFC", s))
    return buf


def _collapse_repeats(buf: _Buf) -> _Buf:
    return _sub(buf, _REPEAT, lambda s: s[0])


def _expand_teencode(buf: _Buf, flags: set[str]) -> _Buf:
    table = _teencode()
    new = _sub(buf, _teencode_re(), table.get)
    if new is not buf:
        flags.add("teencode")
    return new


def _spaces(buf: _Buf) -> _Buf:
    return _sub(buf, _SPACES, lambda s: " ")


def _fill_class(cp: int) -> int:
    """The class bits of one code point not met yet (the compiled stages ask when they meet one)."""
    return int(_classes_of(np.asarray([cp], dtype=np.uint32))[0])


def _fill_py(cp: int) -> int:
    """The ``str`` class bits of one code point not met yet, stored in the table."""
    table = _py_all_classes()
    table[cp] = _py_bits([chr(cp)])[0]
    return int(table[cp])


# Where the NFC quick check is looked up in a table (``_nfc_safe``): Latin to the IPA extensions, Vietnamese, general
# punctuation to the miscellaneous symbols and arrows (quotes, dingbats, ♥), emoji. No character in these ranges is
# the second of a canonical composition pair (a unit test checks every one against every decomposition), so one
# that NFC keeps and that has combining class 0 has the quick check's "yes".
_NFC_SAFE_RANGES = ((0x0000, 0x0300), (0x1E00, 0x1F00), (0x2010, 0x2C00), (0x1F000, 0x1FB00))


@functools.cache
def _nfc_safe() -> npt.NDArray[np.uint8]:
    """Per code point up to the last range: 1 where ``_NFC_SAFE_RANGES`` holds it, its combining class is 0 and NFC
    keeps it as it is."""
    out = np.zeros(_NFC_SAFE_RANGES[-1][1], dtype=np.uint8)
    for lo, hi in _NFC_SAFE_RANGES:
        for cp in range(lo, hi):
            ch = chr(cp)
            if unicodedata.combining(ch) == 0 and unicodedata.normalize("NFC", ch) == ch:
                out[cp] = 1
    return out


def _is_nfc(text: str) -> bool:
    """``unicodedata.is_normalized("NFC", text)``, decided by the compiled table pass (``_normalise.nfc_quick``, a
    fraction of the quick check's cost per character) when every character of ``text`` is in ``_nfc_safe``."""
    c = _compiled()
    if c is not None and c.nfc_quick(text):
        return True
    return unicodedata.is_normalized("NFC", text)


# ``_c`` once ``_compiled`` has set it up (``None`` before): the stages ask for it several times a round, and the
# check is then one comparison.
_C_SET_UP: list[Any] = [None]


def _compiled() -> Any:
    """The compiled stages, set up with this module's tables on first use; ``None`` when they were not built."""
    c = _c
    if c is _C_SET_UP[0]:  # set up already (or ``None``: not built, or blocked by a test)
        return c
    if c is not None and not c.ready():
        if _hs is not None:
            c.trigger_setup(
                _trigger_table().table,
                _trigger_fill,
                list(_teencode()),
                _TC_BITS,
                (_T_INV, _T_CONF, _T_REP, _T_EXOTIC, _T_SPACED, _T_LEET, _T_MARK, _T_TEEN, _T_WS),
            )
        c.teencode_setup(list(_teencode()))
        c.nfc_setup(_nfc_safe())
        c.legacy_setup(legacy.quiet_table(len(_nfc_safe())))
        c.setup(
            _all_classes(),
            _fill_class,
            _py_all_classes(),
            _fill_py,
            _lower_array(),
            _fold_array(),
            _SUSPICIOUS.match,
            (_W, _L, _M, _D, _INV, _CTRL, _SP, _TONED, _CONF, _SEP, _LEETD, _AT, _OTONE, _UTONE, _D0134),
        )
    if c is not None:
        c.normalised_setup(Normalised)
        _C_SET_UP[0] = c
    return c


def _from_c(buf: _Buf, done: tuple[str, IntArray, IntArray] | None) -> _Buf:
    """The buffer a compiled stage returned (``None``: unchanged)."""
    return buf if done is None else _Buf(*done)


# Texts up to this many characters start from views of one shared read-only ``arange`` (no allocation per text).
_IDENTITY_MAX = 1 << 16


@functools.cache
def _shared_arange() -> IntArray:
    out = np.arange(_IDENTITY_MAX + 1, dtype=np.int64)
    out.flags.writeable = False
    return out


def _identity(text: str) -> _Buf:
    n = len(text)
    if n <= _IDENTITY_MAX:
        idx = _shared_arange()
        return _Buf(text, idx[:n], idx[1 : n + 1], identity=True)
    starts = np.arange(n, dtype=np.int64)
    return _Buf(text, starts, starts + 1, identity=True)


# Several detectors normalise the same field of the same item (lexicons, the offensive model, targets): the last
# few results are kept, for texts small enough that the cache stays a few megabytes (a 3 KB post's result is about
# 60 KB with its offset arrays; 64 of them, 4 MB). ``Classifier.classify_many`` runs each detector over a group of
# items before the next one, so a group holds fewer fields than this (see there).
CACHE_SIZE = 64
_CACHE_MAX_CHARS = 16384


def normalise(text: str, *, cache: bool = True) -> Normalised:
    """Normalise ``text`` for matching; see the module docstring for what is undone.

    The result is immutable (its offset arrays are read-only), so recent results are shared between callers;
    ``cache=False`` always recomputes (benchmarks).
    """
    if cache and len(text) <= _CACHE_MAX_CHARS:
        return _normalise_cached(text)
    return _normalise(text)


def _changed_window(old: str, new: str) -> str | None:
    """``new`` without the prefix and the suffix it shares with ``old`` (the suffix no longer than what the prefix
    leaves of the shorter string), widened by ``_TRIGGER_CONTEXT`` characters either side and clipped to ``new``;
    ``None`` when both are equal."""
    c = _compiled()
    if c is not None:
        done: str | None = c.changed_window(old, new)
        return done
    if old == new:
        return None
    limit = min(len(old), len(new))
    p = 0
    while p < limit and old[p] == new[p]:
        p += 1
    limit -= p
    s = 0
    while s < limit and old[len(old) - 1 - s] == new[len(new) - 1 - s]:
        s += 1
    return new[max(p - _TRIGGER_CONTEXT, 0) : min(len(new) - s + _TRIGGER_CONTEXT, len(new))]


def _rescan(bits: int, old: str, new: str) -> int:
    """The trigger bits of ``new``, given ``bits``, a superset of those of ``old``, the text it was made from.

    A trigger match (at most 7 characters) in ``new`` lies either where ``new`` equals ``old`` (a match of ``old``
    too, so among ``bits``) or within ``_TRIGGER_CONTEXT`` characters of the changed part: so ``bits`` plus the bits
    of the changed window are a superset, and a stage that runs on a stale bit finds nothing to change. When the
    window is most of the text (changes at both ends), the whole text is scanned and the bits are exact again. The
    compiled pass (``_normalise.rescan_bits``) makes the same argument with every changed part of ``new`` on its own
    (a post has edits all over it, so its one window would be most of the text).
    """
    c = _compiled()
    if c is not None and _hs is not None:  # every changed part of ``new`` on its own (``_normalise.rescan_bits``)
        done: int = c.rescan_bits(bits, old, new)
        return done
    window = _changed_window(old, new)
    if window is None:
        return bits
    if 2 * len(window) > len(new):
        return _trigger_bits(new)
    return bits | _trigger_bits(window)


def _normalise(text: str) -> Normalised:
    c = _compiled()
    if c is not None and _hs is not None:
        # Text the opening stages leave to deleting invisible characters and lowering (no legacy encoding, no
        # control character, a one-for-one lowercase): those stages and the trigger scan in one compiled call,
        # and for text no stage would change (most comments) the fold too.
        n = len(text)
        pre = c.prelude(text, _T_QUIET) if n <= _IDENTITY_MAX else None
        if pre is not None:
            low, bits, folded, starts, ends = pre
            moved = starts is not None  # invisible characters were deleted: the map is new (and its own)
            if not moved:
                idx = _shared_arange()
                starts, ends = idx[:n], idx[1 : n + 1]
            if folded is not None:
                # No round would run: what the end of ``_stages`` gives for this text, unless a masked or split
                # word is joined (then the stages, from the joined text).
                chains = c.fragment_chains(low)
                reads = _may_read_words(low)
                if chains or reads:
                    buf = _Buf(low, starts, ends, identity=not moved)
                    join_flags: set[str] = set()
                    joined = _join_words(buf, join_flags, c, chains, reads)
                    if joined is not buf:
                        return _stages(text, join_flags, joined, _trigger_bits(joined.text), joined=True)
                if moved:
                    starts.setflags(write=False)
                    ends.setflags(write=False)
                out: Normalised = c.new_normalised(text, low, folded, starts, ends, _NO_FLAGS)
                return out
            return _stages(text, set(), _Buf(low, starts, ends, identity=not moved), bits)
    flags: set[str] = set()
    buf = _identity(text)
    # Before deleting invisibles: TCVN3 writes "ư" as the byte Windows-1252 shows as a soft hyphen.
    repaired, kind = legacy.repair(text)
    if kind:
        flags.add(f"legacy:{kind}")
        if repaired:
            buf = _legacy_converted(buf, repaired, kind)
    # Long non-ASCII text: its code points serve both the invisible test and lowercasing (on the Python path: the
    # compiled passes read the string itself).
    codes = None
    if _compiled() is None and len(buf.text) >= _SMALL and not buf.text.isascii():
        codes = _codes(buf.text)
    if _has_invisible(buf.text, codes):
        buf = _delete_invisible(buf)
        codes = None
    buf = _lower(buf, codes)
    return _stages(text, flags, buf, _trigger_bits(buf.text))


def _legacy_converted(buf: _Buf, repaired: list[legacy.Edit], kind: str | None) -> _Buf:
    """``buf`` converted by ``legacy.repair(buf.text)``'s edits: TCVN3 one character for one (the text converted as
    a whole, the map unchanged), VNI by the edits."""
    if kind == "tcvn3":
        return _Buf(legacy.convert_tcvn3(buf.text), buf.starts, buf.ends)
    return _apply(buf, repaired)


# Conversions of the stages' output from a legacy encoding (see the end of ``_stages``); one is all real text needs.
_MAX_LEGACY_ROUNDS = 2
# The trigger bits of the stages after lowering: text whose bits hold none of them is lowered and folded only.
_T_QUIET = _T_STAGES | _T_CONF
_NO_FLAGS: frozenset[str] = frozenset()


def _stages(
    text: str, flags: set[str], buf: _Buf, bits: int, *, joined: bool = False, legacy_rounds: int = 0
) -> Normalised:
    """The stages after lowering: ``buf`` is ``text`` lowered (with the repairs before it), ``bits`` its trigger
    bits, ``flags`` what was repaired so far; ``joined``: the words split inside are joined already;
    ``legacy_rounds``: how many times the stages' output was converted from a legacy encoding already."""
    if bits & _T_CONF:
        buf = _translate_confusables(buf)
        bits = _trigger_bits(buf.text)
    c = _compiled()
    # A word split inside ("ch.ó", "ng.u"): joined first, before teencode reads "ng" as a word of its own (and
    # again after the stages, which can make one: "ch.ó\u0301" is "ch.ó" once the doubled tone mark is dropped).
    # Masked words ("l*n") and tones typed as accents ("na`o") are read first, before the spaced-letter stage deletes
    # the mask or the accent; the accents again where a split word was joined ("a.n`" is "an`").
    found = joined  # whether the text held a chain of pieces
    if not joined or bits & _T_CONF:
        before_join = buf.text
        buf = _read_words(buf, flags)
        chains = _fragment_chains(buf.text, c)
        if chains:
            found = True
            fragments = _join_fragments(buf, flags, chains)
            buf = fragments if fragments is buf else _join_accents(fragments, flags)
        if buf.text is not before_join:
            bits = _rescan(bits, before_join, buf.text)
    after_join = read_at = buf.text
    # One repair can expose another ("a.\u0301a": dropping the stray mark reveals dotted letters), so the
    # token-level stages run until nothing changes; three rounds are enough for anything but crafted input.
    # Each stage runs only when the trigger scan of the current text says it could apply (so with no bit set, no
    # round changes anything and none is run: most comments).
    checked = buf.text
    for _ in range(_MAX_ROUNDS if bits & _T_STAGES else 0):
        before = buf.text
        if buf.text is not checked:
            bits, checked = _rescan(bits, checked, buf.text), buf.text
        # A stage can make a masked word or a syllable next to a typed accent (dropping a stray mark: "c#\u0301c" is
        # "c#c"; teencode: "dai´cl" is "dai´cái lồn"): read them again when a round changed the text, before the
        # spaced-letter stage.
        if buf.text is not read_at:
            buf = _read_words(buf, flags)
            read_at = buf.text
            if buf.text is not checked:
                bits, checked = _rescan(bits, checked, buf.text), buf.text
        scan: _Scan | None = None
        if bits & (_T_REP | _T_EXOTIC):
            if c is not None:
                buf = _from_c(buf, c.collapse_repeats(buf.text, buf.starts, buf.ends))
            else:
                scan = _Scan(buf.text)
                buf = _runs_to(buf, scan.repeats(), lambda s: s[0])
            # Every run is collapsed (and collapsing makes none): a run can only come back where a later stage
            # changes the text, which the changed window's scan sees. The same holds below for the other stages
            # whose bit is dropped after they run (teencode, whitespace): each changes whole local matches.
            bits &= ~_T_REP
        after_repeats = buf.text
        if buf.text is not checked:
            bits, checked = _rescan(bits, checked, buf.text), buf.text
        if bits & _T_SPACED:
            if c is not None:
                spaced_at = c.spaced_starts(buf.text)
                if spaced_at:
                    buf = _join_spaced(buf, flags, spaced_at)
            else:
                scan = _Scan(buf.text) if scan is None else scan.of(buf.text)
                buf = _join_spaced(buf, flags, scan.spaced())
        if buf.text is not checked:
            bits, checked = _rescan(bits, checked, buf.text), buf.text
        if bits & _T_LEET:
            if len(buf.text) >= _SMALL and c is None:
                scan = _Scan(buf.text) if scan is None else scan.of(buf.text)
            buf = _leet(buf, flags, scan)
        if buf.text is not checked:
            bits, checked = _rescan(bits, checked, buf.text), buf.text
        # Text without marks and without characters beyond Latin (no exotic bit) is NFC: every string of those
        # characters is (a unit test checks every pair), so the NFC test runs only when either bit is set.
        if bits & _T_MARK or (bits & _T_EXOTIC and not _is_nfc(buf.text)):
            if c is None:
                scan = _Scan(buf.text) if scan is None else scan.of(buf.text)
            buf = _repair_marks(buf, flags, scan)
        if buf.text is not checked:
            bits, checked = _rescan(bits, checked, buf.text), buf.text
        if buf.text is not after_repeats and bits & (_T_REP | _T_EXOTIC):  # the same text has no runs left
            if c is not None:
                buf = _from_c(buf, c.collapse_repeats(buf.text, buf.starts, buf.ends))
            else:
                scan = _Scan(buf.text) if scan is None else scan.of(buf.text)
                buf = _runs_to(buf, scan.repeats(), lambda s: s[0])
            bits &= ~_T_REP
        if buf.text is not checked:
            bits, checked = _rescan(bits, checked, buf.text), buf.text
        if bits & _T_TEEN:
            before_teencode = buf
            buf = _teencode_fast(buf, flags, scan)
            # The teencode stage expanded every key, so its own bit is dropped (see ``_rescan``).
            bits &= ~_T_TEEN
            if buf is not before_teencode and buf.window is not None:
                # The text outside the windows is unchanged, so its trigger matches are among ``bits`` (the
                # stage's own windows: its expansions, cheaper than the changed window of the whole text).
                bits, checked = bits | _trigger_bits(buf.window), buf.text
        if buf.text is not checked:
            bits, checked = _rescan(bits, checked, buf.text), buf.text
        if bits & _T_WS:
            if c is not None:
                buf = _from_c(buf, c.collapse_spaces(buf.text, buf.starts, buf.ends))
            else:
                scan = _Scan(buf.text) if scan is None else scan.of(buf.text)
                buf = _collapse_spaces(buf, scan)
            bits &= ~_T_WS
        if buf.text == before:
            break
        if buf.text is checked and not bits & _T_STAGES and (buf.text is read_at or not _may_read_words(buf.text)):
            break  # the next round would run no stage and change nothing
    # A chain can appear where there was none only by a repair that turned a character into a letter, dropped a
    # mark or expanded teencode ("ch.0" and "ch.\u0301o" become "ch.o", "cc*h" "cặc*h"): those stages flag it.
    if buf.text is not after_join and (found or not flags.isdisjoint(_MAY_MAKE_CHAINS)):
        buf = _join_fragments_in(buf, flags, c)
    # A legacy encoding is recognised on the text as sent, but the stages can make its evidence ("a0\u0303" read
    # as "aõ" is VNI's way of writing "ã"), and so can a conversion ("aoõ", VNI for "aõ", is itself VNI evidence
    # once converted). A second normalisation would convert it then, so convert it now and run the stages again,
    # as that second pass would: normalisation stays idempotent. (Text with a Vietnamese letter beyond Latin-1, or
    # ASCII, is no legacy encoding: ``repair`` returns at once.)
    if legacy_rounds < _MAX_LEGACY_ROUNDS:
        repaired, kind = legacy.repair(buf.text)
        if repaired:
            flags.add(f"legacy:{kind}")
            buf = _lower(_legacy_converted(buf, repaired, kind))
            return _stages(text, flags, buf, _trigger_bits(buf.text), legacy_rounds=legacy_rounds + 1)
    folded = _fold_fast(buf.text)
    starts, ends = buf.starts, buf.ends
    # Views of the shared read-only ``arange`` (text whose map never moved) are read-only already; setting the flag
    # costs about half a microsecond an array (``setflags``; twice that through ``flags.writeable``).
    shared = _shared_arange()
    if starts.base is not shared:
        starts.setflags(write=False)
    if ends.base is not shared:
        ends.setflags(write=False)
    if c is not None:
        made: Normalised = c.new_normalised(text, buf.text, folded, starts, ends, frozenset(flags))
        return made
    return _new_normalised(text, buf.text, folded, starts=starts, ends=ends, flags=frozenset(flags))


_normalise_cached = functools.lru_cache(maxsize=CACHE_SIZE)(_normalise)


def fold_diacritics(text: str) -> str:
    """Strip Vietnamese diacritics from NFC text one character for one (``đ`` → ``d``), keeping the length."""
    return unicodedata.normalize("NFC", text).translate(_fold_table()) if text else text


@functools.lru_cache(maxsize=65536)
def normalise_term(text: str) -> tuple[str, str]:
    """Return the (accented, folded) normalised forms of a lexicon term, stripped of surrounding spaces."""
    n = normalise(text)
    return n.text.strip(), n.folded.strip()
