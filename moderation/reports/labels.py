"""Vietnamese labels for the sections, figures and dimensions of a report (shared by every renderer)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SECTION_TITLES: dict[str, str] = {
    "profile": "Thông tin chung về doanh nghiệp (mục 6.2 điểm a, b, c, d)",
    "blogs": "Số lượng blog đang quản lý (mục 6.2 điểm đ)",
    "violations": "Số liệu về blog, bài viết vi phạm quy định (mục 6.2 điểm e)",
    "strikes": "Cảnh cáo, tạm ngừng và đình chỉ blog, tài khoản (mục 6.2 điểm e)",
    "decisions": "Tổng hợp quyết định xử lý và quy tắc tính",
    "authority": "Yêu cầu của cơ quan nhà nước có thẩm quyền",
    "appeals": "Khiếu nại đối với quyết định xử lý",
    "automation": "Quyết định tự động",
    "extra": "Thống kê khác theo yêu cầu của cơ quan quản lý (mục 6.2 điểm đ)",
    "trace": "Truy xuất số liệu",
}

METRICS: dict[tuple[str, str], str] = {
    ("blogs", "managed_at_end"): "Số blog đang quản lý tại thời điểm cuối kỳ",
    ("blogs", "new"): "Số blog mới tạo trong kỳ",
    ("blogs", "suspended"): "Số blog bị tạm ngừng trong kỳ",
    ("blogs", "closed"): "Số blog bị đóng trong kỳ",
    ("decisions", "total"): "Tổng số quyết định xử lý (mỗi quyết định tính một lần, theo phiên bản cuối)",
    ("decisions", "by_action"): "Quyết định theo biện pháp",
    ("decisions", "reversed"): "Quyết định bị huỷ sau khiếu nại",
    ("decisions", "superseded_versions"): "Phiên bản quyết định đã được thay thế (không tính riêng)",
    ("decisions", "excluded_shadow"): "Kết quả chạy thử (chế độ shadow), không tính",
    ("decisions", "excluded_test_platform"): "Quyết định trên nền tảng thử nghiệm, không tính",
    ("decisions", "excluded_other_platform"): "Quyết định của nền tảng khác, không tính",
    ("violations", "total"): "Tổng số nội dung vi phạm đã xử lý",
    ("violations", "by_kind"): "Theo loại nội dung",
    ("violations", "blogs_with_violations"): "Số blog có nội dung vi phạm",
    ("violations", "by_category"): "Theo loại vi phạm",
    ("violations", "by_action"): "Theo biện pháp xử lý",
    ("violations", "by_source"): "Theo cách phát hiện",
    ("violations", "by_month"): "Theo tháng",
    ("violations", "by_category_month"): "Theo loại vi phạm và tháng",
    ("violations", "repeat_offender_authors"): "Số tác giả vi phạm từ 2 lần trở lên",
    ("violations", "repeat_offender_blogs"): "Số blog vi phạm từ 2 lần trở lên",
    ("violations", "repeat_offender_authors_violations"): "Số lần vi phạm của tác giả",
    ("violations", "repeat_offender_blogs_violations"): "Số lần vi phạm của blog",
    ("strikes", "total"): "Tổng số biện pháp xử lý tài khoản, blog",
    ("strikes", "by_kind"): "Theo hình thức",
    ("strikes", "suspensions"): "Tổng số lần tạm ngừng, đình chỉ",
    ("authority", "received"): "Số yêu cầu nhận được",
    ("authority", "items_named"): "Số nội dung được yêu cầu xử lý",
    ("authority", "complied"): "Số yêu cầu đã thực hiện",
    ("authority", "complied_on_time"): "Số yêu cầu thực hiện đúng hạn",
    ("authority", "not_complied"): "Số yêu cầu quá hạn chưa thực hiện",
    ("authority", "pending"): "Số yêu cầu chưa đến hạn",
    ("authority", "compliance_rate"): "Tỷ lệ thực hiện",
    ("authority", "on_time_rate"): "Tỷ lệ thực hiện đúng hạn",
    ("authority", "time_to_act"): "Thời gian xử lý yêu cầu (giờ)",
    ("authority", "time_to_act_median"): "Thời gian xử lý, trung vị (giờ)",
    ("authority", "time_to_act_p90"): "Thời gian xử lý, phân vị 90 (giờ)",
    ("appeals", "received"): "Số khiếu nại nhận được",
    ("appeals", "upheld"): "Giữ nguyên quyết định",
    ("appeals", "reversed"): "Huỷ quyết định",
    ("appeals", "pending"): "Đang giải quyết",
    ("appeals", "time_to_decide_median"): "Thời gian giải quyết, trung vị (giờ)",
    ("automation", "decisions"): "Số quyết định",
    ("automation", "reversed"): "Số quyết định bị huỷ sau khiếu nại",
    ("automation", "automated_decisions"): "Số quyết định tự động (toàn phần hoặc một phần)",
    ("automation", "automated_reversed"): "Số quyết định tự động bị huỷ sau khiếu nại",
    ("automation", "automated_reversed_share"): "Tỷ lệ quyết định tự động bị huỷ",
}

DIMENSIONS: dict[str, str] = {
    # blog status
    "active": "đang hoạt động",
    "suspended": "đang bị tạm ngừng",
    "closed": "đã đóng",
    # submission kind
    "post": "Bài viết",
    "comment": "Bình luận",
    "blog": "Blog",
    # action
    "remove": "Gỡ bỏ",
    "restrict": "Hạn chế hiển thị",
    "label": "Gắn nhãn (không phải vi phạm)",
    "no_action": "Không xử lý",
    # source
    "automated": "Hệ thống tự động phát hiện",
    "moderator": "Người kiểm duyệt phát hiện",
    "user_report": "Người dùng báo cáo",
    "authority_request": "Theo yêu cầu của cơ quan có thẩm quyền",
    # automation level
    "fully": "Hoàn toàn tự động",
    "partially": "Tự động một phần",
    "not": "Do người kiểm duyệt quyết định",
    # strike kind
    "warning": "Cảnh cáo",
    "suspension_1m": "Tạm ngừng 1 tháng",
    "suspension_3m": "Tạm ngừng 3 tháng",
    "indefinite": "Đình chỉ không thời hạn",
}


def metric_label(section: str, metric: str) -> str:
    """Return the Vietnamese label of a figure (the key itself if unknown, so nothing is hidden)."""
    return METRICS.get((section, metric), metric)


def month_label(month: str) -> str:
    """Turn ``2024-03`` into ``Tháng 3/2024``."""
    year, mon = month.split("-")
    return f"Tháng {int(mon)}/{year}"


def category_label(content: Mapping[str, Any], cat_id: str) -> str:
    cat = content.get("categories", {}).get(cat_id)
    return str(cat["name_vi"]) if cat else cat_id


def citation_text(citation: Mapping[str, Any]) -> str:
    """Format a citation the Vietnamese way: "điểm a khoản 1 Điều 6, Nghị định 97/2008/NĐ-CP"."""
    parts = []
    if citation.get("point"):
        parts.append(f"điểm {citation['point']}")
    if citation.get("clause"):
        parts.append(f"khoản {citation['clause']}")
    if citation.get("article"):
        parts.append(f"Điều {citation['article']}")
    head = " ".join(parts)
    return f"{head}, {citation['instrument']}" if head else str(citation["instrument"])


def dimension_label(content: Mapping[str, Any], section: str, metric: str, dimension: str) -> str:
    """Return a readable label for a figure's dimension."""
    if not dimension:
        return ""
    if metric in ("by_month",):
        return month_label(dimension)
    if metric in ("by_category",):
        return category_label(content, dimension)
    if metric == "by_category_month":
        cat_id, month = dimension.split("|")
        return f"{category_label(content, cat_id)} – {month_label(month)}"
    return DIMENSIONS.get(dimension, dimension)


def format_value(value: Any, unit: str) -> str:
    """Format a value for print: thousands with dots, ratios as percentages, decimals with a comma."""
    if value is None:
        return "–"
    if unit == "ratio":
        return f"{value * 100:.1f} %".replace(".", ",")
    if isinstance(value, float):
        return f"{value:,.2f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{value:,}".replace(",", ".")
