"""The pipeline's tasks as plain functions on real engines: classify, deliver (to a real HTTP server), sweep."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, update

from moderation.store.db import session_scope
from moderation.store.models import Decision, Delivery, DeliveryAttempt, Platform, Submission
from tests.callback_receiver import callback_receiver
from tests.conftest import SignedClient, post_payload
from workers.tasks import run_classify, run_deliver, run_sweep

# A post the default packs remove automatically: selling drugs and weapons (Decree 97/2008 Art. 6 (d)).
VIOLATING = "Bán ma túy đá, súng quân dụng giá rẻ, giao hàng tận nơi, liên hệ 0912345678."
CLEAN = "Hôm nay trời đẹp, tôi đi dạo quanh hồ Gươm với gia đình và ăn kem Tràng Tiền."


def _runtime(app: Any) -> Any:
    return app.extensions["moderation"]


def _set_callback(settings: Any, platform_id: str, url: str) -> None:
    with session_scope(settings.database_url) as session:
        session.execute(update(Platform).where(Platform.id == platform_id).values(callback_url=url))


def _count(settings: Any, model: Any, *where: Any) -> int:
    with session_scope(settings.database_url) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_clean_post_is_allowed_without_callback(api: SignedClient, app: Any, settings: Any) -> None:
    sub_id = api.post("/v1/posts", post_payload(body=CLEAN)).get_json()["submission_id"]
    decision_id = run_classify(_runtime(app), sub_id)
    assert decision_id
    status = api.get(f"/v1/submissions/{sub_id}").get_json()
    assert status["status"] == "decided"
    assert status["decision"]["verdict"] == "allow"
    assert status["decision"]["pack_versions"]  # every decision names the pack versions it was made under
    assert _count(settings, Delivery) == 0


def test_violating_post_is_removed_with_provenance_and_signed_callback(
    api: SignedClient, app: Any, settings: Any
) -> None:
    with callback_receiver(api.creds.secret) as receiver:
        _set_callback(settings, api.creds.id, receiver.url)
        sub_id = api.post("/v1/posts", post_payload(body=VIOLATING)).get_json()["submission_id"]
        rt = _runtime(app)
        run_classify(rt, sub_id)
        decision = api.get(f"/v1/submissions/{sub_id}").get_json()["decision"]
        assert decision["verdict"] == "remove"
        category = decision["categories"][0]
        assert category["citation"]["instrument"]
        assert category["pack_version"] == decision["pack_versions"][category["pack_id"]]
        for span in category["evidence"]:
            assert VIOLATING[span["start"] : span["end"]] == span["text"]  # offsets into the original body
        assert rt.queue.delivered, "the callback is enqueued after commit"
        for delivery_id in rt.queue.delivered:
            assert run_deliver(rt, delivery_id) is None
        assert receiver.bad_signatures == 0
        # The removal, then graduated enforcement: a first offence warns the author (Circular 05/2004 model).
        assert sorted(r["event"] for r in receiver.received) == ["decision.remove", "enforcement.warn_author"]
        removal = next(r for r in receiver.received if r["event"] == "decision.remove")
        assert removal["decision"]["id"] == decision["id"]


def test_classify_is_idempotent(api: SignedClient, app: Any, settings: Any) -> None:
    sub_id = api.post("/v1/posts", post_payload(body=VIOLATING)).get_json()["submission_id"]
    first = run_classify(_runtime(app), sub_id)
    second = run_classify(_runtime(app), sub_id)
    assert first == second
    assert _count(settings, Decision, Decision.source == "automated") == 1
    assert _count(settings, Decision, Decision.source == "enforcement") == 1  # the author's warning, once


def test_sync_classification_records_the_same_as_async(api: SignedClient, settings: Any) -> None:
    response = api.post("/v1/posts?sync=1", post_payload(body=VIOLATING))
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "decided"
    assert body["decision"]["verdict"] == "remove"
    assert _count(settings, Decision, Decision.source == "automated") == 1
    again = api.post("/v1/posts?sync=1", post_payload(body=VIOLATING))
    assert again.get_json()["decision"]["id"] == body["decision"]["id"]
    assert _count(settings, Decision, Decision.source == "automated") == 1


def test_decisions_page_through_with_cursor(api: SignedClient, app: Any) -> None:
    for i in range(5):
        api.post("/v1/posts?sync=1", post_payload(id=f"p{i}", body=CLEAN if i % 2 else VIOLATING))
    seen: list[dict[str, Any]] = []
    cursor = ""
    while True:
        page = api.get(f"/v1/decisions?limit=2&since={cursor}").get_json()
        seen += page["decisions"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    ids = [d["id"] for d in seen]
    assert len(ids) == len(set(ids))
    # One automated decision per post, plus the enforcement decisions (warnings, suspensions) the removals caused.
    automated = [d for d in seen if d["source"] == "automated"]
    assert sorted(d["item"]["id"] for d in automated) == [f"p{i}" for i in range(5)]
    assert {d["source"] for d in seen} <= {"automated", "enforcement"}
    assert api.get(f"/v1/decisions?since={cursor}").get_json()["decisions"] == []


def test_delivery_backs_off_records_every_attempt_then_succeeds(api: SignedClient, app: Any, settings: Any) -> None:
    with callback_receiver(api.creds.secret, fail_first=2) as receiver:
        _set_callback(settings, api.creds.id, receiver.url)
        body = api.post("/v1/posts?sync=1", post_payload(body=VIOLATING)).get_json()
        rt = _runtime(app)
        delivery_id = rt.queue.delivered[0]  # the removal; the author's warning follows it
        waits = [run_deliver(rt, delivery_id) for _ in range(3)]
        assert waits == [30, 60, None]  # exponential backoff, then delivered
        assert _count(settings, DeliveryAttempt) == 3
        with session_scope(settings.database_url) as session:
            delivery = session.get(Delivery, delivery_id)
            assert delivery is not None
            assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
        assert receiver.received[0]["decision"]["id"] == body["decision"]["id"]
        assert run_deliver(rt, delivery_id) is None  # a redelivered task sends nothing twice
        assert len(receiver.received) == 1


def test_delivery_gives_up_after_max_age(api: SignedClient, app: Any, settings: Any) -> None:
    with callback_receiver(api.creds.secret, fail_first=1000) as receiver:
        _set_callback(settings, api.creds.id, receiver.url)
        api.post("/v1/posts?sync=1", post_payload(body=VIOLATING))
        rt = _runtime(app)
        delivery_id = rt.queue.delivered[0]
        old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.callback_max_age_s + 1)
        with session_scope(settings.database_url) as session:
            session.execute(update(Delivery).where(Delivery.id == delivery_id).values(created_at=old))
        assert run_deliver(rt, delivery_id) is None
        assert _count(settings, Delivery, Delivery.status == "failed") == 1


def test_backoff_covers_at_least_24_hours() -> None:
    from moderation.services.delivery import BackoffPolicy

    policy = BackoffPolicy()
    total, attempts = 0, 0
    while total < policy.max_age_s:
        attempts += 1
        total += policy.delay(attempts)
    assert total >= 24 * 3600
    assert policy.delay(1) == 30
    assert policy.delay(50) == policy.cap_s


def test_sweep_reenqueues_stuck_submissions_and_due_deliveries(api: SignedClient, app: Any, settings: Any) -> None:
    rt = _runtime(app)
    sub_id = api.post("/v1/posts", post_payload()).get_json()["submission_id"]
    rt.queue.classified.clear()
    assert run_sweep(rt) == {"submissions": 0, "deliveries": 0}  # not stuck yet
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.stuck_after_s + 1)
    assert run_sweep(rt, now=later) == {"submissions": 1, "deliveries": 0}
    assert rt.queue.classified == [sub_id]
    assert run_sweep(rt, now=later)["submissions"] == 0  # not again until another period has passed


def test_missing_submission_is_ignored(app: Any) -> None:
    assert run_classify(_runtime(app), "sub_missing") is None


@pytest.mark.parametrize("status", ["received", "processing"])
def test_stuck_statuses(api: SignedClient, app: Any, settings: Any, status: str) -> None:
    sub_id = api.post("/v1/posts", post_payload()).get_json()["submission_id"]
    with session_scope(settings.database_url) as session:
        session.execute(update(Submission).where(Submission.id == sub_id).values(status=status))
    rt = dataclasses.replace(_runtime(app))
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.stuck_after_s + 1)
    assert run_sweep(rt, now=later)["submissions"] == 1
