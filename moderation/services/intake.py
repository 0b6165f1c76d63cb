"""Intake: validate what a platform sends and record it, idempotently.

The web views call these with a session; nothing here knows about HTTP beyond raising ``ApiError``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast

import jsonschema_rs
from jsonschema import Draft202012Validator
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from moderation import schemas
from moderation.errors import ApiError, bad_request, check_schema, unprocessable
from moderation.store.base import new_id, utcnow
from moderation.store.models import Blog, BlogStatusChange, Platform, Submission

_SCHEMAS = {"post": schemas.POST_REQUEST, "comment": schemas.COMMENT_REQUEST, "blog": schemas.BLOG_REQUEST}
# jsonschema finds and words the errors (the API's codes and messages come from it); jsonschema_rs (compiled, ~100x
# faster) only says whether there are any, so a valid body, the common case, is checked once, quickly. Formats are
# annotations in both (``format_checker`` unset, ``validate_formats=False``): the timestamps are parsed below.
_VALIDATORS = {kind: Draft202012Validator(schema) for kind, schema in _SCHEMAS.items()}
_FAST = {kind: jsonschema_rs.Draft202012Validator(schema, validate_formats=False) for kind, schema in _SCHEMAS.items()}


class HasId(Protocol):
    """What intake needs of the calling platform: its id (an ORM ``Platform`` or the API's cached snapshot)."""

    @property
    def id(self) -> str: ...


_HTML_HINT = re.compile(r"<(?:[a-zA-Z][a-zA-Z0-9]*\b[^>]*|/[a-zA-Z][a-zA-Z0-9]*\s*|!--)>", re.DOTALL)


def parse_json_body(raw: bytes) -> Any:
    """Decode a request body as UTF-8 JSON, or raise a 400 saying what is wrong with it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_request("invalid_utf8", f"body is not valid UTF-8 (byte {exc.start})") from None
    try:
        payload = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise bad_request("malformed_json", f"body is not valid JSON: {exc}") from None
    check_storable_text(payload)
    return payload


# NUL and unpaired surrogates (``"\\ud800"`` in JSON) cannot be stored in PostgreSQL text or encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def check_storable_text(payload: Any) -> None:
    """Raise a 422 naming the first string (value or key) with a NUL character or an unpaired surrogate."""
    stack: list[tuple[Any, str]] = [(payload, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                raise unprocessable(
                    "invalid_value",
                    f"{path or 'body'}: NUL characters and unpaired surrogates are not allowed",
                    path or None,
                )
        elif isinstance(value, dict):
            for key, item in value.items():
                child = f"{path}.{key}" if path else str(key)
                if _UNSTORABLE.search(key):
                    raise unprocessable(
                        "invalid_value", "a key contains a NUL character or an unpaired surrogate", path or None
                    )
                stack.append((item, child))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}" if path else str(i)) for i, item in enumerate(value))


def validate(kind: str, payload: Any, *, text_checked: bool = False) -> dict[str, Any]:
    """Check ``payload`` against the schema for ``kind``; wrong types are 400, other problems 422.

    ``text_checked``: the payload comes from :func:`parse_json_body`, which has already checked its strings.
    """
    if isinstance(payload, dict) and _is_valid(kind, payload):
        body: dict[str, Any] = payload
    else:
        body = check_schema(_VALIDATORS[kind], payload)
    for name in ("published_at", "created_at"):
        if name in body:
            body[name] = parse_time(body[name], name)
    if not text_checked:
        check_storable_text(body)  # form-encoded callers (Akismet) do not pass through parse_json_body
    return body


def _is_valid(kind: str, payload: dict[str, Any]) -> bool:
    """The quick check; False (and the full check decides) for anything it cannot take, such as non-string keys."""
    try:
        return bool(_FAST[kind].is_valid(payload))
    except (ValueError, TypeError, OverflowError):
        return False


def parse_time(value: str, field: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp with an offset."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise unprocessable("invalid_value", f"{field}: not an RFC 3339 timestamp", field) from None
    if parsed.tzinfo is None:
        raise unprocessable("invalid_value", f"{field}: RFC 3339 timestamps need an offset (Z or +07:00)", field)
    return parsed.astimezone(dt.UTC)


def body_format(payload: Mapping[str, Any]) -> str:
    declared = payload.get("body_format", "auto")
    if declared != "auto":
        return str(declared)
    return "html" if _HTML_HINT.search(payload.get("body", "")) else "text"


def content_hash(fields: Mapping[str, str]) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the API needs of a recorded item: its submission id and status, and whether this request created it."""

    id: str
    status: str
    created: bool


def record_item(session: Session, platform: HasId, kind: str, payload: Mapping[str, Any]) -> Recorded:
    """Record a post or comment revision without loading it as an ORM object (the API's hot path).

    The same (platform, kind, id, revision) returns the existing submission: a retried webhook must not classify
    twice. The unique constraint settles races between concurrent identical requests.
    """
    return _insert_once(session, _item_values(platform, kind, payload))


def submit_item(session: Session, platform: HasId, kind: str, payload: dict[str, Any]) -> tuple[Submission, bool]:
    """Record a post or comment revision; return it (as an ORM row) and whether it is new."""
    recorded = record_item(session, platform, kind, payload)
    submission = session.get(Submission, recorded.id)
    if submission is None:  # pragma: no cover - the row was just inserted or found in this transaction
        raise RuntimeError(f"submission {recorded.id} vanished")
    return submission, recorded.created


def _item_values(platform: HasId, kind: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """The submission row for ``payload`` as column values; the columns left out take their defaults."""
    fields = {"body": payload["body"]}
    if payload.get("title"):
        fields["title"] = payload["title"]
    if payload.get("author_name"):
        fields["author_name"] = payload["author_name"]
    return {
        "id": new_id("sub"),
        "platform_id": platform.id,
        "kind": kind,
        "external_id": payload["id"],
        "revision": int(payload.get("revision", 1)),
        "blog_id": payload["blog_id"],
        "author_id": payload["author_id"],
        "post_id": payload.get("post_id"),
        "url": payload.get("url"),
        "fields": fields,
        "body_format": body_format(payload),
        "links": list(payload.get("links", [])),
        "post_kind": payload.get("kind", "original"),
        "shared_from": payload.get("shared_from"),
        "published_at": payload.get("published_at"),
        "language": payload.get("language", "vi"),
    }


def register_blog(session: Session, platform: HasId, payload: dict[str, Any]) -> tuple[Blog, Submission | None, bool]:
    """Create or update a blog in the registry; a new or renamed blog is submitted for checks (impersonation)."""
    blog = session.scalars(
        select(Blog).where(Blog.platform_id == platform.id, Blog.external_id == payload["id"])
    ).one_or_none()
    created = blog is None
    status = payload.get("status", "active")
    if blog is None:
        blog = Blog(
            platform_id=platform.id,
            external_id=payload["id"],
            owner_id=payload["owner_id"],
            created_at=payload.get("created_at") or utcnow(),
            status=status,
        )
        session.add(blog)
        session.flush()
        session.add(BlogStatusChange(blog_id=blog.id, status=status, at=blog.created_at))
    elif blog.status != status:
        session.add(BlogStatusChange(blog_id=blog.id, status=status))
    names_before = (blog.name, blog.display_name, blog.url)
    blog.owner_id = payload["owner_id"]
    blog.name = payload.get("name", blog.name or "")
    blog.display_name = payload.get("display_name", blog.display_name or "")
    blog.url = payload.get("url", blog.url or "")
    blog.status = status
    session.flush()
    submission = None
    if created or names_before != (blog.name, blog.display_name, blog.url):
        fields = {k: v for k, v in (("name", blog.name), ("display_name", blog.display_name), ("url", blog.url)) if v}
        revision = _next_blog_revision(session, platform.id, blog.external_id)
        recorded = _insert_once(
            session,
            {
                "id": new_id("sub"),
                "platform_id": platform.id,
                "kind": "blog",
                "external_id": blog.external_id,
                "revision": revision,
                "blog_id": blog.external_id,
                "author_id": blog.owner_id,
                "fields": fields,
                "url": blog.url or None,
            },
        )
        submission = session.get(Submission, recorded.id)
    return blog, submission, created


def _next_blog_revision(session: Session, platform_id: str, external_id: str) -> int:
    revisions = session.scalars(
        select(Submission.revision).where(
            Submission.platform_id == platform_id, Submission.kind == "blog", Submission.external_id == external_id
        )
    ).all()
    return max(revisions, default=0) + 1


_TABLE = cast(Table, Submission.__table__)
_UNIQUE = ("platform_id", "kind", "external_id", "revision")
_FOUND = (_TABLE.c.id, _TABLE.c.status)
# Core statements (no ORM objects on the hot path), built once per dialect: each request only passes its values.
# Columns left out of a row take their defaults (status "received", timestamps).
_UPSERTS: dict[str, Any] = {
    name: make_insert(_TABLE).on_conflict_do_nothing(index_elements=list(_UNIQUE)).returning(*_FOUND)
    for name, make_insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}
_FIND = select(*_FOUND).where(*(_TABLE.c[name] == bindparam(name) for name in _UNIQUE))


def _insert_once(session: Session, values: dict[str, Any]) -> Recorded:
    """Insert the submission row ``values`` unless its (platform, kind, id, revision) exists; return what is stored.

    One statement on the common path: ``INSERT ... ON CONFLICT DO NOTHING RETURNING``. It returns nothing only for a
    repeat (or a concurrent identical request that won the race), and only then is the existing row looked up.
    """
    stmt = _UPSERTS.get(session.get_bind().dialect.name)
    if stmt is None:  # another backend: a savepoint around a plain insert
        return _insert_in_savepoint(session, values)
    row = session.execute(stmt, values).first()
    if row is not None:
        return Recorded(row[0], row[1], True)
    existing = _find_submission(session, values)
    if existing is None:  # the conflicting row was deleted in between; not expected, but not silent
        raise RuntimeError("submission insert conflicted but no existing row was found")
    return existing


def _find_submission(session: Session, values: Mapping[str, Any]) -> Recorded | None:
    row = session.execute(_FIND, {name: values[name] for name in _UNIQUE}).first()
    return None if row is None else Recorded(row[0], row[1], False)


def _insert_in_savepoint(session: Session, values: dict[str, Any]) -> Recorded:
    existing = _find_submission(session, values)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            row = session.execute(insert(_TABLE).returning(*_FOUND), values).one()
    except IntegrityError:
        existing = _find_submission(session, values)
        if existing is None:
            raise
        return existing
    return Recorded(row[0], row[1], True)


def create_platform(
    session: Session, name: str, callback_url: str | None = None, *, is_test: bool = False
) -> tuple[Platform, str]:
    """Create a platform with a fresh key and secret; return it and the secret (shown once to the operator)."""
    if callback_url is not None and not re.match(r"^https?://", callback_url):
        raise ApiError(422, "invalid_value", "callback URL must be http(s)", "callback_url")
    secret = secrets.token_urlsafe(32)
    platform = Platform(
        name=name, key="pk_" + secrets.token_hex(12), secret=secret, callback_url=callback_url, is_test=is_test
    )
    session.add(platform)
    session.flush()
    return platform, secret
