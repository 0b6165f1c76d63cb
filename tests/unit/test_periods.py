"""Periods, due dates and reminders from the calendars (Circular 07/2008 §6.3; 2011 anti-spam circular)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from moderation.reports.periods import (
    adhoc,
    due_date,
    last_closed_period,
    parse_calendars,
    period_for,
    periods_closed_between,
    reminder_dates,
    reminders_due,
    semiannual,
)

ICT = timezone(timedelta(hours=7))
SPAM = "vn-antispam-2011"


@pytest.mark.parametrize(
    ("when", "regime", "key", "first", "last", "due"),
    [
        # H1 runs 1 Jan-30 Jun and is due before 15 July (§6.3).
        (date(2024, 3, 10), "vn-circular-07-2008", "2024-H1", date(2024, 1, 1), date(2024, 6, 30), date(2024, 7, 15)),
        # H2 is due before 15 January of the next year.
        (date(2024, 12, 31), "vn-circular-07-2008", "2024-H2", date(2024, 7, 1), date(2024, 12, 31), date(2025, 1, 15)),
        # 23:59 on 30 June in Vietnam is still H1 although it is 16:59 UTC.
        (
            datetime(2024, 6, 30, 23, 59, tzinfo=ICT),
            "vn-circular-07-2008",
            "2024-H1",
            date(2024, 1, 1),
            date(2024, 6, 30),
            date(2024, 7, 15),
        ),
        # 17:00 UTC on 30 June is 00:00 on 1 July in Vietnam: H2 already.
        (
            datetime(2024, 6, 30, 17, 0, tzinfo=UTC),
            "vn-circular-07-2008",
            "2024-H2",
            date(2024, 7, 1),
            date(2024, 12, 31),
            date(2025, 1, 15),
        ),
        # Anti-spam periods straddle the new year and are due before 15 May / 15 November.
        (date(2025, 2, 1), SPAM, "2024-NOV-APR", date(2024, 11, 1), date(2025, 4, 30), date(2025, 5, 15)),
        (date(2025, 10, 31), SPAM, "2025-MAY-OCT", date(2025, 5, 1), date(2025, 10, 31), date(2025, 11, 15)),
        # Leap day falls inside H1 like any other day.
        (date(2024, 2, 29), "vn-circular-07-2008", "2024-H1", date(2024, 1, 1), date(2024, 6, 30), date(2024, 7, 15)),
    ],
)
def test_period_for(when, regime, *, key, first, last, due):  # pytest passes parameters by name
    period = period_for(when, regime)
    assert (period.key, period.first_day, period.last_day, due_date(period)) == (key, first, last, due)


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        (datetime(2024, 1, 1, 0, 0, tzinfo=ICT), True),  # the first instant belongs to the period
        (datetime(2023, 12, 31, 16, 59, 59, tzinfo=UTC), False),  # 23:59:59 on 31 Dec in Vietnam
        (datetime(2024, 6, 30, 16, 59, 59, tzinfo=UTC), True),  # 23:59:59 on 30 June in Vietnam
        (datetime(2024, 7, 1, 0, 0, tzinfo=ICT), False),  # 24:00 on 30 June is the exclusive end
    ],
)
def test_period_boundaries_are_vietnam_midnights(instant, inside):
    assert semiannual(2024, 1).contains(instant) is inside


def test_naive_instants_are_refused():
    with pytest.raises(ValueError, match="naive"):
        semiannual(2024, 1).contains(datetime(2024, 3, 1))  # naive on purpose


@pytest.mark.parametrize(
    ("today", "key"),
    [
        (date(2024, 7, 1), "2024-H1"),  # the day after H1 closed
        (date(2024, 12, 31), "2024-H1"),  # H2 has not closed yet
        (date(2025, 1, 1), "2024-H2"),  # H2 of the previous year
    ],
)
def test_last_closed_period(today, key):
    assert last_closed_period(today).key == key


@pytest.mark.parametrize(
    ("regime", "year", "half", "reminders"),
    [
        # 10 and 3 days before "before 15 July".
        ("vn-circular-07-2008", 2024, 1, (date(2024, 7, 5), date(2024, 7, 12))),
        # H2's reminders fall in the next January.
        ("vn-circular-07-2008", 2024, 2, (date(2025, 1, 5), date(2025, 1, 12))),
        # Another regime's calendar: before 15 May.
        (SPAM, 2024, 1, (date(2025, 5, 5), date(2025, 5, 12))),
    ],
)
def test_reminder_dates(regime, year, half, reminders):
    assert reminder_dates(semiannual(year, half, regime)) == reminders


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2024, 7, 5), [("2024-H1", 10)]),  # ten days before 15 July
        (date(2024, 7, 12), [("2024-H1", 3)]),  # three days before
        (date(2024, 7, 13), []),  # no reminder on other days
        (date(2025, 1, 5), [("2024-H2", 10)]),  # across the year boundary
        (datetime(2024, 7, 4, 18, 0, tzinfo=UTC), [("2024-H1", 10)]),  # 01:00 on 5 July in Vietnam
    ],
)
def test_reminders_due(today, expected):
    assert [(r.period.key, r.days_left) for r in reminders_due(today)] == expected


@pytest.mark.parametrize(
    ("a", "b", "keys"),
    [
        # The window contains H1's end (24:00 on 30 June Vietnam time = 17:00 UTC).
        (datetime(2024, 6, 30, 16, 0, tzinfo=UTC), datetime(2024, 6, 30, 17, 0, tzinfo=UTC), ["2024-H1"]),
        # Left-open: a window starting exactly at the end does not see it again.
        (datetime(2024, 6, 30, 17, 0, tzinfo=UTC), datetime(2024, 7, 30, tzinfo=UTC), []),
        # A long window sees every period that closed in it, oldest first.
        (
            datetime(2023, 1, 1, tzinfo=ICT),
            datetime(2025, 1, 1, tzinfo=ICT),
            ["2023-H1", "2023-H2", "2024-H1", "2024-H2"],
        ),
        # An empty or reversed window sees nothing.
        (datetime(2025, 1, 1, tzinfo=ICT), datetime(2024, 1, 1, tzinfo=ICT), []),
    ],
)
def test_periods_closed_between(a, b, keys):
    assert [p.key for p in periods_closed_between(a, b)] == keys


def test_adhoc_period():
    period = adhoc(date(2024, 3, 1), date(2024, 3, 31))
    assert (period.key, period.due_before, period.reminder_dates) == ("adhoc-2024-03-01-2024-03-31", None, ())
    with pytest.raises(ValueError, match="before it starts"):
        adhoc(date(2024, 3, 31), date(2024, 3, 1))


def test_a_calendar_is_configuration():
    # A quarterly regime needs only data.
    cal = parse_calendars(
        {
            "quarterly": {
                "reminder_days_before": [5],
                "periods": [
                    {"name": f"Q{q}", "first_day": f"{3 * q - 2:02d}-01", "last_day": last, "due_before": due}
                    for q, last, due in (
                        (1, "03-31", "04-20"),
                        (2, "06-30", "07-20"),
                        (3, "09-30", "10-20"),
                        (4, "12-31", "01-20"),
                    )
                ],
            }
        }
    )["quarterly"]
    q4 = semiannual(2024, 4, cal)
    assert (q4.key, q4.due_before, q4.reminder_dates) == ("2024-Q4", date(2025, 1, 20), (date(2025, 1, 15),))
    assert [r.period.key for r in reminders_due(date(2025, 1, 15), cal)] == ["2024-Q4"]


def test_unknown_regime():
    with pytest.raises(KeyError, match="unknown report regime"):
        period_for(date(2024, 1, 1), "nope")
