"""Regular-expression rules, run with the ``regex`` module under a timeout, and a linter for pack authors.

A rule says which form of the text it reads: ``folded`` (lowercase, no diacritics: the default, so a pattern
written without accents also catches accented and stripped text), ``text`` (lowercase, accented) or
``original``. Matches are reported in original offsets either way.

:func:`lint_pattern` rejects constructs that can backtrack catastrophically (nested unbounded quantifiers,
overlapping alternatives under a quantifier, back-references) so the pack validator can refuse them before they
reach production; the timeout is the second line of defence.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import regex

from moderation.domain import Signal, Span
from moderation.text.normalise import Normalised, normalise

__all__ = [
    "DEFAULT_TIMEOUT",
    "DETECTOR",
    "CompiledRule",
    "PatternHit",
    "PatternRule",
    "PatternTimeout",
    "compile_rule",
    "hits_to_signals",
    "lint_pattern",
]

DETECTOR = "regex/1"
DEFAULT_TIMEOUT = 0.05  # seconds per rule and text; a well-formed rule needs microseconds
FORMS = ("folded", "text", "original")


class PatternTimeout(Exception):
    """A rule took longer than its timeout on one text."""

    def __init__(self, rule_id: str, timeout: float) -> None:
        super().__init__(f"pattern {rule_id!r} exceeded {timeout:.3f}s")
        self.rule_id = rule_id
        self.timeout = timeout


@dataclass(frozen=True, slots=True)
class PatternRule:
    """A pattern from a pack. ``form`` picks the text it runs on; ``ignore_case`` matters only for ``original``."""

    id: str
    pattern: str
    form: str = "folded"
    ignore_case: bool = True


@dataclass(frozen=True, slots=True)
class PatternHit:
    """One match, in ORIGINAL offsets, with the named groups' original text."""

    rule_id: str
    start: int
    end: int
    groups: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule compiled once; :meth:`find` runs it on a text under a timeout."""

    rule: PatternRule
    compiled: Any  # regex.Pattern[str]; typed loosely because types-regex stubs lag the timeout keyword

    def find(self, text: Normalised | str, *, timeout: float = DEFAULT_TIMEOUT) -> list[PatternHit]:
        """Return every non-empty match; raise :class:`PatternTimeout` when the rule runs too long."""
        n = normalise(text) if isinstance(text, str) else text
        haystack = {"folded": n.folded, "text": n.text, "original": n.original}[self.rule.form]
        hits: list[PatternHit] = []
        try:
            for m in self.compiled.finditer(haystack, timeout=timeout):
                if m.end() == m.start():
                    continue
                if self.rule.form == "original":
                    lo, hi = m.start(), m.end()
                else:
                    lo, hi = n.to_original(m.start(), m.end())
                groups = []
                for name, value in m.groupdict().items():
                    if value is None:
                        continue
                    g_lo, g_hi = m.span(name)
                    if self.rule.form != "original":
                        g_lo, g_hi = n.to_original(g_lo, g_hi)
                    groups.append((name, n.original[g_lo:g_hi]))
                hits.append(PatternHit(self.rule.id, lo, hi, tuple(groups)))
        except TimeoutError as exc:
            raise PatternTimeout(self.rule.id, timeout) from exc
        return hits


def compile_rule(rule: PatternRule) -> CompiledRule:
    """Compile ``rule`` (raise ``ValueError`` for an unknown form or a syntax error)."""
    if rule.form not in FORMS:
        raise ValueError(f"rule {rule.id!r}: form must be one of {', '.join(FORMS)}")
    return CompiledRule(rule, _compile(rule.pattern, rule.ignore_case))


@functools.lru_cache(maxsize=4096)
def _compile(pattern: str, ignore_case: bool) -> Any:
    flags = regex.VERSION1 | regex.UNICODE | (regex.IGNORECASE if ignore_case else 0)
    try:
        return regex.compile(pattern, flags)
    except regex.error as exc:
        raise ValueError(f"invalid pattern: {exc}") from exc


# ---------------------------------------------------------------------------------------------------------------
# Linting

_MAX_PATTERN = 2000
_UNBOUNDED = 20  # a repeat with a larger maximum counts as unbounded for nesting purposes


def lint_pattern(pattern: str) -> list[str]:
    """Return the problems that make ``pattern`` unsafe or invalid (an empty list means it is acceptable)."""
    problems: list[str] = []
    if len(pattern) > _MAX_PATTERN:
        problems.append(f"pattern longer than {_MAX_PATTERN} characters")
    try:
        regex.compile(pattern, regex.VERSION1)
    except regex.error as exc:
        return [*problems, f"syntax error: {exc}"]
    try:
        parsed = _parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return [*problems, "uses syntax outside the supported subset (write it in Python re syntax)"]
    _walk(parsed, problems, in_repeat=False)
    if _matches_empty(pattern):
        problems.append("matches the empty string")
    return sorted(set(problems))


def _parse(pattern: str) -> Any:
    import re._parser as sre_parse  # the stdlib parser; private but stable across 3.11-3.13

    return sre_parse.parse(pattern)


def _matches_empty(pattern: str) -> bool:
    try:
        return regex.fullmatch(pattern, "", timeout=0.01) is not None
    except (TimeoutError, regex.error):
        return False


def _is_unbounded(hi: int) -> bool:
    return hi > _UNBOUNDED


def _walk(items: Iterable[tuple[Any, Any]], problems: list[str], *, in_repeat: bool) -> None:
    import re._constants as c

    for op, av in items:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            _lo, hi, body = av
            unbounded = _is_unbounded(hi)
            if in_repeat and unbounded and op != c.POSSESSIVE_REPEAT:
                problems.append("nested quantifiers: an unbounded repeat inside another repeat")
            if unbounded and _has_overlapping_alternation(body):
                problems.append("alternation with overlapping branches under a quantifier")
            if unbounded and _adjacent_overlap(body):
                problems.append("repeated group can match the same text in several ways")
            _walk(body, problems, in_repeat=in_repeat or (unbounded and op != c.POSSESSIVE_REPEAT))
        elif op in (c.GROUPREF, c.GROUPREF_EXISTS):
            problems.append("back-references are not allowed")
            if op == c.GROUPREF_EXISTS:
                _, yes, no = av
                _walk(yes, problems, in_repeat=in_repeat)
                if no is not None:
                    _walk(no, problems, in_repeat=in_repeat)
        elif op == c.SUBPATTERN:
            _walk(av[-1], problems, in_repeat=in_repeat)
        elif op == c.ATOMIC_GROUP:
            _walk(av, problems, in_repeat=False)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            _walk(av[1], problems, in_repeat=in_repeat)
        elif op == c.BRANCH:
            for branch in av[1]:
                _walk(branch, problems, in_repeat=in_repeat)


def _first_chars(items: Sequence[tuple[Any, Any]]) -> set[str] | None:
    """Return the characters a sequence can start with, or None when that set is open-ended."""
    import re._constants as c

    for op, av in items:
        if op == c.LITERAL:
            return {chr(av).lower()}
        if op == c.SUBPATTERN:
            return _first_chars(av[-1])
        if op == c.BRANCH:
            out: set[str] = set()
            for b in av[1]:
                f = _first_chars(b)
                if f is None:
                    return None
                out |= f
            return out
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            lo, _hi, body = av
            first = _first_chars(body)
            if lo == 0:
                return None
            return first
        if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
            continue
        return None  # classes, any, categories: treat as open-ended
    return set()


def _has_overlapping_alternation(body: Sequence[tuple[Any, Any]]) -> bool:
    import re._constants as c

    for op, av in body:
        if op == c.SUBPATTERN:
            return _has_overlapping_alternation(av[-1])
        if op == c.BRANCH:
            firsts = [_first_chars(b) for b in av[1]]
            seen: set[str] = set()
            for f in firsts:
                if f is None:
                    return len(firsts) > 1
                if f & seen:
                    return True
                seen |= f
            return False
    return False


def _adjacent_overlap(body: Sequence[tuple[Any, Any]]) -> bool:
    """Detect ``(a*a*)*``-style bodies: two consecutive unbounded repeats inside one repeated group."""
    import re._constants as c

    items = list(body)
    if len(items) == 1 and items[0][0] == c.SUBPATTERN:
        items = list(items[0][1][-1])
    unbounded = [op in (c.MAX_REPEAT, c.MIN_REPEAT) and _is_unbounded(av[1]) for op, av in items]
    return any(a and b for a, b in itertools.pairwise(unbounded))


def hits_to_signals(field: str, original: str, hits: Iterable[PatternHit], *, detector: str = DETECTOR) -> list[Signal]:
    """Group pattern hits by rule id into ``regex`` signals for ``field``."""
    grouped: dict[str, list[PatternHit]] = {}
    for h in hits:
        grouped.setdefault(h.rule_id, []).append(h)
    signals = []
    for rule_id, rule_hits in sorted(grouped.items()):
        spans = tuple(Span(field, h.start, h.end, original[h.start : h.end]) for h in rule_hits)
        groups = [dict(h.groups) for h in rule_hits if h.groups]
        attrs: dict[str, Any] = {"count": len(rule_hits)}
        if groups:
            attrs["groups"] = groups
        signals.append(Signal(kind="regex", key=rule_id, score=1.0, spans=spans, attrs=attrs, detector=detector))
    return signals
