"""Append to the hash-chained audit trail stored in ``audit_entries``.

:func:`record` queues an entry in the caller's transaction; the entries are appended to the chain right before the
transaction's outermost commit (``AppSession.commit`` runs :func:`append_pending`), so the chain head, which every
writer must lock, is held only for that last moment instead of for the whole transaction (classification with its
enforcement used to hold it throughout, which made all classify workers take turns). An entry recorded inside a
savepoint that is rolled back is dropped with it, and a rolled-back transaction appends nothing: what happened
and what the trail says stay the same. Entries are not visible to queries of their own transaction before commit.

Writers serialise on the chain head: the next entry's ``seq`` is the primary key, so two transactions that read
the same head cannot both append; the loser retries inside a savepoint and chains after the winner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from moderation.store import db
from moderation.store.base import utcnow
from moderation.store.models import AuditEntry
from moderation.workflow import audit as chain

MAX_TRIES = 20
_COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "platform_id", "details", "prev_hash", "hash")
_PENDING = "moderation.audit.pending"  # session.info key: [(transaction, entry fields)]


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
) -> None:
    """Record one entry (secrets stripped by the chain builder) in the caller's transaction; appended at commit."""
    if session.get_transaction() is None:
        session.connection()  # begin, so the entry belongs to this transaction
    transaction = session.get_nested_transaction() or session.get_transaction()
    fields = {
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "at": at or utcnow(),
        "details": dict(details) if details is not None else None,
        "platform_id": platform_id,
    }
    session.info.setdefault(_PENDING, []).append((transaction, fields))


def append_pending(session: Session) -> None:
    """Append the entries recorded in this session's transaction to the chain (called right before commit)."""
    pending: list[tuple[SessionTransaction | None, dict[str, Any]]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    for _ in range(MAX_TRIES):
        head = _head(session)
        previous = entry_dict(head) if head else None
        rows = []
        for _tx, fields in pending:
            entry = chain.new_entry(previous, **fields)
            rows.append(AuditEntry(**{**entry, "at": chain.parse_at(entry["at"])}))
            previous = entry
        try:
            with session.begin_nested():
                session.add_all(rows)
        except IntegrityError:
            continue  # another writer took these seqs; chain after it
        return
    raise RuntimeError("could not append to the audit trail: too much contention on the chain head")


def _within(transaction: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ended:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        kept = [(tx, fields) for tx, fields in pending if not _within(tx, previous_transaction)]
        if previous_transaction.parent is None:
            kept = []
        session.info[_PENDING] = kept


db.BEFORE_COMMIT.append(append_pending)


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
