"""The records, in the domain's words.

Enumerated values (status, verdict, source …) are stored as short strings with stable keys, so a new value needs no
schema migration. Identifiers are opaque strings with a readable prefix; ``seq`` columns give a total order for
cursors and the audit chain.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from moderation.store.base import ID, Base, JSONType, new_id, utcnow

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class Platform(Base):
    """A tenant: a blog or social platform that sends content and receives decisions.

    The HMAC secret is kept as given: verifying an HMAC signature needs the shared secret itself (as with every
    webhook-signing scheme), so it cannot be stored as a one-way hash. It never appears in logs or API responses.
    """

    __tablename__ = "platforms"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("plt"))
    name: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[str] = mapped_column(String(128))
    callback_url: Mapped[str | None] = mapped_column(String(2000))
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # provider profile for reports
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Blog(Base):
    """An entry of the provider's blog registry (Circular 07/2008 §5.3)."""

    __tablename__ = "blogs"
    __table_args__ = (UniqueConstraint("platform_id", "external_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("blg"))
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    external_id: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(500), default="")
    display_name: Mapped[str] = mapped_column(String(500), default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when the platform says the blog was created
    registered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when we first heard of it
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class BlogStatusChange(Base):
    """Status history of a blog, so reports can count new, suspended and closed blogs in a period."""

    __tablename__ = "blog_status_changes"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    blog_id: Mapped[str] = mapped_column(ForeignKey("blogs.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    source: Mapped[str] = mapped_column(String(40), default="platform")


class Submission(Base):
    """One revision of one item the platform sent (post, comment or blog registration), exactly as sent."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("platform_id", "kind", "external_id", "revision"),
        Index("ix_submissions_status_updated", "status", "updated_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("sub"))
    # Found through the unique constraint in __table_args__, which starts with platform_id (no index of its own).
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"))
    kind: Mapped[str] = mapped_column(String(20))  # post | comment | blog
    external_id: Mapped[str] = mapped_column(String(200))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    blog_id: Mapped[str | None] = mapped_column(String(200), index=True)  # the platform's blog id
    author_id: Mapped[str | None] = mapped_column(String(200), index=True)  # the platform's author id
    post_id: Mapped[str | None] = mapped_column(String(200))  # for comments
    url: Mapped[str | None] = mapped_column(String(2000))
    fields: Mapped[dict[str, Any]] = mapped_column(JSONType)  # original text per field: title, body, name …
    body_format: Mapped[str] = mapped_column(String(10), default="text")
    links: Mapped[list[str]] = mapped_column(JSONType, default=list)
    post_kind: Mapped[str] = mapped_column(String(20), default="original")
    shared_from: Mapped[str | None] = mapped_column(String(2000))
    published_at: Mapped[dt.datetime | None] = mapped_column()
    language: Mapped[str] = mapped_column(String(10), default="vi")
    status: Mapped[str] = mapped_column(String(20), default="received")  # received|processing|decided|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column()

    platform: Mapped[Platform] = relationship(lazy="raise")


class Decision(Base):
    """A statement of reasons: what was decided about a submission, by whom, under which rule and law.

    Decisions are immutable; a correction is a new decision whose ``supersedes_id`` names the old one.
    ``dedupe_key`` is unique: the automated first decision of a submission uses the submission id, so two workers
    racing on one submission cannot both record one.
    """

    __tablename__ = "decisions"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(ID, unique=True, default=lambda: new_id("dec"))
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    submission_id: Mapped[str | None] = mapped_column(ForeignKey("submissions.id"), index=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    verdict: Mapped[str] = mapped_column(String(20))  # allow | review | remove
    action: Mapped[str] = mapped_column(String(20))  # remove | restrict | label | no_action | review
    labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    categories: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)  # Evaluation.to_record()
    pack_versions: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    source: Mapped[str] = mapped_column(String(30), default="automated")
    actor: Mapped[str] = mapped_column(String(200), default="system")
    automated_detection: Mapped[bool] = mapped_column(Boolean, default=True)
    automated_decision: Mapped[str] = mapped_column(String(20), default="fully")  # fully | partially | not
    reason: Mapped[str | None] = mapped_column(Text)
    supersedes_id: Mapped[str | None] = mapped_column(String(40), index=True)
    superseded_by_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    submission: Mapped[Submission | None] = relationship(lazy="raise")


class Delivery(Base):
    """A signed callback to the platform about a decision; every attempt is recorded."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("decision_id", "event"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("dlv"))
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    decision_id: Mapped[str] = mapped_column(String(40))
    event: Mapped[str] = mapped_column(String(40))  # decision.remove, decision.restore, …
    url: Mapped[str] = mapped_column(String(2000))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column()


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class Feedback(Base):
    """A platform's correction of a decision (Akismet submit-spam / submit-ham)."""

    __tablename__ = "feedback"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    submission_id: Mapped[str | None] = mapped_column(String(40), index=True)
    decision_id: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # spam | ham
    content_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit trail."""

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str] = mapped_column(String(200))
    platform_id: Mapped[str | None] = mapped_column(String(40), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
