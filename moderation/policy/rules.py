"""The rule language: a fixed vocabulary of typed detector functions that rules combine.

A rule (Osprey-style) holds ``when_all`` / ``when_any`` / ``unless`` lists of *conditions*; each condition is a
one-key mapping naming a registered function and its arguments, e.g. ``{lexicon: {list: drugs, min_hits: 1}}``.
Functions read the signals the detectors produced for one item plus the item and the author's history; none of
them runs a detector itself, so a rule over a detector that is not installed simply sees no signals.
"""

from __future__ import annotations

import functools
import math
import operator
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from moderation.domain import History, Item, Signal, Span

_c: Any
try:  # the compiled loops (moderation/_ext/_rules.pyx); without them the Python code below does the same work
    from moderation._ext import _rules as _c
except ImportError:  # pragma: no cover - depends on the build
    _c = None

# Signal kinds the detectors emit and the rules may read (the registered vocabulary).
SIGNAL_KINDS = frozenset(
    {
        "lexicon",
        "regex",
        "offensive",
        "target",
        "accusation",
        "link",
        "impersonation",
        "personal_data",
        "work_match",
        "context",
    }
)
CONTEXT_CUES = ("legal", "news", "quotation", "discussion")
# The verdicts the link detector gives (``moderation.detect.links``); a rule naming another one could never fire.
LINK_VERDICTS = ("blocklisted", "known_unlawful", "lookalike", "shortener")


@dataclass(frozen=True, slots=True)
class Facts:
    """What one condition may look at: the item, its history and every signal found (grouped by kind)."""

    item: Item
    history: History
    pack_id: str
    by_kind: Mapping[str, Sequence[Signal]]

    keys: frozenset[str] = frozenset()  # every signal key present, for the fast skip
    top: Mapping[str, float] = field(default_factory=dict)  # the best score of each kind (see :func:`top_scores`)
    # Condition results of this item by call, shared by the packs' Facts of one classification (None: not kept).
    memo: dict[str, CondResult] | None = None
    # Evidence of this item by the signals behind it (their ids: alive while the item is classified), shared the
    # same way: rules that fire on the same signals get the same (read-only) list. None: not kept.
    evidence: dict[tuple[int, ...], list[Span]] | None = None

    def kind(self, kind: str) -> Sequence[Signal]:
        return self.by_kind.get(kind, ())


_SPAN_VALUE = operator.attrgetter("field", "start", "end", "text")
_SPAN_PLACE = operator.attrgetter("field", "start", "end")
_SCORE_OF = operator.attrgetter("score")


def _unique_spans_py(spans: Iterable[Span]) -> list[Span]:
    """The reference of :func:`unique_spans` (and its path without the compiled extension)."""
    return sorted({_SPAN_VALUE(sp): sp for sp in spans}.values(), key=_SPAN_PLACE)


def unique_spans(spans: Iterable[Span]) -> list[Span]:
    """Return the distinct spans ordered by (field, start, end): ``sorted(set(spans), key=...)`` with the keys built
    in C (a span's own ``__hash__`` is a Python call; evidence of a long post holds thousands). Compiled, spans that
    are already strictly in order (most evidence) come back as they are without building any key."""
    if _c is not None:
        out: list[Span] = _c.unique_spans(spans)
        return out
    return _unique_spans_py(spans)


def signal_spans(signals: Sequence[Signal]) -> list[Span]:
    """Return :func:`unique_spans` of every span of ``signals`` (the evidence behind them)."""
    if _c is not None:
        out: list[Span] = _c.signal_spans(signals)
        return out
    return _unique_spans_py(sp for s in signals for sp in s.spans)


def evidence_of(signals: Sequence[Signal], memo: dict[tuple[int, ...], list[Span]] | None) -> list[Span]:
    """Return :func:`signal_spans` of ``signals``, once per item and set of signals when ``memo`` is kept (the list
    is then shared: read it, do not change it)."""
    if memo is None:
        return signal_spans(signals)
    key = tuple(map(id, signals))
    got = memo.get(key)
    if got is None:
        got = memo[key] = signal_spans(signals)
    return got


def top_scores(by_kind: Mapping[str, Sequence[Signal]]) -> dict[str, float]:
    """Return the best score of each kind's signals (``Facts.top``: no hit is possible below it)."""
    return {kind: max(map(_SCORE_OF, sigs)) for kind, sigs in by_kind.items() if sigs}


