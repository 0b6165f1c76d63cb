"""Console forms for the legal workflow, on SQLite and PostgreSQL: a compliance officer records an authority request
(the same service and schema as ``POST /v1/authority-requests``; attachments kept only as SHA-256), sees its removals,
SLA and marks it complied; notices recorded in the console go to the review queue, their outcome follows the
moderator's decision, and a notifier's repeated unfounded notices show on the item. Wrong roles get 403, forms
without their CSRF token 400."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from moderation.store.db import session_scope
from moderation.store.models import AuditEntry, Decision
from moderation.store.workflow import AuthorityRequest, AuthorityTarget, Notice
from tests.api.test_console_support import Console, make_user
from tests.api.test_workflow_authority import request_body
from tests.api.test_workflow_enforcement import set_callback, submit
from tests.conftest import SignedClient

ATTACHMENT = b"%PDF-1.4 cong van so 123 (scan)"
BASIS = "vn-circular-07-2008/c07.s3_1.anti_state"


def authority_form(platform_id: str, **overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "platform_id": platform_id,
        "issuing_body": "Bộ Thông tin và Truyền thông",
        "document_number": "123/BTTTT-PTTH&TTĐT",
        "document_date": "2026-01-05",
        "targets": "p1\r\nhttps://blog.example.vn/blog-1/p2\r\n\r\nnot-yet-sent\r\n",
        "legal_basis": BASIS,
        "deadline_hours": "",
    }
    form.update(overrides)
    return form


def logged_in(app: Flask, settings: Any, username: str, role: str) -> Console:
    make_user(settings, username, role)
    console = Console(app)
    assert console.login(username).status_code == 302
    console.get("/console/", follow_redirects=True)  # the login started a new session: take its CSRF token
    return console


def test_compliance_officer_records_a_request_sees_removals_and_marks_it_complied(
    app: Flask, api: SignedClient, settings: Any, queue: Any
) -> None:
    set_callback(settings, api.creds.id)
    subs = [submit(api, "p1"), submit(api, "p2")]
    console = logged_in(app, settings, "binh", "compliance_officer")
    form_page = console.get("/console/authority/new")
    assert form_page.status_code == 200
    assert 'value="24"' in form_page.text  # the regime's default deadline
    assert "khoản 1 Điều 3 Thông tư 07/2008/TT-BTTTT" in form_page.text  # legal bases from the packs in force
    form = authority_form(api.creds.id, attachments=(io.BytesIO(ATTACHMENT), "cong-van.pdf"))
    response = console.post("/console/authority/new", form, content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    with session_scope(settings.database_url) as session:
        row = session.scalars(select(AuthorityRequest)).one()
        assert row.attachments == [{"name": "cong-van.pdf", "sha256": hashlib.sha256(ATTACHMENT).hexdigest()}]
        assert (row.due_at - row.received_at).total_seconds() == 24 * 3600
        assert row.legal_basis["instrument"] == "Thông tư 07/2008/TT-BTTTT"
        targets = session.scalars(select(AuthorityTarget).order_by(AuthorityTarget.position)).all()
        assert [t.status for t in targets] == ["decided", "decided", "unresolved"]
        assert [t.submission_id for t in targets[:2]] == subs
        removals = session.scalars(select(Decision).where(Decision.source == "authority_request")).all()
        assert {(d.verdict, d.action) for d in removals} == {("remove", "remove")}
        trail = session.scalars(select(AuditEntry).where(AuditEntry.action == "authority_request.create")).one()
        assert trail.actor == "user:binh"
        request_id = row.id
        removal_ids = {d.id for d in removals}
    assert len(queue.delivered) == 2  # decision.remove callbacks, enqueued after the console's commit
    assert ATTACHMENT.decode() not in json.dumps([trail.details], ensure_ascii=False)
    page = console.get("/console/authority")
    assert page.status_code == 200
    for removal_id in removal_ids:
        assert removal_id in page.text
    assert "còn" in page.text  # SLA countdown
    assert hashlib.sha256(ATTACHMENT).hexdigest() in page.text
    # The API sees the same request (one service behind both paths).
    same = api.get(f"/v1/authority-requests/{request_id}").get_json()
    assert [t["status"] for t in same["targets"]] == ["decided", "decided", "unresolved"]
    # Mark complied: every decided target.
    assert console.post(f"/console/authority/{request_id}/confirm", {}).status_code == 302
    after = api.get(f"/v1/authority-requests/{request_id}").get_json()
    assert [t["status"] for t in after["targets"]] == ["acted", "acted", "unresolved"]
    assert after["compliance_rate"] is not None


def test_the_same_document_twice_is_one_request(app: Flask, api: SignedClient, settings: Any) -> None:
    assert api.post("/v1/authority-requests", request_body()).status_code == 201
    console = logged_in(app, settings, "binh", "compliance_officer")
    response = console.post(
        "/console/authority/new",
        authority_form(api.creds.id, legal_basis="", basis_instrument="Nghị định 72/2013/NĐ-CP", basis_article="5"),
    )
    assert response.status_code == 302
    assert "đã được ghi nhận" in console.get("/console/authority").text
    with session_scope(settings.database_url) as session:
        assert len(session.scalars(select(AuthorityRequest)).all()) == 1


AUTHORITY_ERRORS = [
    # (id, form overrides, field label shown)
    ("no-issuing-body", {"issuing_body": " "}, "Cơ quan ban hành"),
    ("no-legal-basis", {"legal_basis": ""}, "Căn cứ pháp lý"),
    ("bad-date", {"document_date": "05/01/2026"}, "document_date"),
    ("duplicate-target", {"targets": "p1\np1"}, "Đối tượng"),
    ("deadline-out-of-range", {"deadline_hours": "9999"}, "Thời hạn"),
]


@pytest.mark.parametrize(
    ("overrides", "label"), [c[1:] for c in AUTHORITY_ERRORS], ids=[c[0] for c in AUTHORITY_ERRORS]
)
def test_authority_form_errors_name_the_field_and_write_nothing(
    app: Flask, platform: Any, settings: Any, overrides: dict[str, str], label: str
) -> None:
    console = logged_in(app, settings, "binh", "compliance_officer")
    response = console.post("/console/authority/new", authority_form(platform.id, **overrides))
    assert response.status_code == 422
    assert label in response.text
    assert 'data-testid="form-error"' in response.text
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(AuthorityRequest)).first() is None


def notice_form(platform_id: str, **overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "platform_id": platform_id,
        "notifier_name": "Nguyễn Văn B",
        "capacity": "affected_person",
        "notifier_contact": "b@example.vn",
        "targets": "p1",
        "category": "c07.s3_1.slander",
        "explanation": "Bài viết nói tôi ăn cắp tiền, điều đó sai sự thật.",
        "good_faith": "1",
    }
    form.update(overrides)
    return form


def test_notice_goes_to_the_queue_and_its_outcome_follows_the_moderator(
    app: Flask, api: SignedClient, settings: Any
) -> None:
    console = logged_in(app, settings, "lan", "senior_moderator")
    assert console.get("/console/notices/new").status_code == 200
    for i in range(3):  # three notices from the same person, each found unfounded
        submit(api, f"p{i}")
        response = console.post("/console/notices/new", notice_form(api.creds.id, targets=f"p{i}"))
        assert response.status_code == 302, response.text
        with session_scope(settings.database_url) as session:
            notice = session.scalars(select(Notice).order_by(Notice.received_at.desc())).first()
            assert notice is not None
            assert notice.status == "triaged"
            review_id = session.scalars(
                select(Decision.id).where(Decision.source == "user_report", Decision.superseded_by_id.is_(None))
            ).one()
        assert review_id in console.get("/console/queue").text
        decided = console.post(
            f"/console/items/{review_id}/decide", {"choice": "reject", "reason_text": "Không có căn cứ"}
        )
        assert decided.status_code == 302
    page = console.get("/console/notices")
    assert page.text.count('data-testid="notice-outcome"') == 3
    assert "không có căn cứ" in page.text.lower()
    assert 'data-testid="notifier-flagged"' in page.text  # three unfounded notices within the window
    # A fourth notice from them: the moderator sees their record on the item.
    submit(api, "p9")
    assert console.post("/console/notices/new", notice_form(api.creds.id, targets="p9")).status_code == 302
    with session_scope(settings.database_url) as session:
        review_id = session.scalars(
            select(Decision.id).where(Decision.source == "user_report", Decision.superseded_by_id.is_(None))
        ).one()
    item = console.get(f"/console/items/{review_id}")
    assert 'data-testid="item-notices"' in item.text
    assert 'data-testid="notifier-flagged"' in item.text
    assert "3 không có căn cứ" in item.text


NOTICE_ERRORS = [
    ("rights-holder-needs-the-work", {"capacity": "rights_holder"}, "Tác phẩm"),
    ("no-good-faith", {"good_faith": ""}, "Cam kết"),
    ("affected-person-needs-a-contact", {"notifier_contact": ""}, "Liên hệ"),
    ("no-target", {"targets": "  "}, "Đối tượng"),
]


@pytest.mark.parametrize(("overrides", "label"), [c[1:] for c in NOTICE_ERRORS], ids=[c[0] for c in NOTICE_ERRORS])
def test_notice_form_errors_name_the_field(
    app: Flask, platform: Any, settings: Any, overrides: dict[str, str], label: str
) -> None:
    console = logged_in(app, settings, "binh", "compliance_officer")
    response = console.post("/console/notices/new", notice_form(platform.id, **overrides))
    assert response.status_code == 422
    assert label in response.text
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(Notice)).first() is None


REFUSED = [
    # (role, method, path): every new page and form checks the role (403, audited)
    ("moderator", "GET", "/console/authority/new"),
    ("moderator", "POST", "/console/authority/new"),
    ("senior_moderator", "POST", "/console/authority/auth_x/confirm"),
    ("moderator", "GET", "/console/notices"),
    ("moderator", "POST", "/console/notices/new"),
    ("compliance_officer", "GET", "/console/platforms"),
    ("senior_moderator", "POST", "/console/platforms"),
    ("compliance_officer", "GET", "/console/packs"),
]


@pytest.mark.parametrize(("role", "method", "path"), REFUSED)
def test_new_pages_refuse_the_wrong_role(app: Flask, settings: Any, role: str, method: str, path: str) -> None:
    console = logged_in(app, settings, "u1", role)
    response = console.get(path) if method == "GET" else console.post(path, {"op": "create", "name": "x"})
    assert response.status_code == 403
    with session_scope(settings.database_url) as session:
        denied = session.scalars(select(AuditEntry).where(AuditEntry.action == "access.denied")).all()
        assert [e.object_id for e in denied] == [path]


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("compliance_officer", "/console/authority/new"),
        ("compliance_officer", "/console/authority/auth_x/confirm"),
        ("compliance_officer", "/console/notices/new"),
        ("admin", "/console/platforms"),
    ],
)
def test_new_forms_without_csrf_token_are_refused(app: Flask, settings: Any, role: str, path: str) -> None:
    console = logged_in(app, settings, "u1", role)
    response = console.post(path, {"op": "create", "name": "Blog X"}, csrf=False)
    assert response.status_code == 400
    assert "Mã bảo mật" in response.text
