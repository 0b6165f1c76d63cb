"""Signed callbacks to the platform: one attempt at a time, every attempt recorded, backoff for at least 24 h.

The database row is the source of truth: a lost task loses nothing, because the sweep re-sends deliveries whose
``next_attempt_at`` has passed.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.signing import signed_headers
from moderation.store.base import utcnow
from moderation.store.models import Delivery, DeliveryAttempt, Platform


@dataclass(frozen=True)
class BackoffPolicy:
    base_s: int = 30
    cap_s: int = 3600
    max_age_s: int = 48 * 3600

    def delay(self, attempts: int) -> int:
        """Seconds before attempt ``attempts + 1``: exponential, capped (30 s, 1 min, 2 min … 1 h)."""
        return int(min(self.cap_s, self.base_s * (2 ** max(0, attempts - 1))))


def attempt(session: Session, delivery_id: str, client: httpx.Client, policy: BackoffPolicy) -> int | None:
    """Try to deliver once; return seconds until the next try, or None when finished (delivered or given up)."""
    # The delivery (locked: one attempt at a time) and its platform's secret in one query.
    row = session.execute(
        select(Delivery, Platform)
        .join(Platform, Platform.id == Delivery.platform_id)
        .where(Delivery.id == delivery_id)
        .with_for_update(of=Delivery)
    ).one_or_none()
    if row is None:
        return None
    delivery, platform = row
    if delivery.status != "pending":
        return None
    now = utcnow()
    payload = dict(delivery.payload, delivery_id=delivery.id, attempt=delivery.attempts + 1)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "vn-moderation-callback/1",
        "X-Moderation-Delivery": delivery.id,
        "X-Moderation-Event": delivery.event,
        **signed_headers(None, platform.secret, body),
    }
    started = time.perf_counter()
    status_code: int | None = None
    error: str | None = None
    try:
        response = client.post(delivery.url, content=body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    duration_ms = int((time.perf_counter() - started) * 1000)
    delivery.attempts += 1
    delivery.last_status_code = status_code
    delivery.last_error = error
    session.add(
        DeliveryAttempt(delivery_id=delivery.id, at=now, status_code=status_code, error=error, duration_ms=duration_ms)
    )
    if error is None:
        delivery.status, delivery.delivered_at = "delivered", now
        return None
    if (now - delivery.created_at).total_seconds() >= policy.max_age_s:
        delivery.status = "failed"
        return None
    wait = policy.delay(delivery.attempts)
    delivery.next_attempt_at = now + dt.timedelta(seconds=wait)
    return wait


def due_deliveries(session: Session, now: dt.datetime | None = None, limit: int = 1000) -> list[str]:
    """Pending deliveries whose next attempt is due (their task may have been lost)."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Delivery.id)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        )
    )
