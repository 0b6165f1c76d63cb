"""Console accounts: login, lockout, TOTP, roles, CSRF scoped to the console, cookies, audit without secrets."""

from __future__ import annotations

import json

import pyotp
import pytest
from flask import Flask
from sqlalchemy import select

from moderation.config import Settings
from moderation.services import review
from moderation.store.console import User
from moderation.store.db import session_scope
from moderation.store.models import AuditEntry
from tests.api.test_console_support import PASSWORD, Console, make_user
from tests.conftest import SignedClient, post_payload


def audit_actions(settings: Settings) -> list[tuple[str, str, dict[str, object]]]:
    with session_scope(settings.database_url) as session:
        return [(e.actor, e.action, e.details) for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]


def test_login_sets_secure_httponly_lax_cookie_and_audits_without_password(app: Flask, settings: Settings) -> None:
    make_user(settings, "mai", "moderator")
    console = Console(app)
    response = console.login("mai")
    assert response.status_code == 302
    assert response.headers["Location"] == "/console/"
    cookie = response.headers["Set-Cookie"]
    for flag in ("HttpOnly", "SameSite=Lax", "Secure"):
        assert flag in cookie
    assert console.get("/console/queue").status_code == 200
    trail = audit_actions(settings)
    assert ("user:mai", "login.success") in [(a, b) for a, b, _ in trail]
    assert PASSWORD not in json.dumps([d for _, _, d in trail], ensure_ascii=False)


LOGIN_CASES = [
    # (username, password, status, message fragment in Vietnamese)
    ("mai", "wrong password!", 401, "Sai tên đăng nhập"),
    ("nobody", PASSWORD, 401, "Sai tên đăng nhập"),  # same answer for an unknown user
    ("", "", 401, "Sai tên đăng nhập"),
]


@pytest.mark.parametrize(("username", "password", "status", "message"), LOGIN_CASES)
def test_bad_logins_are_refused_with_one_message(
    app: Flask, settings: Settings, *, username: str, password: str, status: int, message: str
) -> None:
    make_user(settings, "mai", "moderator")
    response = Console(app).login(username, password)
    assert response.status_code == status
    assert message in response.text


def test_lockout_after_repeated_failures_even_with_the_right_password(app: Flask, settings: Settings) -> None:
    make_user(settings, "mai", "moderator")
    console = Console(app)
    for _ in range(review.MAX_FAILED_LOGINS - 1):
        assert console.login("mai", "wrong password!").status_code == 401
    locked = console.login("mai", "wrong password!")
    assert "tạm khóa" in locked.text
    still = console.login("mai", PASSWORD)
    assert still.status_code == 401
    assert "tạm khóa" in still.text
    actions = [b for _, b, _ in audit_actions(settings)]
    assert "user.lock" in actions
    assert "login.refused" in actions


def test_totp_is_required_when_the_account_has_one(app: Flask, settings: Settings) -> None:
    secret = make_user(settings, "lan", "senior_moderator", totp=True)
    assert secret
    console = Console(app)
    asked = console.login("lan")
    assert asked.status_code == 401
    assert "6 chữ số" in asked.text
    assert console.login("lan", totp="000000").status_code == 401
    assert console.login("lan", totp=pyotp.TOTP(secret).now()).status_code == 302


def test_login_rate_limit_per_address(app: Flask, settings: Settings) -> None:
    console = Console(app)
    statuses = [console.login("x", "y").status_code for _ in range(30)]
    assert 429 in statuses


ROLE_CASES = [
    # (role, path, expected status)
    ("moderator", "/console/queue", 200),
    ("moderator", "/console/queue?view=escalated", 403),
    ("moderator", "/console/appeals", 403),
    ("moderator", "/console/audit", 403),
    ("moderator", "/console/users", 403),
    ("moderator", "/console/registry", 403),
    ("senior_moderator", "/console/appeals", 200),
    ("senior_moderator", "/console/queue?view=escalated", 200),
    ("senior_moderator", "/console/audit", 403),
    ("compliance_officer", "/console/queue", 403),
    ("compliance_officer", "/console/authority", 200),
    ("compliance_officer", "/console/registry", 200),
    ("compliance_officer", "/console/audit", 200),
    ("compliance_officer", "/console/users", 403),
    ("admin", "/console/users", 200),
    ("admin", "/console/audit", 200),
    ("admin", "/console/queue", 200),
]


