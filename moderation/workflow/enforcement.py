"""Graduated enforcement: strikes, escalation, the limitation period and "purpose blog" detection.

``assess_case(case, history, ladder, now)`` is pure: given the strikes recorded before, it returns the outcome of
each violation, the new strikes to record and the actions to send to the platform through the signed callback
(``warn_author``, ``suspend_blog``, ``restore_blog``, ``remove_content``, ``restore_content``) as plain values.

Past the limitation period no strike is recorded and no sanction applies, but the content is still removed
(Circular 05/2004 I.5.2: remedial measures still apply).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from moderation.workflow.audit import format_at
from moderation.workflow.cases import Case, Violation
from moderation.workflow.ladder import Ladder, Rung

_OUTCOME_RANK = {"warn": 1, "suspend": 2, "suspend_indefinite": 3}
_SUSPENSIONS = frozenset({"suspend", "suspend_indefinite"})


@dataclass(frozen=True)
class Strike:
    """A recorded, sanctioned violation on an author and blog; ``reversed`` strikes (appeal upheld) do not count."""

    id: str
    author_id: str | None
    blog_id: str | None
    category_id: str
    at: dt.datetime
    outcome: str
    case_id: str
    item_id: str
    reversed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author_id": self.author_id,
            "blog_id": self.blog_id,
            "category_id": self.category_id,
            "at": format_at(self.at),
            "outcome": self.outcome,
            "case_id": self.case_id,
            "item_id": self.item_id,
            "reversed": self.reversed,
        }


@dataclass(frozen=True)
class EnforcementAction:
    """One instruction to the platform."""

    kind: str  # warn_author | suspend_blog | suspend_author | restore_blog | remove_content | restore_content
    target_type: str  # author | blog | item
    target_id: str
    reason: str
    case_id: str | None = None
    until: dt.datetime | None = None  # end of a suspension; None with indefinite
    indefinite: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target_type": self.target_type,
            "target_id": self.target_id,
            "reason": self.reason,
            "case_id": self.case_id,
            "until": None if self.until is None else format_at(self.until),
            "indefinite": self.indefinite,
        }


@dataclass(frozen=True)
class ViolationOutcome:
    """What happened to one violation of a case."""

    violation: Violation
    time_barred: bool
    rung_id: str | None
    outcome: str | None  # warn | suspend | suspend_indefinite; None when time-barred
    duration_days: int | None
    remedy: str = "remove"
    basis: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "violation": self.violation.to_json(),
            "time_barred": self.time_barred,
            "rung_id": self.rung_id,
            "outcome": self.outcome,
            "duration_days": self.duration_days,
            "remedy": self.remedy,
            "basis": self.basis,
        }


@dataclass(frozen=True)
class PurposeBlog:
    """Whether a blog looks set up to spread one kind of violating content (draft decree Art. 8, 30–50 M)."""

    flagged: bool
    blog_id: str | None
    category_id: str | None
    count: int
    window_days: int
    bracket: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "blog_id": self.blog_id,
            "category_id": self.category_id,
            "count": self.count,
            "window_days": self.window_days,
            "bracket": self.bracket,
        }


@dataclass(frozen=True)
class CaseDecision:
    """One decision for a case: each violation's outcome, the account sanction, new strikes and actions."""

    case: Case
    outcomes: tuple[ViolationOutcome, ...]
    prior_strikes: int
    aggravating: frozenset[str]
    sanction: str | None  # the most severe outcome, None when every violation is time-barred
    strikes: tuple[Strike, ...]
    actions: tuple[EnforcementAction, ...]
    purpose_blog: PurposeBlog
    decided_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "case": self.case.to_json(),
            "outcomes": [o.to_json() for o in self.outcomes],
            "prior_strikes": self.prior_strikes,
            "aggravating": sorted(self.aggravating),
            "sanction": self.sanction,
            "strikes": [s.to_json() for s in self.strikes],
            "actions": [a.to_json() for a in self.actions],
            "purpose_blog": self.purpose_blog.to_json(),
            "decided_at": format_at(self.decided_at),
        }


def is_time_barred(violation: Violation, now: dt.datetime, ladder: Ladder) -> bool:
    """Return whether the limitation period has run out for ``violation`` (counted from its publication)."""
    if violation.committed_at is None:
        return False
    return now - violation.committed_at > dt.timedelta(days=ladder.limitation_days)


def counting_strikes(
    history: Iterable[Strike], *, author_id: str | None, blog_id: str | None, now: dt.datetime, window_days: int
) -> list[Strike]:
    """Return the strikes on this author or blog within the window before ``now`` (each strike once)."""
    since = now - dt.timedelta(days=window_days)
    seen: dict[str, Strike] = {}
    for s in history:
        if s.reversed or not (since <= s.at <= now):
            continue
        if (author_id and s.author_id == author_id) or (blog_id and s.blog_id == blog_id):
            seen.setdefault(s.id, s)
    return sorted(seen.values(), key=lambda s: (s.at, s.id))


def detect_purpose_blog(
    blog_id: str | None,
    history: Iterable[Strike],
    new_violations: Sequence[Violation],
    ladder: Ladder,
    now: dt.datetime,
) -> PurposeBlog:
    """Flag a blog with at least ``min_violations`` violations (of one category, if so configured) in the window."""
    rule = ladder.purpose_blog
    bracket = rule.bracket.to_json() if rule.bracket else None
    if not blog_id:
        return PurposeBlog(False, None, None, 0, rule.window_days, bracket)
    since = now - dt.timedelta(days=rule.window_days)
    counts: dict[str, int] = {}
    for s in history:
        if s.blog_id == blog_id and not s.reversed and since <= s.at <= now:
            counts[s.category_id] = counts.get(s.category_id, 0) + 1
    for v in new_violations:
        counts[v.category_id] = counts.get(v.category_id, 0) + 1
    if rule.same_category:
        best = max(sorted(counts), key=lambda c: counts[c], default=None)
        count = counts.get(best, 0) if best else 0
    else:
        best, count = None, sum(counts.values())
    return PurposeBlog(count >= rule.min_violations, blog_id, best, count, rule.window_days, bracket)


