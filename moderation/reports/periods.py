"""Reporting periods, due dates and reminders, from the calendars in ``data/calendars.yaml``.

Periods run in Vietnam time: a period starts at 00:00 Asia/Ho_Chi_Minh on its first day and ends at 24:00 on its
last day (``end`` is exclusive). A report is due *before* ``due_before`` (Circular 07/2008 §6.3: "trước ngày 15
tháng Bảy"), so the last day to send it is the day before. The lead's beat task calls
:func:`periods_closed_between` and :func:`reminders_due`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

DEFAULT_REGIME = "vn-circular-07-2008"
CALENDARS_FILE = Path(__file__).resolve().parent / "data" / "calendars.yaml"

PeriodKind = Literal["semiannual", "adhoc"]


def vietnam_tz(name: str = "Asia/Ho_Chi_Minh") -> tzinfo:
    """Return the zone; Vietnam has kept UTC+7 without DST since 1975, so a fixed offset is a safe fallback."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # no system tzdata and no tzdata wheel
        return timezone(timedelta(hours=7), "ICT")


VN_TZ = vietnam_tz()


@dataclass(frozen=True, slots=True)
class PeriodSpec:
    """One recurring period of a calendar, as month-day pairs."""

    name: str
    label_vi: str
    first_day: tuple[int, int]
    last_day: tuple[int, int]
    due_before: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Calendar:
    """The reporting calendar of one regime."""

    regime: str
    title_vi: str
    title_en: str
    instrument: str
    time_zone: str
    reminder_days_before: tuple[int, ...]
    periods: tuple[PeriodSpec, ...]

    @property
    def tz(self) -> tzinfo:
        return vietnam_tz(self.time_zone)


@dataclass(frozen=True, slots=True)
class Period:
    """A concrete period: days inclusive, instants in the calendar's zone."""

    regime: str
    kind: PeriodKind
    name: str  # the spec's name (H1, H2, ...) or ADHOC
    first_day: date
    last_day: date
    label_vi: str
    due_before: date | None = None  # None for ad-hoc reports: the request says when
    reminder_days_before: tuple[int, ...] = ()
    time_zone: str = "Asia/Ho_Chi_Minh"

    @property
    def key(self) -> str:
        """Return a stable identifier, e.g. ``2024-H1`` or ``adhoc-2024-03-01-2024-03-31``."""
        if self.kind == "adhoc":
            return f"adhoc-{self.first_day.isoformat()}-{self.last_day.isoformat()}"
        return f"{self.first_day.year}-{self.name}"

    @property
    def start(self) -> datetime:
        """Return 00:00 local time on the first day."""
        return datetime.combine(self.first_day, time(0), vietnam_tz(self.time_zone))

    @property
    def end(self) -> datetime:
        """Return 24:00 local time on the last day (exclusive)."""
        return datetime.combine(self.last_day + timedelta(days=1), time(0), vietnam_tz(self.time_zone))

    def contains(self, instant: datetime) -> bool:
        """Say whether an aware instant falls in the period."""
        _require_aware(instant)
        return self.start <= instant < self.end

    @property
    def last_day_to_send(self) -> date | None:
        return None if self.due_before is None else self.due_before - timedelta(days=1)

    @property
    def reminder_dates(self) -> tuple[date, ...]:
        """Return the days on which to remind the compliance officer, earliest first."""
        if self.due_before is None:
            return ()
        due = self.due_before
        return tuple(sorted(due - timedelta(days=n) for n in self.reminder_days_before))

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "regime": self.regime,
            "kind": self.kind,
            "name": self.name,
            "label_vi": self.label_vi,
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "due_before": None if self.due_before is None else self.due_before.isoformat(),
            "time_zone": self.time_zone,
        }


@dataclass(frozen=True, slots=True)
class Reminder:
    """A reminder to send: the report for ``period`` is due before ``due_before``, ``days_left`` days from today."""

    period: Period
    due_before: date
    days_left: int


def _require_aware(instant: datetime) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"naive datetime {instant!r}: pass an aware instant")


def _month_day(text: Any, where: str) -> tuple[int, int]:
    month, day = (int(part) for part in str(text).split("-"))
    date(2000, month, day)  # validates (2000 is a leap year, so 02-29 passes)
    return month, day


def parse_calendars(data: Mapping[str, Any]) -> dict[str, Calendar]:
    """Build calendars from the YAML structure (regime -> settings)."""
    calendars: dict[str, Calendar] = {}
    for regime, body in data.items():
        specs = tuple(
            PeriodSpec(
                name=str(p["name"]),
                label_vi=str(p.get("label_vi", p["name"])),
                first_day=_month_day(p["first_day"], f"{regime}.{p['name']}.first_day"),
                last_day=_month_day(p["last_day"], f"{regime}.{p['name']}.last_day"),
                due_before=_month_day(p["due_before"], f"{regime}.{p['name']}.due_before"),
            )
            for p in body["periods"]
        )
        if not specs:
            raise ValueError(f"calendar {regime}: no periods")
        calendars[str(regime)] = Calendar(
            regime=str(regime),
            title_vi=str(body.get("title_vi", regime)),
            title_en=str(body.get("title_en", regime)),
            instrument=str(body.get("instrument", "")),
            time_zone=str(body.get("time_zone", "Asia/Ho_Chi_Minh")),
            reminder_days_before=tuple(int(n) for n in body.get("reminder_days_before", ())),
            periods=specs,
        )
    return calendars


@functools.cache
def _load_file(path: str) -> dict[str, Calendar]:
    with open(path, encoding="utf-8") as fh:
        return parse_calendars(yaml.safe_load(fh))


