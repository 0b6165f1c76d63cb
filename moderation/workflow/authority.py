"""Requests from a competent authority to block or remove content (Circular 07/2008 §5.4).

A request names the issuing body, its document number and date, the targets (post ids or URLs), the legal basis,
a deadline (24 hours by default, per regime in the pack's enforcement data) and the SHA-256 of each attachment.
Each target becomes a removal decision whose source is the request; the SLA figures (due, overdue, time to act)
and the compliance rate feed the reports.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from moderation.workflow.audit import format_at, parse_at
from moderation.workflow.calendar import deadline_in_hours
from moderation.workflow.decisions import (
    Actor,
    AutomatedDecision,
    Citation,
    DecisionAction,
    DecisionSource,
    Ground,
    StatementOfReasons,
)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
MAX_TARGETS = 10000


@dataclass(frozen=True)
class FieldError:
    """A problem with one field of an input: ``field`` is a JSON path (``targets[2]``)."""

    field: str
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class AuthorityRequest:
    id: str
    issuing_body: str
    document_number: str
    document_date: dt.date
    received_at: dt.datetime
    targets: tuple[str, ...]
    legal_basis: Citation
    deadline_hours: float
    attachments: tuple[Mapping[str, str], ...] = ()  # {"name", "sha256"}
    platform_id: str | None = None

    @property
    def due_at(self) -> dt.datetime:
        return deadline_in_hours(self.received_at, self.deadline_hours)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "issuing_body": self.issuing_body,
            "document_number": self.document_number,
            "document_date": self.document_date.isoformat(),
            "received_at": format_at(self.received_at),
            "targets": list(self.targets),
            "legal_basis": self.legal_basis.to_json(),
            "deadline_hours": self.deadline_hours,
            "due_at": format_at(self.due_at),
            "attachments": [dict(a) for a in self.attachments],
            "platform_id": self.platform_id,
        }


def parse_authority_request(
    data: Any, *, default_deadline_hours: float = 24, request_id: str | None = None
) -> tuple[AuthorityRequest | None, list[FieldError]]:
    """Validate an authority request; return it, or ``None`` with every field error."""
    errors: list[FieldError] = []
    if not isinstance(data, Mapping):
        return None, [FieldError("", "type", "the request must be a JSON object")]

    def text(name: str) -> str:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            errors.append(FieldError(name, "required", f"{name} is required"))
            return ""
        return value.strip()

    issuing_body = text("issuing_body")
    document_number = text("document_number")
    document_date: dt.date | None = None
    raw_date = data.get("document_date")
    if not isinstance(raw_date, str):
        errors.append(FieldError("document_date", "required", "document_date is required (YYYY-MM-DD)"))
    else:
        try:
            document_date = dt.date.fromisoformat(raw_date)
        except ValueError:
            errors.append(FieldError("document_date", "format", f"not a date (YYYY-MM-DD): {raw_date!r}"))
    received_at: dt.datetime | None = None
    raw_received = data.get("received_at")
    if not isinstance(raw_received, str):
        errors.append(FieldError("received_at", "required", "received_at is required (RFC 3339 with a zone)"))
    else:
        try:
            received_at = parse_at(raw_received)
        except ValueError:
            errors.append(FieldError("received_at", "format", f"not an RFC 3339 time with a zone: {raw_received!r}"))
    if received_at and document_date and document_date > received_at.date() + dt.timedelta(days=1):
        errors.append(FieldError("document_date", "future", "the document is dated after it was received"))
    targets_raw = data.get("targets")
    targets: list[str] = []
    if not isinstance(targets_raw, list) or not targets_raw:
        errors.append(FieldError("targets", "required", "targets must be a non-empty list of post ids or URLs"))
    elif len(targets_raw) > MAX_TARGETS:
        errors.append(FieldError("targets", "too_many", f"at most {MAX_TARGETS} targets per request"))
    else:
        for i, t in enumerate(targets_raw):
            if not isinstance(t, str) or not t.strip() or any(c.isspace() for c in t.strip()):
                errors.append(FieldError(f"targets[{i}]", "format", "a target is a post id or a URL without spaces"))
            elif "://" in t and not _URL.match(t):
                errors.append(FieldError(f"targets[{i}]", "format", f"not an http(s) URL: {t!r}"))
            elif t.strip() in targets:
                errors.append(FieldError(f"targets[{i}]", "duplicate", f"target listed twice: {t!r}"))
            else:
                targets.append(t.strip())
    basis_raw = data.get("legal_basis")
    if not isinstance(basis_raw, Mapping) or not str(basis_raw.get("instrument") or "").strip():
        errors.append(FieldError("legal_basis.instrument", "required", "the legal basis must name an instrument"))
        basis = Citation("")
    else:
        basis = Citation.from_json(basis_raw)
    hours = data.get("deadline_hours", default_deadline_hours)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 24 * 90:
        errors.append(FieldError("deadline_hours", "range", "deadline_hours must be a number of hours in (0, 2160]"))
        hours = default_deadline_hours
    attachments: list[dict[str, str]] = []
    for i, a in enumerate(data.get("attachments") or ()):
        if not isinstance(a, Mapping) or not isinstance(a.get("sha256"), str) or not _SHA256.match(a["sha256"]):
            errors.append(FieldError(f"attachments[{i}].sha256", "format", "64 lower-case hex digits expected"))
            continue
        attachments.append({"name": str(a.get("name") or ""), "sha256": a["sha256"]})
    if errors:
        return None, errors
    assert document_date is not None
    assert received_at is not None
    rid = request_id or str(data.get("id") or f"auth_{document_number}")
    return (
        AuthorityRequest(
            id=rid,
            issuing_body=issuing_body,
            document_number=document_number,
            document_date=document_date,
            received_at=received_at,
            targets=tuple(targets),
            legal_basis=basis,
            deadline_hours=float(hours),
            attachments=tuple(attachments),
            platform_id=None if data.get("platform_id") is None else str(data["platform_id"]),
        ),
        [],
    )


def removal_decisions(
    request: AuthorityRequest, *, recorded_by: str, decided_at: dt.datetime
) -> list[StatementOfReasons]:
    """Turn each target into a removal decision whose source is the request and whose deadline is the request's."""
    ground = Ground(
        category_id="authority_request",
        name_vi="Yêu cầu của cơ quan có thẩm quyền",
        name_en="Request from a competent authority",
        citation=request.legal_basis,
    )
    out = []
    for target in request.targets:
        is_url = "://" in target
        out.append(
            StatementOfReasons(
                subject={
                    "platform_id": request.platform_id,
                    "item_id": None if is_url else target,
                    "url": target if is_url else None,
                },
                action=DecisionAction.REMOVE,
                scope="item",
                grounds=(ground,),
                automated_detection=False,
                automated_decision=AutomatedDecision.NOT,
                actor=Actor("authority", recorded_by),
                source=DecisionSource.AUTHORITY_REQUEST,
                source_ref=request.id,
                decided_at=decided_at,
                effective_at=decided_at,
                remedies=("remove",),
                reason=f"{request.issuing_body}, văn bản số {request.document_number} "
                f"ngày {request.document_date.strftime('%d/%m/%Y')}",
                deadline=request.due_at,
                information={"attachments": [dict(a) for a in request.attachments]},
            )
        )
    return out


