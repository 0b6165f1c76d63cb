"""JSON rendering of a frozen report, and validation against the shipped JSON Schema."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from moderation.reports.freeze import FrozenReport

SCHEMA_FILE = Path(__file__).resolve().parent.parent / "data" / "report.schema.json"


@cache
def report_schema() -> dict[str, Any]:
    """Return the JSON Schema of a frozen report (data/report.schema.json)."""
    schema: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return schema


def validate_report_json(data: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``data`` is a well-formed frozen report."""
    jsonschema.validate(data, report_schema(), cls=jsonschema.Draft202012Validator)


def render_json(report: FrozenReport) -> bytes:
    """Return the frozen report as indented UTF-8 JSON (Vietnamese text kept readable)."""
    data = report.to_json()
    validate_report_json(data)
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()
