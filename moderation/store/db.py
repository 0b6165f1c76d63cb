"""Engines and sessions for SQLite and PostgreSQL, and the Alembic upgrade."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
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
    ping_idle_s = kwargs.pop("ping_idle_s", PING_IDLE_S)
    kwargs.setdefault("pool_size", 5)
    kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, ping_idle_s)
    return engine


# A pooled connection idle this long is pinged before use. SQLAlchemy's ``pool_pre_ping`` pings on every checkout:
# one round trip per transaction (per classify task, per API request) to catch what happens to idle connections
# (a restarted server, a connection dropped by the network). A connection used moments ago that has died meanwhile
# fails its statement instead: SQLAlchemy then invalidates the whole pool, the request gets its 503 and the task
# its retry, exactly as when the database goes away mid-transaction.
PING_IDLE_S = 5.0


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    def _mark(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        record.info["moderation.idle_since"] = time.monotonic()

    def _ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("moderation.idle_since")
        if since is not None and time.monotonic() - since < idle_s:
            return
        dialect = engine.dialect
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            if not dialect.is_disconnect(exc, dbapi_connection, None):
                raise
            alive = False
        if not alive:
            raise DisconnectionError("pooled connection is gone")  # the pool replaces it and checks out again

    event.listen(engine, "connect", _mark)  # a new connection needs no ping
    event.listen(engine, "checkin", _mark)
    event.listen(engine, "checkout", _ping)


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
