"""Appeals through the API: the decision stays in force while pending; a reversal by another moderator supersedes
it and sends signed restore callbacks (content and blog); deadlines in Vietnamese working days; validation and tenant
isolation. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from moderation.errors import ApiError
from moderation.services.appeals import decide_appeal
from moderation.store.db import session_scope
from moderation.store.models import Decision, Submission
from moderation.store.workflow import Strike
from moderation.workflow.calendar import DEFAULT_CALENDAR
from tests.api.test_workflow_enforcement import remove, row_counts, set_callback, submit
from tests.callback_receiver import callback_receiver
from tests.conftest import SignedClient, make_platform


def appeal(api: SignedClient, decision_id: str = "", **overrides: Any) -> Any:
    body = {"decision_id": decision_id, "appellant_id": "author-1", "grounds": "Tôi chỉ trích dẫn để phản bác."}
    body.update(overrides)
    return api.post("/v1/appeals", body)


def decide(settings: Any, appeal_id: str, moderator: str, outcome: str, reason: str) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [d.id for d in decide_appeal(session, appeal_id, moderator, outcome, reason).deliveries]


def test_pending_appeal_keeps_decision_in_force(api: SignedClient) -> None:
    submit(api, "p1")
    decision_id = _removed(api)
    response = appeal(api, decision_id)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["status"], body["outcome"], body["decision_in_force"]) == ("pending", None, decision_id)
    assert body["decision_in_force_action"] == "remove"
    filed = dt.datetime.fromisoformat(body["filed_at"].replace("Z", "+00:00"))
    due = dt.datetime.fromisoformat(body["due_at"].replace("Z", "+00:00"))
    assert due == DEFAULT_CALENDAR.deadline(filed, 10)  # 10 Vietnamese working days
    assert appeal(api, decision_id).get_json()["error"]["code"] == "appeal_pending"


def _removed(api: SignedClient, post: str = "p1") -> str:
    """Record an automated removal of the platform's post ``post`` (with enforcement); return the decision id."""
    settings = api.client.application.extensions["moderation"].settings
    with session_scope(settings.database_url) as session:
        sub_id = session.scalars(
            select(Submission.id).where(Submission.platform_id == api.creds.id, Submission.external_id == post)
        ).one()
    decision_id, _deliveries = remove(settings, api.creds.id, sub_id)
    return decision_id


def test_reversal_supersedes_and_sends_signed_restore_callbacks(api: SignedClient, app: Any, settings: Any) -> None:
    from workers.tasks import run_deliver

    with callback_receiver(api.creds.secret) as receiver:
        set_callback(settings, api.creds.id, receiver.url)
        api.post("/v1/blogs", {"id": "blog-1", "owner_id": "author-1"})
        submit(api, "p0")
        _removed(api, "p0")  # a first offence: warning
        submit(api, "p1")
        decision_id = _removed(api, "p1")  # a repeat: the blog is suspended
        appeal_id = appeal(api, decision_id).get_json()["id"]
        receiver.received.clear()
        deliveries = decide(settings, appeal_id, "moderator:lan", "reversed", "Trích dẫn để bình luận, không vi phạm")
        for delivery_id in deliveries:
            assert run_deliver(app.extensions["moderation"], delivery_id) is None
        assert receiver.bad_signatures == 0
        assert sorted(r["event"] for r in receiver.received) == ["decision.restore", "enforcement.restore_blog"]
    body = api.get(f"/v1/appeals/{appeal_id}").get_json()
    assert (body["status"], body["outcome"], body["reason"]) == (
        "reversed",
        "reversed",
        "Trích dẫn để bình luận, không vi phạm",
    )
    assert body["decision_in_force"] == body["superseding_decision_id"] != decision_id
    assert body["decision_in_force_action"] == "restore"
    with session_scope(settings.database_url) as session:
        old = session.scalars(select(Decision).where(Decision.id == decision_id)).one()
        assert (old.verdict, old.superseded_by_id) == ("remove", body["superseding_decision_id"])  # kept as was
        strikes = {s.submission_id: s.reversed for s in session.scalars(select(Strike))}
        assert sorted(strikes.values()) == [False, True]  # only the reversed removal's strike is lifted


def test_upheld_appeal_changes_nothing(api: SignedClient, settings: Any) -> None:
    submit(api, "p1")
    decision_id = _removed(api)
    appeal_id = appeal(api, decision_id).get_json()["id"]
    assert decide(settings, appeal_id, "moderator:lan", "upheld", "Vu khống có chủ đích") == []
    body = api.get(f"/v1/appeals/{appeal_id}").get_json()
    assert (body["outcome"], body["decision_in_force"]) == ("upheld", decision_id)


DECIDE_ERRORS = [
    # (id, moderator, outcome, reason, status, code)
    ("original-moderator-cannot-decide", "moderator:minh", "reversed", "ok", 403, "same_moderator"),
    ("reason-required", "moderator:lan", "reversed", "  ", 422, "missing_field"),
    ("unknown-outcome", "moderator:lan", "maybe", "ok", 422, "invalid_value"),
]


