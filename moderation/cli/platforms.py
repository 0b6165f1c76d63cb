"""``moderation platforms``: tenants, their keys and secrets."""

from __future__ import annotations

import json

import click
from sqlalchemy import select

from moderation.config import load_settings


@click.group()
def platforms() -> None:
    """Create and list platforms (tenants)."""


@platforms.command()
@click.option("--name", required=True, help="The platform's name.")
@click.option("--callback-url", default=None, help="Where signed decision callbacks are POSTed.")
@click.option("--test", "is_test", is_flag=True, help="A test platform: never counted in reports.")
@click.option("--json", "as_json", is_flag=True, help="Print {key, secret, id} as JSON.")
def create(name: str, callback_url: str | None, is_test: bool, as_json: bool) -> None:
    """Create a platform and print its key and secret (the secret is shown only here)."""
    from moderation.errors import ApiError
    from moderation.services.intake import create_platform
    from moderation.store.db import session_scope

    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            platform, secret = create_platform(session, name, callback_url, is_test=is_test)
            out = {"id": platform.id, "name": platform.name, "key": platform.key, "secret": secret}
    except ApiError as exc:
        raise click.BadParameter(exc.message, param_hint=f"--{(exc.field or '').replace('_', '-')}") from None
    if as_json:
        click.echo(json.dumps(out))
    else:
        click.echo(f"platform {out['id']} ({name})\n  key:    {out['key']}\n  secret: {out['secret']}")


@platforms.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """List platforms (without secrets)."""
    from moderation.store.db import session_scope
    from moderation.store.models import Platform

    settings = load_settings()
    with session_scope(settings.database_url) as session:
        rows = [
            {"id": p.id, "name": p.name, "key": p.key, "callback_url": p.callback_url, "test": p.is_test}
            for p in session.scalars(select(Platform).order_by(Platform.created_at))
        ]
    if as_json:
        click.echo(json.dumps(rows))
    else:
        for row in rows:
            click.echo(f"{row['id']}  {row['key']}  {row['name']}  {row['callback_url'] or '-'}")
