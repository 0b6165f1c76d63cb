"""The Classifier: run the detectors over an item, evaluate every pack's rules, and say which law decided what.

Several categories may hold for one item. Shadow-mode results (a rule or pack in ``mode: shadow``, or a pack or
category not in force on the content's date) are evaluated and recorded but never change the verdict.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import operator
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from moderation.domain import Action, History, Item, ItemKind, PostKind, Signal, Span, Verdict
from moderation.policy.detectors import Adapter, default_adapters
from moderation.policy.matching import (
    REGEX_ITEM_BUDGET_S,
    CompiledPattern,
    FieldText,
    Matcher,
    NormalisedMatcher,
    Prefilter,
    compile_patterns,
    context_cues,
    field_texts,
    has_normaliser,
    in_quotation,
    lexicon_signals,
    normalise_cache_size,
    regex_signals,
)
from moderation.policy.pack import Category, Pack, PackSet
from moderation.policy.rules import (
    FUNCTIONS,
    CondResult,
    Facts,
    FrozenDict,
    FrozenList,
    OutcomeShape,
    Rule,
    RuleProgram,
    top_scores,
    unique_spans,
)

_c: Any
try:  # the compiled loops (moderation/_ext/_rules.pyx); without them the Python code below does the same work
    from moderation._ext import _rules as _c
except ImportError:  # pragma: no cover - depends on the build
    _c = None

log = logging.getLogger(__name__)

ENGINE_VERSION = "policy-engine/1"
EVALUATION_SCHEMA = "evaluation/1"
# The stored form (``Evaluation.to_record``): the trace lists only the rules that had input on the item; the quiet
# ones (no input for any of their conditions, so the same trace entry on every such item) are named per pack under
# ``quiet_rules`` and rebuilt from that pack version when explained (``Classifier.quiet_entry``).
RECORD_SCHEMA = "evaluation/2"
_ACTION_RANK = {Action.LABEL: 0, Action.REVIEW: 1, Action.REMOVE: 2}
_KEY_OF = operator.attrgetter("key")
_DETECTOR_OF = operator.attrgetter("detector")
_VERDICT_OF = {a: a.verdict() for a in Action}  # ``Action.verdict`` of each action, looked up
_VERDICT_RANKED = {a: (v, v.rank) for a, v in _VERDICT_OF.items()}  # and that verdict's rank


@dataclass(frozen=True, slots=True)
class CategoryResult:
    """One category that holds for an item, with the rule, citation and evidence behind it."""

    id: str
    name_vi: str
    name_en: str
    pack_id: str
    pack_version: str
    rule_id: str
    action: Action
    mode: str  # "enforce" | "shadow"
    score: float
    citation: Mapping[str, Any]
    evidence: list[Span]
    bracket: Mapping[str, Any] | None
    remedies: list[str]
    severity: int = 1
    rules: list[str] = field(default_factory=list)  # every rule that fired for this category
    context: list[str] = field(default_factory=list)  # context cues that downgraded the action
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name_vi": self.name_vi,
            "name_en": self.name_en,
            "pack_id": self.pack_id,
            "pack_version": self.pack_version,
            "rule_id": self.rule_id,
            "rules": list(self.rules),
            "action": self.action.value,
            "mode": self.mode,
            "score": round(self.score, 6),
            "severity": self.severity,
            "citation": dict(self.citation),
            "evidence": [s.to_json() for s in self.evidence],
            "bracket": dict(self.bracket) if self.bracket else None,
            "remedies": list(self.remedies),
            "context": list(self.context),
            "note": self.note,
        }


@dataclass(slots=True)
class Evaluation:
    """Everything the engine decided about one item, and why (stored on the decision as ``to_json()``)."""

    verdict: Verdict
    labels: list[str]
    categories: list[CategoryResult]
    packs: dict[str, str]
    signals: list[Signal]
    trace: list[dict[str, Any]] = field(default_factory=list)
    detectors: dict[str, str] = field(default_factory=dict)
    detector_errors: list[dict[str, str]] = field(default_factory=list)
    content_date: str = ""
    pack_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Positions in ``trace`` of the quiet rules' entries (see ``to_record``).
    quiet: frozenset[int] = frozenset()

    def to_record(self) -> dict[str, Any]:
        """The form stored with a decision: ``to_json()`` without the quiet rules' trace entries.

        A quiet rule had no input on this item (no hit of its lists, none of the signal kinds it reads), so its
        entry is the one every such item gets from that pack version and content date; storing it on every decision
        was most of the record (about 32 of 35 KB with the default packs). Those rules are listed by id under
        ``quiet_rules``, and ``explain`` rebuilds their entries from the pack when its version is loaded.
        """
        out = self.to_json()
        out["schema"] = RECORD_SCHEMA
        rules: list[dict[str, Any]] = []
        quiet_rules: dict[str, list[str]] = {}
        for i, entry in enumerate(self.trace):
            if i in self.quiet:
                quiet_rules.setdefault(entry["pack"], []).append(entry["rule"])
            else:
                rules.append(entry)
        out["rules"] = rules
        out["quiet_rules"] = quiet_rules
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": EVALUATION_SCHEMA,
            "engine": ENGINE_VERSION,
            "verdict": self.verdict.value,
            "labels": list(self.labels),
            "categories": [c.to_json() for c in self.categories],
            "packs": dict(self.packs),
            "pack_info": {k: dict(v) for k, v in self.pack_info.items()},
            "content_date": self.content_date,
            "signals": [s.to_json() for s in self.signals],
            "rules": list(self.trace),
            "detectors": dict(self.detectors),
            "detector_errors": list(self.detector_errors),
        }


def scan_record(id: str, ev: Evaluation, *, fragment: Callable[[bytes], Any] | None = None) -> dict[str, Any]:
    """Return the ``moderation scan`` output line for one item (acting categories only).

    With ``fragment`` (``orjson.Fragment``), each category's evidence is ``fragment(b)``, ``b`` the JSON orjson would
    write of its list of ``Span.to_json`` dicts (``_rules.evidence_bytes``), when the compiled encoder takes every
    span: the evidence of a long post is most of its line, and building and encoding its dicts was most of the
    cost of writing it. Otherwise (and without ``fragment``) the evidence is the dicts.
    """
    acting = [c for c in ev.categories if c.mode == "enforce"]
    evidences = [c.evidence for c in acting]
    encoded = _c.evidence_bytes(evidences) if fragment is not None and _c is not None else None
    return {
        "id": id,
        "verdict": ev.verdict.value,
        "labels": list(ev.labels),
        "categories": [
            {
                "id": c.id,
                "score": round(c.score, 6),
                "rule": c.rule_id,
                "citation": dict(c.citation),
                "evidence": evidence,
            }
            for c, evidence in zip(
                acting,
                _evidence_json(evidences) if encoded is None else [fragment(b) for b in encoded],  # type: ignore[misc]
                strict=True,
            )
        ],
    }


def _evidence_json(evidences: Sequence[Sequence[Span]]) -> list[list[dict[str, Any]]]:
    """Each category's evidence as ``Span.to_json`` dicts (compiled: ``_rules.evidence_json``)."""
    if _c is not None:
        return _c.evidence_json(evidences)  # type: ignore[no-any-return]
    return _evidence_json_py(evidences)


