"""Authority requests in the store (Circular 07/2008 §5.4): each target becomes a removal decision whose source is
the request, with the request's deadline; SLA figures (due, overdue, time to act, compliance rate) for the API, the
periodic overdue check and the reports.

A target counts as acted on when the platform confirms the removal (``POST …/confirmations``) or acknowledges the
signed ``decision.remove`` callback with a 2xx, whichever is first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from statistics import median
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.domain import PlatformRef
from moderation.errors import ApiError, unprocessable
from moderation.services import audit
from moderation.services.workflow import (
    add_delivery,
    create_decision,
    current_decision,
    decision_by_id,
    ladder_for,
    resolve_target,
    supersede,
)
from moderation.store.base import utcnow
from moderation.store.models import Delivery
from moderation.store.workflow import AuthorityRequest, AuthorityTarget
from moderation.workflow import authority as core
from moderation.workflow.audit import format_at, parse_at
from moderation.workflow.decisions import Citation

# How far ahead of the server's clock a stated receipt time may be (clock skew), in seconds.
MAX_FUTURE_S = 300
_CODES = {"required": "missing_field"}


def create_request(
    session: Session,
    platform: PlatformRef,
    payload: Mapping[str, Any],
    *,
    actor: str,
    now: dt.datetime | None = None,
    policies_dir: Path | None = None,
) -> tuple[AuthorityRequest, bool, list[Delivery]]:
    """Record a request and decide each target it can resolve; return it, whether it is new, and the callbacks.

    The same issuing body and document number again returns the recorded request (a retried call acts once).
    """
    now = now or utcnow()
    regime = payload.get("regime")
    ladder = ladder_for(regime if isinstance(regime, str) else None, policies_dir, strict=regime is not None)
    data = {k: v for k, v in payload.items() if k not in {"regime", "id", "platform_id"}}
    data.setdefault("received_at", format_at(now))
    parsed, errors = core.parse_authority_request(
        data, default_deadline_hours=ladder.deadline("authority_request_hours"), request_id="pending"
    )
    if errors or parsed is None:
        first = errors[0]
        message = "; ".join(f"{e.field or 'body'}: {e.message}" for e in errors)
        raise unprocessable(_CODES.get(first.code, "invalid_value"), message, first.field or None)
    if parsed.received_at > now + dt.timedelta(seconds=MAX_FUTURE_S):
        raise unprocessable("invalid_value", "received_at is in the future", "received_at")
    existing = session.scalars(
        select(AuthorityRequest).where(
            AuthorityRequest.platform_id == platform.id,
            AuthorityRequest.issuing_body == parsed.issuing_body,
            AuthorityRequest.document_number == parsed.document_number,
        )
    ).one_or_none()
    if existing is not None:
        return existing, False, []
    row = AuthorityRequest(
        platform_id=platform.id,
        issuing_body=parsed.issuing_body,
        document_number=parsed.document_number,
        document_date=parsed.document_date,
        received_at=parsed.received_at,
        due_at=parsed.due_at,
        deadline_hours=parsed.deadline_hours,
        regime=ladder.regime,
        legal_basis=parsed.legal_basis.to_json(),
        attachments=[dict(a) for a in parsed.attachments],
    )
    session.add(row)
    session.flush()
    for position, target in enumerate(parsed.targets):
        session.add(AuthorityTarget(request_id=row.id, position=position, target=target))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="authority_request.create",
        object_type="authority_request",
        object_id=row.id,
        platform_id=platform.id,
        details={
            "issuing_body": row.issuing_body,
            "document_number": row.document_number,
            "document_date": row.document_date.isoformat(),
            "targets": list(parsed.targets),
            "due_at": format_at(row.due_at),
            "attachments": row.attachments,
        },
    )
    deliveries = resolve_pending(session, row, actor=actor, now=now)
    return row, True, deliveries


def _core_request(row: AuthorityRequest, targets: Sequence[AuthorityTarget]) -> core.AuthorityRequest:
    return core.AuthorityRequest(
        id=row.id,
        issuing_body=row.issuing_body,
        document_number=row.document_number,
        document_date=row.document_date,
        received_at=row.received_at,
        targets=tuple(t.target for t in targets),
        legal_basis=Citation.from_json(row.legal_basis),
        deadline_hours=row.deadline_hours,
        attachments=tuple(row.attachments or ()),
        platform_id=row.platform_id,
    )


def targets_of(session: Session, row: AuthorityRequest) -> list[AuthorityTarget]:
    return list(
        session.scalars(
            select(AuthorityTarget).where(AuthorityTarget.request_id == row.id).order_by(AuthorityTarget.position)
        )
    )


def resolve_pending(
    session: Session, row: AuthorityRequest, *, actor: str, now: dt.datetime | None = None
) -> list[Delivery]:
    """Decide every target not decided yet whose item the platform has sent us (it may arrive after the request)."""
    now = now or utcnow()
    targets = targets_of(session, row)
    pending = [t for t in targets if t.status == "unresolved"]
    if not pending:
        return []
    statements = core.removal_decisions(_core_request(row, targets), recorded_by=row.issuing_body, decided_at=now)
    deliveries: list[Delivery] = []
    for target in pending:
        sub = resolve_target(session, row.platform_id, target.target)
        if sub is None:
            continue
        statement = statements[target.position]
        fields: dict[str, Any] = {
            "verdict": "remove",
            "action": "remove",
            "labels": [],
            "categories": [g.to_json() for g in statement.grounds],
            "pack_versions": {},
            "automated_detection": False,
            "automated_decision": "not",
            "source": "authority_request",
            "reason": statement.reason,
            "dedupe_key": f"authority:{row.id}:{target.position}",
            "evaluation": {
                "authority_request_id": row.id,
                "source_ref": row.id,
                "deadline": format_at(row.due_at),
                "remedies": ["remove"],
                "statement": statement.to_json(),
            },
        }
        decision_actor = f"authority:{row.id}"
        current = current_decision(session, sub.id)
        if current is not None:
            decision = supersede(session, current, fields, decision_actor)
        else:
            decision = create_decision(
                session, decision_actor, platform_id=row.platform_id, submission_id=sub.id, **fields
            )
            add_delivery(session, decision, "decision.remove")
        target.submission_id, target.decision_id, target.status = sub.id, decision.id, "decided"
        delivery = session.scalars(
            select(Delivery).where(Delivery.decision_id == decision.id, Delivery.event == "decision.remove")
        ).one_or_none()
        if delivery is not None:
            deliveries.append(delivery)
        audit.record(
            session,
            actor=actor,
            action="authority_target.decide",
            object_type="authority_request",
            object_id=row.id,
            platform_id=row.platform_id,
            details={"target": target.target, "submission_id": sub.id, "decision_id": decision.id},
        )
    session.flush()
    return deliveries


def confirm(
    session: Session,
    row: AuthorityRequest,
    targets: Sequence[str],
    *,
    actor: str,
    acted_at: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Record that the platform removed ``targets`` (all decided targets when empty) at ``acted_at``."""
    now = now or utcnow()
    acted_at = acted_at or now
    if acted_at > now + dt.timedelta(seconds=MAX_FUTURE_S):
        raise unprocessable("invalid_value", "acted_at is in the future", "acted_at")
    if acted_at < row.received_at:
        raise unprocessable("invalid_value", "acted_at is before the request was received", "acted_at")
    rows = targets_of(session, row)
    by_target = {t.target: t for t in rows}
    for i, name in enumerate(targets):
        if name not in by_target:
            raise unprocessable("invalid_value", f"not a target of this request: {name!r}", f"targets[{i}]")
        if by_target[name].status == "unresolved":
            raise ApiError(409, "target_unresolved", f"no item matches {name!r} yet", f"targets[{i}]")
    chosen = [by_target[n] for n in targets] if targets else [t for t in rows if t.status == "decided"]
    for target in chosen:
        if target.acted_at is None:
            target.acted_at, target.status = acted_at, "acted"
    if all(t.status == "acted" for t in rows):
        row.status = "complete"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="authority_request.confirm",
        object_type="authority_request",
        object_id=row.id,
        platform_id=row.platform_id,
        details={"targets": [t.target for t in chosen], "acted_at": format_at(acted_at)},
    )


