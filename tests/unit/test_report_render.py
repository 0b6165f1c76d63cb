"""Renderers: CSV long table, XLSX sheets with numbers, JSON against the shipped schema, PDF text and page image."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from moderation.cli.report import report as report_cli
from moderation.reports.aggregate import build_report
from moderation.reports.freeze import FrozenReport, freeze
from moderation.reports.periods import semiannual
from moderation.reports.records import to_json
from moderation.reports.render.csv import render_csv
from moderation.reports.render.json import render_json, validate_report_json
from moderation.reports.render.xlsx import render_xlsx
from moderation.reports.sample import sample_input

EXAMPLE_PNG = Path(__file__).resolve().parents[2] / "docs" / "report-example.png"


@pytest.fixture(scope="module")
def frozen() -> FrozenReport:
    return freeze(
        build_report(sample_input(), semiannual(2024, 1)), number="07/2024/BC-BV", report_date=date(2024, 7, 10)
    )


@pytest.fixture(scope="module")
def small() -> FrozenReport:
    """Return a smaller report for the PDF: same structure, fewer pages to lay out."""
    records = sample_input(decisions=90, blogs=40)
    return freeze(build_report(records, semiannual(2024, 1)), number="07/2024/BC-BV", report_date=date(2024, 7, 10))


@pytest.fixture(scope="module")
def pdf(small) -> bytes:
    from moderation.reports.render.pdf import render_pdf

    return render_pdf(small)  # about two seconds: rendered once for the module


def test_csv_is_one_long_table(frozen):
    rows = list(csv.DictReader(io.StringIO(render_csv(frozen).decode())))
    assert list(rows[0])[:4] == ["section", "metric", "dimension", "value"]
    assert rows[0]["value"] == frozen.sha256  # the CSV names the report it belongs to
    total = next(r for r in rows if (r["section"], r["metric"], r["dimension"]) == ("violations", "total", ""))
    assert int(total["value"]) == frozen.value("violations", "total")
    assert len(total["ids"].split()) == int(total["value"])
    assert len(rows) == len(frozen.figures) + 1


def test_xlsx_has_a_sheet_per_section_and_numbers_as_numbers(frozen):
    wb = openpyxl.load_workbook(io.BytesIO(render_xlsx(frozen)))
    assert wb.sheetnames == [
        "Thông tin (a-d)",
        "Blog (đ)",
        "Vi phạm (e)",
        "Xử lý tài khoản (e)",
        "Quyết định",
        "Yêu cầu của CQ",
        "Khiếu nại",
        "Tự động",
        "Thống kê khác",
        "Truy xuất",
    ]
    ws = wb["Vi phạm (e)"]
    row = next(r for r in ws.iter_rows(values_only=True) if r[4] == "total" and not r[5])  # "" reads back as None
    assert row[2] == frozen.value("violations", "total")
    assert isinstance(row[2], int)
    rate = next(r for r in wb["Yêu cầu của CQ"].iter_rows(values_only=True) if r[4] == "compliance_rate")
    assert isinstance(rate[2], float)


def test_json_validates_against_the_shipped_schema(frozen):
    data = json.loads(render_json(frozen))
    validate_report_json(data)
    assert data["sha256"] == frozen.sha256
    data["content"]["figures"][0]["unit"] = "parsecs"
    with pytest.raises(Exception, match="parsecs"):
        validate_report_json(data)


@pytest.fixture(scope="module")
def pdf_text(pdf, tmp_path_factory) -> str:
    """Return the PDF's text in reading order (not -layout, which interleaves the masthead's two columns)."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing (Debian package poppler-utils)")
    path = tmp_path_factory.mktemp("pdf") / "r.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


