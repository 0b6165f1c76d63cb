"""Reports in the store: load the records, compute, freeze, keep every version, render again from what was kept.

``generate`` always stores a new version (``Report.version`` counts up per scope, kind and period) and records in
``Report.changes`` what differs from the previous version (``diff_reports``): an empty list means the same numbers
and ids. ``latest_or_generate`` is what the API uses: it returns the latest version when regenerating gives the same
SHA-256, so reading a report does not pile up identical versions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from moderation.reports.aggregate import build_report
from moderation.reports.freeze import FrozenReport, diff_reports, freeze, load_frozen
from moderation.reports.periods import (
    DEFAULT_REGIME,
    Period,
    adhoc,
    get_calendar,
    period_for,
    periods_closed_between,
    reminders_due,
)
from moderation.reports.render import FORMATS, renderer
from moderation.services import audit
from moderation.store.base import utcnow
from moderation.store.models import AuditEntry, Platform
from moderation.store.reporting import load_report_input
from moderation.store.reports import ALL_PLATFORMS, Report

KINDS = ("semiannual", "adhoc")

MEDIA_TYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def period_of(kind: str, start: dt.date, end: dt.date, regime: str = DEFAULT_REGIME) -> Period:
    """Return the period for ``kind`` from its first and last day (inclusive).

    A semiannual period must be one of the regime's calendar periods exactly. Raises ``ValueError`` otherwise, and
    ``KeyError`` for an unknown regime.
    """
    get_calendar(regime)
    if kind == "adhoc":
        return adhoc(start, end, regime)
    if kind != "semiannual":
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    period = period_for(start, regime)
    if (period.first_day, period.last_day) != (start, end):
        raise ValueError(
            f"{start}..{end} is not a {regime} period (the one containing {start} is "
            f"{period.first_day}..{period.last_day})"
        )
    return period


def scope_of(platform_id: str | None) -> str:
    return platform_id if platform_id is not None else ALL_PLATFORMS


def versions(session: Session, platform_id: str | None, kind: str, period_key: str) -> list[Report]:
    """Every stored version of a report, oldest first."""
    return list(
        session.scalars(
            select(Report)
            .where(Report.scope == scope_of(platform_id), Report.kind == kind, Report.period_key == period_key)
            .order_by(Report.version)
        )
    )


def latest(session: Session, platform_id: str | None, kind: str, period_key: str) -> Report | None:
    found: Report | None = session.scalars(
        select(Report)
        .where(Report.scope == scope_of(platform_id), Report.kind == kind, Report.period_key == period_key)
        .order_by(Report.version.desc())
        .limit(1)
    ).first()
    return found


@dataclass(frozen=True)
class Computed:
    """A frozen report computed from the store, not stored yet."""

    period: Period
    frozen: FrozenReport
    checks: tuple[str, ...]


def compute(
    session: Session,
    platform_id: str | None,
    period: Period,
    *,
    as_of: dt.datetime | None = None,
    number: str = "",
    report_date: dt.date | None = None,
    now: dt.datetime | None = None,
) -> Computed:
    """Load the records and freeze the report for ``period`` (nothing is written)."""
    records = load_report_input(session, platform_id, period.start, period.end)
    report = build_report(records, period, as_of=as_of)
    frozen = freeze(report, number=number, report_date=report_date, generated_at=now or utcnow())
    return Computed(period, frozen, report.checks)


def store(
    session: Session,
    platform_id: str | None,
    computed: Computed,
    *,
    actor: str = "system:reports",
    status: str = "draft",
) -> Report:
    """Store ``computed`` as the next version of its report, with the differences from the previous version."""
    period = computed.period
    previous = latest(session, platform_id, period.kind, period.key)
    changes: list[dict[str, Any]] = []
    if previous is not None:
        changes = [d.to_json() for d in diff_reports(previous.content, computed.frozen)]
    next_version = (
        session.scalar(
            select(func.max(Report.version)).where(
                Report.scope == scope_of(platform_id), Report.kind == period.kind, Report.period_key == period.key
            )
        )
        or 0
    ) + 1
    generated = computed.frozen.document.get("generated_at")
    row = Report(
        platform_id=platform_id,
        scope=scope_of(platform_id),
        kind=period.kind,
        regime=period.regime,
        period_key=period.key,
        period_start=period.first_day,
        period_end=period.last_day,
        version=next_version,
        number=str(computed.frozen.document.get("number") or ""),
        generated_at=dt.datetime.fromisoformat(generated) if isinstance(generated, str) else utcnow(),
        generated_by=actor,
        sha256=computed.frozen.sha256,
        content=computed.frozen.to_json(),
        changes=changes,
        status=status,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="report.generate",
        object_type="report",
        object_id=row.id,
        platform_id=platform_id,
        details={
            "kind": row.kind,
            "period": row.period_key,
            "regime": row.regime,
            "version": row.version,
            "sha256": row.sha256,
            "changes": len(changes),
            "checks": list(computed.checks),
        },
    )
    return row


def generate(  # noqa: PLR0917 - the signature the CLI, beat and API agreed on
    session: Session,
    platform_id: str | None,
    kind: str,
    start: dt.date,
    end: dt.date,
    regime: str = DEFAULT_REGIME,
    *,
    as_of: dt.datetime | None = None,
    number: str = "",
    report_date: dt.date | None = None,
    actor: str = "system:reports",
    now: dt.datetime | None = None,
) -> Report:
    """Compute the report of ``platform_id`` (None: all platforms) for the period ``start``..``end`` and store it.

    Regenerating the same period stores a new version; its ``changes`` list the differences from the previous one.
    """
    period = period_of(kind, start, end, regime)
    computed = compute(session, platform_id, period, as_of=as_of, number=number, report_date=report_date, now=now)
    return store(session, platform_id, computed, actor=actor)


def latest_or_generate(
    session: Session, platform_id: str | None, period: Period, *, actor: str, now: dt.datetime | None = None
) -> Report:
    """Return the latest stored version when the records still give the same SHA-256, else store a new version."""
    computed = compute(session, platform_id, period, now=now)
    previous = latest(session, platform_id, period.kind, period.key)
    if previous is not None and previous.sha256 == computed.frozen.sha256:
        return previous
    return store(session, platform_id, computed, actor=actor)


def frozen_of(report: Report) -> FrozenReport:
    """Return the stored frozen report (its SHA-256 checked: ``ReportIntegrityError`` when it was altered)."""
    return load_frozen(report.content)


def render(report: Report, fmt: str) -> bytes:
    """Render a stored report to ``json``, ``csv``, ``xlsx`` or ``pdf``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return renderer(fmt)(frozen_of(report))


