"""JSON Schemas of the workflow API (authority requests, notices, appeals, statements of reasons) and its OpenAPI
paths, merged by the lead into ``/openapi.json``.

The schemas check shapes and types (a wrong type is a 400, a missing field a 422 ``missing_field``); the pure core
checks meaning (dates, hashes, deadlines) and reports every field error.
"""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from moderation.errors import check_schema

_STR = {"type": "string", "minLength": 1, "maxLength": 500}
_ID = {"type": "string", "minLength": 1, "maxLength": 200}
_TARGET = {"type": "string", "minLength": 1, "maxLength": 2000, "description": "The platform's post id, or its URL"}
_TIME = {"type": "string", "maxLength": 64, "description": "RFC 3339 with an offset"}
_NTIME = {"type": ["string", "null"], "maxLength": 64}
_CITATION = {
    "type": "object",
    "required": ["instrument"],
    "properties": {
        "instrument": _STR,
        "article": {"type": ["string", "null"], "maxLength": 50},
        "clause": {"type": ["string", "null"], "maxLength": 50},
        "point": {"type": ["string", "null"], "maxLength": 50},
    },
}

AUTHORITY_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["issuing_body", "document_number", "document_date", "targets", "legal_basis"],
    "properties": {
        "issuing_body": {**_STR, "description": "Cơ quan ban hành, e.g. Bộ Thông tin và Truyền thông"},
        "document_number": {"type": "string", "minLength": 1, "maxLength": 200},
        "document_date": {"type": "string", "maxLength": 10, "description": "YYYY-MM-DD"},
        "received_at": {**_TIME, "description": "When the platform received it (default: now); the clock starts here"},
        "targets": {"type": "array", "items": _TARGET, "minItems": 1, "maxItems": 10000},
        "legal_basis": _CITATION,
        "deadline_hours": {"type": "number", "description": "Default from the regime's enforcement data (24 h)"},
        "regime": {"type": "string", "maxLength": 100, "description": "Pack id whose deadlines apply"},
        "attachments": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "required": ["sha256"],
                "properties": {"name": {"type": "string", "maxLength": 500}, "sha256": {"type": "string"}},
            },
        },
    },
}

CONFIRMATION: dict[str, Any] = {
    "type": "object",
    "properties": {
        "targets": {"type": "array", "items": _TARGET, "maxItems": 10000, "description": "Default: all decided"},
        "acted_at": {**_TIME, "description": "When the content was removed (default: now)"},
    },
}

NOTICE_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["notifier", "targets", "explanation", "good_faith"],
    "properties": {
        "notifier": {
            "type": "object",
            "required": ["name", "capacity"],
            "properties": {
                "id": {**_ID, "description": "The platform's id for the notifier, if a user"},
                "name": _STR,
                "contact": {"type": "string", "minLength": 3, "maxLength": 500},
                "capacity": {
                    "type": "string",
                    "enum": ["user", "affected_person", "rights_holder", "trusted_organisation"],
                },
            },
        },
        "targets": {"type": "array", "items": _TARGET, "minItems": 1, "maxItems": 100},
        "category": {"type": "string", "minLength": 1, "maxLength": 100, "description": "Category claimed"},
        "explanation": {"type": "string", "minLength": 1, "maxLength": 10000},
        "work": {
            "type": "object",
            "description": "For intellectual-property claims: the work concerned",
            "required": ["title"],
            "properties": {"title": _STR, "owner": _STR, "url": _TARGET, "registration": _STR},
        },
        "good_faith": {
            "type": "boolean",
            "description": "The notifier states the notice is accurate and in good faith",
        },
    },
}

APPEAL_REQUEST: dict[str, Any] = {
    "type": "object",
    "required": ["decision_id", "appellant_id", "grounds"],
    "properties": {
        "decision_id": {"type": "string", "minLength": 1, "maxLength": 40},
        "appellant_id": {**_ID, "description": "The author's id on the platform"},
        "grounds": {"type": "string", "minLength": 1, "maxLength": 10000},
        "complex": {"type": "boolean", "default": False, "description": "30 working days instead of 10"},
    },
}

