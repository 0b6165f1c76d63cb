"""Confusable skeletons, diacritic-free forms and the protected-entity index (Circular 07/2008 §3.2, impersonation).

A blog that copies the name of a state agency, a bank, an e-wallet, a platform or another blog of the same platform
is what the draft decree calls "impersonating the website or social-network account of an agency, organisation or
individual". Names are compared in three forms, each giving its own ``method`` in the evidence:

* ``exact``     — equal after case folding and removing Vietnamese diacritics (``Bộ Công An`` == ``bo cong an``);
* ``confusable``— equal after the Unicode TR39 skeleton (Cyrillic ``а`` for Latin ``a``, ``0`` for ``o``, ``rn`` for
  ``m``), which only an attempt to deceive produces;
* ``contains``  — the entity's full name (at least two words, or one distinctive word of 6+ letters) appears as whole
  words inside the candidate ("Vietcombank Hỗ Trợ Khách Hàng");
* ``fuzzy``     — rapidfuzz ``ratio`` on the compact skeleton (no spaces) at or above ``FUZZY_MIN`` for names long
  enough that a high ratio is not chance.

Ordinary personal names do not collide with organisation names under these rules: "Nguyễn Văn An" and "Ngân hàng Nhà
nước" share no whole-word run and their compact skeletons score far below the threshold. The confusables table is
derived from Unicode's ``confusables.txt`` (see ``data/confusables.tsv`` for the notice).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import regex
from rapidfuzz import fuzz, process

from moderation.domain import Item, ItemKind, Signal, Span

DETECTOR = "impersonation/1"
DATA_DIR = Path(__file__).resolve().parent / "data"

FUZZY_MIN = 90.0  # rapidfuzz ratio (0-100) on compact skeletons
FUZZY_MIN_LEN = 6  # shorter compact names give high ratios by chance ("anvan" vs "annam")
CONTAINS_MIN_LEN = 6  # a single word contained must be at least this long ("momo" is matched by equality only)

_WORD = regex.compile(r"\w+")
_NOT_ALNUM = regex.compile(r"[^\p{L}\p{N}]+")

# đ/Đ do not decompose under NFD; Vietnamese writers and attackers both use plain d for them.
_EXTRA_FOLD = {"đ": "d", "Đ": "d", "ð": "d", "ł": "l", "ø": "o", "ß": "ss"}


@functools.cache
def _confusables() -> Mapping[str, str]:
    table: dict[str, str] = {}
    with (DATA_DIR / "confusables.tsv").open(encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            src, dst = line.rstrip("\n").split("\t")
            table[chr(int(src, 16))] = "".join(chr(int(cp, 16)) for cp in dst.split())
    return table


def fold_char(ch: str) -> str:
    """Return ``ch`` case-folded without diacritics (may be empty for a combining mark)."""
    if ch in _EXTRA_FOLD:
        return _EXTRA_FOLD[ch]
    decomposed = unicodedata.normalize("NFD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


FOLD_TABLE_LIMIT = 0x3000  # Latin, Greek, Cyrillic, combining marks, Vietnamese (U+1E00-1EFF), punctuation


@functools.cache
def fold_table() -> dict[int, str]:
    """The fold of every code point below ``FOLD_TABLE_LIMIT`` that folds to something else (``str.translate`` table;
    shared, do not change it)."""
    table: dict[int, str] = {}
    for cp in range(FOLD_TABLE_LIMIT):
        ch = chr(cp)
        folded = fold_char(ch)
        if folded != ch:
            table[cp] = folded
    return table


@functools.cache
def fold_table_1to1() -> dict[int, str]:
    """Return a translation table that folds like :func:`fold` but keeps one character per character.

    Combining marks become U+0001 (the caller drops them); a character folding to several (``ß``) keeps the first.
    Used where offsets must survive folding without a map (the works index).
    """
    table: dict[int, str] = {}
    for cp, folded in fold_table().items():
        table[cp] = folded[:1] if folded else "\x01"
    return table


def fold(text: str) -> str:
    """Return ``text`` case-folded and without Vietnamese diacritics (``Ngân hàng`` -> ``ngan hang``)."""
    if text.isascii():
        return text.lower()
    folded = text.translate(fold_table())
    # Characters beyond the table (rare scripts) are only case-folded.
    return folded if folded.isascii() else "".join(fold_char(ch) for ch in folded)


@functools.cache
def _fold_arrays() -> tuple[np.ndarray[Any, np.dtype[np.uint32]], np.ndarray[Any, np.dtype[np.int64]]]:
    """Return, for each code point below ``FOLD_TABLE_LIMIT``, its one-character fold and its fold's length."""
    points = np.arange(FOLD_TABLE_LIMIT, dtype=np.uint32)
    lengths = np.ones(FOLD_TABLE_LIMIT, dtype=np.int64)
    for cp, folded in fold_table().items():
        lengths[cp] = len(folded)
        points[cp] = ord(folded) if len(folded) == 1 else 0
    return points, lengths