@pytest.mark.parametrize(
    "needle",
    [
        "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM",  # national motto header, with its diacritics
        "Độc lập - Tự do - Hạnh phúc",
        "CÔNG TY CỔ PHẦN MẠNG XÃ HỘI BLOG VIỆT",  # provider name, upper case
        "Số: 07/2024/BC-BV",  # report number
        "Hà Nội, ngày 10 tháng 07 năm 2024",  # place and date
        "Số 123/GXN-TTĐT, ngày 16/03/2009",  # (a) registration number and date
        "Ngày bắt đầu cung cấp dịch vụ blog",  # (b)
        "Địa chỉ trụ sở",  # (c)
        "Nguyễn Thị Hương",  # (d) representative
        "Số blog đang quản lý tại thời điểm cuối kỳ",  # (đ)
        "Số tài khoản đã xác thực số điện thoại",  # (đ) extra statistics asked for
        "bài viết vi phạm quy định (mục 6.2 điểm e)",  # (e)
        "điểm c khoản 1 Điều 6, Nghị định 97/2008/NĐ-CP",  # a citation
        "Theo cách phát hiện",  # by how found
        "Yêu cầu của cơ quan nhà nước có thẩm quyền",  # beyond §6: authority requests
        "Khiếu nại đối với quyết định xử lý",  # appeals
        "(Ký, ghi rõ họ tên và đóng dấu)",  # signature block
    ],
)
def test_pdf_text_carries_every_item(pdf_text, needle):
    assert needle in pdf_text


def test_pdf_figures_match_the_report(pdf_text, small):
    text = pdf_text
    assert f"Tổng số nội dung vi phạm đã xử lý {small.value('violations', 'total')}" in text
    assert small.sha256 in text.replace(" ", "")


def test_pdf_first_page_renders(pdf, tmp_path):
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm missing (Debian package poppler-utils)")
    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "80",
            "-png",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(tmp_path / "r.pdf"),
            str(tmp_path / "page"),
        ],
        check=True,
    )
    png = (tmp_path / "page.png").read_bytes()
    assert png.startswith(b"\x89PNG")
    assert len(png) > 20_000  # a page with text, not a blank
    if not EXAMPLE_PNG.exists():  # the README's example, written once; look at it when the layout changes
        EXAMPLE_PNG.write_bytes(png)


@pytest.mark.parametrize(
    ("args", "suffix"),
    [
        (["semiannual", "--year", "2024", "--half", "1", "--format", "json"], ".json"),  # the signed kind
        (["adhoc", "--from", "2024-03-01", "--to", "2024-03-31", "--format", "csv"], ".csv"),  # any range on request
        (["semiannual", "--year", "2024", "--half", "1", "--format", "xlsx"], ".xlsx"),  # spreadsheet
    ],
)
def test_cli_with_records_file(tmp_path, args, suffix):
    records = tmp_path / "records.json"
    records.write_text(json.dumps(to_json(sample_input()), ensure_ascii=False), encoding="utf-8")
    out = tmp_path / f"out{suffix}"
    result = CliRunner().invoke(report_cli, [*args, "--out", str(out), "--input", str(records)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1000


def test_cli_diff_of_two_regenerations(tmp_path):
    records = tmp_path / "records.json"
    records.write_text(json.dumps(to_json(sample_input()), ensure_ascii=False), encoding="utf-8")
    runner = CliRunner()
    for name, as_of in (("a", "2024-07-01"), ("b", "2024-07-01"), ("c", "2024-07-14")):
        args = ["semiannual", "--year", "2024", "--half", "1", "--format", "json", "--as-of", as_of]
        result = runner.invoke(report_cli, [*args, "--out", str(tmp_path / f"{name}.json"), "--input", str(records)])
        assert result.exit_code == 0, result.output
    same = runner.invoke(report_cli, ["diff", str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    assert (same.exit_code, "same numbers" in same.output) == (0, True)
    later = runner.invoke(report_cli, ["diff", str(tmp_path / "a.json"), str(tmp_path / "c.json")])
    assert later.exit_code == 1
    assert "content/as_of" in later.output


def test_cli_without_database_loader_or_input(tmp_path):
    # Until moderation.store.reporting exists the command says how to proceed instead of failing obscurely.
    result = CliRunner().invoke(
        report_cli, ["semiannual", "--year", "2024", "--half", "1", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert "--input" in result.output
