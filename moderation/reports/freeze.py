"""Freeze a report (numbers, ids behind them, pack versions, SHA-256) and compare two frozen reports.

A frozen report is ``{"content": ..., "sha256": ..., "document": ...}``. ``content`` is everything computed from
the records (period, cut-off, profile, figures with their ids, pack versions, extra tables, checks, input digest)
and ``sha256`` is the SHA-256 of its canonical JSON, so regenerating the same period from the same records gives
the same hash. ``document`` holds what belongs to the signed paper but not to the numbers (report number, date,
generation time) and is outside the hash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from moderation.reports.aggregate import Report, canonical_json

REPORT_FORMAT = "vn-moderation/frozen-report/1"


class ReportIntegrityError(ValueError):
    """A stored report's content does not match its SHA-256."""


@dataclass(frozen=True, slots=True)
class FrozenReport:
    """A report as signed: content, its hash, and the document's own details."""

    content: Mapping[str, Any]
    sha256: str
    document: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "sha256": self.sha256,
            "document": dict(self.document),
            "content": dict(self.content),
        }

    @property
    def figures(self) -> list[dict[str, Any]]:
        return list(self.content["figures"])

    def value(self, section: str, metric: str, dimension: str = "") -> Any:
        for fig in self.content["figures"]:
            if (fig["section"], fig["metric"], fig["dimension"]) == (section, metric, dimension):
                return fig["value"]
        raise KeyError((section, metric, dimension))


def content_sha256(content: Mapping[str, Any]) -> str:
    """Return the SHA-256 of the content's canonical JSON."""
    return hashlib.sha256(canonical_json(content)).hexdigest()


def freeze(
    report: Report,
    *,
    number: str = "",
    report_date: date | None = None,
    generated_at: datetime | None = None,
) -> FrozenReport:
    """Freeze ``report``; ``number`` and ``report_date`` are printed on the document (outside the hash)."""
    content = report.content()
    document = {
        "number": number,
        "date": report_date.isoformat() if report_date else None,
        "generated_at": generated_at.isoformat() if generated_at else None,
    }
    return FrozenReport(content=content, sha256=content_sha256(content), document=document)


def load_frozen(data: Mapping[str, Any]) -> FrozenReport:
    """Rebuild a frozen report from its JSON and check its hash."""
    if data.get("format") != REPORT_FORMAT:
        raise ValueError(f"not a frozen report (format {data.get('format')!r})")
    content = data["content"]
    actual = content_sha256(content)
    if actual != data["sha256"]:
        raise ReportIntegrityError(f"content hashes to {actual}, the report says {data['sha256']}")
    return FrozenReport(content=content, sha256=actual, document=data.get("document", {}))


@dataclass(frozen=True, slots=True)
class Difference:
    """One change between two reports: a figure (with the ids that came and went) or another part of the content."""

    section: str
    metric: str
    dimension: str
    old: Any
    new: Any
    ids_added: tuple[str, ...] = ()
    ids_removed: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "metric": self.metric,
            "dimension": self.dimension,
            "old": self.old,
            "new": self.new,
            "ids_added": list(self.ids_added),
            "ids_removed": list(self.ids_removed),
        }

    def __str__(self) -> str:
        where = "/".join(p for p in (self.section, self.metric, self.dimension) if p)
        extra = ""
        if self.ids_added or self.ids_removed:
            extra = f" (+{list(self.ids_added)} -{list(self.ids_removed)})"
        return f"{where}: {self.old!r} -> {self.new!r}{extra}"


_COMPARED = (
    "period",
    "as_of",
    "platform_id",
    "profile",
    "pack_versions",
    "extra_tables",
    "checks",
    "categories",
    "input_sha256",
)


def diff_reports(old: FrozenReport | Mapping[str, Any], new: FrozenReport | Mapping[str, Any]) -> list[Difference]:
    """List what differs between two reports: figures (value or ids), then the other parts of the content.

    Accepts frozen reports or their JSON. An empty list means the reports carry the same numbers and ids.
    """
    old_c = _content(old)
    new_c = _content(new)
    diffs: list[Difference] = []

    def index(content: Mapping[str, Any]) -> dict[tuple[str, str, str], Mapping[str, Any]]:
        return {(f["section"], f["metric"], f["dimension"]): f for f in content["figures"]}

    old_f, new_f = index(old_c), index(new_c)
    for key in sorted(old_f.keys() | new_f.keys()):
        a, b = old_f.get(key), new_f.get(key)
        a_ids = set(a["ids"]) if a else set()
        b_ids = set(b["ids"]) if b else set()
        a_val = a["value"] if a else None
        b_val = b["value"] if b else None
        if a is None or b is None or a_val != b_val or a_ids != b_ids:
            diffs.append(Difference(*key, a_val, b_val, tuple(sorted(b_ids - a_ids)), tuple(sorted(a_ids - b_ids))))
    for part in _COMPARED:
        if old_c.get(part) != new_c.get(part):
            diffs.append(Difference("content", part, "", old_c.get(part), new_c.get(part)))
    return diffs


def _content(report: FrozenReport | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(report, FrozenReport):
        return report.content
    if "content" in report:
        return load_frozen(report).content
    return report
