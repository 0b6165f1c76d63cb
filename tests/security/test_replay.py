"""Replayed signed requests: outside the signature window (300 s) they are refused with 401 and write nothing;
inside it the same bytes create nothing new (the API is idempotent by the platform's ids). On SQLite and
PostgreSQL; the database's row counts are the judge.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest
from flask import Flask

from moderation import signing
from moderation.config import Settings
from tests.conftest import PlatformCreds, post_payload, row_counts

TOLERANCE_S = 300

# (path, body) of every signed write whose replay must create nothing new.
WRITES: list[tuple[str, dict[str, Any]]] = [
    ("/v1/posts", post_payload(id="replayed-post", body="Liên hệ 0912 345 678 để mua hàng")),
    ("/v1/comments", post_payload(id="replayed-comment", post_id="replayed-post")),
    ("/v1/blogs", {"id": "blog-replay", "owner_id": "author-1", "name": "Blog phát lại"}),
    ("/v1/works", {"id": "work-replay", "title": "Bài báo", "body": "Nội dung được bảo hộ của tòa soạn " * 10}),
    ("/v1/entities", {"id": "entity-replay", "name": "Báo Phát Lại", "kind": "organisation"}),
    (
        "/v1/authority-requests",
        {
            "issuing_body": "Bộ Thông tin và Truyền thông",
            "document_number": "77/BTTTT-REPLAY",
            "document_date": dt.date.today().isoformat(),
            "targets": ["replayed-post"],
            "legal_basis": {"instrument": "Thông tư 07/2008/TT-BTTTT", "article": "5", "clause": "4"},
        },
    ),
]


def _captured(creds: PlatformCreds, body: dict[str, Any], at: float) -> tuple[bytes, dict[str, str]]:
    """A request as an eavesdropper would capture it: exact bytes and headers, signed at ``at``."""
    raw = json.dumps(body, ensure_ascii=False).encode()
    headers = signing.signed_headers(creds.key, creds.secret, raw, now=at)
    headers["Content-Type"] = "application/json"
    return raw, headers


def _clock(monkeypatch: pytest.MonkeyPatch, now: float) -> None:
    monkeypatch.setattr(signing.time, "time", lambda: now)


@pytest.mark.parametrize(("path", "body"), WRITES, ids=[w[0] for w in WRITES])
def test_replay_inside_the_window_creates_nothing_new(
    app: Flask,
    settings: Settings,
    platform: PlatformCreds,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    body: dict[str, Any],
) -> None:
    client = app.test_client()
    sent_at = time.time()
    raw, headers = _captured(platform, body, sent_at)
    first = client.post(path, data=raw, headers=headers)
    assert first.status_code in (201, 202), first.get_data(as_text=True)[:300]
    after_first = row_counts(settings.database_url)
    for delay in (1, 60, TOLERANCE_S - 1):
        _clock(monkeypatch, sent_at + delay)
        again = client.post(path, data=raw, headers=headers)
        assert again.status_code == 200, (delay, again.get_data(as_text=True)[:300])
        assert row_counts(settings.database_url) == after_first, delay


@pytest.mark.parametrize(("path", "body"), WRITES, ids=[w[0] for w in WRITES])
@pytest.mark.parametrize("offset", [TOLERANCE_S + 1, 3600, -(TOLERANCE_S + 1)], ids=["late", "hour-late", "early"])
def test_replay_outside_the_window_is_refused_and_writes_nothing(
    app: Flask,
    settings: Settings,
    platform: PlatformCreds,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    body: dict[str, Any],
    offset: int,
) -> None:
    client = app.test_client()
    sent_at = time.time()
    raw, headers = _captured(platform, body, sent_at)
    before = row_counts(settings.database_url)
    _clock(monkeypatch, sent_at + offset)
    response = client.post(path, data=raw, headers=headers)
    assert response.status_code == 401, response.get_data(as_text=True)[:300]
    assert response.get_json()["error"]["code"] == "stale_timestamp"
    assert row_counts(settings.database_url) == before


def test_replayed_read_outside_the_window_is_refused(
    app: Flask, platform: PlatformCreds, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent_at = time.time()
    headers = signing.signed_headers(platform.key, platform.secret, b"", now=sent_at)
    client = app.test_client()
    assert client.get("/v1/decisions", headers=headers).status_code == 200
    _clock(monkeypatch, sent_at + TOLERANCE_S + 1)
    assert client.get("/v1/decisions", headers=headers).status_code == 401