@pytest.mark.parametrize(("role", "path", "status"), ROLE_CASES)
def test_every_page_checks_the_role(app: Flask, settings: Settings, role: str, path: str, status: int) -> None:
    make_user(settings, "u1", role)
    console = Console(app)
    console.login("u1")
    response = console.get(path)
    assert response.status_code == status
    if status == 403:
        assert ("user:u1", "access.denied") in [(a, b) for a, b, _ in audit_actions(settings)]


@pytest.mark.parametrize("path", ["/console/queue", "/console/audit", "/console/items/dec_x"])
def test_pages_need_a_login(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/console/login?next=")


def test_post_without_login_is_401(app: Flask) -> None:
    console = Console(app)
    assert console.post("/console/items/dec_x/claim").status_code == 401


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/console/login", {"username": "mai", "password": PASSWORD}),
        ("/console/logout", {}),
        ("/console/items/dec_x/decide", {"choice": "reject", "reason_text": "ok"}),
        ("/console/language", {"lang": "en"}),
    ],
)
def test_console_forms_without_csrf_token_are_refused(
    app: Flask, settings: Settings, path: str, data: dict[str, str]
) -> None:
    make_user(settings, "mai", "moderator")
    console = Console(app)
    console.login("mai")
    response = console.post(path, data, csrf=False)
    assert response.status_code == 400
    assert "Mã bảo mật" in response.text


def test_a_wrong_csrf_token_is_refused(app: Flask, settings: Settings) -> None:
    make_user(settings, "mai", "moderator")
    console = Console(app)
    console.login("mai")
    assert console.post("/console/logout", {"csrf_token": "forged"}).status_code == 400


def test_platform_api_stays_exempt_from_csrf(api: SignedClient) -> None:
    response = api.post("/v1/posts", post_payload())
    assert response.status_code == 202, response.get_json()


def test_language_switch_and_english_pages(app: Flask, settings: Settings) -> None:
    make_user(settings, "mai", "moderator")
    console = Console(app)
    console.login("mai")
    assert "Hàng chờ kiểm duyệt" in console.get("/console/queue").text
    assert console.post("/console/language", {"lang": "en", "next": "/console/queue"}).status_code == 302
    page = console.get("/console/queue").text
    assert "Review queue" in page
    assert '<html lang="en">' in page
    # an open redirect through ``next`` is refused
    bounced = console.post("/console/language", {"lang": "vi", "next": "https://evil.example/"})
    assert bounced.headers["Location"] == "/console/"


def test_security_headers_on_console_pages(app: Flask) -> None:
    response = app.test_client().get("/console/login")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_logout_ends_the_session(app: Flask, settings: Settings) -> None:
    make_user(settings, "mai", "moderator")
    console = Console(app)
    console.login("mai")
    console.get("/console/queue")
    assert console.post("/console/logout").status_code == 302
    assert console.get("/console/queue").status_code == 302


def test_admin_creates_and_unlocks_accounts(app: Flask, settings: Settings) -> None:
    make_user(settings, "boss", "admin")
    console = Console(app)
    console.login("boss")
    console.get("/console/users")
    created = console.post(
        "/console/users",
        {"op": "create", "username": "new.mod", "password": "long enough pw", "role": "moderator", "totp": "1"},
    )
    assert created.status_code == 200
    assert "Khóa TOTP" in created.text
    with session_scope(settings.database_url) as session:
        user = session.scalars(select(User).where(User.username == "new.mod")).one()
        assert user.totp_secret
        assert user.role == "moderator"
    assert "user.create" in [b for _, b, _ in audit_actions(settings)]
    assert "long enough pw" not in json.dumps([d for _, _, d in audit_actions(settings)])
