"""Registries API: a platform registers, lists and removes the works and entities it protects (its own scope).

Registrations apply to the registering platform's items only; the classifier sees a change on its next item (the
registries' fingerprint changes). Every write is audited and a rejected request writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from moderation import schemas_registries as schemas
from moderation.detect.identity import ProtectedEntity as EntityValue
from moderation.detect.works import Work as WorkValue
from moderation.errors import not_found, unprocessable
from moderation.services import audit
from moderation.store import registries as store
from moderation.web.api import _json_body
from moderation.web.auth import platform_required

bp = Blueprint("api_registries", __name__, url_prefix="/v1")

MAX_PAGE = 500


def _time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _work_json(row: store.Work) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "rights_holder": row.rights_holder,
        "licence": row.licence,
        "source_url": row.source_url,
        "shingles": row.shingle_count,
        "registered_at": _time(row.registered_at),
    }


def _entity_json(row: store.ProtectedEntity) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "kind": row.kind,
        "handles": list(row.handles or ()),
        "domains": list(row.domains or ()),
        "aliases": list(row.aliases or ()),
        "updated_at": _time(row.updated_at),
    }


def _audit(action: str, object_type: str, object_id: str, details: dict[str, Any]) -> None:
    audit.record(
        g.db,
        actor=f"platform:{g.platform.id}",
        action=action,
        object_type=object_type,
        object_id=object_id,
        platform_id=g.platform.id,
        details=details,
    )


def _own_work(work_id: str) -> store.Work | None:
    row: store.Work | None = g.db.scalars(
        select(store.Work).where(store.Work.platform_id == g.platform.id, store.Work.id == work_id)
    ).one_or_none()
    return row


def _own_entity(entity_id: str) -> store.ProtectedEntity | None:
    row: store.ProtectedEntity | None = g.db.scalars(
        select(store.ProtectedEntity).where(
            store.ProtectedEntity.platform_id == g.platform.id, store.ProtectedEntity.id == entity_id
        )
    ).one_or_none()
    return row


def _page_args() -> tuple[int, int]:
    raw_after, raw_limit = request.args.get("after", "0"), request.args.get("limit", "100")
    if not raw_after.isdigit():
        raise unprocessable("invalid_value", "after: not a cursor returned by this API", "after")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_PAGE:
        raise unprocessable("invalid_value", f"limit: an integer from 1 to {MAX_PAGE}", "limit")
    return int(raw_after), int(raw_limit)


@bp.post("/works")
@platform_required
def register_work() -> ResponseReturnValue:
    payload = schemas.validate("work", _json_body())
    current = _own_work(payload["id"])
    existed = current is not None
    work = WorkValue(
        id=payload["id"],
        title=payload["title"],
        body=payload["body"],
        rights_holder=payload.get("rights_holder", ""),
        licence=payload.get("licence", ""),
        platform_id=g.platform.id,  # never taken from the body: a platform registers for itself only
        source_url=payload.get("source_url", ""),
    )
    fields = ("title", "body", "rights_holder", "licence", "source_url")
    if current is not None and all(getattr(current, f) == getattr(work, f) for f in fields):
        # The same registration again (a retry or a replay): nothing changes, nothing is written or audited.
        return jsonify({"id": work.id, "kind": "work", "created": False, "shingles": current.shingle_count}), 200
    store.register_works(g.db, [work])
    row = _own_work(work.id)
    assert row is not None
    _audit(
        "work.update" if existed else "work.register",
        "work",
        work.id,
        {
            "title": work.title,
            "licence": work.licence,
            "rights_holder": work.rights_holder,
            "shingles": row.shingle_count,
        },
    )
    g.db.commit()
    body = {"id": work.id, "kind": "work", "created": not existed, "shingles": row.shingle_count}
    return jsonify(body), 200 if existed else 201


def _page(model: type[store.Work] | type[store.ProtectedEntity], to_json: Callable[[Any], Any]) -> ResponseReturnValue:
    """One page of the platform's own rows of ``model``, in registration order, with the cursor of the next."""
    after, limit = _page_args()
    rows = g.db.scalars(
        select(model).where(model.platform_id == g.platform.id, model.seq > after).order_by(model.seq).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonify({"items": [to_json(r) for r in rows], "next": str(rows[-1].seq) if more else None})


@bp.get("/works")
@platform_required
def list_works() -> ResponseReturnValue:
    return _page(store.Work, _work_json)


@bp.get("/works/<work_id>")
@platform_required
def get_work(work_id: str) -> ResponseReturnValue:
    row = _own_work(work_id)
    if row is None:
        raise not_found("no work with this id for this platform")
    return jsonify(_work_json(row))


@bp.delete("/works/<work_id>")
@platform_required
def delete_work(work_id: str) -> ResponseReturnValue:
    row = _own_work(work_id)
    if row is None:
        raise not_found("no work with this id for this platform")
    g.db.delete(row)
    _audit("work.delete", "work", work_id, {"title": row.title})
    g.db.commit()
    return "", 204


@bp.post("/entities")
@platform_required
def register_entity() -> ResponseReturnValue:
    payload = schemas.validate("entity", _json_body())
    current = _own_entity(payload["id"])
    existed = current is not None
    entity = EntityValue(
        id=payload["id"],
        name=payload["name"],
        kind=payload.get("kind", "organisation"),
        handles=tuple(payload.get("handles", ())),
        domains=tuple(payload.get("domains", ())),
        aliases=tuple(payload.get("aliases", ())),
        platform_id=g.platform.id,  # never taken from the body
        source=f"platform {g.platform.id}",
    )
    if current is not None and (
        current.name,
        current.kind,
        *map(tuple, (current.handles or (), current.domains or (), current.aliases or ())),
    ) == (entity.name, entity.kind, entity.handles, entity.domains, entity.aliases):
        # The same registration again (a retry or a replay): nothing changes, nothing is written or audited.
        return jsonify({"id": entity.id, "kind": "entity", "created": False}), 200
    store.upsert_entities(g.db, [entity])
    _audit(
        "entity.update" if existed else "entity.register",
        "entity",
        entity.id,
        {"name": entity.name, "kind": entity.kind, "domains": list(entity.domains)},
    )
    g.db.commit()
    return jsonify({"id": entity.id, "kind": "entity", "created": not existed}), 200 if existed else 201


@bp.get("/entities")
@platform_required
def list_entities() -> ResponseReturnValue:
    return _page(store.ProtectedEntity, _entity_json)


@bp.get("/entities/<entity_id>")
@platform_required
def get_entity(entity_id: str) -> ResponseReturnValue:
    row = _own_entity(entity_id)
    if row is None:
        raise not_found("no entity with this id for this platform")
    return jsonify(_entity_json(row))


@bp.delete("/entities/<entity_id>")
@platform_required
def delete_entity(entity_id: str) -> ResponseReturnValue:
    row = _own_entity(entity_id)
    if row is None:
        raise not_found("no entity with this id for this platform")
    g.db.delete(row)
    _audit("entity.delete", "entity", entity_id, {"name": row.name})
    g.db.commit()
    return "", 204


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