@functools.cache
def _fold_table_open() -> dict[int, str]:
    """Return a copy of the fold table that :func:`fold_with_offsets` extends with the rare code points it meets."""
    return dict(fold_table())


def fold_with_offsets(text: str) -> tuple[str, list[int]]:
    """Fold ``text`` and return, for each folded character, the index of the original character it came from.

    ``offsets`` has one extra entry (``len(text)``); map a match ``folded[i:j]`` back with ``offsets[i]`` and
    :func:`end_offset` (which keeps combining marks that follow the last character inside the span).
    Same result as folding each character with :func:`fold_char`; computed with numpy lookups, not a Python loop.
    """
    n = len(text)
    if text.isascii():
        return text.lower(), list(range(n + 1))
    cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    points, lengths = _fold_arrays()
    high = cps >= FOLD_TABLE_LIMIT
    if high.any():  # rare scripts (emoji, CJK): fold those code points with fold_char, once per code point
        table = _fold_table_open()
        for cp in np.unique(cps[high]).tolist():
            if cp not in table:
                table[cp] = fold_char(chr(cp))
        lens = lengths[np.where(high, 0, cps)]
        lens[high] = [len(table[cp]) for cp in cps[high].tolist()]
        folded = text.translate(table)
    else:
        lens = lengths[cps]
        if bool((lens == 1).all()):
            return points[cps].tobytes().decode("utf-32-le", "surrogatepass"), list(range(n + 1))
        if bool((lens <= 1).all()):  # only combining marks vanish: drop them, map the rest one to one
            keep = lens == 1
            folded = points[cps[keep]].tobytes().decode("utf-32-le", "surrogatepass")
            offsets: list[int] = np.flatnonzero(keep).tolist()
            offsets.append(n)
            return folded, offsets
        folded = text.translate(fold_table())
    offsets = np.repeat(np.arange(n, dtype=np.int64), lens).tolist()
    offsets.append(n)
    return folded, offsets


def fold_plain(text: str) -> str:
    """``fold_with_offsets(text)[0]`` without the offsets, for short texts: one ``str.translate`` with the open fold
    table (the code points beyond ``FOLD_TABLE_LIMIT`` added to it first), no numpy call."""
    if text.isascii():
        return text.lower()
    table = _fold_table_open()
    for ch in set(text):
        cp = ord(ch)
        if cp >= FOLD_TABLE_LIMIT and cp not in table:
            table[cp] = fold_char(ch)
    return text.translate(table)


def end_offset(offsets: Sequence[int], j: int, text: str) -> int:
    """Map the folded end index ``j`` to an original end index, keeping trailing combining marks in the span."""
    end = offsets[j - 1] + 1 if j > 0 else 0
    while end < len(text) and unicodedata.combining(text[end]):
        end += 1
    return end


def skeleton(text: str) -> str:
    """Return the TR39-style skeleton of ``text``, case- and diacritic-insensitive.

    Case folding comes first so that an upper-case ``I`` is not mapped to ``l`` on one side only; diacritics are
    removed before and after the mapping because some prototypes carry combining marks.
    """
    table = _confusables()
    base = fold(text)
    mapped = "".join(table.get(ch, ch) for ch in base)
    return fold(mapped)


def compact(text: str) -> str:
    """Return the skeleton without spaces and punctuation (``Viet-com Bank`` -> ``vietcombank``)."""
    return _NOT_ALNUM.sub("", skeleton(text))


def words(text: str) -> tuple[str, ...]:
    """Return the folded words of ``text``."""
    return tuple(_WORD.findall(fold(text)))


