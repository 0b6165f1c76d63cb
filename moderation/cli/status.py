"""``moderation status``: announce planned maintenance and outages (Decree 64/2007 Art. 16), list, revise and end
them. What is announced here is served at ``GET /v1/status`` and shown on every console page."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.orm import Session

from moderation.config import load_settings


def _when(value: str | None) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs an offset (Z or +07:00)")
    return parsed


@contextmanager
def _session() -> Iterator[Session]:
    """A committed session; a broken rule becomes a one-line error and exit status 1."""
    from moderation.store.db import session_scope
    from moderation.store.status import AnnouncementError

    try:
        with session_scope(load_settings().database_url) as session:
            yield session
    except AnnouncementError as exc:
        raise click.ClickException(f"{exc.field}: {exc.message}") from None


@click.group()
def status() -> None:
    """Service-status announcements shown at GET /v1/status and in the console."""


@status.command("announce")
@click.option("--kind", type=click.Choice(["planned", "unplanned"]), required=True)
@click.option("--starts-at", help="ISO 8601 with offset; unplanned outages default to now")
@click.option("--ends-at", help="ISO 8601 with offset; required for planned maintenance")
@click.option("--expected-recovery", help="ISO 8601 with offset; required for unplanned outages")
@click.option("--message-vi", required=True)
@click.option("--message-en", default="")
@click.option("--component", "components", multiple=True, help="api, console, classification, callbacks …")
@click.option("--allow-late", is_flag=True, help="publish planned work with under 7 working days' notice, flagged")
def announce_cmd(  # noqa: PLR0917 - one parameter per click option
    kind: str,
    starts_at: str | None,
    ends_at: str | None,
    expected_recovery: str | None,
    message_vi: str,
    message_en: str,
    components: tuple[str, ...],
    allow_late: bool,
) -> None:
    """Publish an announcement (planned work needs seven working days' notice); print its id."""
    from moderation.store.status import announce

    with _session() as session:
        row = announce(
            session,
            kind,
            message_vi=message_vi,
            message_en=message_en,
            starts_at=_when(starts_at),
            ends_at=_when(ends_at),
            expected_recovery=_when(expected_recovery),
            components=components,
            created_by="cli",
            allow_late=allow_late,
        )
        row_id, late = row.id, row.notice_working_days
    if late is not None and kind == "planned" and allow_late:
        click.echo(f"warning: late notice, {late} working days", err=True)
    click.echo(row_id)


@status.command("list")
@click.option("--json", "as_json", is_flag=True, help="the same document as GET /v1/status lists")
def list_cmd(as_json: bool) -> None:
    """Show the announcements in force and upcoming."""
    from moderation.store.status import announcement_json, current_and_upcoming

    with _session() as session:
        current, upcoming = current_and_upcoming(session)
        doc: dict[str, Any] = {
            "current": [announcement_json(a) for a in current],
            "upcoming": [announcement_json(a) for a in upcoming],
        }
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    for label, rows in doc.items():
        for a in rows:
            until = a["ends_at"] or f"recovery expected {a['expected_recovery']}"
            late = "  [late notice]" if a["late_notice"] else ""
            click.echo(f"{label}\t{a['id']}\t{a['kind']}\t{a['starts_at']} → {until}\t{a['message_vi']}{late}")


def _one(name: str, action: Callable[..., Any], help_text: str, done: str) -> click.Command:
    @click.argument("announcement_id")
    def command(announcement_id: str) -> None:
        with _session() as session:
            action(session, announcement_id)
        click.echo(f"{done} {announcement_id}")

    command.__doc__ = help_text
    return status.command(name)(command)


def _end(session: Session, announcement_id: str) -> None:
    from moderation.store.status import end

    end(session, announcement_id)


def _cancel(session: Session, announcement_id: str) -> None:
    from moderation.store.status import cancel

    cancel(session, announcement_id)


_one("end", _end, "Mark an outage or maintenance under way over now.", "ended")
_one("cancel", _cancel, "Withdraw an announcement (planned work that will not happen).", "cancelled")


@status.command("update")
@click.argument("announcement_id")
@click.option("--expected-recovery", help="ISO 8601 with offset: the new expected recovery time")
@click.option("--message-vi")
@click.option("--message-en")
def update_cmd(
    announcement_id: str, expected_recovery: str | None, message_vi: str | None, message_en: str | None
) -> None:
    """Revise an announcement (a new expected recovery time, new wording)."""
    from moderation.store.status import update

    with _session() as session:
        update(
            session,
            announcement_id,
            expected_recovery=_when(expected_recovery),
            message_vi=message_vi,
            message_en=message_en,
        )
    click.echo(f"updated {announcement_id}")