def _acted_times(session: Session, targets: Sequence[AuthorityTarget]) -> dict[str, dt.datetime | None]:
    decision_ids = [t.decision_id for t in targets if t.decision_id]
    delivered: dict[str, dt.datetime | None] = {}
    if decision_ids:
        for decision_id, at in session.execute(
            select(Delivery.decision_id, Delivery.delivered_at).where(
                Delivery.decision_id.in_(decision_ids),
                Delivery.event == "decision.remove",
                Delivery.delivered_at.is_not(None),
            )
        ):
            delivered[decision_id] = at
    out: dict[str, dt.datetime | None] = {}
    for t in targets:
        candidates = [x for x in (t.acted_at, delivered.get(t.decision_id or "")) if x is not None]
        out[t.target] = min(candidates) if candidates else None
    return out


def sla(session: Session, row: AuthorityRequest, now: dt.datetime | None = None) -> list[core.TargetSla]:
    now = now or utcnow()
    targets = targets_of(session, row)
    return core.sla(_core_request(row, targets), _acted_times(session, targets), now)


def request_json(session: Session, row: AuthorityRequest, now: dt.datetime | None = None) -> dict[str, Any]:
    """The request as the API shows it: per target its item, decision, due, overdue and time to act."""
    now = now or utcnow()
    targets = targets_of(session, row)
    slas = {s.target: s for s in core.sla(_core_request(row, targets), _acted_times(session, targets), now)}
    items = []
    for t in targets:
        s = slas[t.target]
        decision = decision_by_id(session, t.decision_id) if t.decision_id else None
        items.append(
            {
                "target": t.target,
                "status": "acted" if s.acted_at is not None else t.status,
                "submission_id": t.submission_id,
                "decision_id": t.decision_id,
                "in_force": decision is not None and decision.superseded_by_id is None,
                **{k: v for k, v in s.to_json().items() if k != "target"},
            }
        )
    overdue = [s.target for s in slas.values() if s.overdue and s.acted_at is None]
    rate = core.compliance_rate(slas.values(), now)
    return {
        "id": row.id,
        "issuing_body": row.issuing_body,
        "document_number": row.document_number,
        "document_date": row.document_date.isoformat(),
        "received_at": format_at(row.received_at),
        "deadline_hours": row.deadline_hours,
        "due_at": format_at(row.due_at),
        "regime": row.regime,
        "legal_basis": row.legal_basis,
        "attachments": row.attachments,
        "status": "complete" if all(i["status"] == "acted" for i in items) else ("overdue" if overdue else "open"),
        "overdue": bool(overdue),
        "overdue_targets": overdue,
        "compliance_rate": rate,
        "targets": items,
    }


