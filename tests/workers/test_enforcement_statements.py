"""The statements one removal's graduated enforcement runs, on both engines (a regression guard, not a timing).

One query reads whether the removal was assessed, the strikes on its author and blog and the blog's status; the case
decision, case, violations, strikes and sanctions are one insert each; a callback is one more insert; a blog that
becomes suspended is read, updated and its status change recorded.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, update

from moderation.services.enforcement import apply_enforcement
from moderation.store.base import new_id
from moderation.store.db import session_scope
from moderation.store.models import Decision, Platform, Submission
from moderation.store.workflow import Case
from tests.conftest import SignedClient, post_payload, recorded_statements

NOW = dt.datetime.now(dt.UTC)
SLANDER = {
    "id": "slander",
    "name_vi": "Vu khống",
    "pack_id": "vn-circular-07-2008",
    "mode": "enforce",
    "severity": 3,
    "citation": {"article": "6"},
}


def _submit(api: SignedClient, n: int, published: dt.datetime) -> str:
    body = post_payload(id=f"p{n}", author_id="author-1", blog_id="blog-1", published_at=published.isoformat())
    response = api.post("/v1/posts", body)
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["submission_id"])


def _removal(session: Any, platform_id: str, sub_id: str) -> Decision:
    decision = Decision(
        id=new_id("dec"),
        platform_id=platform_id,
        submission_id=sub_id,
        dedupe_key=f"auto:{sub_id}",
        verdict="remove",
        action="remove",
        categories=[SLANDER],
        evaluation={},
        pack_versions={"vn-circular-07-2008": "sha256:test"},
        source="automated",
        actor="system",
    )
    session.add(decision)
    session.flush()
    return decision


READ = ["SELECT (SELECT CASE_VIOLATIONS.DECISION_ID"]
CASE = ["INSERT INTO DECISIONS", "INSERT INTO CASES", "INSERT INTO CASE_VIOLATIONS"]
STRIKE = ["INSERT INTO STRIKES", "INSERT INTO SANCTIONS"]
CALLBACK = ["INSERT INTO DELIVERIES"]
BLOG = ["SELECT BLOGS.ID, BLOGS.PLATFORM_ID,", "UPDATE BLOGS SET", "INSERT INTO BLOG_STATUS_CHANGES"]

# (earlier removals, callback URL, published days ago) → the case's sanction and the statements, in order.
CASES = [
    pytest.param(0, False, 0, "warn", READ + CASE + STRIKE, id="first-strike-warning"),
    pytest.param(0, True, 0, "warn", READ + CASE + STRIKE + CALLBACK, id="warning-with-callback"),
    pytest.param(1, True, 0, "suspend", READ + CASE + STRIKE + BLOG + CALLBACK, id="suspension-suspends-blog"),
    pytest.param(2, True, 0, "suspend_indefinite", READ + CASE + STRIKE + CALLBACK, id="blog-already-suspended"),
    pytest.param(1, True, 800, None, READ + CASE, id="time-barred-no-strike"),
]


@pytest.mark.parametrize(("earlier", "callback", "days_ago", "sanction", "expected"), CASES)
def test_one_removal_runs_a_fixed_list_of_statements(
    api: SignedClient,
    settings: Any,
    earlier: int,
    callback: bool,
    days_ago: int,
    sanction: str | None,
    expected: list[str],
) -> None:
    platform_id = api.creds.id
    assert api.post("/v1/blogs", {"id": "blog-1", "owner_id": "author-1", "name": "nhatky"}).status_code < 300
    if callback:
        with session_scope(settings.database_url) as session:
            session.execute(update(Platform).where(Platform.id == platform_id).values(callback_url="http://x.test/"))
    for n in range(earlier):
        sub_id = _submit(api, n, NOW)
        with session_scope(settings.database_url) as session:
            apply_enforcement(session, _removal(session, platform_id, sub_id))
    sub_id = _submit(api, earlier, NOW - dt.timedelta(days=days_ago))
    with session_scope(settings.database_url) as session:
        decision = _removal(session, platform_id, sub_id)
        # Loaded (and held: the identity map is weak), as the classifier has them.
        held = (session.get(Submission, sub_id), session.get(Platform, platform_id))
        with recorded_statements(settings.database_url, words=3) as statements:
            deliveries = apply_enforcement(session, decision)
        assert len(deliveries) == (1 if callback and sanction else 0)
        assert statements == expected
        assert all(held)
        assert apply_enforcement(session, decision) == []  # assessed once
        case = session.scalars(select(Case).order_by(Case.decided_at.desc()).limit(1)).one()
        assert case.sanction == sanction
