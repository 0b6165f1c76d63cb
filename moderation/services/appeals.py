"""Appeals in the store: the author contests a decision through the platform; the decision stays in force while the
appeal is pending; a moderator other than the one who decided (any moderator for automated decisions) upholds or
reverses it with a written reason. A reversal supersedes the decision, sends ``decision.restore`` and undoes the
enforcement that rested on it (``enforcement.restore_blog``).

Deadlines are counted in Vietnamese working days (10, or 30 for complex cases) from the pack's enforcement data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.domain import PlatformRef
from moderation.errors import ApiError, unprocessable
from moderation.services import audit
from moderation.services.enforcement import reverse_enforcement
from moderation.services.workflow import (
    calendar_for,
    decision_by_id,
    in_force,
    ladder_for,
    moderator_key,
    platform_decision,
    statement_for,
    supersede,
)
from moderation.store.base import utcnow
from moderation.store.models import Decision, Delivery, Submission
from moderation.store.workflow import Appeal, Case
from moderation.workflow import appeals as core
from moderation.workflow.audit import format_at

# Decisions that act on an item or account, and so can be contested.
APPEALABLE = frozenset({"remove", "restrict", "label", "warn", "suspend", "suspend_indefinite"})


@dataclass
class AppealDecided:
    """The decided appeal and the callbacks to enqueue after commit."""

    appeal: Appeal
    deliveries: list[Delivery] = field(default_factory=list)


def _regime(decision: Decision) -> str | None:
    evaluation = decision.evaluation or {}
    if isinstance(evaluation.get("regime"), str):
        return str(evaluation["regime"])
    for cat in decision.categories or []:
        if isinstance(cat, Mapping) and cat.get("pack_id"):
            return str(cat["pack_id"])
    return None


def _author_of(session: Session, decision: Decision) -> str | None:
    if decision.submission_id:
        sub = session.get(Submission, decision.submission_id)
        return sub.author_id if sub is not None else None
    case = session.scalars(select(Case).where(Case.decision_id == decision.id)).first()
    return case.author_id if case is not None else None


def file_appeal(
    session: Session,
    platform: PlatformRef,
    payload: Mapping[str, Any],
    *,
    actor: str,
    now: dt.datetime | None = None,
    policies_dir: Path | None = None,
) -> Appeal:
    """Record an appeal (already schema-checked) against one of the platform's decisions in force."""
    now = now or utcnow()
    decision = platform_decision(session, platform.id, payload["decision_id"])
    if decision.superseded_by_id:
        raise ApiError(
            409,
            "decision_superseded",
            f"decision {decision.id} was superseded by {decision.superseded_by_id}; appeal that one",
            "decision_id",
        )
    if decision.action not in APPEALABLE:
        raise unprocessable("not_appealable", f"a decision with action {decision.action!r} does not act", "decision_id")
    author = _author_of(session, decision)
    if author is not None and payload["appellant_id"] != author:
        raise ApiError(403, "not_the_author", "only the author concerned can appeal this decision", "appellant_id")
    pending = session.scalar(
        select(Appeal.id).where(Appeal.decision_id == decision.id, Appeal.status == "pending").limit(1)
    )
    if pending is not None:
        raise ApiError(409, "appeal_pending", f"appeal {pending} against this decision is pending", "decision_id")
    ladder = ladder_for(_regime(decision), policies_dir)
    is_complex = bool(payload.get("complex", False))
    draft = core.Appeal("", decision.id, payload["appellant_id"], now, payload["grounds"], is_complex)
    due = core.appeal_deadline(
        draft,
        working_days=int(ladder.deadline("appeal_working_days")),
        complex_working_days=int(ladder.deadline("appeal_complex_working_days")),
        calendar=calendar_for(ladder),
    )
    appeal = Appeal(
        platform_id=platform.id,
        decision_id=decision.id,
        appellant_id=payload["appellant_id"],
        grounds=payload["grounds"],
        complex=is_complex,
        filed_at=now,
        due_at=due,
    )
    session.add(appeal)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="appeal.file",
        object_type="appeal",
        object_id=appeal.id,
        platform_id=platform.id,
        details={"decision_id": decision.id, "appellant_id": appeal.appellant_id, "due_at": format_at(due)},
    )
    return appeal


