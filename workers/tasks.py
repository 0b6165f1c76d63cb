"""Celery tasks: thin adapters that load ids, call the services and commit. Work is enqueued after commit."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from typing import Any

import httpx
from celery import shared_task
from flask import current_app
from sqlalchemy.exc import OperationalError

from moderation.services import classification, delivery
from moderation.store.base import utcnow
from moderation.store.models import Submission
from moderation.web.runtime import Runtime

log = logging.getLogger(__name__)
MAX_CLASSIFY_RETRIES = 5


def _runtime() -> Runtime:
    rt: Runtime = current_app.extensions["moderation"]
    return rt


def run_classify(rt: Runtime, submission_id: str) -> str | None:
    """Classify one submission and commit; enqueue its callback after the commit. Return the decision id."""
    with rt.sessions() as session:
        decision = classification.classify_submission(session, submission_id, rt.classifiers.get())
        session.commit()
    return decision.id if decision else None


def mark_failed(rt: Runtime, submission_id: str, error: str) -> None:
    with rt.sessions() as session:
        sub = session.get(Submission, submission_id)
        if sub is not None and sub.status != "decided":
            sub.status, sub.error, sub.updated_at = "failed", error[:2000], utcnow()
        session.commit()


@shared_task(
    name="moderation.classify", bind=True, acks_late=True, ignore_result=True, max_retries=MAX_CLASSIFY_RETRIES
)
def classify(self: Any, submission_id: str) -> str | None:
    rt = _runtime()
    try:
        return run_classify(rt, submission_id)
    except OperationalError as exc:
        # The database is away: wait and retry, however long it takes (the sweep is the backstop).
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries), max_retries=None) from exc
    except Exception as exc:
        if self.request.retries >= MAX_CLASSIFY_RETRIES:
            log.exception("classification failed for good", extra={"submission_id": submission_id})
            mark_failed(rt, submission_id, f"{type(exc).__name__}: {exc}")
            return None
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc


_clients: dict[tuple[int, float], httpx.Client] = {}
_clients_lock = threading.Lock()


def callback_client(timeout_s: float) -> httpx.Client:
    """One HTTP client per process (and timeout), reused by every delivery.

    Building an ``httpx.Client`` loads a TLS context (tens of milliseconds of CPU): once per callback it cost more
    than the callback itself. Keyed by pid, so a forked pool process never shares its parent's connections.
    """
    key = (os.getpid(), timeout_s)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = httpx.Client(timeout=timeout_s, follow_redirects=False)
        return client


def run_deliver(rt: Runtime, delivery_id: str, client: httpx.Client | None = None) -> int | None:
    """Attempt one delivery and commit; return seconds until the next try, or None when finished."""
    policy = delivery.BackoffPolicy(
        rt.settings.callback_backoff_base_s, rt.settings.callback_backoff_cap_s, rt.settings.callback_max_age_s
    )
    client = client or callback_client(rt.settings.callback_timeout_s)
    with rt.sessions() as session:
        wait = delivery.attempt(session, delivery_id, client, policy)
        session.commit()
    return wait


@shared_task(name="moderation.deliver", bind=True, acks_late=True, ignore_result=True)
def deliver(self: Any, delivery_id: str) -> None:
    rt = _runtime()
    try:
        wait = run_deliver(rt, delivery_id)
    except OperationalError as exc:
        raise self.retry(exc=exc, countdown=30, max_retries=None) from exc
    if wait is not None:
        deliver.apply_async(args=[delivery_id], countdown=wait)


def run_sweep(rt: Runtime, now: dt.datetime | None = None) -> dict[str, int]:
    """Re-enqueue work whose task was lost: stuck submissions, and callbacks past their next attempt."""
    now = now or utcnow()
    stuck_before = now - dt.timedelta(seconds=rt.settings.stuck_after_s)
    backlog = getattr(rt.queue, "backlog", None)
    with rt.sessions() as session:
        stuck = classification.stuck_submissions(session, stuck_before)
        # Work still waiting behind a backlog is queued, not lost: re-enqueued every period it would be multiplied
        # (a queue of minutes held each submission several times over) and slow the workers it waits for. Of what
        # looks stuck, at most as many as the queue cannot hold are lost; the oldest first, since the tasks a dead
        # worker took were older than anything still waiting in a FIFO queue.
        if stuck and backlog is not None:
            stuck = stuck[: max(0, len(stuck) - (backlog("classify") or 0))]
        for sub_id in stuck:
            sub = session.get(Submission, sub_id)
            if sub is not None:
                sub.updated_at = now  # so the next sweep waits another period before trying again
        # A grace period, so a delivery whose own task is queued or about to run is not sent twice: like a stuck
        # submission, one still due after stuck_after_s (at most 120 s) has lost its task.
        grace_s = min(120, rt.settings.stuck_after_s)
        due = delivery.due_deliveries(session, now - dt.timedelta(seconds=grace_s))
        if due and backlog is not None:
            due = due[: max(0, len(due) - (backlog("callbacks") or 0))]
        session.commit()
    rt.queue.classify(stuck)
    rt.queue.deliver(due)
    if stuck or due:
        log.info("sweep re-enqueued work", extra={"submissions": len(stuck), "deliveries": len(due)})
    return {"submissions": len(stuck), "deliveries": len(due)}


@shared_task(name="moderation.sweep", acks_late=True, ignore_result=True)
def sweep() -> dict[str, int]:
    return run_sweep(_runtime())
