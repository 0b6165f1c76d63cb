"""Service-status announcements: planned maintenance and unplanned outages (Decree 64/2007/ND-CP Art. 16).

A provider announces planned interruptions at least seven working days ahead, and unplanned ones as soon as they
happen, with the expected recovery time. Announcements are public (``GET /v1/status``) and in Vietnamese and English.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, Text, or_, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from moderation.store.base import ID, Base, new_id, utcnow

KINDS = ("planned", "unplanned")
# What an announcement may name as affected.
COMPONENTS = ("api", "console", "classification", "callbacks", "reports", "status")


class Announcement(Base):
    """One interruption of service: ``planned`` (announced ahead) or ``unplanned`` (an outage, announced at once)."""

    __tablename__ = "status_announcements"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("ann"))
    kind: Mapped[str] = mapped_column(String(20))
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)
    ends_at: Mapped[dt.datetime | None] = mapped_column(index=True)  # None: not over yet (an open outage)
    expected_recovery: Mapped[dt.datetime | None] = mapped_column()
    message_vi: Mapped[str] = mapped_column(Text)
    message_en: Mapped[str] = mapped_column(Text, default="")
    components: Mapped[str] = mapped_column(String(200), default="")  # comma-separated: api,console,callbacks
    created_by: Mapped[str] = mapped_column(String(100), default="")
    # Planned work: working days between the announcement and the start (fewer than 7 only when forced, and shown).
    notice_working_days: Mapped[int | None] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column()


# The notice Decree 64/2007 Art. 16 asks for before a planned interruption.
PLANNED_NOTICE_WORKING_DAYS = 7


class AnnouncementError(ValueError):
    """An announcement that breaks a rule; ``field`` names the offending input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def validate_announcement(
    kind: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime | None,
    expected_recovery: dt.datetime | None,
    message_vi: str,
    *,
    now: dt.datetime,
    components: Sequence[str] = (),
    allow_late: bool = False,
    calendar: Any = None,
) -> int | None:
    """Raise ``AnnouncementError`` unless the announcement may be published at ``now``; return the notice given.

    Planned work must start at least seven Vietnamese working days after the day it is announced (the announcement
    day itself does not count) and must say when it ends; with ``allow_late`` a shorter notice is recorded and
    published as late instead of refused. An unplanned outage must give an expected recovery time. The return value
    is the number of working days of notice of planned work (``None`` for an outage).
    """
    from moderation.workflow.calendar import WorkingCalendar, local_date

    if kind not in KINDS:
        raise AnnouncementError("kind", f"kind must be one of {', '.join(KINDS)}")
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at), ("expected_recovery", expected_recovery)):
        if value is not None and value.tzinfo is None:
            raise AnnouncementError(name, f"{name} needs a timezone (Z or +07:00)")
    if not message_vi.strip():
        raise AnnouncementError("message_vi", "the Vietnamese message is required")
    unknown = sorted(set(components) - set(COMPONENTS))
    if unknown:
        raise AnnouncementError("components", f"unknown components {unknown}; use {', '.join(COMPONENTS)}")
    if ends_at is not None and ends_at <= starts_at:
        raise AnnouncementError("ends_at", "ends_at must be after starts_at")
    if kind == "unplanned":
        if expected_recovery is None:
            raise AnnouncementError("expected_recovery", "an unplanned outage must give its expected recovery time")
        if expected_recovery <= starts_at:
            raise AnnouncementError("expected_recovery", "expected_recovery must be after starts_at")
        return None
    if ends_at is None:
        raise AnnouncementError("ends_at", "planned maintenance must say when it ends")
    if starts_at <= now:
        raise AnnouncementError("starts_at", "planned maintenance must start in the future; announce an outage")
    cal = calendar or WorkingCalendar()
    notice = int(cal.working_days_between(local_date(now), local_date(starts_at)))
    if notice < PLANNED_NOTICE_WORKING_DAYS and not allow_late:
        earliest = cal.add_working_days(local_date(now), PLANNED_NOTICE_WORKING_DAYS)
        raise AnnouncementError(
            "starts_at",
            f"planned maintenance must be announced at least {PLANNED_NOTICE_WORKING_DAYS} working days ahead "
            f"(Decree 64/2007 Art. 16): this gives {notice}; the earliest start announced today is "
            f"{earliest.isoformat()} (force a late notice with allow_late)",
        )
    return notice


