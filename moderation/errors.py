"""Errors the service reports to its callers, each with an HTTP status and a machine-readable code."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", "field"}}`` with ``status``."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


def bad_request(code: str, message: str, field: str | None = None) -> ApiError:
    return ApiError(400, code, message, field)


def unprocessable(code: str, message: str, field: str | None = None) -> ApiError:
    return ApiError(422, code, message, field)


def not_found(message: str = "no such object") -> ApiError:
    return ApiError(404, "not_found", message)


def check_schema(
    validator: Any, payload: Any, *, nested_missing_path: bool = False, unknown_field: bool = False
) -> dict[str, Any]:
    """Return ``payload`` if a JSON Schema ``validator`` (``jsonschema``) finds nothing wrong with it, or raise the
    API error for the first problem it finds.

    A body that is not an object, or a value of the wrong type, is 400 ``invalid_type``; a missing property is 422
    ``missing_field``, named alone or, with ``nested_missing_path``, after the object it is missing from; with
    ``unknown_field``, a property the schema does not define is 422 ``unknown_field``; anything else is 422
    ``invalid_value``. Type errors are reported first, then the errors in path order.
    """
    if not isinstance(payload, dict):
        raise bad_request("invalid_type", "body must be a JSON object")
    errors = sorted(validator.iter_errors(payload), key=lambda e: (e.validator != "type", list(e.path)))
    if not errors:
        return payload
    err = errors[0]
    path = ".".join(str(p) for p in err.absolute_path) or None
    if err.validator == "type":
        raise bad_request("invalid_type", f"{path or 'body'}: {err.message}", path)
    if err.validator == "required":
        missing = err.message.split("'")[1] if "'" in err.message else None
        field = f"{path}.{missing}" if nested_missing_path and path and missing else missing
        raise unprocessable("missing_field", err.message, field)
    if unknown_field and err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        name = ".".join(p for p in (path, extra[0] if extra else None) if p) or None
        raise unprocessable("unknown_field", f"{name}: unknown field", name)
    raise unprocessable("invalid_value", f"{path or 'body'}: {err.message}", path)
