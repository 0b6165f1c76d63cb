"""Human review: console accounts, queues, claims and moderators' decisions.

Plain functions over a SQLAlchemy session, so the console views (and the CLI, and tests) are thin adapters.
A moderator's decision never edits the automated one: it records a new ``Decision`` that supersedes it, through the
workflow service's ``supersede`` (which audits it and schedules the platform's callback).
The unique ``dedupe_key`` ``review:<decision id>`` makes a second decision on the same item fail, whatever races.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import ColumnElement, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from moderation.errors import ApiError
from moderation.services import audit
from moderation.services import notices as notices_service
from moderation.services import workflow as workflow_services
from moderation.services.enforcement import apply_enforcement
from moderation.store.base import utcnow
from moderation.store.console import Claim, ModeratorNote, User
from moderation.store.models import AuditEntry, Blog, Decision, Platform, Submission
from moderation.store.workflow import Appeal, AuthorityRequest, Notice, NoticeTarget, Notifier, Strike

log = logging.getLogger(__name__)
VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# --------------------------------------------------------------------------------------------------------------------
# Roles and permissions

ROLES = ("moderator", "senior_moderator", "compliance_officer", "admin")

# permission -> roles that hold it. Admin holds everything; a compliance officer does not review content.
PERMISSIONS: dict[str, frozenset[str]] = {
    "review": frozenset({"moderator", "senior_moderator", "admin"}),
    "escalated": frozenset({"senior_moderator", "admin"}),
    "appeals": frozenset({"senior_moderator", "admin"}),
    "override": frozenset({"senior_moderator", "admin"}),
    "authority": frozenset({"compliance_officer", "admin"}),
    "reports": frozenset({"compliance_officer", "admin"}),
    "registry": frozenset({"compliance_officer", "senior_moderator", "admin"}),
    "audit": frozenset({"compliance_officer", "admin"}),
    "notices": frozenset({"compliance_officer", "senior_moderator", "admin"}),
    "users": frozenset({"admin"}),
    "platforms": frozenset({"admin"}),
    "packs": frozenset({"admin"}),
}


def can(role: str | None, permission: str) -> bool:
    """Return whether ``role`` holds ``permission`` (unknown permissions are held by nobody)."""
    return role is not None and role in PERMISSIONS.get(permission, frozenset())


class ReviewError(ValueError):
    """A request the service refuses; ``code`` is stable (for the UI's messages and the tests)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    @classmethod
    def from_api(cls, exc: ApiError) -> ReviewError:
        """The same refusal the API would answer (its code, message and field), for the console's forms."""
        return cls(exc.code, exc.message, exc.field)


# --------------------------------------------------------------------------------------------------------------------
# Accounts

MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# Verified against when the username is unknown, so a missing account costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    totp: bool = False,
    display_name: str = "",
    actor: str = "system:cli",
) -> tuple[User, str | None]:
    """Create a console account; return it and the TOTP secret when one was made (shown once)."""
    username = username.strip().lower()
    if not _USERNAME.match(username):
        raise ReviewError("invalid_username", "username: 2-63 characters, a-z 0-9 . _ -")
    if role not in ROLES:
        raise ReviewError("invalid_role", f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ReviewError("weak_password", f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalars(select(User).where(User.username == username)).first() is not None:
        raise ReviewError("username_taken", f"user {username!r} exists")
    secret = None
    if totp:
        import pyotp

        secret = pyotp.random_base32()
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        role=role,
        totp_secret=secret,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        object_type="user",
        object_id=user.id,
        details={"username": username, "role": role, "totp": totp},
    )
    return user, secret


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    error: str | None = None  # bad_credentials | locked | totp_required | bad_totp | inactive

    @property
    def ok(self) -> bool:
        return self.user is not None and self.error is None


def authenticate(
    session: Session,
    username: str,
    password: str,
    totp_code: str | None = None,
    *,
    now: dt.datetime | None = None,
    remote: str | None = None,
) -> LoginResult:
    """Check a login; count failures and lock the account for ``LOCKOUT`` after ``MAX_FAILED_LOGINS`` in a row.

    Every attempt is audited (never the password or the code). A locked account is refused even with the right
    password, and says so only after the password was checked (no oracle for guessing usernames).
    """
    now = now or utcnow()
    username = (username or "").strip().lower()
    user = session.scalars(select(User).where(User.username == username)).first() if username else None
    if user is None:
        _verify(_DUMMY_HASH, password)
        _audit_login(session, username or "?", None, "login.failed", {"reason": "bad_credentials", "remote": remote})
        return LoginResult(None, "bad_credentials")
    if user.locked_until is not None and user.locked_until > now:
        _audit_login(session, user.username, user.id, "login.refused", {"reason": "locked", "remote": remote})
        return LoginResult(None, "locked")
    if not _verify(user.password_hash, password):
        return _failure(session, user, now, "bad_credentials", remote)
    if not user.active:
        _audit_login(session, user.username, user.id, "login.refused", {"reason": "inactive", "remote": remote})
        return LoginResult(None, "inactive")
    if user.totp_secret:
        if not totp_code:
            return LoginResult(None, "totp_required")
        import pyotp

        if not pyotp.TOTP(user.totp_secret).verify(totp_code.strip(), for_time=now, valid_window=1):
            return _failure(session, user, now, "bad_totp", remote)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    _audit_login(session, user.username, user.id, "login.success", {"remote": remote})
    return LoginResult(user)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _failure(session: Session, user: User, now: dt.datetime, reason: str, remote: str | None) -> LoginResult:
    user.failed_logins += 1
    details: dict[str, Any] = {"reason": reason, "failures": user.failed_logins, "remote": remote}
    if user.failed_logins >= MAX_FAILED_LOGINS:
        user.locked_until = now + LOCKOUT
        user.failed_logins = 0
        user.session_version += 1
        details["locked_until"] = user.locked_until.isoformat()
        _audit_login(session, user.username, user.id, "user.lock", details)
        return LoginResult(None, "locked")
    _audit_login(session, user.username, user.id, "login.failed", details)
    return LoginResult(None, reason)


def _audit_login(session: Session, username: str, user_id: str | None, action: str, details: dict[str, Any]) -> None:
    audit.record(
        session,
        actor=f"user:{username}",
        action=action,
        object_type="user",
        object_id=user_id or username,
        details={k: v for k, v in details.items() if v is not None},
    )


def unlock_user(session: Session, user: User, actor: str) -> None:
    user.locked_until = None
    user.failed_logins = 0
    audit.record(session, actor=actor, action="user.unlock", object_type="user", object_id=user.id, details={})


# --------------------------------------------------------------------------------------------------------------------
# Claims

CLAIM_TTL = dt.timedelta(minutes=15)


def active_claim(session: Session, item_type: str, item_id: str, now: dt.datetime | None = None) -> Claim | None:
    now = now or utcnow()
    claim = session.scalars(select(Claim).where(Claim.item_type == item_type, Claim.item_id == item_id)).first()
    if claim is None or claim.expires_at <= now:
        return None
    return claim


def claim_item(
    session: Session,
    user: User,
    item_type: str,
    item_id: str,
    *,
    now: dt.datetime | None = None,
    ttl: dt.timedelta = CLAIM_TTL,
) -> Claim:
    """Lock an item to ``user`` until now + ``ttl`` (renewing their own claim); refuse if someone else holds it."""
    now = now or utcnow()
    existing = session.scalars(select(Claim).where(Claim.item_type == item_type, Claim.item_id == item_id)).first()
    if existing is not None:
        if existing.user_id == user.id or existing.expires_at <= now:
            taken_over = existing.user_id != user.id
            existing.user_id, existing.username = user.id, user.username
            existing.claimed_at = existing.claimed_at if not taken_over else now
            existing.expires_at = now + ttl
            session.flush()
            if taken_over:
                _audit_claim(session, user, "claim.create", item_type, item_id, details={"replaced_expired": True})
            return existing
        raise ReviewError("claimed", f"{existing.username} is working on this item")
    claim = Claim(
        item_type=item_type,
        item_id=item_id,
        user_id=user.id,
        username=user.username,
        claimed_at=now,
        expires_at=now + ttl,
    )
    try:
        with session.begin_nested():
            session.add(claim)
    except IntegrityError:
        # Another moderator's claim was committed between our read and our insert.
        other = session.scalars(select(Claim).where(Claim.item_type == item_type, Claim.item_id == item_id)).first()
        holder = other.username if other is not None else "another moderator"
        raise ReviewError("claimed", f"{holder} is working on this item") from None
    expires = claim.expires_at.isoformat()
    _audit_claim(session, user, "claim.create", item_type, item_id, details={"expires_at": expires})
    return claim


def release_claim(session: Session, user: User, item_type: str, item_id: str, *, force: bool = False) -> bool:
    """Release ``user``'s claim (or anyone's with ``force``); return whether one was released."""
    query = delete(Claim).where(Claim.item_type == item_type, Claim.item_id == item_id)
    if not force:
        query = query.where(Claim.user_id == user.id)
    released = bool(session.execute(query).rowcount)  # type: ignore[attr-defined]
    if released:
        _audit_claim(session, user, "claim.release", item_type, item_id, details={"force": force})
    return released


def expire_claims(session: Session, now: dt.datetime | None = None) -> int:
    """Delete the claims past their expiry; return how many."""
    now = now or utcnow()
    return int(session.execute(delete(Claim).where(Claim.expires_at <= now)).rowcount)  # type: ignore[attr-defined]


def _audit_claim(
    session: Session, user: User, action: str, item_type: str, item_id: str, *, details: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor=f"user:{user.username}",
        action=action,
        object_type=item_type,
        object_id=item_id,
        details=details,
    )


# --------------------------------------------------------------------------------------------------------------------
# The review queue

REVIEW_SLA = dt.timedelta(hours=24)  # Decree 147/2024: 24 h for authority requests; we hold reviews to the same


@dataclass
class QueueItem:
    """One line of a queue, with what the moderator needs to pick it."""

    item_type: str
    id: str
    platform_id: str
    platform_name: str
    created_at: dt.datetime
    deadline: dt.datetime | None
    severity: int
    categories: list[str]
    packs: list[str]
    summary: str
    author_id: str | None = None
    blog_id: str | None = None
    claimed_by: str | None = None
    claim_expires_at: dt.datetime | None = None
    escalated: bool = False
    duplicates: int = 0  # other open items with the same text
    content_key: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def age(self, now: dt.datetime) -> dt.timedelta:
        return now - self.created_at

    def overdue(self, now: dt.datetime) -> bool:
        return self.deadline is not None and self.deadline < now


@dataclass(frozen=True)
class QueueFilter:
    platform_id: str | None = None
    category: str | None = None
    pack: str | None = None
    min_age_hours: float | None = None
    escalated: bool = False  # the senior moderators' queue

    @classmethod
    def from_args(cls, args: Mapping[str, str], *, escalated: bool = False) -> QueueFilter:
        age = args.get("age") or ""
        try:
            min_age = float(age) if age else None
        except ValueError:
            min_age = None
        return cls(
            platform_id=args.get("platform") or None,
            category=args.get("category") or None,
            pack=args.get("pack") or None,
            min_age_hours=min_age,
            escalated=escalated,
        )


@dataclass
class Queue:
    items: list[QueueItem]
    total: int
    oldest: dt.datetime | None
    overdue: int
    categories: list[str]
    packs: list[str]
    platforms: list[tuple[str, str]]

    def oldest_age(self, now: dt.datetime) -> dt.timedelta | None:
        return None if self.oldest is None else now - self.oldest


def content_key(fields: Mapping[str, Any]) -> str:
    """Return a key equal for the same text up to case, spacing and Unicode form (duplicates across accounts)."""
    text = " ".join(str(fields.get(k) or "") for k in ("title", "body", "name", "display_name"))
    norm = " ".join(unicodedata.normalize("NFC", text).casefold().split())
    return hashlib.sha256(norm.encode()).hexdigest()[:32]


def _summary(fields: Mapping[str, Any], limit: int = 140) -> str:
    text = str(fields.get("title") or fields.get("body") or fields.get("display_name") or fields.get("name") or "")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _escalated_ids(session: Session, item_type: str) -> set[str]:
    rows = session.scalars(
        select(ModeratorNote.item_id).where(
            ModeratorNote.item_type == item_type, ModeratorNote.kind == "escalation", ModeratorNote.resolved.is_(False)
        )
    )
    return set(rows)


def open_review_rows(session: Session, platform_id: str | None = None) -> list[tuple[Decision, Submission | None]]:
    query = (
        select(Decision, Submission)
        .outerjoin(Submission, Submission.id == Decision.submission_id)
        .where(Decision.verdict == "review", Decision.superseded_by_id.is_(None))
        .order_by(Decision.created_at)
    )
    if platform_id:
        query = query.where(Decision.platform_id == platform_id)
    return [(d, s) for d, s in session.execute(query)]


def review_queue(session: Session, flt: QueueFilter | None = None, *, now: dt.datetime | None = None) -> Queue:
    """Return the open review items, most urgent first: by deadline, then severity (highest first), then age."""
    flt = flt or QueueFilter()
    now = now or utcnow()
    rows = open_review_rows(session, flt.platform_id)
    escalated = _escalated_ids(session, "decision")
    claims = {
        c.item_id: c
        for c in session.scalars(select(Claim).where(Claim.item_type == "decision", Claim.expires_at > now))
    }
    platforms = dict(session.execute(select(Platform.id, Platform.name)).all())
    all_items: list[QueueItem] = []
    for decision, sub in rows:
        cats = [c for c in decision.categories or [] if c.get("mode", "enforce") == "enforce"]
        fields = sub.fields if sub is not None else {}
        claim = claims.get(decision.id)
        item = QueueItem(
            item_type="decision",
            id=decision.id,
            platform_id=decision.platform_id,
            platform_name=platforms.get(decision.platform_id, decision.platform_id),
            created_at=decision.created_at,
            deadline=decision.created_at + REVIEW_SLA,
            severity=max((int(c.get("severity") or 1) for c in cats), default=0),
            categories=sorted({str(c.get("id")) for c in cats}),
            packs=sorted({str(p) for p in (decision.pack_versions or {})}),
            summary=_summary(fields),
            author_id=sub.author_id if sub is not None else None,
            blog_id=sub.blog_id if sub is not None else None,
            claimed_by=claim.username if claim else None,
            claim_expires_at=claim.expires_at if claim else None,
            escalated=decision.id in escalated,
            content_key=content_key(fields) if fields else "",
        )
        all_items.append(item)
    # Only escalated items in the senior queue; only non-escalated ones in the moderators' queue.
    scoped = [i for i in all_items if i.escalated == flt.escalated]
    by_key: dict[str, int] = {}
    for i in scoped:
        if i.content_key:
            by_key[i.content_key] = by_key.get(i.content_key, 0) + 1
    for i in scoped:
        i.duplicates = by_key.get(i.content_key, 1) - 1 if i.content_key else 0
    categories = sorted({c for i in scoped for c in i.categories})
    packs = sorted({p for i in scoped for p in i.packs})
    items = [
        i
        for i in scoped
        if (flt.category is None or flt.category in i.categories)
        and (flt.pack is None or flt.pack in i.packs)
        and (flt.min_age_hours is None or i.age(now) >= dt.timedelta(hours=flt.min_age_hours))
    ]
    items.sort(key=lambda i: (i.deadline or dt.datetime.max.replace(tzinfo=dt.UTC), -i.severity, i.created_at))
    return Queue(
        items=items,
        total=len(items),
        oldest=min((i.created_at for i in items), default=None),
        overdue=sum(1 for i in items if i.overdue(now)),
        categories=categories,
        packs=packs,
        platforms=sorted(platforms.items(), key=lambda kv: kv[1]),
    )


def queue_counts(session: Session, now: dt.datetime | None = None) -> dict[str, int]:
    """Counts for the navigation bar: open review items, escalated items, pending appeals and authority requests."""
    now = now or utcnow()
    rows = open_review_rows(session)
    escalated = _escalated_ids(session, "decision")
    n_esc = sum(1 for d, _ in rows if d.id in escalated)
    counts = {"review": len(rows) - n_esc, "escalated": n_esc}
    counts["appeals"] = len(pending_appeals(session, now=now))
    counts["authority"] = len(pending_authority_requests(session, now=now))
    return counts


# --------------------------------------------------------------------------------------------------------------------
# Item view


@dataclass
class Highlighted:
    """A field's original text cut into plain and marked segments (the template escapes every segment)."""

    field: str
    segments: list[tuple[str, list[str] | None]]  # (text, category ids when marked)


def highlight(text: str, spans: Iterable[Mapping[str, Any]], field_name: str) -> Highlighted:
    """Cut ``text`` at the evidence spans of ``field_name`` (offsets into the original text; overlaps merged)."""
    marks: list[tuple[int, int, str]] = []
    for sp in spans:
        if sp.get("field") != field_name:
            continue
        start, end = int(sp.get("start", 0)), int(sp.get("end", 0))
        start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
        if end > start:
            marks.append((start, end, str(sp.get("category") or "")))
    if not marks:
        return Highlighted(field_name, [(text, None)])
    marks.sort()
    merged: list[tuple[int, int, list[str]]] = []
    for start, end, cat in marks:
        if merged and start <= merged[-1][1]:
            last = merged[-1]
            cats = last[2] if cat in last[2] or not cat else [*last[2], cat]
            merged[-1] = (last[0], max(last[1], end), cats)
        else:
            merged.append((start, end, [cat] if cat else []))
    segments: list[tuple[str, list[str] | None]] = []
    pos = 0
    for start, end, cats in merged:
        if start > pos:
            segments.append((text[pos:start], None))
        segments.append((text[start:end], cats))
        pos = end
    if pos < len(text):
        segments.append((text[pos:], None))
    return Highlighted(field_name, segments)


@dataclass
class ItemView:
    decision: Decision
    submission: Submission | None
    platform: Platform | None
    fields: list[Highlighted]
    categories: list[dict[str, Any]]
    links: list[dict[str, Any]]
    impersonation: list[dict[str, Any]]
    works: list[dict[str, Any]]
    duplicates: list[QueueItem]
    author_history: list[Decision]
    blog_history: list[Decision]
    strikes: list[dict[str, Any]]
    blog: Blog | None
    claim: Claim | None
    deadline: dt.datetime | None
    escalations: list[ModeratorNote]
    chain: list[Decision]  # this decision and those superseding it, oldest first
    reasons: list[str]
    notices: list[NoticeSummary] = field(default_factory=list)  # notices naming this item, with their notifiers


FIELD_ORDER = ("title", "display_name", "name", "url", "body")


def item_view(session: Session, decision_id: str, *, now: dt.datetime | None = None) -> ItemView:
    """Gather everything the item page shows about one decision."""
    now = now or utcnow()
    decision = session.scalars(select(Decision).where(Decision.id == decision_id)).first()
    if decision is None:
        raise ReviewError("not_found", "no such item")
    sub = session.get(Submission, decision.submission_id) if decision.submission_id else None
    platform = session.get(Platform, decision.platform_id)
    evaluation = decision.evaluation or {}
    categories = [dict(c) for c in (evaluation.get("categories") or decision.categories or [])]
    spans = [{**sp, "category": c.get("id")} for c in categories for sp in c.get("evidence") or []]
    fields_src = dict(sub.fields) if sub is not None else {}
    ordered = sorted(fields_src, key=lambda f: (FIELD_ORDER.index(f) if f in FIELD_ORDER else 99, f))
    fields = [highlight(str(fields_src[f]), spans, f) for f in ordered]
    signals = list(evaluation.get("signals") or [])
    links = [s for s in signals if s.get("kind") == "link"]
    impersonation = [s for s in signals if s.get("kind") == "impersonation"]
    works = [s for s in signals if s.get("kind") in {"work_match", "near_duplicate"}]
    duplicates: list[QueueItem] = []
    if sub is not None:
        key = content_key(sub.fields)
        for d, s in open_review_rows(session, decision.platform_id):
            if d.id != decision.id and s is not None and content_key(s.fields) == key:
                duplicates.append(
                    QueueItem(
                        item_type="decision",
                        id=d.id,
                        platform_id=d.platform_id,
                        platform_name="",
                        created_at=d.created_at,
                        deadline=d.created_at + REVIEW_SLA,
                        severity=0,
                        categories=[],
                        packs=[],
                        summary=_summary(s.fields),
                        author_id=s.author_id,
                        blog_id=s.blog_id,
                    )
                )
    author_history = _history(session, decision, Submission.author_id, sub.author_id if sub else None)
    blog_history = _history(session, decision, Submission.blog_id, sub.blog_id if sub else None)
    blog = None
    if sub is not None and sub.blog_id:
        blog = session.scalars(
            select(Blog).where(Blog.platform_id == decision.platform_id, Blog.external_id == sub.blog_id)
        ).first()
    strikes = strikes_for(session, decision.platform_id, sub.author_id if sub else None, sub.blog_id if sub else None)
    escalations = list(
        session.scalars(
            select(ModeratorNote)
            .where(ModeratorNote.item_type == "decision", ModeratorNote.item_id == decision.id)
            .order_by(ModeratorNote.seq)
        )
    )
    chain = [decision]
    seen = {decision.id}
    while chain[-1].superseded_by_id and chain[-1].superseded_by_id not in seen:
        nxt = session.scalars(select(Decision).where(Decision.id == chain[-1].superseded_by_id)).first()
        if nxt is None:
            break
        seen.add(nxt.id)
        chain.append(nxt)
    return ItemView(
        decision=decision,
        submission=sub,
        platform=platform,
        fields=fields,
        categories=categories,
        links=links,
        impersonation=impersonation,
        works=works,
        duplicates=duplicates,
        author_history=author_history,
        blog_history=blog_history,
        strikes=strikes,
        blog=blog,
        claim=active_claim(session, "decision", decision.id, now),
        deadline=decision.created_at + REVIEW_SLA if decision.verdict == "review" else None,
        escalations=escalations,
        chain=chain,
        reasons=reasons_for(categories),
        notices=notices_on_item(session, sub.id if sub is not None else None, [d.id for d in chain], now=now),
    )


def _history(session: Session, decision: Decision, column: Any, value: str | None, limit: int = 20) -> list[Decision]:
    if not value:
        return []
    query = (
        select(Decision)
        .join(Submission, Submission.id == Decision.submission_id)
        .where(
            Decision.platform_id == decision.platform_id,
            column == value,
            Decision.id != decision.id,
            Decision.superseded_by_id.is_(None),
            or_(Decision.submission_id != decision.submission_id, Decision.submission_id.is_(None)),
        )
        .order_by(Decision.created_at.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


# Standard reasons a moderator can pick, per outcome; the category's own name and citation are added to them.
STANDARD_REASONS = {
    "uphold": [
        "Nội dung vi phạm như phát hiện tự động: bằng chứng rõ ràng",
        "Đăng lại nội dung đã bị gỡ (trùng lặp từ nhiều tài khoản)",
    ],
    "reject": [
        "Trích dẫn, đưa tin hoặc thảo luận pháp luật, không vi phạm",
        "Không có đối tượng cụ thể bị xúc phạm",
        "Phát hiện sai: từ ngữ có nghĩa khác trong ngữ cảnh",
    ],
    "escalate": ["Cần ý kiến của kiểm duyệt viên cấp cao", "Nghi có yêu cầu của cơ quan có thẩm quyền"],
}


def reasons_for(categories: Sequence[Mapping[str, Any]]) -> list[str]:
    """The reasons offered for an uphold: one per category (its name and the law it cites)."""
    out = []
    for c in categories:
        if c.get("mode", "enforce") != "enforce":
            continue
        name = c.get("name_vi") or c.get("id")
        out.append(f"{name} — {citation_label(c.get('citation') or {})}")
    return out


def citation_label(citation: Mapping[str, Any]) -> str:
    """Render a citation the way Vietnamese legal texts write it (``điểm a khoản 1 Điều 6 Nghị định 97/2008``)."""
    parts = []
    if citation.get("point"):
        parts.append(f"điểm {citation['point']}")
    if citation.get("clause"):
        parts.append(f"khoản {citation['clause']}")
    if citation.get("article"):
        parts.append(f"Điều {citation['article']}")
    if citation.get("instrument"):
        parts.append(str(citation["instrument"]))
    return " ".join(parts) or "—"


# --------------------------------------------------------------------------------------------------------------------
# Deciding

OUTCOMES = ("uphold", "reject", "escalate")
UPHOLD_ACTIONS = ("remove", "restrict", "label")
MAX_REASON = 2000
# What the platform is told for each outcome: (verdict, action). ``restrict`` is a violation the platform limits
# rather than deletes, so it keeps the ``remove`` verdict (it counts as a violation in reports).
_OUTCOME_VERDICT = {
    ("uphold", "remove"): ("remove", "remove"),
    ("uphold", "restrict"): ("remove", "restrict"),
    ("uphold", "label"): ("allow", "label"),
    ("reject", None): ("allow", "no_action"),
}


@dataclass(frozen=True)
class DecideResult:
    outcome: str
    decision: Decision | None  # the superseding decision (None for an escalation)
    escalation: ModeratorNote | None = None


def _open_decision(session: Session, decision_id: str, *, escalated_ok: bool) -> Decision:
    decision = session.scalars(select(Decision).where(Decision.id == decision_id)).first()
    if decision is None:
        raise ReviewError("not_found", "no such item")
    if decision.superseded_by_id is not None or decision.verdict != "review":
        raise ReviewError("already_decided", "this item has already been decided")
    if not escalated_ok and decision.id in _escalated_ids(session, "decision"):
        raise ReviewError("escalated", "this item was escalated to the senior moderators")
    return decision


def decide(
    session: Session,
    user: User,
    decision_id: str,
    outcome: str,
    *,
    reason: str,
    action: str | None = None,
    now: dt.datetime | None = None,
    bulk_of: str | None = None,
) -> DecideResult:
    """Record a moderator's decision on a review item (the caller commits).

    The moderator must hold the item's claim, or take it now if nobody else does. ``uphold`` needs ``action``
    (remove, restrict or label); ``reject`` allows the item; ``escalate`` hands it to the senior moderators.
    """
    now = now or utcnow()
    if not can(user.role, "review"):
        raise ReviewError("forbidden", "your role cannot decide review items")
    if outcome not in OUTCOMES:
        raise ReviewError("invalid_outcome", f"outcome must be one of {', '.join(OUTCOMES)}")
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("reason_required", "a reason is required")
    if len(reason) > MAX_REASON:
        raise ReviewError("reason_too_long", f"the reason is over {MAX_REASON} characters")
    if outcome == "uphold" and action not in UPHOLD_ACTIONS:
        raise ReviewError("invalid_action", f"uphold needs an action: {', '.join(UPHOLD_ACTIONS)}")
    decision = _open_decision(session, decision_id, escalated_ok=can(user.role, "escalated"))
    claim_item(session, user, "decision", decision.id, now=now)
    if outcome == "escalate":
        note = ModeratorNote(
            item_type="decision",
            item_id=decision.id,
            kind="escalation",
            user_id=user.id,
            username=user.username,
            text=reason,
            created_at=now,
        )
        session.add(note)
        session.flush()
        release_claim(session, user, "decision", decision.id)
        audit.record(
            session,
            actor=f"user:{user.username}",
            action="review.escalate",
            object_type="decision",
            object_id=decision.id,
            platform_id=decision.platform_id,
            details={"reason": reason, "role": user.role},
        )
        return DecideResult("escalate", None, note)
    verdict, new_action = _OUTCOME_VERDICT[(outcome, action if outcome == "uphold" else None)]
    new = supersede(session, decision, user, verdict=verdict, action=new_action, reason=reason, now=now)
    # Resolve any escalation and drop the claim: the item has left every queue.
    for note in session.scalars(
        select(ModeratorNote).where(
            ModeratorNote.item_type == "decision",
            ModeratorNote.item_id == decision.id,
            ModeratorNote.kind == "escalation",
        )
    ):
        note.resolved = True
    session.execute(delete(Claim).where(Claim.item_type == "decision", Claim.item_id == decision.id))
    details: dict[str, Any] = {
        "outcome": outcome,
        "action": new_action,
        "verdict": verdict,
        "reason": reason,
        "supersedes": decision.id,
        "categories": [c.get("id") for c in decision.categories or []],
        "role": user.role,
    }
    if bulk_of:
        details["bulk_of"] = bulk_of
    # A review that came from a notice answers it: the notifier's outcome follows the moderator's decision.
    for notice in notices_service.notices_for_decision(session, new):
        notices_service.refresh_notice(session, notice, now=now)
    audit.record(
        session,
        actor=f"user:{user.username}",
        action="review.decide",
        object_type="decision",
        object_id=new.id,
        platform_id=decision.platform_id,
        details=details,
    )
    return DecideResult(outcome, new)


def supersede(
    session: Session, old: Decision, user: User, *, verdict: str, action: str, reason: str, now: dt.datetime
) -> Decision:
    """Record the moderator's decision that replaces ``old``: the workflow wiring's ``supersede`` when present.

    The wiring's ``supersede(session, old_decision, new_fields, actor)`` writes the new decision, links the old one,
    audits ``decision.supersede`` and schedules the platform's callback; ``apply_enforcement`` (when present)
    then records strikes and sanctions for a removal.
    """
    fields = {
        "verdict": verdict,
        "action": action,
        "reason": reason,
        "source": "moderator",
        "automated_decision": "not",
        "dedupe_key": f"review:{old.id}",
        "categories": list(old.categories or []) if action != "no_action" else [],
    }
    try:
        with session.begin_nested():
            new = workflow_services.supersede(session, old, fields, f"moderator:{user.username}")
    except IntegrityError:
        raise ReviewError("already_decided", "this item has already been decided") from None
    except ApiError as exc:
        if exc.status == 409:
            raise ReviewError("already_decided", "this item has already been decided") from None
        raise ReviewError(exc.code, exc.message) from None
    if new.verdict == "remove":
        apply_enforcement(session, new)
    return new


def duplicates_of(session: Session, decision_id: str) -> list[str]:
    """Return the ids of the other open review items with the same text as ``decision_id`` (any account)."""
    view = session.scalars(select(Decision).where(Decision.id == decision_id)).first()
    if view is None or view.submission_id is None:
        return []
    sub = session.get(Submission, view.submission_id)
    if sub is None:
        return []
    key = content_key(sub.fields)
    return [
        d.id
        for d, s in open_review_rows(session, view.platform_id)
        if d.id != view.id and s is not None and content_key(s.fields) == key
    ]


@dataclass
class BulkResult:
    decided: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # decision id -> error code


def bulk_decide(
    session: Session,
    user: User,
    decision_ids: Sequence[str],
    outcome: str,
    *,
    reason: str,
    action: str | None = None,
    now: dt.datetime | None = None,
) -> BulkResult:
    """Decide several items with one reason (obvious duplicates); items someone else holds are skipped."""
    if outcome == "escalate":
        raise ReviewError("invalid_outcome", "bulk actions cannot escalate")
    result = BulkResult()
    bulk_of = decision_ids[0] if decision_ids else None
    for decision_id in dict.fromkeys(decision_ids):
        try:
            with session.begin_nested():
                decide(session, user, decision_id, outcome, reason=reason, action=action, now=now, bulk_of=bulk_of)
        except ReviewError as exc:
            if exc.code in {"forbidden", "reason_required", "invalid_action", "invalid_outcome", "reason_too_long"}:
                raise
            result.skipped[decision_id] = exc.code
        else:
            result.decided.append(decision_id)
    return result


# --------------------------------------------------------------------------------------------------------------------
# Appeals and authority requests (the workflow wiring's models, when present)


def _rows_as_dicts(rows: Iterable[Any]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        out.append({c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs})
    return out


def _pending(
    session: Session, model: type[Appeal] | type[AuthorityRequest], pending_states: set[str], *, now: dt.datetime
) -> list[dict[str, Any]]:
    rows = _rows_as_dicts(session.scalars(select(model)))
    pending = [r for r in rows if str(r.get("status") or "pending") in pending_states]
    far = dt.datetime.max.replace(tzinfo=dt.UTC)
    pending.sort(key=lambda r: (r.get("deadline") or r.get("due_at") or far, r.get("created_at") or far))
    for r in pending:
        deadline = r.get("deadline") or r.get("due_at")
        r["_deadline"] = deadline
        r["_overdue"] = bool(deadline and deadline < now)
        created = r.get("filed_at") or r.get("received_at") or r.get("created_at")
        r["_created"] = created
    return pending


def pending_appeals(session: Session, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    return _pending(session, Appeal, {"pending", "open", "received", "in_review"}, now=now or utcnow())


def pending_authority_requests(session: Session, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    return _pending(
        session, AuthorityRequest, {"pending", "open", "received", "in_progress", "partial"}, now=now or utcnow()
    )


def decide_appeal(session: Session, user: User, appeal_id: str, outcome: str, reason: str) -> Any:
    """Decide an appeal through the workflow wiring (senior moderators); audit who did it."""
    if not can(user.role, "appeals"):
        raise ReviewError("forbidden", "your role cannot decide appeals")
    if not (reason or "").strip():
        raise ReviewError("reason_required", "a reason is required")
    from moderation.services.appeals import decide_appeal as decide

    claim_item(session, user, "appeal", appeal_id)
    try:
        with session.begin_nested():
            result = decide(session, appeal_id, f"moderator:{user.username}", outcome, reason.strip())
    except ApiError as exc:
        raise ReviewError(exc.code, exc.message) from None
    except (ValueError, LookupError) as exc:
        raise ReviewError(getattr(exc, "code", "invalid"), str(exc)) from None
    release_claim(session, user, "appeal", appeal_id)
    audit.record(
        session,
        actor=f"user:{user.username}",
        action="appeal.decide",
        object_type="appeal",
        object_id=appeal_id,
        details={"outcome": outcome, "reason": reason.strip(), "role": user.role},
    )
    return result


def strikes_for(session: Session, platform_id: str, author_id: str | None, blog_id: str | None) -> list[dict[str, Any]]:
    """The author's and blog's strikes (at most 50)."""
    conds = []
    if author_id:
        conds.append(Strike.author_id == author_id)
    if blog_id:
        conds.append(Strike.blog_id == blog_id)
    if not conds:
        return []
    query = select(Strike).where(or_(*conds), Strike.platform_id == platform_id)
    return _rows_as_dicts(session.scalars(query.limit(50)))


# --------------------------------------------------------------------------------------------------------------------
# Blog registry (Circular 07/2008 §5.3) and the audit trail


@dataclass
class BlogRow:
    blog: Blog
    platform_name: str
    violations: int
    strikes: int


def search_blogs(
    session: Session, q: str = "", *, status: str | None = None, platform_id: str | None = None, limit: int = 100
) -> list[BlogRow]:
    """Search the blog registry by id, name, owner or URL; each row with its violations and strikes."""
    query = select(Blog).order_by(Blog.registered_at.desc()).limit(limit)
    q = q.strip()
    if q:
        like = f"%{q.lower()}%"
        query = query.where(
            or_(
                func.lower(Blog.external_id).like(like),
                func.lower(Blog.name).like(like),
                func.lower(Blog.display_name).like(like),
                func.lower(Blog.owner_id).like(like),
                func.lower(Blog.url).like(like),
            )
        )
    if status:
        query = query.where(Blog.status == status)
    if platform_id:
        query = query.where(Blog.platform_id == platform_id)
    blogs = list(session.scalars(query))
    platforms = dict(session.execute(select(Platform.id, Platform.name)).all())
    rows = []
    for blog in blogs:
        violations = session.scalar(
            select(func.count(Decision.seq))
            .join(Submission, Submission.id == Decision.submission_id)
            .where(
                Decision.platform_id == blog.platform_id,
                Submission.blog_id == blog.external_id,
                Decision.verdict == "remove",
                Decision.superseded_by_id.is_(None),
            )
        )
        strikes = len(strikes_for(session, blog.platform_id, None, blog.external_id))
        rows.append(BlogRow(blog, platforms.get(blog.platform_id, ""), int(violations or 0), strikes))
    return rows


def audit_page(
    session: Session,
    *,
    actor: str = "",
    action: str = "",
    object_id: str = "",
    before: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """The newest audit entries first, filtered by actor, action prefix or object id; paged by ``seq``."""
    query = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if actor:
        query = query.where(AuditEntry.actor.like(f"%{actor}%"))
    if action:
        query = query.where(AuditEntry.action.like(f"{action}%"))
    if object_id:
        query = query.where(AuditEntry.object_id == object_id)
    if before:
        query = query.where(AuditEntry.seq < before)
    return list(session.scalars(query))


# --------------------------------------------------------------------------------------------------------------------
# Demo accounts and items (``moderation run``)

DEMO_USERS = (
    ("demo.moderator", "moderator", "demo-moderator-2024"),
    ("demo.senior", "senior_moderator", "demo-senior-2024"),
    ("demo.compliance", "compliance_officer", "demo-compliance-2024"),
    ("demo.admin", "admin", "demo-admin-2024"),
)


def ensure_demo_users(database_url: str) -> list[dict[str, str]]:
    """Create the demo accounts once; return username, password and role of each.

    The passwords are public (printed by ``moderation run`` and in docs/console.md): for a laptop demo only.
    An account whose password was changed is returned with an empty password.
    """
    from moderation.store.db import session_scope

    out = []
    with session_scope(database_url) as session:
        for username, role, password in DEMO_USERS:
            user = session.scalars(select(User).where(User.username == username)).first()
            if user is None:
                user, _ = create_user(session, username, password, role, display_name=username, actor="system:demo")
            shown = password if _verify(user.password_hash, password) else ""
            out.append({"username": username, "password": shown, "role": user.role})
    return out


DEMO_POSTS: tuple[dict[str, Any], ...] = (
    {
        "id": "demo-post-1",
        "blog_id": "blog-hoa-sen",
        "author_id": "tk-hoasen",
        "title": "Cảnh báo",
        "body": "Thằng khốn Nguyễn Văn B ở phường 5 ăn cắp tiền của bà con, mọi người tẩy chay hắn đi!",
    },
    {
        "id": "demo-post-2",
        "blog_id": "blog-tin-nhanh",
        "author_id": "tk-tinnhanh",
        "title": "Tin nội bộ",
        "body": "Tài liệu mật của Bộ Quốc phòng về kế hoạch diễn tập, mọi người xem tại đây.",
    },
    {
        "id": "demo-post-3",
        "blog_id": "blog-ban-hang",
        "author_id": "tk-banhang",
        "title": "Bán hàng xách tay",
        "body": "Bán súng hơi, pháo nổ giá rẻ, giao hàng toàn quốc. Liên hệ 0912 345 678.",
    },
    {
        "id": "demo-post-4",
        "blog_id": "blog-dien-dan",
        "author_id": "tk-diendan",
        "title": "Bàn về Nghị định 97/2008",
        "body": "Điều 6 Nghị định 97/2008 cấm đưa thông tin xuyên tạc, vu khống. Bài viết này phân tích điều khoản đó.",
    },
    # The same text from three accounts: the bulk action's case.
    *(
        {
            "id": f"demo-spam-{n}",
            "blog_id": f"blog-spam-{n}",
            "author_id": f"tk-spam-{n}",
            "title": "Sự thật",
            "body": "Đồ mất dạy! Thằng chủ tịch xã ăn cắp tiền của dân.",
        }
        for n in (1, 2, 3)
    ),
)


def seed_demo_items(database_url: str, platform_id: str, classifier: Any = None) -> list[str]:
    """Push the demo posts through intake and classification once; return their decision ids (idempotent).

    With the packs in ``policies/`` five of them go to the review queue (a targeted insult, state secrets, and the
    same insult from three accounts), one is removed automatically and the legal discussion is allowed.
    """
    from moderation.services.classification import classify_submission
    from moderation.services.intake import submit_item, validate
    from moderation.store.db import session_scope

    if classifier is None:
        from moderation.config import REPO_ROOT
        from moderation.policy import Classifier, load_packs

        classifier = Classifier(load_packs(Path(REPO_ROOT / "policies")))
    ids = []
    with session_scope(database_url) as session:
        platform = session.get(Platform, platform_id)
        if platform is None:
            raise ReviewError("not_found", f"no platform {platform_id}")
        for post in DEMO_POSTS:
            sub, _ = submit_item(session, platform, "post", validate("post", dict(post)))
            session.flush()
            decision = classify_submission(session, sub.id, classifier)
            if decision is not None:
                ids.append(decision.id)
    return ids


# --------------------------------------------------------------------------------------------------------------------
# Authority requests and notices recorded in the console: the same service functions as the API
# (``POST /v1/authority-requests``, ``POST /v1/notices``), after the same schema check, so both paths behave the same.

ATTACHMENT_CHUNK = 1 << 16


def attachment_hashes(files: Iterable[tuple[str, IO[bytes]]]) -> list[dict[str, str]]:
    """SHA-256 of each uploaded attachment, read in chunks; only the name and the digest are kept."""
    out = []
    for name, stream in files:
        digest = hashlib.sha256()
        while chunk := stream.read(ATTACHMENT_CHUNK):
            digest.update(chunk)
        out.append({"name": Path(name or "").name[:500], "sha256": digest.hexdigest()})
    return out


def form_lines(value: str | None) -> list[str]:
    """The non-empty lines of a textarea (one target per line), stripped."""
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


def local_time(value: str | None) -> str | None:
    """An ``<input type=datetime-local>`` value read in Vietnam's time zone, as RFC 3339 (None when empty)."""
    if not value or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise ReviewError("invalid_value", f"not a date and time: {value!r}", "received_at") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed.astimezone(dt.UTC).isoformat()


@dataclass(frozen=True)
class LegalBasis:
    """A citation a form can offer: one per category of the packs in force."""

    value: str  # "<pack id>/<category id>"
    label: str
    citation: dict[str, Any]
    pack_id: str
    category_id: str


def legal_bases(packs: Iterable[Any]) -> list[LegalBasis]:
    """Every category of the packs in force with the law it cites (for the authority form's legal basis)."""
    out = []
    for pack in packs:
        for cat in pack.categories.values():
            citation = {k: cat.citation.get(k) for k in ("instrument", "article", "clause", "point")}
            if not citation.get("instrument"):
                continue
            label = f"{citation_label(citation)} — {cat.name_vi}"
            out.append(LegalBasis(f"{pack.id}/{cat.id}", label, citation, pack.id, cat.id))
    return out


def _platform(session: Session, platform_id: str | None) -> Platform:
    platform = session.get(Platform, platform_id) if platform_id else None
    if platform is None:
        raise ReviewError("invalid_value", "choose a platform", "platform_id")
    return platform


def _as_review_error(exc: ApiError) -> ReviewError:
    return ReviewError.from_api(exc)


def authority_payload(
    form: Mapping[str, str], attachments: Sequence[Mapping[str, str]], bases: Sequence[LegalBasis]
) -> dict[str, Any]:
    """Build the API's request body from the console form's fields.

    The legal basis is a category of the packs in force, or an instrument (with article, clause, point) typed in.
    An empty deadline leaves the regime's default (24 h).
    """
    payload: dict[str, Any] = {
        "issuing_body": (form.get("issuing_body") or "").strip(),
        "document_number": (form.get("document_number") or "").strip(),
        "document_date": (form.get("document_date") or "").strip(),
        "targets": form_lines(form.get("targets")),
        "attachments": [dict(a) for a in attachments],
    }
    received = local_time(form.get("received_at"))
    if received:
        payload["received_at"] = received
    typed = {k: (form.get(f"basis_{k}") or "").strip() or None for k in ("instrument", "article", "clause", "point")}
    if typed["instrument"]:
        payload["legal_basis"] = typed
    else:
        chosen = next((b for b in bases if b.value == form.get("legal_basis")), None)
        if chosen is None:
            raise ReviewError("missing_field", "choose the legal basis or type the instrument", "legal_basis")
        payload["legal_basis"] = dict(chosen.citation)
    hours = (form.get("deadline_hours") or "").strip()
    if hours:
        try:
            payload["deadline_hours"] = float(hours.replace(",", "."))
        except ValueError:
            raise ReviewError("invalid_value", "deadline_hours must be a number of hours", "deadline_hours") from None
    return payload


def record_authority_request(
    session: Session,
    user: User,
    platform_id: str | None,
    payload: Mapping[str, Any],
    *,
    policies_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> tuple[AuthorityRequest, bool]:
    """Record an authority request for ``platform_id`` as ``POST /v1/authority-requests`` does; return it and whether
    it is new (the same issuing body and document number again returns the recorded one). The caller commits; the
    removal callbacks are enqueued by the commit (runtime session hook)."""
    if not can(user.role, "authority"):
        raise ReviewError("forbidden", "your role cannot record authority requests")
    platform = _platform(session, platform_id)
    from moderation import schemas_workflow
    from moderation.services import authority

    try:
        with session.begin_nested():
            body = schemas_workflow.validate("authority_request", dict(payload))
            row, created, _ = authority.create_request(
                session, platform, body, actor=f"user:{user.username}", now=now, policies_dir=policies_dir
            )
    except ApiError as exc:
        raise _as_review_error(exc) from None
    return row, created


@dataclass
class AuthorityView:
    """One authority request as the console shows it: the API's view (targets, decisions, SLA) and its platform."""

    row: AuthorityRequest
    data: dict[str, Any]
    platform_name: str
    due_in: dt.timedelta


def authority_requests(
    session: Session, *, include_closed: int = 20, now: dt.datetime | None = None
) -> tuple[list[AuthorityView], list[AuthorityView]]:
    """Open requests (deadline first) and the latest ``include_closed`` completed ones.

    Targets whose item arrived after the request are decided now, as ``GET /v1/authority-requests/<id>`` does.
    """
    from moderation.services import authority

    now = now or utcnow()
    platforms = dict(session.execute(select(Platform.id, Platform.name)).all())
    open_rows = list(
        session.scalars(
            select(AuthorityRequest).where(AuthorityRequest.status != "complete").order_by(AuthorityRequest.due_at)
        )
    )
    closed_rows = list(
        session.scalars(
            select(AuthorityRequest)
            .where(AuthorityRequest.status == "complete")
            .order_by(AuthorityRequest.received_at.desc())
            .limit(include_closed)
        )
    )
    out: tuple[list[AuthorityView], list[AuthorityView]] = ([], [])
    for bucket, rows in zip(out, (open_rows, closed_rows), strict=True):
        for row in rows:
            if row.status != "complete":
                authority.resolve_pending(session, row, actor="system:authority", now=now)
            data = authority.request_json(session, row, now)
            bucket.append(AuthorityView(row, data, platforms.get(row.platform_id, row.platform_id), row.due_at - now))
    return out


def confirm_authority_request(
    session: Session, user: User, request_id: str, targets: Sequence[str], *, now: dt.datetime | None = None
) -> AuthorityRequest:
    """Record that the platform complied (removed ``targets``; every decided target when empty), as
    ``POST /v1/authority-requests/<id>/confirmations`` does."""
    if not can(user.role, "authority"):
        raise ReviewError("forbidden", "your role cannot confirm authority requests")
    from moderation.services import authority

    row = session.get(AuthorityRequest, request_id)
    if row is None:
        raise ReviewError("not_found", "no such authority request")
    try:
        with session.begin_nested():
            authority.confirm(session, row, list(targets), actor=f"user:{user.username}", now=now)
    except ApiError as exc:
        raise _as_review_error(exc) from None
    return row


NOTICE_CAPACITIES = ("user", "affected_person", "rights_holder", "trusted_organisation")


def notice_payload(form: Mapping[str, str]) -> dict[str, Any]:
    """Build the API's notice body from the console form's fields (empty fields left out)."""
    notifier = {
        "name": (form.get("notifier_name") or "").strip(),
        "capacity": (form.get("capacity") or "").strip(),
    }
    for key in ("id", "contact"):
        value = (form.get(f"notifier_{key}") or "").strip()
        if value:
            notifier[key] = value
    payload: dict[str, Any] = {
        "notifier": notifier,
        "targets": form_lines(form.get("targets")),
        "explanation": (form.get("explanation") or "").strip(),
        "good_faith": form.get("good_faith") in {"1", "on", "true", "yes"},
    }
    category = (form.get("category") or "").strip()
    if category:
        payload["category"] = category
    work = {k: (form.get(f"work_{k}") or "").strip() for k in ("title", "owner", "url", "registration")}
    if any(work.values()):
        payload["work"] = {k: v for k, v in work.items() if v}
    return payload


def record_notice(
    session: Session,
    user: User,
    platform_id: str | None,
    payload: Mapping[str, Any],
    *,
    policies_dir: Path | None = None,
    now: dt.datetime | None = None,
) -> Notice:
    """Record a notice received outside the platform's API (mail, phone, a letter) as ``POST /v1/notices`` does;
    each item it names goes to the review queue. The caller commits."""
    if not can(user.role, "notices"):
        raise ReviewError("forbidden", "your role cannot record notices")
    platform = _platform(session, platform_id)
    from moderation import schemas_workflow

    try:
        with session.begin_nested():
            body = schemas_workflow.validate("notice", dict(payload))
            notice = notices_service.submit_notice(
                session, platform, body, actor=f"user:{user.username}", now=now, policies_dir=policies_dir
            )
    except ApiError as exc:
        raise _as_review_error(exc) from None
    return notice


@dataclass
class NoticeSummary:
    """A notice with its targets and its notifier's record (founded, unfounded, flagged for repeated unfounded ones)."""

    notice: Notice
    targets: list[NoticeTarget]
    notifier: Notifier | None
    flagged: bool
    platform_name: str = ""


def _summaries(
    session: Session, rows: Sequence[Notice], *, now: dt.datetime, policies_dir: Path | None = None
) -> list[NoticeSummary]:
    if not rows:
        return []
    ladder = workflow_services.ladder_for(None, policies_dir)
    platforms = dict(session.execute(select(Platform.id, Platform.name)).all())
    ids = [n.id for n in rows]
    targets: dict[str, list[NoticeTarget]] = {}
    for t in session.scalars(
        select(NoticeTarget).where(NoticeTarget.notice_id.in_(ids)).order_by(NoticeTarget.position)
    ):
        targets.setdefault(t.notice_id, []).append(t)
    flagged: dict[str, bool] = {}
    out = []
    for n in rows:
        notifier = session.get(Notifier, n.notifier_id)
        if notifier is not None and notifier.id not in flagged:
            flagged[notifier.id] = notices_service.is_flagged(
                session, notifier, now, ladder.unfounded_window_days, ladder.unfounded_threshold
            )
        out.append(
            NoticeSummary(
                n,
                targets.get(n.id, []),
                notifier,
                bool(notifier and flagged.get(notifier.id)),
                platforms.get(n.platform_id, n.platform_id),
            )
        )
    return out


def recent_notices(
    session: Session, *, limit: int = 100, now: dt.datetime | None = None, policies_dir: Path | None = None
) -> list[NoticeSummary]:
    """The latest notices, newest first, with their outcomes brought up to date."""
    now = now or utcnow()
    rows = list(session.scalars(select(Notice).order_by(Notice.received_at.desc()).limit(limit)))
    for n in rows:
        notices_service.refresh_notice(session, n, now=now)
    return _summaries(session, rows, now=now, policies_dir=policies_dir)


def notices_on_item(
    session: Session,
    submission_id: str | None,
    decision_ids: Sequence[str],
    *,
    now: dt.datetime | None = None,
    policies_dir: Path | None = None,
) -> list[NoticeSummary]:
    """The notices that name this item (its submission or one of its decisions), with each notifier's record."""
    conds: list[ColumnElement[bool]] = [NoticeTarget.decision_id.in_(list(decision_ids))] if decision_ids else []
    if submission_id:
        conds.append(NoticeTarget.submission_id == submission_id)
    if not conds:
        return []
    notice_ids = set(session.scalars(select(NoticeTarget.notice_id).where(or_(*conds))))
    if not notice_ids:
        return []
    rows = list(
        session.scalars(select(Notice).where(Notice.id.in_(sorted(notice_ids))).order_by(Notice.received_at.desc()))
    )
    return _summaries(session, rows, now=now or utcnow(), policies_dir=policies_dir)


# --------------------------------------------------------------------------------------------------------------------
# Administration: platforms (keys, secrets, callback URLs, test platforms) and the policy packs in force


def _audit_admin(session: Session, user: User, action: str, platform: Platform, details: dict[str, Any]) -> None:
    audit.record(
        session,
        actor=f"user:{user.username}",
        action=action,
        object_type="platform",
        object_id=platform.id,
        platform_id=platform.id,
        details=details,
    )


def _require_admin(user: User) -> None:
    if not can(user.role, "platforms"):
        raise ReviewError("forbidden", "your role cannot manage platforms")


def _callback_url(value: str | None) -> str | None:
    url = (value or "").strip()
    if not url:
        return None
    if not re.match(r"^https?://[^\s/]+", url) or any(c.isspace() for c in url) or len(url) > 2000:
        raise ReviewError("invalid_value", "the callback URL must be an http(s) URL", "callback_url")
    return url


def create_platform(
    session: Session, user: User, name: str, callback_url: str | None = None, *, is_test: bool = False
) -> tuple[Platform, str]:
    """Create a platform with a fresh key and secret (``moderation platforms create``); return it and the secret,
    which is shown once and never stored anywhere else (nor audited)."""
    from moderation.services.intake import create_platform as create

    _require_admin(user)
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ReviewError("invalid_value", "a platform needs a name (at most 200 characters)", "name")
    try:
        platform, secret = create(session, name, _callback_url(callback_url), is_test=is_test)
    except ApiError as exc:
        raise _as_review_error(exc) from None
    details = {"name": name, "key": platform.key, "callback_url": platform.callback_url, "is_test": is_test}
    _audit_admin(session, user, "platform.create", platform, details)
    return platform, secret


def rotate_platform_secret(session: Session, user: User, platform_id: str) -> tuple[Platform, str]:
    """Give the platform a new secret (the old one stops working at once); return it, shown once."""
    _require_admin(user)
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise ReviewError("not_found", "no such platform")
    secret = secrets.token_urlsafe(32)
    platform.secret = secret
    session.flush()
    _audit_admin(session, user, "platform.rotate_secret", platform, {"key": platform.key})
    return platform, secret


def update_platform(
    session: Session, user: User, platform_id: str, *, callback_url: str | None, is_test: bool
) -> Platform:
    """Set the callback URL (empty: no callbacks) and whether it is a test platform (never counted in reports)."""
    _require_admin(user)
    platform = session.get(Platform, platform_id)
    if platform is None:
        raise ReviewError("not_found", "no such platform")
    before = {"callback_url": platform.callback_url, "is_test": platform.is_test}
    platform.callback_url = _callback_url(callback_url)
    platform.is_test = is_test
    after = {"callback_url": platform.callback_url, "is_test": platform.is_test}
    if after != before:
        session.flush()
        _audit_admin(session, user, "platform.update", platform, {"before": before, "after": after})
    return platform


def platforms_overview(session: Session) -> list[dict[str, Any]]:
    """Every platform (never its secret) with its submission and decision counts."""
    subs = dict(
        session.execute(
            select(Submission.platform_id, func.count(Submission.id)).group_by(Submission.platform_id)
        ).all()
    )
    decisions = dict(
        session.execute(select(Decision.platform_id, func.count(Decision.seq)).group_by(Decision.platform_id)).all()
    )
    return [
        {
            "id": p.id,
            "name": p.name,
            "key": p.key,
            "callback_url": p.callback_url,
            "is_test": p.is_test,
            "active": p.active,
            "created_at": p.created_at,
            "submissions": int(subs.get(p.id, 0)),
            "decisions": int(decisions.get(p.id, 0)),
        }
        for p in session.scalars(select(Platform).order_by(Platform.created_at))
    ]


def pack_summaries(packs: Iterable[Any]) -> list[dict[str, Any]]:
    """The packs in force: id, names, version (SHA-256 of its files), status, mode, categories, rules in shadow mode."""
    out = []
    for pack in packs:
        shadow = [r.id for r in pack.rules if (r.mode or pack.mode) == "shadow"]
        shadow_categories = [c for c in pack.categories.values() if getattr(c, "mode", None) == "shadow"]
        out.append(
            {
                "id": pack.id,
                "name_vi": pack.name_vi,
                "name_en": pack.name_en,
                "version": pack.version,
                "version_label": pack.version_label,
                "status": pack.status,
                "mode": pack.mode,
                "effective_from": pack.effective_from,
                "effective_until": pack.effective_until,
                "categories": len(pack.categories),
                "rules": len(pack.rules),
                "shadow_rules": shadow,
                "shadow_categories": [c.id for c in shadow_categories],
                "files": list(pack.files),
            }
        )
    return out


def platform_choices(session: Session) -> list[Platform]:
    """The active platforms a form can record something for (test platforms after the others)."""
    return list(
        session.scalars(select(Platform).where(Platform.active.is_(True)).order_by(Platform.is_test, Platform.name))
    )
