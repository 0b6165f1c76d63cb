"""The reports API, on SQLite and PostgreSQL: the calling platform's semiannual and ad-hoc reports in every format
with the right content type and file name; the same records answer the same stored version; stored versions render
again; validation errors are 4xx JSON and write nothing; another platform sees none of it; the PDF carries every
§6.2 item (one PDF per engine, about two seconds)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from moderation.reports.freeze import load_frozen
from moderation.reports.render.json import validate_report_json
from tests.api.test_reports_store import PROFILE, Seeded, seed
from tests.api.test_workflow_enforcement import WRITTEN
from tests.conftest import SignedClient, make_platform, row_counts

H1 = "/v1/reports/semiannual?year=2024&half=1"


@pytest.fixture
def seeded(app: Any, api: SignedClient, settings: Any) -> Seeded:
    return seed(app, api, settings)


FORMATS = [
    # (format, content type, disposition prefix)
    ("json", "application/json", "inline"),
    ("csv", "text/csv; charset=utf-8", "attachment"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "attachment"),
]


@pytest.mark.parametrize(("fmt", "content_type", "disposition"), FORMATS, ids=[f[0] for f in FORMATS])
def test_semiannual_in_each_format(
    seeded: Seeded, api: SignedClient, fmt: str, content_type: str, disposition: str
) -> None:
    response = api.get(f"{H1}&format={fmt}")
    assert response.status_code == 200, response.data[:300]
    assert response.headers["Content-Type"] == content_type
    report_id = response.headers["X-Report-Id"]
    expected = f'{disposition}; filename="report-{seeded.a.id}-2024-H1-v1.{fmt}"'
    assert response.headers["Content-Disposition"] == expected
    sha = response.headers["X-Report-Sha256"]
    if fmt == "json":
        data = response.get_json()
        validate_report_json(data)
        assert load_frozen(data).sha256 == sha
        assert data["content"]["platform_id"] == seeded.a.id
        figures = data["content"]["figures"]
        violations = next(f for f in figures if (f["section"], f["metric"]) == ("violations", "total"))
        assert violations["value"] == 7
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(response.data.decode())))
        assert rows[0]["value"] == sha
        total = next(r for r in rows if (r["section"], r["metric"], r["dimension"]) == ("violations", "total", ""))
        assert int(total["value"]) == 7
    else:
        workbook = openpyxl.load_workbook(io.BytesIO(response.data))
        assert "Vi phạm (e)" in workbook.sheetnames
    # Asking again with the same records answers the same stored version; the stored one renders again.
    again = api.get(f"{H1}&format={fmt}")
    assert (again.headers["X-Report-Id"], again.headers["X-Report-Sha256"]) == (report_id, sha)
    stored = api.get(f"/v1/reports/{report_id}?format=json")
    assert (stored.status_code, stored.get_json()["sha256"]) == (200, sha)


def test_adhoc_range_and_a_new_version_when_records_change(seeded: Seeded, api: SignedClient, settings: Any) -> None:
    from tests.api.test_reports_store import _supersede, at

    url = "/v1/reports/adhoc?from=2024-03-01&to=2024-03-31"
    first = api.get(url)
    assert first.status_code == 200, first.get_json()
    content = first.get_json()["content"]
    assert (content["period"]["kind"], content["period"]["key"]) == ("adhoc", "adhoc-2024-03-01-2024-03-31")
    by_key = {(f["section"], f["metric"], f["dimension"]): f for f in content["figures"]}
    assert by_key[("violations", "total", "")]["ids"] == [seeded.d["p2"]]  # March: p2 only
    from moderation.store.db import session_scope

    with session_scope(settings.database_url) as session:
        _supersede(session, seeded.d["p2"], at(3, 20), action="no_action", verdict="allow")
    second = api.get(url)
    assert second.headers["X-Report-Version"] == "2"
    assert second.headers["X-Report-Sha256"] != first.headers["X-Report-Sha256"]
    assert second.get_json()["content"]["figures"] != content["figures"]


BAD_QUERIES = [
    # (id, path, status, code, field)
    ("no-year", "/v1/reports/semiannual?half=1", 422, "missing_field", "year"),
    ("no-half", "/v1/reports/semiannual?year=2024", 422, "missing_field", "half"),
    ("year-not-int", "/v1/reports/semiannual?year=abc&half=1", 400, "invalid_type", "year"),
    ("half-three", "/v1/reports/semiannual?year=2024&half=3", 422, "invalid_value", "half"),
    ("half-zero", "/v1/reports/semiannual?year=2024&half=0", 422, "invalid_value", "half"),
    ("year-too-early", "/v1/reports/semiannual?year=1999&half=1", 422, "invalid_value", "year"),
    ("year-future", "/v1/reports/semiannual?year=2999&half=1", 422, "invalid_value", "year"),
    ("format-doc", f"{H1}&format=doc", 422, "invalid_value", "format"),
    ("regime-unknown", f"{H1}&regime=nope", 422, "invalid_value", "regime"),
    ("unknown-param", f"{H1}&platform=plt_x", 400, "unknown_parameter", "platform"),
    ("adhoc-no-from", "/v1/reports/adhoc?to=2024-03-31", 422, "missing_field", "from"),
    ("adhoc-bad-date", "/v1/reports/adhoc?from=2024-02-30&to=2024-03-31", 422, "invalid_value", "from"),
    ("adhoc-not-a-date", "/v1/reports/adhoc?from=yesterday&to=2024-03-31", 400, "invalid_type", "from"),
    ("adhoc-reversed", "/v1/reports/adhoc?from=2024-03-31&to=2024-03-01", 422, "invalid_value", "to"),
    ("adhoc-future", "/v1/reports/adhoc?from=2024-03-01&to=2999-01-01", 422, "invalid_value", "to"),
    ("adhoc-too-long", "/v1/reports/adhoc?from=2009-01-01&to=2024-03-01", 422, "invalid_value", "to"),
    ("unknown-report", "/v1/reports/rpt_nope", 404, "not_found", None),
    ("stored-bad-format", "/v1/reports/rpt_nope?format=doc", 422, "invalid_value", "format"),
]


@pytest.mark.parametrize(("path", "expected"), [(b[1], b[2:]) for b in BAD_QUERIES], ids=[b[0] for b in BAD_QUERIES])
def test_bad_query_is_4xx_json_and_writes_nothing(
    api: SignedClient, settings: Any, path: str, expected: tuple[int, str, str | None]
) -> None:
    before = row_counts(settings.database_url)
    response = api.get(path)
    error = response.get_json()["error"]
    assert (response.status_code, error["code"], error["field"]) == expected
    assert error["message"]
    assert row_counts(settings.database_url) == before


def test_unsigned_request_is_refused(api: SignedClient) -> None:
    response = api.client.get(H1)
    assert (response.status_code, response.get_json()["error"]["code"]) == (401, "missing_key")


def test_other_platform_sees_only_its_own(seeded: Seeded, app: Any, api: SignedClient, settings: Any) -> None:
    mine = api.get(H1)
    report_id = mine.headers["X-Report-Id"]
    other = SignedClient(app.test_client(), make_platform(settings, "Third platform"))
    assert other.get(f"/v1/reports/{report_id}").status_code == 404
    theirs = other.get(H1).get_json()
    assert theirs["content"]["platform_id"] == other.creds.id
    totals = {(f["section"], f["metric"]): f["value"] for f in theirs["content"]["figures"] if not f["dimension"]}
    assert totals[("decisions", "total")] == 0  # none of the first platform's records
    assert theirs["content"]["profile"]["provider_name"] == "Third platform"  # no profile yet: its name


def test_written_tables_are_untouched_by_reading(seeded: Seeded, api: SignedClient, settings: Any) -> None:
    from tests.api.test_workflow_enforcement import row_counts as workflow_counts

    before = workflow_counts(settings.database_url)
    assert api.get(H1).status_code == 200
    after = workflow_counts(settings.database_url)
    assert {t: after[t] - before[t] for t in WRITTEN if after[t] != before[t]} == {"audit_entries": 1}


# §6.2 items and the document's frame, as pdftotext reads them.
PDF_ITEMS = [
    "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    PROFILE["provider_name"].upper(),
    "Số 123/GXN-TTĐT, ngày 16/03/2009",  # (a)
    "Ngày bắt đầu cung cấp dịch vụ blog 01/04/2009",  # (b)
    f"Địa chỉ trụ sở {PROFILE['office_address']}",  # (c)
    "Nguyễn Thị Hương; 024 3825 0000; phaply@blogviet.example.vn",  # (d)
    "Số blog đang quản lý tại thời điểm cuối kỳ",  # (đ)
    "bài viết vi phạm quy định (mục 6.2 điểm e)",  # (e)
    "điểm c khoản 1 Điều 6, Nghị định 97/2008/NĐ-CP",  # a category's citation
    "Yêu cầu của cơ quan nhà nước có thẩm quyền",
    "Khiếu nại đối với quyết định xử lý",
    "(Ký, ghi rõ họ tên và đóng dấu)",
]


def test_pdf_carries_every_item(seeded: Seeded, api: SignedClient, tmp_path: Path) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing (Debian package poppler-utils)")
    response = api.get(f"{H1}&format=pdf")  # the one PDF of this module (about two seconds)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="report-')
    assert response.data.startswith(b"%PDF")
    (tmp_path / "r.pdf").write_bytes(response.data)
    raw = subprocess.run(["pdftotext", str(tmp_path / "r.pdf"), "-"], check=True, capture_output=True, text=True)
    text = " ".join(raw.stdout.split())
    assert [item for item in PDF_ITEMS if item not in text] == []
    assert "Tổng số nội dung vi phạm đã xử lý 7" in text
    assert response.headers["X-Report-Sha256"] in text.replace(" ", "")


def test_openapi_documents_the_paths() -> None:
    from moderation.schemas_reports import openapi_paths, openapi_schemas

    paths = openapi_paths()
    assert set(paths) == {"/v1/reports/semiannual", "/v1/reports/adhoc", "/v1/reports/{report_id}"}
    refs = json.dumps(paths)
    assert "#/components/schemas/FrozenReport" in refs
    assert "FrozenReport" in openapi_schemas()
