"""The console in a real browser: Debian's Chromium driven by Playwright against the app served on 127.0.0.1.

One server and one browser for the module; each test opens its own context (cookies). Screenshots of the main pages
go to docs/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from moderation.config import load_settings
from moderation.services.intake import create_platform, register_blog
from moderation.store.db import dispose_engines, session_scope, upgrade
from moderation.web.runtime import RecordingQueue
from tests.api.test_console_support import PASSWORD, make_item, make_user

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
IN_CI = os.environ.get("CI", "").lower() == "true"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is required in CI")
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium to run the browser tests")
    from werkzeug.serving import make_server

    from moderation.web.app import create_app

    tmp = tmp_path_factory.mktemp("console-e2e")
    url = f"sqlite:///{tmp / 'e2e.db'}"
    upgrade(url)
    settings = load_settings(
        env={}, database_url=url, var_dir=tmp / "var", secret_key="e2e-secret", log_json=False, rate_limit_per_minute=0
    )
    with session_scope(url) as session:
        platform, _ = create_platform(session, "Blog Việt")
        platform_id = platform.id
        for n, (name, status) in enumerate([("Góc nhỏ Hoa Sen", "active"), ("Tin nhanh 24h", "suspended")]):
            register_blog(
                session,
                platform,
                {
                    "id": f"blog-{n}",
                    "owner_id": f"owner-{n}",
                    "name": name,
                    "display_name": name,
                    "url": f"https://blog.vn/{n}",
                    "status": status,
                },
            )
    items = {
        "slander": make_item(
            settings,
            platform_id,
            "Ông Nguyễn Văn B ở phường 5 là đồ lừa đảo, ăn cắp tiền của bà con.",
            post_id="p-slander",
            author="tk-hoasen",
            blog="blog-0",
            title="Cảnh báo <b>lừa đảo</b>",
            age=dt.timedelta(hours=20),
        ),
        "bank": make_item(
            settings,
            platform_id,
            "Khẩn cấp: ngân hàng sắp phá sản, rút hết tiền ngay!",
            post_id="p-bank",
            author="tk-tin",
            blog="blog-1",
            age=dt.timedelta(hours=3),
        ),
        "goods": make_item(
            settings,
            platform_id,
            "Bán súng hơi giá rẻ, giao hàng toàn quốc.",
            post_id="p-goods",
            author="tk-ban",
            blog="blog-1",
            age=dt.timedelta(hours=26),
        ),
    }
    for username, role in [
        ("mod.an", "moderator"),
        ("senior.lan", "senior_moderator"),
        ("compliance.binh", "compliance_officer"),
        ("admin.hoa", "admin"),
    ]:
        make_user(settings, username, role)
    app = create_app(settings, queue=RecordingQueue())
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield {
            "base": f"http://127.0.0.1:{httpd.server_port}",
            "settings": settings,
            "items": items,
            "platform_id": platform_id,
        }
    finally:
        httpd.shutdown()
        dispose_engines()


@pytest.fixture(scope="module")
def browser(server: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any, server: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(base_url=server["base"], viewport={"width": 1366, "height": 800}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def login(page: Any, username: str, password: str = PASSWORD) -> None:
    page.goto("/console/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def shot(page: Any, name: str) -> None:
    """Take a screenshot always (it exercises rendering); refresh docs/screenshots only when asked to.

    ``UPDATE_SCREENSHOTS=1 make test`` rewrites the README's pictures; otherwise a test run leaves the tree clean.
    """
    image = page.screenshot(full_page=False)
    assert image[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        (SCREENSHOTS / f"{name}.png").write_bytes(image)


def test_moderator_claims_sees_evidence_decides_and_it_is_audited(
    page: Any, server: dict[str, Any], browser: Any
) -> None:
    page.goto("/console/login")
    shot(page, "login")
    login(page, "mod.an")
    page.wait_for_url("**/console/queue")
    rows = page.locator("[data-testid=queue-row]")
    assert rows.count() == 3
    # overdue first (26 h), then the 20 h one, then the 3 h one
    assert rows.nth(0).get_attribute("data-id") == server["items"]["goods"]
    shot(page, "queue")
    item_id = server["items"]["slander"]
    page.click(f"[data-id='{item_id}'] a")
    page.wait_for_url(f"**/console/items/{item_id}")
    marks = page.locator("[data-testid=field-body] mark")
    assert marks.first.inner_text() == "lừa đảo"
    # the title's markup is shown as text, never rendered
    assert page.locator("[data-testid=field-title]").inner_text() == "Cảnh báo <b>lừa đảo</b>"
    assert "khoản 1 Điều 3 Thông tư 07/2008/TT-BTTTT" in page.locator("[data-testid=citation]").first.inner_text()
    page.keyboard.press("c")  # shortcut: claim
    page.wait_for_selector("[data-testid=claim-mine]")
    # a second moderator (another browser context) sees the claim
    other = browser.new_context(base_url=server["base"]).new_page()
    login(other, "admin.hoa")
    other.goto(f"/console/items/{item_id}")
    assert other.locator("[data-testid=claimed-by-other]").is_visible()
    other.context.close()
    page.keyboard.press("r")  # shortcut: uphold, remove
    page.keyboard.press("1")  # the first listed reason (the category's name and law)
    shot(page, "item")
    page.locator("textarea[name=reason_text]").focus()
    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/console/queue")
    assert page.locator(f"[data-id='{item_id}']").count() == 0
    assert page.locator("[data-testid=queue-row]").count() == 2
    # the moderator cannot open the audit trail; a compliance officer sees the decision there
    response = page.goto("/console/audit")
    assert response.status == 403
    page.context.clear_cookies()
    login(page, "compliance.binh")
    page.goto("/console/audit?actor=mod.an")
    actions = page.locator("[data-testid=audit-row]").all_inner_texts()
    assert any("review.decide" in a for a in actions)
    shot(page, "audit")


def test_registry_search(page: Any) -> None:
    login(page, "compliance.binh")
    page.goto("/console/registry")
    assert page.locator("[data-testid=blog-row]").count() == 2
    shot(page, "registry")
    page.fill("input[name=q]", "hoa sen")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=hoa+sen**")
    assert page.locator("[data-testid=blog-row]").count() == 1


def test_wrong_role_is_refused(page: Any) -> None:
    login(page, "mod.an")
    page.wait_for_url("**/console/queue")
    for path in ("/console/registry", "/console/users", "/console/appeals"):
        response = page.goto(path)
        assert response.status == 403
        assert page.locator(".error-page[data-status='403']").is_visible()


def test_form_without_csrf_token_is_refused(page: Any, server: dict[str, Any]) -> None:
    login(page, "mod.an")
    page.wait_for_url("**/console/queue")
    item_id = server["items"]["bank"]
    page.goto(f"/console/items/{item_id}")
    page.evaluate("document.querySelector('#decide-form input[name=csrf_token]').remove()")
    page.check("#decide-form input[value=reject]")
    page.fill("#decide-form textarea", "không vi phạm")
    with page.expect_navigation():
        page.click("[data-testid=decide]")
    assert page.locator(".error-page[data-status='400']").is_visible()
    page.goto("/console/queue")
    assert page.locator(f"[data-id='{item_id}']").count() == 1


def test_english_switch(page: Any) -> None:
    login(page, "senior.lan")
    page.wait_for_url("**/console/queue")
    page.click(".langswitch button[value=en]")
    page.wait_for_selector("h1:has-text('Review queue')")
    page.click(".langswitch button[value=vi]")
    page.wait_for_selector("h1:has-text('Hàng chờ kiểm duyệt')")


def test_senior_reverses_an_appeal(page: Any, server: dict[str, Any]) -> None:
    """mod.an removes a post; its author appeals through the platform; senior.lan reverses it in the console."""
    from sqlalchemy import select

    from moderation.services import review
    from moderation.services.appeals import file_appeal
    from moderation.store.console import User
    from moderation.store.models import Decision, Platform
    from moderation.store.workflow import Appeal

    settings = server["settings"]
    item_id = make_item(
        settings,
        server["platform_id"],
        "Bà Trần Thị C bán hàng giả, lừa đảo khách ở chợ Bến Thành.",
        post_id="p-appealed",
        author="tk-appeal",
        blog="blog-0",
        age=dt.timedelta(hours=1),
    )
    with session_scope(settings.database_url) as session:
        moderator = session.scalars(select(User).where(User.username == "mod.an")).one()
        result = review.decide(session, moderator, item_id, "uphold", reason="vu khống cá nhân", action="remove")
        platform = session.get(Platform, server["platform_id"])
        assert platform is not None
        removal_id = result.decision.id
        appeal = file_appeal(
            session,
            platform,
            {"decision_id": removal_id, "appellant_id": "tk-appeal", "grounds": "Tôi có hoá đơn chứng minh"},
            actor="platform:test",
        )
        appeal_id = appeal.id
    login(page, "senior.lan")
    page.goto("/console/appeals")
    card = page.locator(f"[data-testid=appeal][data-id='{appeal_id}']")
    card.locator("input[value=reversed]").check()
    card.locator("textarea").fill("Người viết đưa ra chứng cứ, không phải vu khống")
    card.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator(f"[data-testid=appeal][data-id='{appeal_id}']").count() == 0
    with session_scope(settings.database_url) as session:
        decided = session.get(Appeal, appeal_id)
        assert decided is not None
        assert decided.status == "reversed"
        assert decided.moderator_id == "senior.lan"
        removal = session.scalars(select(Decision).where(Decision.id == removal_id)).one()
        assert removal.superseded_by_id == decided.superseding_decision_id


def test_compliance_officer_records_an_authority_request_and_sees_the_removals(
    page: Any, server: dict[str, Any]
) -> None:
    """compliance.binh records a takedown request with a scanned letter; the named post is removed at once."""
    import hashlib

    from sqlalchemy import select

    from moderation.store.models import Decision

    settings = server["settings"]
    make_item(
        settings,
        server["platform_id"],
        "Tài liệu: ngân hàng X sắp phá sản, mọi người rút tiền ngay.",
        post_id="p-authority",
        author="tk-authority",
        blog="blog-1",
        age=dt.timedelta(minutes=30),
    )
    letter = b"%PDF-1.4 Cong van 45/CV-STTTT (scan)"
    login(page, "compliance.binh")
    page.wait_for_url("**/console/authority")
    page.click("[data-testid=new-authority-request]")
    page.wait_for_url("**/console/authority/new")
    page.fill("input[name=issuing_body]", "Sở Thông tin và Truyền thông TP. Hồ Chí Minh")
    page.fill("input[name=document_number]", "45/CV-STTTT")
    page.fill("input[name=document_date]", dt.date.today().isoformat())
    page.fill("textarea[name=targets]", "p-authority\nhttps://blog.vn/chua-gui")
    page.select_option("select[name=legal_basis]", index=1)
    assert page.input_value("input[name=deadline_hours]") == "24"
    page.set_input_files(
        "input[name=attachments]", files=[{"name": "cong-van.pdf", "mimeType": "application/pdf", "buffer": letter}]
    )
    page.click("[data-testid=submit]")
    page.wait_for_url("**/console/authority#auth_*")
    card = page.locator("[data-testid=authority-request]").filter(has_text="45/CV-STTTT")
    targets = card.locator("[data-testid=authority-target]")
    assert [targets.nth(i).get_attribute("data-status") for i in range(2)] == ["decided", "unresolved"]
    with session_scope(settings.database_url) as session:
        removal = session.scalars(select(Decision).where(Decision.source == "authority_request")).one()
        assert (removal.verdict, removal.action) == ("remove", "remove")
        removal_id = removal.id
    assert card.locator("[data-testid=removal-decision]").inner_text() == removal_id
    assert "còn" in card.locator("[data-testid=sla]").inner_text()  # the 24 h countdown
    assert card.locator("[data-testid=attachment-sha256]").inner_text() == hashlib.sha256(letter).hexdigest()
    shot(page, "authority")
    card.locator("[data-testid=confirm]").click()
    page.wait_for_load_state()
    card = page.locator("[data-testid=authority-request]").filter(has_text="45/CV-STTTT")
    assert card.locator("[data-testid=authority-target][data-status=acted]").count() == 1


def test_compliance_officer_generates_a_report_and_sees_the_downloads(page: Any, server: dict[str, Any]) -> None:
    """compliance.binh generates an ad-hoc report for the last week from the Reports page and gets its files."""
    from moderation.reports.periods import VN_TZ

    today = dt.datetime.now(VN_TZ).date()
    login(page, "compliance.binh")
    page.wait_for_url("**/console/authority")
    page.click("[data-testid=nav-reports]")
    page.wait_for_url("**/console/reports")
    assert page.locator("[data-testid=period-row]").count() == 4  # the current period and the three before
    shot(page, "reports")
    form = page.locator("[data-testid=adhoc-form]")
    form.locator("input[name=from]").fill((today - dt.timedelta(days=7)).isoformat())
    form.locator("input[name=to]").fill(today.isoformat())
    form.locator("[data-testid=generate-adhoc]").click()
    page.wait_for_url("**/console/reports/rpt_*")
    sha = page.locator("[data-testid=report-sha256]").inner_text()
    assert len(sha) == 64
    links = {fmt: page.locator(f"[data-testid=download-{fmt}]") for fmt in ("pdf", "xlsx", "csv", "json")}
    assert all(link.is_visible() for link in links.values())
    shot(page, "report")
    response = page.request.get(links["json"].get_attribute("href"))
    assert response.status == 200
    assert response.json()["sha256"] == sha
    assert response.json()["content"]["platform_id"] == server["platform_id"]
