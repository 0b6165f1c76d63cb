"""What the web app and the workers share at run time: settings, sessions, the classifier, the task queue."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from moderation.config import Settings
from moderation.services.classification import ClassifierProvider
from moderation.store.db import session_factory
from moderation.store.models import Delivery

log = logging.getLogger(__name__)


class TaskQueue(Protocol):
    """Where work is enqueued after commit. Ids only, never objects."""

    def classify(self, submission_ids: Sequence[str]) -> None: ...
    def deliver(self, delivery_ids: Sequence[str]) -> None: ...


@dataclass
class RecordingQueue:
    """A queue that only records what was enqueued (tests, and ``--no-worker`` set-ups that rely on the sweep)."""

    classified: list[str] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)

    def classify(self, submission_ids: Sequence[str]) -> None:
        self.classified.extend(submission_ids)

    def deliver(self, delivery_ids: Sequence[str]) -> None:
        self.delivered.extend(delivery_ids)


class CeleryQueue:
    """Send tasks by name, so the web process does not import the task modules.

    A broker outage must not fail intake: the submission is already committed, and the sweep re-enqueues it. After a
    failed send the queue stops trying for ``cooldown_s`` (a circuit breaker), so while the broker is down a request
    does not wait for connection retries: the work stays in the database and the sweep sends it when it is back.
    """

    # One quick retry covers a pooled connection gone stale (a restarted broker); more would only delay the request.
    RETRY_POLICY: ClassVar[dict[str, float]] = {
        "max_retries": 1,
        "interval_start": 0,
        "interval_step": 0.1,
        "interval_max": 0.1,
    }

    def __init__(self, celery_app: Any, cooldown_s: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.celery = celery_app
        self.cooldown_s = cooldown_s
        self.clock = clock
        self.down_until = 0.0
        self.left_to_sweep = 0  # ids not sent since the process started (a counter for tests and logs)
        # On Redis a task goes to the list named by its queue (kombu's anonymous exchange), declared or not: skip
        # Celery's per-message declare check (it copies the queue and exchange entities each time). Other brokers
        # (AMQP) need the queue declared, so they keep it.
        broker_url = str(getattr(getattr(celery_app, "conf", None), "broker_url", "") or "")
        self._send_options: dict[str, Any] = {"declare": []} if broker_url.startswith(("redis://", "rediss://")) else {}

    def _send(self, name: str, ids: Sequence[str], queue: str) -> None:
        if ids and self.clock() < self.down_until:
            self.left_to_sweep += len(ids)
            return
        for sent, obj_id in enumerate(ids):
            try:
                self.celery.send_task(
                    name, args=[obj_id], queue=queue, retry_policy=self.RETRY_POLICY, **self._send_options
                )
            except Exception as exc:
                self.down_until = self.clock() + self.cooldown_s
                self.left_to_sweep += len(ids) - sent
                log.warning(
                    "broker unavailable; the sweep will enqueue the work",
                    extra={"task": name, "left": len(ids) - sent, "error": type(exc).__name__},
                )
                return

    def backlog(self, queue: str) -> int | None:
        """Messages waiting in ``queue`` on a Redis broker (every priority list); None when it cannot tell."""
        if not str(self.celery.conf.broker_url or "").startswith(("redis://", "rediss://", "unix://")):
            return None
        try:
            with self.celery.connection_for_read() as conn:
                channel = conn.default_channel
                keys = {channel._q_for_pri(queue, pri) for pri in channel.priority_steps}
                return sum(int(channel.client.llen(key)) for key in keys)
        except Exception:
            return None

    def classify(self, submission_ids: Sequence[str]) -> None:
        self._send("moderation.classify", submission_ids, "classify")

    def deliver(self, delivery_ids: Sequence[str]) -> None:
        self._send("moderation.deliver", delivery_ids, "callbacks")


@dataclass
class Runtime:
    settings: Settings
    queue: TaskQueue
    sessions: sessionmaker[Session]
    classifiers: ClassifierProvider

    @classmethod
    def build(cls, settings: Settings, queue: TaskQueue) -> Runtime:
        from moderation.services.registries import registries_loader

        sessions = session_factory(settings.database_url)
        enqueue_deliveries_after_commit(sessions, queue)
        return cls(
            settings=settings,
            queue=queue,
            sessions=sessions,
            classifiers=ClassifierProvider(
                settings.policies_dir, registries_loader(sessions), registries_ttl_s=settings.registries_refresh_s
            ),
        )


_PENDING = "moderation.pending_deliveries"


def enqueue_deliveries_after_commit(sessions: sessionmaker[Session], queue: TaskQueue) -> None:
    """Send every callback created in a transaction to the queue once, after that transaction commits.

    Whichever service creates a ``Delivery`` (the classifier, enforcement, a moderator's decision, an appeal),
    the task is enqueued only when the row it names is committed; a rolled-back transaction enqueues nothing.
    """

    @event.listens_for(sessions, "after_flush")
    def _collect(session: Session, _context: Any) -> None:
        new = [obj.id for obj in session.new if isinstance(obj, Delivery)]
        if new:
            session.info.setdefault(_PENDING, []).extend(new)

    @event.listens_for(sessions, "after_commit")
    def _enqueue(session: Session) -> None:
        ids = session.info.pop(_PENDING, [])
        if ids:
            queue.deliver(list(dict.fromkeys(ids)))

    @event.listens_for(sessions, "after_rollback")
    def _forget(session: Session) -> None:
        session.info.pop(_PENDING, None)