def decide_appeal(
    session: Session,
    appeal_id: str,
    moderator_id: str,
    outcome: str,
    reason: str,
    *,
    now: dt.datetime | None = None,
) -> AppealDecided:
    """Uphold or reverse an appeal (the console calls this); return it with the callbacks to enqueue after commit.

    Raises :class:`ApiError` for a decided appeal (409), the original moderator (403), or a missing reason (422).
    """
    now = now or utcnow()
    appeal = session.get(Appeal, appeal_id)
    if appeal is None:
        raise ApiError(404, "not_found", "no appeal with this id")
    if appeal.status != "pending":
        raise ApiError(409, "appeal_decided", f"the appeal was already decided ({appeal.status})")
    try:
        outcome_value = core.AppealOutcome(outcome)
    except ValueError:
        raise unprocessable("invalid_value", "outcome must be upheld or reversed", "outcome") from None
    decision = decision_by_id(session, appeal.decision_id)
    if decision is None:
        raise ApiError(404, "not_found", "the appealed decision is missing")
    if decision.superseded_by_id and outcome_value is core.AppealOutcome.REVERSED:
        raise ApiError(409, "decision_superseded", "the decision was corrected meanwhile; decide on the new one")
    sub = session.get(Submission, decision.submission_id) if decision.submission_id else None
    statement = statement_for(decision, sub)
    moderator = moderator_key(moderator_id)
    try:
        resolution = core.decide_appeal(
            core.Appeal(appeal.id, statement.id, appeal.appellant_id, appeal.filed_at, appeal.grounds, appeal.complex),
            statement,
            moderator_id=moderator,
            outcome=outcome_value,
            reason=reason,
            decided_at=max(now, appeal.filed_at),
            deadline=appeal.due_at,
        )
    except core.AppealError as exc:
        status, code = (403, "same_moderator") if exc.field == "moderator_id" else (422, "invalid_value")
        if exc.field == "reason":
            code = "missing_field"
        raise ApiError(status, code, str(exc), exc.field) from None
    actor = f"moderator:{moderator}"
    deliveries: list[Delivery] = []
    if resolution.outcome is core.AppealOutcome.REVERSED:
        is_case = decision.source == "enforcement"
        fields: dict[str, Any] = {
            "verdict": decision.verdict if is_case else "allow",
            "action": "no_action" if is_case else "restore",
            "labels": [],
            "source": "appeal",
            "reason": reason,
            "evaluation": {
                "appeal_id": appeal.id,
                "source_ref": appeal.id,
                "statement": resolution.superseding.to_json() if resolution.superseding else None,
            },
        }
        new = supersede(session, decision, fields, actor)
        appeal.superseding_decision_id = new.id
        deliveries += list(
            session.scalars(select(Delivery).where(Delivery.decision_id == new.id, Delivery.status == "pending"))
        )
        deliveries += reverse_enforcement(session, decision, superseding=new, actor=actor, reason=reason, now=now)
    appeal.status = resolution.outcome.value
    appeal.moderator_id, appeal.reason = moderator, reason
    appeal.decided_at, appeal.late = now, resolution.late
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="appeal.decide",
        object_type="appeal",
        object_id=appeal.id,
        platform_id=appeal.platform_id,
        details={
            "decision_id": decision.id,
            "outcome": appeal.status,
            "reason": reason,
            "late": resolution.late,
            "superseding_decision_id": appeal.superseding_decision_id,
        },
    )
    unique = {d.id: d for d in deliveries}
    return AppealDecided(appeal, list(unique.values()))


def appeal_json(session: Session, appeal: Appeal, now: dt.datetime | None = None) -> dict[str, Any]:
    """The appeal as the author and platform see it: status, deadline, outcome and reason, the decision in force."""
    now = now or utcnow()
    decision = decision_by_id(session, appeal.decision_id)
    current = in_force(session, decision) if decision is not None else None
    return {
        "id": appeal.id,
        "decision_id": appeal.decision_id,
        "appellant_id": appeal.appellant_id,
        "grounds": appeal.grounds,
        "complex": appeal.complex,
        "status": appeal.status,
        "filed_at": format_at(appeal.filed_at),
        "due_at": format_at(appeal.due_at),
        "overdue": appeal.status == "pending" and now > appeal.due_at,
        "outcome": None if appeal.status == "pending" else appeal.status,
        "reason": appeal.reason,
        "decided_at": format_at(appeal.decided_at) if appeal.decided_at else None,
        "late": appeal.late,
        "decision_in_force": current.id if current is not None else None,
        "decision_in_force_action": current.action if current is not None else None,
        "superseding_decision_id": appeal.superseding_decision_id,
    }


def platform_appeal(session: Session, platform_id: str, appeal_id: str) -> Appeal:
    appeal = session.get(Appeal, appeal_id)
    if appeal is None or appeal.platform_id != platform_id:
        raise ApiError(404, "not_found", "no appeal with this id for this platform")
    return appeal
