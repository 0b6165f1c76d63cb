"""Migrations bring an empty database to the models' schema, on SQLite and PostgreSQL, and back down."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from moderation.store import all_models
from moderation.store.base import Base
from moderation.store.db import alembic_config, make_engine, upgrade
from tests.conftest import _require, pg_url


def _diff(url: str) -> list[object]:
    all_models()
    engine = make_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    return list(diff)


def test_sqlite_migrations_match_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    assert _diff(url) == []
    command.downgrade(alembic_config(url), "base")
    upgrade(url)


@pytest.mark.postgres
def test_postgres_migrations_match_models() -> None:
    from sqlalchemy import text

    url = _require(pg_url(), "DATABASE_URL_PG")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS migration_check CASCADE"))
        conn.execute(text("CREATE SCHEMA migration_check"))
    engine.dispose()
    scoped = url + ("&" if "?" in url else "?") + "options=-csearch_path%3Dmigration_check"
    try:
        upgrade(scoped)
        assert _diff(scoped) == []
        command.downgrade(alembic_config(scoped), "base")
    finally:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS migration_check CASCADE"))
        engine.dispose()
