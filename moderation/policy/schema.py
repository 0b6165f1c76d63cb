"""JSON Schemas for the files of a policy pack.

The schemas check shape and ranges; ``pack.py`` then checks what a schema cannot (duplicate ids, references to
unknown categories, lexicons and patterns, unknown detector functions, regex lint). Condition arguments are checked
against the schema each detector function registers in ``rules.py``.
"""

from __future__ import annotations

from typing import Any

ID_RE = r"^[a-z0-9][a-z0-9_.\-]*$"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
ACTIONS = ["remove", "review", "label"]
MODES = ["enforce", "shadow"]

_ID: dict[str, Any] = {"type": "string", "pattern": ID_RE, "maxLength": 120}
_TEXT: dict[str, Any] = {"type": "string", "minLength": 1}
_PERIOD: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["from"],
    "properties": {
        "from": {"type": "string", "pattern": DATE_RE},
        "until": {"type": ["string", "null"], "pattern": DATE_RE},
        "note": {"type": "string"},
    },
}
_VERIFICATION: dict[str, Any] = {"enum": ["V", "S", "U"]}
_CITATION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["instrument", "article"],
    "properties": {
        "instrument": _TEXT,
        "article": {"type": ["string", "null"]},
        "clause": {"type": ["string", "null"]},
        "point": {"type": ["string", "null"]},
        "url": {"type": "string"},
        "status": {"type": "string"},
        "verification": _VERIFICATION,
        "note": {"type": "string"},
        # The instrument a clause refers to (Circular 07/2008 §3.1 -> Decree 97/2008 Art. 6).
        "via": {
            "type": "object",
            "additionalProperties": False,
            "required": ["instrument", "article"],
            "properties": {
                "instrument": _TEXT,
                "article": {"type": ["string", "null"]},
                "clause": {"type": ["string", "null"]},
                "point": {"type": ["string", "null"]},
                "verification": _VERIFICATION,
            },
        },
    },
}
_BRACKET: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["min_vnd", "max_vnd", "basis"],
    "properties": {
        "min_vnd": {"type": "integer", "minimum": 0},
        "max_vnd": {"type": "integer", "minimum": 0},
        "basis": _TEXT,
        "clause": {"type": ["string", "null"]},
        "verification": _VERIFICATION,
    },
}

PACK_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pack.yaml",
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name", "version_label", "jurisdiction", "status", "effective"],
    "properties": {
        "id": _ID,
        "name": {
            "type": "object",
            "additionalProperties": False,
            "required": ["vi", "en"],
            "properties": {"vi": _TEXT, "en": _TEXT},
        },
        "version_label": _TEXT,
        "jurisdiction": {"type": "string", "pattern": "^[A-Z]{2}$"},
        "status": {"enum": ["in_force", "draft", "repealed"]},
        "status_label": _TEXT,
        "effective": _PERIOD,
        "mode": {"enum": MODES},
        "description": {"type": "string"},
        "instrument": _CITATION,
        "context": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                # cue name (legal, news, discussion) -> the pack lexicon whose hits are that cue
                "cues": {
                    "type": "object",
                    "propertyNames": {"enum": ["legal", "news", "discussion"]},
                    "additionalProperties": _ID,
                },
                "window": {"type": "integer", "minimum": 0, "maximum": 100000},
                "quotation": {"type": "boolean"},
                "downgrade_at": {"type": "integer", "minimum": 1, "maximum": 100},
                "clear_at": {"type": "integer", "minimum": 1, "maximum": 100},
            },
        },
        "additional_penalties": {"type": "array", "items": _TEXT},
        "remedies": {"type": "array", "items": _TEXT},
    },
}

CATEGORY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "name_vi", "name_en", "citation", "severity", "default_action"],
    "properties": {
        "id": _ID,
        "name_vi": _TEXT,
        "name_en": _TEXT,
        "description": {"type": "string"},
        "citation": _CITATION,
        "effective": _PERIOD,
        "severity": {"type": "integer", "minimum": 1, "maximum": 5},
        "default_action": {"enum": ACTIONS},
        "remedies": {"type": "array", "items": _TEXT},
        "additional_penalties": {"type": "array", "items": _TEXT},
        # Fine brackets as information: `making` for original posts, `spreading` for shares, `any` otherwise.
        "brackets": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"making": _BRACKET, "spreading": _BRACKET, "any": _BRACKET},
        },
    },
}

RULE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "category"],
    "properties": {
        "id": _ID,
        "category": _ID,
        "description": {"type": "string"},
        "action": {"enum": ACTIONS},
        "mode": {"enum": MODES},
        "when_all": {"type": "array", "items": {"type": "object"}},
        "when_any": {"type": "array", "items": {"type": "object"}},
        "min_any": {"type": "integer", "minimum": 1, "maximum": 50},
        "unless": {"type": "array", "items": {"type": "object"}},
        "context": {"enum": ["downgrade", "ignore"]},
    },
}

_TERM: dict[str, Any] = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["text"],
            "properties": {
                "text": _TEXT,
                "weight": {"type": "number", "minimum": 0, "maximum": 10},
                "fold": {"type": "boolean"},
                "note": {"type": "string"},
            },
        },
    ]
}

LEXICON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "terms"],
    "properties": {
        "id": _ID,
        "description": {"type": "string"},
        "match": {"enum": ["word", "substring"]},
        "fold": {"type": "boolean"},
        "terms": {"type": "array", "minItems": 1, "items": _TERM},
    },
}

PATTERN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "pattern"],
    "properties": {
        "id": _ID,
        "description": {"type": "string"},
        "pattern": _TEXT,
        "fold": {"type": "boolean"},
        "weight": {"type": "number", "minimum": 0, "maximum": 10},
    },
}

DATA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "pack data file",
    "type": "object",
    "properties": {
        "categories": {"type": "array", "items": CATEGORY_SCHEMA},
        "rules": {"type": "array", "items": RULE_SCHEMA},
        "lexicons": {"type": "array", "items": LEXICON_SCHEMA},
        "patterns": {"type": "array", "items": PATTERN_SCHEMA},
    },
}

# Sections this loader owns; any other top-level key of a data file is kept as is (and hashed) for its owner.
OWN_SECTIONS = frozenset(DATA_SCHEMA["properties"])


def all_schemas() -> dict[str, Any]:
    """Return every schema, for ``moderation policies schema`` and the README."""
    return {"pack.yaml": PACK_SCHEMA, "data file": DATA_SCHEMA}