def overdue_requests(session: Session, now: dt.datetime | None = None) -> list[tuple[AuthorityRequest, list[str]]]:
    """Open requests past their deadline with targets not acted on, not alerted yet (the periodic check)."""
    now = now or utcnow()
    rows = session.scalars(
        select(AuthorityRequest)
        .where(AuthorityRequest.status == "open", AuthorityRequest.due_at < now, AuthorityRequest.alerted_at.is_(None))
        .order_by(AuthorityRequest.due_at)
    ).all()
    out = []
    for row in rows:
        late = core.overdue_targets(sla(session, row, now))
        if late:
            out.append((row, late))
    return out


def mark_alerted(session: Session, row: AuthorityRequest, overdue: Sequence[str], now: dt.datetime) -> None:
    row.alerted_at = now
    audit.record(
        session,
        actor="system:authority_sla",
        action="authority_request.overdue",
        object_type="authority_request",
        object_id=row.id,
        platform_id=row.platform_id,
        details={"overdue_targets": list(overdue), "due_at": format_at(row.due_at)},
    )


def compliance_summary(
    session: Session, platform_id: str, since: dt.datetime, until: dt.datetime, now: dt.datetime | None = None
) -> dict[str, Any]:
    """Figures for reports over requests received in [since, until): targets, in time, late, open, compliance rate."""
    now = now or utcnow()
    rows = session.scalars(
        select(AuthorityRequest).where(
            AuthorityRequest.platform_id == platform_id,
            AuthorityRequest.received_at >= since,
            AuthorityRequest.received_at < until,
        )
    ).all()
    slas = [s for row in rows for s in sla(session, row, now)]
    times = [s.time_to_act_s for s in slas if s.time_to_act_s is not None]
    return {
        "requests": len(rows),
        "targets": len(slas),
        "acted_in_time": sum(1 for s in slas if s.acted_at is not None and not s.overdue),
        "acted_late": sum(1 for s in slas if s.acted_at is not None and s.overdue),
        "open_overdue": sum(1 for s in slas if s.acted_at is None and s.overdue),
        "compliance_rate": core.compliance_rate(slas, now),
        "median_time_to_act_s": median(times) if times else None,
    }


def platform_request(session: Session, platform_id: str, request_id: str) -> AuthorityRequest:
    row = session.get(AuthorityRequest, request_id)
    if row is None or row.platform_id != platform_id:
        raise ApiError(404, "not_found", "no authority request with this id for this platform")
    return row


def parse_time(value: Any, field: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_at(str(value))
    except ValueError:
        raise unprocessable("invalid_value", f"{field}: not an RFC 3339 time with a zone", field) from None
