"""Notices in the store: acknowledged at once, triaged into the moderators' review queue, answered with an outcome.

An item enters the review queue as a decision with verdict ``review`` and source ``user_report`` that supersedes
the item's decision in force. When a moderator decides it (a decision superseding the review), the notice's outcome
follows: ``actioned`` when the item is removed or restricted, ``rejected`` (unfounded) otherwise. Each notifier's
founded and unfounded notices are counted, so repeated unfounded notices show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.domain import PlatformRef
from moderation.errors import ApiError, unprocessable
from moderation.services import audit
from moderation.services.workflow import (
    create_decision,
    current_decision,
    decision_by_id,
    in_force,
    ladder_for,
    resolve_target,
    supersede,
)
from moderation.store.base import utcnow
from moderation.store.models import Decision
from moderation.store.workflow import Notice, NoticeTarget, Notifier
from moderation.workflow import notices as core
from moderation.workflow.audit import format_at

ACTED = frozenset({"remove", "restrict"})


def _notifier_key(notifier: Mapping[str, Any]) -> str:
    raw = notifier.get("id") or notifier.get("contact") or notifier.get("name") or ""
    return str(raw).strip().lower()[:200]


def submit_notice(
    session: Session,
    platform: PlatformRef,
    payload: Mapping[str, Any],
    *,
    actor: str,
    now: dt.datetime | None = None,
    policies_dir: Path | None = None,
) -> Notice:
    """Record a notice (already schema-checked), put each item it names in the review queue, and return it."""
    now = now or utcnow()
    who = payload["notifier"]
    capacity = core.NotifierType(who["capacity"])
    if capacity in {core.NotifierType.RIGHTS_HOLDER, core.NotifierType.AFFECTED_PERSON} and not who.get("contact"):
        raise unprocessable("missing_field", f"a {capacity.value} must give a contact", "notifier.contact")
    if capacity is core.NotifierType.RIGHTS_HOLDER and not payload.get("work"):
        raise unprocessable("missing_field", "a rights holder must name the work concerned", "work")
    if payload.get("good_faith") is not True:
        raise unprocessable(
            "invalid_value", "the notifier must state that the notice is made in good faith", "good_faith"
        )
    ladder = ladder_for(None, policies_dir)
    key = _notifier_key(who)
    notifier = session.scalars(
        select(Notifier).where(Notifier.platform_id == platform.id, Notifier.key == key)
    ).one_or_none()
    if notifier is None:
        notifier = Notifier(platform_id=platform.id, key=key, name=who["name"], capacity=capacity.value)
        session.add(notifier)
        session.flush()
    notifier.notices += 1
    flagged = is_flagged(session, notifier, now, ladder.unfounded_window_days, ladder.unfounded_threshold)
    first_target = payload["targets"][0]
    draft = core.Notice(
        id="",
        notifier_type=capacity,
        notifier_id=notifier.id,
        target=first_target,
        category_id=payload.get("category"),
        explanation=payload["explanation"],
        submitted_at=now,
        contact=who.get("contact"),
    )
    priority = core.triage_priority(draft, flagged=[notifier.id] if flagged else [])
    notice = Notice(
        platform_id=platform.id,
        notifier_id=notifier.id,
        notifier_name=who["name"],
        notifier_contact=who.get("contact"),
        capacity=capacity.value,
        category=payload.get("category"),
        explanation=payload["explanation"],
        work=payload.get("work"),
        good_faith=True,
        priority=priority,
        status="triaged",
        received_at=now,
        due_at=now + dt.timedelta(hours=ladder.deadline("notice_hours")),
    )
    session.add(notice)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="notice.receive",
        object_type="notice",
        object_id=notice.id,
        platform_id=platform.id,
        details={
            "notifier_id": notifier.id,
            "capacity": capacity.value,
            "category": notice.category,
            "targets": list(payload["targets"]),
            "priority": priority,
            "flagged_notifier": flagged,
        },
    )
    for position, target in enumerate(payload["targets"]):
        session.add(_triage_target(session, notice, position, target))
    session.flush()
    refresh_notice(session, notice, now=now)
    return notice


def _triage_target(session: Session, notice: Notice, position: int, target: str) -> NoticeTarget:
    row = NoticeTarget(notice_id=notice.id, position=position, target=target)
    sub = resolve_target(session, notice.platform_id, target)
    if sub is None:
        row.outcome = "not_found"
        return row
    row.submission_id = sub.id
    current = current_decision(session, sub.id)
    if current is not None and current.verdict == "review":
        row.decision_id = current.id  # already waiting for a moderator: this notice joins it
        return row
    if current is not None and current.action in ACTED:
        row.decision_id, row.outcome = current.id, "actioned"
        return row
    fields: dict[str, Any] = {
        "verdict": "review",
        "action": "review",
        "labels": [],
        "categories": [{"id": notice.category, "claimed": True}] if notice.category else [],
        "pack_versions": {},
        "automated_detection": False,
        "automated_decision": "not",
        "source": "user_report",
        "dedupe_key": f"notice:{notice.id}:{position}",
        "evaluation": {
            "notice_id": notice.id,
            "source_ref": notice.id,
            "priority": notice.priority,
            "capacity": notice.capacity,
            "deadline": format_at(notice.due_at),
        },
    }
    actor = f"notice:{notice.id}"
    if current is not None:
        decision = supersede(session, current, {**fields, "reason": f"notice {notice.id}: {notice.explanation}"}, actor)
    else:
        decision = create_decision(
            session, actor, platform_id=notice.platform_id, submission_id=sub.id, reason=notice.explanation, **fields
        )
    row.decision_id = decision.id
    return row


def is_flagged(session: Session, notifier: Notifier, now: dt.datetime, window_days: int, threshold: int) -> bool:
    """Whether the notifier's recent notices were all unfounded, at least ``threshold`` of them (core rule)."""
    rows = session.execute(
        select(Notice.decided_at, Notice.outcome).where(
            Notice.notifier_id == notifier.id,
            Notice.decided_at.is_not(None),
            Notice.outcome.in_(("actioned", "rejected")),
        )
    ).all()
    history = [core.NoticeOutcome(notifier.id, at, outcome == "actioned") for at, outcome in rows if at is not None]
    flagged = core.unfounded_notifiers(history, now=now, window_days=window_days, threshold=threshold)
    return notifier.id in flagged


