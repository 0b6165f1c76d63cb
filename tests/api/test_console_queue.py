"""The review queue: ordering, filters, claims, decisions superseding the automated one, bulk, escalation."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from sqlalchemy import select

from moderation.config import Settings
from moderation.services import review
from moderation.store.console import User
from moderation.store.db import session_scope
from moderation.store.models import AuditEntry, Decision
from tests.api.test_console_support import Console, decision, make_item, make_user
from tests.conftest import PlatformCreds


def queue_ids(settings: Settings, **flt: object) -> list[str]:
    with session_scope(settings.database_url) as session:
        return [i.id for i in review.review_queue(session, review.QueueFilter(**flt)).items]  # type: ignore[arg-type]


def test_queue_orders_by_deadline_then_severity(settings: Settings, platform: PlatformCreds) -> None:
    young = make_item(settings, platform.id, "Ông B lừa đảo", post_id="p1", age=dt.timedelta(hours=1))
    old = make_item(settings, platform.id, "Ông C lừa đảo", post_id="p2", age=dt.timedelta(hours=30))
    # same deadline (same creation time), higher severity first
    now = dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    mild = make_item(settings, platform.id, "Ngân hàng phá sản", post_id="p3")
    grave = make_item(settings, platform.id, "Bán súng", post_id="p4")
    with session_scope(settings.database_url) as session:
        for d in session.scalars(select(Decision).where(Decision.id.in_([mild, grave]))):
            d.created_at = now
    assert queue_ids(settings) == [old, grave, mild, young]
    with session_scope(settings.database_url) as session:
        q = review.review_queue(session)
        assert q.total == 4
        assert q.overdue == 1  # 30 h old with a 24 h deadline
        age = q.oldest_age(dt.datetime.now(dt.UTC))
        assert age is not None
        assert age > dt.timedelta(hours=29)


FILTER_CASES = [
    # (filter, expected post ids)
    ({}, {"a1", "a2", "b1"}),
    ({"category": "c07.s3_1.prohibited_goods"}, {"a2"}),
    ({"pack": "test-pack"}, {"a1", "a2", "b1"}),
    ({"pack": "other-pack"}, set()),
    ({"min_age_hours": 10.0}, {"a1"}),
    ({"platform_id": "B"}, {"b1"}),
]


@pytest.mark.parametrize(("flt", "expected"), FILTER_CASES)
def test_queue_filters(settings: Settings, platform: PlatformCreds, flt: dict[str, object], expected: set[str]) -> None:
    from tests.conftest import make_platform

    other = make_platform(settings, "Other")
    ids = {
        make_item(settings, platform.id, "X lừa đảo", post_id="a1", age=dt.timedelta(hours=12)): "a1",
        make_item(settings, platform.id, "Bán súng", post_id="a2"): "a2",
        make_item(settings, other.id, "Y lừa đảo", post_id="b1"): "b1",
    }
    if flt.get("platform_id") == "B":
        flt = {"platform_id": other.id}
    assert {ids[i] for i in queue_ids(settings, **flt)} == expected


def test_claims_are_exclusive_and_expire(settings: Settings, platform: PlatformCreds) -> None:
    item = make_item(settings, platform.id, "Ông B lừa đảo", post_id="p1")
    make_user(settings, "an", "moderator")
    make_user(settings, "binh", "moderator")
    t0 = dt.datetime.now(dt.UTC)
    with session_scope(settings.database_url) as session:
        an = session.scalars(select(User).where(User.username == "an")).one()
        binh = session.scalars(select(User).where(User.username == "binh")).one()
        review.claim_item(session, an, "decision", item, now=t0)
        with pytest.raises(review.ReviewError) as err:
            review.claim_item(session, binh, "decision", item, now=t0 + dt.timedelta(minutes=5))
        assert err.value.code == "claimed"
        with pytest.raises(review.ReviewError):
            review.decide(session, binh, item, "reject", reason="ok", now=t0 + dt.timedelta(minutes=5))
        # an abandoned claim expires: binh takes it over after the TTL
        later = t0 + review.CLAIM_TTL + dt.timedelta(seconds=1)
        taken = review.claim_item(session, binh, "decision", item, now=later)
        assert taken.username == "binh"
        assert review.expire_claims(session, now=later + review.CLAIM_TTL + dt.timedelta(seconds=1)) == 1


def test_decide_supersedes_the_automated_decision_and_leaves_the_queue(
    app: Flask, settings: Settings, platform: PlatformCreds
) -> None:
    item = make_item(settings, platform.id, "Ông Nguyễn Văn B là đồ lừa đảo", post_id="p1")
    make_user(settings, "an", "moderator")
    make_user(settings, "binh", "moderator")
    an, binh = Console(app), Console(app)
    an.login("an")
    binh.login("binh")
    page = an.get(f"/console/items/{item}").text
    assert "<mark" in page
    assert ">lừa đảo</mark>" in page
    assert an.post(f"/console/items/{item}/claim").status_code == 302
    # the other moderator sees the claim and cannot decide
    other = binh.get(f"/console/items/{item}").text
    assert "đang xử lý mục này" in other
    refused = binh.post(f"/console/items/{item}/decide", {"choice": "reject", "reason_text": "không vi phạm"})
    assert "Một kiểm duyệt viên khác" in binh.get(refused.headers["Location"]).text
    # a reason is required
    an.post(f"/console/items/{item}/decide", {"choice": "remove", "reason_text": ""})
    assert decision(settings, item).superseded_by_id is None
    done = an.post(f"/console/items/{item}/decide", {"choice": "remove", "reason_choice": "Vu khống cá nhân"})
    assert done.headers["Location"] == "/console/queue"
    old = decision(settings, item)
    assert old.superseded_by_id
    new = decision(settings, old.superseded_by_id)
    assert (new.verdict, new.action, new.source, new.actor) == ("remove", "remove", "moderator", "moderator:an")
    assert new.supersedes_id == item
    assert new.reason == "Vu khống cá nhân"
    assert new.automated_decision == "not"
    assert item not in queue_ids(settings)
    with session_scope(settings.database_url) as session:
        actions = [e.action for e in session.scalars(select(AuditEntry).where(AuditEntry.actor == "user:an"))]
    assert "review.decide" in actions
    assert "claim.create" in actions
    # a second decision on the same item is refused
    again = an.post(f"/console/items/{item}/decide", {"choice": "reject", "reason_text": "x"})
    assert "đã được quyết định" in an.get(again.headers["Location"]).text


OUTCOME_CASES = [
    # (form choice, verdict, action of the new decision)
    ("remove", "remove", "remove"),
    ("restrict", "remove", "restrict"),
    ("label", "allow", "label"),
    ("reject", "allow", "no_action"),
]


@pytest.mark.parametrize(("choice", "verdict", "action"), OUTCOME_CASES)
def test_outcomes(
    app: Flask, settings: Settings, platform: PlatformCreds, *, choice: str, verdict: str, action: str
) -> None:
    item = make_item(settings, platform.id, "Ông B lừa đảo", post_id="p1")
    make_user(settings, "an", "moderator")
    console = Console(app)
    console.login("an")
    console.get(f"/console/items/{item}")
    console.post(f"/console/items/{item}/decide", {"choice": choice, "reason_text": "lý do"})
    new = decision(settings, decision(settings, item).superseded_by_id or "")
    assert (new.verdict, new.action) == (verdict, action)


def test_escalation_moves_the_item_to_the_senior_queue(app: Flask, settings: Settings, platform: PlatformCreds) -> None:
    item = make_item(settings, platform.id, "Ông B lừa đảo", post_id="p1")
    make_user(settings, "an", "moderator")
    make_user(settings, "lan", "senior_moderator")
    an = Console(app)
    an.login("an")
    an.get(f"/console/items/{item}")
    an.post(f"/console/items/{item}/decide", {"choice": "escalate", "reason_text": "cần ý kiến"})
    assert item not in queue_ids(settings)
    assert queue_ids(settings, escalated=True) == [item]
    lan = Console(app)
    lan.login("lan")
    assert item in lan.get("/console/queue?view=escalated").text
    lan.get(f"/console/items/{item}")
    lan.post(f"/console/items/{item}/decide", {"choice": "reject", "reason_text": "trích dẫn pháp luật"})
    assert decision(settings, item).superseded_by_id
    assert queue_ids(settings, escalated=True) == []


def test_bulk_decides_duplicates_from_many_accounts(app: Flask, settings: Settings, platform: PlatformCreds) -> None:
    text = "Thằng chủ tịch xã là đồ lừa đảo!"
    ids = [make_item(settings, platform.id, text, post_id=f"s{n}", author=f"acc-{n}") for n in range(3)]
    unrelated = make_item(settings, platform.id, "Bán súng", post_id="u1")
    make_user(settings, "an", "moderator")
    console = Console(app)
    console.login("an")
    queue = console.get("/console/queue").text
    assert "×3" in queue
    page = console.get(f"/console/items/{ids[0]}").text
    assert all(i in page for i in ids[1:])
    console.post("/console/bulk", {"ids": ids, "choice": "remove", "reason_text": "spam trùng lặp"})
    assert queue_ids(settings) == [unrelated]
    with session_scope(settings.database_url) as session:
        bulk = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "review.decide")))
    assert len(bulk) == 3
    assert all(e.details.get("bulk_of") == ids[0] for e in bulk)


def test_item_view_escapes_content_and_shows_law_links_and_history(
    app: Flask, settings: Settings, platform: PlatformCreds
) -> None:
    signals = [
        {
            "kind": "link",
            "key": "blocklisted",
            "score": 1.0,
            "spans": [],
            "attrs": {"url": "http://bit.ly/x", "feed": "phishing-feed"},
            "detector": "links/1",
        },
        {
            "kind": "impersonation",
            "key": "ent-1",
            "score": 0.95,
            "spans": [],
            "attrs": {
                "entity_name": "Bộ Công an",
                "entity_kind": "agency",
                "similarity": 0.95,
                "matched": "B0 Cong an",
                "field": "title",
                "method": "confusables",
            },
        },
    ]
    make_item(settings, platform.id, "Bán súng lần trước", post_id="old", author="a9")
    item = make_item(
        settings,
        platform.id,
        "<script>alert(1)</script> ông B lừa đảo http://bit.ly/x",
        post_id="p1",
        author="a9",
        signals=signals,
    )
    make_user(settings, "an", "moderator")
    console = Console(app)
    console.login("an")
    page = console.get(f"/console/items/{item}").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "khoản 1 Điều 3 Thông tư 07/2008/TT-BTTTT" in page
    assert "blocklisted" in page
    assert "phishing-feed" in page
    assert "Bộ Công an" in page
    assert "c07.s3_1.prohibited_goods" in page  # the author's earlier item
