"""JSON Schemas of the intake API's bodies and responses.

One source for three uses: request validation, the OpenAPI document at ``/openapi.json``, and the tests that check
every response against the document.
"""

from __future__ import annotations

from typing import Any

_ID = {"type": "string", "minLength": 1, "maxLength": 200}
_URL = {"type": "string", "minLength": 1, "maxLength": 2000}
_TIME = {"type": "string", "format": "date-time", "maxLength": 64, "description": "RFC 3339"}

_ITEM_PROPS: dict[str, Any] = {
    "id": {**_ID, "description": "The platform's own id of the item."},
    "blog_id": _ID,
    "author_id": _ID,
    "author_name": {
        "type": "string",
        "maxLength": 500,
        "description": "The name the author shows next to the item; checked for impersonation (Circular 07/2008 §3.2).",
    },
    "title": {"type": "string", "maxLength": 2000},
    "body": {"type": "string", "description": "Plain text or HTML (HTML becomes text; its links are kept)."},
    "body_format": {"type": "string", "enum": ["text", "html", "auto"], "default": "auto"},
    "links": {"type": "array", "items": _URL, "maxItems": 500},
    "url": _URL,
    "kind": {
        "type": "string",
        "enum": ["original", "share"],
        "default": "original",
        "description": "original = the author made it; share = a re-post of someone else's content.",
    },
    "shared_from": {"type": "string", "maxLength": 2000},
    "published_at": _TIME,
    "revision": {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
    "language": {"type": "string", "enum": ["vi", "en"], "default": "vi"},
}

POST_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["id", "blog_id", "author_id", "body"],
    "properties": _ITEM_PROPS,
}

COMMENT_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["id", "blog_id", "author_id", "body", "post_id"],
    "properties": {**_ITEM_PROPS, "post_id": _ID},
}

BLOG_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["id", "owner_id"],
    "properties": {
        "id": _ID,
        "owner_id": _ID,
        "name": {"type": "string", "maxLength": 500},
        "display_name": {"type": "string", "maxLength": 500},
        "url": {"type": "string", "maxLength": 2000},
        "created_at": _TIME,
        "status": {"type": "string", "enum": ["active", "suspended", "closed"], "default": "active"},
    },
}

SPAN = {
    "type": "object",
    "description": "Evidence: characters [start, end) of the field as the platform sent it (HTML included), counted "
    "in Unicode code points as Python and PostgreSQL count them, not UTF-16 units (JavaScript: use "
    "Array.from(text).slice(start, end).join('')). text is that slice, for checking.",
    "required": ["start", "end", "text"],
    "properties": {
        "field": {"type": "string"},
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 0},
        "text": {"type": "string"},
    },
}

CATEGORY = {
    "type": "object",
    "description": "A category of a content decision (rule, action, evidence) or, in an account-level "
    "enforcement decision (verdict enforce), an offence counted by the ladder (outcome, basis).",
    "required": ["id"],
    "properties": {
        "id": {"type": "string"},
        "name_vi": {"type": "string"},
        "name_en": {"type": "string"},
        "pack_id": {"type": "string"},
        "pack_version": {"type": "string"},
        "rule": {"type": ["string", "null"]},
        "action": {"type": "string"},
        "mode": {"type": "string"},
        "score": {"type": ["number", "null"]},
        "citation": {"type": "object"},
        "evidence": {"type": "array", "items": SPAN},
        "bracket": {"type": ["object", "null"]},
        "remedies": {"type": "array", "items": {"type": "string"}},
    },
}

DECISION = {
    "type": "object",
    "required": ["id", "submission_id", "verdict", "action", "categories", "pack_versions", "created_at", "source"],
    "properties": {
        "id": {"type": "string"},
        "submission_id": {"type": ["string", "null"]},
        "item": {"type": ["object", "null"]},
        "verdict": {
            "type": "string",
            "enum": ["allow", "review", "remove", "enforce"],
            "description": "enforce = an account-level enforcement decision (warning, suspension), no submission",
        },
        "action": {"type": "string"},
        "labels": {"type": "array", "items": {"type": "string"}},
        "categories": {"type": "array", "items": CATEGORY},
        "pack_versions": {"type": "object", "additionalProperties": {"type": "string"}},
        "source": {"type": "string"},
        "automated_decision": {"type": "string"},
        "reason": {"type": ["string", "null"]},
        "supersedes": {"type": ["string", "null"]},
        "superseded_by": {"type": ["string", "null"]},
        "created_at": {"type": "string"},
    },
}

SUBMISSION_ACCEPTED = {
    "type": "object",
    "required": ["submission_id", "status", "status_url"],
    "properties": {
        "submission_id": {"type": "string"},
        "status": {"type": "string", "enum": ["received", "processing", "decided", "failed"]},
        "status_url": {"type": "string"},
        "decision": {"oneOf": [DECISION, {"type": "null"}]},
    },
}

SUBMISSION_STATUS = {
    "type": "object",
    "required": ["submission_id", "kind", "id", "revision", "status", "received_at"],
    "properties": {
        "submission_id": {"type": "string"},
        "kind": {"type": "string"},
        "id": {"type": "string"},
        "revision": {"type": "integer"},
        "status": {"type": "string", "enum": ["received", "processing", "decided", "failed"]},
        "received_at": {"type": "string"},
        "decided_at": {"type": ["string", "null"]},
        "decision": {"oneOf": [DECISION, {"type": "null"}]},
    },
}

DECISION_PAGE = {
    "type": "object",
    "required": ["decisions", "next_cursor", "has_more"],
    "properties": {
        "decisions": {"type": "array", "items": DECISION},
        "next_cursor": {"type": "string"},
        "has_more": {"type": "boolean"},
    },
}

BLOG_RESPONSE = {
    "type": "object",
    "required": ["blog_id", "id", "status"],
    "properties": {
        "blog_id": {"type": "string"},
        "id": {"type": "string"},
        "status": {"type": "string"},
        "submission_id": {"type": ["string", "null"]},
        "status_url": {"type": ["string", "null"]},
        "created": {"type": "boolean"},
    },
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
        }
    },
}
