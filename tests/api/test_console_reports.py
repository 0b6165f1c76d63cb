"""The console's reports pages, on SQLite and PostgreSQL: a compliance officer edits the provider profile (§6.2 a-d,
validated and audited), generates the semiannual or an ad-hoc report through the same service as the API, downloads
every format (the JSON valid against the schema and carrying the profile), finalises a version (audited) and
regenerates it after a new decision (the difference listed); the periods with their due dates and the beat's
reminders; wrong roles get 403 and forms without their CSRF token 400, writing nothing. One PDF per engine."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from typing import Any

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import func, select, update

from moderation.reports.periods import VN_TZ, Period, last_closed_period, semiannual
from moderation.reports.render.json import validate_report_json
from moderation.services import reports
from moderation.store.db import session_scope
from moderation.store.models import AuditEntry, Platform
from moderation.store.reports import Report
from tests.api.test_console_workflow import logged_in
from tests.api.test_reports_store import PROFILE, _decision
from tests.api.test_workflow_enforcement import submit
from tests.conftest import SignedClient

TODAY = dt.datetime.now(VN_TZ).date()


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Accounts are not what these tests are about: argon2 at its lowest cost (the login tests use the real one)."""
    from argon2 import PasswordHasher

    from moderation.services import review

    monkeypatch.setattr(review, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


PERIOD = last_closed_period(TODAY)  # the period whose report is being prepared


def in_period(period: Period, day: int, hour: int = 10) -> dt.datetime:
    """An instant ``day`` days into ``period``, Vietnam time."""
    return dt.datetime.combine(period.first_day + dt.timedelta(days=day), dt.time(hour), VN_TZ)


def removal(settings: Any, api: SignedClient, post_id: str, when: dt.datetime) -> str:
    """A post sent by the platform and removed at ``when`` (a violation of the period)."""
    sub = submit(api, post_id, published=when)
    with session_scope(settings.database_url) as session:
        return _decision(session, api.creds.id, sub, when).id


def semiannual_form(platform_id: str, period: Period = PERIOD, **extra: str) -> dict[str, str]:
    half = "1" if period.name == "H1" else "2"
    return {"kind": "semiannual", "platform_id": platform_id, "year": str(period.first_day.year), "half": half, **extra}


def report_id_of(response: Any) -> str:
    assert response.status_code == 302, response.text[:500]
    match = re.search(r"/console/reports/(rpt_[A-Za-z0-9_-]+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def audit_of(settings: Any, action: str) -> list[dict[str, Any]]:
    with session_scope(settings.database_url) as session:
        rows = session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq))
        return [{"actor": r.actor, "object_id": r.object_id, "details": r.details} for r in rows]


def report_count(settings: Any) -> int:
    with session_scope(settings.database_url) as session:
        return int(session.scalar(select(func.count()).select_from(Report)) or 0)


