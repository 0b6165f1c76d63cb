"""Charts for the PDF, drawn with matplotlib's object API as SVG with text as paths.

The object API (``Figure`` + an explicit canvas) needs no pyplot, no global backend and no display.
Text as paths means the PDF does not depend on a font being present when the SVG is rasterised, and the
Vietnamese diacritics come from matplotlib's own DejaVu Sans.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from moderation.reports.labels import month_label

_RC: dict[str, Any] = {
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "svg.hashsalt": "vn-moderation",
}
# Colour-blind-safe palette (Okabe-Ito), repeated if there are more categories.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")


def _svg(fig: Figure) -> bytes:
    out = io.BytesIO()
    FigureCanvasSVG(fig)
    # No date in the metadata, so the same report draws the same bytes.
    fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    return out.getvalue()


def violations_by_month_chart(
    months: Sequence[str], series: Mapping[str, Mapping[str, int]], category_names: Mapping[str, str]
) -> bytes:
    """Draw violations per category per month as stacked bars; ``series`` maps category id -> month -> count."""
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]  # stubs list the keys as Literals
        fig = Figure(figsize=(7.0, 3.6))
        ax = fig.add_subplot()
        x = list(range(len(months)))
        bottom = [0] * len(months)
        for i, cat_id in enumerate(sorted(series)):
            values = [series[cat_id].get(m, 0) for m in months]
            ax.bar(x, values, bottom=bottom, color=PALETTE[i % len(PALETTE)], label=category_names.get(cat_id, cat_id))
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xticks(x, [month_label(m).removeprefix("Tháng ") for m in months])
        ax.set_xlabel("Tháng")
        ax.set_ylabel("Số nội dung vi phạm")
        ax.set_title("Nội dung vi phạm theo loại và theo tháng")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)
        if series:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=2, frameon=False, fontsize=8)
        else:
            ax.text(0.5, 0.5, "Không có nội dung vi phạm trong kỳ", transform=ax.transAxes, ha="center")
        return _svg(fig)


def time_to_act_chart(
    hours: Sequence[float], median: float | None, p90: float | None, deadline: float | None = None
) -> bytes:
    """Draw the time each authority request took, sorted, with the median, the 90th percentile and the deadline."""
    with matplotlib.rc_context(_RC):  # type: ignore[arg-type]  # stubs list the keys as Literals
        fig = Figure(figsize=(7.0, 2.6))
        ax = fig.add_subplot()
        ordered = sorted(hours)
        ax.bar(range(1, len(ordered) + 1), ordered, color=PALETTE[0], label="Thời gian xử lý từng yêu cầu")
        if median is not None:
            ax.axhline(median, color=PALETTE[2], linestyle="--", label=f"Trung vị: {median:g} giờ")
        if p90 is not None:
            ax.axhline(p90, color=PALETTE[1], linestyle="-.", label=f"Phân vị 90: {p90:g} giờ")
        if deadline is not None:
            ax.axhline(deadline, color=PALETTE[3], linestyle=":", label=f"Thời hạn: {deadline:g} giờ")
        ax.set_xlabel("Yêu cầu (sắp xếp theo thời gian xử lý)")
        ax.set_ylabel("Giờ")
        ax.set_title("Thời gian xử lý yêu cầu của cơ quan có thẩm quyền")
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(loc="upper left", frameon=False, fontsize=8)
        if not ordered:
            ax.text(0.5, 0.5, "Không có yêu cầu đã xử lý trong kỳ", transform=ax.transAxes, ha="center")
        return _svg(fig)
