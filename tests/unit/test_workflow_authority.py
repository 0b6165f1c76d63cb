"""Authority requests: validation, one removal per target with the request's deadline, SLA and compliance."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from moderation.workflow.authority import (
    AuthorityRequest,
    compliance_rate,
    overdue_targets,
    parse_authority_request,
    removal_decisions,
    sla,
)
from moderation.workflow.decisions import DecisionAction, DecisionSource

RECEIVED = dt.datetime(2025, 1, 28, 2, 0, tzinfo=dt.UTC)  # Tết eve: hours still run
HOUR = dt.timedelta(hours=1)
VALID = {
    "issuing_body": "Cục Phát thanh, truyền hình và thông tin điện tử",
    "document_number": "123/PTTH&TTĐT",
    "document_date": "2025-01-27",
    "received_at": "2025-01-28T09:00:00+07:00",
    "targets": ["post-1", "https://blog.example.vn/p/2"],
    "legal_basis": {"instrument": "Thông tư 07/2008/TT-BTTTT", "article": "5", "clause": "4"},
    "attachments": [{"name": "cv.pdf", "sha256": "a" * 64}],
}


def parsed(**over: Any) -> AuthorityRequest:
    request, errors = parse_authority_request({**VALID, **over})
    assert errors == []
    assert request is not None
    return request


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"issuing_body": ""}, "issuing_body", "required"),  # who asked must be known
        ({"document_number": None}, "document_number", "required"),
        ({"document_date": "27/01/2025"}, "document_date", "format"),  # Vietnamese date order is not ISO
        ({"document_date": "2025-03-01"}, "document_date", "future"),  # dated after receipt
        ({"received_at": "2025-01-28T09:00:00"}, "received_at", "format"),  # no zone
        ({"targets": []}, "targets", "required"),
        ({"targets": ["a", "a"]}, "targets[1]", "duplicate"),
        ({"targets": ["ftp://x/y"]}, "targets[0]", "format"),  # only web addresses
        ({"targets": ["post 1"]}, "targets[0]", "format"),  # spaces
        ({"legal_basis": {}}, "legal_basis.instrument", "required"),  # a request must cite law
        ({"deadline_hours": 0}, "deadline_hours", "range"),
        ({"deadline_hours": True}, "deadline_hours", "range"),  # booleans are not numbers here
        ({"attachments": [{"sha256": "XYZ"}]}, "attachments[0].sha256", "format"),
    ],
)
def test_validation(change, field, code):
    request, errors = parse_authority_request({**VALID, **change})
    assert request is None
    assert (field, code) in [(e.field, e.code) for e in errors], errors


def test_not_an_object():
    assert parse_authority_request("x")[1][0].code == "type"


@pytest.mark.parametrize(
    ("over", "default", "due"),
    [
        ({}, 24, RECEIVED + 24 * HOUR),  # the default 24 h
        ({}, 3, RECEIVED + 3 * HOUR),  # a regime's default from the pack (Decree 27/2018's 3 h)
        ({"deadline_hours": 2}, 24, RECEIVED + 2 * HOUR),  # the request's own deadline wins
    ],
)
def test_deadline(over, default, due):
    request, _ = parse_authority_request({**VALID, **over}, default_deadline_hours=default)
    assert request is not None
    assert request.due_at == due


def test_each_target_becomes_a_removal():
    request = parsed()
    decisions = removal_decisions(request, recorded_by="mod:an", decided_at=RECEIVED + HOUR)
    assert [(d.subject["item_id"], d.subject["url"]) for d in decisions] == [
        ("post-1", None),
        (None, "https://blog.example.vn/p/2"),
    ]
    for d in decisions:
        assert d.action is DecisionAction.REMOVE
        assert d.source is DecisionSource.AUTHORITY_REQUEST
        assert d.source_ref == request.id
        assert d.deadline == request.due_at
        assert d.grounds[0].citation.label() == "khoản 4 Điều 5 Thông tư 07/2008/TT-BTTTT"
        assert "27/01/2025" in d.reason


@pytest.mark.parametrize(
    ("acted", "now", "overdue", "rate"),
    [
        (
            {"post-1": RECEIVED + HOUR, "https://blog.example.vn/p/2": RECEIVED + 2 * HOUR},
            RECEIVED + 3 * HOUR,
            [False, False],
            1.0,
        ),  # both in time
        ({}, RECEIVED + 25 * HOUR, [True, True], 0.0),  # ignored: overdue once the deadline passes
        ({}, RECEIVED + 5 * HOUR, [False, False], None),  # still open, not yet due: nothing to count
        ({"post-1": RECEIVED + 30 * HOUR}, RECEIVED + 31 * HOUR, [True, True], 0.0),  # late, and one never done
        ({"post-1": RECEIVED + HOUR}, RECEIVED + 30 * HOUR, [False, True], 0.5),  # half complied
    ],
)
def test_sla_and_compliance(acted, now, overdue, rate):
    slas = sla(parsed(), acted, now)
    assert [s.overdue for s in slas] == overdue
    assert compliance_rate(slas, now) == rate


def test_time_to_act_and_overdue_list():
    slas = sla(parsed(), {"post-1": RECEIVED + 90 * dt.timedelta(minutes=1)}, RECEIVED + 25 * HOUR)
    assert slas[0].time_to_act_s == 5400
    assert overdue_targets(slas) == ["https://blog.example.vn/p/2"]
    assert slas[0].to_json()["due_at"] == "2025-01-29T02:00:00.000000Z"