@dataclass(frozen=True, slots=True)
class CondResult:
    """The outcome of one condition: whether it holds, a score in [0, 1], the signals behind it, and why."""

    matched: bool
    score: float = 0.0
    signals: tuple[Signal, ...] = ()
    detail: str = ""


@dataclass(frozen=True, slots=True)
class DetectorFunction:
    """A registered function rules may call: its name, argument schema and the signal kinds it reads."""

    name: str
    doc: str
    args_schema: Mapping[str, Any]
    reads: tuple[str, ...]
    evaluate: Callable[[Facts, Mapping[str, Any]], CondResult]
    refs: Mapping[str, str] = field(default_factory=dict)  # argument -> what it references ("lexicon"/"pattern")


if _c is not None:  # the compiled conditions (``_c.CONDITIONS``, used by ``RuleProgram``) build these results
    _c.set_result_type(CondResult)
    _c.set_facts_type(Facts)  # and read ``item`` and ``history`` from these facts' slots

FUNCTIONS: dict[str, DetectorFunction] = {}
_NO_HITS = CondResult(False, 0.0, (), "no hits")


def _register(  # noqa: PLR0917 - the registry decorator reads like a declaration
    name: str,
    doc: str,
    properties: dict[str, Any],
    reads: tuple[str, ...],
    required: Sequence[str] = (),
    refs: Mapping[str, str] | None = None,
) -> Callable[[Callable[[Facts, Mapping[str, Any]], CondResult]], Callable[[Facts, Mapping[str, Any]], CondResult]]:
    schema = {"type": "object", "additionalProperties": False, "properties": properties, "required": list(required)}

    def deco(fn: Callable[[Facts, Mapping[str, Any]], CondResult]) -> Callable[[Facts, Mapping[str, Any]], CondResult]:
        FUNCTIONS[name] = DetectorFunction(name, doc, schema, reads, fn, dict(refs or {}))
        return fn

    return deco


_SCORE = {"type": "number", "minimum": 0, "maximum": 1}
_COUNT = {"type": "integer", "minimum": 1, "maximum": 10000}
_FIELDS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}
_STRS = {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1}


def _in_fields(sig: Signal, fields: Sequence[str] | None) -> bool:
    if not fields:
        return True
    if sig.spans:
        return any(s.field in fields for s in sig.spans)
    return str(sig.attrs.get("field", "")) in fields


def _attr(sig: Signal, *names: str) -> Any:
    for name in names:
        if name in sig.attrs:
            return sig.attrs[name]
    return None


def _scored(matches: Sequence[Signal], what: str, threshold: float) -> CondResult:
    if not matches:
        return CondResult(False, 0.0, (), f"no {what} at or above {threshold:g}")
    best = max(map(_SCORE_OF, matches))
    return CondResult(True, min(1.0, best), tuple(matches), f"{len(matches)} {what} (best {best:.2f})")


