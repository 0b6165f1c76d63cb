"""PostgreSQL pools ping a connection only after it was idle (store/db.py): no round trip per transaction under
load, and a connection that died while idle is replaced before use, never handed out."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from moderation.store.db import make_engine
from tests.conftest import _require, pg_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> str:
    return _require(pg_url(), "DATABASE_URL_PG")


def _pings(engine: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    pings: list[int] = []
    original = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> Any:
        pings.append(1)
        return original(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


@pytest.mark.parametrize(("idle_s", "uses", "expected_pings"), [(60.0, 5, 0), (0.0, 5, 5)])
def test_pings_only_after_idle(
    url: str, monkeypatch: pytest.MonkeyPatch, idle_s: float, uses: int, expected_pings: int
) -> None:
    engine = make_engine(url, ping_idle_s=idle_s, pool_size=1)
    try:
        pings = _pings(engine, monkeypatch)
        for _ in range(uses):
            with engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        assert len(pings) == expected_pings  # 0 s: every checkout, as pool_pre_ping would
    finally:
        engine.dispose()


def test_a_connection_that_died_while_idle_is_replaced(url: str) -> None:
    engine = make_engine(url, ping_idle_s=0.0, pool_size=1)
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with engine.connect() as conn:  # the ping finds it gone: a new connection, no error
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()
