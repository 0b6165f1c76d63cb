"""Who offensive language is aimed at, and statements that accuse someone of a crime or wrongdoing.

Insult is a legal violation only when it has a target (a person or organisation), so the policy rules combine an
``offensive`` signal with a ``target`` signal. Targets are: second-person address (``mày``, ``bọn mày``),
demonstrative address (``thằng kia``, ``con này``, ``đồ ngu``), ``@mentions``, capitalised personal names
(``Nguyễn Văn A``) and organisations (``công ty ABC``, acronyms such as ``UBND``).

An accusation is a wrongdoing term (``lừa đảo``, ``ăn cắp``, ``tham nhũng`` ...) in the same sentence as a
target. Nominal uses ("tội tham nhũng", "phòng chống lừa đảo") are not accusations: legal and news text is full
of them. Every span is in ORIGINAL offsets.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from moderation.detect.lexicon import LiteralScanner
from moderation.domain import Signal, Span
from moderation.text.normalise import Normalised, normalise

_hs: Any
try:  # pragma: no cover - depends on the platform
    import hyperscan as _hs
except ImportError:  # pragma: no cover
    _hs = None

_c: Any
try:  # the compiled loops (moderation/_ext/_targets.pyx); without them the Python code below does the same work
    from moderation._ext import _targets as _c
except ImportError:  # pragma: no cover - depends on the build
    _c = None

__all__ = [
    "DETECTOR",
    "Accusation",
    "TargetHit",
    "accusation_signals",
    "aimed",
    "field_signals",
    "find_accusations",
    "find_targets",
    "target_signals",
]

DETECTOR = "targets/2"
_WINDOW = 80  # characters between a wrongdoing term and its target, within one sentence

# Matched against the accented normalised text: "may"/"bay" without marks are ordinary words.
_SECOND_PERSON = [
    "mày", "mầy", "bọn mày", "chúng mày", "tụi mày", "lũ mày", "chúng bay", "bọn bay", "mi", "bây",
    "các người", "mấy người", "cậu", "bạn", "em", "anh", "chị",
]  # fmt: skip
# Plain second-person words that are polite address unless the text is offensive are marked weak.
_WEAK_SECOND_PERSON = frozenset({"mi", "bây", "cậu", "bạn", "em", "anh", "chị", "mấy người", "các người"})
# Without marks: plural forms stay unambiguous; "may" (mày / may = luck, sew) and the teencode "m" count only as
# weak address, i.e. only next to offensive words.
_FOLDED_SECOND_PERSON = ["bon may", "chung may", "tui may", "lu may"]
_FOLDED_WEAK_SECOND_PERSON = ["may", "m"]
_FOLDED_STRONG = frozenset(_FOLDED_SECOND_PERSON)
# Demonstrative address. Matched against the folded text only where it stays unambiguous without marks
# ("thang kia", "do mat day"); short insult forms are matched with their marks, because folded they collide with
# ordinary phrases ("con đi" / "con đĩ", "do ngu dốt" = "because of ignorance" / "đồ ngu"), and "con chó" is
# first of all a dog.
# Each entry is (first words, second words): "first second" for every pair (literal words, no regex syntax).
_DEMONSTRATIVE = [
    (("thang", "con", "bon", "lu", "tui", "dua", "mu", "ten", "so", "may thang", "may con"),
     ("kia", "nay", "do", "ay", "nao", "day")),
    (("do",),
     ("mat day", "mat lon", "rac ruoi", "suc vat", "suc sinh", "an hai", "vo hoc", "bo di", "phan boi", "khon nan",
      "oc cho")),
    (("thang",), ("cho", "ngu", "khon", "mat day", "oc cho", "suc vat", "phan dong")),
]  # fmt: skip
_DEMONSTRATIVE_MARKED = [
    (("đồ",), ("ngu", "chó", "khốn", "điên", "lừa đảo", "mặt dày", "mất dạy")),
    (("con", "lũ", "bọn"), ("ngu", "khốn", "điên", "mất dạy", "óc chó", "súc vật", "đĩ", "phản động")),
    (("lũ", "bọn"), ("chó",)),
]  # fmt: skip
_ORG_HEADS = [
    "công ty", "cty", "tập đoàn", "ngân hàng", "bộ", "sở", "ủy ban", "ubnd", "trường", "bệnh viện", "báo",
    "đài", "nhà mạng", "hãng", "cửa hàng", "shop", "page", "fanpage", "tổ chức", "hội", "đảng", "công an",
]  # fmt: skip

# Wrongdoing terms (folded) -> category key.
_WRONGDOING = {
    "lua dao": "fraud", "lua gat": "fraud", "lua dao chiem doat": "fraud", "chiem doat": "fraud",
    "lua tien": "fraud", "scam": "fraud", "bip bom": "fraud", "gian lan": "fraud", "quyt no": "fraud",
    "xu no": "fraud", "an cap": "theft", "an trom": "theft", "trom cap": "theft", "an cuop": "theft",
    "cuop giat": "theft", "an chan": "theft", "tham nhung": "corruption", "tham o": "corruption",
    "an hoi lo": "corruption", "nhan hoi lo": "corruption", "hoi lo": "corruption", "bien thu": "corruption",
    "rua tien": "money_laundering", "tron thue": "tax_evasion", "buon lau": "smuggling",
    "buon ma tuy": "drugs", "buon nguoi": "trafficking", "giet nguoi": "violence", "hiep dam": "sexual_abuse",
    "au dam": "sexual_abuse", "xam hai": "sexual_abuse", "phan dong": "anti_state", "ban nuoc": "treason",
    "gian diep": "treason", "lam gia": "forgery", "hang gia": "forgery", "dao nhai": "plagiarism",
}  # fmt: skip
# A wrongdoing term right after one of these is a noun phrase about the offence, not an accusation.
_NOMINAL_WORDS = (
    "toi", "hanh vi", "phong chong", "phong", "chong", "cac", "viec", "vu", "nan", "nguy co", "canh bao", "thu doan",
    "chieu", "tinh trang", "to cao", "dieu tra", "xu ly", "truy to", "xet xu", "phat hien", "ngan chan", "dau tranh",
    "ve",
)  # fmt: skip
_NOMINAL_BEFORE = regex.compile("(?:" + "|".join(_NOMINAL_WORDS) + ") $")
_NOMINAL_ENDINGS = tuple(w + " " for w in _NOMINAL_WORDS)


def _nominal_before(before: str) -> bool:
    """``_NOMINAL_BEFORE.search(before) is not None`` without the regex (a search of it costs some 13 µs): the
    text ends with one of the words and a space, or does so before a final line feed (where ``$`` also matches)."""
    return before.endswith(_NOMINAL_ENDINGS) or (before.endswith("\n") and before[:-1].endswith(_NOMINAL_ENDINGS))


_SENTENCE_END = regex.compile(r"[.!?;\n]")


@dataclass(frozen=True, slots=True)
class TargetHit:
    """A target in ORIGINAL offsets; ``kind`` is ``second_person``, ``demonstrative``, ``mention``, ``name``,
    ``organisation``; ``strong`` is False for polite address that only counts next to offensive words."""

    kind: str
    start: int
    end: int
    strong: bool = True


@dataclass(frozen=True, slots=True)
class Accusation:
    """A wrongdoing term aimed at a target: the term's span, its category and the target it is aimed at."""

    category: str
    start: int
    end: int
    target: TargetHit


