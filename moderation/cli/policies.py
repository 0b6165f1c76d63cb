"""``moderation policies``, ``moderation explain`` and ``moderation backtest``.

``policies validate`` needs only the pack files (CI runs it on every shipped pack); ``explain`` and ``backtest``
read stored decisions and submissions through ``moderation.store``.
"""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def _read_only_session(database_url: str) -> Iterator[Any]:
    """A session that is rolled back, never committed: explain and backtest write nothing."""
    from moderation.store.db import session_factory

    session = session_factory(database_url)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@click.command()
@click.argument("submission_id")
@click.option("--json", "as_json", is_flag=True, help="Print the stored evaluation as JSON.")
def explain(submission_id: str, as_json: bool) -> None:
    """Explain, rule by rule, the automated decision on SUBMISSION_ID (a sub_… id, or a dec_… decision id)."""
    from sqlalchemy import select

    from moderation.store.models import Decision, Submission

    with _read_only_session(_database_url()) as session:
        if submission_id.startswith("dec_"):
            first = session.scalars(select(Decision).where(Decision.id == submission_id)).one_or_none()
            submission_id = first.submission_id if first is not None else submission_id
        sub = session.get(Submission, submission_id)
        if sub is None:
            raise click.ClickException(f"no submission {submission_id}")
        decisions = list(
            session.scalars(select(Decision).where(Decision.submission_id == sub.id).order_by(Decision.seq))
        )
        auto = next((d for d in decisions if d.dedupe_key == f"auto:{sub.id}"), None)
        row = auto or next((d for d in reversed(decisions) if d.evaluation), None)
        if row is None:
            raise click.ClickException(f"no decision yet for submission {sub.id} (status {sub.status})")
        evaluation = dict(row.evaluation or {})
        header = [
            f"submission {sub.id}: {sub.kind} {sub.external_id!r} rev {sub.revision} of platform {sub.platform_id}",
            f"decision {row.id} ({row.source}, {row.verdict}, action {row.action}) at {row.created_at.isoformat()}",
        ]
        current = next((d for d in reversed(decisions) if d.superseded_by_id is None), None)
        if current is not None and current.id != row.id:
            why = f": {current.reason}" if current.reason else ""
            header.append(f"in force now: decision {current.id} ({current.source}, {current.verdict}){why}")
    evaluation = _expanded(evaluation)
    if as_json:
        click.echo(json.dumps(evaluation, ensure_ascii=False, indent=2))
        return
    click.echo("\n".join(header))
    if not evaluation.get("rules") and not evaluation.get("quiet_rules"):
        click.echo("(no rule trace stored with this decision)")
    click.echo(explain_text(evaluation), nl=False)


def _expanded(evaluation: dict[str, Any]) -> dict[str, Any]:
    """The stored evaluation with the trace entries of its quiet rules rebuilt from the packs loaded here (those
    of the same version; see ``Classifier.expand_record``)."""
    if not evaluation.get("quiet_rules"):
        return evaluation
    from moderation.config import load_settings
    from moderation.policy import Classifier

    return Classifier(load_packs(Path(load_settings().policies_dir))).expand_record(evaluation)


def _stored_items(session: Any, since: dt.date | None) -> Iterator[tuple[str, Any, dict[str, Any], Any]]:
    """Each decided submission with the automated decision it got, oldest first (history as stored now)."""
    from sqlalchemy import select

    from moderation.services.classification import history_for, item_from_submission
    from moderation.store.models import Decision, Submission

    q = (
        select(Submission, Decision)
        .join(Decision, Decision.submission_id == Submission.id)
        .where(Decision.source == "automated", Decision.dedupe_key.like("auto:%"))
        .order_by(Decision.seq)
    )
    if since is not None:
        q = q.where(Submission.received_at >= dt.datetime.combine(since, dt.time(), tzinfo=dt.UTC))
    for sub, dec in session.execute(q.execution_options(yield_per=500)):
        yield sub.id, item_from_submission(sub), dict(dec.evaluation or {}), history_for(session, sub)


def _candidate_packs(pack_dir: Path) -> tuple[Any, list[str]]:
    """Load the candidate packs; a single pack folder is completed with the other packs in force now."""
    from moderation.config import load_settings
    from moderation.policy.pack import ENTRY_FILE, PackSet

    candidate = load_packs(pack_dir)
    if not (pack_dir / ENTRY_FILE).is_file():
        return candidate, []
    current = load_packs(Path(load_settings().policies_dir))
    kept = [p for p in current if p.id not in candidate.versions]
    return PackSet([*candidate, *kept], pack_dir.parent), [p.id for p in kept]


@click.command()
@click.option(
    "--pack",
    "pack_dir",
    required=True,
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Candidate policies folder, or one pack folder (the other packs in force are kept).",
)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only submissions received since DATE.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def backtest(pack_dir: Path, since: dt.datetime | None, as_json: bool) -> None:
    """Replay stored submissions against candidate packs and report new and dropped flags (writes nothing).

    The replay sees the registries (feeds, entities, works, removed URLs) and the author and blog history stored
    at DATABASE_URL now, so a difference comes from the packs, not from a missing registry.
    """
    from moderation.policy.backtest import backtest as run_backtest
    from moderation.services.registries import load_registries

    try:
        candidate, kept = _candidate_packs(pack_dir)
    except PackValidationError as exc:
        raise click.ClickException(str(exc)) from None
    with _read_only_session(_database_url()) as session:
        registries = load_registries(session)
        items = _stored_items(session, since.date() if since else None)
        report = run_backtest(items, candidate, registries=registries)
    if as_json:
        click.echo(json.dumps({**report.to_json(), "kept_from_current": kept}, ensure_ascii=False, indent=2))
    else:
        if kept:
            click.echo(f"(packs in force kept beside the candidate: {', '.join(kept)})")
        click.echo(report.to_text(), nl=False)
