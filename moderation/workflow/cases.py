"""Cases: the violations of one author found together, decided once (Circular 05/2004 III.B.3.3).

One case gives one decision that lists each violation and its outcome; the escalation is computed once per case
from the strikes recorded before it, so violations found together do not escalate each other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from moderation.domain import PostKind
from moderation.workflow.audit import format_at


@dataclass(frozen=True)
class Circumstances:
    """Mitigating and aggravating circumstances recorded for a case (names from the pack's enforcement data)."""

    mitigating: frozenset[str] = frozenset()
    aggravating: frozenset[str] = frozenset()

    def to_json(self) -> dict[str, Any]:
        return {"mitigating": sorted(self.mitigating), "aggravating": sorted(self.aggravating)}


@dataclass(frozen=True)
class Violation:
    """One upheld violation: an item, its category and severity (from the policy pack), and when it was posted."""

    item_id: str
    category_id: str
    committed_at: dt.datetime | None  # the content's publication time; limitation runs from it
    severity: int | None = None  # 1–5 from the policy pack's category
    post_kind: PostKind = PostKind.ORIGINAL
    author_id: str | None = None
    blog_id: str | None = None
    decision_id: str | None = None  # the statement of reasons that found it
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "category_id": self.category_id,
            "committed_at": None if self.committed_at is None else format_at(self.committed_at),
            "severity": self.severity,
            "post_kind": self.post_kind.value,
            "author_id": self.author_id,
            "blog_id": self.blog_id,
            "decision_id": self.decision_id,
            "url": self.url,
        }


@dataclass(frozen=True)
class Case:
    """Violations by one author (and blog) decided together."""

    id: str
    author_id: str | None
    blog_id: str | None
    violations: tuple[Violation, ...]
    opened_at: dt.datetime
    circumstances: Circumstances = field(default_factory=Circumstances)
    complex: bool = False  # a complex case gets the longer decision and appeal deadlines

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "author_id": self.author_id,
            "blog_id": self.blog_id,
            "violations": [v.to_json() for v in self.violations],
            "opened_at": format_at(self.opened_at),
            "circumstances": self.circumstances.to_json(),
            "complex": self.complex,
        }


def case_id(author_id: str | None, blog_id: str | None, opened_at: dt.datetime, item_ids: Iterable[str]) -> str:
    """Return a stable case id from its subject, time and items (the same batch gives the same id)."""
    raw = "|".join([author_id or "", blog_id or "", format_at(opened_at), *sorted(item_ids)])
    return "case_" + hashlib.sha256(raw.encode()).hexdigest()[:24]


def group_into_cases(
    violations: Iterable[Violation],
    *,
    opened_at: dt.datetime,
    circumstances: Mapping[str, Circumstances] | None = None,
) -> list[Case]:
    """Group violations found together into one case per author (per blog when the author is unknown).

    ``circumstances`` maps an author id (or blog id) to the circumstances a moderator recorded for that case.
    """
    groups: dict[tuple[str, str], list[Violation]] = {}
    for v in violations:
        key = ("author", v.author_id) if v.author_id else ("blog", v.blog_id or f"item:{v.item_id}")
        groups.setdefault(key, []).append(v)
    cases = []
    for (_kind, subject), items in sorted(groups.items()):
        blog_ids = sorted({v.blog_id for v in items if v.blog_id})
        author = items[0].author_id
        blog = blog_ids[0] if len(blog_ids) == 1 else None
        circ = (circumstances or {}).get(subject, Circumstances())
        cases.append(
            Case(
                id=case_id(author, blog, opened_at, (v.item_id for v in items)),
                author_id=author,
                blog_id=blog,
                violations=tuple(items),
                opened_at=opened_at,
                circumstances=circ,
            )
        )
    return cases
