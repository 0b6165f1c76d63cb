"""``moderation policies``, ``moderation explain`` and ``moderation backtest``.

``policies validate`` needs only the pack files (CI runs it on every shipped pack); ``explain`` and ``backtest``
read stored decisions and submissions through ``moderation.store``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from moderation.policy import PackValidationError, explain_text, load_packs, validate_dir
from moderation.policy.schema import all_schemas


def _default_dir() -> Path:
    from moderation.config import REPO_ROOT

    return Path(REPO_ROOT) / "policies"


@click.group()
def policies() -> None:
    """Validate, list and document policy packs."""


@policies.command("validate")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
def validate(directory: Path | None) -> None:
    """Validate every pack under DIRECTORY (default: the shipped packs); print file:line:column errors."""
    root = directory or _default_dir()
    errors = validate_dir(root)
    for e in errors:
        click.echo(str(e))
    if errors:
        click.echo(f"{len(errors)} error(s)", err=True)
        sys.exit(1)
    packs = load_packs(root)
    for p in packs:
        click.echo(f"ok {p.id} {p.version} ({len(p.categories)} categories, {len(p.rules)} rules)")


@policies.command("list")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_(directory: Path | None, as_json: bool) -> None:
    """List packs, their versions and categories."""
    try:
        packs = load_packs(directory or _default_dir())
    except PackValidationError as exc:
        raise click.ClickException(str(exc)) from None
    out: list[dict[str, Any]] = [
        {
            "id": p.id,
            "version": p.version,
            "version_label": p.version_label,
            "status": p.status_label,
            "effective": {"from": p.effective_from, "until": p.effective_until},
            "mode": p.mode,
            "categories": [
                {"id": c.id, "name_en": c.name_en, "action": c.default_action} for c in p.categories.values()
            ],
            "rules": [r.id for r in p.rules],
        }
        for p in packs
    ]
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for p in out:
        click.echo(f"{p['id']} {p['version'][:12]} [{p['status']}, {p['mode']}] {len(p['rules'])} rules")
        for c in p["categories"]:
            click.echo(f"  {c['id']:36} {c['action']:7} {c['name_en']}")


@policies.command("schema")
def schema() -> None:
    """Print the JSON Schemas of pack files."""
    click.echo(json.dumps(all_schemas(), ensure_ascii=False, indent=2))


def _database_url() -> str:
    from moderation.config import load_settings

    return str(load_settings().database_url)


@click.command()
@click.argument("submission_id")
@click.option("--json", "as_json", is_flag=True, help="Print the stored evaluation as JSON.")
def explain(submission_id: str, as_json: bool) -> None:
    """Explain, rule by rule, the latest automated decision on SUBMISSION_ID."""
    from sqlalchemy import select

    from moderation.store.db import session_scope
    from moderation.store.models import Decision

    with session_scope(_database_url()) as session:
        row = session.scalars(
            select(Decision).where(Decision.submission_id == submission_id).order_by(Decision.seq.desc()).limit(1)
        ).one_or_none()
        if row is None:
            raise click.ClickException(f"no decision for submission {submission_id}")
        evaluation = dict(row.evaluation or {})
        header = f"decision {row.id} ({row.source}, {row.verdict}) at {row.created_at.isoformat()}"
    if as_json:
        click.echo(json.dumps(evaluation, ensure_ascii=False, indent=2))
        return
    click.echo(header)
    if not evaluation.get("rules"):
        click.echo("(no rule trace stored with this decision)")
    click.echo(explain_text(evaluation), nl=False)


def _stored_items(database_url: str, since: dt.date | None) -> Iterator[tuple[str, Any, dict[str, Any]]]:
    from sqlalchemy import select

    from moderation.services.classification import item_from_submission
    from moderation.store.db import session_scope
    from moderation.store.models import Decision, Submission

    with session_scope(database_url) as session:
        q = (
            select(Submission, Decision)
            .join(Decision, Decision.submission_id == Submission.id)
            .where(Decision.source == "automated", Decision.superseded_by_id.is_(None))
            .order_by(Decision.seq)
        )
        if since is not None:
            q = q.where(Submission.received_at >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
        for sub, dec in session.execute(q):
            yield sub.id, item_from_submission(sub), dict(dec.evaluation or {})


@click.command()
@click.option(
    "--pack",
    "pack_dir",
    required=True,
    type=click.Path(path_type=Path, exists=True),
    help="Candidate policies folder (or one pack).",
)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only submissions received since DATE.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def backtest(pack_dir: Path, since: dt.datetime | None, as_json: bool) -> None:
    """Replay stored submissions against candidate packs and report new and dropped flags (writes nothing)."""
    from moderation.policy.backtest import backtest as run_backtest

    try:
        candidate = load_packs(pack_dir)
    except PackValidationError as exc:
        raise click.ClickException(str(exc)) from None
    items = _stored_items(_database_url(), since.date() if since else None)
    report = run_backtest(items, candidate, registries=None)
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(report.to_text(), nl=False)