@_register(
    "lexicon",
    "Hits of one of the pack's term lists (accent- and case-folded, offsets in the original text).",
    {"list": {"type": "string"}, "min_hits": _COUNT, "min_distinct": _COUNT, "fields": _FIELDS},
    ("lexicon",),
    required=("list",),
    refs={"list": "lexicon"},
)
def _lexicon(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    key = f"{facts.pack_id}/{args['list']}"
    fields = args.get("fields")
    if fields:
        hits = [s for s in facts.kind("lexicon") if s.key == key and _in_fields(s, fields)]
    else:  # every field: no call per signal
        hits = [s for s in facts.kind("lexicon") if s.key == key]
    return _count_hits(hits, args, f"hit(s) of lexicon {args['list']}")


@_register(
    "regex",
    "Matches of one of the pack's regular expressions.",
    {"pattern": {"type": "string"}, "min_hits": _COUNT, "min_distinct": _COUNT, "fields": _FIELDS},
    ("regex",),
    required=("pattern",),
    refs={"pattern": "pattern"},
)
def _regex(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    key = f"{facts.pack_id}/{args['pattern']}"
    fields = args.get("fields")
    if fields:
        hits = [s for s in facts.kind("regex") if s.key == key and _in_fields(s, fields)]
    else:  # every field: no call per signal
        hits = [s for s in facts.kind("regex") if s.key == key]
    return _count_hits(hits, args, f"match(es) of pattern {args['pattern']}")


def _count_hits(hits: Sequence[Signal], args: Mapping[str, Any], what: str) -> CondResult:
    n = sum(max(1, len(s.spans)) for s in hits)
    distinct = len({str(_attr(s, "term") or (s.spans[0].text.lower() if s.spans else s.key)) for s in hits})
    need, need_distinct = int(args.get("min_hits", 1)), int(args.get("min_distinct", 1))
    if n >= need and distinct >= need_distinct and hits:
        return CondResult(True, 1.0, tuple(hits), f"{n} {what}, {distinct} distinct")
    return CondResult(False, 0.0, (), f"{n} {what}, {distinct} distinct (need {need}/{need_distinct})")


@_register(
    "offensive",
    "The offensive-language model's score (insult, vulgarity) on any field.",
    {"min_score": _SCORE, "fields": _FIELDS},
    ("offensive",),
)
def _offensive(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    t = float(args.get("min_score", 0.5))
    fields = args.get("fields")
    if fields:
        hits = [s for s in facts.kind("offensive") if s.score >= t and _in_fields(s, fields)]
    else:  # every field: no call per signal
        hits = [s for s in facts.kind("offensive") if s.score >= t]
    return _scored(hits, "offensive signal(s)", t)


@_register(
    "target",
    "Whether the content is aimed at someone (a person, organisation or group), optionally of given kinds.",
    {"kinds": _STRS, "min_score": _SCORE},
    ("target",),
)
def _target(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    t = float(args.get("min_score", 0.5))
    kinds = args.get("kinds")
    hits = [
        s
        for s in facts.kind("target")
        if s.score >= t and (not kinds or str(_attr(s, "target_kind", "kind") or s.key) in kinds)
    ]
    return _scored(hits, "target(s)", t)


@_register(
    "accusation",
    "An accusation of wrongdoing against someone (possible slander), by the accusation detector.",
    {"min_score": _SCORE},
    ("accusation",),
)
def _accusation(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    t = float(args.get("min_score", 0.5))
    return _scored([s for s in facts.kind("accusation") if s.score >= t], "accusation(s)", t)


@_register(
    "link",
    "Links whose verdict (from feeds and link checks) is one of the given verdicts.",
    {
        "verdicts": {"type": "array", "items": {"enum": list(LINK_VERDICTS)}, "minItems": 1, "uniqueItems": True},
        "feeds": _STRS,
        "min_score": _SCORE,
    },
    ("link",),
    required=("verdicts",),
)
def _link(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    t = float(args.get("min_score", 0.0))
    verdicts, feeds = set(args["verdicts"]), args.get("feeds")
    hits = [
        s
        for s in facts.kind("link")
        if str(_attr(s, "verdict") or "") in verdicts
        and s.score >= t
        and (not feeds or str(_attr(s, "feed") or "") in feeds)
    ]
    return _scored(hits, f"link(s) with verdict in {sorted(verdicts)}", t)


@_register(
    "impersonation",
    "A name, display name or URL that resembles a protected person or organisation.",
    {"min_similarity": _SCORE, "kinds": _STRS},
    ("impersonation",),
)
def _impersonation(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    t = float(args.get("min_similarity", 0.85))
    kinds = args.get("kinds")
    hits = []
    for s in facts.kind("impersonation"):
        sim = _attr(s, "similarity")
        sim = float(sim) if isinstance(sim, int | float) else s.score
        if sim >= t and (not kinds or str(_attr(s, "entity_kind", "kind") or "") in kinds):
            hits.append(s)
    return _scored(hits, "impersonation match(es)", t)


@_register(
    "personal_data",
    "Personal data of a person found in the text (phone, national id, address, ...), by type.",
    {"types": _STRS, "min_count": _COUNT, "min_score": _SCORE},
    ("personal_data",),
)
def _personal(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    t = float(args.get("min_score", 0.0))
    types = args.get("types")
    hits = [
        s
        for s in facts.kind("personal_data")
        if s.score >= t and (not types or str(_attr(s, "type", "data_type") or s.key) in types)
    ]
    need = int(args.get("min_count", 1))
    n = sum(max(1, len(s.spans)) for s in hits)
    if hits and n >= need:
        return CondResult(True, max(map(_SCORE_OF, hits)), tuple(hits), f"{n} personal data item(s)")
    return CondResult(False, 0.0, (), f"{n} personal data item(s) (need {need})")


@_register(
    "work_match",
    "A near-duplicate of a protected work (press, literary, artistic), with the share of the work copied.",
    {"min_share": _SCORE, "min_score": _SCORE, "kinds": _STRS},
    ("work_match",),
)
def _work(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    share_t, t = float(args.get("min_share", 0.0)), float(args.get("min_score", 0.5))
    kinds = args.get("kinds")
    hits = []
    for s in facts.kind("work_match"):
        share = _attr(s, "share")
        share = float(share) if isinstance(share, int | float) else s.score
        if s.score >= t and share >= share_t and (not kinds or str(_attr(s, "work_kind", "kind") or "") in kinds):
            hits.append(s)
    return _scored(hits, "protected-work match(es)", t)


@_register(
    "context",
    "Context cues that the text discusses rather than commits an act: legal text, news report, quotation.",
    {"cues": {"type": "array", "items": {"enum": list(CONTEXT_CUES)}, "minItems": 1}, "min_count": _COUNT},
    ("context",),
)
def _context(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    cues = set(args.get("cues", CONTEXT_CUES))
    hits = [s for s in facts.kind("context") if str(_attr(s, "cue") or "") in cues]
    need = int(args.get("min_count", 1))
    n = sum(max(1, len(s.spans)) for s in hits)
    if hits and n >= need:
        return CondResult(True, 1.0, tuple(hits), f"{n} context cue(s)")
    return CondResult(False, 0.0, (), f"{n} context cue(s) (need {need})")


@_register(
    "post_kind",
    "Whether the author made the content (original) or re-posted it (share).",
    {"is": {"enum": ["original", "share"]}},
    (),
    required=("is",),
)
def _post_kind(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    ok = facts.item.post_kind.value == args["is"]
    return CondResult(ok, 1.0 if ok else 0.0, (), f"post kind is {facts.item.post_kind.value}")


@_register(
    "item_kind",
    "The kind of submission (post, comment, blog registration).",
    {"in": {"type": "array", "items": {"enum": ["post", "comment", "blog"]}, "minItems": 1}},
    (),
    required=("in",),
)
def _item_kind(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    ok = facts.item.kind.value in args["in"]
    return CondResult(ok, 1.0 if ok else 0.0, (), f"item kind is {facts.item.kind.value}")


_HISTORY_ARGS = {"min": {"type": "integer", "minimum": 0, "maximum": 100000}, "category": {"type": "string"}}


def _history(n_total: int, by_cat: Mapping[str, int], args: Mapping[str, Any], who: str) -> CondResult:
    cat = args.get("category")
    n = by_cat.get(cat, 0) if cat else n_total
    need = int(args.get("min", 1))
    what = f"{who} has {n} earlier violation(s)" + (f" of {cat}" if cat else "")
    return CondResult(n >= need, 1.0 if n >= need else 0.0, (), f"{what} (need {need})")


@_register(
    "author_violations",
    "The author's count of earlier upheld violations (optionally of one category).",
    _HISTORY_ARGS,
    (),
    required=("min",),
)
def _author(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    h = facts.history
    return _history(h.author_violations, h.author_violations_by_category, args, "author")


@_register(
    "blog_violations",
    "The blog's count of earlier upheld violations (optionally of one category).",
    _HISTORY_ARGS,
    (),
    required=("min",),
)
def _blog(facts: Facts, args: Mapping[str, Any]) -> CondResult:
    h = facts.history
    return _history(h.blog_violations, h.blog_violations_by_category, args, "blog")


@functools.cache
def _describe(fn: str, args: tuple[tuple[str, str], ...]) -> str:
    return f"{fn}(" + ", ".join(f"{k}={v.strip(chr(39))}" for k, v in args) + ")"


@dataclass(frozen=True, slots=True)
class Condition:
    """One call of a registered function, with where it was written (for explain and errors)."""

    fn: str
    args: Mapping[str, Any]
    where: str = ""

    def evaluate(self, facts: Facts) -> CondResult:
        return FUNCTIONS[self.fn].evaluate(facts, self.args)

    def describe(self) -> str:
        return _describe(self.fn, tuple(sorted((k, repr(v)) for k, v in self.args.items())))

    def needs_key(self, pack_id: str) -> str | None:
        """Return the signal key this condition cannot hold without (lexicon and regex lists), for a fast skip."""
        if self.fn == "lexicon":
            return f"{pack_id}/{self.args['list']}"
        if self.fn == "regex":
            return f"{pack_id}/{self.args['pattern']}"
        return None

    def to_json(self) -> dict[str, Any]:
        return {"fn": self.fn, "args": dict(self.args), "where": self.where}


@dataclass(frozen=True, slots=True)
class Rule:
    """A named rule: conditions over signals that yield a category and an action."""

    id: str
    category: str
    action: str | None
    mode: str | None
    when_all: tuple[Condition, ...]
    when_any: tuple[Condition, ...]
    unless: tuple[Condition, ...]
    min_any: int = 1
    context: str = "downgrade"
    description: str = ""
    where: str = ""


@dataclass(slots=True)
class RuleOutcome:
    """How a rule came out for one item, with one entry per condition (the explain trace)."""

    rule: Rule
    fired: bool
    score: float
    evidence: list[Span]
    trace: list[dict[str, Any]]
    reason: str


def evaluate_rule(rule: Rule, facts: Facts) -> RuleOutcome:
    """Evaluate every condition of ``rule`` (no short-circuit, so explain can say why each did or did not hold)."""
    trace: list[dict[str, Any]] = []
    scores: list[float] = []
    signals: list[Signal] = []

    keys = facts.keys

    def run(group: str, conds: Sequence[Condition]) -> list[CondResult]:
        out = []
        for i, cond in enumerate(conds):
            need = cond.needs_key(facts.pack_id)
            # Most rules see none of their lists in most items: skip the call, keep the trace.
            res = _NO_HITS if need is not None and need not in keys else cond.evaluate(facts)
            out.append(res)
            trace.append(
                {
                    "group": group,
                    "index": i,
                    "condition": cond.describe(),
                    "matched": res.matched,
                    "score": round(res.score, 6),
                    "detail": res.detail,
                    "where": cond.where,
                }
            )
        return out

    all_res = run("when_all", rule.when_all)
    any_res = run("when_any", rule.when_any)
    unless_res = run("unless", rule.unless)
    all_ok = all(r.matched for r in all_res)
    any_hits = [r for r in any_res if r.matched]
    any_ok = not rule.when_any or len(any_hits) >= rule.min_any
    blocked = [i for i, r in enumerate(unless_res) if r.matched]
    if all_ok and any_ok and not blocked:
        for r in all_res:
            scores.append(r.score)
            signals.extend(r.signals)
        if any_hits:
            scores.append(max(r.score for r in any_hits))
            for r in any_hits:
                signals.extend(r.signals)
        spans = sorted({sp for s in signals for sp in s.spans}, key=lambda sp: (sp.field, sp.start, sp.end))
        return RuleOutcome(rule, True, min(scores) if scores else 1.0, spans, trace, "all conditions held")
    if not all_ok:
        failed = [i for i, r in enumerate(all_res) if not r.matched]
        reason = "when_all " + ", ".join(f"[{i}] {rule.when_all[i].describe()}" for i in failed) + " did not hold"
    elif not any_ok:
        reason = f"when_any: {len(any_hits)} of {len(rule.when_any)} held, need {rule.min_any}"
    else:
        reason = "suppressed by unless " + ", ".join(f"[{i}] {rule.unless[i].describe()}" for i in blocked)
    return RuleOutcome(rule, False, 0.0, [], trace, reason)


# ------------------------------------------------------------------------------------------------------------------
# Compiled rules: the same outcome and trace as :func:`evaluate_rule`, with the per-item work cut to the conditions.

_RESULT_KEY = operator.attrgetter("matched", "score", "detail")


def _same_score(rounded: Any, score: Any) -> bool:
    """Whether a cached trace entry's ``round(score, 6)`` is exactly what ``score`` gives (same type and sign)."""
    if type(rounded) is not type(score):
        return False
    return type(score) is not float or math.copysign(1.0, rounded) == math.copysign(1.0, score)


_MEMO_MAX = 512  # outcome shapes kept per rule (details hold counts and scores, so their variety is unbounded)


def clear_keeping(memo: dict[Any, Any], key: Any) -> None:
    """Empty a rule's full outcome memo but for the shape under ``key`` (its outcome without input).

    That shape must stay the same object for the life of the program: the engine's baseline trace entry of the rule
    was built from it, and an evaluation stores a rule under ``quiet_rules`` only when its entry is that baseline
    entry. Made anew after a clear, it would be stored in full from then on: the same content in another form,
    depending on what the process had classified before.
    """
    kept = memo.get(key) if key is not None else None
    memo.clear()
    if kept is not None:
        memo[key] = kept


def _refuse(what: str) -> NoReturn:
    raise TypeError(f"this {what} is shared by every evaluation with the same outcome: change a copy")


class FrozenDict(dict[str, Any]):
    """A ``dict`` that refuses changes: a trace entry shared by the evaluations of many items (it compares, reads and
    serialises as the plain dict; ``.copy()`` and ``dict(...)`` give a plain one to change)."""

    __slots__ = ()

    def __setitem__(self, key: str, value: Any) -> NoReturn:
        _refuse("trace entry")

    def __delitem__(self, key: str) -> NoReturn:
        _refuse("trace entry")

    def __ior__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        _refuse("trace entry")

    def clear(self) -> NoReturn:
        _refuse("trace entry")

    def pop(self, *args: Any) -> NoReturn:
        _refuse("trace entry")

    def popitem(self) -> NoReturn:
        _refuse("trace entry")

    def setdefault(self, *args: Any) -> NoReturn:
        _refuse("trace entry")

    def update(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("trace entry")

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenDict, (dict(self),))


class FrozenList(list[Any]):
    """A ``list`` that refuses changes (the conditions of a shared trace entry); ``list(...)`` gives a plain one."""

    __slots__ = ()

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        _refuse("trace list")

    def __delitem__(self, index: Any) -> NoReturn:
        _refuse("trace list")

    def __iadd__(self, other: Any) -> NoReturn:  # type: ignore[misc]
        _refuse("trace list")

    def __imul__(self, n: Any) -> NoReturn:  # type: ignore[misc]
        _refuse("trace list")

    def append(self, value: Any) -> NoReturn:
        _refuse("trace list")

    def extend(self, values: Any) -> NoReturn:
        _refuse("trace list")

    def insert(self, index: Any, value: Any) -> NoReturn:
        _refuse("trace list")

    def pop(self, *args: Any) -> NoReturn:
        _refuse("trace list")

    def remove(self, value: Any) -> NoReturn:
        _refuse("trace list")

    def clear(self) -> NoReturn:
        _refuse("trace list")

    def sort(self, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse("trace list")

    def reverse(self) -> NoReturn:
        _refuse("trace list")

    def __reduce__(self) -> tuple[Any, ...]:
        return (FrozenList, (list(self),))


@dataclass(slots=True)
class OutcomeShape:
    """Everything of a rule's outcome that follows from its conditions' (matched, score, detail): whether it fired,
    the score, the reason and the trace entries (frozen: shared between items; ``trace_copy`` gives plain ones)."""

    fired: bool
    score: float
    reason: str
    trace: FrozenList
    # The engine's entries per (mode, note) of a rule that did not fire; the compiled rule loop also keeps there, by
    # (mode, note, True), the template of a fired rule's entry (a plain dict it copies).
    entries: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def trace_copy(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self.trace]


# Functions that keep only signals with ``score >= min_score`` (and the default threshold): when no signal of the
# kind reaches it, the result is the one for no signals at all.
_SCORE_FLOOR = {
    "offensive": 0.5,
    "target": 0.5,
    "accusation": 0.5,
    "link": 0.0,
    "personal_data": 0.0,
    "work_match": 0.5,
}


@dataclass(frozen=True, slots=True)
class _Step:
    group: str
    index: int
    desc: str
    where: str
    key: str | None  # the signal key a lexicon/regex condition cannot hold without
    floor_kind: str | None  # the kind whose best score must reach ``floor`` for any hit
    floor: float
    fn: Callable[[Facts, Mapping[str, Any]], CondResult]
    args: Mapping[str, Any]
    call: str  # the call itself, for ``Facts.memo`` (the pack too where the function reads it): ``_call_key``


def _call_key(fn: str, pack_id: str, args: Mapping[str, Any]) -> str:
    """A condition's call as the key of ``Facts.memo``: the function, the pack where the function reads the pack's
    lists, and the arguments. An interned string, so a memo lookup hashes nothing (a str keeps its hash) and equal
    calls of different rules are one object."""
    parts = (fn, pack_id if fn in ("lexicon", "regex") else "", *(f"{k}={v!r}" for k, v in sorted(args.items())))
    return sys.intern("\x1f".join(parts))


class RuleProgram:
    """A rule of one pack compiled once: condition descriptions built at compile time, conditions that cannot hold
    on an item (list absent, no signal reaching the score threshold) answered without a call, and the outcome's
    reason and trace built once per distinct set of condition results (most items give the same few). Evidence
    comes from the item. :meth:`evaluate` gives the same :class:`RuleOutcome` as :func:`evaluate_rule`."""

    __slots__ = (
        "_absent_key",
        "_compiled",
        "_conds",
        "_memo",
        "_no_signals",
        "_plain",
        "_steps",
        "n_all",
        "n_any",
        "pack_id",
        "rule",
    )

    def __init__(self, rule: Rule, pack_id: str) -> None:
        self.rule, self.pack_id = rule, pack_id
        steps = []
        conds = (*rule.when_all, *rule.when_any, *rule.unless)
        for group, group_conds in (("when_all", rule.when_all), ("when_any", rule.when_any), ("unless", rule.unless)):
            for i, cond in enumerate(group_conds):
                fn = FUNCTIONS[cond.fn]
                floor = _SCORE_FLOOR.get(cond.fn)
                if floor is not None:
                    floor = float(cond.args.get("min_score", floor))
                steps.append(
                    _Step(
                        group,
                        i,
                        cond.describe(),
                        cond.where,
                        cond.needs_key(pack_id),
                        fn.reads[0] if floor is not None and len(fn.reads) == 1 else None,
                        floor if floor is not None else 0.0,
                        fn.evaluate,
                        cond.args,
                        _call_key(cond.fn, pack_id, cond.args),
                    )
                )
        self._steps = tuple(steps)
        # The steps' fields as plain tuples, for the loop of :meth:`run` (no attribute lookups per step).
        self._plain = tuple((k, st.key, st.floor_kind, st.floor, st.fn, st.args, st.call) for k, st in enumerate(steps))
        self._no_signals: list[CondResult | None] = [None] * len(steps)
        self.n_all, self.n_any = len(rule.when_all), len(rule.when_any)
        self._memo: dict[tuple[tuple[bool, float, str], ...], OutcomeShape] = {}
        # The memo key when every step is absent (list not found, no signal at its floor): its shape outlives the
        # memo's clearing (see :func:`clear_keeping`).
        self._absent_key: tuple[tuple[bool, float, str], ...] | None = None
        # Each step's trace entry by its result's (matched, score, detail): shared by the shapes that hold it.
        self._conds: list[dict[tuple[bool, float, str], FrozenDict]] = [{} for _ in steps]
        # The same loop compiled (``_rules.Program``), over these same memos: either path may run on any call.
        self._compiled: Any = None
        if _c is not None:
            fns = _c.CONDITIONS
            self._compiled = _c.Program(
                self,
                tuple((*p[:4], fns.get(c.fn, p[4]), *p[5:]) for p, c in zip(self._plain, conds, strict=True)),
                tuple((st.group, st.index, st.desc, st.where) for st in steps),
                self._no_signals,
                self._memo,
                self._conds,
                self.n_all,
                self.n_any,
                rule.min_any,
                pack_id,
                rule.id,
                _MEMO_MAX,
                OutcomeShape,
                FrozenDict,
                FrozenList,
                _NO_HITS,
            )

    @property
    def compiled(self) -> Any:
        """The same program compiled (``_rules.Program``, over this one's memos); None without the extension."""
        return self._compiled

    def _results(self, facts: Facts) -> list[CondResult]:
        keys, top, memo = facts.keys, facts.top, facts.memo
        results = []
        for k, st in enumerate(self._steps):
            if st.key is not None and st.key not in keys:
                res = _NO_HITS
            elif st.floor_kind is not None and top.get(st.floor_kind, -1.0) < st.floor:
                res = self._no_signals[k] or self._none_reach(k, facts)
            elif memo is None:
                res = st.fn(facts, st.args)
            else:  # the same call in another rule of this item gives the same result
                got = memo.get(st.call)
                res = memo[st.call] = st.fn(facts, st.args) if got is None else got
            results.append(res)
        return results

    def _none_reach(self, k: int, facts: Facts) -> CondResult:
        """Return (once) step ``k``'s result on an item with no signal of its kind (those below its floor count as
        none: the function keeps only signals at or above it)."""
        st = self._steps[k]
        res = st.fn(Facts(facts.item, facts.history, facts.pack_id, {}), st.args)
        self._no_signals[k] = res
        return res

    def run(self, facts: Facts) -> tuple[OutcomeShape, list[Span]]:
        """Evaluate every condition (no short-circuit); return the outcome's shape and, when it fired, its evidence
        (shared with other rules of the item that fired on the same signals when ``facts.evidence`` is kept)."""
        if _c is not None and self._compiled is not None:
            got: tuple[OutcomeShape, list[Span]] = self._compiled.run(facts)
            return got
        return self._run_py(facts)

    def _run_py(self, facts: Facts) -> tuple[OutcomeShape, list[Span]]:
        """The reference of :meth:`run` (and its path without the compiled extension)."""
        if facts.pack_id != self.pack_id:
            raise ValueError(f"rule {self.rule.id} was compiled for pack {self.pack_id}, not {facts.pack_id}")
        # :meth:`_results`, inline (this runs for every rule with input on every item)
        keys, top, memo, no_signals = facts.keys, facts.top, facts.memo, self._no_signals
        results: list[CondResult] = []
        append = results.append
        absent = True
        for k, key, floor_kind, floor, fn, args, call in self._plain:
            if key is not None and key not in keys:
                append(_NO_HITS)
            elif floor_kind is not None and top.get(floor_kind, -1.0) < floor:
                append(no_signals[k] or self._none_reach(k, facts))
            elif memo is None:
                absent = False
                append(fn(facts, args))
            else:  # the same call in another rule of this item gives the same result
                absent = False
                got = memo.get(call)
                if got is None:
                    got = memo[call] = fn(facts, args)
                append(got)
        memo_key = tuple(map(_RESULT_KEY, results))
        if absent and self._absent_key is None:  # _NO_HITS and the no-signal results do not change once set
            self._absent_key = memo_key
        shape = self._memo.get(memo_key)
        if shape is None:
            if len(self._memo) >= _MEMO_MAX:
                clear_keeping(self._memo, self._absent_key)
            shape = self._memo[memo_key] = self._shape(results, memo_key)
        if not shape.fired:
            return shape, []
        n_all, n_any = self.n_all, self.n_any
        signals: list[Signal] = []
        for r in results[:n_all]:
            signals.extend(r.signals)
        for r in results[n_all : n_all + n_any]:
            if r.matched:
                signals.extend(r.signals)
        return shape, evidence_of(signals, facts.evidence)

    def evaluate(self, facts: Facts) -> RuleOutcome:
        """Return the same :class:`RuleOutcome` as :func:`evaluate_rule` (its trace and evidence are the caller's)."""
        shape, spans = self.run(facts)
        return RuleOutcome(self.rule, shape.fired, shape.score, list(spans), shape.trace_copy(), shape.reason)

    def _shape(
        self, results: Sequence[CondResult], keys: Sequence[tuple[bool, float, str]] | None = None
    ) -> OutcomeShape:
        rule, n_all, n_any = self.rule, self.n_all, self.n_any
        if keys is None:
            keys = [_RESULT_KEY(r) for r in results]
        entries = []
        for st, cache, key in zip(self._steps, self._conds, keys, strict=True):
            got = cache.get(key)
            if got is None or not _same_score(got["score"], key[1]):  # 1 == 1.0 == True, 0.0 == -0.0 as keys
                if len(cache) >= _MEMO_MAX:
                    cache.clear()
                matched, score, detail = key
                got = cache[key] = FrozenDict(
                    {
                        "group": st.group,
                        "index": st.index,
                        "condition": st.desc,
                        "matched": matched,
                        "score": round(score, 6),
                        "detail": detail,
                        "where": st.where,
                    }
                )
            entries.append(got)
        trace = FrozenList(entries)
        all_res, any_res, unless_res = results[:n_all], results[n_all : n_all + n_any], results[n_all + n_any :]
        all_ok = all(r.matched for r in all_res)
        any_hits = [r for r in any_res if r.matched]
        any_ok = not rule.when_any or len(any_hits) >= rule.min_any
        blocked = [i for i, r in enumerate(unless_res) if r.matched]
        if all_ok and any_ok and not blocked:
            scores = [r.score for r in all_res]
            if any_hits:
                scores.append(max(r.score for r in any_hits))
            return OutcomeShape(True, min(scores) if scores else 1.0, "all conditions held", trace)
        steps = self._steps
        if not all_ok:
            failed = [i for i, r in enumerate(all_res) if not r.matched]
            reason = "when_all " + ", ".join(f"[{i}] {steps[i].desc}" for i in failed) + " did not hold"
        elif not any_ok:
            reason = f"when_any: {len(any_hits)} of {len(rule.when_any)} held, need {rule.min_any}"
        else:
            reason = "suppressed by unless " + ", ".join(f"[{i}] {steps[n_all + n_any + i].desc}" for i in blocked)
        return OutcomeShape(False, 0.0, reason, trace)