def _evidence_json_py(evidences: Sequence[Sequence[Span]]) -> list[list[dict[str, Any]]]:
    """Each category's evidence as ``Span.to_json`` dicts. A span that is evidence of several categories (a long
    post's offensive words are often evidence of three) is converted once; the lists hold its dict in each place."""
    made: dict[int, dict[str, Any]] = {}  # by id()
    alive = []  # each span converted, so no id is reused by another object (an iterator's temporaries)
    out = []
    for evidence in evidences:
        spans = []
        for s in evidence:
            got = made.get(id(s))
            if got is None:
                got = made[id(s)] = s.to_json()
                alive.append(s)
            spans.append(got)
        out.append(spans)
    return out


@dataclass(frozen=True, slots=True)
class _Compiled:
    matcher: Matcher | NormalisedMatcher
    patterns: list[CompiledPattern]
    cue_lists: dict[str, str]  # lexicon signal key -> cue name
    prefilter: Prefilter


def _compile(packs: PackSet) -> _Compiled:
    lists = []
    cue_lists: dict[str, str] = {}
    pats = []
    for pack in packs:
        for lx in pack.lexicons.values():
            lists.append((pack.id, lx.id, lx.match, lx.terms))
        for cue, lx_id in pack.context.cues.items():
            cue_lists[f"{pack.id}/{lx_id}"] = cue
        for pt in pack.patterns.values():
            pats.append((pack.id, pt.id, pt.pattern, pt.fold, pt.weight))
    matcher = NormalisedMatcher(lists) if has_normaliser() else Matcher(lists)
    patterns = compile_patterns(pats)
    return _Compiled(matcher, patterns, cue_lists, Prefilter(patterns))


@dataclass(slots=True)
class _RulePlan:
    """What the engine precomputes for one rule to skip work on items where the rule cannot fire.

    A condition is *quiet* on an item when its inputs are absent: a lexicon or regex condition whose list found
    nothing, or a signal function none of whose signal kinds is present. A quiet condition's result depends only
    on its arguments, so a rule whose conditions are all quiet has the same outcome (and trace) on every such
    item: it is computed once. Other items run the rule's :class:`RuleProgram`, which builds the trace and reason
    once per distinct set of condition results. Trace entries of rules that did not fire are shared by every
    evaluation with the same outcome, as frozen dicts (changing one raises; ``.copy()`` gives a plain one).
    """

    rule: Rule
    action: Action
    need_keys: frozenset[str]  # signal keys of lexicon/regex conditions
    read_kinds: frozenset[str]  # signal kinds the other conditions read
    always_live: bool  # some condition reads the item or the history, never quiet
    category: Category
    program: RuleProgram
    quiet: OutcomeShape | None = None  # the outcome when every condition is quiet, once computed


def _mode_on(pack: Pack, rule: Rule, cat: Category, pack_in_force: bool, day: dt.date) -> tuple[str, str]:
    """Return (mode, note) of ``rule`` for content of ``day`` (shadow when pack or category is not in force)."""
    mode = "shadow" if "shadow" in (pack.mode, rule.mode) else "enforce"
    note = ""
    if not pack_in_force:
        mode, note = "shadow", f"pack not in force on {day.isoformat()}"
    elif not _category_in_force(cat, day):
        mode, note = "shadow", f"category not in force on {day.isoformat()}"
    return mode, note


def _trace_entry(
    pack_id: str, rule: Rule, mode: str, note: str, shape: OutcomeShape, *, fired: bool, **rest: Any
) -> dict[str, Any]:
    """A rule's trace entry, in the stored key order; ``rest`` gives ``action``, ``conditions`` and ``context``."""
    return {
        "pack": pack_id,
        "rule": rule.id,
        "category": rule.category,
        "where": rule.where,
        "description": rule.description,
        "mode": mode,
        "fired": fired,
        "outcome": "fired" if fired else "not fired",
        "reason": shape.reason,
        "action": rest["action"],
        "score": round(shape.score, 6),
        "conditions": rest["conditions"],
        "context": rest["context"],
        "note": note,
    }


