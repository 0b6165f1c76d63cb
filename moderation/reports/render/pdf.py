"""PDF rendering in the layout of a Vietnamese administrative report, with WeasyPrint.

Fonts: DejaVu Serif / Sans from matplotlib's mpl-data (always installed with matplotlib, full Vietnamese
coverage), loaded through @font-face file URLs so no system font package is required; the system's DejaVu is
the fallback. WeasyPrint needs Pango (Debian: libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz0b).
"""

from __future__ import annotations

import base64
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from html import escape
from pathlib import Path
from typing import Any

import matplotlib

from moderation.reports.freeze import FrozenReport
from moderation.reports.labels import (
    SECTION_TITLES,
    citation_text,
    dimension_label,
    format_value,
    metric_label,
    month_label,
)
from moderation.reports.periods import VN_TZ
from moderation.reports.render.charts import time_to_act_chart, violations_by_month_chart

CSS_FILE = Path(__file__).resolve().parent.parent / "data" / "report.css"
MAX_LISTED_OFFENDERS = 20  # the PDF lists the worst; XLSX and JSON carry all of them


def font_dir() -> Path:
    """Return matplotlib's bundled TrueType directory (DejaVu with Vietnamese glyphs)."""
    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def font_faces() -> str:
    """Return @font-face rules for the bundled DejaVu Serif and Sans."""
    rules = []
    for family, stem in (("ReportSerif", "DejaVuSerif"), ("ReportSans", "DejaVuSans")):
        for suffix, weight, style in (("", 400, "normal"), ("-Bold", 700, "normal"), ("-Italic", 400, "italic")):
            path = font_dir() / f"{stem}{suffix}.ttf"
            if stem == "DejaVuSans" and suffix == "-Italic":
                path = font_dir() / "DejaVuSans-Oblique.ttf"
            if path.exists():
                rules.append(
                    f"@font-face {{ font-family: {family}; src: url('{path.as_uri()}');"
                    f" font-weight: {weight}; font-style: {style}; }}"
                )
    return "\n".join(rules)


def _vn_date(day: date) -> str:
    return f"ngày {day.day:02d} tháng {day.month:02d} năm {day.year}"


def _vn_day(iso: str | None) -> str:
    return "" if not iso else date.fromisoformat(iso).strftime("%d/%m/%Y")


def _vn_instant(iso: str) -> str:
    instant = datetime.fromisoformat(iso).astimezone(VN_TZ)
    if instant.time() == time(0):  # midnight reads as 24:00 of the day before, as the law counts days
        return f"24:00 ngày {(instant.date() - timedelta(days=1)).strftime('%d/%m/%Y')}"
    return instant.strftime("%H:%M ngày %d/%m/%Y")


def _svg_img(svg: bytes, alt: str) -> str:
    data = base64.b64encode(svg).decode("ascii")
    return f'<img class="chart" alt="{escape(alt)}" src="data:image/svg+xml;base64,{data}">'


class _Doc:
    def __init__(self, report: FrozenReport) -> None:
        self.report = report
        self.c: dict[str, Any] = dict(report.content)
        self.figs: dict[tuple[str, str, str], dict[str, Any]] = {
            (f["section"], f["metric"], f["dimension"]): f for f in self.c["figures"]
        }

    def fig(self, section: str, metric: str, dimension: str = "") -> dict[str, Any]:
        return self.figs[(section, metric, dimension)]

    def val(self, section: str, metric: str, dimension: str = "") -> str:
        f = self.fig(section, metric, dimension)
        return format_value(f["value"], f["unit"])

    def dims(self, section: str, metric: str) -> list[dict[str, Any]]:
        return [f for f in self.c["figures"] if f["section"] == section and f["metric"] == metric and f["dimension"]]

    def table(self, head: list[str], rows: list[list[str]], cls: str = "") -> str:
        ths = "".join(f"<th>{escape(h)}</th>" for h in head)
        body = (
            "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
            or f'<tr><td colspan="{len(head)}" class="empty">Không có</td></tr>'
        )
        return f'<table class="{cls}"><thead><tr>{ths}</tr></thead><tbody>{body}</tbody></table>'

    def metric_rows(self, section: str, metrics: list[str]) -> list[list[str]]:
        rows = []
        for i, metric in enumerate(metrics, 1):
            rows.append([str(i), metric_label(section, metric), self.val(section, metric)])
        return rows

    def dim_rows(self, section: str, metric: str) -> list[list[str]]:
        return [
            [dimension_label(self.c, section, metric, f["dimension"]), format_value(f["value"], f["unit"])]
            for f in self.dims(section, metric)
        ]