def announce(
    session: Session,
    kind: str,
    *,
    message_vi: str,
    message_en: str = "",
    starts_at: dt.datetime | None = None,
    ends_at: dt.datetime | None = None,
    expected_recovery: dt.datetime | None = None,
    components: Sequence[str] = (),
    created_by: str = "",
    allow_late: bool = False,
    now: dt.datetime | None = None,
    calendar: Any = None,
) -> Announcement:
    """Validate and record an announcement (an unplanned one starts ``now`` unless told otherwise)."""
    now = now or utcnow()
    starts_at = starts_at or now
    notice = validate_announcement(
        kind,
        starts_at,
        ends_at,
        expected_recovery,
        message_vi,
        now=now,
        components=components,
        allow_late=allow_late,
        calendar=calendar,
    )
    row = Announcement(
        kind=kind,
        starts_at=starts_at,
        ends_at=ends_at,
        expected_recovery=expected_recovery,
        message_vi=message_vi,
        message_en=message_en,
        components=",".join(components),
        created_by=created_by,
        created_at=now,
        notice_working_days=notice,
    )
    session.add(row)
    session.flush()
    return row


def _get(session: Session, announcement_id: str) -> Announcement:
    row = session.get(Announcement, announcement_id)
    if row is None or row.cancelled_at is not None:
        raise AnnouncementError("id", f"no announcement {announcement_id}")
    return row


def end(session: Session, announcement_id: str, *, now: dt.datetime | None = None) -> Announcement:
    """Mark an outage (or maintenance under way) over now; work that has not started is cancelled instead."""
    now = now or utcnow()
    row = _get(session, announcement_id)
    if row.starts_at > now:
        raise AnnouncementError("id", "this has not started yet: cancel it instead")
    if row.ends_at is None or row.ends_at > now:
        row.ends_at = now
    return row


def update(
    session: Session,
    announcement_id: str,
    *,
    expected_recovery: dt.datetime | None = None,
    message_vi: str | None = None,
    message_en: str | None = None,
) -> Announcement:
    """Revise an announcement: a new expected recovery time for an outage, or new wording."""
    row = _get(session, announcement_id)
    if expected_recovery is not None:
        if expected_recovery.tzinfo is None:
            raise AnnouncementError("expected_recovery", "expected_recovery needs a timezone (Z or +07:00)")
        if expected_recovery <= row.starts_at:
            raise AnnouncementError("expected_recovery", "expected_recovery must be after starts_at")
        row.expected_recovery = expected_recovery
    if message_vi is not None:
        if not message_vi.strip():
            raise AnnouncementError("message_vi", "the Vietnamese message is required")
        row.message_vi = message_vi
    if message_en is not None:
        row.message_en = message_en
    return row


def cancel(session: Session, announcement_id: str, *, now: dt.datetime | None = None) -> Announcement:
    """Withdraw an announcement (planned work that will not happen); it disappears from the status page."""
    row = _get(session, announcement_id)
    row.cancelled_at = now or utcnow()
    return row


def current_and_upcoming(
    session: Session, now: dt.datetime | None = None, horizon_days: int = 60
) -> tuple[list[Announcement], list[Announcement]]:
    """Announcements in force at ``now``, and those starting within ``horizon_days``."""
    now = now or utcnow()
    live = select(Announcement).where(Announcement.cancelled_at.is_(None))
    current = session.scalars(
        live.where(
            Announcement.starts_at <= now, or_(Announcement.ends_at.is_(None), Announcement.ends_at > now)
        ).order_by(Announcement.starts_at)
    ).all()
    upcoming = session.scalars(
        live.where(
            Announcement.starts_at > now, Announcement.starts_at <= now + dt.timedelta(days=horizon_days)
        ).order_by(Announcement.starts_at)
    ).all()
    return list(current), list(upcoming)


def announcement_json(row: Announcement) -> dict[str, Any]:
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": row.id,
        "kind": row.kind,
        "starts_at": iso(row.starts_at),
        "ends_at": iso(row.ends_at),
        "expected_recovery": iso(row.expected_recovery),
        "message_vi": row.message_vi,
        "message_en": row.message_en,
        "components": [c for c in row.components.split(",") if c],
        "announced_at": iso(row.created_at),
        "notice_working_days": row.notice_working_days,
        "late_notice": row.notice_working_days is not None and row.notice_working_days < PLANNED_NOTICE_WORKING_DAYS,
    }