AUTHORITY_STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status", "due_at", "overdue", "targets"],
    "properties": {
        "id": {"type": "string"},
        "issuing_body": {"type": "string"},
        "document_number": {"type": "string"},
        "document_date": {"type": "string"},
        "received_at": {"type": "string"},
        "deadline_hours": {"type": "number"},
        "due_at": {"type": "string"},
        "regime": {"type": "string"},
        "legal_basis": {"type": "object"},
        "attachments": {"type": "array"},
        "status": {"type": "string", "enum": ["open", "overdue", "complete"]},
        "overdue": {"type": "boolean"},
        "overdue_targets": {"type": "array", "items": {"type": "string"}},
        "compliance_rate": {"type": ["number", "null"]},
        "targets": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["target", "status", "due_at", "overdue"],
                "properties": {
                    "target": {"type": "string"},
                    "status": {"type": "string", "enum": ["unresolved", "decided", "acted"]},
                    "submission_id": {"type": ["string", "null"]},
                    "decision_id": {"type": ["string", "null"]},
                    "in_force": {"type": "boolean"},
                    "due_at": {"type": "string"},
                    "acted_at": _NTIME,
                    "overdue": {"type": "boolean"},
                    "time_to_act_s": {"type": ["number", "null"]},
                },
            },
        },
    },
}

NOTICE_STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["id", "status", "notifier", "targets", "outcome"],
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string", "enum": ["triaged", "decided"]},
        "received_at": {"type": "string"},
        "due_at": {"type": "string"},
        "priority": {"type": "integer"},
        "category": {"type": ["string", "null"]},
        "notifier": {
            "type": "object",
            "required": ["unfounded_notices", "flagged"],
            "properties": {
                "name": {"type": "string"},
                "capacity": {"type": "string"},
                "notices": {"type": "integer"},
                "founded_notices": {"type": "integer"},
                "unfounded_notices": {"type": "integer"},
                "flagged": {"type": "boolean"},
            },
        },
        "targets": {"type": "array", "items": {"type": "object"}},
        "outcome": {"type": ["string", "null"], "enum": ["actioned", "rejected", "not_found", None]},
        "outcome_reason": {"type": ["string", "null"]},
        "decided_at": _NTIME,
    },
}

APPEAL_STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["id", "decision_id", "status", "due_at", "outcome", "reason", "decision_in_force"],
    "properties": {
        "id": {"type": "string"},
        "decision_id": {"type": "string"},
        "appellant_id": {"type": "string"},
        "grounds": {"type": "string"},
        "complex": {"type": "boolean"},
        "status": {"type": "string", "enum": ["pending", "upheld", "reversed"]},
        "filed_at": {"type": "string"},
        "due_at": {"type": "string", "description": "End of the last working day (Vietnam time), in UTC"},
        "overdue": {"type": "boolean"},
        "outcome": {"type": ["string", "null"], "enum": ["upheld", "reversed", None]},
        "reason": {"type": ["string", "null"]},
        "decided_at": _NTIME,
        "late": {"type": ["boolean", "null"]},
        "decision_in_force": {"type": ["string", "null"]},
        "decision_in_force_action": {"type": ["string", "null"]},
        "superseding_decision_id": {"type": ["string", "null"]},
    },
}

STATEMENT: dict[str, Any] = {
    "type": "object",
    "required": ["id", "decision_id", "action", "grounds", "source", "text"],
    "properties": {
        "id": {"type": "string", "description": "sor_ + content digest"},
        "decision_id": {"type": "string"},
        "subject": {"type": "object"},
        "action": {"type": "string"},
        "scope": {"type": "string"},
        "grounds": {"type": "array", "items": {"type": "object"}},
        "automated_detection": {"type": "boolean"},
        "automated_decision": {"type": "string"},
        "actor": {"type": "object"},
        "source": {"type": "string"},
        "source_ref": {"type": ["string", "null"]},
        "decided_at": {"type": "string"},
        "effective_at": {"type": "string"},
        "deadline": _NTIME,
        "remedies": {"type": "array"},
        "reason": {"type": "string"},
        "supersedes": {"type": ["string", "null"]},
        "pack_versions": {"type": "object"},
        "information": {"type": "object"},
        "text": {"type": "string", "description": "Bilingual rendering for the author"},
    },
}

_VALIDATORS = {
    "authority_request": Draft202012Validator(AUTHORITY_REQUEST),
    "confirmation": Draft202012Validator(CONFIRMATION),
    "notice": Draft202012Validator(NOTICE_REQUEST),
    "appeal": Draft202012Validator(APPEAL_REQUEST),
}


def validate(kind: str, payload: Any) -> dict[str, Any]:
    """Check ``payload`` against the schema for ``kind``: wrong types are 400, other problems 422."""
    return check_schema(_VALIDATORS[kind], payload, nested_missing_path=True)


