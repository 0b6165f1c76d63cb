"""JSON Schemas and OpenAPI entries of the registries API: protected works (§3.3, §3.5) and entities (§3.2).

A platform's registrations are scoped to that platform: its works and entities are checked against its own items
only (one tenant cannot change another's decisions). Works and entities protected on every platform are registered
by the operator with ``moderation works register`` / ``moderation entities add`` (no ``--platform``).
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator

from moderation.errors import check_schema, unprocessable

_ID = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"^[^\s/\x00]+$"}
_NAMES = {
    "type": "array",
    "items": {"type": "string", "minLength": 1, "maxLength": 500},
    "maxItems": 100,
    "uniqueItems": True,
}

WORK_REQUEST: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "title", "body"],
    "properties": {
        "id": {**_ID, "description": "The platform's id of the work; registering the same id again updates it."},
        "title": {"type": "string", "minLength": 1, "maxLength": 1000},
        "body": {"type": "string", "minLength": 1, "maxLength": 2_000_000, "description": "The work's text."},
        "rights_holder": {
            "type": "string",
            "maxLength": 500,
            "description": "Who holds the rights; a post naming them credits the work",
        },
        "licence": {
            "type": "string",
            "maxLength": 100,
            "description": "all-rights-reserved (default), CC-BY-4.0, CC0, …: a post that credits a work "
            "under a licence that allows it (Creative Commons) is not flagged; CC0 and public-domain works never are",
        },
        "source_url": {"type": "string", "maxLength": 2000, "description": "Where the work is published"},
    },
}

ENTITY_KINDS = ["agency", "organisation", "public_figure", "brand", "blog", "person"]

ENTITY_REQUEST: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name"],
    "properties": {
        "id": {**_ID, "description": "The platform's id of the entity; registering the same id again updates it."},
        "name": {"type": "string", "minLength": 1, "maxLength": 500},
        "kind": {"type": "string", "enum": ENTITY_KINDS, "default": "organisation"},
        "handles": {**_NAMES, "description": "Account names and handles"},
        "domains": {**_NAMES, "description": "Domains the entity owns (lookalikes of them are flagged)"},
        "aliases": {**_NAMES, "description": "Other names (abbreviations, former names)"},
    },
}

REGISTERED: dict[str, Any] = {
    "type": "object",
    "required": ["id", "kind", "created"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string", "enum": ["work", "entity"]},
        "created": {"type": "boolean"},
        "shingles": {"type": "integer", "description": "Distinct 5-word shingles of a work's body"},
    },
}

WORK: dict[str, Any] = {
    "type": "object",
    "required": ["id", "title", "rights_holder", "licence", "source_url", "shingles", "registered_at"],
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "rights_holder": {"type": "string"},
        "licence": {"type": "string"},
        "source_url": {"type": "string"},
        "shingles": {"type": "integer"},
        "registered_at": {"type": "string"},
    },
}

ENTITY: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "kind", "handles", "domains", "aliases", "updated_at"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "kind": {"type": "string"},
        "handles": {"type": "array", "items": {"type": "string"}},
        "domains": {"type": "array", "items": {"type": "string"}},
        "aliases": {"type": "array", "items": {"type": "string"}},
        "updated_at": {"type": "string"},
    },
}


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "next"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
            "next": {"type": ["string", "null"], "description": "Pass as ?after= for the next page"},
        },
    }


# NUL and unpaired surrogates cannot be stored in PostgreSQL text or encoded as UTF-8.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_VALIDATORS = {"work": Draft202012Validator(WORK_REQUEST), "entity": Draft202012Validator(ENTITY_REQUEST)}


def _strings(value: Any, path: str) -> list[tuple[str, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [pair for i, v in enumerate(value) for pair in _strings(v, f"{path}.{i}")]
    if isinstance(value, dict):
        return [pair for k, v in value.items() for pair in _strings(v, f"{path}.{k}" if path else str(k))]
    return []


def validate(kind: str, payload: Any) -> dict[str, Any]:
    """Check a body; wrong types are 400, missing, unknown or invalid values 422 (as for the intake API)."""
    body = check_schema(_VALIDATORS[kind], payload, unknown_field=True)
    for path, value in _strings(body, ""):
        if _UNSTORABLE.search(value):
            raise unprocessable(
                "invalid_value", f"{path}: NUL characters and unpaired surrogates are not allowed", path
            )
        if not value.strip() and path.split(".")[0] in {"id", "title", "body", "name", "handles", "domains", "aliases"}:
            raise unprocessable("invalid_value", f"{path}: must not be blank", path)
    return body


_ERRORS = {
    "400": "Malformed JSON or a wrong type",
    "401": "Authentication failed",
    "403": "Platform disabled",
    "404": "No such object for this platform",
    "413": "Body over the size limit",
    "415": "Not application/json",
    "422": "Missing, unknown or invalid value",
    "429": "Rate limit",
}


def _json(ref: str) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _errors(*codes: str) -> dict[str, Any]:
    return {code: {"description": _ERRORS[code], **_json("Error")} for code in codes}


def _register_op(summary: str, op_id: str, schema: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "operationId": op_id,
        "tags": ["registry"],
        "requestBody": {"required": True, **_json(schema)},
        "responses": {
            "201": {"description": "Registered", **_json("Registered")},
            "200": {"description": "Updated (same id)", **_json("Registered")},
            **_errors("400", "401", "403", "413", "415", "422", "429"),
        },
    }


_ID_PARAM = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_LIST_PARAMS = [
    {"name": "after", "in": "query", "schema": {"type": "string"}, "description": "Cursor from `next`"},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100}},
]


def _crud(noun: str, schema: str, register_summary: str) -> dict[str, Any]:
    plural = f"{noun}s" if noun == "work" else "entities"
    return {
        f"/v1/{plural}": {
            "post": _register_op(register_summary, f"register_{noun}", f"{schema}Request"),
            "get": {
                "summary": f"List this platform's registered {plural}",
                "operationId": f"list_{plural}",
                "tags": ["registry"],
                "parameters": _LIST_PARAMS,
                "responses": {
                    "200": {"description": "A page", **_json(f"{schema}Page")},
                    **_errors("401", "403", "422", "429"),
                },
            },
        },
        f"/v1/{plural}/{{id}}": {
            "get": {
                "summary": f"One registered {noun}",
                "operationId": f"get_{noun}",
                "tags": ["registry"],
                "parameters": [_ID_PARAM],
                "responses": {"200": {"description": "Found", **_json(schema)}, **_errors("401", "403", "404")},
            },
            "delete": {
                "summary": f"Unregister a {noun} (no longer protected; decisions already made stay)",
                "operationId": f"delete_{noun}",
                "tags": ["registry"],
                "parameters": [_ID_PARAM],
                "responses": {"204": {"description": "Deleted"}, **_errors("401", "403", "404")},
            },
        },
    }


def openapi_schemas() -> dict[str, Any]:
    return {
        "WorkRequest": WORK_REQUEST,
        "EntityRequest": ENTITY_REQUEST,
        "Registered": REGISTERED,
        "Work": WORK,
        "Entity": ENTITY,
        "WorkPage": _page("Work"),
        "EntityPage": _page("Entity"),
    }


def openapi_paths() -> dict[str, Any]:
    return {
        **_crud(
            "work",
            "Work",
            "Register a protected work (press article, book, lyrics) for near-duplicate detection on this "
            "platform's posts (Circular 07/2008 §3.3, §3.5)",
        ),
        **_crud("entity", "Entity", "Register a protected entity of this platform (impersonation, §3.2)"),
    }
