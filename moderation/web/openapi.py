"""The OpenAPI 3.1 document of the platform API, built from the same schemas that validate requests."""

from __future__ import annotations

from typing import Any

from moderation import __version__, schemas

_AUTH_DOC = (
    "Every request carries `X-Moderation-Key: <key>`, `X-Moderation-Timestamp: <unix seconds>` and "
    '`X-Moderation-Signature: v1=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<raw request body>")>` '
    "(for GET requests the body is empty). Requests more than 300 s from now are refused. Callbacks to your "
    "`callback_url` are signed the same way with your secret (no key header)."
)


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_COMMON_ERRORS = {
    "400": _error("Malformed JSON, invalid UTF-8 or a wrong type (`malformed_json`, `invalid_utf8`, `invalid_type`)"),
    "401": _error("Missing key, unknown key, bad signature or stale timestamp"),
    "403": _error("Platform disabled"),
    "413": _error("Body over the size limit (`payload_too_large`)"),
    "415": _error("Not application/json"),
    "422": _error("Semantically invalid (`missing_field`, `invalid_value`)"),
    "429": _error("Rate limit for this platform (see Retry-After)"),
}

_READ_ERRORS = {k: v for k, v in _COMMON_ERRORS.items() if k in {"400", "401", "403", "422", "429"}}


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def _submit_op(kind: str, schema: str, summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "operationId": f"create_{kind}",
        "tags": ["intake"],
        "parameters": [
            {
                "name": "sync",
                "in": "query",
                "required": False,
                "schema": {"type": "string", "enum": ["0", "1"]},
                "description": "1 = classify inline and return the decision in the response",
            }
        ],
        "requestBody": {"required": True, "content": _json(schema)},
        "responses": {
            "202": {
                "description": "Accepted: stored, classification queued (or done, with sync=1)",
                "content": _json("SubmissionAccepted"),
            },
            "200": {
                "description": "The same (id, revision) was sent before: the existing submission",
                "content": _json("SubmissionAccepted"),
            },
            **_COMMON_ERRORS,
        },
    }


# Modules that document their own endpoints with ``openapi_paths()`` and ``openapi_schemas()``.
EXTRA_DOCS = (
    "moderation.schemas_workflow",
    "moderation.schemas_reports",
    "moderation.schemas_registries",
    "moderation.web.status",
)


def build_openapi() -> dict[str, Any]:
    import importlib

    document = _base_document()
    for name in EXTRA_DOCS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        document["paths"].update(module.openapi_paths())
        document["components"]["schemas"].update(module.openapi_schemas())
    return document


def _base_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Vietnamese content-moderation API",
            "version": __version__,
            "description": "Intake of posts, comments and blog registrations; decisions with their legal "
            "basis (Circular 07/2008/TT-BTTTT).\n\n" + _AUTH_DOC,
        },
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "platformKey": {"type": "apiKey", "in": "header", "name": "X-Moderation-Key"},
                "signature": {"type": "apiKey", "in": "header", "name": "X-Moderation-Signature"},
                "timestamp": {"type": "apiKey", "in": "header", "name": "X-Moderation-Timestamp"},
            },
            "schemas": {
                "PostRequest": schemas.POST_REQUEST,
                "CommentRequest": schemas.COMMENT_REQUEST,
                "BlogRequest": schemas.BLOG_REQUEST,
                "SubmissionAccepted": schemas.SUBMISSION_ACCEPTED,
                "SubmissionStatus": schemas.SUBMISSION_STATUS,
                "Decision": schemas.DECISION,
                "DecisionPage": schemas.DECISION_PAGE,
                "BlogResponse": schemas.BLOG_RESPONSE,
                "Error": schemas.ERROR,
            },
        },
        "security": [{"platformKey": [], "signature": [], "timestamp": []}],
        "paths": {
            "/v1/posts": {"post": _submit_op("post", "PostRequest", "Submit a blog post (or a new revision of one)")},
            "/v1/comments": {"post": _submit_op("comment", "CommentRequest", "Submit a comment")},
            "/v1/blogs": {
                "post": {
                    "summary": "Register or update a blog in the registry (Circular 07/2008 §5.3)",
                    "operationId": "register_blog",
                    "tags": ["registry"],
                    "requestBody": {"required": True, "content": _json("BlogRequest")},
                    "responses": {
                        "201": {"description": "Registered", "content": _json("BlogResponse")},
                        "200": {"description": "Updated", "content": _json("BlogResponse")},
                        **_COMMON_ERRORS,
                    },
                }
            },
            "/v1/submissions/{submission_id}": {
                "get": {
                    "summary": "Status of a submission and its decision once decided",
                    "operationId": "get_submission",
                    "tags": ["decisions"],
                    "parameters": [
                        {"name": "submission_id", "in": "path", "required": True, "schema": {"type": "string"}}
                    ],
                    "responses": {
                        "200": {"description": "The submission", "content": _json("SubmissionStatus")},
                        "404": _error("No such submission for this platform"),
                        **_READ_ERRORS,
                    },
                }
            },
            "/v1/decisions": {
                "get": {
                    "summary": "Page through this platform's decisions in the order they were made",
                    "operationId": "list_decisions",
                    "tags": ["decisions"],
                    "parameters": [
                        {
                            "name": "since",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "string"},
                            "description": "next_cursor of the previous page",
                        },
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                        },
                    ],
                    "responses": {
                        "200": {"description": "A page of decisions", "content": _json("DecisionPage")},
                        **_READ_ERRORS,
                    },
                }
            },
        },
    }