@pytest.mark.parametrize(
    ("moderator", "outcome", "case"),
    [(c[1], c[2], (c[3], c[4:])) for c in DECIDE_ERRORS],
    ids=[c[0] for c in DECIDE_ERRORS],
)
def test_decide_appeal_rejections(
    api: SignedClient, settings: Any, moderator: str, outcome: str, case: tuple[str, tuple[int, str]]
) -> None:
    reason, expected = case
    sub_id = submit(api, "p1")
    decision_id, _ = remove(settings, api.creds.id, sub_id, actor="moderator:minh", source="moderator")
    appeal_id = appeal(api, decision_id).get_json()["id"]
    with session_scope(settings.database_url) as session, pytest.raises(ApiError) as err:
        decide_appeal(session, appeal_id, moderator, outcome, reason)
    assert (err.value.status, err.value.code) == expected
    assert api.get(f"/v1/appeals/{appeal_id}").get_json()["status"] == "pending"


def test_decided_appeal_cannot_be_decided_again(api: SignedClient, settings: Any) -> None:
    submit(api, "p1")
    appeal_id = appeal(api, _removed(api)).get_json()["id"]
    decide(settings, appeal_id, "moderator:lan", "upheld", "ok")
    with pytest.raises(ApiError) as err:
        decide(settings, appeal_id, "moderator:hoa", "reversed", "ok")
    assert err.value.code == "appeal_decided"


def test_complex_appeal_gets_thirty_working_days(api: SignedClient) -> None:
    submit(api, "p1")
    body = appeal(api, _removed(api), complex=True).get_json()
    filed = dt.datetime.fromisoformat(body["filed_at"].replace("Z", "+00:00"))
    assert body["due_at"].startswith(DEFAULT_CALENDAR.deadline(filed, 30).strftime("%Y-%m-%dT%H:%M:%S"))


BAD_APPEALS = [
    # (id, overrides, status, code, field)
    ("unknown-decision", {"decision_id": "dec_nope"}, 404, "not_found", "decision_id"),
    ("not-the-author", {"appellant_id": "someone-else"}, 403, "not_the_author", "appellant_id"),
    ("no-grounds", {"grounds": ""}, 422, "invalid_value", "grounds"),
    ("grounds-not-string", {"grounds": 7}, 400, "invalid_type", "grounds"),
    ("complex-not-bool", {"complex": "yes"}, 400, "invalid_type", "complex"),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [(b[1], b[2:]) for b in BAD_APPEALS], ids=[b[0] for b in BAD_APPEALS]
)
def test_bad_appeal_is_4xx_and_writes_nothing(
    api: SignedClient, settings: Any, overrides: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    submit(api, "p1")
    decision_id = _removed(api)
    before = row_counts(settings.database_url)
    response = appeal(api, **{"decision_id": decision_id, **overrides})
    error = response.get_json()["error"]
    assert (response.status_code, error["code"], error["field"]) == expected
    assert row_counts(settings.database_url) == before


def test_allowed_content_cannot_be_appealed(api: SignedClient, settings: Any) -> None:
    sub_id = submit(api, "p1")
    with session_scope(settings.database_url) as session:
        from moderation.store.base import new_id

        decision = Decision(
            id=new_id("dec"), platform_id=api.creds.id, submission_id=sub_id, verdict="allow", action="no_action"
        )
        session.add(decision)
        session.flush()
        decision_id = decision.id
    assert appeal(api, decision_id).get_json()["error"]["code"] == "not_appealable"


def test_other_platform_cannot_appeal_or_see_appeal(app: Any, api: SignedClient, settings: Any) -> None:
    submit(api, "p1")
    decision_id = _removed(api)
    appeal_id = appeal(api, decision_id).get_json()["id"]
    other = SignedClient(app.test_client(), make_platform(settings, "Other"))
    assert other.get(f"/v1/appeals/{appeal_id}").status_code == 404
    assert appeal(other, decision_id).status_code == 404


def test_responses_match_the_openapi_schemas(api: SignedClient, settings: Any) -> None:
    from jsonschema import Draft202012Validator

    from moderation.schemas_workflow import openapi_paths, openapi_schemas

    schemas = openapi_schemas()
    refs = {
        op["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        for path in openapi_paths().values()
        for method in path.values()
        for op in [*method["responses"].values(), method.get("requestBody", {"content": {}})]
        if op.get("content")
    }
    assert refs - set(schemas) == {"Error"}  # every other reference is one of ours; Error is the lead's
    submit(api, "p1")
    decision_id = _removed(api)
    checks = [
        ("AppealStatus", appeal(api, decision_id).get_json()),
        ("StatementOfReasons", api.get(f"/v1/decisions/{decision_id}/statement").get_json()),
        (
            "NoticeStatus",
            api.post(
                "/v1/notices",
                {
                    "notifier": {"name": "A", "capacity": "user"},
                    "targets": ["p1"],
                    "explanation": "x",
                    "good_faith": True,
                },
            ).get_json(),
        ),
        (
            "AuthorityRequestStatus",
            api.post(
                "/v1/authority-requests",
                {
                    "issuing_body": "Sở TT&TT Hà Nội",
                    "document_number": "1",
                    "document_date": "2026-01-02",
                    "targets": ["p1"],
                    "legal_basis": {"instrument": "Thông tư 07/2008/TT-BTTTT"},
                },
            ).get_json(),
        ),
    ]
    for name, body in checks:
        Draft202012Validator(schemas[name]).validate(body)
