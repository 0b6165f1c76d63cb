"""CSV rendering: one long table, one row per figure."""

from __future__ import annotations

import csv
import io

from moderation.reports.freeze import FrozenReport
from moderation.reports.labels import dimension_label, metric_label

COLUMNS = ("section", "metric", "dimension", "value", "unit", "label_vi", "dimension_vi", "id_kind", "ids")


def render_csv(report: FrozenReport) -> bytes:
    """Return ``section, metric, dimension, value`` (+ unit, Vietnamese labels and the ids behind) as UTF-8 CSV.

    Empty values are figures that cannot be computed (a median of nothing); ids are separated by spaces. The
    first line after the header identifies the report (its SHA-256), so a CSV can be matched to its PDF.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    content = report.content
    writer.writerow(("report", "sha256", "", report.sha256, "sha256", "Mã băm SHA-256 của báo cáo", "", "", ""))
    for fig in content["figures"]:
        writer.writerow(
            (
                fig["section"],
                fig["metric"],
                fig["dimension"],
                "" if fig["value"] is None else fig["value"],
                fig["unit"],
                metric_label(fig["section"], fig["metric"]),
                dimension_label(content, fig["section"], fig["metric"], fig["dimension"]),
                fig["id_kind"],
                " ".join(fig["ids"]),
            )
        )
    return out.getvalue().encode("utf-8")
