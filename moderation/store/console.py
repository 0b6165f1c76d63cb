"""The moderators' console: local accounts, item claims and moderator notes (escalations).

Passwords are argon2 hashes; the TOTP secret is needed in clear to check codes (as every TOTP server keeps it) and
never leaves the service. A claim locks one queue item to one moderator until it expires: the unique constraint on
(item_type, item_id) is what stops two moderators from holding the same item, whatever the engine.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from moderation.store.base import ID, Base, new_id, utcnow


class User(Base):
    """A console account (moderator, senior_moderator, compliance_officer or admin)."""

    __tablename__ = "console_users"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("usr"))
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(30))
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column()
    last_login_at: Mapped[dt.datetime | None] = mapped_column()
    # Bumped on password change or lock: sessions carrying an older value are logged out.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Claim(Base):
    """An item locked to one moderator until ``expires_at`` (an abandoned claim simply expires)."""

    __tablename__ = "review_claims"
    __table_args__ = (UniqueConstraint("item_type", "item_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("clm"))
    item_type: Mapped[str] = mapped_column(String(30))  # decision | appeal | authority_request
    item_id: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[str] = mapped_column(String(40), index=True)
    username: Mapped[str] = mapped_column(String(100))
    claimed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)


class ModeratorNote(Base):
    """A note on a queue item; ``kind="escalation"`` sends the item to the senior moderators' queue."""

    __tablename__ = "moderator_notes"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_type: Mapped[str] = mapped_column(String(30))
    item_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="note")  # note | escalation
    user_id: Mapped[str] = mapped_column(String(40))
    username: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text, default="")
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
