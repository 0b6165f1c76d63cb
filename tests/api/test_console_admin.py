"""Admin pages, on SQLite and PostgreSQL: platforms (create with key and secret shown once, rotate the secret,
callback URL, test platform) and the policy packs in force; every action audited, secrets never."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from moderation.store.db import session_scope
from moderation.store.models import AuditEntry, Platform
from tests.api.test_console_workflow import logged_in
from tests.conftest import PlatformCreds, SignedClient, post_payload


def audit_of(settings: Any, prefix: str) -> list[AuditEntry]:
    with session_scope(settings.database_url) as session:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.action.like(f"{prefix}%"))))
        for row in rows:
            session.expunge(row)
        return rows


def shown(html: str, what: str) -> str:
    match = re.search(rf'data-testid="shown-{what}">([^<]+)<', html)
    assert match, f"no {what} shown"
    return match.group(1)


def test_admin_creates_a_platform_and_sees_the_secret_once(app: Flask, settings: Any) -> None:
    console = logged_in(app, settings, "hoa", "admin")
    created = console.post(
        "/console/platforms",
        {"op": "create", "name": "Blog Sen", "callback_url": "https://sen.vn/cb", "is_test": "1"},
    )
    assert created.status_code == 200
    key, secret = shown(created.text, "key"), shown(created.text, "secret")
    with session_scope(settings.database_url) as session:
        platform = session.scalars(select(Platform).where(Platform.key == key)).one()
        assert (platform.secret, platform.callback_url, platform.is_test) == (secret, "https://sen.vn/cb", True)
        creds = PlatformCreds(platform.id, key, secret)
    listing = console.get("/console/platforms").text
    assert key in listing
    assert secret not in listing  # shown once
    (entry,) = audit_of(settings, "platform.create")
    assert entry.actor == "user:hoa"
    assert secret not in json.dumps(entry.details)
    # the new credentials work on the signed API
    assert SignedClient(app.test_client(), creds).post("/v1/posts", post_payload()).status_code == 202


def test_rotating_the_secret_stops_the_old_one(app: Flask, settings: Any, api: SignedClient) -> None:
    console = logged_in(app, settings, "hoa", "admin")
    rotated = console.post("/console/platforms", {"op": "rotate", "platform_id": api.creds.id})
    assert rotated.status_code == 200
    new_secret = shown(rotated.text, "secret")
    assert new_secret != api.creds.secret
    assert api.post("/v1/posts", post_payload()).status_code == 401
    fresh = SignedClient(app.test_client(), PlatformCreds(api.creds.id, api.creds.key, new_secret))
    assert fresh.post("/v1/posts", post_payload()).status_code == 202
    (entry,) = audit_of(settings, "platform.rotate_secret")
    assert new_secret not in json.dumps(entry.details)
    assert new_secret not in console.get("/console/platforms").text


UPDATE_CASES = [
    # (id, form, status, stored (callback_url, is_test))
    ("set-url-and-test", {"callback_url": "https://blog.vn/cb", "is_test": "1"}, 200, ("https://blog.vn/cb", True)),
    ("clear-url", {"callback_url": "  "}, 200, (None, False)),
    ("not-http", {"callback_url": "ftp://blog.vn/cb"}, 422, (None, False)),
    ("spaces", {"callback_url": "https://blog.vn/c b"}, 422, (None, False)),
]


@pytest.mark.parametrize(("form", "status", "stored"), [c[1:] for c in UPDATE_CASES], ids=[c[0] for c in UPDATE_CASES])
def test_admin_sets_callback_url_and_test_flag(
    app: Flask, settings: Any, platform: PlatformCreds, form: dict[str, str], status: int, stored: tuple[Any, bool]
) -> None:
    console = logged_in(app, settings, "hoa", "admin")
    response = console.post("/console/platforms", {"op": "update", "platform_id": platform.id, **form})
    assert response.status_code == status
    with session_scope(settings.database_url) as session:
        row = session.get(Platform, platform.id)
        assert row is not None
        assert (row.callback_url, row.is_test) == stored
    updates = audit_of(settings, "platform.update")
    assert len(updates) == (1 if status == 200 and stored != (None, False) else 0)


def test_unknown_platform_is_404(app: Flask, settings: Any) -> None:
    console = logged_in(app, settings, "hoa", "admin")
    assert console.post("/console/platforms", {"op": "rotate", "platform_id": "plt_nope"}).status_code == 404


def test_packs_page_lists_the_packs_in_force(app: Flask, settings: Any) -> None:
    from moderation.policy import load_packs

    console = logged_in(app, settings, "hoa", "admin")
    page = console.get("/console/packs")
    assert page.status_code == 200
    for pack in load_packs(settings.policies_dir):
        assert pack.version in page.text
        row = page.text.split(f'data-id="{pack.id}"', 1)[1]
        assert f'data-testid="pack-categories">{len(pack.categories)}<' in row