def build_html(report: FrozenReport) -> str:
    """Return the report as HTML (what WeasyPrint lays out)."""
    d = _Doc(report)
    c = d.c
    profile = c["profile"]
    period = c["period"]
    doc_date = report.document.get("date")
    date_line = _vn_date(date.fromisoformat(doc_date)) if doc_date else "ngày ...... tháng ...... năm ......"
    number = report.document.get("number") or "......"
    if period["kind"] == "semiannual":
        label = period["label_vi"]
        year = period["first_day"][:4]
        subject = f"Tình hình cung cấp dịch vụ blog {label} {year}" if label.endswith("năm") else f"{label} năm {year}"
        subject = subject if subject.startswith("Tình hình") else f"Tình hình cung cấp dịch vụ blog {subject}"
    else:
        subject = "Báo cáo đột xuất về tình hình cung cấp dịch vụ blog theo yêu cầu của cơ quan có thẩm quyền"
    parts: list[str] = []
    add = parts.append

    add(
        f"""<table class="masthead"><tr>
<td class="left"><div class="org">{escape(profile["provider_name"].upper())}</div><div class="rule"></div>
<div>Số: {escape(number)}</div></td>
<td class="right"><div class="motto1">CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM</div>
<div class="motto2">Độc lập - Tự do - Hạnh phúc</div><div class="rule"></div>
<div class="dateline">{escape(profile["place"])}, {escape(date_line)}</div></td></tr></table>
<h1>BÁO CÁO</h1>
<p class="subject">{escape(subject)}</p>
<p class="basis">(Theo mục 6 Thông tư số 07/2008/TT-BTTTT ngày 18/12/2008 của Bộ Thông tin và Truyền thông)</p>
<p class="period">Kỳ báo cáo: từ {_vn_day(period["first_day"])} đến {_vn_day(period["last_day"])}
(giờ Việt Nam){f"; hạn gửi trước ngày {_vn_day(period['due_before'])}" if period["due_before"] else ""}.
Số liệu tính đến {escape(_vn_instant(c["as_of"]))} (giờ Việt Nam).</p>
<div class="recipients"><span>Kính gửi:</span><ul>"""
        + "".join(f"<li>{escape(r)};</li>" for r in profile["recipients"])
        + "</ul></div>"
    )

    # I. (a)-(d)
    add(f"<h2>I. {escape(SECTION_TITLES['profile'])}</h2>")
    add(
        d.table(
            ["Điểm", "Nội dung", "Thông tin"],
            [
                ["", "Tên doanh nghiệp", profile["provider_name"]],
                [
                    "a",
                    "Số và ngày văn bản xác nhận đăng ký cung cấp dịch vụ mạng xã hội trực tuyến",
                    f"Số {profile['registration_number']}, ngày {_vn_day(profile['registration_date'])}",
                ],
                ["b", "Ngày bắt đầu cung cấp dịch vụ blog", _vn_day(profile["service_start_date"])],
                ["c", "Địa chỉ trụ sở", profile["office_address"]],
                [
                    "d",
                    "Người đại diện: họ tên, điện thoại, thư điện tử",
                    f"{profile['representative_name']}; {profile['representative_phone']}; "
                    f"{profile['representative_email']}",
                ],
            ],
            "kv",
        )
    )

    # II. (đ)
    add(f"<h2>II. {escape(SECTION_TITLES['blogs'])}</h2>")
    rows = d.metric_rows("blogs", ["managed_at_end", "new", "suspended", "closed"])
    rows.insert(
        1, ["", "trong đó: " + dimension_label(c, "blogs", "", "active"), d.val("blogs", "managed_at_end", "active")]
    )
    rows.insert(
        2,
        [
            "",
            "trong đó: " + dimension_label(c, "blogs", "", "suspended"),
            d.val("blogs", "managed_at_end", "suspended"),
        ],
    )
    add(d.table(["TT", "Chỉ tiêu", "Số lượng"], rows, "num tt"))
    if c["extra_tables"]:
        add(f"<h3>{escape(SECTION_TITLES['extra'])}</h3>")
        for table in c["extra_tables"]:
            add(f"<p class='caption'>{escape(table['title_vi'])}</p>")
            add(
                d.table(
                    list(table["columns"]),
                    [[format_value(v, "count") if not isinstance(v, str) else v for v in r] for r in table["rows"]],
                )
            )
            if table["note"]:
                add(f"<p class='note'>{escape(table['note'])}</p>")

    # III. (e)
    add(f"<h2>III. {escape(SECTION_TITLES['violations'])}</h2>")
    add(
        d.table(
            ["TT", "Chỉ tiêu", "Số lượng"],
            d.metric_rows("violations", ["total", "blogs_with_violations"])
            + [["", "trong đó: " + r[0], r[1]] for r in d.dim_rows("violations", "by_kind")],
            "num tt",
        )
    )
    add("<h3>1. Theo loại vi phạm và căn cứ pháp lý</h3>")
    cat_rows = []
    for f in d.dims("violations", "by_category"):
        cat = c["categories"].get(f["dimension"])
        cat_rows.append(
            [
                cat["name_vi"] if cat else f["dimension"],
                citation_text(cat["citation"]) if cat else "",
                format_value(f["value"], f["unit"]),
            ]
        )
    add(d.table(["Loại vi phạm", "Căn cứ pháp lý", "Số lượng"], cat_rows, "num cat"))
    add("<p class='note'>Một nội dung thuộc nhiều loại vi phạm được tính ở mỗi loại.</p>")
    add("<h3>2. Theo biện pháp xử lý</h3>")
    add(d.table(["Biện pháp", "Số lượng"], d.dim_rows("violations", "by_action"), "num"))
    add("<h3>3. Theo cách phát hiện</h3>")
    add(d.table(["Cách phát hiện", "Số lượng"], d.dim_rows("violations", "by_source"), "num"))
    add("<h3>4. Theo tháng</h3>")
    add(d.table(["Tháng", "Số lượng"], d.dim_rows("violations", "by_month"), "num"))
    series: dict[str, dict[str, int]] = defaultdict(dict)
    for f in d.dims("violations", "by_category_month"):
        cat_id, month = f["dimension"].split("|")
        series[cat_id][month] = int(f["value"])
    names = {cid: cat["name_vi"] for cid, cat in c["categories"].items()}
    add(_svg_img(violations_by_month_chart(c["months"], series, names), "Biểu đồ vi phạm theo loại và tháng"))
    add("<h3>5. Tác giả, blog vi phạm nhiều lần (từ 2 lần trở lên)</h3>")
    add(
        d.table(
            ["TT", "Chỉ tiêu", "Số lượng"],
            d.metric_rows("violations", ["repeat_offender_authors", "repeat_offender_blogs"]),
            "num tt",
        )
    )
    for who, title in (("authors", "Tác giả"), ("blogs", "Blog")):
        listed = sorted(
            d.dims("violations", f"repeat_offender_{who}_violations"), key=lambda f: (-f["value"], f["dimension"])
        )
        if listed:
            rows = [[f["dimension"], format_value(f["value"], "count")] for f in listed[:MAX_LISTED_OFFENDERS]]
            add(d.table([f"{title} (mã)", "Số lần vi phạm"], rows, "num"))
            if len(listed) > MAX_LISTED_OFFENDERS:
                add(
                    f"<p class='note'>Còn {len(listed) - MAX_LISTED_OFFENDERS} {title.lower()} khác:"
                    " xem bản XLSX/JSON.</p>"
                )
    add(f"<h3>6. {escape(SECTION_TITLES['strikes'])}</h3>")
    add(
        d.table(
            ["Hình thức", "Số lượng"],
            [
                *d.dim_rows("strikes", "by_kind"),
                [metric_label("strikes", "suspensions"), d.val("strikes", "suspensions")],
                [metric_label("strikes", "total"), d.val("strikes", "total")],
            ],
            "num",
        )
    )

    # IV. authority
    add(f"<h2>IV. {escape(SECTION_TITLES['authority'])}</h2>")
    metrics = [
        "received",
        "items_named",
        "complied",
        "complied_on_time",
        "not_complied",
        "pending",
        "compliance_rate",
        "on_time_rate",
        "time_to_act_median",
        "time_to_act_p90",
    ]
    add(d.table(["TT", "Chỉ tiêu", "Giá trị"], d.metric_rows("authority", metrics), "num tt"))
    hours = [float(f["value"]) for f in d.dims("authority", "time_to_act")]
    median, p90 = d.fig("authority", "time_to_act_median")["value"], d.fig("authority", "time_to_act_p90")["value"]
    add(_svg_img(time_to_act_chart(hours, median, p90), "Biểu đồ thời gian xử lý yêu cầu"))

    # V. appeals, VI. automation
    add(f"<h2>V. {escape(SECTION_TITLES['appeals'])}</h2>")
    add(
        d.table(
            ["TT", "Chỉ tiêu", "Giá trị"],
            d.metric_rows("appeals", ["received", "upheld", "reversed", "pending", "time_to_decide_median"]),
            "num tt",
        )
    )
    add(f"<h2>VI. {escape(SECTION_TITLES['automation'])}</h2>")
    auto_rows = [
        [
            dimension_label(c, "automation", "decisions", f["dimension"]),
            format_value(f["value"], "count"),
            d.val("automation", "reversed", f["dimension"]),
        ]
        for f in d.dims("automation", "decisions")
    ]
    add(d.table(["Mức độ tự động", "Số quyết định", "Bị huỷ sau khiếu nại"], auto_rows, "num"))
    add(
        d.table(
            ["TT", "Chỉ tiêu", "Giá trị"],
            d.metric_rows("automation", ["automated_decisions", "automated_reversed", "automated_reversed_share"]),
            "num tt",
        )
    )

    # VII. counting rules and traceability
    add(f"<h2>VII. {escape(SECTION_TITLES['decisions'])}</h2>")
    add(
        "<p class='note'>Không tính kết quả chạy thử (shadow) và nền tảng thử nghiệm. Quyết định được sửa đổi chỉ "
        "tính một lần theo phiên bản cuối cùng, vào kỳ của lần quyết định đầu tiên. Vi phạm là quyết định gỡ bỏ hoặc "
        "hạn chế hiển thị chưa bị huỷ sau khiếu nại.</p>"
    )
    dec_rows = d.metric_rows(
        "decisions",
        [
            "total",
            "reversed",
            "superseded_versions",
            "excluded_shadow",
            "excluded_test_platform",
            "excluded_other_platform",
        ],
    )
    dec_rows += [["", "theo biện pháp: " + r[0], r[1]] for r in d.dim_rows("decisions", "by_action")]
    add(d.table(["TT", "Chỉ tiêu", "Số lượng"], dec_rows, "num tt"))
    add(f"<h3>{escape(SECTION_TITLES['trace'])}</h3>")
    trace = [
        ["Mã băm SHA-256 của báo cáo", report.sha256],
        ["Mã băm SHA-256 của dữ liệu đầu vào", c["input_sha256"]],
        ["Nền tảng", c["platform_id"]],
    ] + [[f"Bộ quy tắc {pid}", ", ".join(shas)] for pid, shas in c["pack_versions"].items()]
    add(d.table(["Mục", "Giá trị"], trace, "trace"))
    add(
        "<p class='note'>Danh sách mã quyết định đứng sau từng số liệu có trong bản JSON/XLSX kèm theo; tạo lại báo "
        "cáo cho cùng kỳ cho cùng mã băm nếu dữ liệu không thay đổi.</p>"
    )
    if c["checks"]:
        add("<p class='caption'>Điểm bất thường trong dữ liệu:</p><ul class='checks'>")
        add("".join(f"<li>{escape(x)}</li>" for x in c["checks"]))
        add("</ul>")

    # Signature block
    add(
        """<table class="signature"><tr>
<td class="left"><b><i>Nơi nhận:</i></b><br>"""
        + "".join(f"- {escape(r)};<br>" for r in profile["recipients"])
        + f"""- Lưu: VT.</td>
<td class="right"><div class="sigtitle">{escape(profile["representative_title"].upper())}</div>
<div class="sighint">(Ký, ghi rõ họ tên và đóng dấu)</div>
<div class="signame">{escape(profile["representative_name"])}</div></td></tr></table>"""
    )

    footer = f"Báo cáo {period['key']} · SHA-256 {report.sha256[:16]}…"
    css = font_faces() + "\n" + CSS_FILE.read_text(encoding="utf-8").replace("__FOOTER__", footer.replace('"', "'"))
    body = "\n".join(parts)
    return (
        f'<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8"><title>{escape(subject)}</title>'
        f"<style>{css}</style></head><body>{body}</body></html>"
    )


def render_pdf(report: FrozenReport) -> bytes:
    """Return the report as a PDF."""
    from weasyprint import HTML  # heavy import, only when a PDF is asked for
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    html = HTML(string=build_html(report), base_url=str(font_dir()))
    pdf: bytes = html.write_pdf(font_config=fonts)
    return pdf


__all__ = ["build_html", "font_faces", "month_label", "render_pdf"]
