"""Workflow API v1: authority requests, notices, appeals and statements of reasons.

Views are thin: parse, validate, call a service, commit, then enqueue callbacks. Every lookup is within the signed
platform: another platform's object is a 404.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, g, jsonify, request
from flask.typing import ResponseReturnValue

from moderation import schemas_workflow as schemas
from moderation.errors import ApiError
from moderation.services import appeals, authority, intake, notices
from moderation.services.workflow import platform_decision, statement_json
from moderation.store.models import Submission
from moderation.web.auth import platform_required, runtime

bp = Blueprint("api_workflow", __name__, url_prefix="/v1")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _json_body(*, optional: bool = False) -> Any:
    raw = request.get_data(cache=True)
    if optional and not raw:
        return {}
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    return intake.parse_json_body(raw)


def _actor() -> str:
    return f"platform:{g.platform.id}"


def _policies_dir() -> Any:
    return runtime().settings.policies_dir


@bp.post("/authority-requests")
@platform_required
def create_authority_request() -> ResponseReturnValue:
    payload = schemas.validate("authority_request", _json_body())
    row, created, _ = authority.create_request(g.db, g.platform, payload, actor=_actor(), policies_dir=_policies_dir())
    body = authority.request_json(g.db, row)
    g.db.commit()  # new callbacks are enqueued by the commit (runtime session hook)
    return jsonify(body), 201 if created else 200


@bp.get("/authority-requests/<request_id>")
@platform_required
def get_authority_request(request_id: str) -> ResponseReturnValue:
    row = authority.platform_request(g.db, g.platform.id, request_id)
    # Items sent after the request are decided now (the periodic check does the same).
    authority.resolve_pending(g.db, row, actor="system:authority")
    body = authority.request_json(g.db, row)
    g.db.commit()  # new callbacks are enqueued by the commit (runtime session hook)
    return jsonify(body)


@bp.post("/authority-requests/<request_id>/confirmations")
@platform_required
def confirm_authority_request(request_id: str) -> ResponseReturnValue:
    row = authority.platform_request(g.db, g.platform.id, request_id)
    payload = schemas.validate("confirmation", _json_body(optional=True))
    authority.confirm(
        g.db,
        row,
        payload.get("targets") or [],
        actor=_actor(),
        acted_at=authority.parse_time(payload.get("acted_at"), "acted_at"),
    )
    body = authority.request_json(g.db, row)
    g.db.commit()
    return jsonify(body)


@bp.post("/notices")
@platform_required
def create_notice() -> ResponseReturnValue:
    payload = schemas.validate("notice", _json_body())
    notice = notices.submit_notice(g.db, g.platform, payload, actor=_actor(), policies_dir=_policies_dir())
    body = notices.notice_json(g.db, notice, policies_dir=_policies_dir())
    g.db.commit()
    return jsonify(body), 201


@bp.get("/notices/<notice_id>")
@platform_required
def get_notice(notice_id: str) -> ResponseReturnValue:
    notice = notices.platform_notice(g.db, g.platform.id, notice_id)
    notices.refresh_notice(g.db, notice)
    body = notices.notice_json(g.db, notice, policies_dir=_policies_dir())
    g.db.commit()
    return jsonify(body)


@bp.post("/appeals")
@platform_required
def create_appeal() -> ResponseReturnValue:
    payload = schemas.validate("appeal", _json_body())
    appeal = appeals.file_appeal(g.db, g.platform, payload, actor=_actor(), policies_dir=_policies_dir())
    body = appeals.appeal_json(g.db, appeal)
    g.db.commit()
    return jsonify(body), 201


@bp.get("/appeals/<appeal_id>")
@platform_required
def get_appeal(appeal_id: str) -> ResponseReturnValue:
    appeal = appeals.platform_appeal(g.db, g.platform.id, appeal_id)
    return jsonify(appeals.appeal_json(g.db, appeal))


@bp.get("/decisions/<decision_id>/statement")
@platform_required
def get_statement(decision_id: str) -> ResponseReturnValue:
    decision = platform_decision(g.db, g.platform.id, decision_id)
    sub = g.db.get(Submission, decision.submission_id) if decision.submission_id else None
    return jsonify(statement_json(decision, sub))
