"""Engines and sessions for SQLite and PostgreSQL, and the Alembic upgrade."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the web process read while a worker writes; busy_timeout waits instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine with the settings each backend needs."""
    # A database error's message would otherwise quote the statement's parameters (posted text, personal data)
    # into the logs and error reports.
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    return create_engine(url, **kwargs)


def get_engine(url: str) -> Engine:
    """Return the process-wide engine for ``url`` (one pool per process and URL)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
        return engine


def dispose_engines(*, close: bool = True) -> None:
    """Forget pooled connections.

    In-process (``close=True``, the default) the pooled connections are closed. After a fork (``close=False``) a
    child must neither use nor close its parent's sockets, so they are only forgotten.
    """
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=close)
        _engines.clear()


# Callables run right before the outermost commit of every session made here (the audit trail appends the entries
# its transaction recorded, so the chain head is locked only for the last moment of the transaction).
BEFORE_COMMIT: list[Callable[[Session], None]] = []


class AppSession(Session):
    """A session whose ``commit`` (the outermost one: savepoints are released elsewhere) runs ``BEFORE_COMMIT``."""

    def commit(self) -> None:
        for hook in BEFORE_COMMIT:
            hook(self)
        super().commit()


def session_factory(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), class_=AppSession, expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on error."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Bring the database at ``url`` to ``revision`` with Alembic."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
