"""Normalise Vietnamese text for matching while keeping a map back to the original characters.

Evaders strip diacritics, write teencode, put dots between letters, swap letters for digits and lookalike
characters; honest text arrives decomposed, with tone marks on either vowel, or in a legacy 8-bit encoding read
as Windows-1252. :func:`normalise` undoes all of that and returns a :class:`Normalised` whose ``text`` (accented)
and ``folded`` (diacritic-free, ``đ`` → ``d``) have the same length, and whose offset map sends every character
back to a non-empty span of the original string.

The pipeline is a sequence of stages, each a list of edits over the previous stage's string. An edit replaces a
range either as a whole (every output character points at the whole range: teencode expansions, collapsed runs)
or character by character (tone-mark repairs keep each letter on its own original cluster). Stages that change
nothing cost one regular-expression search, so ordinary text pays almost nothing.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import numpy.typing as npt
import regex

from moderation.text import legacy

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


# ---------------------------------------------------------------------------------------------------------------
# Edit machinery


@dataclass(slots=True)
class _Buf:
    text: str
    starts: IntArray
    ends: IntArray


# (start, end, replacement, per_char) where per_char is None (each output char maps to the whole range) or a
# sequence of (lo, hi) ranges relative to ``start``, one per output character.
_Edit = tuple[int, int, str, Sequence[tuple[int, int]] | None]


def _apply(buf: _Buf, edits: Iterable[_Edit]) -> _Buf:
    """Apply sorted, non-overlapping edits to ``buf`` and compose the offset maps."""
    pieces: list[str] = []
    lo: list[int] = []
    hi: list[int] = []
    pos = 0
    text = buf.text
    changed = False
    for a, b, repl, per_char in edits:
        if a < pos or b <= a:
            continue  # overlapping or empty source ranges cannot be mapped; skip rather than corrupt the map
        changed = True
        if pos < a:
            pieces.append(text[pos:a])
            lo.extend(range(pos, a))
            hi.extend(range(pos + 1, a + 1))
        pieces.append(repl)
        if per_char is None or len(per_char) != len(repl):
            lo.extend([a] * len(repl))
            hi.extend([b] * len(repl))
        else:
            for r_lo, r_hi in per_char:
                lo.append(a + r_lo)
                hi.append(a + max(r_hi, r_lo + 1))
        pos = b
    if not changed:
        return buf
    if pos < len(text):
        pieces.append(text[pos:])
        lo.extend(range(pos, len(text)))
        hi.extend(range(pos + 1, len(text) + 1))
    lo_arr = np.fromiter(lo, dtype=np.int64, count=len(lo))
    hi_arr = np.fromiter(hi, dtype=np.int64, count=len(hi)) - 1
    return _Buf("".join(pieces), buf.starts[lo_arr], buf.ends[hi_arr])


def _sub(buf: _Buf, pattern: re.Pattern[str] | regex.Pattern[str], repl: Callable[[str], str | None]) -> _Buf:
    """Replace every match of ``pattern`` by ``repl(match)`` as a whole-range edit (``None`` keeps the match)."""
    edits: list[_Edit] = []
    for m in pattern.finditer(buf.text):
        new = repl(m.group())
        if new is not None and new != m.group():
            edits.append((m.start(), m.end(), new, None))
    return _apply(buf, edits) if edits else buf


def _translate_1to1(buf: _Buf, table: dict[int, str]) -> _Buf:
    """Apply a one-character-to-one-character table; the offset map does not change."""
    new = buf.text.translate(table)
    return buf if new == buf.text else _Buf(new, buf.starts, buf.ends)


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
# Single letters (or leet digits) separated by the same kind of punctuation: "c.h.ố.n.g", "đ-m", "n g u".
_SPACED = regex.compile(
    r"(?<![\p{L}\p{M}\d])"
    r"(?:(?:[\p{L}0134]\p{M}*)[.\-_*~+|/\\'`^]+){1,}[\p{L}0134]\p{M}*(?![\p{L}\p{M}\d]|[.\-_*~+|/\\'`^]+[\p{L}\d])"
    r"|(?<![\p{L}\p{M}\d])(?:(?:\p{L}\p{M}*) ){3,}\p{L}\p{M}*"
    r"(?![\p{L}\p{M}\d])"
)
_REPEAT = regex.compile(r"(\p{L})\1{2,}")
_SPACES = re.compile(r"\s{2,}|[^\S ]")


def _delete_invisible(buf: _Buf) -> _Buf:
    edits: list[_Edit] = []
    text = buf.text
    pos = 0
    # A deletion is expressed as replacing "previous char + invisible run" by the previous char, so the map keeps
    # non-empty spans; a run at the very start is merged into the following character instead.
    for m in _INVISIBLE.finditer(text):
        a, b = m.span()
        if a > pos:
            edits.append((a - 1, b, text[a - 1], [(0, 1)]))
            pos = b
        elif b < len(text):
            edits.append((a, b + 1, text[b], [(b - a, b - a + 1)]))
            pos = b + 1
        else:
            edits.append((a, b, "", None))
            pos = b
    buf = _apply(buf, edits) if edits else buf
    return _sub(buf, _SURROGATES_CONTROLS, lambda s: "\ufffd" if "\ud800" <= s <= "\udfff" else " ")


def _lower(buf: _Buf) -> _Buf:
    low = buf.text.lower()
    if len(low) == len(buf.text):
        return buf if low == buf.text else _Buf(low, buf.starts, buf.ends)
    # A few characters (İ) lower to two; replace those as whole-range edits, the rest lower one for one.
    edits: list[_Edit] = [(i, i + 1, ch.lower(), None) for i, ch in enumerate(buf.text) if len(ch.lower()) != 1]
    buf = _apply(buf, edits)
    return _Buf(buf.text.lower(), buf.starts, buf.ends)


def _join_spaced(buf: _Buf, flags: set[str]) -> _Buf:
    edits: list[_Edit] = []
    for m in _SPACED.finditer(buf.text):
        s = m.group()
        per_char: list[tuple[int, int]] = []
        out: list[str] = []
        for j, ch in enumerate(s):
            if ch.isalpha() or ch in "0134" or (out and unicodedata.category(ch).startswith("M")):
                out.append(ch)
                per_char.append((j, j + 1))
        joined = "".join(out)
        if len(joined) >= 2:
            edits.append((m.start(), m.end(), joined, per_char))
    if edits:
        flags.add("obfuscation")
        return _apply(buf, edits)
    return buf


def _leet(buf: _Buf, flags: set[str]) -> _Buf:
    if not _LEET_HINT.search(buf.text):
        return buf
    edits: list[_Edit] = []
    for m in _LEET_TOKEN.finditer(buf.text):
        tok = m.group()
        letters = sum(ch.isalpha() for ch in tok)
        digits = sum(ch.isdigit() or ch == "@" for ch in tok)
        if letters < 2 or digits == 0 or digits > letters:
            continue
        # Numbers glued to words ("covid19", "user2024") are names, not leetspeak.
        if regex.search(r"\d\d$|^\d\d", tok) or tok.startswith("@") or tok.endswith("@"):
            continue
        new = "".join(_LEET.get(ch, ch) for ch in tok)
        if new != tok:
            edits.append((m.start(), m.end(), new, [(j, j + 1) for j in range(len(tok))]))
    if edits:
        flags.add("obfuscation")
        return _apply(buf, edits)
    return buf


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


def _repair_marks(buf: _Buf, flags: set[str]) -> _Buf:
    buf = _sub(buf, _MARK_FLOOD, lambda s: "") if _MARK_FLOOD.search(buf.text) else buf
    text = buf.text
    edits: list[_Edit] = []
    end = 0
    for m in _SUSPICIOUS.finditer(text):
        if m.start() < end:
            continue
        before = _TOKEN_START.search(text, 0, m.start())
        a = before.end() if before else 0
        a = max(a, end)
        after = _TOKEN_END.search(text, m.end())
        b = after.start() if after else len(text)
        end = b
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
    if not unicodedata.is_normalized("NFC", buf.text):
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


def _identity(text: str) -> _Buf:
    n = len(text)
    idx = np.arange(n, dtype=np.int64)
    return _Buf(text, idx, idx + 1)


def normalise(text: str) -> Normalised:
    """Normalise ``text`` for matching; see the module docstring for what is undone."""
    flags: set[str] = set()
    buf = _identity(text)
    # Before deleting invisibles: TCVN3 writes "ư" as the byte Windows-1252 shows as a soft hyphen.
    repaired, kind = legacy.repair(text)
    if kind:
        flags.add(f"legacy:{kind}")
        if repaired:
            buf = _apply(buf, repaired)
    buf = _delete_invisible(buf)
    buf = _lower(buf)
    buf = _translate_1to1(buf, _confusables())
    # One repair can expose another ("a.\u0301a": dropping the stray mark reveals dotted letters), so the
    # token-level stages run until nothing changes; three rounds are enough for anything but crafted input.
    for _ in range(_MAX_ROUNDS):
        before = buf.text
        buf = _collapse_repeats(buf)
        buf = _join_spaced(buf, flags)
        buf = _leet(buf, flags)
        buf = _repair_marks(buf, flags)
        buf = _collapse_repeats(buf)
        buf = _expand_teencode(buf, flags)
        buf = _spaces(buf)
        if buf.text == before:
            break
    folded = buf.text.translate(_fold_table())
    return Normalised(text, buf.text, folded, buf.starts, buf.ends, frozenset(flags))


def fold_diacritics(text: str) -> str:
    """Strip Vietnamese diacritics from NFC text one character for one (``đ`` → ``d``), keeping the length."""
    return unicodedata.normalize("NFC", text).translate(_fold_table()) if text else text


@functools.lru_cache(maxsize=65536)
def normalise_term(text: str) -> tuple[str, str]:
    """Return the (accented, folded) normalised forms of a lexicon term, stripped of surrounding spaces."""
    n = normalise(text)
    return n.text.strip(), n.folded.strip()
