"""Personal data in posts (Circular 07/2008 §3.4; Civil Code 2005 Art. 31 and 38, 2015 Art. 32 and 38).

Signals of kind ``personal_data``, keyed by the type of datum: ``phone``, ``cccd`` (12-digit citizen ID), ``cmnd``
(9-digit ID card), ``passport``, ``bank_account``, ``card``, ``email``, ``address``; attribute ``data_type`` gives
the broader class (``national_id``, ``home_address``, ``bank_card``, otherwise the key). Every signal says whether a
person's name appears within ``NAME_WINDOW`` characters in the same field (``with_person_name``): a private person's
data published with their name is the doxxing case a moderator reviews.

What is deliberately not reported: 1800/1900 service numbers, numbers introduced as a hotline or switchboard, and
e-mail addresses at a domain of a registered entity (an organisation's official contact data is not private).

Validation keeps ordinary numbers out: mobile numbers must use a current prefix (03x, 05x, 07x, 08x, 09x; +84/84
forms), CCCD numbers a valid province code (Circular 07/2016/TT-BCA) and century digit, card numbers the Luhn check
and a known IIN range; 9-digit CMND, bank accounts and (for the lower score) passports need a keyword nearby.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import regex

from moderation.detect.identity import (
    FOLD_TABLE_LIMIT,
    EntityIndex,
    end_offset,
    fold,
    fold_char,
    fold_plain,
    fold_table,
    fold_with_offsets,
)
from moderation.detect.identity import (
    _fold_arrays as _low_folds,  # each code point below the table's limit: its one-character fold, its fold's length
)
from moderation.domain import Item, Signal, Span
from moderation.heap import item_time

_c: Any
try:  # the compiled digit scan (moderation/_ext/_targets.pyx); without it the patterns below do the same work
    from moderation._ext import _targets as _c
except ImportError:  # pragma: no cover - depends on the build
    _c = None
_s: Any
try:  # one-pass loops (moderation/_ext/_scan.pyx): the characters beyond the fold table, the address fold
    from moderation._ext import _scan as _s
except ImportError:  # pragma: no cover - depends on the build
    _s = None

DETECTOR = "personal_data/1"
# The broader class of each key, for rules written over classes rather than document types.
DATA_TYPES = {"cccd": "national_id", "cmnd": "national_id", "address": "home_address", "card": "bank_card"}
NAME_WINDOW = 100  # characters either side of a datum searched for a person's name
CONTEXT_WINDOW = 40  # characters before a datum searched for its keyword
# Bounds for hostile input (a megabyte of phone numbers): data reported per text, and organisation numbers set
# aside; the overlap check is linear in what is kept, so these bound the work too.
MAX_DATA = 100
MAX_TAKEN = 1000
# CPU time for all the searches of one item (see ``_Clock``): the patterns are linear, but a megabyte of phone-like
# digits still takes several hundred ms; past the budget the scan stops with :class:`PersonalDataTimeout` and the
# classifier sends the item to review rather than allow it unscanned.
PERSONAL_ITEM_BUDGET_S = 0.04


class PersonalDataTimeout(TimeoutError):
    """The personal-data scan of one item ran out of its time budget (no verdict on that item's personal data)."""

    def __init__(self, budget_s: float) -> None:
        super().__init__(f"personal-data scan ran out of its time budget ({budget_s * 1000:.0f} ms per item)")
        self.budget_s = budget_s


# Province and city codes that open a CCCD number (Circular 07/2016/TT-BCA, Annex).
def _wordset(words: str, sep: str | None = None) -> frozenset[str]:
    return frozenset(words.split(sep))


CCCD_PROVINCES = _wordset(
    "001 002 004 006 008 010 011 012 014 015 017 019 020 022 024 025 026 027 030 031 033 034 035 036 037 038 040 042 "
    "044 045 046 048 049 051 052 054 056 058 060 062 064 066 067 068 070 072 074 075 077 079 080 082 083 084 086 087 "
    "089 091 092 093 094 095 096"
)

# Common Vietnamese family names (folded), covering the great majority of the population.
SURNAMES = _wordset(
    "nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly dinh doan trinh truong lam luong mai ha "
    "cao ta tang chau la lai kieu quach thai trieu van tong luu khuc diep giang to thach ton ung hua"
)
# Places written like names ("Hà Nội" starts with the surname Hà); streets named after people follow a cue word.
_PLACE_NAMES = _wordset(
    "ha noi|ha tinh|ha giang|ha nam|ha long|ha dong|ha tien|lam dong|cao bang|lai chau|mai chau|dinh quan|"
    "hoang mai|phan thiet|phan rang|vu tau|tay ninh|ho chi minh|thai binh|thai nguyen|ly son|to lich|ba ria|"
    "ba chieu|ba den|ong ich khiem|co loa|chu lai|ba vi",
    "|",
)
_PLACE_CUE = regex.compile(
    r"(?:duong|pho|quan|phuong|tinh|thanh pho|tp\.?|huyen|xa|thi xa|ngo|hem|cau|cho|song|ho|nga|tai)\W*$"
)
_CUE_WORDS = _wordset("anh chi ong ba co chu bac em ban ten chau")
_CUED_NAME = regex.compile(
    r"(?<![\p{L}\p{M}])(?i:anh|chị|ông|bà|cô|chú|bác|em|bạn|tên|họ tên|họ và tên|cháu)(?::)?[ \t]+"
    r"(?P<name>\p{Lu}[\p{Ll}\p{M}]*(?:[ \t]+\p{Lu}[\p{Ll}\p{M}]*){0,3})"
)

_PHONE = regex.compile(r"(?<![\d+\w])(?:\(?\+?84\)?[ .-]?|0)(?:3[2-9]|5[2-9]|7[06-9]|8[1-9]|9\d)(?:[ .-]?\d){7}(?!\d)")
_LANDLINE = regex.compile(r"(?<![\d+\w])(?:\(?\+?84\)?[ .-]?|0)2\d{1,2}[ .-]?\d{3,4}[ .-]?\d{3,4}(?!\d)")
_SERVICE_NUMBER = regex.compile(r"(?<!\d)1[89]00[ .-]?\d{2,4}(?:[ .-]?\d{2,4})?(?!\d)")
_DIGIT_RUN = regex.compile(r"(?<![\d\w])\d(?:[ .-]?\d){5,18}(?![\d\w])")
_PASSPORT = regex.compile(r"(?<![\p{L}\d])[A-Z]\d{7}(?![\p{L}\d])")
_EMAIL = regex.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_DIGIT_OR_AT = regex.compile(r"[\d@]")
# Precompiled: ``regex.sub(r"\D", ...)`` and ``regex.match(r"\S+\s+", ...)`` (same default flags) look their pattern
# up in the module's cache at each call, which costs more than the search.
_NON_DIGIT = regex.compile(r"\D")
_FIRST_WORD = regex.compile(r"\S+\s+")
# Every ``_EMAIL`` match holds an "@" after a local-part character and before "name." (a cheap test first: most "@"
# in posts are mentions). The standard ``re`` finds the literal "@" fast.
_EMAIL_AT = re.compile(r"@[A-Za-z0-9-]+\.[A-Za-z0-9-]")
_EMAIL_LOCAL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._%+-")
_NAME = regex.compile(r"(?<![\p{L}\p{M}])\p{Lu}[\p{Ll}\p{M}]*(?:[ \t]+\p{Lu}[\p{Ll}\p{M}]*){1,3}")

# Keyword patterns on folded text (lower case, no diacritics).
_HOTLINE_CUE = regex.compile(r"(?:hotline|tong dai|cskh|cham soc khach hang|duong day nong|fax)\W{0,5}[\w ]{0,15}$")
_CMND_CUE = regex.compile(r"(?:cmnd|cmt|chung minh (?:nhan dan|thu)|so cm|id card)\W{0,8}[\w ]{0,12}$")
_CCCD_CUE = regex.compile(r"(?:cccd|can cuoc)")
_PASSPORT_CUE = regex.compile(r"(?:ho chieu|passport|hc so)")
_BANK_CUE = regex.compile(
    r"(?:stk|so tai khoan|tai khoan|\btk\b|account|ngan hang|bank|chuyen khoan|ck vao|vietcombank|techcombank|"
    r"vietinbank|agribank|bidv|vpbank|tpbank|sacombank|acb|mbbank|\bmb\b|momo|zalopay)\W{0,8}[\w :.-]{0,20}$"
)
_ADDRESS = regex.compile(
    r"(?<![\w/])(?:so(?: nha)?\s*)?\d{1,4}[a-z]?(?:/\d{1,4}[a-z]?)*\s*,?\s*"
    r"(?:(?:ngo|ngach|hem|kiet)\s*\d+[a-z]?(?:/\d+)*\s*,?\s*)*"
    r"(?:(?:duong|pho|d\.|p\.)\s+)?\p{L}[\p{L} ]{1,40}?,\s*"
    r"(?:(?:phuong|xa|thi tran|p\.|quan|huyen|q\.|tp\.?|thanh pho|tinh)\s*[\p{L}\d ]{1,30}(?:,\s*|$|(?=[.;\n])))+"
)
_ADDRESS_MARKERS = regex.compile(r"\b(?:phuong|xa|quan|huyen|thi tran|p\.|q\.)")


def luhn_ok(digits: str) -> bool:
    """Return whether ``digits`` passes the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_brand(digits: str) -> str | None:
    """Return the card scheme for a plausible card number (IIN and length), or ``None``."""
    n = len(digits)
    if digits.startswith("9704") and n in (16, 19):
        return "napas"
    if digits[0] == "4" and n in (13, 16, 19):
        return "visa"
    if (51 <= int(digits[:2]) <= 55 or 2221 <= int(digits[:4]) <= 2720) and n == 16:
        return "mastercard"
    if digits[:2] in ("34", "37") and n == 15:
        return "amex"
    if 3528 <= int(digits[:4]) <= 3589 and 16 <= n <= 19:
        return "jcb"
    if digits.startswith("62") and 16 <= n <= 19:
        return "unionpay"
    return None


def is_cccd(digits: str) -> bool:
    """Tell whether a 12-digit string is shaped like a CCCD number (province code, century/sex digit)."""
    return len(digits) == 12 and digits[:3] in CCCD_PROVINCES and digits[3] in "0123"


@dataclass(frozen=True, slots=True)
class Datum:
    """One piece of personal data found in a text."""

    kind: str
    start: int
    end: int
    value: str  # digits only for numbers, the address text for addresses
    score: float
    attrs: dict[str, object]


class _FoldedBefore:
    """The folded text just before an original offset, for keyword cues. A few lookups fold a slice each (folding
    is character by character, so a slice that folds to ``window`` characters gives the same as folding the whole
    text); after ``_LOCAL_FOLDS`` of them the whole text is folded once, so a text full of numbers costs one fold."""

    _LOCAL_FOLDS = 8

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls = 0
        self.whole: tuple[str, list[int]] | None = None

    def __call__(self, start: int, window: int) -> str:
        self.calls += 1
        if self.whole is None and self.calls > self._LOCAL_FOLDS:
            self.whole = fold_with_offsets(self.text)
        if self.whole is not None:
            folded, offsets = self.whole
            lo = bisect.bisect_left(offsets, start)  # the folded index of the original start
            return folded[max(0, lo - window) : lo]
        width = 2 * window
        while True:
            lo = max(0, start - width)
            folded = fold_plain(self.text[lo:start])
            if len(folded) >= window or lo == 0:
                return folded[max(0, len(folded) - window) :]
            width *= 4


# Every kind of number below holds six digits with at most one separator between two of them.
_SIX_DIGITS = regex.compile(r"\d(?:[ .-]?\d){5}")
_MARKERS = ("phuong", "xa", "thi tran", "p.", "quan", "huyen", "q.", "tp", "thanh pho", "tinh")


@functools.cache
def _hint_classes() -> tuple[dict[str, frozenset[str]], frozenset[str], frozenset[str]]:
    """The character classes of :func:`_address_hint`: for "," and each marker letter, what folds to it or to several
    characters; what folds to white space or nothing (or is white space); what folds to nothing."""
    table = fold_table()
    folds = {chr(cp): table.get(cp, chr(cp)) for cp in range(FOLD_TABLE_LIMIT)}
    several = [c for c, f in folds.items() if len(f) > 1]
    by_fold: dict[str, list[str]] = {}
    for c, f in folds.items():
        by_fold.setdefault(f, []).append(c)
    letters = {ch: frozenset([*by_fold.get(ch, []), *several]) for ch in sorted({",", *"".join(_MARKERS)})}
    # What folds to white space for ``regex`` (or to nothing), or is white space for ``re``: the two engines' ``\s``
    # read once over every character concerned instead of a ``fullmatch`` per character (66 ms of start-up).
    re_space = set(re.findall(r"\s", "".join(folds)))
    regex_space = set(regex.findall(r"\s", "".join(set("".join(folds.values())))))
    skip = frozenset(c for c, f in folds.items() if c in re_space or all(ch in regex_space for ch in f))
    return letters, skip, frozenset(by_fold.get("", []))


@functools.cache
def _address_hint() -> re.Pattern[str]:
    """Return a pattern on the ORIGINAL text that every text whose fold :data:`_ADDRESS` matches also matches (when
    all its characters are below the fold table's limit): a comma, then whatever folds to white space or nothing,
    then one of the markers, letter by letter, each letter anything that folds to it (or to several characters).
    Written for the standard ``re`` (classes as bitmaps: a few µs on a post)."""
    letters, skip, empty = _hint_classes()

    def cls(chars: Iterable[str]) -> str:
        return "[" + "".join(re.escape(c) for c in sorted(set(chars))) + "]"

    markers = "|".join(f"{cls(empty)}*".join(cls(letters[ch]) for ch in m) for m in _MARKERS)
    return re.compile(f"{cls(letters[','])}{cls(skip)}*(?:{markers})")


@functools.cache
def _hint_table() -> tuple[bytes, bytes] | None:
    """:func:`_address_hint` for :func:`_scan.address_prefilter`: the class bits of each code point below the fold
    table's limit (1: the comma class, 2: the skipped class, 4: what folds to nothing, 8 and up: the marker
    letters' classes) and the markers as (length, letter bits) runs. None when the compiled matcher would not be
    exact: it reads the characters that fold to nothing between two letters greedily, so none may be in a letter's
    class."""
    letters, skip, empty = _hint_classes()
    marker_letters = sorted(set("".join(_MARKERS)))
    if len(marker_letters) > 29 or any(empty & letters[ch] for ch in marker_letters):  # pragma: no cover
        return None
    bit = {ch: 3 + k for k, ch in enumerate(marker_letters)}
    bits = np.zeros(FOLD_TABLE_LIMIT, dtype=np.uint32)
    for value, chars in [(1, letters[","]), (2, skip), (4, empty)] + [(1 << bit[ch], letters[ch]) for ch in bit]:
        bits[[ord(c) for c in chars]] |= np.uint32(value)
    markers = b"".join(bytes([len(m), *(bit[ch] for ch in m)]) for m in _MARKERS)
    return bits.astype("=u4").tobytes(), markers


_BEYOND_TABLE = re.compile(f"[{chr(FOLD_TABLE_LIMIT)}-\U0010ffff]")
_SPACE = regex.compile(r"\s")


@functools.lru_cache(maxsize=4096)
def _inert(ch: str) -> bool:
    """Tell whether a character beyond the fold table (an emoji, CJK) folds to a non-empty string of characters that
    are all beyond the table and none white space: its fold can then hold no part of the comma, the white space and
    the marker letters :data:`_ADDRESS` needs, so :func:`_address_hint` on the original text stays a valid test."""
    folded = fold_char(ch)
    return bool(folded) and all(
        ord(c) >= FOLD_TABLE_LIMIT and not c.isspace() and _SPACE.match(c) is None for c in folded
    )


def _may_hold_address(text: str) -> bool:
    """Tell whether ``_ADDRESS`` may match the fold of ``text`` (False only when it cannot)."""
    hint = _hint_table() if _s is not None else None
    if hint is not None:  # the hint's search and the characters beyond the table in one compiled pass
        found, beyond = _s.address_prefilter(text, *hint, FOLD_TABLE_LIMIT)
        return found or not all(map(_inert, beyond))
    if _address_hint().search(text) is not None:
        return True
    # Characters beyond the table are not in the hint's classes: they pass when each is inert (emoji, CJK), which
    # keeps real text (full of emoji) from being folded whole only to find no address.
    beyond = _s.chars_from(text, FOLD_TABLE_LIMIT) if _s is not None else set(_BEYOND_TABLE.findall(text))
    return not all(map(_inert, beyond))


@functools.lru_cache(maxsize=4096)
def _high_fold(cp: int) -> str:
    """The fold of a code point beyond the fold table (what :func:`fold_with_offsets` folds it to)."""
    return fold_char(chr(cp))


@functools.cache
def _fold_tables() -> tuple[bytes, bytes]:
    """``identity._fold_arrays`` for :func:`_scan.fold_single`: each code point's one-character fold (``uint32``) and
    its fold's length (``uint8``, capped at 2: only "more than one" matters)."""
    points, lengths = _low_folds()
    return points.astype(np.uint32).tobytes(), np.minimum(lengths, 2).astype(np.uint8).tobytes()


def _fold_for_address(text: str) -> tuple[str, Callable[[], list[int]]]:
    """``fold_with_offsets(text)``, the offsets made only when asked for (an address is rarely found, and a post's
    offsets are thousands of ints).

    A text with characters beyond the fold table (emoji, CJK: real posts are full of them) is folded with numpy
    lookups when every character folds to at most one: the characters ``str.translate`` with the fold table would
    give (it costs some 200 ns a character), and the offsets of the characters kept (the same as repeating each
    offset by its fold's length). With the compiled extension, any text whose characters each fold to at most one
    is folded in one pass (``_scan.fold_single``), its offsets kept as native integers until asked for.
    """
    if text.isascii():
        return text.lower(), lambda: list(range(len(text) + 1))
    if _s is not None:  # one compiled pass; its offsets as native integers (a list made only when asked for)
        got = _s.fold_single(text, *_fold_tables(), FOLD_TABLE_LIMIT, _high_fold)
        if got is not None:
            folded, raw = got
            return folded, lambda: memoryview(raw).cast("q").tolist()
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    high = np.flatnonzero(cps >= FOLD_TABLE_LIMIT)
    if not len(high):  # fold_with_offsets folds these with numpy already
        folded, offsets = fold_with_offsets(text)
        return folded, lambda: offsets
    distinct = set(cps[high].tolist())
    folds = {cp: _high_fold(cp) for cp in distinct}
    if any(len(f) > 1 for f in folds.values()):  # several characters from one: the general way
        folded, offsets = fold_with_offsets(text)
        return folded, lambda: offsets
    points, lengths = _low_folds()
    idx = np.minimum(cps, FOLD_TABLE_LIMIT - 1).astype(np.intp)  # the high ones are set below
    lens = lengths.take(idx)
    if lens.max() > 1:
        folded, offsets = fold_with_offsets(text)
        return folded, lambda: offsets
    out = points.take(idx)
    out[high] = cps[high]  # most fold to themselves (emoji)
    lens[high] = 1
    for cp, f in folds.items():
        if f != chr(cp):
            at = high[cps[high] == cp]
            out[at] = ord(f) if f else 0
            lens[at] = len(f)
    keep = lens == 1
    n = len(text)

    def offsets_of() -> list[int]:
        offsets: list[int] = np.flatnonzero(keep).tolist()
        offsets.append(n)
        return offsets

    return out[keep].tobytes().decode("utf-32-le", "surrogatepass"), offsets_of


def _may_hold_email(text: str) -> bool:
    """Tell whether ``_EMAIL`` may match ``text`` (False only when it cannot)."""
    return any(m.start() and text[m.start() - 1] in _EMAIL_LOCAL for m in _EMAIL_AT.finditer(text))


def find_names(text: str, *, budget_s: float | None = None) -> list[tuple[int, int]]:
    """Return spans of likely Vietnamese personal names: a known surname plus given names, or a cue and a name.

    Cue words ("anh", "chị", "ông", "bà", "tên" …) introduce a name of one to four capitalised words; without a cue,
    two to four capitalised words starting with a common surname. Places ("Hà Nội") and streets named after people
    (after "đường", "phố", "quận" …) are not names of private persons.
    """
    clock = _Clock(budget_s)
    try:
        return _names(text, clock)
    except PersonalDataTimeout:
        raise
    except TimeoutError as exc:
        raise PersonalDataTimeout(budget_s or 0.0) from exc


def _names(text: str, clock: _Clock, pieces: Sequence[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """The names of ``text`` (see :func:`find_names`); with ``pieces`` (see :func:`_name_pieces`), only the names
    inside them, found by scanning only them."""
    out: list[tuple[int, int]] = []
    pieces = [(0, len(text))] if pieces is None else pieces
    for lo, hi in pieces:
        piece = text if (lo, hi) == (0, len(text)) else text[lo:hi]
        for m in clock.scan(_CUED_NAME, piece):
            if " ".join(fold(m.group()).split()[:2]) not in _PLACE_NAMES:  # "Bà Rịa", "Bà Chiểu"
                out.append((lo + m.start("name"), lo + m.end("name")))
    for lo, hi in pieces:
        piece = text if (lo, hi) == (0, len(text)) else text[lo:hi]
        for m in clock.scan(_NAME, piece):
            parts = m.group().split()
            start = lo + m.start()
            if fold(parts[0]) in _CUE_WORDS:  # "Chị Trần Thị Bích" at the start of a sentence
                second = _FIRST_WORD.match(m.group())
                start = lo + m.start() + (second.end() if second else len(m.group()))
                parts = parts[1:]
            if len(parts) < 2 or any(a <= start < b for a, b in out):
                continue
            before = fold(text[max(0, start - 12) : start]).strip()
            folded_parts = [fold(p) for p in parts]
            if " ".join(folded_parts[:3]) in _PLACE_NAMES or " ".join(folded_parts[:2]) in _PLACE_NAMES:
                continue
            if _PLACE_CUE.search(before):
                continue
            if folded_parts[0] in SURNAMES:
                out.append((start, lo + m.end()))
    return sorted(set(out))


# A character no match of _CUED_NAME or _NAME can hold (they hold letters, marks, ":", spaces and tabs only).
_NAME_BREAK = regex.compile(r"[^\p{L}\p{M}: \t]")
_NAME_BREAK_BEFORE = regex.compile(r"(?r)[^\p{L}\p{M}: \t]")


def _name_pieces(text: str, data: Sequence[Datum]) -> list[tuple[int, int]]:
    """Disjoint, sorted pieces of ``text`` that hold every name :func:`detect_personal_data` may report: each datum's
    window (``NAME_WINDOW`` either side) widened to the characters no name can hold (or the ends of the text).

    A match of the name patterns lies between two such characters, and the scan of a piece reaches its start at
    the same position and in the same state as the scan of the whole text (the character before the piece passes
    the patterns' look-behind as the start of a string does), so the names found in the pieces are exactly the
    names of the whole text that lie in them; every name near a datum (in its window) lies in that datum's piece.
    """
    pieces: list[tuple[int, int]] = []
    for d in sorted(data, key=lambda d: d.start):
        lo, hi = max(0, d.start - NAME_WINDOW), min(len(text), d.end + NAME_WINDOW)
        before = _NAME_BREAK_BEFORE.search(text, 0, lo)
        after = _NAME_BREAK.search(text, hi)
        lo, hi = (before.end() if before else 0), (after.start() if after else len(text))
        if pieces and lo <= pieces[-1][1]:
            pieces[-1] = (pieces[-1][0], max(pieces[-1][1], hi))
        else:
            pieces.append((lo, hi))
    return pieces


class _Clock:
    """Hands every search of one item what is left of its budget. The budget counts this thread's CPU time less the
    collector's passes (:func:`moderation.heap.item_time`), so neither time spent descheduled between searches nor a
    full collection that happens to start inside the item uses it up; each search runs under a wall-clock timeout of
    what is left (``regex`` timeouts cover a whole ``finditer``), so the item's CPU time stays within the budget."""

    __slots__ = ("budget_s", "started")
    _built = False  # whether the address hint's tables are built (once per process, before a clock starts)

    def __init__(self, budget_s: float | None) -> None:
        if not _Clock._built:
            if _s is None or _hint_table() is None:  # the compiled prefilter reads the table, not the pattern
                _address_hint()
            _Clock._built = True
        self.budget_s = budget_s
        self.started = item_time()

    def scan(self, pattern: regex.Pattern[str], text: str) -> Iterator[regex.Match[str]]:
        if self.budget_s is None:
            return pattern.finditer(text)
        left = self.budget_s - (item_time() - self.started)
        if left <= 0:
            raise PersonalDataTimeout(self.budget_s)
        return pattern.finditer(text, timeout=left)

    def check(self) -> tuple[()]:
        """What :meth:`scan` does for an empty text, without the search: raise when the budget is spent."""
        if self.budget_s is not None and self.budget_s - (item_time() - self.started) <= 0:
            raise PersonalDataTimeout(self.budget_s)
        return ()


def find_personal_data(
    text: str, *, official_domains: frozenset[str] = frozenset(), budget_s: float | None = None
) -> list[Datum]:
    """Return the personal data in one text, with offsets into it (see the module docstring for what is skipped).

    With ``budget_s``, every search runs under what is left of it; past it, raise :class:`PersonalDataTimeout`."""
    clock = _Clock(budget_s)
    try:
        return _find(text, official_domains, clock)
    except PersonalDataTimeout:
        raise
    except TimeoutError as exc:
        raise PersonalDataTimeout(budget_s or 0.0) from exc


def _digits_py(text: str) -> tuple[bool, bool]:
    """Whether ``text`` holds a digit or an "@", and whether it holds a run of six digits (:data:`_SIX_DIGITS`)."""
    first = _DIGIT_OR_AT.search(text)
    if first is None:
        return False, False
    # A run of six digits starts with a digit: not before the first digit or "@".
    return True, _SIX_DIGITS.search(text, first.start()) is not None


def _digits(text: str) -> tuple[bool, bool]:
    """:func:`_digits_py`, in one compiled pass over ``text`` when the extension is built."""
    if _c is None:  # pragma: no cover - depends on the build
        return _digits_py(text)
    first, six = _c.digit_scan(text)
    return first >= 0, six


def _find(text: str, official_domains: frozenset[str], clock: _Clock) -> list[Datum]:
    any_digit, digits_run = _digits(text) if text else (False, False)
    if not any_digit:
        return []  # every kind of datum below holds a digit or an "@"
    emails: bool | None = None  # whether _EMAIL may match, and _ADDRESS (None: not looked at yet)
    address: bool | None = None
    if not digits_run:  # no number search runs: the e-mail and address tests come first as below, and when both
        # say no, only the address search's budget check is left (most posts with a digit)
        emails = "@" in text and _may_hold_email(text)
        if not emails:
            address = _may_hold_address(text)
            if not address:
                clock.check()  # what the address search does for the empty text it then gets
                return []
    before_at = _FoldedBefore(text)
    taken: list[tuple[int, int]] = []
    out: list[Datum] = []

    def free(a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in taken)

    def add(kind: str, a: int, b: int, value: str, score: float, **attrs: object) -> None:
        taken.append((a, b))
        out.append(Datum(kind, a, b, value, score, dict(attrs)))

    for m in clock.scan(_SERVICE_NUMBER, text) if digits_run else ():
        if len(taken) >= MAX_TAKEN:
            break
        taken.append((m.start(), m.end()))  # 1800/1900 numbers belong to organisations

    if emails is None:
        emails = "@" in text and _may_hold_email(text)
    for m in clock.scan(_EMAIL, text) if emails else ():
        if len(out) >= MAX_DATA:
            break
        domain = m.group().rsplit("@", 1)[1].lower()
        if any(domain == d or domain.endswith("." + d) for d in official_domains):
            if len(taken) < MAX_TAKEN:
                taken.append((m.start(), m.end()))
            continue
        add("email", m.start(), m.end(), m.group(), 0.9)

    for pattern, line in ((_PHONE, "mobile"), (_LANDLINE, "landline")) if digits_run else ():
        for m in clock.scan(pattern, text):
            if len(out) >= MAX_DATA:
                break
            if not free(m.start(), m.end()):
                continue
            if _HOTLINE_CUE.search(before_at(m.start(), CONTEXT_WINDOW)):
                if len(taken) < MAX_TAKEN:
                    taken.append((m.start(), m.end()))
                continue
            digits = _NON_DIGIT.sub("", m.group())
            national = "0" + digits[2:] if digits.startswith("84") and len(digits) >= 11 else digits
            add("phone", m.start(), m.end(), national, 0.9 if line == "mobile" else 0.6, line=line)

    for m in clock.scan(_DIGIT_RUN, text) if digits_run else ():
        if len(out) >= MAX_DATA:
            break
        if not free(m.start(), m.end()):
            continue
        digits = _NON_DIGIT.sub("", m.group())
        before = before_at(m.start(), CONTEXT_WINDOW)
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and (brand := card_brand(digits)):
            add("card", m.start(), m.end(), digits, 0.95, scheme=brand)
        elif len(digits) == 12 and is_cccd(digits) and not _BANK_CUE.search(before):
            add("cccd", m.start(), m.end(), digits, 0.95 if _CCCD_CUE.search(before) else 0.8)
        elif len(digits) == 9 and _CMND_CUE.search(before):
            add("cmnd", m.start(), m.end(), digits, 0.9)
        elif 6 <= len(digits) <= 19 and _BANK_CUE.search(before):
            add("bank_account", m.start(), m.end(), digits, 0.85)

    for m in clock.scan(_PASSPORT, text) if digits_run else ():
        if len(out) >= MAX_DATA:
            break
        if free(m.start(), m.end()):
            cue = bool(_PASSPORT_CUE.search(before_at(m.start(), CONTEXT_WINDOW)))
            add("passport", m.start(), m.end(), m.group(), 0.9 if cue else 0.5, keyword=cue)

    if address is None:
        address = _may_hold_address(text)
    folded, offsets_of = _fold_for_address(text) if address else ("", list)
    offsets: list[int] | None = None
    for m in clock.scan(_ADDRESS, folded) if folded else clock.check():  # _ADDRESS matches no empty text
        if len(out) >= MAX_DATA:
            break
        if len(_ADDRESS_MARKERS.findall(m.group())) < 1:
            continue
        if offsets is None:
            offsets = offsets_of()
        a = offsets[m.start()]
        b = end_offset(offsets, len(m.group().rstrip(" ,")) + m.start(), text)
        if free(a, b):
            add("address", a, b, text[a:b], 0.8)

    return sorted(out, key=lambda d: d.start)


def detect_personal_data(
    item: Item,
    registries: Any = None,
    *,
    fields: Sequence[str] = ("title", "body"),
    budget_s: float | None = PERSONAL_ITEM_BUDGET_S,
) -> list[Signal]:
    """Report personal data in an item's text fields, marking data that appears near a person's name.

    ``registries`` (a :class:`~moderation.detect.registries.Registries`, an :class:`EntityIndex` or ``None``) gives
    the registered entities whose domains make an e-mail address official contact data. All the searches of the
    item share ``budget_s`` (``None``: no limit); past it, raise :class:`PersonalDataTimeout`.
    """
    entities: EntityIndex | None = (
        registries if isinstance(registries, EntityIndex) else getattr(registries, "entities", None)
    )
    official: set[str] = set()
    if entities is not None:
        for _entity, domain in entities.domains():
            official.add(domain.removeprefix("*.").lower())
    signals: list[Signal] = []
    official_domains = frozenset(official)
    clock = _Clock(budget_s)  # one budget for the whole item
    for name in fields:
        text = item.fields.get(name)
        if not text:
            continue
        try:
            data = _find(text, official_domains, clock)
            # names only matter near a datum: only the pieces of text around the data are scanned for them
            names = _names(text, clock, _name_pieces(text, data)) if data else []
        except PersonalDataTimeout:
            raise
        except TimeoutError as exc:
            raise PersonalDataTimeout(budget_s or 0.0) from exc
        for datum in data:
            near = [
                (a, b)
                for a, b in names
                if a < datum.end + NAME_WINDOW
                and b > datum.start - NAME_WINDOW
                and not (a >= datum.start and b <= datum.end)
            ]
            spans = [Span(name, datum.start, datum.end, text[datum.start : datum.end])]
            spans.extend(Span(name, a, b, text[a:b]) for a, b in near[:3])
            signals.append(
                Signal(
                    kind="personal_data",
                    key=datum.kind,
                    score=datum.score,
                    spans=tuple(spans),
                    attrs={
                        **datum.attrs,
                        "data_type": DATA_TYPES.get(datum.kind, datum.kind),
                        "field": name,
                        "value_masked": mask(datum.value),
                        "with_person_name": bool(near),
                        "person_names": [text[a:b] for a, b in near[:3]],
                    },
                    detector=DETECTOR,
                )
            )
    return signals


def mask(value: str) -> str:
    """Return ``value`` with all but its last few characters hidden, for logs and reports."""
    if "@" in value:
        local, _, domain = value.partition("@")
        return (local[:1] + "***@" + domain) if local else value
    if len(value) <= 4:
        return "*" * len(value)
    keep = 3 if len(value) < 10 else 4
    return "*" * (len(value) - keep) + value[-keep:]
