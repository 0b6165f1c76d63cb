"""Where a run of letters written one by one ("c h ó đ ẻ", "c.h.o.n.g") splits into Vietnamese syllables.

Evaders space or dot out every letter of a phrase; joining the letters back ("chóđẻ") loses the spaces between
its syllables, so a lexicon term ("chó đẻ") and the offensive model, which both read syllables, miss it. This
module says where the syllable breaks of such a run are, from the spelling rules of Vietnamese alone:

- a syllable is an optional initial consonant (``b c ch d đ g gh gi h k kh l m n ng ngh nh p ph qu r s t th tr v
  x``), a vowel nucleus (one of the language's vowel groups) and an optional final (``c ch m n ng nh p t``);
- it carries at most one tone mark (acute, grave, hook, tilde, dot below).

Among the segmentations of the run into such syllables, the best have the fewest syllables and, of those, the
fewest syllables after the first that begin with a vowel ("con chó này", not "con chón ày"). A break is reported
only where *every* best segmentation has one: "ngungu" reads as "ngu ngu" or "ngun gu", so it gets none; "anhem"
as "a nhem" or "an hem" (and, beginning with a vowel, "anh em"), so none either. A run with no segmentation
("vcl", "đmm": abbreviations, not syllables) has none.

Pure standard library; no data beyond the tables below.
"""

from __future__ import annotations

import functools
import unicodedata

__all__ = ["breaks", "is_syllable", "is_syllables"]

TONES = frozenset("\u0300\u0301\u0303\u0309\u0323")  # grave, acute, tilde, hook above, dot below
_LEET = {"0": "o", "1": "i", "3": "e", "4": "a"}  # the leet digits the spaced-letter join keeps ("c h 0 n g")

# fmt: off
ONSETS = frozenset((
    "", "b", "c", "ch", "d", "g", "gh", "gi", "h", "k", "kh", "l", "m", "n", "ng", "ngh", "nh", "p", "ph", "qu",
    "r", "s", "t", "th", "tr", "v", "x",
))
# Vowel groups with no final after them (diacritics folded: "ươu" is "uou", "iêu" is "ieu").
_OPEN = frozenset((
    "a", "e", "i", "o", "u", "y", "ai", "ao", "au", "ay", "eo", "eu", "ia", "iu", "oa", "oe", "oi", "ua", "ue",
    "ui", "uu", "uy", "oai", "oay", "oao", "oeo", "uai", "uay", "uoi", "uou", "ieu", "yeu", "uya", "uyu", "uau",
))
# Vowel groups that take a final consonant, and the finals.
_CLOSED = frozenset(("a", "e", "i", "o", "u", "y", "oa", "oe", "ua", "ue", "uy", "ie", "ye", "uo", "uye", "oo"))
FINALS = frozenset(("c", "ch", "m", "n", "ng", "nh", "p", "t"))
# fmt: on
RHYMES = _OPEN | {v + f for v in _CLOSED for f in FINALS}
_MAX_ONSET = max(map(len, ONSETS))
_MAX_RHYME = max(map(len, RHYMES))
MAX_SYLLABLE = _MAX_ONSET + _MAX_RHYME


def _letter(ch: str) -> tuple[str, int]:
    """``ch`` folded to an ASCII letter (``đ`` → ``d``, a leet digit → its letter; "" for anything else) and how
    many tone marks it carries (decomposed, with any marks that follow it)."""
    if ch in _LEET:
        return _LEET[ch], 0
    base = ""
    tones = 0
    for part in unicodedata.normalize("NFD", ch):
        if part in TONES:
            tones += 1
        elif unicodedata.combining(part):
            continue
        elif not base:
            base = "d" if part in "đĐ" else part.lower()
    return (base if "a" <= base <= "z" and len(base) == 1 else ""), tones


@functools.lru_cache(maxsize=4096)
def _syllable(folded: str) -> bool:
    """Whether ``folded`` (ASCII letters, no marks) is onset + rhyme."""
    return any(folded[:k] in ONSETS and folded[k:] in RHYMES for k in range(min(_MAX_ONSET, len(folded)) + 1))


def _starts_with_vowel(folded: str) -> bool:
    return folded[:1] in "aeiouy"


@functools.lru_cache(maxsize=4096)
def _segment(letters: tuple[tuple[str, int], ...]) -> tuple[frozenset[int], ...] | None:
    """The break sets of the best segmentations of ``letters`` (folded letter, tone count) into syllables; None
    when there is none. Cached: a spaced run is read by :func:`is_syllables` and then :func:`breaks`."""
    n = len(letters)
    if n == 0 or any(not f for f, _ in letters):
        return None
    folded = "".join(f for f, _ in letters)
    # best[i]: (syllables, vowel-initial syllables after the first, break sets) for letters[:i]
    best: list[tuple[int, int, list[frozenset[int]]] | None] = [None] * (n + 1)
    best[0] = (0, 0, [frozenset()])
    for i in range(1, n + 1):
        for j in range(max(0, i - MAX_SYLLABLE), i):
            prev = best[j]
            if prev is None:
                continue
            piece = folded[j:i]
            if sum(t for _, t in letters[j:i]) > 1:
                continue
            if not _syllable(piece):
                continue
            cost = (prev[0] + 1, prev[1] + (1 if j > 0 and _starts_with_vowel(piece) else 0))
            sets = [s | {j} if j > 0 else s for s in prev[2]]
            cur = best[i]
            if cur is None or cost < (cur[0], cur[1]):
                best[i] = (cost[0], cost[1], sets[:8])
            elif cost == (cur[0], cur[1]):
                best[i] = (cur[0], cur[1], (cur[2] + sets)[:8])
    last = best[n]
    return None if last is None else tuple(last[2])


def breaks(units: list[str]) -> list[int] | None:
    """Where the syllables of a run of letters begin, after the first.

    ``units`` are the run's letters, each with the combining marks written after it ("o\\u0301" or "ó"), in order;
    leet digits (0 1 3 4) count as their letters. Returns the sorted indexes ``k`` (0 < k < len(units)) such that
    every best segmentation starts a syllable at ``units[k]``, or None when the run is not a sequence of Vietnamese
    syllables at all.
    """
    letters = tuple(_fold_unit(u) for u in units)
    sets = _segment(letters)
    if sets is None:
        return None
    common = frozenset.intersection(*sets) if sets else frozenset()
    return sorted(common)


def is_syllables(units: list[str]) -> bool:
    """Whether the letters split into Vietnamese syllables at all, with fewer syllables than letters (a run of
    one-letter words, "e k b", is not)."""
    letters = tuple(_fold_unit(u) for u in units)
    sets = _segment(letters)
    if sets is None:
        return False
    return any(len(s) + 1 < len(units) for s in sets)


def is_syllable(units: list[str]) -> bool:
    """Whether the letters (each with its marks, as for :func:`breaks`) spell one Vietnamese syllable."""
    letters = [_fold_unit(u) for u in units]
    if not letters or len(letters) > MAX_SYLLABLE or any(not f for f, _ in letters):
        return False
    return sum(t for _, t in letters) <= 1 and _syllable("".join(f for f, _ in letters))


@functools.lru_cache(maxsize=4096)
def _fold_unit(unit: str) -> tuple[str, int]:
    if not unit:
        return "", 0
    base, tones = _letter(unit[0])
    tones += sum(1 for ch in unit[1:] for part in unicodedata.normalize("NFD", ch) if part in TONES)
    return base, tones
