"""The legal workflow's records: cases, strikes, sanctions, authority requests, notices and appeals.

Enumerated values are short strings with stable keys (no schema migration for a new value). Every row carries its
``platform_id``: each query filters on it, so one platform never sees another's objects.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from moderation.store.base import ID, Base, JSONType, new_id, utcnow
from moderation.store.models import SeqType


class Case(Base):
    """Violations by one author found together, decided once (Circular 05/2004 III.B.3.3).

    ``decision_id`` is the enforcement decision listing each violation and its outcome; ``assessment`` is the pure
    core's ``CaseDecision.to_json()`` as it was when decided.
    """

    __tablename__ = "cases"

    id: Mapped[str] = mapped_column(ID, primary_key=True)  # case_… from moderation.workflow.cases.case_id
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    author_id: Mapped[str | None] = mapped_column(String(200), index=True)
    blog_id: Mapped[str | None] = mapped_column(String(200), index=True)
    regime: Mapped[str] = mapped_column(String(100))  # the pack whose enforcement ladder applied
    opened_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str] = mapped_column(String(200), default="system")
    circumstances: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    sanction: Mapped[str | None] = mapped_column(String(30))  # warn | suspend | suspend_indefinite | None
    decision_id: Mapped[str | None] = mapped_column(String(40), index=True)
    purpose_blog: Mapped[bool] = mapped_column(Boolean, default=False)  # blog set up to spread this content
    assessment: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class CaseViolation(Base):
    """One violation of a case: a removal decision's category on one item, and its outcome."""

    __tablename__ = "case_violations"
    __table_args__ = (UniqueConstraint("decision_id", "category_id"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    decision_id: Mapped[str] = mapped_column(String(40), index=True)  # the removal decision that found it
    submission_id: Mapped[str | None] = mapped_column(String(40), index=True)
    category_id: Mapped[str] = mapped_column(String(100))
    post_kind: Mapped[str] = mapped_column(String(20), default="original")
    committed_at: Mapped[dt.datetime | None] = mapped_column()
    time_barred: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(30))
    rung_id: Mapped[str | None] = mapped_column(String(100))
    bracket: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # draft-decree bracket, information only


class Strike(Base):
    """A recorded, sanctioned violation on an author and blog; a reversed strike (appeal upheld) no longer counts."""

    __tablename__ = "strikes"
    __table_args__ = (
        Index("ix_strikes_platform_author", "platform_id", "author_id"),
        Index("ix_strikes_platform_blog", "platform_id", "blog_id"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)  # stk_… from moderation.workflow.enforcement.strike_id
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    author_id: Mapped[str | None] = mapped_column(String(200))
    blog_id: Mapped[str | None] = mapped_column(String(200))
    category_id: Mapped[str] = mapped_column(String(100))
    submission_id: Mapped[str] = mapped_column(String(40))
    decision_id: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(30))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    reversed: Mapped[bool] = mapped_column(Boolean, default=False)
    reversed_at: Mapped[dt.datetime | None] = mapped_column()


class Sanction(Base):
    """An account measure sent to the platform: a warning, or a suspension of a blog or author (limitation)."""

    __tablename__ = "sanctions"
    __table_args__ = (Index("ix_sanctions_subject", "platform_id", "target_type", "target_id"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("snc"))
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"))
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    decision_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(30))  # warn_author | suspend_blog | suspend_author
    target_type: Mapped[str] = mapped_column(String(20))  # author | blog
    target_id: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    until: Mapped[dt.datetime | None] = mapped_column()
    indefinite: Mapped[bool] = mapped_column(Boolean, default=False)
    lifted_at: Mapped[dt.datetime | None] = mapped_column()
    lifted_reason: Mapped[str | None] = mapped_column(Text)


class AuthorityRequest(Base):
    """A competent authority's request to block or remove content (Circular 07/2008 §5.4)."""

    __tablename__ = "authority_requests"
    __table_args__ = (UniqueConstraint("platform_id", "issuing_body", "document_number"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("auth"))
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    issuing_body: Mapped[str] = mapped_column(String(500))
    document_number: Mapped[str] = mapped_column(String(200))
    document_date: Mapped[dt.date] = mapped_column(Date)
    received_at: Mapped[dt.datetime] = mapped_column()
    due_at: Mapped[dt.datetime] = mapped_column(index=True)
    deadline_hours: Mapped[float] = mapped_column(Float)
    regime: Mapped[str] = mapped_column(String(100))
    legal_basis: Mapped[dict[str, Any]] = mapped_column(JSONType)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | complete
    alerted_at: Mapped[dt.datetime | None] = mapped_column()  # when the overdue alert was raised
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuthorityTarget(Base):
    """One post id or URL named by a request, the submission it resolved to and its removal decision."""

    __tablename__ = "authority_targets"
    __table_args__ = (UniqueConstraint("request_id", "position"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(ForeignKey("authority_requests.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(2000))
    submission_id: Mapped[str | None] = mapped_column(String(40))
    decision_id: Mapped[str | None] = mapped_column(String(40), index=True)
    status: Mapped[str] = mapped_column(String(20), default="unresolved")  # unresolved | decided | acted
    acted_at: Mapped[dt.datetime | None] = mapped_column()  # the platform confirmed the removal


class Notifier(Base):
    """Someone who sends notices, with counts of founded and unfounded ones (repeated bad-faith reports show)."""

    __tablename__ = "notifiers"
    __table_args__ = (UniqueConstraint("platform_id", "key"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("ntf"))
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    key: Mapped[str] = mapped_column(String(200))  # the platform's id for them, else their contact, lower-case
    name: Mapped[str] = mapped_column(String(500))
    capacity: Mapped[str] = mapped_column(String(30))
    notices: Mapped[int] = mapped_column(Integer, default=0)
    founded: Mapped[int] = mapped_column(Integer, default=0)
    unfounded: Mapped[int] = mapped_column(Integer, default=0)
    last_unfounded_at: Mapped[dt.datetime | None] = mapped_column()


class Notice(Base):
    """A notice about content from a user, an affected person, a rights holder or a trusted organisation."""

    __tablename__ = "notices"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("ntc"))
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    notifier_id: Mapped[str] = mapped_column(ForeignKey("notifiers.id"), index=True)
    notifier_name: Mapped[str] = mapped_column(String(500))
    notifier_contact: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[str] = mapped_column(String(30))
    category: Mapped[str | None] = mapped_column(String(100))
    explanation: Mapped[str] = mapped_column(Text)
    work: Mapped[dict[str, Any] | None] = mapped_column(JSONType)  # for IP claims: the work concerned
    good_faith: Mapped[bool] = mapped_column(Boolean, default=False)
    priority: Mapped[int] = mapped_column(Integer, default=50)
    status: Mapped[str] = mapped_column(String(20), default="triaged")  # triaged | decided
    outcome: Mapped[str | None] = mapped_column(String(20))  # actioned | rejected | not_found
    outcome_reason: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column()


class NoticeTarget(Base):
    __tablename__ = "notice_targets"
    __table_args__ = (UniqueConstraint("notice_id", "position"),)

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notices.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    target: Mapped[str] = mapped_column(String(2000))
    submission_id: Mapped[str | None] = mapped_column(String(40))
    decision_id: Mapped[str | None] = mapped_column(String(40), index=True)  # the review decision it created
    outcome: Mapped[str | None] = mapped_column(String(20))  # actioned | rejected | not_found | None (pending)


class Appeal(Base):
    """An author's complaint against a decision; the decision stays in force while it is pending."""

    __tablename__ = "appeals"

    id: Mapped[str] = mapped_column(ID, primary_key=True, default=lambda: new_id("apl"))
    platform_id: Mapped[str] = mapped_column(ForeignKey("platforms.id"), index=True)
    decision_id: Mapped[str] = mapped_column(String(40), index=True)
    appellant_id: Mapped[str] = mapped_column(String(200))
    grounds: Mapped[str] = mapped_column(Text)
    complex: Mapped[bool] = mapped_column(Boolean, default=False)
    filed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    due_at: Mapped[dt.datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | upheld | reversed
    moderator_id: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None] = mapped_column()
    late: Mapped[bool | None] = mapped_column(Boolean)
    superseding_decision_id: Mapped[str | None] = mapped_column(String(40))