def _not_fired_entry(shape: OutcomeShape, pack_id: str, rule: Rule, mode: str, note: str) -> FrozenDict:
    """Return the trace entry of a rule that did not fire: built once per outcome shape and mode, then shared by
    every evaluation with that outcome (frozen, so no evaluation can change another's trace)."""
    got = shape.entries.get((mode, note))
    if got is None:
        got = shape.entries[(mode, note)] = FrozenDict(
            _trace_entry(
                pack_id, rule, mode, note, shape, fired=False, action=None, conditions=shape.trace, context=FrozenList()
            )
        )
    return got


@dataclass(frozen=True, slots=True)
class _PackPlan:
    """A pack's rule plans, and which rules each signal key or kind can wake (so quiet rules cost no check)."""

    rules: tuple[_RulePlan, ...]
    always: frozenset[int]  # indexes of rules that are never quiet
    by_key: Mapping[str, frozenset[int]]  # signal key -> indexes of rules with a lexicon/regex condition on it
    by_kind: Mapping[str, frozenset[int]]  # signal kind -> indexes of rules with a condition reading it
    first: Mapping[str, int]  # rule id -> index of its first rule (whose note a category result carries)
    key_set: frozenset[str] = frozenset()  # the keys of ``by_key``
    kind_set: frozenset[str] = frozenset()  # the kinds of ``by_kind``
    # Per rule: (compiled program, rule, id, category, where, description, context policy, action, its value), what the
    # compiled loop (``_rules.run_rules``) reads; empty when a program is not compiled.
    fast: tuple[tuple[Any, ...], ...] = ()
    # Per category id: (id, name_vi, name_en, pack id, pack version, citation, remedies, severity, bracket of an
    # original post, bracket of a share), what a CategoryResult takes from the pack (see ``_categories_py``).
    cats: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    # ``always``, ``by_key`` and ``by_kind`` as bit masks (bit i: rule i), which the compiled loop
    # (``_rules.pack_rules``) ORs instead of building sets; None when the pack has more than 64 rules.
    bits: tuple[int, Mapping[str, int], Mapping[str, int]] | None = None

    def live(self, facts: Facts) -> set[int]:
        """Return the indexes of the rules that are not quiet on ``facts`` (see :class:`_RulePlan`)."""
        live = set(self.always)
        by_key, by_kind = self.by_key, self.by_kind
        for key in self.key_set.intersection(facts.keys):  # an item has many keys, a pack reads few of them
            live |= by_key[key]
        for kind in self.kind_set.intersection(facts.by_kind):
            live |= by_kind[kind]
        return live


def _plan(pack: Pack) -> _PackPlan:
    plans = []
    always: set[int] = set()
    by_key: dict[str, set[int]] = {}
    by_kind: dict[str, set[int]] = {}
    for i, rule in enumerate(pack.rules):
        need: set[str] = set()
        kinds: set[str] = set()
        live = False
        for cond in (*rule.when_all, *rule.when_any, *rule.unless):
            key = cond.needs_key(pack.id)
            reads = FUNCTIONS[cond.fn].reads
            if key is not None:
                need.add(key)
            elif reads:
                kinds.update(reads)
            else:
                live = True
        action = Action(rule.action or pack.categories[rule.category].default_action)
        cat = pack.categories[rule.category]
        plans.append(_RulePlan(rule, action, frozenset(need), frozenset(kinds), live, cat, RuleProgram(rule, pack.id)))
        if live:
            always.add(i)
        for key in need:
            by_key.setdefault(key, set()).add(i)
        for kind in kinds:
            by_kind.setdefault(kind, set()).add(i)
    fast = tuple(
        (
            p.program.compiled,
            p.rule,
            p.rule.id,
            p.rule.category,
            p.rule.where,
            p.rule.description,
            p.rule.context,
            p.action,
            p.action.value,
        )
        for p in plans
    )
    return _PackPlan(
        tuple(plans),
        frozenset(always),
        {k: frozenset(v) for k, v in by_key.items() if v},
        {k: frozenset(v) for k, v in by_kind.items() if v},
        {r.id: i for i, r in reversed(list(enumerate(pack.rules)))},
        frozenset(k for k, v in by_key.items() if v),
        frozenset(k for k, v in by_kind.items() if v),
        fast if all(f[0] is not None for f in fast) else (),
        {
            cat_id: (
                cat.id,
                cat.name_vi,
                cat.name_en,
                pack.id,
                pack.version,
                cat.citation,
                cat.remedies,
                cat.severity,
                _bracket(cat, PostKind.ORIGINAL),
                _bracket(cat, PostKind.SHARE),
            )
            for cat_id, cat in pack.categories.items()
        },
        _bits(always, by_key, by_kind) if len(plans) <= 64 else None,
    )


def _bits(
    always: set[int], by_key: Mapping[str, set[int]], by_kind: Mapping[str, set[int]]
) -> tuple[int, dict[str, int], dict[str, int]]:
    """``_PackPlan.bits``: each set of rule indexes as an int with bit i set for rule i (empty sets left out)."""

    def mask(indexes: set[int]) -> int:
        return sum(1 << i for i in indexes)

    return (
        mask(always),
        {k: mask(v) for k, v in by_key.items() if v},
        {k: mask(v) for k, v in by_kind.items() if v},
    )


# A rule that fired, as the rule loop gives it: (action, rule id, score, evidence, context cues).
_Fired = tuple[Action, str, float, list[Span], list[str]]
_MISSING: Any = object()


def _fired_rank(fired: _Fired) -> tuple[int, float]:
    """The order of fired rules of one category: the strongest action, then the highest score."""
    return _ACTION_RANK[fired[0]], fired[2]


if _c is not None:  # the compiled build_categories compares these pairs itself when given this function
    _c.set_fired_rank(_fired_rank, _ACTION_RANK)


# CategoryResult(*values), its slots filled directly when the extension is built (a frozen dataclass's ``__init__``
# stores each field through ``object.__setattr__``).
_MAKE_CATEGORY: Any = (
    _c.SlotMaker(CategoryResult, [f.name for f in dataclasses.fields(CategoryResult)]) if _c is not None else None
)


