"""Shared fixtures: real database engines (SQLite always; PostgreSQL in CI), the app, signed API clients.

The storage and API tests run once per engine. PostgreSQL runs when ``DATABASE_URL_PG`` is set (``.ci/run`` sets it
and starts the server); with ``CI=true`` and no server the PostgreSQL cases fail instead of skipping.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from moderation.config import Settings, load_settings
from moderation.signing import signed_headers
from moderation.store.base import Base
from moderation.store.db import dispose_engines, get_engine, session_scope, upgrade
from moderation.web.runtime import RecordingQueue

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pg_url() -> str | None:
    return os.environ.get("DATABASE_URL_PG")


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL")


def _require(url: str | None, what: str) -> str:
    if url:
        return url
    if IN_CI:
        pytest.fail(f"{what} is required in CI (set by .ci/run)")
    pytest.skip(f"{what} not set: start the server (bash .ci/services.sh) and export it to run these cases")


@contextlib.contextmanager
def exclusive_redis_db(number: int) -> Iterator[str]:
    """Database ``number`` of the REDIS_URL server, emptied, for the caller alone until the block ends.

    Tests that flush a database hold an exclusive lock on it (a file lock named after server and database) from the
    first flush to the last, so they exclude each other across xdist workers and across test runs sharing one server.
    ``xdist_group`` cannot promise this: with pytest 9.2, ``--dist loadgroup`` silently stops grouping
    (pytest-dev/pytest-xdist#1386), and two workers flushing database 3 under each other lost a message in CI.
    """
    import redis

    url = f"{_require(redis_url(), 'REDIS_URL').rsplit('/', 1)[0]}/{number}"
    parts = urlsplit(url)
    lock = Path(tempfile.gettempdir()) / f"moderation-tests-redis-{parts.hostname}-{parts.port or 6379}-{number}.lock"
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file is closed
        client = redis.Redis.from_url(url)
        try:
            client.flushdb()
            yield url
        finally:
            try:
                client.flushdb()
            finally:
                client.close()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    dispose_engines()
    return path


@pytest.fixture(scope="session")
def _pg_migrated() -> Iterator[str]:
    """A database of this test session's own, so concurrent runs on one server do not clobber each other."""
    from sqlalchemy.engine import make_url

    from benches._common import scratch_database

    base = _require(pg_url(), "DATABASE_URL_PG")
    with scratch_database(base, prefix=str(make_url(base).database)) as url:
        yield url


def _truncate_pg(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine(url).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def fresh_database(request: pytest.FixtureRequest, engine: str, tmp: Path) -> str:
    """An empty, migrated database: a copy of the SQLite template under ``tmp``, or the session's PostgreSQL one
    truncated."""
    if engine == "sqlite":
        path = tmp / "test.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("_pg_migrated")
    _truncate_pg(url)
    return url


def make_settings(database_url: str, tmp: Path, **overrides: Any) -> Settings:
    """The settings tests run with (no rate limit, registries re-read at once); ``overrides`` change any."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "var_dir": tmp / "var",
        "secret_key": "test-secret-key",
        "log_json": False,
        "rate_limit_per_minute": 0,
        "registries_refresh_s": 0,
        **overrides,
    }
    return load_settings(env={}, **values)


@contextlib.contextmanager
def recorded_statements(database_url: str, words: int | None = None) -> Iterator[list[str]]:
    """The SQL statements the engine of ``database_url`` runs inside the block, upper-cased with the whitespace
    collapsed (only their first ``words`` words when given): for statement-count guards, not timings."""
    seen: list[str] = []
    engine = get_engine(database_url)

    def _record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()[:words]).upper())

    event.listen(engine, "before_cursor_execute", _record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", _record)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A freshly migrated, empty database on each engine."""
    return fresh_database(request, request.param, tmp_path)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def app(settings: Settings, queue: RecordingQueue) -> Flask:
    from moderation.web.app import create_app

    app = create_app(settings, queue=queue)
    app.testing = True
    return app


@pytest.fixture
def db(settings: Settings) -> Iterator[Session]:
    with session_scope(settings.database_url) as session:
        yield session


@dataclass
class PlatformCreds:
    id: str
    key: str
    secret: str


def make_platform(
    settings: Settings, name: str = "Test platform", callback_url: str | None = None, **kw: Any
) -> PlatformCreds:
    from moderation.services.intake import create_platform

    with session_scope(settings.database_url) as session:
        platform, secret = create_platform(session, name, callback_url, **kw)
        return PlatformCreds(platform.id, platform.key, secret)


@pytest.fixture
def platform(settings: Settings) -> PlatformCreds:
    return make_platform(settings)


class SignedClient:
    """A test client that signs every request the way a platform must."""

    def __init__(self, client: FlaskClient, creds: PlatformCreds) -> None:
        self.client = client
        self.creds = creds

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        content_type: str = "application/json",
        now: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        data = raw if raw is not None else (b"" if body is None else json.dumps(body, ensure_ascii=False).encode())
        hdrs = signed_headers(self.creds.key, self.creds.secret, data, now=now if now is not None else time.time())
        if data:
            hdrs["Content-Type"] = content_type
        hdrs.update(headers or {})
        return self.client.open(path, method=method, data=data, headers=hdrs)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, body, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)


@pytest.fixture
def api(app: Flask, platform: PlatformCreds) -> SignedClient:
    return SignedClient(app.test_client(), platform)


def post_payload(**overrides: Any) -> dict[str, Any]:
    body = {
        "id": "post-1",
        "blog_id": "blog-1",
        "author_id": "author-1",
        "title": "Chào buổi sáng",
        "body": "Hôm nay trời đẹp, tôi đi dạo quanh hồ Gươm với gia đình.",
    }
    body.update(overrides)
    return body


def row_counts(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return {
            t.name: conn.execute(text(f'SELECT COUNT(*) FROM "{t.name}"')).scalar_one()
            for t in Base.metadata.sorted_tables
        }


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared data sits beside the checkout (../shared)")
    return path