@dataclass(frozen=True, slots=True)
class ProtectedEntity:
    """An agency, organisation, public figure, brand or registered blog that others must not impersonate.

    ``platform_id`` is ``None`` for entities protected everywhere (agencies, banks) and set for a platform's own blogs.
    ``domains`` are registrable domains or hosts (``vietcombank.com.vn``); ``*.gov.vn`` style wildcards are allowed.
    """

    id: str
    name: str
    kind: str
    handles: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    platform_id: str | None = None
    aliases: tuple[str, ...] = ()
    source: str = ""

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, platform_id: str | None = None) -> ProtectedEntity:
        """Build an entity from a JSON/YAML mapping with keys id, name, kind, handles, domains, aliases, source."""
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            kind=str(data.get("kind", "organisation")),
            handles=tuple(str(h) for h in data.get("handles") or ()),
            domains=tuple(str(d).lower().strip() for d in data.get("domains") or ()),
            platform_id=data.get("platform_id", platform_id),
            aliases=tuple(str(a) for a in data.get("aliases") or ()),
            source=str(data.get("source", "")),
        )


@dataclass(frozen=True, slots=True)
class IdentityMatch:
    """One candidate string resembling one entity."""

    entity: ProtectedEntity
    matched: str  # the entity's name, alias or handle that was resembled
    similarity: float  # 0..1
    method: str  # exact | confusable | contains | fuzzy


@dataclass(frozen=True, slots=True)
class _Key:
    entity_index: int
    text: str
    compact: str
    words: tuple[str, ...]
    plain_len: int  # letters and digits before the skeleton (which may lengthen "m" to "rn")


@dataclass(frozen=True)
class EntityIndex:
    """Names, aliases and handles of protected entities, indexed by compact skeleton and by word runs."""

    entities: tuple[ProtectedEntity, ...] = ()
    _keys: tuple[_Key, ...] = field(default=(), repr=False)
    _by_compact: Mapping[str, tuple[int, ...]] = field(default_factory=dict, repr=False)
    _by_first_word: Mapping[str, tuple[int, ...]] = field(default_factory=dict, repr=False)
    _fuzzy_choices: tuple[str, ...] = field(default=(), repr=False)
    _fuzzy_keys: tuple[int, ...] = field(default=(), repr=False)

    @classmethod
    def build(cls, entities: Iterable[ProtectedEntity]) -> EntityIndex:
        """Index ``entities`` (later duplicates of an id replace earlier ones)."""
        unique = {(e.platform_id, e.id): e for e in entities}
        ents = tuple(unique.values())
        keys: list[_Key] = []
        for i, ent in enumerate(ents):
            for text in (ent.name, *ent.aliases, *ent.handles):
                c = compact(text)
                if c:
                    words = tuple(w for w in _NOT_ALNUM.split(skeleton(text)) if w)
                    keys.append(_Key(i, text, c, words, len(_NOT_ALNUM.sub("", fold(text)))))
        by_compact: dict[str, list[int]] = {}
        by_first: dict[str, list[int]] = {}
        fuzzy_choices: list[str] = []
        fuzzy_keys: list[int] = []
        for k, key in enumerate(keys):
            by_compact.setdefault(key.compact, []).append(k)
            if key.words:
                by_first.setdefault(key.words[0], []).append(k)
            if len(key.compact) >= FUZZY_MIN_LEN:
                fuzzy_choices.append(key.compact)
                fuzzy_keys.append(k)
        return cls(
            entities=ents,
            _keys=tuple(keys),
            _by_compact={k: tuple(v) for k, v in by_compact.items()},
            _by_first_word={k: tuple(v) for k, v in by_first.items()},
            _fuzzy_choices=tuple(fuzzy_choices),
            _fuzzy_keys=tuple(fuzzy_keys),
        )

    def __len__(self) -> int:
        return len(self.entities)

    def domains(self) -> list[tuple[ProtectedEntity, str]]:
        """Return every (entity, protected domain) pair."""
        return [(e, d) for e in self.entities for d in e.domains]

    def match(
        self,
        candidate: str,
        *,
        platform_id: str | None = None,
        exclude_ids: Iterable[str] = (),
        limit: int = 5,
    ) -> list[IdentityMatch]:
        """Return the entities ``candidate`` resembles, best first.

        Only global entities and those of ``platform_id`` are considered; ``exclude_ids`` drops the candidate's own
        entity (a blog compared with its own registry entry).
        """
        excluded = set(exclude_ids)
        c = compact(candidate)
        if not c:
            return []
        best: dict[int, IdentityMatch] = {}

        def consider(key_index: int, similarity: float, method: str) -> None:
            key = self._keys[key_index]
            ent = self.entities[key.entity_index]
            if ent.id in excluded or (ent.platform_id is not None and ent.platform_id != platform_id):
                return
            old = best.get(key.entity_index)
            if old is None or similarity > old.similarity:
                best[key.entity_index] = IdentityMatch(ent, key.text, similarity, method)

        cand_fold = _NOT_ALNUM.sub("", fold(candidate))
        for k in self._by_compact.get(c, ()):
            same_fold = _NOT_ALNUM.sub("", fold(self._keys[k].text)) == cand_fold
            consider(k, 1.0, "exact" if same_fold else "confusable")

        cand_words = tuple(w for w in _NOT_ALNUM.split(skeleton(candidate)) if w)
        for pos, w in enumerate(cand_words):
            for k in self._by_first_word.get(w, ()):
                kw = self._keys[k].words
                if cand_words[pos : pos + len(kw)] != kw or len(kw) == len(cand_words):
                    continue
                if len(kw) >= 2 or self._keys[k].plain_len >= CONTAINS_MIN_LEN:
                    consider(k, round(0.85 + 0.15 * len("".join(kw)) / len(c), 4), "contains")

        if len(c) >= FUZZY_MIN_LEN and self._fuzzy_choices:
            for _choice, score, idx in process.extract(
                c, self._fuzzy_choices, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN, limit=limit * 4
            ):
                k = self._fuzzy_keys[idx]
                if self._keys[k].compact != c:
                    consider(k, round(score / 100.0, 4), "fuzzy")

        return sorted(best.values(), key=lambda m: (-m.similarity, m.entity.id))[:limit]


