"""Secrets and personal data never reach the logs.

The app's own JSON log handler (``moderation.observability``) is installed on the root logger at DEBUG, then the
intake, Akismet, console, worker and error flows run; the captured output is grepped for the platform secret, the
request signatures, the console password and session cookie, and the phone numbers and e-mail addresses the
platform posted. An unhandled database error is among the flows: its traceback must not carry the statement's
parameters (the posted text).
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from moderation import signing
from moderation.config import Settings
from moderation.observability import JsonFormatter, ScrubFilter
from moderation.services import intake
from tests.api.test_console_support import PASSWORD, Console, make_user
from tests.conftest import PlatformCreds, SignedClient, post_payload

PHONE = "0912 345 678"
EMAIL = "nguyen.van.a@example.vn"
PERSONAL = f"Liên hệ {PHONE} hoặc {EMAIL} để mua ma túy đá giá rẻ"


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(ScrubFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def _fail_with_parameters(session: Any, platform: Any, kind: str, payload: dict[str, Any]) -> Any:
    """A database error whose statement carries the posted text as a parameter (a NOT NULL violation)."""
    session.execute(text("INSERT INTO platforms (id, name) VALUES (:id, :name)"), {"id": "x", "name": payload["body"]})
    raise AssertionError("unreachable: the insert violates NOT NULL")


def test_secrets_and_personal_data_never_reach_the_logs(
    app: Flask, settings: Settings, platform: PlatformCreds, captured: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = SignedClient(app.test_client(), platform)
    signatures: list[str] = []

    def post(path: str, body: Any, **kw: Any) -> Any:
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = signing.signed_headers(platform.key, platform.secret, raw, now=kw.pop("now", time.time()))
        signatures.append(headers[signing.SIGNATURE_HEADER].removeprefix("v1="))
        headers["Content-Type"] = "application/json"
        return api.client.post(path, data=raw, headers=headers)

    # Intake: accepted, classified inline, bad signature, stale, malformed, a new revision.
    assert post("/v1/posts?sync=1", post_payload(id="p1", body=PERSONAL, author_id=EMAIL)).status_code == 202
    assert post("/v1/comments", post_payload(id="c1", post_id="p1", body=f"Gọi {PHONE}")).status_code == 202
    assert post("/v1/posts", post_payload(id="p2", body=PERSONAL), now=time.time() - 3600).status_code == 401
    bad = api.client.post(
        "/v1/posts",
        data=b'{"body": "' + EMAIL.encode() + b'"',
        headers={
            signing.KEY_HEADER: platform.key,
            signing.TIMESTAMP_HEADER: str(int(time.time())),
            signing.SIGNATURE_HEADER: "v1=" + "0" * 64,
            "Content-Type": "application/json",
        },
    )
    assert bad.status_code == 401
    assert post("/v1/posts", {"id": "p3", "body": PERSONAL}).status_code == 422
    assert (
        post(
            "/v1/notices",
            {
                "notifier": {"name": "Nguyễn Văn A", "contact": EMAIL, "capacity": "user"},
                "targets": ["p1"],
                "explanation": f"Gọi tôi: {PHONE}",
                "good_faith": True,
            },
        ).status_code
        == 201
    )
    # Akismet: the key travels in the form.
    api.client.post(
        "/1.1/comment-check",
        data={
            "api_key": platform.key,
            "blog": "https://b.vn",
            "comment_content": PERSONAL,
            "comment_author_email": EMAIL,
        },
    )
    api.client.post("/1.1/verify-key", data={"key": platform.secret, "blog": "https://b.vn"})
    # The worker: classify a received submission and try its callback (the receiver is down).
    from workers.tasks import run_classify

    rt = app.extensions["moderation"]
    received = post("/v1/posts", post_payload(id="p4", body=PERSONAL)).get_json()["submission_id"]
    run_classify(rt, received)
    # An unhandled database error while storing the posted text.
    monkeypatch.setattr(intake, "record_item", _fail_with_parameters)  # what the API view calls
    assert post("/v1/posts", post_payload(id="p5", body=PERSONAL)).status_code in (500, 503)
    monkeypatch.undo()
    # The console: log in with a password, use the session, log out.
    make_user(settings, "mai", "moderator")
    console = Console(app)
    login = console.login("mai")
    assert login.status_code == 302
    cookie = login.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    assert console.get("/console/queue").status_code == 200
    console.login("mai", "a wrong password 12345")

    logs = captured.getvalue()
    assert "unhandled error" in logs or "database unavailable" in logs  # the capture works
    forbidden = {
        "platform secret": platform.secret,
        "password": PASSWORD,
        "session cookie": cookie,
        "wrong password": "a wrong password 12345",
        "phone": PHONE,
        "phone digits": PHONE.replace(" ", ""),
        "e-mail": EMAIL,
    }
    forbidden |= {f"signature {i}": s for i, s in enumerate(signatures)}
    found = sorted(name for name, value in forbidden.items() if value in logs)
    assert not found, f"{found} in the logs:\n{logs[:3000]}"
