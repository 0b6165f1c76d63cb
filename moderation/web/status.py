"""``GET /v1/status``: the public status page (Decree 64/2007/ND-CP Art. 16).

No authentication: platforms and their users read it when the service misbehaves. It lists the announcements in
force and those coming (planned maintenance is announced at least seven working days ahead; an unplanned outage
carries its expected recovery time) and the health of each component. It answers even when the database is down,
and caches its answer for a few seconds so it cannot be used to load the database.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import func, select, text

from moderation.store.base import utcnow
from moderation.store.models import Submission
from moderation.store.status import announcement_json, current_and_upcoming

bp = Blueprint("status", __name__, url_prefix="/v1")

OPERATIONAL, DEGRADED, MAINTENANCE, OUTAGE = "operational", "degraded", "maintenance", "outage"
CACHE_SECONDS = 2.0
_cache_lock = threading.Lock()


def _iso(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def build_status(app: Flask, now: dt.datetime | None = None) -> dict[str, Any]:
    """Compute the status document (components and announcements) for ``app``."""
    now = now or utcnow()
    rt = app.extensions["moderation"]
    components: dict[str, str] = {"api": OPERATIONAL}
    current: list[dict[str, Any]] = []
    upcoming: list[dict[str, Any]] = []
    try:
        with rt.sessions() as session:
            session.execute(text("SELECT 1"))
            components["database"] = OPERATIONAL
            late = session.scalar(
                select(func.count())
                .select_from(Submission)
                .where(
                    Submission.status.in_(("received", "processing")),
                    Submission.updated_at < now - dt.timedelta(seconds=rt.settings.stuck_after_s),
                )
            )
            components["classification"] = DEGRADED if late else OPERATIONAL
            cur, up = current_and_upcoming(session, now)
            current = [announcement_json(a) for a in cur]
            upcoming = [announcement_json(a) for a in up]
    except Exception:  # the page must answer whatever is down
        components["database"] = OUTAGE
        components["classification"] = OUTAGE
    broker_check = app.extensions.get("moderation.broker_check")
    if broker_check is not None:
        try:
            broker_check()
            components["broker"] = OPERATIONAL
        except Exception:
            components["broker"] = OUTAGE
            if components["classification"] == OPERATIONAL:
                components["classification"] = DEGRADED
    if any(v == OUTAGE for v in components.values()) or any(a["kind"] == "unplanned" for a in current):
        overall = OUTAGE
    elif any(a["kind"] == "planned" for a in current):
        overall = MAINTENANCE
    elif any(v == DEGRADED for v in components.values()):
        overall = DEGRADED
    else:
        overall = OPERATIONAL
    return {
        "status": overall,
        "components": components,
        "current": current,
        "upcoming": upcoming,
        "generated_at": _iso(now),
    }


@bp.get("/status")
def status() -> Response:
    """Current and upcoming announcements and component health (public)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    ttl = float(app.config.get("STATUS_CACHE_SECONDS", CACHE_SECONDS))
    with _cache_lock:
        cached: tuple[float, dict[str, Any]] | None = app.extensions.get("moderation.status_cache")
        if cached is None or time.monotonic() - cached[0] >= ttl:
            cached = (time.monotonic(), build_status(app))
            app.extensions["moderation.status_cache"] = cached
    response = jsonify(cached[1])
    response.headers["Cache-Control"] = f"public, max-age={max(0, int(ttl))}"
    return response


def banner(app: Flask) -> list[dict[str, Any]]:
    """Announcements for the console's banner: those in force and those starting within a week (cached)."""
    ttl = float(app.config.get("STATUS_CACHE_SECONDS", CACHE_SECONDS))
    with _cache_lock:
        cached: tuple[float, list[dict[str, Any]]] | None = app.extensions.get("moderation.status_banner")
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
    now = utcnow()
    try:
        with app.extensions["moderation"].sessions() as session:
            current, upcoming = current_and_upcoming(session, now, horizon_days=BANNER_DAYS)
        rows = [{**announcement_json(a), "in_force": True} for a in current]
        rows += [{**announcement_json(a), "in_force": False} for a in upcoming]
    except Exception:  # a console page must render whatever is down
        rows = []
    with _cache_lock:
        app.extensions["moderation.status_banner"] = (time.monotonic(), rows)
    return rows


BANNER_DAYS = 7


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.context_processor
    def _status_banner() -> dict[str, Any]:
        # A function, so only the templates that show the banner (the console's base) pay for it.
        return {"status_banner": lambda: banner(app)}


_ANNOUNCEMENT = {
    "type": "object",
    "required": ["id", "kind", "starts_at", "ends_at", "expected_recovery", "message_vi", "message_en"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string", "enum": ["planned", "unplanned"]},
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": ["string", "null"], "format": "date-time", "description": "null: not over yet"},
        "expected_recovery": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "unplanned outages: when service is expected back",
        },
        "message_vi": {"type": "string"},
        "message_en": {"type": "string"},
        "components": {"type": "array", "items": {"type": "string"}},
        "announced_at": {"type": "string", "format": "date-time"},
        "notice_working_days": {
            "type": ["integer", "null"],
            "description": "planned work: Vietnamese working days between announcement and start",
        },
        "late_notice": {"type": "boolean", "description": "planned work announced under 7 working days ahead"},
    },
}
_LEVEL = {"type": "string", "enum": [OPERATIONAL, DEGRADED, MAINTENANCE, OUTAGE]}


def openapi_schemas() -> dict[str, Any]:
    return {
        "Announcement": _ANNOUNCEMENT,
        "ServiceStatus": {
            "type": "object",
            "required": ["status", "components", "current", "upcoming", "generated_at"],
            "properties": {
                "status": _LEVEL,
                "components": {"type": "object", "additionalProperties": _LEVEL},
                "current": {"type": "array", "items": {"$ref": "#/components/schemas/Announcement"}},
                "upcoming": {"type": "array", "items": {"$ref": "#/components/schemas/Announcement"}},
                "generated_at": {"type": "string", "format": "date-time"},
            },
        },
    }


def openapi_paths() -> dict[str, Any]:
    return {
        "/v1/status": {
            "get": {
                "summary": "Service status: planned maintenance (announced 7 working days ahead, Decree 64/2007 "
                "Art. 16), outages with their expected recovery time, component health",
                "operationId": "get_status",
                "tags": ["status"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "The status document (public, cached for a few seconds)",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ServiceStatus"}}},
                    }
                },
            }
        }
    }
