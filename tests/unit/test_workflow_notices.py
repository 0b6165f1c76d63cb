"""Notices: validation, triage order, and notifiers whose notices are repeatedly unfounded."""

from __future__ import annotations

import datetime as dt

import pytest

from moderation.workflow.notices import (
    Notice,
    NoticeOutcome,
    NotifierType,
    parse_notice,
    triage_priority,
    unfounded_notifiers,
)

NOW = dt.datetime(2025, 3, 3, tzinfo=dt.UTC)
VALID = {
    "notifier_type": "user",
    "notifier_id": "u9",
    "target": "https://blog.example.vn/p/1",
    "explanation": "Bài viết vu khống tôi",
    "submitted_at": "2025-03-03T08:00:00+07:00",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"notifier_type": "police"}, "notifier_type"),  # authorities use the authority-request route
        ({"target": ""}, "target"),
        ({"explanation": None}, "explanation"),  # a notice must say what is wrong
        ({"explanation": "x" * 10001}, "explanation"),
        ({"notifier_type": "rights_holder"}, "contact"),  # rights holders must be reachable
        ({"submitted_at": "yesterday"}, "submitted_at"),
        ({"category_id": 5}, "category_id"),
    ],
)
def test_validation(change, field):
    notice, errors = parse_notice({**VALID, **change})
    assert notice is None
    assert field in [e.field for e in errors]


def test_valid_notice():
    notice, errors = parse_notice({**VALID, "notifier_type": "affected_person", "contact": "a@b.vn"}, notice_id="n1")
    assert errors == []
    assert notice is not None
    assert notice.notifier_type is NotifierType.AFFECTED_PERSON
    assert notice.to_json()["id"] == "n1"


def _notice(kind: str, category: str | None = None, notifier: str = "u9") -> Notice:
    data = {**VALID, "notifier_type": kind, "contact": "c", "category_id": category, "notifier_id": notifier}
    notice, errors = parse_notice(data)
    assert notice is not None, errors
    return notice


def test_triage_order():
    severity = {"csam": 5, "spam": 1}
    order = sorted(
        [
            ("user-spam", _notice("user", "spam")),
            ("trusted", _notice("trusted_organisation")),
            ("affected", _notice("affected_person")),
            ("user-grave", _notice("user", "csam")),
            ("flagged-affected", _notice("affected_person", notifier="troll")),
        ],
        key=lambda x: triage_priority(x[1], category_severity=severity, flagged={"troll"}),
    )
    # Trusted organisations first; a grave category lifts a user's notice above a rights holder's; flagged last.
    assert [name for name, _ in order] == ["trusted", "affected", "user-grave", "user-spam", "flagged-affected"]


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([NoticeOutcome("t", NOW - dt.timedelta(days=d), False) for d in (1, 2, 3)], {"t": 3}),  # three unfounded
        ([NoticeOutcome("t", NOW - dt.timedelta(days=d), False) for d in (1, 2)], {}),  # below the threshold
        ([NoticeOutcome("t", NOW - dt.timedelta(days=d), False) for d in (1, 2, 200)], {}),  # one outside the window
        (
            [
                *(NoticeOutcome("t", NOW - dt.timedelta(days=d), False) for d in (1, 2, 3)),
                NoticeOutcome("t", NOW, True),
            ],
            {},
        ),  # one founded notice clears the flag
    ],
)
def test_unfounded_notifiers(history, expected):
    assert unfounded_notifiers(history, now=NOW, window_days=90, threshold=3) == expected
