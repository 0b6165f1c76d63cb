"""Vietnamese working days and legal deadlines in Asia/Ho_Chi_Minh.

Public holidays come from the ``holidays`` package (Tết, Hùng Kings, 30/4, 1/5, 2/9 and the government's swapped
days off, including Saturdays that become working days). A pack or an operator can add holidays the package does
not know yet (a late government announcement) and extra working days.

Counting follows the usual Vietnamese rule for deadlines in days: the day of the event is not counted; the deadline
ends at the end of the last day, local time. Deadlines in hours (an authority's 24 h) are plain elapsed time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

try:
    VN_TZ: dt.tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except ZoneInfoNotFoundError:  # pragma: no cover - systems without a tz database
    # Vietnam has kept UTC+7 without daylight saving since 1975, so a fixed offset is exact for our dates.
    VN_TZ = dt.timezone(dt.timedelta(hours=7), "ICT")

# A guard against a loop that never finds a working day (a misconfigured calendar listing years of holidays).
_MAX_SCAN_DAYS = 3660


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> Any:
    return holidays.country_holidays("VN", years=year)


def local_date(moment: dt.datetime) -> dt.date:
    """Return the calendar date of ``moment`` in Vietnam (``moment`` must be timezone-aware)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware moment")
    return moment.astimezone(VN_TZ).date()


def end_of_local_day(day: dt.date) -> dt.datetime:
    """Return the first instant after ``day`` in Vietnam, in UTC (deadlines are exclusive upper bounds)."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=VN_TZ)
    return midnight.astimezone(dt.UTC)


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days are working days in Vietnam.

    ``extra_holidays`` and ``extra_workdays`` override the package (an announcement it does not carry yet).
    """

    extra_holidays: frozenset[dt.date] = field(default_factory=frozenset)
    extra_workdays: frozenset[dt.date] = field(default_factory=frozenset)

    @classmethod
    def from_dates(
        cls, holidays_: Iterable[dt.date | str] = (), workdays: Iterable[dt.date | str] = ()
    ) -> WorkingCalendar:
        """Build a calendar from ISO date strings or dates (as pack data carries them)."""
        return cls(frozenset(_as_date(d) for d in holidays_), frozenset(_as_date(d) for d in workdays))

    def is_working_day(self, day: dt.date) -> bool:
        """Return whether ``day`` is a working day (Monday–Friday, not a holiday, or a declared working Saturday)."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        # The package knows weekends, public holidays and Saturdays the government turned into working days.
        return bool(_public_holidays(day.year).is_working_day(day))

    def add_working_days(self, start: dt.date, n: int) -> dt.date:
        """Return the ``n``-th working day after ``start`` (``start`` itself is not counted; ``n >= 0``).

        ``n == 0`` returns ``start`` if it is a working day, else the next working day.
        """
        if n < 0:
            raise ValueError("n must be >= 0")
        day = start
        if n == 0:
            return self.next_working_day(day, include=True)
        remaining = n
        for _ in range(_MAX_SCAN_DAYS + n):
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
                if remaining == 0:
                    return day
        raise RuntimeError("no working day found; check the calendar's extra holidays")  # pragma: no cover

    def next_working_day(self, day: dt.date, *, include: bool = False) -> dt.date:
        """Return the first working day after ``day`` (or ``day`` itself when ``include`` and it is one)."""
        current = day if include else day + dt.timedelta(days=1)
        for _ in range(_MAX_SCAN_DAYS):
            if self.is_working_day(current):
                return current
            current += dt.timedelta(days=1)
        raise RuntimeError("no working day found; check the calendar's extra holidays")  # pragma: no cover

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Count working days in ``(start, end]``; negative when ``end`` is before ``start``.

        This is the inverse of :meth:`add_working_days`: ``working_days_between(d, add_working_days(d, n)) == n``.
        """
        if end < start:
            return -self.working_days_between(end, start)
        count = 0
        day = start
        while day < end:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def deadline(self, start: dt.datetime, working_days: int) -> dt.datetime:
        """Return the instant (UTC) a deadline of ``working_days`` working days from ``start`` runs out.

        The day of ``start`` (in Vietnam) is not counted; the deadline is the end of the last working day.
        """
        last_day = self.add_working_days(local_date(start), working_days)
        return end_of_local_day(last_day)


def deadline_in_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """Return ``start`` plus ``hours`` of elapsed time, in UTC (authority requests count hours, not working days)."""
    if start.tzinfo is None:
        raise ValueError("naive datetime: give a timezone-aware moment")
    return (start + dt.timedelta(hours=hours)).astimezone(dt.UTC)


def _as_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


DEFAULT_CALENDAR = WorkingCalendar()
