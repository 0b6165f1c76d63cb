"""``moderation audit``: verify the hash-chained audit trail and export signed bundles for an inspector.

Entries come from the database (``moderation.store.models.AuditEntry``, ordered by ``seq``) or, with ``--input``,
from a JSON-lines file. The signing key is read from a file (``--key-file``) or from ``MODERATION_AUDIT_KEY``;
it is never taken on the command line, where it would land in the shell history.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click

from moderation.workflow.audit import (
    BundleError,
    VerifyResult,
    entries_in_period,
    export_bundle,
    format_at,
    read_jsonl,
    verify_bundle,
    verify_chain,
)
from moderation.workflow.calendar import VN_TZ

KEY_ENV = "MODERATION_AUDIT_KEY"


def entries_from_database(database_url: str) -> list[dict[str, Any]]:
    """Read every audit entry from the database, in ``seq`` order, as plain dicts."""
    from sqlalchemy import select

    from moderation.store.db import session_scope
    from moderation.store.models import AuditEntry

    with session_scope(database_url) as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
        return [entry_to_dict(row) for row in rows]


def entry_to_dict(row: Any) -> dict[str, Any]:
    """Turn an ``AuditEntry`` row into the dict form the chain functions take."""
    return {
        "seq": row.seq,
        "at": format_at(row.at),
        "actor": row.actor,
        "action": row.action,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "platform_id": row.platform_id,
        "details": dict(row.details or {}),
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }


def _load(input_path: str | None, database_url: str | None) -> list[dict[str, Any]]:
    if input_path:
        try:
            return read_jsonl(input_path)
        except (OSError, BundleError) as exc:
            raise click.ClickException(str(exc)) from None
    if database_url is None:
        from moderation.config import load_settings

        database_url = load_settings().database_url
    return entries_from_database(database_url)


def _read_key(key_file: str | None) -> bytes:
    if key_file:
        try:
            return Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise click.ClickException(f"cannot read the key file: {exc}") from None
    value = os.environ.get(KEY_ENV)
    if not value:
        raise click.ClickException(f"give --key-file or set {KEY_ENV}")
    return value.encode()


def _report(result: VerifyResult, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    elif result.ok:
        click.echo(f"OK: {result.message}; head {result.head_hash}")
    else:
        where = "" if result.index is None else f" at entry #{result.index}"
        click.echo(f"FAILED ({result.problem}){where}: {result.message}", err=True)


def _parse_bound(value: str | None) -> dt.datetime | None:
    """Read a date (midnight, Vietnam time) or an RFC 3339 time."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(value), dt.time(0), tzinfo=VN_TZ)
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"not a date or time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=VN_TZ)


def run_verify(entries: Iterable[Mapping[str, Any]]) -> VerifyResult:
    """Verify a whole chain from the genesis."""
    return verify_chain(entries)


@click.group()
def audit() -> None:
    """Verify and export the hash-chained audit trail."""


@audit.command()
@click.option("--input", "input_path", type=click.Path(dir_okay=False), help="Read entries from a JSON-lines file.")
@click.option("--database-url", envvar="DATABASE_URL", help="Read entries from this database (default: settings).")
@click.option("--bundle", "bundle_dir", type=click.Path(file_okay=False), help="Verify an exported bundle instead.")
@click.option("--key-file", type=click.Path(dir_okay=False), help="HMAC key, or Ed25519 public key (PEM).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def verify(
    input_path: str | None, database_url: str | None, bundle_dir: str | None, key_file: str | None, as_json: bool
) -> None:
    """Check the chain; exit 1 and name the first edited, deleted or reordered entry if it is broken."""
    if bundle_dir:
        result = verify_bundle(bundle_dir, _read_key(key_file))
    else:
        result = run_verify(_load(input_path, database_url))
    _report(result, as_json)
    if not result.ok:
        sys.exit(1)


@audit.command()
@click.option("--from", "start", help="First day (YYYY-MM-DD, Vietnam time) or RFC 3339 time, inclusive.")
@click.option("--to", "end", help="Last moment, exclusive (YYYY-MM-DD means midnight starting that day).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Bundle directory to write.")
@click.option("--input", "input_path", type=click.Path(dir_okay=False), help="Read entries from a JSON-lines file.")
@click.option("--database-url", envvar="DATABASE_URL", help="Read entries from this database (default: settings).")
@click.option("--key-file", type=click.Path(dir_okay=False), help="HMAC key file, or Ed25519 private key (PEM).")
@click.option("--algorithm", type=click.Choice(["hmac-sha256", "ed25519"]), default="hmac-sha256", show_default=True)
@click.option("--key-id", help="A label for the key, written into the manifest.")
def export(
    *,
    start: str | None,
    end: str | None,
    out_dir: str,
    input_path: str | None,
    database_url: str | None,
    key_file: str | None,
    algorithm: str,
    key_id: str | None,
) -> None:
    """Write the entries of a period as a signed bundle an inspector can verify offline."""
    lo, hi = _parse_bound(start), _parse_bound(end)
    entries = _load(input_path, database_url)
    whole = verify_chain(entries)
    if not whole.ok:
        raise click.ClickException(f"the audit chain is broken, nothing exported: {whole.message}")
    picked = entries_in_period(entries, lo, hi)
    try:
        manifest = export_bundle(
            picked,
            _read_key(key_file),
            out_dir,
            algorithm=algorithm,
            created_at=dt.datetime.now(dt.UTC),
            period=(None if lo is None else format_at(lo), None if hi is None else format_at(hi)),
            key_id=key_id,
        )
    except (BundleError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {manifest['count']} entries (seq {manifest['first_seq']}–{manifest['last_seq']}) to {out_dir}")