def test_profile_generate_download_every_format_and_finalise(app: Flask, api: SignedClient, settings: Any) -> None:
    removal(settings, api, "p1", in_period(PERIOD, 10))
    console = logged_in(app, settings, "binh", "compliance_officer")
    page = console.get("/console/reports")
    assert page.status_code == 200
    assert 'data-testid="nav-reports"' in page.text
    assert f'data-key="{PERIOD.key}"' in page.text  # the period being prepared, with its due date
    assert PERIOD.due_before is not None
    assert PERIOD.due_before.strftime("%d/%m/%Y") in page.text

    form = {**PROFILE, "representative_title": "Giám đốc", "recipients": "Bộ Thông tin và Truyền thông\r\n\r\n"}
    saved = console.post(f"/console/reports/profile/{api.creds.id}", form)
    assert saved.status_code == 302, saved.text[:500]
    (entry,) = audit_of(settings, "platform.profile")
    assert entry["actor"] == "user:binh"
    assert entry["details"]["changed"]["registration_number"] == {"before": None, "after": "123/GXN-TTĐT"}
    assert "Giám đốc" in console.get(f"/console/reports/profile/{api.creds.id}").text

    report_id = report_id_of(console.post("/console/reports/generate", semiannual_form(api.creds.id, number="07/BC")))
    detail = console.get(f"/console/reports/{report_id}")
    assert detail.status_code == 200
    with session_scope(settings.database_url) as session:
        row = session.get(Report, report_id)
        assert row is not None
        assert (row.platform_id, row.period_key, row.version, row.status) == (api.creds.id, PERIOD.key, 1, "draft")
        assert row.generated_by == "user:binh"
        sha = row.sha256
    assert f'data-testid="report-sha256">{sha}<' in detail.text
    assert "vn-circular-07-2008" in detail.text
    assert "sha256:test" in detail.text
    for fmt in ("pdf", "xlsx", "csv", "json"):
        assert f"/console/reports/{report_id}/file.{fmt}" in detail.text

    files = {
        fmt: console.client.get(f"/console/reports/{report_id}/file.{fmt}") for fmt in ("json", "csv", "xlsx", "pdf")
    }
    for fmt, response in files.items():
        assert response.status_code == 200, fmt
        assert response.headers["Content-Type"] == reports.MEDIA_TYPES[fmt]
        assert response.headers["X-Report-Sha256"] == sha
        expected = f'attachment; filename="report-{api.creds.id}-{PERIOD.key}-v1.{fmt}"'
        assert response.headers["Content-Disposition"] == expected
    data = json.loads(files["json"].data)
    validate_report_json(data)
    assert data["sha256"] == sha
    assert data["document"]["number"] == "07/BC"
    profile = data["content"]["profile"]
    assert {k: profile[k] for k in PROFILE} == PROFILE  # the profile edited in the console
    assert (profile["representative_title"], profile["recipients"]) == ("Giám đốc", ["Bộ Thông tin và Truyền thông"])
    totals = {(f["section"], f["metric"]): f["value"] for f in data["content"]["figures"] if not f["dimension"]}
    assert totals[("violations", "total")] == 1
    assert files["csv"].data.decode().splitlines()[1].count(sha) == 1  # the first data row carries the SHA-256
    assert zipfile.is_zipfile(io.BytesIO(files["xlsx"].data))
    assert "Vi phạm (e)" in openpyxl.load_workbook(io.BytesIO(files["xlsx"].data)).sheetnames
    assert files["pdf"].data.startswith(b"%PDF")

    assert console.post(f"/console/reports/{report_id}/finalize").status_code == 302
    (final,) = audit_of(settings, "report.finalize")
    assert (final["actor"], final["object_id"], final["details"]["sha256"]) == ("user:binh", report_id, sha)
    assert 'data-testid="report-status">' + "chính thức" in console.get(f"/console/reports/{report_id}").text
    periods = console.get("/console/reports").text
    row_html = periods.split(f'data-key="{PERIOD.key}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="final"' in row_html


def test_regenerating_after_a_new_decision_lists_the_difference(app: Flask, api: SignedClient, settings: Any) -> None:
    first = removal(settings, api, "p1", in_period(PERIOD, 10))
    console = logged_in(app, settings, "hoa", "admin")
    form = {"kind": "adhoc", "platform_id": api.creds.id}
    form |= {"from": PERIOD.first_day.isoformat(), "to": PERIOD.last_day.isoformat()}
    v1 = report_id_of(console.post("/console/reports/generate", form))
    same = report_id_of(console.post(f"/console/reports/{v1}/regenerate"))
    assert 'data-testid="no-differences"' in console.get(f"/console/reports/{same}").text
    second = removal(settings, api, "p2", in_period(PERIOD, 40))  # recorded late, dated in the period
    v3 = report_id_of(console.post(f"/console/reports/{same}/regenerate"))
    page = console.get(f"/console/reports/{v3}").text
    assert 'data-testid="report-version">v3<' in page
    row = page.split('data-key="violations/total/"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'class="num">(\d+)<', row) == ["1", "2"]  # before, after
    assert second in row
    assert first not in row
    with session_scope(settings.database_url) as session:
        stored = reports.versions(session, api.creds.id, "adhoc", f"adhoc-{form['from']}-{form['to']}")
        assert [len(r.changes) > 0 for r in stored] == [False, False, True]
        assert len({r.sha256 for r in stored}) == 2


def test_reminder_banner_until_the_report_is_final(
    app: Flask, api: SignedClient, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The beat recorded the 10-day reminder for 2025-H1 (due before 15 July 2025); the page is seen on 5 July."""
    from moderation.web.console import views

    monkeypatch.setattr(views, "vn_today", lambda: dt.date(2025, 7, 5))
    with session_scope(settings.database_url) as session:
        session.execute(
            update(Platform)
            .where(Platform.id == api.creds.id)
            .values(created_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
        )
        (sent,) = reports.due_reminders(session, now=dt.datetime(2025, 7, 5, 2, tzinfo=dt.UTC))
        assert (sent.period.key, sent.days_left) == ("2025-H1", 10)
    console = logged_in(app, settings, "binh", "compliance_officer")
    page = console.get("/console/reports").text
    banner = page.split('data-testid="report-reminder" data-period="2025-H1">', 1)[1].split("</div>", 1)[0]
    assert "15/07/2025" in banner
    assert "10" in banner
    assert "Test platform" in banner
    row = page.split('data-key="2025-H1"', 1)[1].split("</tr>", 1)[0]
    assert 'data-state="none"' in row
    assert "10 ngày" in row
    report_id = report_id_of(
        console.post("/console/reports/generate", semiannual_form(api.creds.id, semiannual(2025, 1)))
    )
    assert 'data-testid="report-reminder"' in console.get("/console/reports").text  # a draft is not enough
    console.post(f"/console/reports/{report_id}/finalize")
    assert 'data-testid="report-reminder"' not in console.get("/console/reports").text


PROFILE_ERRORS = [
    # (id, field changed, value, field named in the error)
    ("date-not-calendar", "registration_date", "2009-02-30", "registration_date"),
    ("date-dd-mm-yyyy", "service_start_date", "01/04/2009", "service_start_date"),
    ("date-future", "registration_date", "2999-01-01", "registration_date"),
    ("email-no-at", "representative_email", "phaply.blogviet.vn", "representative_email"),
    ("email-no-domain-dot", "representative_email", "phaply@localhost", "representative_email"),
    ("phone-letters", "representative_phone", "gọi cho tôi", "representative_phone"),
    ("control-character", "office_address", "Số 1\x00 Tràng Tiền", "office_address"),
    ("too-long", "provider_name", "x" * 301, "provider_name"),
]


@pytest.mark.parametrize(
    ("field", "value", "named"), [c[1:] for c in PROFILE_ERRORS], ids=[c[0] for c in PROFILE_ERRORS]
)
def test_profile_form_refuses_bad_values(
    app: Flask, api: SignedClient, settings: Any, field: str, value: str, named: str
) -> None:
    console = logged_in(app, settings, "hoa", "admin")
    response = console.post(f"/console/reports/profile/{api.creds.id}", {**PROFILE, field: value})
    assert response.status_code == 422
    error = response.text.split('data-testid="form-error">', 1)[1].split("</div>", 1)[0]
    label = {
        "registration_date": "Ngày của văn bản xác nhận đăng ký",
        "service_start_date": "Ngày bắt đầu cung cấp dịch vụ blog",
        "representative_email": "Thư điện tử của người đại diện",
        "representative_phone": "Điện thoại của người đại diện",
        "office_address": "Địa chỉ trụ sở",
        "provider_name": "Tên doanh nghiệp",
    }[named]
    assert label in error
    with session_scope(settings.database_url) as session:
        platform = session.get(Platform, api.creds.id)
        assert platform is not None
        assert not platform.profile
    assert audit_of(settings, "platform.profile") == []


def test_saving_the_same_profile_again_writes_nothing(app: Flask, api: SignedClient, settings: Any) -> None:
    console = logged_in(app, settings, "hoa", "admin")
    email = {"representative_email": " PhapLy@BlogViet.example.vn "}
    assert console.post(f"/console/reports/profile/{api.creds.id}", {**PROFILE, **email}).status_code == 302
    assert console.post(f"/console/reports/profile/{api.creds.id}", {**PROFILE, **email}).status_code == 302
    assert len(audit_of(settings, "platform.profile")) == 1
    with session_scope(settings.database_url) as session:
        platform = session.get(Platform, api.creds.id)
        assert platform is not None
        assert platform.profile["representative_email"] == "PhapLy@blogviet.example.vn"  # the domain normalised


GENERATE_ERRORS = [
    # (id, form, field named)
    ("year-future", {"kind": "semiannual", "year": "2999", "half": "1"}, "Năm"),
    ("year-text", {"kind": "semiannual", "year": "abc", "half": "1"}, "Năm"),
    ("half-three", {"kind": "semiannual", "year": "2024", "half": "3"}, "Nửa năm"),
    ("adhoc-reversed", {"kind": "adhoc", "from": "2024-03-31", "to": "2024-03-01"}, "Đến ngày"),
    ("adhoc-future", {"kind": "adhoc", "from": "2024-03-01", "to": "2999-01-01"}, "Đến ngày"),
    ("adhoc-bad-date", {"kind": "adhoc", "from": "2024-02-30", "to": "2024-03-31"}, "Từ ngày"),
    ("bad-date-line", {"kind": "adhoc", "from": "2024-03-01", "to": "2024-03-31", "date": "hôm nay"}, "Ngày ghi"),
    ("unknown-platform", {"kind": "adhoc", "from": "2024-03-01", "to": "2024-03-31", "platform_id": "plt_x"}, "Nền"),
    ("unknown-kind", {"kind": "weekly"}, "Loại"),
]


@pytest.mark.parametrize(("form", "named"), [c[1:] for c in GENERATE_ERRORS], ids=[c[0] for c in GENERATE_ERRORS])
def test_generate_form_errors_name_the_field_and_write_nothing(
    app: Flask, api: SignedClient, settings: Any, form: dict[str, str], named: str
) -> None:
    console = logged_in(app, settings, "hoa", "admin")
    response = console.post("/console/reports/generate", {"platform_id": api.creds.id, **form})
    assert response.status_code == 422
    assert named in response.text.split('data-testid="form-error">', 1)[1].split("</div>", 1)[0]
    assert report_count(settings) == 0


def test_all_platforms_report(app: Flask, api: SignedClient, settings: Any) -> None:
    console = logged_in(app, settings, "hoa", "admin")
    report_id = report_id_of(console.post("/console/reports/generate", semiannual_form("all")))
    json_file = console.client.get(f"/console/reports/{report_id}/file.json")
    assert json.loads(json_file.data)["content"]["platform_id"] == "all"
    assert json_file.headers["Content-Disposition"].endswith(f'"report-all-{PERIOD.key}-v1.json"')


def test_generating_twice_with_unchanged_records_stores_one_version(
    app: Flask, api: SignedClient, settings: Any
) -> None:
    console = logged_in(app, settings, "hoa", "admin")
    first = report_id_of(console.post("/console/reports/generate", semiannual_form("all")))
    again = report_id_of(console.post("/console/reports/generate", semiannual_form("all")))  # a double click
    assert again == first
    assert report_count(settings) == 1


REFUSED = [
    # (id, role, method, path template)
    ("moderator-page", "moderator", "GET", "/console/reports"),
    ("senior-page", "senior_moderator", "GET", "/console/reports"),
    ("moderator-generate", "moderator", "POST", "/console/reports/generate"),
    ("senior-profile", "senior_moderator", "GET", "/console/reports/profile/{platform}"),
    ("moderator-profile-save", "moderator", "POST", "/console/reports/profile/{platform}"),
]


@pytest.mark.parametrize(("role", "method", "path"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_wrong_role_is_refused_and_audited(
    app: Flask, api: SignedClient, settings: Any, role: str, method: str, path: str
) -> None:
    console = logged_in(app, settings, "an", role)
    url = path.format(platform=api.creds.id)
    form = {**semiannual_form(api.creds.id), **PROFILE}
    response = console.get(url) if method == "GET" else console.post(url, form)
    assert response.status_code == 403
    (denied,) = audit_of(settings, "access.denied")
    assert denied["details"]["permission"] == "reports"
    assert report_count(settings) == 0
    assert audit_of(settings, "platform.profile") == []


def test_forms_without_csrf_token_are_refused(app: Flask, api: SignedClient, settings: Any) -> None:
    console = logged_in(app, settings, "binh", "compliance_officer")
    report_id = report_id_of(console.post("/console/reports/generate", semiannual_form(api.creds.id)))
    refused = [
        ("/console/reports/generate", semiannual_form(api.creds.id)),
        (f"/console/reports/profile/{api.creds.id}", PROFILE),
        (f"/console/reports/{report_id}/finalize", {}),
        (f"/console/reports/{report_id}/regenerate", {}),
    ]
    for path, form in refused:
        response = console.post(path, form, csrf=False)
        assert response.status_code == 400, path
    assert report_count(settings) == 1
    with session_scope(settings.database_url) as session:
        row = session.get(Report, report_id)
        platform = session.get(Platform, api.creds.id)
        assert row is not None
        assert platform is not None
        assert (row.status, platform.profile) == ("draft", {})
    assert audit_of(settings, "report.finalize") == []