_IDENTITY_FIELDS = ("name", "display_name", "author_name", "author_display_name", "handle", "url")
# A post's URL slug or title naming an agency is reporting, not impersonation: posts are checked on author names.
_AUTHOR_FIELDS = ("author_name", "author_display_name", "display_name")


def _url_candidates(value: str) -> list[tuple[str, int, int]]:
    """Split a blog URL into the parts a person reads as its name: subdomain labels and path segments."""
    out: list[tuple[str, int, int]] = []
    for m in regex.finditer(r"[\p{L}\p{N}][\p{L}\p{N}_-]{2,}", value):
        if m.group().lower() in {"http", "https", "www", "com", "net", "org", "vn", "blog", "html"}:
            continue
        out.append((m.group(), m.start(), m.end()))
    return out


def detect_impersonation(item: Item, registries: Any, *, fields: Sequence[str] | None = None) -> list[Signal]:
    """Compare an item's names (blog name, display name, URL parts, author display name) with protected entities.

    ``registries`` is a :class:`~moderation.detect.registries.Registries` or an :class:`EntityIndex`. One signal
    per (entity, field), keyed by entity id; the item's own blog (``item.blog_id``) is never compared with itself.
    By default blog registrations are checked on name, display name, handle and URL, posts and comments on the
    author-name fields only.
    """
    index: EntityIndex = registries if isinstance(registries, EntityIndex) else registries.entities
    if not len(index):
        return []
    if fields is None:
        fields = _IDENTITY_FIELDS if item.kind is ItemKind.BLOG else _AUTHOR_FIELDS
    signals: dict[tuple[str, str], Signal] = {}
    exclude = [item.blog_id] if item.blog_id else []
    for name in fields:
        value = item.fields.get(name)
        if not value or not value.strip():
            continue
        parts = _url_candidates(value) if name == "url" else [(value, 0, len(value))]
        for text, start, end in parts:
            for m in index.match(text, platform_id=item.platform_id, exclude_ids=exclude):
                if item.kind is not ItemKind.BLOG and m.entity.kind == "blog" and m.method == "contains":
                    continue  # a comment mentioning a blog's name is not pretending to be it
                key = (m.entity.id, name)
                old = signals.get(key)
                if old is not None and old.score >= m.similarity:
                    continue
                signals[key] = Signal(
                    kind="impersonation",
                    key=m.entity.id,
                    score=m.similarity,
                    spans=(Span(name, start, end, value[start:end]),),
                    attrs={
                        "entity_id": m.entity.id,
                        "entity_name": m.entity.name,
                        "entity_kind": m.entity.kind,
                        "entity_platform_id": m.entity.platform_id,
                        "field": name,
                        "matched": m.matched,
                        "similarity": m.similarity,
                        "method": m.method,
                    },
                    detector=DETECTOR,
                )
    return sorted(signals.values(), key=lambda s: (-s.score, s.key))
