"""Append to the hash-chained audit trail stored in ``audit_entries``.

Writers serialise on the chain head: the next entry's ``seq`` is the primary key, so two transactions that read
the same head cannot both append; the loser retries inside a savepoint and chains after the winner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from moderation.store.base import utcnow
from moderation.store.models import AuditEntry
from moderation.workflow import audit as chain

MAX_TRIES = 20
_COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "platform_id", "details", "prev_hash", "hash")


def entry_dict(row: AuditEntry) -> dict[str, Any]:
    """The plain form of a stored entry, as the chain functions take it."""
    return {name: getattr(row, name) for name in _COLUMNS}


def _head(session: Session) -> AuditEntry | None:
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    details: Mapping[str, Any] | None = None,
    platform_id: str | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry (secrets stripped by the chain builder) in the caller's transaction."""
    at = at or utcnow()
    for _ in range(MAX_TRIES):
        head = _head(session)
        entry = chain.new_entry(
            entry_dict(head) if head else None,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            at=at,
            details=details,
            platform_id=platform_id,
        )
        row = AuditEntry(**{**entry, "at": chain.parse_at(entry["at"])})
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # another writer took this seq; chain after it
        return row
    raise RuntimeError("could not append to the audit trail: too much contention on the chain head")


def iter_entries(
    session: Session, since: dt.datetime | None = None, until: dt.datetime | None = None, batch: int = 1000
) -> Iterator[dict[str, Any]]:
    """Yield entries in chain order (optionally within [since, until)), a batch at a time."""
    last = 0
    while True:
        query = select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        rows = session.scalars(query).all()
        if not rows:
            return
        for row in rows:
            if (since is None or row.at >= since) and (until is None or row.at < until):
                yield entry_dict(row)
        last = rows[-1].seq