def load_calendars(path: Path | str | None = None) -> dict[str, Calendar]:
    """Load (once per file) the calendars; the shipped file unless ``path`` is given."""
    return _load_file(str(path or CALENDARS_FILE))


def get_calendar(regime: str | Calendar = DEFAULT_REGIME) -> Calendar:
    """Return the calendar of ``regime`` (a calendar passes through, so tests can use their own)."""
    if isinstance(regime, Calendar):
        return regime
    calendars = load_calendars()
    try:
        return calendars[regime]
    except KeyError:
        raise KeyError(f"unknown report regime {regime!r}; known: {sorted(calendars)}") from None


def _next_on_or_after(month_day: tuple[int, int], day: date) -> date:
    candidate = date(day.year, *month_day)
    return candidate if candidate >= day else date(day.year + 1, *month_day)


def _concrete(cal: Calendar, spec: PeriodSpec, year: int) -> Period:
    first = date(year, *spec.first_day)
    last = _next_on_or_after(spec.last_day, first)
    return Period(
        regime=cal.regime,
        kind="semiannual",
        name=spec.name,
        first_day=first,
        last_day=last,
        label_vi=spec.label_vi,
        due_before=_next_on_or_after(spec.due_before, last + timedelta(days=1)),
        reminder_days_before=cal.reminder_days_before,
        time_zone=cal.time_zone,
    )


def _periods_starting_in(cal: Calendar, year: int) -> list[Period]:
    return [_concrete(cal, spec, year) for spec in cal.periods]


def _local_day(when: date | datetime, cal: Calendar) -> date:
    if isinstance(when, datetime):
        _require_aware(when)
        return when.astimezone(cal.tz).date()
    return when


def semiannual(year: int, half: int, regime: str | Calendar = DEFAULT_REGIME) -> Period:
    """Return the ``half``-th period (1-based, calendar order) that starts in ``year``: 2024, 1 -> 2024-H1."""
    cal = get_calendar(regime)
    if not 1 <= half <= len(cal.periods):
        raise ValueError(f"{cal.regime} has periods 1..{len(cal.periods)}, not {half}")
    return _concrete(cal, cal.periods[half - 1], year)


def period_for(when: date | datetime, regime: str | Calendar = DEFAULT_REGIME) -> Period:
    """Return the period that contains ``when`` (an aware instant, or a day in Vietnam time)."""
    cal = get_calendar(regime)
    day = _local_day(when, cal)
    for year in (day.year - 1, day.year):
        for period in _periods_starting_in(cal, year):
            if period.first_day <= day <= period.last_day:
                return period
    raise ValueError(f"calendar {cal.regime} has no period containing {day}")


def previous_period(period: Period, regime: str | Calendar | None = None) -> Period:
    """Return the period just before ``period``."""
    return period_for(period.first_day - timedelta(days=1), regime or period.regime)


def last_closed_period(when: date | datetime, regime: str | Calendar = DEFAULT_REGIME) -> Period:
    """Return the period that most recently closed at or before ``when`` (the one whose report is being prepared)."""
    return previous_period(period_for(when, regime), regime)


def due_date(period: Period) -> date:
    """Return the day the report must be sent *before*."""
    if period.due_before is None:
        raise ValueError(f"{period.key}: an ad-hoc report has no calendar due date")
    return period.due_before


def reminder_dates(period: Period) -> tuple[date, ...]:
    """Return the days to remind on (10 and 3 days before the due date with the shipped calendars)."""
    return period.reminder_dates


def adhoc(first_day: date, last_day: date, regime: str | Calendar = DEFAULT_REGIME) -> Period:
    """Return an ad-hoc period (§6.1, "on request of the competent authority"), days inclusive."""
    if last_day < first_day:
        raise ValueError(f"ad-hoc period ends ({last_day}) before it starts ({first_day})")
    cal = get_calendar(regime)
    return Period(
        regime=cal.regime,
        kind="adhoc",
        name="ADHOC",
        first_day=first_day,
        last_day=last_day,
        label_vi="báo cáo đột xuất",
        time_zone=cal.time_zone,
    )


def periods_closed_between(a: datetime, b: datetime, regime: str | Calendar = DEFAULT_REGIME) -> list[Period]:
    """Return the periods whose end (24:00 Vietnam time on the last day) lies in ``(a, b]``, oldest first.

    Half-open on the left, so a beat task that calls this with consecutive windows sees every period once.
    """
    _require_aware(a)
    _require_aware(b)
    if b <= a:
        return []
    cal = get_calendar(regime)
    first_year = a.astimezone(cal.tz).year - 1
    last_year = b.astimezone(cal.tz).year
    found = [
        period
        for year in range(first_year, last_year + 1)
        for period in _periods_starting_in(cal, year)
        if a < period.end <= b
    ]
    return sorted(found, key=lambda p: p.first_day)


def reminders_due(today: date | datetime, regime: str | Calendar = DEFAULT_REGIME) -> list[Reminder]:
    """Return the reminders to send on ``today`` (a day in Vietnam time, or an aware instant)."""
    cal = get_calendar(regime)
    day = _local_day(today, cal)
    reminders = []
    longest = max(cal.reminder_days_before, default=0)
    # Any period whose due day is within the reminder horizon closed at most that many days before the due day.
    for period in periods_closed_between(
        datetime.combine(day - timedelta(days=400), time(0), cal.tz),
        datetime.combine(day + timedelta(days=1), time(0), cal.tz),
        cal,
    ):
        if period.due_before is not None and day in period.reminder_dates:
            days_left = (period.due_before - day).days
            if days_left <= longest:
                reminders.append(Reminder(period=period, due_before=period.due_before, days_left=days_left))
    return reminders