def _run_rules_py(  # noqa: PLR0917 - the reference of the compiled loop, with its arguments
    order: Sequence[int],
    live: set[int],
    plans: Sequence[_RulePlan],
    modes: Sequence[tuple[str, str]],
    entries: list[Any],
    baseline: Sequence[Any],
    start: int,
    changed: list[int],
    facts: Facts,
    pack_id: str,
    cues_of: Callable[[str, list[Span]], list[str]],
    ctx: Any,
) -> dict[tuple[str, str], list[_Fired]]:
    """Run the rules of one pack whose indexes are ``order`` (those in ``live`` by their program, the others from their
    quiet outcome), put each one's trace entry in ``entries``, append to ``changed`` the trace positions (``start + i``)
    whose entry is not ``baseline[i]``, and return the fired rules by (category, mode). The reference of
    ``_rules.run_rules`` (and its path without the compiled extension)."""
    fired: dict[tuple[str, str], list[_Fired]] = {}
    for i in order:
        plan = plans[i]
        rule = plan.rule
        mode, note = modes[i]
        if i in live:
            shape, evidence = plan.program.run(facts)
        else:
            assert plan.quiet is not None
            shape, evidence = plan.quiet, []
        if not shape.fired:  # shared entry, built once per outcome shape and mode
            got = _not_fired_entry(shape, pack_id, rule, mode, note)
            entries[i] = got
            if got is not baseline[i]:
                changed.append(start + i)
            continue
        changed.append(start + i)
        action = plan.action
        conditions = shape.trace_copy()
        found = cues_of(rule.context, evidence)
        entry = _trace_entry(
            pack_id, rule, mode, note, shape, fired=True, action=action.value, conditions=conditions, context=found
        )
        entries[i] = entry
        if rule.context != "ignore" and len(found) >= ctx.clear_at:
            entry["outcome"] = "cleared by context"
            entry["action"] = None
            entry["reason"] = f"{len(found)} context cues near the evidence (clear at {ctx.clear_at})"
            continue
        if rule.context != "ignore" and len(found) >= ctx.downgrade_at and action is Action.REMOVE:
            action = Action.REVIEW
            entry["outcome"] = "fired, downgraded by context"
            entry["action"] = action.value
        fired.setdefault((rule.category, mode), []).append((action, rule.id, shape.score, evidence, found))
    return fired


def _group_signals_py(
    signals: Sequence[Signal],
) -> tuple[dict[str, list[Signal]], frozenset[str], dict[str, float], dict[str, str]]:
    """The signals by kind, the set of their keys, the best score of each kind (``Facts.by_kind``, ``keys`` and
    ``top``) and the detectors behind them by name (``Evaluation.detectors``): the reference of
    ``_rules.group_signals`` (and its path without the compiled extension)."""
    by_kind: dict[str, list[Signal]] = {}
    for s in signals:
        by_kind.setdefault(s.kind, []).append(s)
    detectors = sorted(set(filter(None, map(_DETECTOR_OF, signals))))
    return by_kind, frozenset(map(_KEY_OF, signals)), top_scores(by_kind), {d.split("/")[0]: d for d in detectors}


# Facts(*values) and Evaluation(*values) with their slots filled directly when the extension is built.
_MAKE_FACTS: Any = _c.SlotMaker(Facts, [f.name for f in dataclasses.fields(Facts)]) if _c is not None else None
_NO_HISTORY = History()  # read only (conditions read it), so one serves every item classified without a history


def _categories_py(
    fired: Mapping[tuple[str, str], list[_Fired]],
    cats: Mapping[str, tuple[Any, ...]],
    modes: Sequence[tuple[str, str]],
    first: Mapping[str, int],
    original: bool,
) -> list[CategoryResult]:
    """The categories that hold, one per (category, mode) of the fired rules (``_PackPlan.cats`` gives what comes from
    the pack): the reference of ``_rules.build_categories`` (and its path without the compiled extension)."""
    results = []
    for (cat_id, mode), outs in fired.items():
        info = cats[cat_id]
        if len(outs) == 1:  # already distinct and in order (unique_spans of its result is itself)
            best = outs[0]
            evidence = list(best[3])
        else:
            best = max(outs, key=_fired_rank)
            evidence = []
            for o in outs:
                evidence.extend(o[3])
            evidence = unique_spans(evidence)
        bracket = info[8] if original else info[9]
        results.append(
            CategoryResult(
                info[0],
                info[1],
                info[2],
                info[3],
                info[4],
                best[1],
                best[0],
                mode,
                best[2],
                info[5],
                evidence,
                dict(bracket) if bracket is not None else None,
                list(info[6]),
                info[7],
                [o[1] for o in outs],
                best[4],
                modes[first[best[1]]][1],
            )
        )
    return results


# Facts with nothing in them: quiet rules read no signal, item or history, so any facts give their outcome.
_NO_FACTS = Facts(Item(kind=ItemKind.POST, fields={}), History(), "", {})

TIME_BUDGET = "time_budget"  # ``detector_errors`` kind: a detector ran out of its per-item time budget


def _budget_error(detector: str, what: str, budget_s: float) -> dict[str, str]:
    return {
        "detector": detector,
        "error": f"ran out of its time budget ({budget_s * 1000:.0f} ms per item): {what}",
        "kind": TIME_BUDGET,
    }


def content_date(item: Item, today: dt.date | None = None) -> dt.date:
    """Return the date whose law applies: the item's publication date, else today (UTC)."""
    if item.published_at:
        try:
            return dt.datetime.fromisoformat(item.published_at.replace("Z", "+00:00")).date()
        except ValueError:
            log.warning("unparseable published_at %r; using today", item.published_at)
    return today or _utc_today()


