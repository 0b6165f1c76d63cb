"""What the web app and the workers share at run time: settings, sessions, the classifier, the task queue."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

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

    A broker outage must not fail intake: the submission is already committed, and the sweep re-enqueues it.
    """

    def __init__(self, celery_app: Any) -> None:
        self.celery = celery_app

    def _send(self, name: str, ids: Sequence[str], queue: str) -> None:
        for obj_id in ids:
            try:
                self.celery.send_task(name, args=[obj_id], queue=queue)
            except Exception:
                log.warning("enqueue failed; the sweep will retry", extra={"task": name, "object_id": obj_id})

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
