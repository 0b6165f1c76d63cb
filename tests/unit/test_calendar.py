"""Vietnamese working-day arithmetic, around Tết and swapped days off."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moderation.workflow.calendar import (
    VN_TZ,
    WorkingCalendar,
    deadline_in_hours,
    end_of_local_day,
    local_date,
)

CAL = WorkingCalendar()
D = dt.date


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2025, 1, 24), True),  # Friday before Tết 2025
        (D(2025, 1, 27), False),  # 29 Tết (Monday) is a holiday
        (D(2025, 1, 31), False),  # third day of Tết (Friday)
        (D(2025, 2, 3), True),  # first Monday after Tết
        (D(2024, 5, 4), True),  # a Saturday the government made a working day (swapped for 29 April)
        (D(2024, 4, 29), False),  # the swapped day off
        (D(2024, 9, 3), False),  # National Day, second day (2024)
        (D(2025, 2, 1), False),  # a Saturday inside Tết
    ],
)
def test_is_working_day(day, working):
    assert CAL.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2025, 1, 24), 1, D(2025, 2, 3)),  # Friday before Tết: the next working day is after the whole holiday
        (D(2025, 1, 24), 10, D(2025, 2, 14)),  # ten working days across Tết take three calendar weeks
        (D(2024, 2, 7), 1, D(2024, 2, 15)),  # Tết 2024: 8–14 February off
        (D(2024, 4, 26), 2, D(2024, 5, 3)),  # 29/4, 30/4, 1/5 off; Thursday 2/5 is the first, Friday 3/5 the second
        (D(2024, 5, 3), 1, D(2024, 5, 4)),  # the working Saturday counts
        (D(2025, 3, 3), 0, D(2025, 3, 3)),  # zero days on a working day is that day
        (D(2025, 3, 1), 0, D(2025, 3, 3)),  # zero days on a Saturday rolls forward to Monday
        (D(2025, 3, 3), 5, D(2025, 3, 10)),  # an ordinary week
    ],
)
def test_add_working_days(start, n, expected):
    assert CAL.add_working_days(start, n) == expected


def test_negative_days_rejected():
    with pytest.raises(ValueError, match="n must be"):
        CAL.add_working_days(D(2025, 1, 1), -1)


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (D(2025, 1, 24), D(2025, 2, 3), 1),  # Tết week contributes nothing
        (D(2025, 2, 3), D(2025, 1, 24), -1),  # reversed order gives the negative
        (D(2025, 3, 3), D(2025, 3, 3), 0),  # same day
        (D(2024, 12, 31), D(2025, 1, 2), 1),  # New Year's Day off, 2 January counts
    ],
)
def test_working_days_between(start, end, count):
    assert CAL.working_days_between(start, end) == count


@pytest.mark.parametrize(
    ("extra", "day", "working"),
    [
        ({"holidays_": ["2025-03-03"]}, D(2025, 3, 3), False),  # an announced day off the package lacks
        ({"workdays": ["2025-03-08"]}, D(2025, 3, 8), True),  # an announced working Saturday
    ],
)
def test_extra_days(extra, day, working):
    assert WorkingCalendar.from_dates(**extra).is_working_day(day) is working


def test_deadline_is_end_of_local_day():
    # Filed at 23:30 on Friday 24 Jan 2025 in Hanoi (16:30 UTC): one working day ends at midnight after Mon 3 Feb.
    filed = dt.datetime(2025, 1, 24, 16, 30, tzinfo=dt.UTC)
    assert local_date(filed) == D(2025, 1, 24)
    assert CAL.deadline(filed, 1) == dt.datetime(2025, 2, 3, 17, 0, tzinfo=dt.UTC)
    assert end_of_local_day(D(2025, 2, 3)).astimezone(VN_TZ).hour == 0


def test_local_date_crosses_midnight():
    # 18:00 UTC is already the next day in Vietnam (UTC+7).
    assert local_date(dt.datetime(2025, 3, 3, 18, 0, tzinfo=dt.UTC)) == D(2025, 3, 4)


def test_naive_datetimes_rejected():
    with pytest.raises(ValueError, match="naive"):
        local_date(dt.datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        deadline_in_hours(dt.datetime(2025, 1, 1), 24)


def test_deadline_in_hours_ignores_holidays():
    start = dt.datetime(2025, 1, 28, 2, 0, tzinfo=dt.UTC)  # Tết eve
    assert deadline_in_hours(start, 24) == dt.datetime(2025, 1, 29, 2, 0, tzinfo=dt.UTC)


@given(st.dates(min_value=D(2020, 1, 1), max_value=D(2030, 12, 31)), st.integers(min_value=1, max_value=40))
def test_add_then_count_round_trips(start, n):
    end = CAL.add_working_days(start, n)
    assert CAL.is_working_day(end)
    assert CAL.working_days_between(start, end) == n