@dataclass(frozen=True)
class TargetSla:
    target: str
    due_at: dt.datetime
    acted_at: dt.datetime | None
    overdue: bool  # not acted on by the deadline (acted late, or still open past it)
    time_to_act_s: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "due_at": format_at(self.due_at),
            "acted_at": None if self.acted_at is None else format_at(self.acted_at),
            "overdue": self.overdue,
            "time_to_act_s": self.time_to_act_s,
        }


def sla(request: AuthorityRequest, acted: Mapping[str, dt.datetime | None], now: dt.datetime) -> list[TargetSla]:
    """Return the SLA of each target: ``acted`` maps a target to when it was removed (absent or None: not yet)."""
    due = request.due_at
    out = []
    for target in request.targets:
        at = acted.get(target)
        overdue = (at > due) if at is not None else now > due
        tta = None if at is None else (at - request.received_at).total_seconds()
        out.append(TargetSla(target, due, at, overdue, tta))
    return out


def compliance_rate(slas: Iterable[TargetSla], now: dt.datetime) -> float | None:
    """Return the share of targets acted on in time, among those acted on or past due (None when none count yet)."""
    counted = [s for s in slas if s.acted_at is not None or now > s.due_at]
    if not counted:
        return None
    return sum(1 for s in counted if not s.overdue) / len(counted)


def overdue_targets(slas: Sequence[TargetSla]) -> list[str]:
    return [s.target for s in slas if s.overdue and s.acted_at is None]
