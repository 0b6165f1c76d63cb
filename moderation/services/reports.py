"""Reports in the store: load the records, compute, freeze, keep every version, render again from what was kept.

``generate`` always stores a new version (``Report.version`` counts up per scope, kind and period) and records in
``Report.changes`` what differs from the previous version (``diff_reports``): an empty list means the same numbers
and ids. ``latest_or_generate`` is what the API uses: it returns the latest version when regenerating gives the same
SHA-256, so reading a report does not pile up identical versions.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer

from moderation.reports.aggregate import build_report
from moderation.reports.freeze import FrozenReport, diff_reports, freeze, load_frozen
from moderation.reports.periods import (
    DEFAULT_REGIME,
    Period,
    adhoc,
    get_calendar,
    period_for,
    periods_closed_between,
    previous_period,
    reminders_due,
    semiannual,
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
    reuse_unchanged: bool = False,
) -> Report:
    """Compute the report of ``platform_id`` (None: all platforms) for the period ``start``..``end`` and store it.

    Regenerating the same period stores a new version; its ``changes`` list the differences from the previous one.
    With ``reuse_unchanged`` the latest version is returned instead when it has the same SHA-256 (a repeated
    request, such as a double-clicked form, stores nothing new).
    """
    period = period_of(kind, start, end, regime)
    computed = compute(session, platform_id, period, as_of=as_of, number=number, report_date=report_date, now=now)
    if reuse_unchanged:
        previous = latest(session, platform_id, period.kind, period.key)
        if previous is not None and previous.sha256 == computed.frozen.sha256:
            return previous
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


# --- The console: requests checked like the API's, the periods with their status, open reminders, the profile ------

MIN_YEAR = 2008  # Circular 07/2008 took effect in 2009; nothing to report before
MAX_ADHOC_DAYS = 3 * 366  # an ad-hoc range longer than this is a query to split


class RequestInvalid(ValueError):
    """A report request or a profile the console refuses; ``field`` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _day(value: str | None, field: str) -> dt.date:
    raw = (value or "").strip()
    if not _DAY.fullmatch(raw):
        raise RequestInvalid(field, "a date YYYY-MM-DD is required")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise RequestInvalid(field, f"{raw} is not a calendar date") from None


def requested_period(kind: str, form: Mapping[str, str], today: dt.date, regime: str = DEFAULT_REGIME) -> Period:
    """The period a form asks for: ``year`` and ``half`` (semiannual) or ``from`` and ``to`` (ad hoc, days inclusive).

    The limits are the API's: from 2008, not a period that has not started, an ad-hoc range of at most three years
    that ends today at the latest. Raises :class:`RequestInvalid` naming the field.
    """
    if kind == "semiannual":
        year_raw, half_raw = (form.get("year") or "").strip(), (form.get("half") or "").strip()
        if not re.fullmatch(r"\d{4}", year_raw) or not MIN_YEAR <= int(year_raw) <= today.year:
            raise RequestInvalid("year", f"the year must be between {MIN_YEAR} and {today.year}")
        halves = len(get_calendar(regime).periods)
        if not re.fullmatch(r"\d", half_raw) or not 1 <= int(half_raw) <= halves:
            raise RequestInvalid("half", f"the half must be between 1 and {halves}")
        period = semiannual(int(year_raw), int(half_raw), regime)
        if period.first_day > today:
            raise RequestInvalid("half", f"the period {period.key} has not started yet")
        return period
    if kind != "adhoc":
        raise RequestInvalid("kind", f"kind must be one of {', '.join(KINDS)}")
    first, last = _day(form.get("from"), "from"), _day(form.get("to"), "to")
    if first.year < MIN_YEAR:
        raise RequestInvalid("from", f"from must be in {MIN_YEAR} or later")
    if last < first:
        raise RequestInvalid("to", "to is before from")
    if last > today:
        raise RequestInvalid("to", "to is in the future")
    if (last - first).days + 1 > MAX_ADHOC_DAYS:
        raise RequestInvalid("to", f"an ad-hoc report covers at most {MAX_ADHOC_DAYS} days")
    return adhoc(first, last, regime)


def regenerate(session: Session, report: Report, *, actor: str, now: dt.datetime | None = None) -> Report:
    """Compute ``report``'s period and scope again and store the next version (its ``changes`` against the latest)."""
    document = report.content.get("document") or {}
    day = document.get("date")
    return generate(
        session,
        report.platform_id,
        report.kind,
        report.period_start,
        report.period_end,
        report.regime,
        number=report.number,
        report_date=dt.date.fromisoformat(day) if isinstance(day, str) else None,
        actor=actor,
        now=now,
    )