def refresh_notice(session: Session, notice: Notice, *, now: dt.datetime | None = None) -> bool:
    """Bring the notice's outcome up to date with the decisions now in force; return whether it changed.

    The console may call this after deciding a review that came from a notice (``notices_for_decision``).
    """
    now = now or utcnow()
    if notice.status == "decided":
        return False
    targets = list(
        session.scalars(select(NoticeTarget).where(NoticeTarget.notice_id == notice.id).order_by(NoticeTarget.position))
    )
    reasons: list[str] = []
    for t in targets:
        if t.outcome is not None or not t.decision_id:
            continue
        start = decision_by_id(session, t.decision_id)
        if start is None:
            continue
        current = in_force(session, start)
        if current.verdict == "review":
            continue
        t.outcome = "actioned" if current.action in ACTED or current.verdict == "remove" else "rejected"
        if current.reason:
            reasons.append(current.reason)
    if any(t.outcome is None for t in targets):
        session.flush()
        return False
    outcomes = {t.outcome for t in targets}
    notice.outcome = "actioned" if "actioned" in outcomes else ("rejected" if "rejected" in outcomes else "not_found")
    notice.outcome_reason = "; ".join(reasons) or _default_reason(notice.outcome)
    notice.status, notice.decided_at = "decided", now
    notifier = session.get(Notifier, notice.notifier_id)
    if notifier is not None:
        if notice.outcome == "actioned":
            notifier.founded += 1
        elif notice.outcome == "rejected":
            notifier.unfounded += 1
            notifier.last_unfounded_at = now
    session.flush()
    audit.record(
        session,
        actor="system:notices",
        action="notice.decide",
        object_type="notice",
        object_id=notice.id,
        platform_id=notice.platform_id,
        details={"outcome": notice.outcome, "reason": notice.outcome_reason},
    )
    return True


def _default_reason(outcome: str) -> str:
    return {
        "actioned": "Nội dung đã bị gỡ bỏ / the content was removed",
        "rejected": "Không có vi phạm / no violation found",
        "not_found": "Không tìm thấy nội dung / the content was not found on this platform",
    }[outcome]


def notices_for_decision(session: Session, decision: Decision) -> list[Notice]:
    """The notices waiting on ``decision`` or on any decision it superseded (to refresh after a moderator acts)."""
    ids: list[str] = []
    current: Decision | None = decision
    while current is not None and len(ids) < 100:
        ids.append(current.id)
        current = decision_by_id(session, current.supersedes_id) if current.supersedes_id else None
    notice_ids = set(session.scalars(select(NoticeTarget.notice_id).where(NoticeTarget.decision_id.in_(ids))))
    return [n for n in (session.get(Notice, i) for i in sorted(notice_ids)) if n is not None]


def notice_json(session: Session, notice: Notice, *, policies_dir: Path | None = None) -> dict[str, Any]:
    notifier = session.get(Notifier, notice.notifier_id)
    ladder = ladder_for(None, policies_dir)
    targets = session.scalars(
        select(NoticeTarget).where(NoticeTarget.notice_id == notice.id).order_by(NoticeTarget.position)
    ).all()
    return {
        "id": notice.id,
        "status": notice.status,
        "received_at": format_at(notice.received_at),
        "due_at": format_at(notice.due_at),
        "priority": notice.priority,
        "category": notice.category,
        "notifier": {
            "name": notice.notifier_name,
            "capacity": notice.capacity,
            "notices": notifier.notices if notifier else 0,
            "founded_notices": notifier.founded if notifier else 0,
            "unfounded_notices": notifier.unfounded if notifier else 0,
            "flagged": bool(
                notifier
                and is_flagged(session, notifier, utcnow(), ladder.unfounded_window_days, ladder.unfounded_threshold)
            ),
        },
        "targets": [
            {"target": t.target, "submission_id": t.submission_id, "decision_id": t.decision_id, "outcome": t.outcome}
            for t in targets
        ],
        "outcome": notice.outcome,
        "outcome_reason": notice.outcome_reason,
        "decided_at": format_at(notice.decided_at) if notice.decided_at else None,
    }


def platform_notice(session: Session, platform_id: str, notice_id: str) -> Notice:
    notice = session.get(Notice, notice_id)
    if notice is None or notice.platform_id != platform_id:
        raise ApiError(404, "not_found", "no notice with this id for this platform")
    return notice
