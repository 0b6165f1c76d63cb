"""The Akismet-compatible endpoints, driven by the real ``akismet`` client from PyPI.

The client's httpx transport is pointed at the test app, so its requests reach our endpoints unchanged.
"""

from __future__ import annotations

from typing import Any

import akismet
import httpx
import pytest
from sqlalchemy import select

from moderation.store.db import session_scope
from moderation.store.models import Feedback, Submission

CLEAN = "Cảm ơn bạn đã chia sẻ bài viết rất hay về du lịch Đà Lạt."
REMOVE = "Bán ma túy đá, súng quân dụng giá rẻ, giao hàng tận nơi."


def _client(app: Any, key: str, blog: str = "https://blog.example.vn") -> akismet.SyncClient:
    http = httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://rest.akismet.com")
    return akismet.SyncClient(config=akismet.Config(key=key, url=blog), http_client=http)


def test_verify_key(app: Any, platform: Any) -> None:
    assert _client(app, platform.key).verify_key() is True
    assert _client(app, "pk_wrong").verify_key() is False


def test_validated_client_refuses_a_bad_key(app: Any) -> None:
    http = httpx.Client(transport=httpx.WSGITransport(app=app))
    with pytest.raises(akismet.APIKeyError):
        akismet.SyncClient.validated_client(config=akismet.Config(key="nope", url="https://b.vn"), http_client=http)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (CLEAN, akismet.CheckResponse.HAM),  # allowed: publish
        (REMOVE, akismet.CheckResponse.DISCARD),  # automatic removal: Akismet's "discard" pro-tip
    ],
)
def test_comment_check(app: Any, platform: Any, content: str, expected: akismet.CheckResponse) -> None:
    client = _client(app, platform.key)
    result = client.comment_check(
        user_ip="203.0.113.5",
        comment_type="comment",
        comment_author="Lan",
        comment_content=content,
        permalink="https://blog.example.vn/p/1",
    )
    assert result == expected


def test_comment_check_is_recorded_like_the_v1_api(app: Any, platform: Any, settings: Any) -> None:
    client = _client(app, platform.key)
    for _ in range(2):  # the same comment twice is one submission
        client.comment_check(
            user_ip="203.0.113.5", comment_content=REMOVE, comment_author="Lan", permalink="https://blog.example.vn/p/1"
        )
    with session_scope(settings.database_url) as session:
        subs = session.scalars(select(Submission).where(Submission.platform_id == platform.id)).all()
        assert len(subs) == 1
        assert subs[0].status == "decided"
        assert subs[0].fields["body"] == REMOVE


@pytest.mark.parametrize(("method", "kind"), [("submit_spam", "spam"), ("submit_ham", "ham")])
def test_feedback_is_recorded_against_the_decision(
    app: Any, platform: Any, settings: Any, method: str, kind: str
) -> None:
    client = _client(app, platform.key)
    fields = {
        "user_ip": "203.0.113.5",
        "comment_content": CLEAN,
        "comment_author": "Lan",
        "permalink": "https://blog.example.vn/p/2",
    }
    client.comment_check(**fields)
    assert getattr(client, method)(**fields) is True
    with session_scope(settings.database_url) as session:
        (feedback,) = session.scalars(select(Feedback)).all()
        assert feedback.kind == kind
        assert feedback.decision_id is not None


def test_comment_check_with_a_bad_key_is_refused(app: Any) -> None:
    response = app.test_client().post(
        "/1.1/comment-check",
        data={"api_key": "nope", "blog": "https://b.vn", "user_ip": "1.2.3.4", "comment_content": "x"},
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unknown_key"
