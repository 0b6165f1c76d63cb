"""The intake API v1 contract: auth, validation, idempotency, status, paging — on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from moderation.web.openapi import build_openapi
from tests.conftest import SignedClient, make_platform, post_payload, row_counts

OPENAPI = build_openapi()
_REGISTRY = Registry().with_resource("urn:openapi", DRAFT202012.create_resource(OPENAPI))


def assert_matches(response: Any, path: str, method: str = "post") -> None:
    """Check a response body against the OpenAPI document for its path, method and status."""
    responses = OPENAPI["paths"][path][method]["responses"]
    spec = responses.get(str(response.status_code))
    assert spec is not None, f"{method.upper()} {path} -> {response.status_code} is not documented"
    schema = spec["content"]["application/json"]["schema"]
    ref = {"$ref": "urn:openapi#" + schema["$ref"][1:]}
    Draft202012Validator(ref, registry=_REGISTRY).validate(response.get_json())


def test_post_is_accepted_and_recorded(api: SignedClient, queue: Any, settings: Any) -> None:
    response = api.post("/v1/posts", post_payload())
    assert response.status_code == 202, response.get_json()
    assert_matches(response, "/v1/posts")
    body = response.get_json()
    assert body["status"] == "received"
    assert body["status_url"].endswith(f"/v1/submissions/{body['submission_id']}")
    assert queue.classified == [body["submission_id"]]  # enqueued after commit, by id
    assert row_counts(settings.database_url)["submissions"] == 1


def test_same_revision_returns_same_submission_without_second_classification(api: SignedClient, queue: Any) -> None:
    first = api.post("/v1/posts", post_payload()).get_json()
    again = api.post("/v1/posts", post_payload())
    assert again.status_code == 200
    assert again.get_json()["submission_id"] == first["submission_id"]
    assert queue.classified == [first["submission_id"]]
    edit = api.post("/v1/posts", post_payload(revision=2, body="Đã sửa bài."))
    assert edit.status_code == 202
    assert edit.get_json()["submission_id"] != first["submission_id"]


def test_comment_needs_post_id_and_is_accepted_with_it(api: SignedClient) -> None:
    missing = api.post("/v1/comments", post_payload(id="c-1"))
    assert missing.status_code == 422
    assert missing.get_json()["error"] == {
        "code": "missing_field",
        "message": missing.get_json()["error"]["message"],
        "field": "post_id",
    }
    ok = api.post("/v1/comments", post_payload(id="c-1", post_id="post-1"))
    assert ok.status_code == 202
    assert_matches(ok, "/v1/comments")


BAD_BODIES = [
    # (id, raw body, content type, status, code, field)
    ("not-json", b"{not json", "application/json", 400, "malformed_json", None),
    ("invalid-utf8", b'{"id": "\xff\xfe"}', "application/json", 400, "invalid_utf8", None),
    ("array-not-object", b"[]", "application/json", 400, "invalid_type", None),
    ("wrong-type-body", json.dumps(post_payload(body=5)).encode(), "application/json", 400, "invalid_type", "body"),
    (
        "wrong-type-links",
        json.dumps(post_payload(links="http://a.vn")).encode(),
        "application/json",
        400,
        "invalid_type",
        "links",
    ),
    (
        "missing-body",
        json.dumps({"id": "p", "blog_id": "b", "author_id": "a"}).encode(),
        "application/json",
        422,
        "missing_field",
        "body",
    ),
    (
        "revision-zero",
        json.dumps(post_payload(revision=0)).encode(),
        "application/json",
        422,
        "invalid_value",
        "revision",
    ),
    (
        "unknown-kind",
        json.dumps(post_payload(kind="repost")).encode(),
        "application/json",
        422,
        "invalid_value",
        "kind",
    ),
    (
        "bad-time",
        json.dumps(post_payload(published_at="yesterday")).encode(),
        "application/json",
        422,
        "invalid_value",
        "published_at",
    ),
    (
        "naive-time",
        json.dumps(post_payload(published_at="2026-01-01T10:00:00")).encode(),
        "application/json",
        422,
        "invalid_value",
        "published_at",
    ),
    ("empty-id", json.dumps(post_payload(id="")).encode(), "application/json", 422, "invalid_value", "id"),
    ("nul-in-body", json.dumps(post_payload(body="a\x00b")).encode(), "application/json", 422, "invalid_value", "body"),
    ("form-encoded", b"id=1&body=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type", None),
    ("deep-nesting", b"[" * 100_000 + b"]" * 100_000, "application/json", 400, "malformed_json", None),
]


@pytest.mark.parametrize(
    ("raw", "ctype", "status", "code", "field"), [b[1:] for b in BAD_BODIES], ids=[b[0] for b in BAD_BODIES]
)
def test_bad_input_gets_4xx_with_code_and_writes_nothing(
    api: SignedClient, settings: Any, raw: bytes, ctype: str, status: int, code: str, field: str | None
) -> None:
    before = row_counts(settings.database_url)
    response = api.post("/v1/posts", raw=raw, content_type=ctype)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert row_counts(settings.database_url) == before


def test_oversized_body_is_413(app: Any, platform: Any, settings: Any) -> None:
    api = SignedClient(app.test_client(), platform)
    big = post_payload(body="x" * (settings.max_body_bytes + 1))
    response = api.post("/v1/posts", big)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert row_counts(settings.database_url)["submissions"] == 0


AUTH_CASES = [
    # (id, how to break the request, status, code)
    ("no-key", {"drop": "X-Moderation-Key"}, 401, "missing_key"),
    ("unknown-key", {"set": ("X-Moderation-Key", "pk_000000000000000000000000")}, 401, "unknown_key"),
    ("no-signature", {"drop": "X-Moderation-Signature"}, 401, "missing_signature"),
    ("bad-signature", {"set": ("X-Moderation-Signature", "v1=" + "0" * 64)}, 401, "bad_signature"),
    ("wrong-scheme", {"set": ("X-Moderation-Signature", "v0=abc")}, 401, "bad_signature"),
    ("bad-timestamp", {"set": ("X-Moderation-Timestamp", "soon")}, 401, "bad_timestamp"),
    ("stale", {"now": -301}, 401, "stale_timestamp"),
    ("future", {"now": +301}, 401, "stale_timestamp"),
    ("body-tampered", {"tamper": True}, 401, "bad_signature"),
]


@pytest.mark.parametrize(("how", "status", "code"), [c[1:] for c in AUTH_CASES], ids=[c[0] for c in AUTH_CASES])
def test_auth_failures(api: SignedClient, settings: Any, how: dict[str, Any], status: int, code: str) -> None:
    from moderation.signing import signed_headers

    body = json.dumps(post_payload()).encode()
    headers = signed_headers(api.creds.key, api.creds.secret, body, now=time.time() + how.get("now", 0))
    headers["Content-Type"] = "application/json"
    if "drop" in how:
        headers.pop(how["drop"])
    if "set" in how:
        headers[how["set"][0]] = how["set"][1]
    if how.get("tamper"):
        body = body.replace(b"post-1", b"post-2")
    response = api.client.post("/v1/posts", data=body, headers=headers)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code
    assert row_counts(settings.database_url)["submissions"] == 0


def test_timestamp_within_window_is_accepted(api: SignedClient) -> None:
    assert api.post("/v1/posts", post_payload(), now=time.time() - 290).status_code == 202


def test_rotating_secret_accepts_either_signature(api: SignedClient) -> None:
    from moderation.signing import sign, signed_headers

    body = json.dumps(post_payload()).encode()
    headers = signed_headers(api.creds.key, api.creds.secret, body)
    old = sign("an-old-secret", headers["X-Moderation-Timestamp"], body)
    headers["X-Moderation-Signature"] = f"{old},{headers['X-Moderation-Signature']}"
    headers["Content-Type"] = "application/json"
    assert api.client.post("/v1/posts", data=body, headers=headers).status_code == 202


def test_platform_sees_only_its_own_submissions(app: Any, api: SignedClient, settings: Any) -> None:
    sub_id = api.post("/v1/posts", post_payload()).get_json()["submission_id"]
    other = SignedClient(app.test_client(), make_platform(settings, "Other"))
    assert other.get(f"/v1/submissions/{sub_id}").status_code == 404
    assert other.get("/v1/decisions").get_json()["decisions"] == []
    # The same external id on another platform is another submission.
    assert other.post("/v1/posts", post_payload()).status_code == 202


def test_submission_status_before_decision(api: SignedClient) -> None:
    sub_id = api.post("/v1/posts", post_payload()).get_json()["submission_id"]
    response = api.get(f"/v1/submissions/{sub_id}")
    assert response.status_code == 200
    assert_matches(response, "/v1/submissions/{submission_id}", "get")
    assert response.get_json()["status"] == "received"
    assert response.get_json()["decision"] is None
    assert api.get("/v1/submissions/sub_nope").status_code == 404


def test_blog_registration_creates_then_updates(api: SignedClient, queue: Any) -> None:
    blog = {
        "id": "b-1",
        "owner_id": "u-1",
        "name": "nhatky",
        "display_name": "Nhật ký của An",
        "url": "https://nhatky.example.vn",
        "created_at": "2025-01-02T03:04:05+07:00",
    }
    created = api.post("/v1/blogs", blog)
    assert created.status_code == 201, created.get_json()
    assert_matches(created, "/v1/blogs")
    assert created.get_json()["submission_id"] in queue.classified  # blogs are checked too
    same = api.post("/v1/blogs", blog)
    assert same.status_code == 200
    assert same.get_json()["submission_id"] is None  # nothing to re-check
    renamed = api.post("/v1/blogs", {**blog, "display_name": "Báo Nhân Dân", "status": "suspended"})
    assert renamed.status_code == 200
    assert renamed.get_json()["status"] == "suspended"
    assert renamed.get_json()["submission_id"] not in (None, created.get_json()["submission_id"])


def test_decisions_cursor_validation(api: SignedClient) -> None:
    assert api.get("/v1/decisions?since=bogus").get_json()["error"]["code"] == "invalid_cursor"
    assert api.get("/v1/decisions?limit=0").status_code == 422
    assert api.get("/v1/decisions?limit=x").status_code == 400
    page = api.get("/v1/decisions")
    assert page.status_code == 200
    assert_matches(page, "/v1/decisions", "get")


def test_rate_limit_answers_429_with_retry_after(settings: Any, queue: Any, platform: Any) -> None:
    import dataclasses

    from moderation.web.app import create_app

    limited = create_app(dataclasses.replace(settings, rate_limit_per_minute=6), queue=queue)
    api = SignedClient(limited.test_client(), platform)
    statuses = [api.post("/v1/posts", post_payload(id=f"p{i}")).status_code for i in range(3)]
    assert statuses[0] == 202
    assert 429 in statuses
    blocked = api.post("/v1/posts", post_payload(id="later"))
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("path", "status"), [("/healthz", 200), ("/openapi.json", 200), ("/docs/", 200), ("/nope", 404)]
)
def test_public_endpoints(app: Any, path: str, status: int) -> None:
    response = app.test_client().get(path)
    assert response.status_code == status
    if status == 404:
        assert response.get_json()["error"]["code"] == "not_found"


def test_readyz_reports_database(app: Any) -> None:
    response = app.test_client().get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["database"] == "ok"


def test_metrics_exposes_counts(api: SignedClient, app: Any) -> None:
    api.post("/v1/posts", post_payload())
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'moderation_submissions{status="received"} 1.0' in text
    assert "moderation_http_requests_total" in text


def test_wrong_method_is_405_json(api: SignedClient) -> None:
    response = api.get("/v1/posts")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"