def filename(report: Report, fmt: str) -> str:
    scope = "all" if report.platform_id is None else report.platform_id
    return f"report-{scope}-{report.period_key}-v{report.version}.{fmt}"


def finalize(session: Session, report: Report, *, actor: str) -> Report:
    """Mark a version as the one signed and sent (``final``)."""
    report.status = "final"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="report.finalize",
        object_type="report",
        object_id=report.id,
        platform_id=report.platform_id,
        details={"period": report.period_key, "version": report.version, "sha256": report.sha256},
    )
    return report


def report_json(report: Report) -> Mapping[str, Any]:
    """What the API shows about a stored version besides the file itself."""
    return {
        "id": report.id,
        "platform_id": report.platform_id,
        "kind": report.kind,
        "regime": report.regime,
        "period": report.period_key,
        "first_day": report.period_start.isoformat(),
        "last_day": report.period_end.isoformat(),
        "version": report.version,
        "number": report.number,
        "status": report.status,
        "generated_at": report.generated_at.isoformat(),
        "sha256": report.sha256,
        "changes": report.changes,
    }


# --- The beat: draft the semiannual report when a period closes, remind before it is due -------------------------

DRAFT_ACTOR = "system:reports-beat"
REMINDER_ACTOR = "system:reports-reminders"
# Without an earlier run, periods that closed this long ago are still drafted (a beat down at the close).
FIRST_RUN_LOOKBACK = dt.timedelta(days=45)


def reporting_platforms(session: Session) -> list[Platform]:
    """The platforms that report: active, not test platforms."""
    return list(
        session.scalars(
            select(Platform)
            .where(Platform.is_test.is_(False), Platform.active.is_(True))
            .order_by(Platform.created_at, Platform.id)
        )
    )


