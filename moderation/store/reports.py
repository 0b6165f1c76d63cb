"""Stored, frozen reports (Circular 07/2008/TT-BTTTT §6): every generation is kept as a new version.

``content`` is the frozen report's JSON (``moderation.reports.freeze.FrozenReport.to_json()``: content, its SHA-256
and the document details), so a stored report renders again to any format without the records, and its hash can be
checked at any time. ``changes`` lists what differs from the previous version of the same period and scope
(``moderation.reports.freeze.diff_reports``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from moderation.store.base import ID, Base, JSONType, new_id, utcnow

# The scope of a report across all of the provider's platforms (``platform_id`` NULL) in the unique key.
ALL_PLATFORMS = "*"


class Report(Base):
    """One generated version of a semiannual or ad-hoc report, for one platform or (``platform_id`` NULL) all."""

    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("scope", "kind", "period_key", "version"),
        Index("ix_reports_platform_period", "platform_id", "kind", "period_start"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("rpt"))
    platform_id: Mapped[str | None] = mapped_column(ForeignKey("platforms.id"))  # NULL: all platforms
    scope: Mapped[str] = mapped_column(String(40))  # platform id, or "*" for all platforms
    kind: Mapped[str] = mapped_column(String(20))  # semiannual | adhoc
    regime: Mapped[str] = mapped_column(String(100))
    period_key: Mapped[str] = mapped_column(String(100))  # 2024-H1, adhoc-2024-03-01-2024-03-31
    period_start: Mapped[dt.date] = mapped_column(Date)  # first day, inclusive (Vietnam time)
    period_end: Mapped[dt.date] = mapped_column(Date)  # last day, inclusive
    version: Mapped[int] = mapped_column(Integer, default=1)
    number: Mapped[str] = mapped_column(String(100), default="")  # printed after "Số:"
    generated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    generated_by: Mapped[str] = mapped_column(String(200), default="system")
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the frozen report's JSON
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)  # vs the previous version
    status: Mapped[str] = mapped_column(String(20), default="draft")  # draft | final
