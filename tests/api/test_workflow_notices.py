"""Notices through the API: acknowledged at once, triaged into the review queue, the notifier's outcome and reason,
repeated unfounded notices counted and flagged; validation and tenant isolation. On SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from moderation.services.notices import notices_for_decision, refresh_notice
from moderation.services.workflow import supersede
from moderation.store.db import session_scope
from moderation.store.models import Decision
from tests.api.test_workflow_enforcement import remove, row_counts, submit
from tests.conftest import SignedClient, make_platform


def notice_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "notifier": {"id": "user-9", "name": "Nguyễn Văn A", "contact": "a@example.vn", "capacity": "user"},
        "targets": ["p1"],
        "category": "slander",
        "explanation": "Bài viết bịa đặt rằng tôi nhận hối lộ.",
        "good_faith": True,
    }
    body.update(overrides)
    return body


def moderate(settings: Any, decision_id: str, verdict: str, reason: str) -> None:
    """Decide a review as the console does: a moderator's decision superseding it, then refresh the notices."""
    with session_scope(settings.database_url) as session:
        review = session.scalars(select(Decision).where(Decision.id == decision_id)).one()
        new = supersede(
            session,
            review,
            {
                "verdict": verdict,
                "action": "remove" if verdict == "remove" else "no_action",
                "source": "moderator",
                "reason": reason,
            },
            "moderator:lan",
        )
        for notice in notices_for_decision(session, new):
            refresh_notice(session, notice)


def test_notice_is_acknowledged_and_enters_review_queue(api: SignedClient, settings: Any) -> None:
    sub = submit(api, "p1")
    response = api.post("/v1/notices", notice_body())
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"].startswith("ntc_")
    assert (body["status"], body["outcome"]) == ("triaged", None)
    (target,) = body["targets"]
    assert target["submission_id"] == sub
    with session_scope(settings.database_url) as session:
        review = session.scalars(select(Decision).where(Decision.id == target["decision_id"])).one()
        assert (review.verdict, review.source, review.superseded_by_id) == ("review", "user_report", None)
        assert review.evaluation["notice_id"] == body["id"]


OUTCOMES = [
    # (id, the moderator's verdict, the notifier's outcome)
    ("removed-is-actioned", "remove", "actioned"),
    ("allowed-is-rejected", "allow", "rejected"),
]


@pytest.mark.parametrize(("verdict", "outcome"), [o[1:] for o in OUTCOMES], ids=[o[0] for o in OUTCOMES])
def test_notifier_sees_outcome_and_reason(api: SignedClient, settings: Any, verdict: str, outcome: str) -> None:
    submit(api, "p1")
    body = api.post("/v1/notices", notice_body()).get_json()
    moderate(settings, body["targets"][0]["decision_id"], verdict, "Đã xem xét / reviewed")
    result = api.get(f"/v1/notices/{body['id']}").get_json()
    assert (result["status"], result["outcome"], result["outcome_reason"]) == (
        "decided",
        outcome,
        "Đã xem xét / reviewed",
    )


def test_outcome_follows_on_read_without_console_refresh(api: SignedClient, settings: Any) -> None:
    submit(api, "p1")
    body = api.post("/v1/notices", notice_body()).get_json()
    with session_scope(settings.database_url) as session:
        review = session.scalars(select(Decision).where(Decision.id == body["targets"][0]["decision_id"])).one()
        supersede(
            session, review, {"verdict": "allow", "action": "no_action", "reason": "no violation"}, "moderator:lan"
        )
    assert api.get(f"/v1/notices/{body['id']}").get_json()["outcome"] == "rejected"


def test_repeated_unfounded_notices_are_counted_and_flagged(api: SignedClient, settings: Any) -> None:
    priorities = []
    for i in range(4):
        submit(api, f"p{i}")
        body = api.post("/v1/notices", notice_body(targets=[f"p{i}"])).get_json()
        priorities.append(body["priority"])
        moderate(settings, body["targets"][0]["decision_id"], "allow", "không vi phạm")
    last = api.get(f"/v1/notices/{body['id']}").get_json()
    assert last["notifier"]["unfounded_notices"] == 4
    assert last["notifier"]["flagged"] is True  # threshold 3 unfounded in 90 days, none founded
    assert priorities[3] == priorities[0] + 100  # still read, but after everyone else


def test_unknown_target_is_answered_not_found(api: SignedClient) -> None:
    body = api.post("/v1/notices", notice_body(targets=["https://elsewhere.vn/x"])).get_json()
    assert (body["status"], body["outcome"]) == ("decided", "not_found")


def test_item_already_removed_counts_as_actioned(api: SignedClient, settings: Any) -> None:
    remove(settings, api.creds.id, submit(api, "p1"), enforce=False)
    body = api.post("/v1/notices", notice_body()).get_json()
    assert body["outcome"] == "actioned"


BAD_NOTICES = [
    # (id, overrides, status, code, field)
    ("no-good-faith", {"good_faith": False}, 422, "invalid_value", "good_faith"),
    ("good-faith-not-bool", {"good_faith": "yes"}, 400, "invalid_type", "good_faith"),
    ("unknown-capacity", {"notifier": {"name": "A", "capacity": "police"}}, 422, "invalid_value", "notifier.capacity"),
    ("notifier-without-name", {"notifier": {"capacity": "user"}}, 422, "missing_field", "notifier.name"),
    (
        "rights-holder-without-work",
        {"notifier": {"name": "NXB Trẻ", "contact": "ip@nxbtre.vn", "capacity": "rights_holder"}},
        422,
        "missing_field",
        "work",
    ),
    (
        "affected-person-without-contact",
        {"notifier": {"name": "B", "capacity": "affected_person"}},
        422,
        "missing_field",
        "notifier.contact",
    ),
    ("no-targets", {"targets": []}, 422, "invalid_value", "targets"),
    ("empty-explanation", {"explanation": ""}, 422, "invalid_value", "explanation"),
    ("missing-explanation", {"explanation": None}, 422, "missing_field", "explanation"),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [(b[1], b[2:]) for b in BAD_NOTICES], ids=[b[0] for b in BAD_NOTICES]
)
def test_bad_notice_is_4xx_and_writes_nothing(
    api: SignedClient, settings: Any, overrides: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    submit(api, "p1")
    body = {k: v for k, v in notice_body(**overrides).items() if v is not None}
    before = row_counts(settings.database_url)
    response = api.post("/v1/notices", body)
    assert (
        response.status_code,
        response.get_json()["error"]["code"],
        response.get_json()["error"]["field"],
    ) == expected
    assert row_counts(settings.database_url) == before


def test_rights_holder_with_work_is_accepted(api: SignedClient) -> None:
    submit(api, "p1")
    body = notice_body(
        notifier={"name": "NXB Trẻ", "contact": "ip@nxbtre.vn", "capacity": "rights_holder"},
        category="copyright",
        work={"title": "Dế Mèn phiêu lưu ký", "owner": "NXB Kim Đồng"},
    )
    assert api.post("/v1/notices", body).status_code == 201


def test_other_platform_cannot_see_notice_or_target_its_posts(app: Any, api: SignedClient, settings: Any) -> None:
    submit(api, "p1")
    body = api.post("/v1/notices", notice_body()).get_json()
    other = SignedClient(app.test_client(), make_platform(settings, "Other"))
    assert other.get(f"/v1/notices/{body['id']}").status_code == 404
    assert other.post("/v1/notices", notice_body()).get_json()["outcome"] == "not_found"
