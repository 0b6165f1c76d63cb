"""OpenAPI description of the reports API (``moderation.web.api_reports``), merged into ``/openapi.json``."""

from __future__ import annotations

from typing import Any

from moderation.reports.render import FORMATS

_FILE_CONTENT = {
    "application/json": {"schema": {"$ref": "#/components/schemas/FrozenReport"}},
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}
    },
    "application/pdf": {"schema": {"type": "string", "format": "binary"}},
}

_HEADERS = {
    "Content-Disposition": {
        "description": "`attachment; filename=…` for csv, xlsx and pdf (`inline` for json)",
        "schema": {"type": "string"},
    },
    "X-Report-Id": {"description": "The stored version (GET /v1/reports/{report_id})", "schema": {"type": "string"}},
    "X-Report-Version": {"description": "Version number within the period", "schema": {"type": "integer"}},
    "X-Report-Sha256": {"description": "SHA-256 of the report's canonical content", "schema": {"type": "string"}},
}


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


_ERRORS = {
    "400": _error("A parameter of the wrong type (`invalid_type`) or an unknown parameter (`unknown_parameter`)"),
    "401": _error("Missing key, unknown key, bad signature or stale timestamp"),
    "403": _error("Platform disabled"),
    "422": _error("A missing or invalid parameter (`missing_field`, `invalid_value`)"),
    "429": _error("Rate limit"),
}

_FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "schema": {"type": "string", "enum": list(FORMATS), "default": "json"},
}
_REGIME = {
    "name": "regime",
    "in": "query",
    "required": False,
    "description": "Reporting calendar (moderation/reports/data/calendars.yaml)",
    "schema": {"type": "string", "default": "vn-circular-07-2008"},
}


def _ok(description: str) -> dict[str, Any]:
    return {"description": description, "headers": _HEADERS, "content": _FILE_CONTENT}


def openapi_paths() -> dict[str, Any]:
    """Paths to merge into the OpenAPI document."""
    return {
        "/v1/reports/semiannual": {
            "get": {
                "summary": "The platform's six-monthly report (Circular 07/2008 §6), computed and stored as a version",
                "operationId": "get_semiannual_report",
                "tags": ["reports"],
                "parameters": [
                    {"name": "year", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 2008}},
                    {
                        "name": "half",
                        "in": "query",
                        "required": True,
                        "description": "1: January-June, 2: July-December (the regime's periods in order)",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2},
                    },
                    _FORMAT,
                    _REGIME,
                ],
                "responses": {"200": _ok("The report in the format asked for"), **_ERRORS},
            }
        },
        "/v1/reports/adhoc": {
            "get": {
                "summary": "An ad-hoc report for any range of days, on request of the competent authority (§6.1)",
                "operationId": "get_adhoc_report",
                "tags": ["reports"],
                "parameters": [
                    {"name": "from", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "required": True, "schema": {"type": "string", "format": "date"}},
                    _FORMAT,
                    _REGIME,
                ],
                "responses": {"200": _ok("The report in the format asked for"), **_ERRORS},
            }
        },
        "/v1/reports/{report_id}": {
            "get": {
                "summary": "A stored version of one of the platform's reports, rendered again",
                "operationId": "get_report",
                "tags": ["reports"],
                "parameters": [
                    {"name": "report_id", "in": "path", "required": True, "schema": {"type": "string"}},
                    _FORMAT,
                ],
                "responses": {
                    "200": _ok("The stored report in the format asked for"),
                    "404": _error("No such report for this platform"),
                    "409": _error("The stored report does not match its SHA-256 (`report_altered`)"),
                    **_ERRORS,
                },
            }
        },
    }


def openapi_schemas() -> dict[str, Any]:
    """Component schemas to merge into the OpenAPI document (the frozen report; its content is documented in
    moderation/reports/data/report.schema.json and docs/reports.md)."""
    return {
        "FrozenReport": {
            "type": "object",
            "required": ["format", "sha256", "document", "content"],
            "properties": {
                "format": {"const": "vn-moderation/frozen-report/1"},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "document": {
                    "type": "object",
                    "properties": {
                        "number": {"type": "string"},
                        "date": {"type": ["string", "null"]},
                        "generated_at": {"type": ["string", "null"]},
                    },
                },
                "content": {
                    "type": "object",
                    "required": ["schema", "period", "as_of", "platform_id", "profile", "figures"],
                    "properties": {
                        "schema": {"const": "vn-moderation/report/1"},
                        "period": {"type": "object"},
                        "as_of": {"type": "string"},
                        "platform_id": {"type": "string"},
                        "profile": {"type": "object"},
                        "figures": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["section", "metric", "dimension", "value", "unit", "id_kind", "ids"],
                                "properties": {
                                    "section": {"type": "string"},
                                    "metric": {"type": "string"},
                                    "dimension": {"type": "string"},
                                    "value": {"type": ["number", "null"]},
                                    "unit": {"enum": ["count", "hours", "ratio"]},
                                    "id_kind": {"type": "string"},
                                    "ids": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        },
                    },
                },
            },
        }
    }