_EPOCH = dt.date(1970, 1, 1)
_TODAY: list[Any] = [0.0, 0.0, _EPOCH]  # [from, until) in POSIX seconds, and the UTC date of that span


def _utc_today() -> dt.date:
    """``dt.datetime.now(dt.UTC).date()``, kept while the clock (``time.time``, the clock ``now`` reads) is within
    that day; within a millisecond of either end of the day, where ``now``'s rounding to microseconds could give the
    other day, it is asked again."""
    t = time.time()
    lo, hi, day = _TODAY
    if lo <= t < hi:
        return day  # type: ignore[no-any-return]
    day = dt.datetime.now(dt.UTC).date()
    start = (day - _EPOCH).days * 86400.0
    _TODAY[:] = [start + 0.001, start + 86400.0 - 0.001, day]
    return day


_MAKE_EVALUATION: Any = (
    _c.SlotMaker(Evaluation, [f.name for f in dataclasses.fields(Evaluation)]) if _c is not None else None
)


class Classifier:
    """Run detectors and every pack's rules over items; build once per pack set (compiled lists are cached)."""

    def __init__(
        self,
        packs: PackSet,
        registries: Any = None,
        adapters: Sequence[Adapter] | None = None,
        today: dt.date | None = None,
    ) -> None:
        self.packs = packs
        self.registries = registries
        self.adapters = list(default_adapters() if adapters is None else adapters)
        self.today = today
        self._compiled: _Compiled = packs.cached(f"policy.compiled:{packs.hash}", lambda: _compile(packs))
        self._plans: dict[str, _PackPlan] = packs.cached(
            f"policy.plans:{packs.hash}", lambda: {p.id: _plan(p) for p in packs}
        )
        self._modes: dict[tuple[str, dt.date], list[tuple[str, str]]] = {}
        self._baselines: dict[tuple[str, dt.date], tuple[list[Any], list[int], frozenset[int]]] = {}
        self._quiet_at: dict[tuple[str, dt.date, int], frozenset[int]] = {}
        self._pack_info: dict[dt.date, dict[str, dict[str, Any]]] = {}
        self._pack_days: dict[
            tuple[str, dt.date, int], tuple[list[tuple[str, str]], _PackPlan, list[Any], list[int], frozenset[int]]
        ] = {}
        self._rows: dict[dt.date, list[tuple[Any, ...]] | None] = {}
        self._iso: dict[dt.date, str] = {}

    def signals(self, item: Item, fields: Sequence[FieldText]) -> tuple[list[Signal], list[dict[str, str]]]:
        """Run every detector over ``item``; return the signals and any detector errors (recorded, not raised)."""
        found, errors = self._signals_many([item], [fields])
        return found[0], errors[0]

    def _signals_many(
        self, items: Sequence[Item], fields: Sequence[Sequence[FieldText]]
    ) -> tuple[list[list[Signal]], list[list[dict[str, str]]]]:
        """:meth:`signals` of each of ``items`` (``fields[i]`` those of ``items[i]``), one detector at a time over all
        of them: each item's signals and errors come out as :meth:`signals` gives them, in the same order."""
        c = self._compiled
        found = [lexicon_signals(c.matcher, f) for f in fields]
        errors: list[list[dict[str, str]]] = [[] for _ in items]
        for f, got, errs in zip(fields, found, errors, strict=True):
            timed_out: list[str] = []
            got.extend(regex_signals(c.patterns, f, c.prefilter, timed_out=timed_out))
            got.extend(context_cues(c.cue_lists, got))
            if timed_out:
                errs.append(
                    _budget_error("regex", f"no verdict from pattern {', '.join(timed_out)}", REGEX_ITEM_BUDGET_S)
                )
        for adapter in self.adapters:
            for item, got, errs in zip(items, found, errors, strict=True):
                try:
                    got.extend(adapter.run(item, self.registries))
                except TimeoutError as exc:  # a time budget ran out: recorded, and the item goes to review
                    log.warning("detector %s ran out of time", adapter.name)
                    errs.append({"detector": adapter.name, "error": str(exc), "kind": TIME_BUDGET})
                except Exception as exc:  # a broken detector must not lose the item; the error is stored with it
                    log.exception("detector %s failed", adapter.name)
                    errs.append({"detector": adapter.name, "error": f"{type(exc).__name__}: {exc}"})
        return found, errors

    def classify_many(
        self, items: Sequence[Item], histories: Sequence[History | None] | None = None
    ) -> list[Evaluation]:
        """``[classify(item, history) for item, history in zip(items, histories)]`` (no history: none for each),
        computed stage by stage (see :meth:`classify_stream`)."""
        return list(self.classify_stream(items, histories))

    def classify_stream(
        self, items: Sequence[Item], histories: Sequence[History | None] | None = None
    ) -> Iterator[Evaluation]:
        """Each item's ``classify(item, history)`` (no history: none for each), in order, computed stage by stage:
        each detector runs over a group of items before the next one does, then the rules run item by item, and the
        group's Evaluations are yielded before the next group is started (a caller that writes them out as they come
        reads their evidence while it is still in the caches).

        The Evaluations are the same; the work is not. An item's detectors, the rules and their tables are each
        too large to stay in the processor's caches while the others run, so an item classified alone finds each
        stage's code and tables evicted by the previous stage; a group runs each stage with them warm. Measured on
        ``bench_scan``'s mixed corpus: 20-30 % more items per CPU second with groups of 16-64 items. A group holds
        as many fields as the normaliser keeps results for (:data:`~moderation.text.normalise.CACHE_SIZE`, less a
        quarter), so the language detector finds the texts the lexicon stage normalised.
        """
        if histories is not None and len(histories) != len(items):
            raise ValueError("one history per item")
        group: list[int] = []
        group_fields: list[list[FieldText]] = []
        room = max(1, normalise_cache_size() * 3 // 4)
        held = 0
        for i, item in enumerate(items):
            f = field_texts(item)
            if group and held + len(f) > room:
                yield from self._classify_group(items, histories, group, group_fields)
                group, group_fields, held = [], [], 0
            group.append(i)
            group_fields.append(f)
            held += len(f)
        if group:
            yield from self._classify_group(items, histories, group, group_fields)

    def _classify_group(
        self,
        items: Sequence[Item],
        histories: Sequence[History | None] | None,
        group: list[int],
        fields: list[list[FieldText]],
    ) -> list[Evaluation]:
        found, errors = self._signals_many([items[i] for i in group], fields)
        return [
            self._evaluate(items[i], histories[i] if histories is not None else None, f, s, e)
            for i, f, s, e in zip(group, fields, found, errors, strict=True)
        ]

    def classify(self, item: Item, history: History | None = None) -> Evaluation:
        """Classify one item against every pack; return the verdict, categories, evidence and the full trace."""
        fields = field_texts(item)
        signals, errors = self.signals(item, fields)
        return self._evaluate(item, history, fields, signals, errors)

    def _evaluate(
        self,
        item: Item,
        history: History | None,
        fields: Sequence[FieldText],
        signals: list[Signal],
        errors: list[dict[str, str]],
    ) -> Evaluation:
        """The rules of every pack over ``item``'s ``signals`` (from its ``fields``): the rest of :meth:`classify`."""
        history = history or _NO_HISTORY
        fast = _c is not None and _MAKE_FACTS is not None
        by_kind: dict[str, list[Signal]]
        if fast:
            by_kind, keys, top, detectors = _c.group_signals(signals)
        else:
            by_kind, keys, top, detectors = _group_signals_py(signals)
        memo: dict[str, CondResult] = {}
        evidence: dict[tuple[int, ...], list[Span]] = {}
        cues: dict[tuple[str, int], tuple[list[Span], list[str]]] = {}
        day = content_date(item, self.today)
        texts = {f.field: f.original for f in fields}
        results: list[CategoryResult] = []
        trace: list[dict[str, Any]] = []
        quiet: set[int] = set()
        rows = self._compiled_rows(day, item, history) if fast and _MAKE_CATEGORY is not None else None
        if rows is not None:  # every pack's rules compiled: _evaluate_pack's compiled branch, for all packs in C
            results = _c.evaluate_packs(
                rows,
                item,
                history,
                by_kind,
                keys,
                top,
                memo,
                evidence,
                texts,
                trace,
                quiet,
                cues,
                _MAKE_FACTS,
                _MAKE_CATEGORY,
                _c.unique_spans,
                _fired_rank,
                in_quotation,
                item.post_kind is PostKind.ORIGINAL,
                Action.REMOVE,
                Action.REVIEW,
            )
        else:
            for pack in self.packs:
                values = (item, history, pack.id, by_kind, keys, top, memo, evidence)
                facts = _MAKE_FACTS.make(values) if fast else Facts(*values)
                results.extend(self._evaluate_pack(pack, facts, day, texts, trace=trace, quiet=quiet, cues=cues))
        verdict, labels = Verdict.ALLOW, []  # most items: nothing holds
        if results:  # the strictest verdict of the acting (enforced) results, the first of them on a tie
            best = -1
            ids = set()
            for r in results:
                if r.mode == "enforce":
                    v, rank = _VERDICT_RANKED[r.action]
                    if rank > best:
                        verdict, best = v, rank
                    ids.add(r.id)
            labels = sorted(ids)
        if verdict is Verdict.ALLOW and errors and any(e.get("kind") == TIME_BUDGET for e in errors):
            verdict = Verdict.REVIEW  # part of the item was not scanned: a person decides, it is not allowed unseen
        out = (
            verdict,
            labels,
            results,
            dict(self.packs.versions),
            signals,
            trace,
            detectors,
            errors,
            self._iso_on(day),
            {k: dict(v) for k, v in self._pack_info_on(day).items()},
            frozenset(quiet),
        )
        return _MAKE_EVALUATION.make(out) if fast and _MAKE_EVALUATION is not None else Evaluation(*out)

    def _compiled_rows(self, day: dt.date, item: Item, history: History) -> list[tuple[Any, ...]] | None:
        """Return, once per content day, what ``_rules.evaluate_packs`` reads of each pack (what
        :meth:`_evaluate_pack` starts from, :meth:`_pack_day`, and its context settings), the packs in order and each
        one's trace starting after the rules of those before it; None when some pack's rules are not compiled."""
        if day in self._rows:
            return self._rows[day]
        rows: list[tuple[Any, ...]] | None = []
        start = 0
        for pack in self.packs:
            day_got = self._pack_days.get((pack.id, day, start))
            if day_got is None:  # _baseline reads only the item and history of these facts
                day_got = self._pack_day(pack, day, start, Facts(item, history, pack.id, {}))
            modes, pack_plan, baseline, fires_quiet, quiet_at = day_got
            if not pack_plan.fast:
                rows = None
                break
            assert rows is not None
            ctx = pack.context
            rows.append(
                (
                    pack.id,
                    modes,
                    pack_plan,
                    baseline,
                    fires_quiet,
                    quiet_at,
                    start,
                    ctx.window,
                    ctx.quotation,
                    ctx.clear_at,
                    ctx.downgrade_at,
                )
            )
            start += len(pack_plan.rules)
        if len(self._rows) > 4096:  # content dates are unbounded; keep the memo small
            self._rows.clear()
        self._rows[day] = rows
        return rows

    def _iso_on(self, day: dt.date) -> str:
        """Return ``day.isoformat()`` (the evaluation's ``content_date``), computed once per day."""
        got = self._iso.get(day)
        if got is None:
            if len(self._iso) > 4096:  # content dates are unbounded; keep the memo small
                self._iso.clear()
            got = self._iso[day] = day.isoformat()
        return got

    def _pack_info_on(self, day: dt.date) -> dict[str, dict[str, Any]]:
        """Return each pack's ``pack_info`` entry for content of ``day``, computed once per day (copy before use)."""
        got = self._pack_info.get(day)
        if got is None:
            got = {
                p.id: {
                    "version_label": p.version_label,
                    "status": p.status_label,
                    "in_force": p.in_force_on(day),
                    "mode": p.mode,
                }
                for p in self.packs
            }
            if len(self._pack_info) > 4096:  # content dates are unbounded; keep the memo small
                self._pack_info.clear()
            self._pack_info[day] = got
        return got

    def expand_record(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """Return a stored evaluation (``Evaluation.to_record``) with its quiet rules' trace entries rebuilt, in rule
        order, for every pack whose stored version is the one loaded here; other packs keep ``quiet_rules``.

        The rebuilt entries are those the engine gives every item on which the rule has no input, for that pack
        version and content date, so the result equals what ``to_json()`` gave when the decision was made.
        """
        out = dict(record)
        quiet_rules: Mapping[str, Sequence[str]] = record.get("quiet_rules") or {}
        if not quiet_rules:
            return out
        try:
            day = dt.date.fromisoformat(str(record.get("content_date")))
        except ValueError:
            return out
        loaded = {p.id: p for p in self.packs}
        stored_versions: Mapping[str, str] = record.get("packs") or {}
        by_pack: dict[str, list[dict[str, Any]]] = {}
        for entry in record.get("rules") or []:
            by_pack.setdefault(str(entry.get("pack")), []).append(entry)
        left: dict[str, list[str]] = {}
        for pack_id, rule_ids in quiet_rules.items():
            pack = loaded.get(pack_id)
            if pack is None or stored_versions.get(pack_id) != pack.version:
                left[pack_id] = list(rule_ids)
                continue
            baseline = self._baseline(pack, day, _NO_FACTS)[0]
            position = {plan.rule.id: i for i, plan in enumerate(self._plans[pack_id].rules)}
            rebuilt = {rid: baseline[position[rid]] for rid in rule_ids if rid in position}
            if len(rebuilt) != len(rule_ids) or any(e is None for e in rebuilt.values()):
                left[pack_id] = list(rule_ids)  # cannot happen with the same version; keep what was stored
                continue
            merged = by_pack.get(pack_id, []) + [dict(e) for e in rebuilt.values()]
            merged.sort(key=lambda e: position.get(str(e.get("rule")), len(position)))
            by_pack[pack_id] = merged
        # The trace went pack by pack in the order of ``packs`` (the pack set's order when it was made).
        order = list(dict.fromkeys([*stored_versions, *by_pack]))
        out["rules"] = [e for pid in order for e in by_pack.get(pid, [])]
        if left:
            out["quiet_rules"] = left
        else:
            out.pop("quiet_rules", None)
            out["schema"] = EVALUATION_SCHEMA
        return out

    def _modes_on(self, pack: Pack, day: dt.date) -> list[tuple[str, str]]:
        """Return (mode, note) of each of the pack's rules for content of ``day``, computed once per pack and day."""
        key = (pack.id, day)
        got = self._modes.get(key)
        if got is None:
            in_force = pack.in_force_on(day)
            got = [_mode_on(pack, p.rule, p.category, in_force, day) for p in self._plans[pack.id].rules]
            if len(self._modes) > 4096:  # content dates are unbounded; keep the memo small
                self._modes.clear()
            self._modes[key] = got
        return got

    def _baseline(self, pack: Pack, day: dt.date, facts: Facts) -> tuple[list[Any], list[int], frozenset[int]]:
        """Return, once per pack and content day, the trace entries of the rules when quiet (``None`` for rules never
        quiet or that fire when quiet), the indexes of the rules that fire when quiet and those of the entries."""
        key = (pack.id, day)
        got = self._baselines.get(key)
        if got is None:
            modes = self._modes_on(pack, day)
            pack_plan = self._plans[pack.id]
            no_signals = Facts(facts.item, facts.history, pack.id, {}, frozenset(), {})
            entries: list[Any] = []
            fires: list[int] = []
            for i, plan in enumerate(pack_plan.rules):
                if i in pack_plan.always:
                    entries.append(None)
                    continue
                if plan.quiet is None:  # quiet conditions read no signal, item or history: any facts will do
                    plan.quiet = plan.program.run(no_signals)[0]
                if plan.quiet.fired:
                    fires.append(i)
                    entries.append(None)
                    continue
                mode, note = modes[i]
                entries.append(_not_fired_entry(plan.quiet, pack.id, plan.rule, mode, note))
            if len(self._baselines) > 4096:  # content dates are unbounded; keep the memo small
                self._baselines.clear()
            got = self._baselines[key] = (entries, fires, frozenset(i for i, e in enumerate(entries) if e is not None))
        return got

    def _pack_day(
        self, pack: Pack, day: dt.date, start: int, facts: Facts
    ) -> tuple[list[tuple[str, str]], _PackPlan, list[Any], list[int], frozenset[int]]:
        """Return (and keep) what evaluating ``pack`` on content of ``day`` starts from, its trace at ``start``: the
        rules' modes, the pack's plan, its baseline entries, the rules that fire when quiet and the trace positions
        of the baseline entries (:meth:`_modes_on`, :meth:`_baseline`, :meth:`_quiet_positions`)."""
        modes = self._modes_on(pack, day)
        baseline, fires_quiet, at = self._baseline(pack, day, facts)
        got = (modes, self._plans[pack.id], baseline, fires_quiet, self._quiet_positions(pack, day, start, at))
        if len(self._pack_days) > 4096:  # content dates are unbounded; keep the memo small
            self._pack_days.clear()
        self._pack_days[(pack.id, day, start)] = got
        return got

    def _quiet_positions(self, pack: Pack, day: dt.date, start: int, at: frozenset[int]) -> frozenset[int]:
        """Return ``at`` (a pack's baseline entry indexes) as positions in a trace whose pack starts at ``start``."""
        key = (pack.id, day, start)
        got = self._quiet_at.get(key)
        if got is None:
            if len(self._quiet_at) > 4096:
                self._quiet_at.clear()
            got = self._quiet_at[key] = frozenset(start + i for i in at)
        return got

    def _evaluate_pack(
        self,
        pack: Pack,
        facts: Facts,
        day: dt.date,
        texts: Mapping[str, str],
        *,
        trace: list[dict[str, Any]],
        quiet: set[int],
        cues: dict[tuple[str, int], tuple[list[Span], list[str]]] | None = None,
    ) -> list[CategoryResult]:
        start = len(trace)
        key = (pack.id, day, start)
        got = self._pack_days.get(key)
        if got is None:
            got = self._pack_day(pack, day, start, facts)
        modes, pack_plan, baseline, fires_quiet, quiet_at = got
        ctx = pack.context
        if _c is not None and pack_plan.fast:
            cues_of = _c.CueFinder(pack.id, facts.kind("context"), ctx.window, ctx.quotation, texts, cues, in_quotation)
            fired: dict[tuple[str, str], list[_Fired]] = _c.pack_rules(
                pack_plan,
                modes,
                baseline,
                fires_quiet,
                quiet_at,
                start,
                trace,
                quiet,
                facts,
                pack.id,
                cues_of,
                ctx.clear_at,
                ctx.downgrade_at,
                pack_plan.fast[0][0],  # its frozen classes build the entries of rules that did not fire
                Action.REMOVE,
                Action.REVIEW,
            )
        else:
            entries = baseline.copy()  # the quiet rules' shared entries, in rule order; the others are filled in below
            live = pack_plan.live(facts)
            changed: list[int] = []  # trace positions whose entry is not the baseline's (so not quiet)
            order = sorted(live.union(fires_quiet)) if fires_quiet else sorted(live)

            def cues_of(policy: str, evidence: list[Span]) -> list[str]:
                return self._cues_memo(pack, policy, evidence, facts, texts, memo=cues)

            fired = _run_rules_py(
                order, live, pack_plan.rules, modes, entries, baseline, start, changed, facts, pack.id, cues_of, ctx
            )
            quiet.update(quiet_at)
            if changed:
                quiet.difference_update(changed)
            trace.extend(entries)
        original = facts.item.post_kind is PostKind.ORIGINAL
        if _c is not None and _MAKE_CATEGORY is not None:
            out: list[CategoryResult] = _c.build_categories(
                fired, pack_plan.cats, modes, pack_plan.first, original, unique_spans, _MAKE_CATEGORY, _fired_rank
            )
            return out
        return _categories_py(fired, pack_plan.cats, modes, pack_plan.first, original)

    def _cues_memo(
        self,
        pack: Pack,
        policy: str,
        evidence: list[Span],
        facts: Facts,
        texts: Mapping[str, str],
        *,
        memo: dict[tuple[str, int], tuple[list[Span], list[str]]] | None,
    ) -> list[str]:
        """:meth:`_cues`, once per pack and evidence list of the item when ``memo`` is kept (rules that fired on the
        same signals share their evidence list); each caller gets its own list."""
        if policy == "ignore" or not evidence:
            return []
        if memo is None:
            return self._cues(pack, policy, evidence, facts, texts)
        key = (pack.id, id(evidence))
        got = memo.get(key)
        if got is None or got[0] is not evidence:
            got = memo[key] = (evidence, self._cues(pack, policy, evidence, facts, texts))
        return list(got[1])

    @staticmethod
    def _cues(pack: Pack, policy: str, evidence: Sequence[Span], facts: Facts, texts: Mapping[str, str]) -> list[str]:
        """Return the distinct context cues near the evidence ("legal: nghị định", "quotation", ...)."""
        if policy == "ignore" or not evidence:
            return []
        window = pack.context.window
        prefix = f"{pack.id}/"
        cues: set[str] = set()
        for sig in facts.kind("context"):
            if not sig.key.startswith(prefix):
                continue
            for sp in sig.spans:
                # A headline frames the whole item ("Bắt đối tượng ..."), so title cues count everywhere.
                if sp.field == "title":
                    near = True
                elif _c is not None:
                    near = _c.near_any(evidence, sp.field, sp.start - window, sp.end + window)
                else:
                    near = any(
                        ev.field == sp.field and sp.start - window <= ev.end and ev.start - window <= sp.end
                        for ev in evidence
                    )
                if near:
                    cues.add(f"{sig.attrs.get('cue')}: {sig.attrs.get('term')}")
                    break
        if pack.context.quotation and all(
            ev.field in texts and in_quotation(texts[ev.field], ev.start, ev.end, window) for ev in evidence
        ):
            cues.add("quotation")
        return sorted(cues)


def _category_in_force(cat: Category, day: dt.date) -> bool:
    if cat.effective_from and day < dt.date.fromisoformat(cat.effective_from):
        return False
    return not (cat.effective_until and day >= dt.date.fromisoformat(cat.effective_until))


def _bracket(cat: Category, post_kind: PostKind) -> dict[str, Any] | None:
    kind = "making" if post_kind is PostKind.ORIGINAL else "spreading"
    b = cat.brackets.get(kind) or cat.brackets.get("any")
    return b.to_json() if b else None
