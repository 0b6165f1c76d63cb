"""Akismet-compatible endpoints, so blog software that already speaks Akismet can use the service unchanged.

``api_key`` is the platform key. Akismet's protocol carries no request signature, so these endpoints authenticate by
key alone (as Akismet does); platforms that can sign should use the v1 API.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response, g, request
from sqlalchemy import select

from moderation.errors import ApiError
from moderation.services import intake
from moderation.services.classification import classify_submission
from moderation.store.models import Decision, Feedback, Submission
from moderation.web.auth import authenticate_platform, runtime

bp = Blueprint("akismet", __name__, url_prefix="/1.1")

_COMMENT_KINDS = {"comment", "reply", "forum-post", "message", "contact-form", "signup", ""}


def _text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body, status=status, mimetype="text/plain", headers=headers or {})


def _platform_from_form() -> None:
    form = request.form
    try:
        authenticate_platform(form.get("api_key") or form.get("key"), signed=False)
    except ApiError as exc:
        if exc.status in (401, 403):
            raise ApiError(exc.status, exc.code, "invalid api_key") from None
        raise


def _external_id(form: Any) -> str:
    """Akismet has no item id: derive a stable one from the permalink, author and content."""
    basis = "\x1f".join(form.get(k, "") for k in ("permalink", "comment_author", "comment_content", "comment_date_gmt"))
    return "akismet-" + hashlib.sha256(basis.encode()).hexdigest()[:32]


def _payload(form: Any) -> dict[str, Any]:
    kind = form.get("comment_type", "comment")
    payload: dict[str, Any] = {
        "id": _external_id(form),
        "blog_id": form.get("blog") or "unknown",
        "author_id": form.get("comment_author_email")
        or form.get("comment_author")
        or form.get("user_ip")
        or "anonymous",
        "body": form.get("comment_content", ""),
        "post_id": form.get("permalink") or "unknown",
    }
    if form.get("comment_author"):
        payload["author_name"] = form["comment_author"][:500]
    if form.get("comment_author_url"):
        payload["links"] = [form["comment_author_url"]][:1]
    if kind in {"blog-post"}:
        payload.pop("post_id")
    return payload


@bp.post("/verify-key")
def verify_key() -> Response:
    try:
        _platform_from_form()
    except ApiError as exc:
        if exc.status == 429:
            raise
        return _text("invalid", headers={"X-akismet-debug-help": "the api_key is not a platform key"})
    return _text("valid")


@bp.post("/comment-check")
def comment_check() -> Response:
    _platform_from_form()
    form = request.form
    if not form.get("blog"):
        return _text("Missing required field: blog.", headers={"X-akismet-debug-help": "blog is required"})
    kind = "post" if form.get("comment_type") == "blog-post" else "comment"
    payload = intake.validate(kind, _payload(form))
    session = g.db
    submission, _ = intake.submit_item(session, g.platform, kind, payload)
    decision = classify_submission(session, submission.id, runtime().classifiers.get())
    session.commit()
    if decision is None:
        return _text("false")
    headers = {"X-akismet-guid": decision.id}
    if decision.verdict == "remove":
        headers["X-akismet-pro-tip"] = "discard"
    return _text("true" if decision.verdict in {"remove", "review"} else "false", headers=headers)


def _feedback(kind: str) -> Response:
    _platform_from_form()
    form = request.form
    external = _external_id(form)
    session = g.db
    sub = session.scalars(
        select(Submission)
        .where(Submission.platform_id == g.platform.id, Submission.external_id == external)
        .order_by(Submission.revision.desc())
        .limit(1)
    ).one_or_none()
    decision = None
    if sub is not None:
        decision = session.scalars(
            select(Decision).where(Decision.submission_id == sub.id).order_by(Decision.seq.desc()).limit(1)
        ).one_or_none()
    session.add(
        Feedback(
            platform_id=g.platform.id,
            submission_id=sub.id if sub else None,
            decision_id=decision.id if decision else None,
            kind=kind,
            content_hash=hashlib.sha256(form.get("comment_content", "").encode()).hexdigest(),
        )
    )
    session.commit()
    return _text("Thanks for making the web a better place.")


@bp.post("/submit-spam")
def submit_spam() -> Response:
    return _feedback("spam")


@bp.post("/submit-ham")
def submit_ham() -> Response:
    return _feedback("ham")
