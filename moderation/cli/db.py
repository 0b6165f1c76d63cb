"""``moderation db``: schema migrations."""

from __future__ import annotations

import click

from moderation.config import load_settings, redact_url


@click.group()
def db() -> None:
    """Manage the database schema (Alembic)."""


@db.command()
@click.option("--revision", default="heads", show_default=True)
def upgrade(revision: str) -> None:
    """Migrate the database at DATABASE_URL to REVISION."""
    from moderation.store.db import upgrade as do_upgrade

    settings = load_settings()
    do_upgrade(settings.database_url, revision)
    click.echo(f"database at {redact_url(settings.database_url)} is at {revision}")
