"""Audit entries join the chain at commit: rolled-back work (a savepoint or the whole transaction) leaves no entry,
and concurrent writers still form one unbroken chain."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import select

from moderation.services import audit
from moderation.store.db import session_scope
from moderation.store.models import AuditEntry
from moderation.workflow import audit as chain


def _record(session: Any, name: str) -> None:
    audit.record(session, actor="test", action=name, object_type="thing", object_id=name, details={"n": name})


def _actions(url: str) -> list[str]:
    with session_scope(url) as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))


@pytest.fixture
def url(database_url: str) -> str:
    return database_url  # migrated, on SQLite and PostgreSQL


class Boom(Exception):
    pass


def _fail_in_savepoint(session: Any) -> None:
    with session.begin_nested():
        _record(session, "dropped")
        raise Boom


def _fail_in_transaction(url: str) -> None:
    with session_scope(url) as session:
        _record(session, "never")
        raise Boom


def test_savepoint_rolled_back_drops_its_entries(url: str) -> None:
    with session_scope(url) as session:
        _record(session, "kept-before")
        with pytest.raises(Boom):
            _fail_in_savepoint(session)
        with session.begin_nested():
            _record(session, "kept-in-savepoint")
        _record(session, "kept-after")
    assert _actions(url) == ["kept-before", "kept-in-savepoint", "kept-after"]


def test_rolled_back_transaction_appends_nothing(url: str) -> None:
    with pytest.raises(Boom):
        _fail_in_transaction(url)
    with session_scope(url) as session:
        _record(session, "after")
    assert _actions(url) == ["after"]


def test_entries_are_appended_at_commit_not_before(url: str) -> None:
    with session_scope(url) as session:
        _record(session, "pending")
        assert session.scalar(select(AuditEntry.seq)) is None
    assert _actions(url) == ["pending"]


def test_concurrent_writers_form_one_chain(url: str) -> None:
    def writer(k: int) -> None:
        for i in range(10):
            with session_scope(url) as session:
                _record(session, f"w{k}-{i}")
                _record(session, f"w{k}-{i}-second")

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with session_scope(url) as session:
        entries = list(audit.iter_entries(session))
    assert len(entries) == 80
    assert chain.verify_chain(entries).ok