def listing(session: Session, limit: int = 200) -> list[Report]:
    """The latest version of each stored report (scope, kind, period), newest first; ``content`` is not loaded."""
    rows = session.scalars(
        select(Report)
        .options(defer(Report.content), defer(Report.changes))
        .order_by(Report.generated_at.desc(), Report.version.desc())
        .limit(limit)
    )
    seen: set[tuple[str, str, str]] = set()
    found: list[Report] = []
    for row in rows:
        key = (row.scope, row.kind, row.period_key)
        if key not in seen:
            seen.add(key)
            found.append(row)
    return found


@dataclass(frozen=True)
class ScopeStatus:
    """Where one platform's (or, ``platform_id`` None, the provider's) report for a period stands."""

    platform_id: str | None
    name: str
    latest: Report | None
    final: Report | None  # the latest version marked final

    @property
    def state(self) -> str:
        if self.final is not None:
            return "final"
        return "draft" if self.latest is not None else "none"


@dataclass(frozen=True)
class PeriodStatus:
    """A calendar period, its due date and the report of each platform that has to send one."""

    period: Period
    today: dt.date
    scopes: tuple[ScopeStatus, ...]

    @property
    def closed(self) -> bool:
        return self.today > self.period.last_day

    @property
    def days_left(self) -> int | None:
        """Days until the due date (``due_before``): 0 or less means overdue."""
        return None if self.period.due_before is None else (self.period.due_before - self.today).days

    @property
    def waiting(self) -> tuple[ScopeStatus, ...]:
        """The platforms without a final version."""
        return tuple(s for s in self.scopes if s.platform_id is not None and s.final is None)

    @property
    def overdue(self) -> bool:
        return self.days_left is not None and self.days_left <= 0 and bool(self.waiting)


def semiannual_overview(
    session: Session, today: dt.date, regime: str = DEFAULT_REGIME, closed: int = 3
) -> list[PeriodStatus]:
    """The current calendar period and the ``closed`` before it, newest first, each with every reporting platform
    that existed before the period ended or has a report for it (and the all-platforms report when there is one)."""
    periods = [period_for(today, regime)]
    for _ in range(closed):
        periods.append(previous_period(periods[-1]))
    platforms = reporting_platforms(session)
    rows = list(
        session.scalars(
            select(Report)
            .options(defer(Report.content), defer(Report.changes))
            .where(Report.kind == "semiannual", Report.period_key.in_([p.key for p in periods]))
            .order_by(Report.version)
        )
    )
    out: list[PeriodStatus] = []
    for period in periods:
        mine = [r for r in rows if r.period_key == period.key and r.regime == period.regime]

        def status(platform_id: str | None, name: str, mine: list[Report] = mine) -> ScopeStatus:
            versions_ = [r for r in mine if r.scope == scope_of(platform_id)]
            finals = [r for r in versions_ if r.status == "final"]
            return ScopeStatus(platform_id, name, versions_[-1] if versions_ else None, finals[-1] if finals else None)

        stored = {r.scope for r in mine}
        scopes = [status(p.id, p.name) for p in platforms if _aware(p.created_at) < period.end or p.id in stored]
        if ALL_PLATFORMS in stored:
            scopes.append(status(None, ""))
        out.append(PeriodStatus(period, today, tuple(scopes)))
    return out


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


@dataclass(frozen=True)
class OpenReminder:
    """A reminder the beat recorded (``report.reminder``) for a report still due, with who has not finalised yet."""

    period_key: str
    due_before: dt.date
    days_left: int  # from today
    recorded_at: dt.datetime
    waiting: tuple[tuple[str, str], ...]  # (platform id, name) still without a final version


def open_reminders(session: Session, today: dt.date, within_days: int = 10) -> list[OpenReminder]:
    """The latest recorded reminder of each period due within ``within_days`` days (not overdue yet) whose platforms
    do not all have a final version yet, soonest due first."""
    # Reminders go out at most ``within_days`` days before the due day: older entries are about earlier periods.
    since = dt.datetime.combine(today - dt.timedelta(days=within_days + 2), dt.time(0), dt.UTC)
    entries = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.action == "report.reminder", AuditEntry.at >= since)
        .order_by(AuditEntry.seq.desc())
        .limit(50)
    )
    found: dict[str, OpenReminder] = {}
    for entry in entries:
        details = entry.details or {}
        key = str(details.get("period") or "")
        try:
            due = dt.date.fromisoformat(str(details.get("due_before")))
        except ValueError:
            continue
        days_left = (due - today).days
        if key in found or not 0 < days_left <= within_days:
            continue
        waiting = []
        for pid in details.get("platforms_without_final") or []:
            final = session.scalar(
                select(Report.id)
                .where(Report.scope == str(pid), Report.period_key == key, Report.status == "final")
                .limit(1)
            )
            platform = session.get(Platform, str(pid))
            if final is None and platform is not None:
                waiting.append((platform.id, platform.name))
        if waiting:
            found[key] = OpenReminder(key, due, days_left, _aware(entry.at), tuple(waiting))
    return sorted(found.values(), key=lambda r: r.due_before)


