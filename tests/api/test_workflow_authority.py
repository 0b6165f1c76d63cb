"""Authority requests (Circular 07/2008 §5.4) through the API: targets become removals with deadlines, an ignored
request shows as overdue and raises an alert from the periodic check, confirmations give time to act and the
compliance rate; validation and tenant isolation. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pytest
from sqlalchemy import select

from moderation.store.db import session_scope
from moderation.store.models import Decision
from tests.api.test_workflow_enforcement import remove, row_counts, set_callback, submit
from tests.conftest import SignedClient, make_platform

NOW = dt.datetime.now(dt.UTC)
SHA = "a" * 64


def request_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "issuing_body": "Bộ Thông tin và Truyền thông",
        "document_number": "123/BTTTT-PTTH&TTĐT",
        "document_date": NOW.date().isoformat(),
        "targets": ["p1", "https://blog.example.vn/blog-1/p2", "not-yet-sent"],
        "legal_basis": {"instrument": "Thông tư 07/2008/TT-BTTTT", "article": "5", "clause": "4"},
        "attachments": [{"name": "cong-van.pdf", "sha256": SHA}],
    }
    body.update(overrides)
    return body


def test_request_becomes_removals_with_deadline(api: SignedClient, settings: Any, queue: Any) -> None:
    set_callback(settings, api.creds.id)
    subs = [submit(api, "p1"), submit(api, "p2")]
    response = api.post("/v1/authority-requests", request_body())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    received = dt.datetime.fromisoformat(body["received_at"].replace("Z", "+00:00"))
    due = dt.datetime.fromisoformat(body["due_at"].replace("Z", "+00:00"))
    assert due - received == dt.timedelta(hours=24)  # the regime's default deadline
    assert [t["status"] for t in body["targets"]] == ["decided", "decided", "unresolved"]
    assert [t["submission_id"] for t in body["targets"][:2]] == subs
    assert body["overdue"] is False
    with session_scope(settings.database_url) as session:
        decisions = session.scalars(select(Decision).where(Decision.source == "authority_request")).all()
        assert {(d.verdict, d.action) for d in decisions} == {("remove", "remove")}
        assert {d.evaluation["authority_request_id"] for d in decisions} == {body["id"]}
    assert len(queue.delivered) == 2  # decision.remove callbacks, enqueued after commit
    # The same document again is the same request: nothing decided twice.
    again = api.post("/v1/authority-requests", request_body())
    assert (again.status_code, again.get_json()["id"]) == (200, body["id"])
    assert len(queue.delivered) == 2


def test_request_supersedes_decision_in_force(api: SignedClient, settings: Any) -> None:
    sub = submit(api, "p1")
    old_id, _ = remove(settings, api.creds.id, sub, enforce=False)
    body = api.post("/v1/authority-requests", request_body(targets=["p1"])).get_json()
    new_id = body["targets"][0]["decision_id"]
    with session_scope(settings.database_url) as session:
        old = session.scalars(select(Decision).where(Decision.id == old_id)).one()
        assert old.superseded_by_id == new_id  # immutable: the old one stays, linked to its successor


def test_ignored_request_is_overdue_and_alerts_once(
    api: SignedClient, app: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import sentry_sdk

    from workers.tasks_workflow import AUTHORITY_OVERDUE, run_authority_sla

    captured: list[str] = []
    monkeypatch.setattr(sentry_sdk, "capture_message", lambda message, **_: captured.append(message))
    submit(api, "p1")
    received = NOW - dt.timedelta(hours=30)
    # Dated the day it was received, not today: a document dated more than a day after its receipt is refused, and
    # between 00:00 and 06:00 UTC 30 hours ago is two days back (the test failed at those hours).
    body = api.post(
        "/v1/authority-requests",
        request_body(targets=["p1"], received_at=received.isoformat(), document_date=received.date().isoformat()),
    ).get_json()
    status = api.get(f"/v1/authority-requests/{body['id']}").get_json()
    assert (status["status"], status["overdue"], status["overdue_targets"]) == ("overdue", True, ["p1"])
    assert status["compliance_rate"] == 0.0
    rt = app.extensions["moderation"]
    before = AUTHORITY_OVERDUE.labels(api.creds.id)._value.get()
    with caplog.at_level(logging.ERROR, logger="workers.tasks_workflow"):
        assert run_authority_sla(rt) == [body["id"]]
    assert "authority request overdue" in caplog.text
    assert captured == ["Authority request 123/BTTTT-PTTH&TTĐT (Bộ Thông tin và Truyền thông) is overdue"]
    assert AUTHORITY_OVERDUE.labels(api.creds.id)._value.get() == before + 1
    assert run_authority_sla(rt) == []  # alerted once, not at every run


def test_confirmation_gives_time_to_act_and_compliance(api: SignedClient, settings: Any) -> None:
    from moderation.services.authority import compliance_summary

    submit(api, "p1")
    submit(api, "p2")
    received = NOW - dt.timedelta(hours=2)
    body = api.post(
        "/v1/authority-requests", request_body(targets=["p1", "p2"], received_at=received.isoformat())
    ).get_json()
    acted = (received + dt.timedelta(hours=1)).isoformat()
    response = api.post(f"/v1/authority-requests/{body['id']}/confirmations", {"targets": ["p1"], "acted_at": acted})
    assert response.status_code == 200, response.get_json()
    targets = response.get_json()["targets"]
    assert [t["status"] for t in targets] == ["acted", "decided"]
    assert targets[0]["time_to_act_s"] == 3600
    done = api.post(f"/v1/authority-requests/{body['id']}/confirmations", {}).get_json()
    assert (done["status"], done["compliance_rate"]) == ("complete", 1.0)
    with session_scope(settings.database_url) as session:
        figures = compliance_summary(session, api.creds.id, NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=1))
    assert (figures["requests"], figures["targets"], figures["acted_in_time"], figures["compliance_rate"]) == (
        1,
        2,
        2,
        1.0,
    )


def test_item_sent_after_the_request_is_decided_when_it_arrives(api: SignedClient) -> None:
    body = api.post("/v1/authority-requests", request_body(targets=["late-post"])).get_json()
    assert body["targets"][0]["status"] == "unresolved"
    submit(api, "late-post")
    status = api.get(f"/v1/authority-requests/{body['id']}").get_json()
    assert status["targets"][0]["status"] == "decided"


def test_deadline_is_configurable_per_request_and_regime(api: SignedClient) -> None:
    body = api.post(
        "/v1/authority-requests", request_body(deadline_hours=3, regime="vn-draft-cyber-sanctions-2021")
    ).get_json()
    assert body["deadline_hours"] == 3
    assert body["regime"] == "vn-draft-cyber-sanctions-2021"


BAD_REQUESTS = [
    # (id, overrides, status, code, field)
    ("missing-issuer", {"issuing_body": None}, 422, "missing_field", "issuing_body"),
    ("blank-issuer", {"issuing_body": "  "}, 422, "missing_field", "issuing_body"),
    ("bad-date", {"document_date": "31/12/2025"}, 422, "invalid_value", "document_date"),
    ("no-targets", {"targets": []}, 422, "invalid_value", "targets"),
    ("targets-not-list", {"targets": "p1"}, 400, "invalid_type", "targets"),
    ("duplicate-target", {"targets": ["p1", "p1"]}, 422, "invalid_value", "targets[1]"),
    ("ftp-url", {"targets": ["ftp://x.vn/a"]}, 422, "invalid_value", "targets[0]"),
    ("bad-hash", {"attachments": [{"sha256": "xyz"}]}, 422, "invalid_value", "attachments[0].sha256"),
    ("no-basis", {"legal_basis": {"article": "5"}}, 422, "missing_field", "legal_basis.instrument"),
    ("zero-deadline", {"deadline_hours": 0}, 422, "invalid_value", "deadline_hours"),
    ("unknown-regime", {"regime": "vn-nowhere"}, 422, "invalid_value", "regime"),
    ("future-receipt", {"received_at": (NOW + dt.timedelta(days=1)).isoformat()}, 422, "invalid_value", "received_at"),
    ("naive-receipt", {"received_at": "2026-01-01T10:00:00"}, 422, "invalid_value", "received_at"),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [(b[1], b[2:]) for b in BAD_REQUESTS], ids=[b[0] for b in BAD_REQUESTS]
)
def test_bad_request_is_4xx_and_writes_nothing(
    api: SignedClient, settings: Any, overrides: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    status, code, field = expected
    submit(api, "p1")
    body = {k: v for k, v in request_body(**overrides).items() if v is not None}
    before = row_counts(settings.database_url)
    response = api.post("/v1/authority-requests", body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert row_counts(settings.database_url) == before


def test_bad_confirmation_is_rejected(api: SignedClient) -> None:
    submit(api, "p1")
    body = api.post("/v1/authority-requests", request_body(targets=["p1", "ghost"])).get_json()
    url = f"/v1/authority-requests/{body['id']}/confirmations"
    assert api.post(url, {"targets": ["nope"]}).get_json()["error"]["field"] == "targets[0]"
    assert api.post(url, {"targets": ["ghost"]}).status_code == 409  # nothing to remove yet
    assert api.post(url, {"acted_at": "2000-01-01T00:00:00Z"}).status_code == 422  # before receipt


def test_other_platform_cannot_see_or_touch_request(app: Any, api: SignedClient, settings: Any) -> None:
    submit(api, "p1")
    body = api.post("/v1/authority-requests", request_body(targets=["p1"])).get_json()
    other = SignedClient(app.test_client(), make_platform(settings, "Other"))
    assert other.get(f"/v1/authority-requests/{body['id']}").status_code == 404
    assert other.post(f"/v1/authority-requests/{body['id']}/confirmations", {}).status_code == 404
    # Its own request with the same targets resolves nothing: p1 is the first platform's post.
    mine = other.post("/v1/authority-requests", request_body(targets=["p1"])).get_json()
    assert mine["targets"][0]["status"] == "unresolved"
