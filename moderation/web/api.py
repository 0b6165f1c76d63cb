"""Intake API v1: the contract platforms code against. Views are thin: parse, call a service, commit, enqueue."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.errors import ApiError, bad_request, not_found
from moderation.services import intake
from moderation.services.classification import (
    classify_submission,
    decision_json,
)
from moderation.store.models import Decision, Submission
from moderation.web.auth import platform_required, runtime

bp = Blueprint("api_v1", __name__, url_prefix="/v1")


def _json_body() -> Any:
    mimetype = request.mimetype
    if mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    return intake.parse_json_body(request.get_data(cache=True))


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes"}


def _autocommit(session: Session) -> None:
    """Run the rest of this request's statements in autocommit: each one is its own transaction.

    For a new item the only write is one statement (the idempotent insert), so autocommit saves the BEGIN and COMMIT
    round trips and nothing is lost: the row is committed (durably, as any commit) when the statement returns, and
    everything that can reject the request (auth, parsing, validation) has run before it.
    """
    if session.in_transaction():
        session.rollback()  # only reads so far (the platform, on a cache miss)
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _submit(kind: str) -> ResponseReturnValue:
    payload = intake.validate(kind, _json_body(), text_checked=True)
    session = g.db
    sync = _truthy(request.args.get("sync"))
    if not sync:  # ?sync=1 classifies in the same transaction, which must commit or roll back as a whole
        _autocommit(session)
    recorded = intake.record_item(session, g.platform, kind, payload)
    decision = None
    status = recorded.status
    if sync and status != "decided":
        decision = classify_submission(session, recorded.id, runtime().classifiers.get())
    elif status == "decided":
        decision = _current_decision(recorded.id)
    submission = session.get(Submission, recorded.id) if decision is not None else None
    if submission is not None:
        status = submission.status
    session.commit()
    # Enqueue only after the commit: the task must find the row it is given.
    if recorded.created and status != "decided":
        runtime().queue.classify([recorded.id])
    body: dict[str, Any] = {
        "submission_id": recorded.id,
        "status": status,
        "status_url": url_for("api_v1.get_submission", submission_id=recorded.id, _external=True),
    }
    if decision is not None and submission is not None:
        body["decision"] = decision_json(decision, submission)
    return jsonify(body), 202 if recorded.created else 200


@bp.post("/posts")
@platform_required
def create_post() -> ResponseReturnValue:
    return _submit("post")


@bp.post("/comments")
@platform_required
def create_comment() -> ResponseReturnValue:
    return _submit("comment")


@bp.post("/blogs")
@platform_required
def register_blog() -> ResponseReturnValue:
    payload = intake.validate("blog", _json_body(), text_checked=True)
    session = g.db
    blog, submission, created = intake.register_blog(session, g.platform, payload)
    session.commit()
    if submission is not None and submission.status == "received":
        runtime().queue.classify([submission.id])
    body = {
        "blog_id": blog.id,
        "id": blog.external_id,
        "status": blog.status,
        "created": created,
        "submission_id": submission.id if submission else None,
        "status_url": url_for("api_v1.get_submission", submission_id=submission.id, _external=True)
        if submission
        else None,
    }
    return jsonify(body), 201 if created else 200


def _current_decision(submission_id: str) -> Decision | None:
    decision: Decision | None = g.db.scalars(
        select(Decision)
        .where(Decision.submission_id == submission_id, Decision.superseded_by_id.is_(None))
        .order_by(Decision.seq.desc())
        .limit(1)
    ).one_or_none()
    return decision


@bp.get("/submissions/<submission_id>")
@platform_required
def get_submission(submission_id: str) -> ResponseReturnValue:
    sub = g.db.get(Submission, submission_id)
    if sub is None or sub.platform_id != g.platform.id:
        raise not_found("no submission with this id for this platform")
    decision = _current_decision(sub.id)
    return jsonify(
        {
            "submission_id": sub.id,
            "kind": sub.kind,
            "id": sub.external_id,
            "revision": sub.revision,
            "status": sub.status,
            "received_at": sub.received_at.isoformat().replace("+00:00", "Z"),
            "decided_at": sub.decided_at.isoformat().replace("+00:00", "Z") if sub.decided_at else None,
            "decision": decision_json(decision, sub) if decision else None,
        }
    )


def _parse_cursor(raw: str | None) -> int:
    if not raw:
        return 0
    if not raw.startswith("c_") or not raw[2:].isdigit() or len(raw) > 24:
        raise bad_request("invalid_cursor", "since must be a cursor returned by this endpoint", "since")
    return int(raw[2:])


@bp.get("/decisions")
@platform_required
def list_decisions() -> ResponseReturnValue:
    since = _parse_cursor(request.args.get("since"))
    try:
        limit = int(request.args.get("limit", "100"))
    except ValueError:
        raise bad_request("invalid_type", "limit must be an integer", "limit") from None
    if not 1 <= limit <= 1000:
        raise ApiError(422, "invalid_value", "limit must be between 1 and 1000", "limit")
    rows = g.db.execute(
        select(Decision, Submission)
        .outerjoin(Submission, Submission.id == Decision.submission_id)
        .where(Decision.platform_id == g.platform.id, Decision.seq > since)
        .order_by(Decision.seq)
        .limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_seq = rows[-1][0].seq if rows else since
    return jsonify(
        {
            "decisions": [decision_json(d, s) for d, s in rows],
            "next_cursor": f"c_{next_seq}",
            "has_more": has_more,
        }
    )
