"""``moderation report``: generate the semiannual (Circular 07/2008 §6) and ad-hoc reports, compare frozen ones.

Records come from the database through ``moderation.store.reporting.load_report_input`` or, with ``--input``,
from a records JSON file (the format of :mod:`moderation.reports.records`, see docs/reports.md).
"""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from moderation.reports.aggregate import build_report
from moderation.reports.freeze import diff_reports, freeze, load_frozen
from moderation.reports.periods import DEFAULT_REGIME, Period, adhoc, semiannual
from moderation.reports.records import ReportInput, from_json, to_json
from moderation.reports.render import FORMATS, renderer

ALL_PLATFORMS_OPTION = "all"  # --platform all: the provider's report over all its (non-test) platforms


def _load_input(input_path: Path | None, platform: str | None, period: Period) -> ReportInput:
    if input_path is not None:
        data = json.loads(input_path.read_text(encoding="utf-8"))
        records = from_json(ReportInput, data)
        if platform and platform != records.platform_id:
            raise click.UsageError(f"--platform {platform} but {input_path} holds records of {records.platform_id}")
        return records
    if not platform:
        raise click.UsageError("give --platform (records from the database) or --input records.json")
    try:
        from moderation.store.reporting import load_report_input
    except ImportError as exc:
        raise click.UsageError(
            f"the database loader is not available ({exc}); pass the records with --input records.json"
        ) from exc
    from moderation.config import load_settings
    from moderation.store.db import session_scope

    scope = None if platform == ALL_PLATFORMS_OPTION else platform
    try:
        with session_scope(load_settings().database_url) as session:
            loaded: ReportInput = load_report_input(session, scope, period.start, period.end)
    except LookupError as exc:
        raise click.UsageError(f"--platform {platform}: {exc}") from exc
    return loaded


def _generate(
    period: Period,
    *,
    fmt: str,
    out: Path,
    input_path: Path | None,
    platform: str | None,
    number: str,
    report_date: datetime | None,
    as_of: datetime | None,
) -> None:
    records = _load_input(input_path, platform, period)
    report = build_report(records, period, as_of=as_of)
    frozen = freeze(
        report,
        number=number,
        report_date=report_date.date() if report_date else None,
        generated_at=datetime.now().astimezone(),
    )
    out.write_bytes(renderer(fmt)(frozen))
    click.echo(f"{period.key}: {fmt} written to {out} (sha256 {frozen.sha256})")
    for check in report.checks:
        click.echo(f"check: {check}", err=True)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    from moderation.reports.periods import VN_TZ

    return value.replace(tzinfo=VN_TZ)  # a bare time on the command line is Vietnam time


_common = [
    click.option("--format", "fmt", type=click.Choice(FORMATS), default="pdf", show_default=True),
    click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True),
    click.option("--platform", help="Platform id (records from the database); 'all' for every platform."),
    click.option(
        "--input",
        "input_path",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Records JSON instead of the database.",
    ),
    click.option("--regime", default=DEFAULT_REGIME, show_default=True, help="Calendar in calendars.yaml."),
    click.option("--number", default="", help="Report number printed after 'Số:'."),
    click.option("--date", "report_date", type=click.DateTime(["%Y-%m-%d"]), help="Date on the date line."),
    click.option(
        "--as-of",
        type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
        help="Cut-off for the records (default: end of the period); no offset means Vietnam time.",
    ),
]


def _with_common(func: Any) -> Any:
    for option in reversed(_common):
        func = option(func)
    return func


@click.group()
def report() -> None:
    """Generate and compare compliance reports (Circular 07/2008/TT-BTTTT §6)."""


@report.command("semiannual")
@click.option("--year", type=int, required=True)
@click.option("--half", type=click.IntRange(1, 2), required=True, help="1: Jan-Jun, 2: Jul-Dec.")
@_with_common
def semiannual_cmd(
    *,
    year: int,
    half: int,
    fmt: str,
    out: Path,
    platform: str | None,
    input_path: Path | None,
    regime: str,
    number: str,
    report_date: datetime | None,
    as_of: datetime | None,
) -> None:
    """Generate the six-monthly report."""
    period = semiannual(year, half, regime)
    _generate(
        period,
        fmt=fmt,
        out=out,
        input_path=input_path,
        platform=platform,
        number=number,
        report_date=report_date,
        as_of=_aware(as_of),
    )


@report.command("adhoc")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True, help="First day (inclusive).")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), required=True, help="Last day (inclusive).")
@_with_common
def adhoc_cmd(
    *,
    first: datetime,
    last: datetime,
    fmt: str,
    out: Path,
    platform: str | None,
    input_path: Path | None,
    regime: str,
    number: str,
    report_date: datetime | None,
    as_of: datetime | None,
) -> None:
    """Generate an ad-hoc report for any range of days, on request of the competent authority (§6.1)."""
    try:
        period = adhoc(first.date(), last.date(), regime)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc
    _generate(
        period,
        fmt=fmt,
        out=out,
        input_path=input_path,
        platform=platform,
        number=number,
        report_date=report_date,
        as_of=_aware(as_of),
    )


@report.command("diff")
@click.argument("old", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def diff_cmd(old: Path, new: Path) -> None:
    """Compare two frozen JSON reports; exit 1 when they differ."""
    a = load_frozen(json.loads(old.read_text(encoding="utf-8")))
    b = load_frozen(json.loads(new.read_text(encoding="utf-8")))
    differences = diff_reports(a, b)
    for d in differences:
        click.echo(str(d))
    if differences:
        sys.exit(1)
    click.echo(f"same numbers and ids (sha256 {a.sha256})")


@report.command("sample-input")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--year", type=int, default=2024, show_default=True)
def sample_input_cmd(out: Path, year: int) -> None:
    """Write fictional records (every counting rule exercised) to try the reports without a database."""
    from moderation.reports.sample import sample_input

    data = to_json(sample_input(year=year))
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    click.echo(f"sample records written to {out}")
