"""XLSX rendering: one sheet per section, numbers stored as numbers."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.worksheet import Worksheet

from moderation.reports.freeze import FrozenReport
from moderation.reports.labels import SECTION_TITLES, citation_text, dimension_label, metric_label

SHEETS: dict[str, str] = {
    "blogs": "Blog (đ)",
    "violations": "Vi phạm (e)",
    "strikes": "Xử lý tài khoản (e)",
    "decisions": "Quyết định",
    "authority": "Yêu cầu của CQ",
    "appeals": "Khiếu nại",
    "automation": "Tự động",
}
BOLD = Font(bold=True)
HEADER = ("Chỉ tiêu", "Phân loại", "Giá trị", "Đơn vị", "metric", "dimension", "Số bản ghi")
FORMATS = {"ratio": "0.0%", "hours": "0.00", "count": "#,##0"}


def _title(ws: Worksheet, text: str) -> None:
    ws.append([text])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=13)
    ws.append([])


def _widths(ws: Worksheet, widths: tuple[int, ...]) -> None:
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width


def render_xlsx(report: FrozenReport) -> bytes:
    """Return the workbook as bytes."""
    content = report.content
    wb = Workbook()
    info = wb.active
    assert info is not None
    info.title = "Thông tin (a-d)"
    _profile_sheet(info, report)

    for section, sheet_name in SHEETS.items():
        ws = wb.create_sheet(sheet_name)
        _title(ws, SECTION_TITLES[section])
        ws.append(HEADER)
        for cell in ws[ws.max_row]:
            cell.font = BOLD
        for fig in content["figures"]:
            if fig["section"] != section:
                continue
            ws.append(
                [
                    metric_label(section, fig["metric"]),
                    dimension_label(content, section, fig["metric"], fig["dimension"]),
                    fig["value"],
                    fig["unit"],
                    fig["metric"],
                    fig["dimension"],
                    len(fig["ids"]),
                ]
            )
            ws.cell(row=ws.max_row, column=3).number_format = FORMATS.get(fig["unit"], "General")
        if section == "violations" and content["categories"]:
            ws.append([])
            ws.append(["Loại vi phạm", "Căn cứ pháp lý", "Mã"])
            for cell in ws[ws.max_row]:
                cell.font = BOLD
            for cat_id, cat in content["categories"].items():
                ws.append([cat["name_vi"], citation_text(cat["citation"]), cat_id])
        _widths(ws, (55, 45, 12, 8, 30, 30, 10))

    extra = wb.create_sheet("Thống kê khác")
    _title(extra, SECTION_TITLES["extra"])
    for table in content["extra_tables"]:
        extra.append([table["title_vi"]])
        extra.cell(row=extra.max_row, column=1).font = BOLD
        extra.append(list(table["columns"]))
        for row in table["rows"]:
            extra.append(list(row))
        if table["note"]:
            extra.append([table["note"]])
        extra.append([])
    _widths(extra, (40, 20, 20, 20, 20))

    trace = wb.create_sheet("Truy xuất")
    _title(trace, SECTION_TITLES["trace"])
    trace.append(["section", "metric", "dimension", "value", "id_kind", "ids"])
    for cell in trace[trace.max_row]:
        cell.font = BOLD
    for fig in content["figures"]:
        trace.append(
            [fig["section"], fig["metric"], fig["dimension"], fig["value"], fig["id_kind"], " ".join(fig["ids"])]
        )
    _widths(trace, (14, 36, 30, 10, 18, 80))

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _profile_sheet(ws: Worksheet, report: FrozenReport) -> None:
    content = report.content
    profile: dict[str, Any] = content["profile"]
    period = content["period"]
    _title(ws, SECTION_TITLES["profile"])
    rows: list[tuple[str, Any]] = [
        ("Tên doanh nghiệp", profile["provider_name"]),
        ("a) Số văn bản xác nhận đăng ký mạng xã hội", profile["registration_number"]),
        ("a) Ngày xác nhận", profile["registration_date"]),
        ("b) Ngày bắt đầu cung cấp dịch vụ blog", profile["service_start_date"]),
        ("c) Địa chỉ trụ sở", profile["office_address"]),
        ("d) Người đại diện", profile["representative_name"]),
        ("d) Điện thoại", profile["representative_phone"]),
        ("d) Thư điện tử", profile["representative_email"]),
        ("Kỳ báo cáo", f"{period['key']} ({period['first_day']} – {period['last_day']})"),
        ("Hạn gửi (trước ngày)", period["due_before"] or ""),
        ("Số liệu tính đến", content["as_of"]),
        ("Số báo cáo", report.document.get("number") or ""),
        ("SHA-256 của báo cáo", report.sha256),
        ("SHA-256 của dữ liệu đầu vào", content["input_sha256"]),
    ]
    for pack_id, shas in content["pack_versions"].items():
        rows.append((f"Phiên bản bộ quy tắc {pack_id}", ", ".join(shas)))
    for label, value in rows:
        ws.append([label, value])
        ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True)
    _widths(ws, (45, 90))
