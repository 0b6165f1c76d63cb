"""A platform with one object of every kind the API exposes, made through the API itself.

The hostile-input tests need real ids to aim at: a decided submission (removed, so it can be appealed), its
decision, an appeal, a notice, an authority request, a stored report, a protected work and entity, a blog.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from moderation.config import Settings
from tests.conftest import PlatformCreds, SignedClient, make_platform, post_payload

# The demo text the shipped pack removes (drug sale); a second, harmless one stays allowed.
REMOVED_BODY = "Bán ma túy đá giá rẻ, liên hệ ngay"
SHA = "a" * 64


@dataclass
class World:
    creds: PlatformCreds
    client: SignedClient
    prefix: str
    ids: dict[str, str] = field(default_factory=dict)  # path parameter name -> a real id of this platform

    def akismet_form(self, content: str = REMOVED_BODY) -> dict[str, str]:
        return {
            "api_key": self.creds.key,
            "blog": "https://blog.example.vn",
            "comment_type": "comment",
            "comment_author": "Lan",
            "comment_content": content,
            "permalink": f"https://blog.example.vn/{self.prefix}p1",
            "user_ip": "203.0.113.5",
        }


def _ok(response: Any, *statuses: int) -> dict[str, Any]:
    assert response.status_code in statuses, (response.status_code, response.get_data(as_text=True)[:500])
    body: dict[str, Any] = response.get_json()
    return body


def build_world(app: Flask, settings: Settings, name: str, prefix: str = "") -> World:
    """Create a platform called ``name`` and one of each object; ``ids`` maps a path parameter name to a real id."""
    creds = make_platform(settings, name)
    api = SignedClient(app.test_client(), creds)
    ids: dict[str, str] = {}
    today = dt.date.today()
    _ok(api.post("/v1/blogs", {"id": f"{prefix}blog-1", "owner_id": f"{prefix}author-1", "name": f"Blog {name}"}), 201)
    removed = _ok(
        api.post(
            "/v1/posts?sync=1",
            post_payload(id=f"{prefix}p1", blog_id=f"{prefix}blog-1", author_id=f"{prefix}author-1", body=REMOVED_BODY),
        ),
        202,
    )
    assert removed["decision"]["verdict"] == "remove", removed["decision"]
    ids["submission_id"] = removed["submission_id"]
    ids["decision_id"] = removed["decision"]["id"]
    _ok(api.post("/v1/comments", post_payload(id=f"{prefix}c1", post_id=f"{prefix}p1")), 202)
    appeal = _ok(
        api.post(
            "/v1/appeals",
            {
                "decision_id": ids["decision_id"],
                "appellant_id": f"{prefix}author-1",
                "grounds": "Tôi chỉ trích dẫn để phản bác.",
            },
        ),
        201,
    )
    ids["appeal_id"] = appeal["id"]
    notice = _ok(
        api.post(
            "/v1/notices",
            {
                "notifier": {"id": "user-9", "name": "Nguyễn Văn A", "contact": "a@example.vn", "capacity": "user"},
                "targets": [f"{prefix}p1"],
                "category": "slander",
                "explanation": "Bài viết bịa đặt rằng tôi nhận hối lộ.",
                "good_faith": True,
            },
        ),
        201,
    )
    ids["notice_id"] = notice["id"]
    request = _ok(
        api.post(
            "/v1/authority-requests",
            {
                "issuing_body": "Bộ Thông tin và Truyền thông",
                "document_number": f"{prefix}123/BTTTT",
                "document_date": today.isoformat(),
                "targets": [f"{prefix}p1"],
                "legal_basis": {"instrument": "Thông tư 07/2008/TT-BTTTT", "article": "5", "clause": "4"},
                "attachments": [{"name": "cong-van.pdf", "sha256": SHA}],
            },
        ),
        201,
    )
    ids["request_id"] = request["id"]
    report = api.get(f"/v1/reports/adhoc?from={today.replace(day=1).isoformat()}&to={today.isoformat()}")
    _ok(report, 200)
    ids["report_id"] = report.headers["X-Report-Id"]
    _ok(api.post("/v1/works", {"id": f"{prefix}work-1", "title": "Bài báo", "body": "Nội dung được bảo hộ " * 20}), 201)
    _ok(api.post("/v1/entities", {"id": f"{prefix}entity-1", "name": f"Báo {name}", "kind": "organisation"}), 201)
    ids["work_id"], ids["entity_id"] = f"{prefix}work-1", f"{prefix}entity-1"
    world = World(creds, api, prefix, ids)
    checked = api.client.post("/1.1/comment-check", data=world.akismet_form())
    assert checked.get_data(as_text=True) == "true", checked.get_data(as_text=True)
    return world
