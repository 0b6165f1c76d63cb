"""Workflow tasks: thin adapters around the workflow services (periodic authority-request SLA check, the end of
suspensions)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from flask import current_app
from prometheus_client import Counter

from moderation.services import authority, enforcement
from moderation.store.base import utcnow
from moderation.web.runtime import Runtime

log = logging.getLogger(__name__)

AUTHORITY_OVERDUE = Counter(
    "moderation_authority_requests_overdue_total",
    "Authority requests found past their deadline with targets not acted on",
    ["platform_id"],
)


def _alert(message: str, extra: dict[str, Any]) -> None:
    """Send the alert to Sentry when it is set up (a no-op otherwise)."""
    try:
        import sentry_sdk
    except ImportError:  # pragma: no cover - sentry-sdk is a dependency
        return
    with sentry_sdk.new_scope() as scope:
        for key, value in extra.items():
            scope.set_extra(key, value)
        scope.set_tag("alert", "authority_request_overdue")
        sentry_sdk.capture_message(message, level="error")


def run_authority_sla(rt: Runtime, now: dt.datetime | None = None) -> list[str]:
    """Decide targets whose items arrived late, then alert once per overdue request; return the alerted ids."""
    now = now or utcnow()
    alerted: list[str] = []
    with rt.sessions() as session:
        from sqlalchemy import select

        from moderation.store.workflow import AuthorityRequest

        for row in session.scalars(select(AuthorityRequest).where(AuthorityRequest.status == "open")).all():
            # Callbacks created here are enqueued by the commit (runtime session hook).
            authority.resolve_pending(session, row, actor="system:authority_sla", now=now)
        for row, overdue in authority.overdue_requests(session, now):
            extra = {
                "request_id": row.id,
                "platform_id": row.platform_id,
                "issuing_body": row.issuing_body,
                "document_number": row.document_number,
                "due_at": row.due_at.isoformat(),
                "overdue_targets": len(overdue),
            }
            log.error("authority request overdue", extra=extra)
            AUTHORITY_OVERDUE.labels(row.platform_id).inc()
            _alert(f"Authority request {row.document_number} ({row.issuing_body}) is overdue", extra)
            authority.mark_alerted(session, row, overdue, now)
            alerted.append(row.id)
        session.commit()
    return alerted


@shared_task(name="moderation.authority_sla", acks_late=True, ignore_result=True)
def authority_sla() -> list[str]:
    rt: Runtime = current_app.extensions["moderation"]
    return run_authority_sla(rt)


def run_sanction_expiry(rt: Runtime, now: dt.datetime | None = None) -> list[str]:
    """Restore the blogs whose suspension has run out and commit; return the callbacks' delivery ids.

    The signed ``enforcement.restore_blog`` callbacks are enqueued by the commit (runtime session hook), as every
    delivery is; the sweep re-sends any whose enqueue was lost.
    """
    with rt.sessions() as session:
        deliveries = enforcement.expire_suspensions(session, now=now or utcnow())
        ids = [d.id for d in deliveries]
        session.commit()
    if ids:
        log.info("suspensions expired", extra={"callbacks": len(ids)})
    return ids


@shared_task(name="moderation.sanction_expiry", acks_late=True, ignore_result=True)
def sanction_expiry() -> list[str]:
    rt: Runtime = current_app.extensions["moderation"]
    return run_sanction_expiry(rt)
