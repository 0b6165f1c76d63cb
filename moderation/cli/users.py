"""``moderation users``: console accounts."""

from __future__ import annotations

import sys

import click

from moderation.config import load_settings


@click.group()
def users() -> None:
    """Manage the moderators' console accounts."""


@users.command("create")
@click.option("--username", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["moderator", "senior_moderator", "compliance_officer", "admin"]),
)
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
@click.option("--totp", is_flag=True, help="require an authenticator code; prints the secret once")
def create(username: str, role: str, password_stdin: bool, totp: bool) -> None:
    """Create an account (the password is asked for, or read from stdin; never from the command line)."""
    from moderation.services.review import ReviewError, create_user
    from moderation.store.db import session_scope

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = load_settings()
    try:
        with session_scope(settings.database_url) as session:
            user, secret = create_user(session, username, password, role, totp=totp, actor="system:cli")
            user_id = user.id
    except ReviewError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"created {username} ({role}) {user_id}")
    if secret:
        import pyotp

        uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="vn-moderation")
        click.echo(f"TOTP secret (shown once): {secret}\n{uri}")


@users.command("list")
def list_users() -> None:
    """List the accounts (no secrets)."""
    from sqlalchemy import select

    from moderation.store.console import User
    from moderation.store.db import session_scope

    with session_scope(load_settings().database_url) as session:
        for user in session.scalars(select(User).order_by(User.username)):
            locked = f" locked until {user.locked_until.isoformat()}" if user.locked_until else ""
            click.echo(f"{user.username}\t{user.role}\ttotp={'yes' if user.totp_secret else 'no'}{locked}")
