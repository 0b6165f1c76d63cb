"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Request, Response, g, jsonify, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from moderation.config import Settings, load_settings
from moderation.errors import ApiError
from moderation.observability import configure_logging, init_sentry
from moderation.web.runtime import RecordingQueue, Runtime, TaskQueue

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
    503: "unavailable",
}


class CookielessApiSessions(SecureCookieSessionInterface):
    """The platform APIs authenticate each request by its signature, never by a cookie: their requests skip the
    cookie session (reading and verifying a cookie, ~40 us a request), the console's keep it."""

    PREFIXES = ("/v1/", "/1.1/")

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(self.PREFIXES):
            return None  # Flask uses a NullSession: readable, empty, never saved
        return super().open_session(app, request)


def create_app(
    settings: Settings | None = None,
    *,
    queue: TaskQueue | None = None,
    celery_app: Any = None,
    configure_logs: bool = False,
    **overrides: Any,
) -> Flask:
    """Build the web application.

    ``queue`` receives enqueued work; by default a Celery queue on the configured broker. Tests pass a
    ``RecordingQueue`` and run tasks as plain functions.
    """
    settings = settings or load_settings(**overrides)
    if configure_logs:
        configure_logging(settings.log_level, settings.log_json)
    init_sentry(settings.sentry_dsn, settings.sentry_environment)

    app = Flask(__name__)
    app.session_interface = CookielessApiSessions()
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        JSON_SORT_KEYS=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    if queue is None:
        if celery_app is None:
            from workers.celery_app import make_celery

            celery_app = make_celery(settings)
        from moderation.web import broker
        from moderation.web.runtime import CeleryQueue

        broker.use_for(celery_app)  # one Redis client per channel, not one per publish

        queue = CeleryQueue(celery_app)
        app.extensions["moderation.broker_check"] = lambda: _check_broker(celery_app)
    rt = Runtime.build(settings, queue)
    app.extensions["moderation"] = rt
    if settings.rate_limit_per_minute > 0:
        from moderation.web.auth import TokenBucket

        app.extensions["moderation.ratelimit"] = TokenBucket(settings.rate_limit_per_minute)

    @app.before_request
    def _open_session() -> None:
        g.db = rt.sessions()

    @app.teardown_request
    def _close_session(exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()

    _register_errors(app)

    from moderation.web import akismet, api, docs, ops

    app.register_blueprint(api.bp)
    app.register_blueprint(akismet.bp)
    app.register_blueprint(ops.bp)
    for module_name in OPTIONAL_BLUEPRINTS:
        _register_optional(app, module_name)
    docs.register(app)
    ops.install_metrics(app)
    return app


# Parts of the app that live in their own modules; each exposes ``init_app(app)``.
OPTIONAL_BLUEPRINTS = (
    "moderation.web.api_workflow",  # /v1/authority-requests, /v1/notices, /v1/appeals
    "moderation.web.api_registries",  # /v1/works, /v1/entities
    "moderation.web.api_reports",  # /v1/reports
    "moderation.web.rules",  # /rules, the public rules page (Circular 07/2008 §5.1)
    "moderation.web.status",  # /v1/status, maintenance announcements (Decree 64/2007 Art. 16)
    "moderation.web.console",  # the moderators' console
)


def _register_optional(app: Flask, module_name: str) -> None:
    import importlib

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return
        raise
    module.init_app(app)


def _check_broker(celery_app: Any) -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _error_response(
    status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    response = jsonify({"error": {"code": code, "message": message, "field": field}})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _rollback() -> None:
    session = g.get("db")
    if session is not None:
        session.rollback()


def _register_errors(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        _rollback()  # a rejected request writes nothing
        return _error_response(exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_exc: RequestEntityTooLarge) -> Response:
        _rollback()
        limit = app.config["MAX_CONTENT_LENGTH"]
        return _error_response(413, "payload_too_large", f"the body is over the limit of {limit} bytes")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        _rollback()
        status = exc.code or 500
        return _error_response(status, _HTTP_CODES.get(status, "http_error"), exc.description or exc.name)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        _rollback()
        from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        # Unreachable, restarting or overloaded database (refused connections, lost connections, an exhausted pool):
        # 503 so platforms retry. Integrity or data errors stay 500s: they are bugs.
        unavailable = (OperationalError, InterfaceError, PoolTimeout)
        if isinstance(exc, unavailable) or (isinstance(exc, DBAPIError) and exc.connection_invalidated):
            log.warning("database unavailable", extra={"path": request.path, "error": type(exc).__name__})
            return _error_response(
                503, "unavailable", "the database is unavailable; retry later", headers={"Retry-After": "5"}
            )
        log.exception("unhandled error", extra={"path": request.path})
        return _error_response(500, "internal_error", "internal error; it has been logged")


__all__ = ["RecordingQueue", "create_app"]