def _ref(name: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": _ref("Error")}


_WRITE_ERRORS = {
    "400": _error("Malformed JSON or a wrong type"),
    "401": _error("Missing key, unknown key, bad signature or stale timestamp"),
    "403": _error("Platform disabled, or not allowed (`not_the_author`)"),
    "404": _error("No such object for this platform"),
    "409": _error("Conflict with the object's state (`appeal_pending`, `decision_superseded` …)"),
    "413": _error("Body over the size limit"),
    "415": _error("Not application/json"),
    "422": _error("Semantically invalid (`missing_field`, `invalid_value` …)"),
    "429": _error("Rate limit"),
}
_READ_ERRORS = {k: _WRITE_ERRORS[k] for k in ("401", "403", "404", "429")}


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def openapi_schemas() -> dict[str, Any]:
    """Component schemas to merge into the OpenAPI document."""
    return {
        "AuthorityRequestCreate": AUTHORITY_REQUEST,
        "AuthorityRequestStatus": AUTHORITY_STATUS,
        "AuthorityConfirmation": CONFIRMATION,
        "NoticeCreate": NOTICE_REQUEST,
        "NoticeStatus": NOTICE_STATUS,
        "AppealCreate": APPEAL_REQUEST,
        "AppealStatus": APPEAL_STATUS,
        "StatementOfReasons": STATEMENT,
    }


def _create(summary: str, op_id: str, tag: str, request: str, response: str, *, idempotent: bool = False) -> Any:
    responses: dict[str, Any] = {"201": {"description": "Recorded", "content": _ref(response)}}
    if idempotent:
        responses["200"] = {"description": "Recorded before: the existing object", "content": _ref(response)}
    return {
        "post": {
            "summary": summary,
            "operationId": op_id,
            "tags": [tag],
            "requestBody": {"required": True, "content": _ref(request)},
            "responses": {**responses, **_WRITE_ERRORS},
        }
    }


def _read(summary: str, op_id: str, tag: str, param: str, response: str) -> Any:
    return {
        "get": {
            "summary": summary,
            "operationId": op_id,
            "tags": [tag],
            "parameters": [_path_param(param)],
            "responses": {"200": {"description": "Found", "content": _ref(response)}, **_READ_ERRORS},
        }
    }


def openapi_paths() -> dict[str, Any]:
    """Paths to merge into the OpenAPI document."""
    confirm = {
        "post": {
            "summary": "Confirm that targets were removed (stops their SLA clock)",
            "operationId": "confirm_authority_request",
            "tags": ["authority"],
            "parameters": [_path_param("request_id")],
            "requestBody": {"required": False, "content": _ref("AuthorityConfirmation")},
            "responses": {
                "200": {"description": "Updated", "content": _ref("AuthorityRequestStatus")},
                **_WRITE_ERRORS,
            },
        }
    }
    return {
        "/v1/authority-requests": _create(
            "Record a competent authority's removal request (Circular 07/2008 §5.4)",
            "create_authority_request",
            "authority",
            "AuthorityRequestCreate",
            "AuthorityRequestStatus",
            idempotent=True,
        ),
        "/v1/authority-requests/{request_id}": _read(
            "Status per target: due, overdue, time to act",
            "get_authority_request",
            "authority",
            "request_id",
            "AuthorityRequestStatus",
        ),
        "/v1/authority-requests/{request_id}/confirmations": confirm,
        "/v1/notices": _create(
            "Send a notice about content (acknowledged at once, triaged for review)",
            "create_notice",
            "notices",
            "NoticeCreate",
            "NoticeStatus",
        ),
        "/v1/notices/{notice_id}": _read(
            "The notice's outcome and reason", "get_notice", "notices", "notice_id", "NoticeStatus"
        ),
        "/v1/appeals": _create(
            "Appeal a decision on the author's behalf (it stays in force while pending)",
            "create_appeal",
            "appeals",
            "AppealCreate",
            "AppealStatus",
        ),
        "/v1/appeals/{appeal_id}": _read(
            "The appeal's status, deadline, outcome and reason", "get_appeal", "appeals", "appeal_id", "AppealStatus"
        ),
        "/v1/decisions/{decision_id}/statement": _read(
            "The statement of reasons of a decision", "get_statement", "decisions", "decision_id", "StatementOfReasons"
        ),
    }