def last_draft_run(session: Session) -> dt.datetime | None:
    """When the beat last drafted a report (the start of the next window)."""
    last: dt.datetime | None = session.scalar(
        select(func.max(Report.generated_at)).where(Report.generated_by == DRAFT_ACTOR)
    )
    return last


def draft_closed_periods(
    session: Session, now: dt.datetime | None = None, regime: str = DEFAULT_REGIME
) -> list[Report]:
    """Draft the semiannual report of every reporting platform for each period closed since the last run.

    Idempotent: a platform that has any version for the period already is skipped, so running twice (or two beats
    at once: the unique version number makes the second insert fail and it is skipped) drafts once.
    """
    now = now or utcnow()
    since = last_draft_run(session) or now - FIRST_RUN_LOOKBACK
    drafted: list[Report] = []
    for period in periods_closed_between(min(since, now - dt.timedelta(seconds=1)), now, regime):
        for platform in reporting_platforms(session):
            if latest(session, platform.id, period.kind, period.key) is not None:
                continue
            try:
                with session.begin_nested():
                    computed = compute(session, platform.id, period, now=now)
                    drafted.append(store(session, platform.id, computed, actor=DRAFT_ACTOR))
            except IntegrityError:
                continue  # drafted by a concurrent run
    return drafted


@dataclass(frozen=True)
class ReminderSent:
    """A reminder recorded in the audit trail: which period, how many days are left, who has not finalised."""

    period: Period
    due_before: dt.date
    days_left: int
    platforms: tuple[tuple[str, str, str], ...]  # (id, name, representative e-mail) without a final version

    @property
    def key(self) -> str:
        return f"{self.period.key}/{self.days_left}d"

    def subject(self) -> str:
        due = self.due_before.strftime("%d/%m/%Y")
        return (
            f"[Nhắc hạn] Báo cáo {self.period.label_vi} {self.period.first_day.year} ({self.period.key}): "
            f"còn {self.days_left} ngày, gửi trước ngày {due}"
        )

    def body(self) -> str:
        lines = [
            f"Báo cáo định kỳ {self.period.key} ({self.period.first_day:%d/%m/%Y} - {self.period.last_day:%d/%m/%Y})"
            f" theo Thông tư 07/2008/TT-BTTTT mục 6 phải gửi trước ngày {self.due_before:%d/%m/%Y}"
            f" (còn {self.days_left} ngày).",
            "",
            "Nền tảng chưa có bản báo cáo chính thức (final):" if self.platforms else "Mọi nền tảng đã có bản final.",
        ]
        lines += [f"- {name} ({pid})" for pid, name, _ in self.platforms]
        lines += ["", "Tạo báo cáo: moderation report semiannual --year Y --half N --platform ID --format pdf --out F"]
        return "\n".join(lines) + "\n"


def due_reminders(session: Session, now: dt.datetime | None = None, regime: str = DEFAULT_REGIME) -> list[ReminderSent]:
    """Record (once each) the reminders due today in Vietnam time, 10 and 3 days before the due date."""
    now = now or utcnow()
    sent: list[ReminderSent] = []
    for reminder in reminders_due(now, regime):
        platforms = reporting_platforms(session)
        waiting = []
        for p in platforms:
            final = session.scalar(
                select(Report.id)
                .where(
                    Report.scope == p.id,
                    Report.kind == reminder.period.kind,
                    Report.period_key == reminder.period.key,
                    Report.status == "final",
                )
                .limit(1)
            )
            if final is None:
                waiting.append((p.id, p.name, str((p.profile or {}).get("representative_email") or "")))
        item = ReminderSent(reminder.period, reminder.due_before, reminder.days_left, tuple(waiting))
        done = session.scalar(
            select(AuditEntry.seq)
            .where(AuditEntry.action == "report.reminder", AuditEntry.object_id == item.key)
            .limit(1)
        )
        if done is not None:
            continue
        audit.record(
            session,
            actor=REMINDER_ACTOR,
            action="report.reminder",
            object_type="report_period",
            object_id=item.key,
            details={
                "period": reminder.period.key,
                "regime": reminder.period.regime,
                "due_before": reminder.due_before.isoformat(),
                "days_left": reminder.days_left,
                "platforms_without_final": [pid for pid, _, _ in waiting],
            },
        )
        sent.append(item)
    return sent