# The §6.2 (a)-(d) provider profile kept in Platform.profile (the field names of records.ProviderProfile).
PROFILE_TEXT = {
    # field: (maximum length, required for a complete profile)
    "provider_name": (300, True),
    "registration_number": (100, True),
    "office_address": (500, True),
    "representative_name": (200, True),
    "representative_title": (200, False),
    "representative_phone": (50, True),
    "representative_email": (254, True),
    "place": (100, False),
}
PROFILE_DATES = ("registration_date", "service_start_date")
PROFILE_FIELDS = (
    "provider_name",
    "registration_number",
    "registration_date",
    "service_start_date",
    "office_address",
    "representative_name",
    "representative_title",
    "representative_phone",
    "representative_email",
    "place",
    "recipients",
)
MAX_RECIPIENTS = 10
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PHONE = re.compile(r"[0-9+()./ \-]+")


def _line(value: str, field: str, limit: int) -> str:
    text = value.strip()
    if any(unicodedata.category(c) in {"Cc", "Cs"} for c in text):
        raise RequestInvalid(field, "control characters are not allowed")
    if len(text) > limit:
        raise RequestInvalid(field, f"at most {limit} characters")
    return unicodedata.normalize("NFC", text)


def clean_profile(form: Mapping[str, str], today: dt.date) -> dict[str, Any]:
    """Check a profile form and return what to store (empty fields left out: the document shows a blank).

    Dates are ``YYYY-MM-DD`` and not in the future; the e-mail must have an address's shape (no DNS look-up); the
    phone holds digits, spaces and ``+ ( ) . / -``; recipients are one per line. Raises :class:`RequestInvalid`.
    """
    out: dict[str, Any] = {}
    for name, (limit, _required) in PROFILE_TEXT.items():
        value = _line(form.get(name) or "", name, limit)
        if not value:
            continue
        if name == "representative_email":
            try:
                value = validate_email(value, check_deliverability=False).normalized
            except EmailNotValidError as exc:
                raise RequestInvalid(name, str(exc)) from None
        if name == "representative_phone" and (not _PHONE.fullmatch(value) or sum(c.isdigit() for c in value) < 6):
            raise RequestInvalid(name, "a phone number: digits, spaces and + ( ) . / - only, at least 6 digits")
        out[name] = value
    for name in PROFILE_DATES:
        raw = (form.get(name) or "").strip()
        if raw:
            day = _day(raw, name)
            if day > today:
                raise RequestInvalid(name, "the date is in the future")
            out[name] = day.isoformat()
    lines = [_line(r, "recipients", 300) for r in (form.get("recipients") or "").splitlines()]
    recipients = [r for r in lines if r]
    if len(recipients) > MAX_RECIPIENTS:
        raise RequestInvalid("recipients", f"at most {MAX_RECIPIENTS} recipients")
    if recipients:
        out["recipients"] = recipients
    return out


def profile_gaps(platform: Platform) -> list[str]:
    """The §6.2 (a)-(d) fields still empty in the platform's profile."""
    data = platform.profile or {}
    wanted = [n for n, (_, required) in PROFILE_TEXT.items() if required] + list(PROFILE_DATES)
    return [n for n in PROFILE_FIELDS if n in wanted and not data.get(n)]


def update_profile(
    session: Session, platform: Platform, form: Mapping[str, str], *, actor: str, today: dt.date
) -> list[str]:
    """Store the checked profile and audit it (``platform.profile``, before and after of each changed field).

    Returns the changed fields; nothing is written or audited when nothing changed.
    """
    new = clean_profile(form, today)
    old = dict(platform.profile or {})
    changed = sorted(n for n in set(old) | set(new) if old.get(n) != new.get(n))
    if not changed:
        return []
    platform.profile = new  # a new dict: the JSON column is not mutation-tracked
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="platform.profile",
        object_type="platform",
        object_id=platform.id,
        platform_id=platform.id,
        details={"changed": {n: {"before": old.get(n), "after": new.get(n)} for n in changed}},
    )
    return changed


def requested_document(form: Mapping[str, str]) -> tuple[str, dt.date | None]:
    """The document number (printed after "Số:") and the date line a form asks for; both optional."""
    number = _line(form.get("number") or "", "number", 100)
    raw = (form.get("date") or "").strip()
    return number, (_day(raw, "date") if raw else None)
