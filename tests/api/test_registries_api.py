"""The registries API (/v1/works, /v1/entities): registrations reach the detectors, per platform, on both engines.

Scope: a platform's works and entities protect that platform's items only (one tenant's key must not change another
tenant's decisions); works and entities for every platform are the operator's (``moderation works register`` and
``moderation entities add`` without ``--platform``).
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from moderation.cli import main
from moderation.store.db import session_scope
from moderation.store.models import AuditEntry, Decision
from tests.api.test_intake import assert_matches
from tests.conftest import PlatformCreds, SignedClient, make_platform, post_payload, row_counts

PARAGRAPHS = [
    "Sáng nay, hàng nghìn người dân thành phố Cần Thơ đã đổ về bến Ninh Kiều để xem lễ hội đua ghe ngo truyền "
    "thống của đồng bào Khmer, một nét văn hóa đặc sắc của vùng đồng bằng sông Cửu Long.",
    "Theo ban tổ chức, năm nay có hai mươi bốn đội ghe đến từ các tỉnh Sóc Trăng, Trà Vinh, Bạc Liêu và Kiên "
    "Giang tham gia tranh tài trên đoạn sông dài hơn một cây số, với tổng giải thưởng gần ba trăm triệu đồng.",
    "Ông Thạch Sơn, trưởng đội ghe chùa Kompong, cho biết các thành viên đã tập luyện suốt ba tháng, mỗi ngày "
    "chèo hàng chục vòng trên sông Hậu để giữ nhịp và sức bền cho ngày thi đấu chính thức.",
    "Bên cạnh phần thi đua ghe, lễ hội còn có chợ phiên ẩm thực, triển lãm ảnh về đời sống người Khmer và đêm "
    "nhạc dân tộc kéo dài đến khuya, thu hút đông đảo du khách trong và ngoài nước.",
    "Lãnh đạo thành phố cho biết sẽ tiếp tục đầu tư để lễ hội trở thành sản phẩm du lịch văn hóa thường niên, "
    "góp phần quảng bá hình ảnh miền Tây sông nước với bạn bè quốc tế.",
]
WORK = {
    "id": "tt-2024-0915",
    "title": "Lễ hội đua ghe ngo ở Cần Thơ",
    "body": "\n\n".join(PARAGRAPHS),
    "rights_holder": "Báo Tây Đô",
    "licence": "all-rights-reserved",
    "source_url": "https://baotaydo.example.vn/le-hoi-dua-ghe",
}


def strip_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# A copy with the paragraphs shuffled, the diacritics stripped, framed by the copier's own words.
COPY = (
    "Chia se bai hay cho ca nha doc.\n\n"
    + "\n\n".join(strip_diacritics(PARAGRAPHS[i]) for i in (3, 0, 4, 2, 1))
    + "\n\nHet."
)
OWN_TEXT = "Hôm nay trời đẹp, tôi đi dạo quanh hồ Gươm với gia đình và ăn kem Tràng Tiền."


def sync_post(api: SignedClient, post_id: str, body: str, **kw: Any) -> dict[str, Any]:
    response = api.post("/v1/posts?sync=1", post_payload(id=post_id, body=body, **kw))
    assert response.status_code in {200, 202}, response.get_json()
    decision: dict[str, Any] = response.get_json()["decision"]
    return decision


def categories(decision: dict[str, Any]) -> set[str]:
    return {c["id"] for c in decision["categories"]}


def stored_signals(url: str, decision_id: str, kind: str) -> list[dict[str, Any]]:
    with session_scope(url) as session:
        row = session.scalars(select(Decision).where(Decision.id == decision_id)).one()
        return [s for s in row.evaluation["signals"] if s["kind"] == kind]


def second_client(app: Flask, settings: Any, name: str = "Other platform") -> SignedClient:
    return SignedClient(app.test_client(), make_platform(settings, name))


def test_registered_work_is_found_in_a_shuffled_diacritic_free_copy(api: SignedClient, settings: Any) -> None:
    response = api.post("/v1/works", WORK)
    assert response.status_code == 201, response.get_json()
    assert_matches(response, "/v1/works")
    assert response.get_json()["created"] is True
    assert response.get_json()["shingles"] > 64

    decision = sync_post(api, "copy", COPY)
    assert decision["verdict"] == "review"
    (press,) = [c for c in decision["categories"] if c["id"] == "c07.s3_3.press_publications"]
    assert press["rule"] == "press.protected_work"
    (signal,) = stored_signals(settings.database_url, decision["id"], "work_match")
    assert signal["attrs"]["work_id"] == WORK["id"]
    assert signal["attrs"]["share"] >= 0.9
    assert signal["attrs"]["rights_holder"] == "Báo Tây Đô"
    # Evidence spans are offsets into the post as sent and cover the copied paragraphs, not the copier's framing.
    spans = press["evidence"]
    assert spans
    assert all(COPY[s["start"] : s["end"]] == s["text"] for s in spans)
    covered = "".join(s["text"] for s in spans)
    assert "Chia se bai hay" not in covered
    assert strip_diacritics(PARAGRAPHS[2])[:40] in covered

    assert sync_post(api, "own", OWN_TEXT)["verdict"] == "allow"


LICENCES = [
    # (licence, credit appended to the copy, flagged?)
    ("CC-BY-4.0", "Nguồn: Báo Tây Đô", False),  # attribution licence, credited: allowed
    ("CC-BY-4.0", "nguon baotaydo.example.vn", False),  # credited by the source's domain
    ("CC-BY-4.0", "", True),  # attribution licence, no credit
    ("all-rights-reserved", "Nguồn: Báo Tây Đô", True),  # credit does not license a reserved work
    ("CC0", "", False),  # public domain dedication: never reported
]


def test_licence_and_attribution(api: SignedClient) -> None:
    # One app for the whole table (building a classifier per case is the slow part); each row re-registers the
    # work with its licence, which the classifier picks up at once.
    for n, (licence, credit, flagged) in enumerate(LICENCES):
        assert api.post("/v1/works", {**WORK, "licence": licence}).status_code in {200, 201}
        decision = sync_post(api, f"copy-{n}", COPY + "\n\n" + credit)
        assert ("c07.s3_3.press_publications" in categories(decision)) is flagged, (licence, credit)


ENTITY = {
    "id": "hoi-nha-van-ct",
    "name": "Hội Nhà Văn Thành Phố Cần Thơ",
    "kind": "organisation",
    "handles": ["hoinhavancantho"],
    "domains": ["hoinhavancantho.example.vn"],
}


def register_blog(api: SignedClient, blog_id: str, **names: str) -> dict[str, Any]:
    response = api.post("/v1/blogs", {"id": blog_id, "owner_id": f"owner-{blog_id}", **names})
    assert response.status_code in {200, 201}, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def classify_blog(app: Flask, submission_id: str) -> dict[str, Any]:
    """Classify a blog registration as the worker would (the blog endpoint has no sync mode)."""
    from moderation.services.classification import classify_submission, decision_json
    from moderation.web.runtime import Runtime

    rt: Runtime = app.extensions["moderation"]
    with rt.sessions() as session:
        decision = classify_submission(session, submission_id, rt.classifiers.get())
        assert decision is not None
        session.commit()
        return decision_json(decision)


def test_registered_entity_is_protected_from_impersonating_blogs(api: SignedClient, app: Flask, settings: Any) -> None:
    response = api.post("/v1/entities", ENTITY)
    assert response.status_code == 201, response.get_json()
    assert_matches(response, "/v1/entities")
    fake = register_blog(api, "fake", display_name="Hoi Nha Van Thanh Pho Can Tho", name="hoinhavan-cantho")
    decision = classify_blog(app, fake["submission_id"])
    assert "c07.s3_2.impersonation" in categories(decision)
    signals = stored_signals(settings.database_url, decision["id"], "impersonation")
    assert {s["attrs"]["entity_id"] for s in signals} == {ENTITY["id"]}
    assert {s["attrs"]["field"] for s in signals} >= {"display_name"}
    honest = register_blog(api, "honest", display_name="Góc nhỏ của Mây", name="gocnhocuamay")
    assert "c07.s3_2.impersonation" not in categories(classify_blog(app, honest["submission_id"]))


def test_new_blog_copying_an_existing_blogs_display_name_is_flagged(
    api: SignedClient, app: Flask, settings: Any
) -> None:
    first = register_blog(api, "may", display_name="Góc nhỏ của Mây", name="gocnhocuamay")
    assert "c07.s3_2.impersonation" not in categories(classify_blog(app, first["submission_id"]))
    copy = register_blog(api, "may2", display_name="Goc nho cua May", name="gocnho-may")
    decision = classify_blog(app, copy["submission_id"])
    assert "c07.s3_2.impersonation" in categories(decision)
    signals = stored_signals(settings.database_url, decision["id"], "impersonation")
    assert {(s["attrs"]["entity_id"], s["attrs"]["entity_kind"]) for s in signals} == {("may", "blog")}
    # The same name on another platform is that platform's business.
    other = second_client(app, settings)
    elsewhere = register_blog(other, "may3", display_name="Góc nhỏ của Mây", name="gocnhocuamay")
    assert "c07.s3_2.impersonation" not in categories(classify_blog(app, elsewhere["submission_id"]))


def test_registrations_are_scoped_to_their_platform(api: SignedClient, app: Flask, settings: Any) -> None:
    other = second_client(app, settings)
    assert api.post("/v1/works", WORK).status_code == 201
    assert api.post("/v1/entities", ENTITY).status_code == 201
    assert "c07.s3_3.press_publications" in categories(sync_post(api, "copy", COPY))
    assert "c07.s3_3.press_publications" not in categories(sync_post(other, "copy", COPY))
    fake = register_blog(other, "fake", display_name=ENTITY["name"])
    assert "c07.s3_2.impersonation" not in categories(classify_blog(app, fake["submission_id"]))
    # Each platform sees and deletes only its own registrations.
    assert other.get(f"/v1/works/{WORK['id']}").status_code == 404
    assert other.get("/v1/works").get_json() == {"items": [], "next": None}
    assert other.request("DELETE", f"/v1/entities/{ENTITY['id']}").status_code == 404
    # The same id on two platforms is two registrations.
    assert other.post("/v1/works", WORK).status_code == 201
    assert row_counts(settings.database_url)["works"] == 2


def test_operator_registered_work_applies_to_every_platform(
    api: SignedClient, app: Flask, settings: Any, tmp_path: Path
) -> None:
    src = tmp_path / "works.jsonl"
    src.write_text(json.dumps(WORK, ensure_ascii=False) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["works", "register", "--jsonl", str(src), "--database-url", settings.database_url]
    )
    assert result.exit_code == 0, result.output
    other = second_client(app, settings)
    for client in (api, other):
        assert "c07.s3_3.press_publications" in categories(sync_post(client, "copy", COPY))
    assert api.get("/v1/works").get_json()["items"] == []  # not the platform's own registration
    db = ["--database-url", settings.database_url]
    assert api.post("/v1/works", {**WORK, "id": "own"}).status_code == 201
    listed = CliRunner().invoke(main, ["works", "list", "--all", "--json", *db])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["id"], r["platform_id"]) for r in rows] == [(WORK["id"], None), ("own", api.creds.id)]
    removed = CliRunner().invoke(main, ["works", "remove", WORK["id"], "nope", *db])
    assert (removed.exit_code, removed.output.strip()) == (1, "removed 1 works; not found: nope")
    assert "c07.s3_3.press_publications" not in categories(sync_post(other, "copy-2", COPY))


def test_reregistration_updates_in_place(api: SignedClient, settings: Any) -> None:
    first = api.post("/v1/works", {**WORK, "body": OWN_TEXT * 3})
    assert (first.status_code, first.get_json()["created"]) == (201, True)
    assert "c07.s3_3.press_publications" not in categories(sync_post(api, "copy", COPY))
    again = api.post("/v1/works", WORK)
    assert (again.status_code, again.get_json()["created"]) == (200, False)
    assert_matches(again, "/v1/works")
    assert row_counts(settings.database_url)["works"] == 1
    # The classifier sees the new body at once (the registries' fingerprint changed).
    assert "c07.s3_3.press_publications" in categories(sync_post(api, "copy-2", COPY))
    assert api.post("/v1/entities", ENTITY).status_code == 201
    renamed = api.post("/v1/entities", {**ENTITY, "aliases": ["Hội Nhà Văn Cần Thơ"]})
    assert (renamed.status_code, renamed.get_json()["created"]) == (200, False)
    assert api.get(f"/v1/entities/{ENTITY['id']}").get_json()["aliases"] == ["Hội Nhà Văn Cần Thơ"]
    assert row_counts(settings.database_url)["protected_entities"] == 1
    with session_scope(settings.database_url) as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.object_type.in_(("work", "entity"))))
        assert sorted(actions) == ["entity.register", "entity.update", "work.register", "work.update"]


def test_list_get_and_delete(api: SignedClient, settings: Any) -> None:
    for i in range(3):
        assert api.post("/v1/works", {**WORK, "id": f"w{i}"}).status_code == 201
    page = api.get("/v1/works?limit=2")
    assert page.status_code == 200
    assert_matches(page, "/v1/works", "get")
    first = page.get_json()
    assert [w["id"] for w in first["items"]] == ["w0", "w1"]
    rest = api.get(f"/v1/works?limit=2&after={first['next']}").get_json()
    assert ([w["id"] for w in rest["items"]], rest["next"]) == (["w2"], None)
    one = api.get("/v1/works/w1")
    assert_matches(one, "/v1/works/{id}", "get")
    assert one.get_json()["licence"] == "all-rights-reserved"
    assert "body" not in one.get_json()
    assert "c07.s3_3.press_publications" in categories(sync_post(api, "copy", COPY))
    for i in range(3):
        assert api.request("DELETE", f"/v1/works/w{i}").status_code == 204
    assert api.request("DELETE", "/v1/works/w0").status_code == 404
    assert api.get("/v1/works/w0").status_code == 404
    assert "c07.s3_3.press_publications" not in categories(sync_post(api, "copy-2", COPY))
    assert api.post("/v1/entities", ENTITY).status_code == 201
    listed = api.get("/v1/entities")
    assert_matches(listed, "/v1/entities", "get")
    assert [e["id"] for e in listed.get_json()["items"]] == [ENTITY["id"]]
    assert api.request("DELETE", f"/v1/entities/{ENTITY['id']}").status_code == 204
    assert row_counts(settings.database_url)["protected_entities"] == 0
    assert api.post("/v1/entities", ENTITY).status_code == 201
    db = ["--database-url", settings.database_url]
    listed = CliRunner().invoke(main, ["entities", "list", "--platform", api.creds.id, *db])
    assert listed.output == f"{api.creds.id}\t{ENTITY['id']}\torganisation\t{ENTITY['name']}\n"
    removed = CliRunner().invoke(main, ["entities", "remove", ENTITY["id"], "--platform", api.creds.id, *db])
    assert removed.exit_code == 0, removed.output
    assert row_counts(settings.database_url)["protected_entities"] == 0
    assert api.get("/v1/works?after=abc").get_json()["error"]["code"] == "invalid_value"
    assert api.get("/v1/entities?limit=0").status_code == 422


BAD = [
    # (id, path, body or raw bytes, status, code, field)
    ("not-json", "/v1/works", b"{", 400, "malformed_json", None),
    ("array", "/v1/works", [], 400, "invalid_type", None),
    ("body-wrong-type", "/v1/works", {**WORK, "body": 5}, 400, "invalid_type", "body"),
    ("missing-body", "/v1/works", {"id": "w", "title": "t"}, 422, "missing_field", "body"),
    ("empty-id", "/v1/works", {**WORK, "id": ""}, 422, "invalid_value", "id"),
    ("slash-in-id", "/v1/works", {**WORK, "id": "a/b"}, 422, "invalid_value", "id"),
    ("blank-body", "/v1/works", {**WORK, "body": "   "}, 422, "invalid_value", "body"),
    ("nul-in-body", "/v1/works", {**WORK, "body": "a\x00b"}, 422, "invalid_value", "body"),
    ("surrogate-in-title", "/v1/works", b'{"id": "w", "title": "\\ud800", "body": "b"}', 422, "invalid_value", "title"),
    ("license-typo", "/v1/works", {**WORK, "license": "CC0"}, 422, "unknown_field", "license"),
    ("platform-in-body", "/v1/works", {**WORK, "platform_id": None}, 422, "unknown_field", "platform_id"),
    ("entity-missing-name", "/v1/entities", {"id": "e"}, 422, "missing_field", "name"),
    ("entity-bad-kind", "/v1/entities", {**ENTITY, "kind": "god"}, 422, "invalid_value", "kind"),
    ("entity-handles-type", "/v1/entities", {**ENTITY, "handles": "x"}, 400, "invalid_type", "handles"),
    ("entity-blank-handle", "/v1/entities", {**ENTITY, "handles": [" "]}, 422, "invalid_value", "handles.0"),
    ("entity-platform", "/v1/entities", {**ENTITY, "platform_id": "plt_x"}, 422, "unknown_field", "platform_id"),
]


@pytest.mark.parametrize(("path", "body", "status", "code", "field"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_4xx_and_writes_nothing(
    api: SignedClient, settings: Any, path: str, body: Any, status: int, code: str, field: str | None
) -> None:
    before = row_counts(settings.database_url)
    response = api.post(path, raw=body) if isinstance(body, bytes) else api.post(path, body)
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == (code, field)
    assert error["message"]
    assert_matches(response, path)
    assert row_counts(settings.database_url) == before


def test_unsigned_request_is_refused(app: Flask, platform: PlatformCreds, settings: Any) -> None:
    response = app.test_client().post("/v1/works", json=WORK)
    assert response.status_code == 401
    assert row_counts(settings.database_url)["works"] == 0


def test_scan_sees_works_registered_through_the_api(api: SignedClient, settings: Any, tmp_path: Path) -> None:
    assert api.post("/v1/works", WORK).status_code == 201
    src, out = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    src.write_text(json.dumps({"id": "copy", "body": COPY}) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        main, ["scan", str(src), "--out", str(out)], env={"DATABASE_URL": settings.database_url}, catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    (line,) = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    hooked = sync_post(api, "copy", COPY)
    assert line["verdict"] == hooked["verdict"] == "review"
    assert [c["id"] for c in line["categories"]] == [c["id"] for c in hooked["categories"]]
