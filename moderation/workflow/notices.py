"""Notices about content from users, affected persons, rights holders and trusted organisations.

Validation gives field errors; triage gives a priority (0 is most urgent); a notifier whose recent notices were
mostly unfounded is flagged so their notices go to the back of the queue (never dropped: each is still read).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from moderation.workflow.audit import format_at, parse_at
from moderation.workflow.authority import FieldError


class NotifierType(enum.StrEnum):
    USER = "user"
    AFFECTED_PERSON = "affected_person"
    RIGHTS_HOLDER = "rights_holder"
    TRUSTED_ORGANISATION = "trusted_organisation"


# Lower is sooner. A trusted organisation and a person named in the content come first.
_BASE_PRIORITY = {
    NotifierType.TRUSTED_ORGANISATION: 10,
    NotifierType.AFFECTED_PERSON: 20,
    NotifierType.RIGHTS_HOLDER: 30,
    NotifierType.USER: 40,
}
MAX_EXPLANATION = 10000


@dataclass(frozen=True)
class Notice:
    id: str
    notifier_type: NotifierType
    notifier_id: str
    target: str
    category_id: str | None
    explanation: str
    submitted_at: dt.datetime
    contact: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "notifier_type": self.notifier_type.value,
            "notifier_id": self.notifier_id,
            "target": self.target,
            "category_id": self.category_id,
            "explanation": self.explanation,
            "submitted_at": format_at(self.submitted_at),
            "contact": self.contact,
        }


def parse_notice(data: Any, *, notice_id: str | None = None) -> tuple[Notice | None, list[FieldError]]:
    """Validate a notice; return it, or ``None`` with every field error."""
    if not isinstance(data, Mapping):
        return None, [FieldError("", "type", "the notice must be a JSON object")]
    errors: list[FieldError] = []
    kind_raw = data.get("notifier_type")
    try:
        kind = NotifierType(str(kind_raw))
    except ValueError:
        errors.append(FieldError("notifier_type", "enum", f"one of {', '.join(t.value for t in NotifierType)}"))
        kind = NotifierType.USER
    values: dict[str, str] = {}
    for name in ("notifier_id", "target", "explanation"):
        value = data.get(name)
        if not isinstance(value, str) or not value.strip():
            errors.append(FieldError(name, "required", f"{name} is required"))
        else:
            values[name] = value.strip()
    if len(values.get("explanation", "")) > MAX_EXPLANATION:
        errors.append(FieldError("explanation", "too_long", f"at most {MAX_EXPLANATION} characters"))
    if kind in {NotifierType.RIGHTS_HOLDER, NotifierType.AFFECTED_PERSON} and not data.get("contact"):
        # The platform must be able to reach them with the outcome; an anonymous claim of rights cannot be checked.
        errors.append(FieldError("contact", "required", f"a {kind.value} must give a contact"))
    submitted: dt.datetime | None = None
    raw = data.get("submitted_at")
    try:
        submitted = parse_at(raw) if isinstance(raw, str) else None
    except ValueError:
        submitted = None
    if submitted is None:
        errors.append(FieldError("submitted_at", "format", "RFC 3339 time with a zone required"))
    category = data.get("category_id")
    if category is not None and not isinstance(category, str):
        errors.append(FieldError("category_id", "type", "a category id string"))
    if errors:
        return None, errors
    assert submitted is not None
    return (
        Notice(
            id=notice_id or str(data.get("id") or ""),
            notifier_type=kind,
            notifier_id=values["notifier_id"],
            target=values["target"],
            category_id=category,
            explanation=values["explanation"],
            submitted_at=submitted,
            contact=None if data.get("contact") is None else str(data["contact"]),
        ),
        [],
    )


@dataclass(frozen=True)
class NoticeOutcome:
    """A past notice and whether it was founded (led to action)."""

    notifier_id: str
    at: dt.datetime
    founded: bool


def unfounded_notifiers(
    history: Iterable[NoticeOutcome], *, now: dt.datetime, window_days: int, threshold: int
) -> dict[str, int]:
    """Return notifiers with at least ``threshold`` unfounded notices and none founded in the window, with counts.

    A single founded notice clears the flag: the point is to spot notifiers who only ever report in bad faith.
    """
    since = now - dt.timedelta(days=window_days)
    unfounded: dict[str, int] = {}
    founded: set[str] = set()
    for h in history:
        if not since <= h.at <= now:
            continue
        if h.founded:
            founded.add(h.notifier_id)
        else:
            unfounded[h.notifier_id] = unfounded.get(h.notifier_id, 0) + 1
    return {n: c for n, c in sorted(unfounded.items()) if c >= threshold and n not in founded}


def triage_priority(
    notice: Notice, *, category_severity: Mapping[str, int] | None = None, flagged: Iterable[str] = ()
) -> int:
    """Return the queue priority of a notice (lower first): who sent it, how severe the claimed category is.

    Severity 5 moves a notice up by 8, severity 1 by 0; a flagged notifier goes back by 100.
    """
    priority = _BASE_PRIORITY[notice.notifier_type]
    severity = (category_severity or {}).get(notice.category_id or "", 0)
    priority -= max(0, min(severity, 5) - 1) * 2
    if notice.notifier_id in set(flagged):
        priority += 100
    return priority
