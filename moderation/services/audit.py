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
import functools
from collections.abc import Iterator, Mapping
from typing import Any, cast

from sqlalchemy import Table, bindparam, event, exists, insert, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from moderation.store import db
from moderation.store.base import utcnow
from moderation.store.models import AuditEntry
from moderation.workflow import audit as chain

MAX_TRIES = 20
_COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "platform_id", "details", "prev_hash", "hash")
_TABLE = cast(Table, AuditEntry.__table__)
_PENDING = "moderation.audit.pending"  # session.info key: [(transaction, entry fields)]


def entry_dict(row: AuditEntry) -> dict[str, Any]:
    """The plain form of a stored entry, as the chain functions take it."""
    return {name: getattr(row, name) for name in _COLUMNS}


_HEAD = select(_TABLE.c.seq, _TABLE.c.hash).order_by(_TABLE.c.seq.desc()).limit(1)
_HEAD_LOCKED = _HEAD.with_for_update()


def _head(session: Session) -> dict[str, Any] | None:
    """The chain head's ``seq`` and ``hash`` (all the next entry needs), locked on PostgreSQL.

    What the transaction still has to flush is flushed first, so the head is locked for the last moment only; the
    read itself is a plain statement (the ORM's execution path cost more than the query).
    """
    if session.new or session.dirty or session.deleted:
        session.flush()
    postgres = session.get_bind().dialect.name == "postgresql"
    row = session.connection().execute(_HEAD_LOCKED if postgres else _HEAD).one_or_none()
    return {"seq": row.seq, "hash": row.hash} if row is not None else None


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
    postgres = session.get_bind().dialect.name == "postgresql"
    for _ in range(MAX_TRIES):
        head = _head(session)
        previous: dict[str, Any] | None = head
        entries = []
        for _tx, fields in pending:
            entry = chain.new_entry(previous, **fields)
            entries.append({**entry, "at": chain.parse_at(entry["at"])})
            previous = entry
        if postgres and head is not None:
            if _insert_unless_taken(session, entries):
                return
            continue  # the head was stale: another writer appended while this one waited for its lock
        try:
            with session.begin_nested():
                session.add_all(AuditEntry(**entry) for entry in entries)
        except IntegrityError:
            continue  # another writer took these seqs; chain after it
        return
    raise RuntimeError("could not append to the audit trail: too much contention on the chain head")


@functools.cache
def _insert_statement(n: int) -> Any:
    """``INSERT INTO audit_entries SELECT <n rows of parameters> WHERE NOT EXISTS (<first seq>) RETURNING seq``.

    Built once per row count from typed bind parameters, so SQLAlchemy compiles it once (a ``VALUES`` construct with
    data has no cache key and was compiled on every commit).
    """
    rows = union_all(
        *(
            select(*(bindparam(f"{name}_{i}", type_=_TABLE.c[name].type).label(name) for name in _COLUMNS))
            for i in range(n)
        )
    ).subquery("new_entries")
    taken = exists().where(_TABLE.c.seq == bindparam("first_seq", type_=_TABLE.c.seq.type))
    return (
        insert(_TABLE)
        .from_select(list(_COLUMNS), select(*(rows.c[name] for name in _COLUMNS)).where(~taken))
        .returning(_TABLE.c.seq)
    )


def _insert_unless_taken(session: Session, entries: list[dict[str, Any]]) -> bool:
    """Insert ``entries`` in one statement unless their first ``seq`` exists; return whether they were inserted.

    PostgreSQL, with the head row locked (``FOR UPDATE``): every writer of seq N+1 holds the lock on entry N, so
    once this transaction holds the head's lock, no other can be inserting the next seqs; but a writer that waited
    for that lock gets the head as it was before the wait, while the previous holder has committed entries after
    it. The statement's fresh snapshot sees those, inserts nothing, and the caller reads the head again. No
    savepoint (two round trips) and no partial insert: all entries or none.
    """
    params = {f"{name}_{i}": entry[name] for i, entry in enumerate(entries) for name in _COLUMNS}
    params["first_seq"] = entries[0]["seq"]
    inserted = len(session.connection().execute(_insert_statement(len(entries)), params).all())
    if inserted not in (0, len(entries)):
        raise RuntimeError(f"audit append inserted {inserted} of {len(entries)} entries")
    return inserted == len(entries)


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