def _by_priority(words: Iterable[str]) -> list[str]:
    """``words`` in the order :func:`_alternation` tries them (longest escaped form first, stable)."""
    return sorted(words, key=lambda w: len(regex.escape(w)), reverse=True)


def _alternation(words: Iterable[str]) -> str:
    return "|".join(regex.escape(w) for w in _by_priority(words))


def _pairs_regex(pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> str:
    def group(words: Sequence[str]) -> str:
        return words[0] if len(words) == 1 else "(?:" + "|".join(words) + ")"

    return "|".join(group(first) + " " + group(second) for first, second in pairs)


def _pairs(pairs: Sequence[tuple[Sequence[str], Sequence[str]]]) -> list[str]:
    return [a + " " + b for first, second in pairs for a in first for b in second]


@functools.cache
def _patterns() -> dict[str, regex.Pattern[str]]:
    boundary_l, boundary_r = r"(?<![\p{L}\p{M}\d])", r"(?![\p{L}\p{M}\d])"
    return {
        "second_person": regex.compile(boundary_l + "(?:" + _alternation(_SECOND_PERSON) + ")" + boundary_r),
        "second_person_folded": regex.compile(
            r"(?<!\d )"
            + boundary_l
            + "(?:"
            + _alternation(_FOLDED_SECOND_PERSON + _FOLDED_WEAK_SECOND_PERSON)
            + ")"
            + boundary_r
        ),
        "demonstrative": regex.compile(boundary_l + "(?:" + _pairs_regex(_DEMONSTRATIVE) + ")" + boundary_r),
        "demonstrative_marked": regex.compile(
            boundary_l + "(?:" + _pairs_regex(_DEMONSTRATIVE_MARKED) + ")" + boundary_r
        ),
        "organisation": regex.compile(boundary_l + "(?:" + _alternation(_ORG_HEADS) + r")" + boundary_r),
        "wrongdoing": regex.compile(boundary_l + "(?:" + _alternation(_WRONGDOING) + ")" + boundary_r),
        # on the ORIGINAL text
        "mention": regex.compile(r"(?<![\w@])@[\p{L}\p{M}\d_.]{2,}(?<!\.)"),
        "name": regex.compile(r"(?<![\p{L}\p{M}])\p{Lu}[\p{Ll}\p{M}]+(?:[ \t]+\p{Lu}[\p{Ll}\p{M}]*){1,4}"),
        "org_name": regex.compile(r"[ \t]+(?:\p{Lu}[\p{L}\p{M}\d&.-]*)(?:[ \t]+\p{Lu}[\p{L}\p{M}\d&.-]*){0,4}"),
        "acronym": regex.compile(r"(?<![\p{L}\d])\p{Lu}{2,6}(?![\p{L}\d])"),
    }


# The cue patterns are alternations of literal words between letter boundaries: (pattern, matched on the folded
# form?, the literals in the order the pattern tries them). One Hyperscan pass over the text finds the few places
# where one of them can match, and the pattern itself is run at those places only, so the matches are exactly those
# of ``pattern.finditer``. The compiled matcher walks a trie of the same literals instead (see ``_cue_matcher``).
def _cue_specs() -> list[tuple[str, bool, list[str]]]:
    return [
        ("second_person", False, _by_priority(_SECOND_PERSON)),
        ("second_person_folded", True, _by_priority(_FOLDED_SECOND_PERSON + _FOLDED_WEAK_SECOND_PERSON)),
        ("demonstrative", True, _pairs(_DEMONSTRATIVE)),
        ("demonstrative_marked", False, _pairs(_DEMONSTRATIVE_MARKED)),
        ("organisation", False, _by_priority(_ORG_HEADS)),
        ("wrongdoing", True, _by_priority(_WRONGDOING)),
    ]


# Patterns whose alternation is preceded by ``(?<!\d )`` (see ``_patterns``).
_NO_DIGIT_SPACE = frozenset({"second_person_folded"})


class _CueScanner:
    def __init__(self) -> None:
        specs = _cue_specs()
        self.names = [name for name, _, _ in specs]
        self.on_folded = [folded for _, folded, _ in specs]
        # One database per form (accented text, folded text): a form's literals are looked for in it only.
        self.literals: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        self.scanners: list[LiteralScanner] = []
        if _hs is None:  # pragma: no cover
            return
        for form in (False, True):
            words = [(k, w.encode()) for k, (_, folded, ws) in enumerate(specs) if folded == form for w in ws]
            self.literals[form].extend((k, len(b)) for k, b in words)
            self.scanners.append(LiteralScanner([b for _, b in words]))

    def _scan(self, form: bool, data: bytes) -> list[tuple[int, int]]:
        return self.scanners[form].scan(data)

    def matches(self, n: Normalised) -> dict[str, list[regex.Match[str]]]:
        """``{pattern: list(pattern.finditer(form))}`` for the cue patterns over ``n``."""
        pats = _patterns()
        if not self.scanners:  # pragma: no cover - no Hyperscan: run the patterns over the whole text
            return {
                name: list(pats[name].finditer(n.folded if folded else n.text))
                for name, folded in zip(self.names, self.on_folded, strict=True)
            }
        out: dict[str, list[regex.Match[str]]] = {name: [] for name in self.names}
        if not n.text:
            return out
        for form, string in ((False, n.text), (True, n.folded)):
            raw = string.encode("utf-8", errors="surrogatepass")
            found = self._scan(form, raw.replace(b"_", b" "))
            if not found:
                continue
            literals = self.literals[form]
            starts: dict[int, set[int]] = {}
            for pid, end in found:
                k, length = literals[pid]
                starts.setdefault(k, set()).add(end - length)
            ascii_only = len(raw) == len(string)
            for k, byte_starts in starts.items():
                at = sorted(byte_starts) if ascii_only else _char_offsets(raw, sorted(byte_starts))
                pat, got, pos = pats[self.names[k]], out[self.names[k]], 0
                for a in at:
                    if a >= pos:
                        m = pat.match(string, a)
                        if m is not None:
                            got.append(m)
                            pos = m.end()
        return out


def _char_offsets(raw: bytes, byte_offsets: list[int]) -> list[int]:
    """The character offsets of sorted byte offsets (each on a character boundary) into UTF-8 ``raw``: the text
    before each is decoded once, piece by piece, so a few cue words cost no pass over the whole text."""
    out: list[int] = []
    prev_b = prev_c = 0
    for b in byte_offsets:
        prev_c += len(raw[prev_b:b].decode("utf-8", errors="surrogatepass"))
        prev_b = b
        out.append(prev_c)
    return out


@functools.cache
def _cue_scanner() -> _CueScanner:
    return _CueScanner()


# Targets and accusations read the cues of the text in hand; a larger cache would only keep big texts (a 1 MiB body
# normalises to some 20 MB of arrays) alive in a worker.
_CUE_CACHE = 2


@functools.lru_cache(maxsize=_CUE_CACHE)
def _cues(n: Normalised) -> dict[str, list[regex.Match[str]]]:
    """The cue matches of one normalised text (targets and accusations both read them; keyed by identity)."""
    return _cue_scanner().matches(n)


# A cue match: (start, end) in its form, (start, end) in the original, and the literal matched.
_Cue = tuple[int, int, int, int, str]


@functools.cache
def _cue_matcher() -> Any:
    """The compiled cue matcher: a trie of the literals of :func:`_cue_specs`, each with its pattern's priority."""
    return _c.CueMatcher([(folded, words, name in _NO_DIGIT_SPACE) for name, folded, words in _cue_specs()])


def _cue_spans_py(n: Normalised) -> dict[str, list[_Cue]]:
    return {
        name: [(m.start(), m.end(), *n.to_original(*m.span()), m.group()) for m in found]
        for name, found in _cues(n).items()
    }


@functools.lru_cache(maxsize=_CUE_CACHE)
def _cue_spans(n: Normalised) -> dict[str, list[_Cue]]:
    """:func:`_cues` as tuples with the original spans (the compiled matcher's form; keyed by identity)."""
    if _c is None:  # pragma: no cover - depends on the build
        return _cue_spans_py(n)
    return dict(zip(_cue_names(), _cue_matcher().spans(n.text, n.folded, n.starts, n.ends), strict=True))


@functools.cache
def _cue_names() -> list[str]:
    return [name for name, _, _ in _cue_specs()]


# The place of each pattern's list in the compiled matcher's answer (the order of _cue_specs).
_SP, _SP_FOLDED, _DEM, _DEM_MARKED, _ORG, _WRONG = (
    _cue_names().index(name)
    for name in (
        "second_person",
        "second_person_folded",
        "demonstrative",
        "demonstrative_marked",
        "organisation",
        "wrongdoing",
    )
)


# Capitalised words that start sentences or are common enough not to be names.
_NOT_NAMES_TEXT = """
Tôi Mày Tao Bọn Chúng Họ Nó Anh Chị Em Ông Bà Cô Chú Bác Thằng Con Mẹ Bố Cha Vì Nhưng Và Còn Nếu Khi Thì
Là Đây Đó Này Kia Ai Gì Sao Cái Các Những Một Hai Ba Ok Điều Khoản Nghị Định Thông Tư Luật Bộ Chính Phủ
"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
# The common Vietnamese family names: a capitalised run "Gửi Nguyễn Văn Tèo" starts its name at the family name.
_SURNAMES_TEXT = """
Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đào Đoàn Vương Trịnh Trương Đinh
Lâm Phùng Mai Tô Tạ Hà Cao Lưu Lương Thái Châu Quách Tăng Kiều Triệu Chu Từ Lục Khúc Mạc Thân
"""
_SURNAMES = frozenset(_SURNAMES_TEXT.split())
_ACRONYM_STOP = frozenset({"OK", "TV", "CV", "MV", "FB", "HD", "ĐM", "DM", "VL", "VCL", "CLGT", "LOL", "OMG", "KO"})


_NAME_LEADS = frozenset({"Thằng", "Con", "Ông", "Bà", "Anh"})
_HIT_FIELDS = ("kind", "start", "end", "strong")


def _name_start(group: str, start: int) -> int | None:
    """Where the name in a match of the ``name`` pattern starts (``None``: not a name); see :func:`find_targets`."""
    words = group.split()
    while words and words[0] in _NOT_NAMES:
        words = words[1:]
    first_surname = next((i for i, w in enumerate(words) if w in _SURNAMES), 0)
    if first_surname > 0 and len(words) - first_surname >= 2:
        words = words[first_surname:]
    if len(words) >= 2 or (len(words) == 1 and group.split(maxsplit=1)[0] in _NAME_LEADS):
        return start + group.index(words[0])
    return None


def find_targets(text: str | Normalised) -> list[TargetHit]:
    """Return the targets in ``text`` (original offsets), sorted by position."""
    n = normalise(text) if isinstance(text, str) else text
    if _c is None:  # pragma: no cover - depends on the build
        return _find_targets_py(n)
    return _find_targets_c(n)


def _find_targets_c(n: Normalised) -> list[TargetHit]:
    """:func:`_find_targets_py` with the loops compiled: the hits as tuples (deduplicated and sorted as tuples),
    then the objects."""
    return _build(TargetHit, _HIT_FIELDS, _target_rows_c(n))


def _target_rows_c(n: Normalised) -> list[tuple[str, int, int, bool]]:
    """The hits of :func:`find_targets` as ``(kind, start, end, strong)`` tuples, by the compiled loops."""
    return _rows_of(list(_cue_spans(n).values()), n.original)


def _rows_of(cues: Sequence[list[_Cue]], original: str) -> list[tuple[str, int, int, bool]]:
    """:func:`_target_rows_c` of the text whose cue lists (in the order of :func:`_cue_names`) are ``cues``."""
    return _c.target_rows(  # type: ignore[no-any-return]
        cues[_SP], cues[_SP_FOLDED], cues[_DEM], cues[_DEM_MARKED], cues[_ORG], original, *_ROW_WORDS
    )


# The word sets target_rows reads, in its order.
_ROW_WORDS = (_WEAK_SECOND_PERSON, _FOLDED_STRONG, _ACRONYM_STOP, _NOT_NAMES, _SURNAMES, _NAME_LEADS)


def _find_targets_py(n: Normalised) -> list[TargetHit]:
    pats = _patterns()
    cues = _cues(n)
    hits: set[TargetHit] = set()
    for m in cues["second_person"]:
        lo, hi = n.to_original(*m.span())
        hits.add(TargetHit("second_person", lo, hi, m.group() not in _WEAK_SECOND_PERSON))
    for m in cues["second_person_folded"]:
        lo, hi = n.to_original(*m.span())
        if not any(h.start <= lo and hi <= h.end for h in hits if h.kind == "second_person"):
            hits.add(TargetHit("second_person", lo, hi, m.group() in _FOLDED_SECOND_PERSON))
    for kind in ("demonstrative", "demonstrative_marked"):
        for m in cues[kind]:
            lo, hi = n.to_original(*m.span())
            hits.add(TargetHit("demonstrative", lo, hi))
    original = n.original
    for m in pats["mention"].finditer(original):
        hits.add(TargetHit("mention", m.start(), m.end()))
    for m in pats["name"].finditer(original):
        words = m.group().split()
        while words and words[0] in _NOT_NAMES:
            words = words[1:]
        first_surname = next((i for i, w in enumerate(words) if w in _SURNAMES), 0)
        if first_surname > 0 and len(words) - first_surname >= 2:
            words = words[first_surname:]
        if len(words) >= 2 or (len(words) == 1 and m.group().split()[0] in {"Thằng", "Con", "Ông", "Bà", "Anh"}):
            start = m.start() + m.group().index(words[0])
            hits.add(TargetHit("name", start, m.end()))
    for m in cues["organisation"]:
        lo, hi = n.to_original(*m.span())
        # The organisation is the head plus its capitalised name in the original ("công ty ABC").
        tail = pats["org_name"].match(original, hi)
        if tail:
            hits.add(TargetHit("organisation", lo, tail.end()))
    for m in pats["acronym"].finditer(original):
        if m.group() not in _ACRONYM_STOP:
            hits.add(TargetHit("organisation", m.start(), m.end()))
    return sorted(hits, key=lambda h: (h.start, h.end, h.kind))


def find_accusations(text: str | Normalised, targets: Sequence[TargetHit] | None = None) -> list[Accusation]:
    """Return wrongdoing terms aimed at a target in the same sentence (within a short window)."""
    n = normalise(text) if isinstance(text, str) else text
    tgs = list(targets) if targets is not None else find_targets(n)
    tgs = [t for t in tgs if t.strong]
    if not tgs:
        return []
    if _c is None:  # pragma: no cover - depends on the build
        return _find_accusations_py(n, tgs)
    return _find_accusations_c(n, tgs)


def _find_accusations_c(n: Normalised, tgs: list[TargetHit]) -> list[Accusation]:
    terms = _cue_spans(n)["wrongdoing"]
    if not terms:
        return []
    out: list[Accusation] = []
    sentences, near = _Sentences(n.original, _c.sentence_breaks(n.original)), _Near(tgs)
    for start, _, lo, hi, lit in terms:
        if _nominal_before(n.folded[max(0, start - 30) : start]):
            continue
        best = _nearest_in_sentence(sentences, near, lo, hi)
        if best is not None:
            out.append(Accusation(_WRONGDOING[lit], lo, hi, best))
    return out


def _nearest_in_sentence(sentences: _Sentences, near: _Near, lo: int, hi: int) -> TargetHit | None:
    """The target nearest to the span ``lo:hi`` within its window and sentence, not overlapping it (first on ties)."""
    sentence_lo, sentence_hi = sentences.around(lo, hi)
    best: TargetHit | None = None
    best_dist = _WINDOW + 1
    for t in near.around(lo, hi):
        if t.end <= sentence_lo or t.start >= sentence_hi or (t.start < hi and lo < t.end):
            continue
        dist = lo - t.end if t.end <= lo else t.start - hi
        if dist < best_dist:
            best, best_dist = t, dist
    return best


def _find_accusations_py(n: Normalised, tgs: list[TargetHit]) -> list[Accusation]:
    terms = _cues(n)["wrongdoing"]
    if not terms:
        return []
    out: list[Accusation] = []
    sentences, near = _Sentences(n.original), _Near(tgs)
    for m in terms:
        before = n.folded[max(0, m.start() - 30) : m.start()]
        if _NOMINAL_BEFORE.search(before):
            continue
        lo, hi = n.to_original(*m.span())
        best = _nearest_in_sentence(sentences, near, lo, hi)
        if best is not None:
            out.append(Accusation(_WRONGDOING[m.group()], lo, hi, best))
    return out


class _Sentences:
    """The sentence breaks of one text, found once: each query is a bisection, not a rescan from the start."""

    __slots__ = ("_breaks", "_length")

    def __init__(self, original: str, breaks: list[int] | None = None) -> None:
        self._breaks = [m.start() for m in _SENTENCE_END.finditer(original)] if breaks is None else breaks
        self._length = len(original)

    def around(self, lo: int, hi: int) -> tuple[int, int]:
        """The sentence holding ``[lo, hi)``: from after the last break before ``lo`` to the first break at ``hi``+."""
        k = bisect.bisect_left(self._breaks, lo)
        start = self._breaks[k - 1] + 1 if k else 0
        j = bisect.bisect_left(self._breaks, hi)
        return start, self._breaks[j] if j < len(self._breaks) else self._length


class _Near:
    """Targets sorted by start, so the ones within ``_WINDOW`` of a span are found by bisection."""

    __slots__ = ("_hits", "_longest", "_starts")

    def __init__(self, hits: Iterable[TargetHit]) -> None:
        self._hits = sorted(hits, key=lambda h: (h.start, h.end))
        self._starts = [h.start for h in self._hits]
        self._longest = max((h.end - h.start for h in self._hits), default=0)

    def around(self, lo: int, hi: int) -> list[TargetHit]:
        first = bisect.bisect_left(self._starts, lo - _WINDOW - self._longest)
        last = bisect.bisect_right(self._starts, hi + _WINDOW)
        return self._hits[first:last]


def aimed(hits: Sequence[TargetHit], spans: Sequence[tuple[int, int]], original: str) -> set[TargetHit]:
    """Return the targets the offensive ``spans`` are aimed at: in the same sentence, within a short window."""
    if _c is None:  # pragma: no cover - depends on the build
        return _aimed_py(hits, spans, original)
    if not hits or not spans:
        return set()
    return {h for h, f in zip(hits, _aimed_flags(hits, spans, original), strict=True) if f}


def _aimed_flags(hits: Sequence[TargetHit], spans: Sequence[tuple[int, int]], original: str) -> list[bool]:
    """For each of ``hits``: is it in :func:`aimed` (compiled: no set of hits, no hashing)."""
    if not hits or not spans:
        return [False] * len(hits)
    if _c is None:  # pragma: no cover - depends on the build
        near = _aimed_py(hits, spans, original)
        return [h in near for h in hits]
    return _c.aimed_flags(hits, spans, original, _WINDOW)  # type: ignore[no-any-return]


def _aimed_py(hits: Sequence[TargetHit], spans: Sequence[tuple[int, int]], original: str) -> set[TargetHit]:
    out: set[TargetHit] = set()
    if not hits or not spans:
        return out
    sentences, near = _Sentences(original), _Near(hits)
    for lo, hi in spans:
        s_lo, s_hi = sentences.around(lo, hi)
        for t in near.around(lo, hi):
            if t.end <= s_lo or t.start >= s_hi:
                continue
            dist = 0 if (t.start < hi and lo < t.end) else (lo - t.end if t.end <= lo else t.start - hi)
            if dist <= _WINDOW:
                out.add(t)
    return out


def _spans(field: str, original: str, hits: Sequence[TargetHit]) -> tuple[Span, ...]:
    if _FAST_SPAN:
        return _c.spans_of(Span, field, original, hits)  # type: ignore[no-any-return]
    return tuple(Span(field, h.start, h.end, original[h.start : h.end]) for h in hits)


# Target scores: the policy rules read ``target`` with a ``min_score``.
AIMED_STRONG = 1.0  # mày, thằng kia, a name, an @mention, an organisation next to offensive words
AIMED_WEAK = 0.75  # polite address (bạn, anh, em) next to offensive words
PRESENT_STRONG = 0.6  # someone identifiable is named or addressed, but not next to offensive words
PRESENT_WEAK = 0.3  # only polite address, nothing offensive near it


def target_signals(
    field: str, original: str, hits: Iterable[TargetHit], aimed_at: Iterable[TargetHit] = ()
) -> list[Signal]:
    """Return one ``target`` signal per kind of target found in ``field`` (and per aimed / not aimed).

    ``aimed_at`` are the hits the offensive language is aimed at (see :func:`aimed`); they score higher, so a rule
    can ask for "someone is named" (``min_score: 0.5``) or "the insult is aimed at someone" (``min_score: 0.75``).
    """
    hits = list(hits)
    near = set(aimed_at)
    return _target_signals(field, original, hits, [h in near for h in hits] if near else [False] * len(hits))


def aimed_target_signals(
    field: str, original: str, hits: Sequence[TargetHit], spans: Sequence[tuple[int, int]]
) -> list[Signal]:
    """``target_signals(field, original, hits, aimed(hits, spans, original))``, without the set of aimed hits."""
    return _target_signals(field, original, hits, _aimed_flags(hits, spans, original))


def field_signals(field: str, original: str, n: Normalised, spans: Sequence[tuple[int, int]]) -> list[Signal]:
    """The ``target`` and ``accusation`` signals of one field: ``aimed_target_signals(field, original, hits, spans) +
    accusation_signals(field, original, find_accusations(n, hits))`` with ``hits = find_targets(n)``.

    ``n`` is the normalised ``original``; ``spans`` the offensive spans (see :func:`aimed`). With the compiled
    loops the hits stay C records: the target signals are built from them in one call, the hits become tuples only
    when the text holds a wrongdoing term, and a ``TargetHit`` object is made only for a target an accusation names
    (see :func:`_row_accusations`).
    """
    if not _FAST_ROWS:
        hits = find_targets(n)
        return aimed_target_signals(field, original, hits, spans) + accusation_signals(
            field, original, find_accusations(n, hits)
        )
    # The cues of this text once, as the matcher's lists (what _cue_spans keeps is for find_targets and
    # find_accusations; nothing else reads this text's). The target signals are made from the compiled records of
    # the hits (_target_rows_c's rows), and the rows themselves only when there is a wrongdoing term to aim.
    cues = _cue_matcher().spans(n.text, n.folded, n.starts, n.ends)
    terms = cues[_WRONG]
    found, rows = _c.row_signals_of(
        (cues[_SP], cues[_SP_FOLDED], cues[_DEM], cues[_DEM_MARKED], cues[_ORG]),
        n.original,
        _ROW_WORDS,
        Signal,
        Span,
        _SIGNAL_FIELDS,
        field,
        original,
        spans,
        _WINDOW,
        DETECTOR,
        (AIMED_STRONG, AIMED_WEAK),
        (PRESENT_STRONG, PRESENT_WEAK),
        bool(terms),
    )
    # find_accusations: nothing without a wrongdoing term, nor without a strong target (in either order).
    if rows:
        accusations = _row_accusations(n, rows, terms)
        if accusations:
            found += accusation_signals(field, original, accusations)
    return found  # type: ignore[no-any-return]


def _row_accusations(
    n: Normalised, rows: list[tuple[str, int, int, bool]], terms: list[_Cue] | None = None
) -> list[Accusation]:
    """``_find_accusations_c(n, strong)`` with ``strong`` the ``TargetHit`` objects of the strong ``rows`` of
    :func:`_target_rows_c`, read from the rows: a ``TargetHit`` is made only for a target an accusation names, and
    the sentence breaks are found only when a term is not nominal. ``terms``: the text's ``wrongdoing`` cues, when
    the caller has them (else :func:`_cue_spans`).

    The rows are sorted by (start, end, kind, strong), so they are already in the order :class:`_Near` sorts its
    hits in (a stable sort by (start, end)): the bisection of their starts finds the same candidates, in the same
    order, as :meth:`_Near.around`, and :func:`_nearest_in_sentence` picks the same one (the first on ties).
    """
    if terms is None:
        terms = _cue_spans(n)["wrongdoing"]
    strong = [row for row in rows if row[3]] if terms else []
    if not strong:
        return []
    starts = [row[1] for row in strong]
    longest = max(row[2] - row[1] for row in strong)
    folded = n.folded
    sentences: _Sentences | None = None
    out: list[Accusation] = []
    for start, _, lo, hi, lit in terms:
        if _nominal_before(folded[max(0, start - 30) : start]):
            continue
        if sentences is None:
            sentences = _Sentences(n.original, _c.sentence_breaks(n.original))
        sentence_lo, sentence_hi = sentences.around(lo, hi)
        best: tuple[str, int, int, bool] | None = None
        best_dist = _WINDOW + 1
        first = bisect.bisect_left(starts, lo - _WINDOW - longest)
        last = bisect.bisect_right(starts, hi + _WINDOW)
        for row in strong[first:last]:
            t_start, t_end = row[1], row[2]
            if t_end <= sentence_lo or t_start >= sentence_hi or (t_start < hi and lo < t_end):
                continue
            dist = lo - t_end if t_end <= lo else t_start - hi
            if dist < best_dist:
                best, best_dist = row, dist
        if best is not None:
            out.append(Accusation(_WRONGDOING[lit], lo, hi, TargetHit(*best)))
    return out


def _target_signals(field: str, original: str, hits: Sequence[TargetHit], is_near: Sequence[bool]) -> list[Signal]:
    if _FAST_SIGNAL and _FAST_SPAN:
        return _c.target_signals(  # type: ignore[no-any-return]
            Signal,
            Span,
            _SIGNAL_FIELDS,
            field,
            original,
            list(hits),
            list(is_near),
            DETECTOR,
            (AIMED_STRONG, AIMED_WEAK),
            (PRESENT_STRONG, PRESENT_WEAK),
        )
    return _target_signals_py(field, original, hits, is_near)


def _target_signals_py(field: str, original: str, hits: Sequence[TargetHit], is_near: Sequence[bool]) -> list[Signal]:
    grouped: dict[tuple[str, bool], list[TargetHit]] = {}
    for h, close in zip(hits, is_near, strict=True):
        grouped.setdefault((h.kind, close), []).append(h)
    out: list[tuple[str, str, float, tuple[Span, ...], dict[str, Any], str]] = []
    for (kind, is_aimed), group in sorted(grouped.items()):
        strong = any(h.strong for h in group)
        scores = (AIMED_STRONG, AIMED_WEAK) if is_aimed else (PRESENT_STRONG, PRESENT_WEAK)
        score = scores[0] if strong else scores[1]
        attrs = {"target_kind": kind, "strong": strong, "aimed": is_aimed, "count": len(group), "field": field}
        out.append(("target", kind, score, _spans(field, original, group), attrs, DETECTOR))
    if _FAST_SIGNAL:
        return _c.build(Signal, _SIGNAL_FIELDS, out)  # type: ignore[no-any-return]
    return [Signal(*row) for row in out]


# Accusation scores: against a named person or organisation, or against someone only addressed ("bọn kia").
NAMED = 1.0
ADDRESSED = 0.8
_NAMED_KINDS = frozenset({"name", "mention", "organisation"})


def accusation_signals(field: str, original: str, accusations: Iterable[Accusation]) -> list[Signal]:
    """Return one ``accusation`` signal per wrongdoing category, with the term and target spans."""
    grouped: dict[str, list[Accusation]] = {}
    for a in accusations:
        grouped.setdefault(a.category, []).append(a)
    signals = []
    # The compiled objects: the spans (one field, text original[start:end]) are equal exactly when their (start,
    # end) are, so the pairs are deduplicated (in order) and each Span is made once, by filling its slots.
    fast = _FAST_SPAN and _FAST_SIGNAL and _HAS_MAKE
    for category, group in sorted(grouped.items()):
        spans: tuple[Span, ...]
        if fast:
            pairs: list[tuple[int, int]] = []
            for a in group:
                pairs.append((a.start, a.end))
                pairs.append((a.target.start, a.target.end))
            spans = _c.pair_spans(Span, field, original, list(dict.fromkeys(pairs)))
        else:
            listed: list[Span] = []
            for a in group:
                listed.append(Span(field, a.start, a.end, original[a.start : a.end]))
                listed.append(Span(field, a.target.start, a.target.end, original[a.target.start : a.target.end]))
            spans = tuple(dict.fromkeys(listed))
        named = any(a.target.kind in _NAMED_KINDS for a in group)
        attrs = {
            "field": field,
            "named": named,
            "category": category,
            "targets": sorted({original[a.target.start : a.target.end] for a in group}),
            "target_kinds": sorted({a.target.kind for a in group}),
        }
        row = ("accusation", category, NAMED if named else ADDRESSED, spans, attrs, DETECTOR)
        signals.append(_c.make(Signal, _SIGNAL_FIELDS, row) if fast else Signal(*row))
    return signals


def _plain_init(cls: type, names: tuple[str, ...]) -> bool:
    """Whether ``cls`` is a frozen slotted dataclass whose ``__init__`` only stores ``names`` (so ``_c.build`` may
    make its instances)."""
    params = getattr(cls, "__dataclass_params__", None)
    return (
        params is not None
        and params.frozen
        and getattr(cls, "__slots__", None) == names
        and tuple(f.name for f in dataclasses.fields(cls)) == names
        and not hasattr(cls, "__post_init__")
    )


_FAST_HIT = _c is not None and _plain_init(TargetHit, _HIT_FIELDS)
_FAST_SPAN = _c is not None and _plain_init(Span, ("field", "start", "end", "text"))
_SIGNAL_FIELDS = ("kind", "key", "score", "spans", "attrs", "detector")
_FAST_SIGNAL = _c is not None and _plain_init(Signal, _SIGNAL_FIELDS)
_FAST_ROWS = _FAST_HIT and _FAST_SPAN and _FAST_SIGNAL  # field_signals may keep the hits as tuples
_HAS_MAKE = _c is not None and hasattr(_c, "make")


def _build(cls: type[TargetHit], names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[TargetHit]:
    if _FAST_HIT:
        return _c.build(cls, names, rows)  # type: ignore[no-any-return]
    return [cls(*row) for row in rows]
