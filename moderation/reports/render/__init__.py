"""Renderers of a frozen report: PDF (WeasyPrint), XLSX (openpyxl), CSV and JSON.

Each takes a :class:`~moderation.reports.freeze.FrozenReport` and returns bytes, so a stored report can be
rendered again at any time without the records.
"""

from __future__ import annotations

from collections.abc import Callable

from moderation.reports.freeze import FrozenReport

FORMATS = ("pdf", "xlsx", "csv", "json")


def renderer(fmt: str) -> Callable[[FrozenReport], bytes]:
    """Return the renderer for ``fmt``, importing it only when asked (WeasyPrint and matplotlib are heavy)."""
    if fmt == "pdf":
        from moderation.reports.render.pdf import render_pdf

        return render_pdf
    if fmt == "xlsx":
        from moderation.reports.render.xlsx import render_xlsx

        return render_xlsx
    if fmt == "csv":
        from moderation.reports.render.csv import render_csv

        return render_csv
    if fmt == "json":
        from moderation.reports.render.json import render_json

        return render_json
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