def strike_id(case_id: str, item_id: str, category_id: str) -> str:
    raw = f"{case_id}|{item_id}|{category_id}"
    return "stk_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def assess_case(case: Case, history: Sequence[Strike], ladder: Ladder, now: dt.datetime) -> CaseDecision:
    """Decide a case: outcome per violation, strikes to record, actions to send."""
    prior = counting_strikes(
        history, author_id=case.author_id, blog_id=case.blog_id, now=now, window_days=ladder.strike_window_days
    )
    aggravating = set(case.circumstances.aggravating)
    if any(s.outcome in _SUSPENSIONS for s in prior):
        aggravating.add("repeated_after_suspension")
    mitigating = bool(case.circumstances.mitigating)
    outcomes: list[ViolationOutcome] = []
    strikes: list[Strike] = []
    worst: Rung | None = None
    for v in case.violations:
        if is_time_barred(v, now, ladder):
            outcomes.append(ViolationOutcome(v, True, None, None, None))
            continue
        rung = ladder.rung_for(
            prior_strikes=len(prior),
            minor=ladder.is_minor(v.severity),
            mitigating=mitigating,
            aggravating=bool(aggravating),
        )
        outcomes.append(ViolationOutcome(v, False, rung.id, rung.outcome, rung.duration_days, basis=dict(rung.basis)))
        strikes.append(
            Strike(
                strike_id(case.id, v.item_id, v.category_id),
                case.author_id,
                case.blog_id,
                v.category_id,
                now,
                rung.outcome,
                case.id,
                v.item_id,
            )
        )
        if worst is None or _more_severe(rung, worst):
            worst = rung
    purpose = detect_purpose_blog(
        case.blog_id, history, [o.violation for o in outcomes if not o.time_barred], ladder, now
    )
    actions = [
        EnforcementAction(
            "remove_content",
            "item",
            o.violation.item_id,
            "past limitation: removal only" if o.time_barred else f"violation {o.violation.category_id}",
            case.id,
        )
        for o in outcomes
    ]
    if worst is not None:
        actions.extend(_sanction_actions(case, worst, now))
    return CaseDecision(
        case=case,
        outcomes=tuple(outcomes),
        prior_strikes=len(prior),
        aggravating=frozenset(aggravating),
        sanction=None if worst is None else worst.outcome,
        strikes=tuple(strikes),
        actions=tuple(actions),
        purpose_blog=purpose,
        decided_at=now,
    )


def _more_severe(a: Rung, b: Rung) -> bool:
    return (_OUTCOME_RANK[a.outcome], a.duration_days or 0) > (_OUTCOME_RANK[b.outcome], b.duration_days or 0)


def _sanction_actions(case: Case, rung: Rung, now: dt.datetime) -> list[EnforcementAction]:
    reason = f"rung {rung.id}"
    if rung.outcome == "warn":
        target = case.author_id or case.blog_id
        if target is None:
            return []
        kind = "author" if case.author_id else "blog"
        return [EnforcementAction("warn_author", kind, target, reason, case.id)]
    if case.blog_id:
        target_type, target_id, kind = "blog", case.blog_id, "suspend_blog"
    elif case.author_id:
        target_type, target_id, kind = "author", case.author_id, "suspend_author"
    else:
        return []
    if rung.outcome == "suspend_indefinite":
        return [EnforcementAction(kind, target_type, target_id, reason, case.id, None, True)]
    assert rung.duration_days is not None
    until = now + dt.timedelta(days=rung.duration_days)
    return [EnforcementAction(kind, target_type, target_id, reason, case.id, until)]


def restore_actions(
    decision: CaseDecision, *, item_ids: Iterable[str] | None = None, now: dt.datetime, reason: str
) -> list[EnforcementAction]:
    """Return the actions that undo ``decision`` for ``item_ids`` (all by default) after a reversal.

    The blog is restored when the reversal leaves no sanctioned violation in the case and a suspension is running.
    """
    reversed_ids = set(item_ids) if item_ids is not None else {o.violation.item_id for o in decision.outcomes}
    actions = [
        EnforcementAction("restore_content", "item", o.violation.item_id, reason, decision.case.id)
        for o in decision.outcomes
        if o.violation.item_id in reversed_ids
    ]
    remaining = [o for o in decision.outcomes if o.violation.item_id not in reversed_ids and not o.time_barred]
    for a in decision.actions:
        running = a.indefinite or (a.until is not None and a.until > now)
        if a.kind in {"suspend_blog", "suspend_author"} and running and not remaining:
            kind = "restore_blog" if a.kind == "suspend_blog" else "restore_author"
            actions.append(EnforcementAction(kind, a.target_type, a.target_id, reason, decision.case.id))
    return actions


def reverse_strikes(strikes: Iterable[Strike], item_ids: Iterable[str]) -> list[Strike]:
    """Return the strikes for ``item_ids`` marked reversed (to store in place of the old ones)."""
    ids = set(item_ids)
    return [
        Strike(s.id, s.author_id, s.blog_id, s.category_id, s.at, s.outcome, s.case_id, s.item_id, True)
        for s in strikes
        if s.item_id in ids
    ]
