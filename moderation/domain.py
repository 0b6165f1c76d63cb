"""Plain domain types shared by the text tools, detectors, policy engine and workflow.

Nothing here imports Flask, Celery or SQLAlchemy: these are the values the core passes around.
Every offset is an index into the *original* text of one field of the submitted item (the string as the
platform sent it, before HTML-to-text or normalisation), so evidence can be highlighted exactly.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol


class PlatformRef(Protocol):
    """A platform as services need it: its id. The ORM row and the web's cached ``PlatformSnapshot`` both fit."""

    @property
    def id(self) -> str: ...


class ItemKind(enum.StrEnum):
    """What the platform submitted."""

    POST = "post"
    COMMENT = "comment"
    BLOG = "blog"


class PostKind(enum.StrEnum):
    """Whether the author made the content or re-posted someone else's (the draft decree's making/spreading)."""

    ORIGINAL = "original"
    SHARE = "share"


class Verdict(enum.StrEnum):
    """The overall outcome for an item; ordered by severity."""

    ALLOW = "allow"
    REVIEW = "review"
    REMOVE = "remove"

    @property
    def rank(self) -> int:
        return _VERDICT_RANK[self]


_VERDICT_RANK = {Verdict.ALLOW: 0, Verdict.REVIEW: 1, Verdict.REMOVE: 2}


class Action(enum.StrEnum):
    """What a rule asks for when it fires."""

    REMOVE = "remove"  # automatic removal
    REVIEW = "review"  # a moderator decides
    LABEL = "label"  # recorded only

    def verdict(self) -> Verdict:
        return {Action.REMOVE: Verdict.REMOVE, Action.REVIEW: Verdict.REVIEW}.get(self, Verdict.ALLOW)


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of evidence: ``original[field][start:end] == text``."""

    field: str
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True, slots=True)
class Signal:
    """One observation by one detector.

    ``kind`` is the registered signal type the policy rules refer to (``lexicon``, ``regex``, ``offensive``,
    ``target``, ``accusation``, ``link``, ``impersonation``, ``personal_data``, ``work_match``, ...);
    ``key`` says which list, pattern, feed, entity or work produced it; ``attrs`` carries detector-specific,
    JSON-serialisable evidence (similarity, feed name, share of a work, ...).
    """

    kind: str
    key: str
    score: float = 1.0
    spans: tuple[Span, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)
    detector: str = ""  # detector name and version, e.g. "lexicon/1"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "key": self.key,
            "score": round(self.score, 6),
            "spans": [s.to_json() for s in self.spans],
            "attrs": dict(self.attrs),
            "detector": self.detector,
        }


@dataclass(frozen=True, slots=True)
class Item:
    """A submission as the classifier sees it.

    ``fields`` maps a field name (``title``, ``body``, ``name``, ``display_name``, ``url``) to the original text
    exactly as submitted; ``body_format`` says whether ``body`` is ``text`` or ``html``. ``links`` are the URLs the
    platform listed separately (links inside the body are found by the extractors).
    """

    kind: ItemKind
    fields: Mapping[str, str]
    links: Sequence[str] = ()
    post_kind: PostKind = PostKind.ORIGINAL
    body_format: str = "text"
    language: str = "vi"
    platform_id: str | None = None
    author_id: str | None = None
    blog_id: str | None = None
    published_at: str | None = None  # RFC 3339, used to pick the law in force for the content's date


@dataclass(frozen=True, slots=True)
class History:
    """What the classifier may know about the author and blog (counts of earlier upheld violations)."""

    author_violations: int = 0
    blog_violations: int = 0
    author_violations_by_category: Mapping[str, int] = field(default_factory=dict)
    blog_violations_by_category: Mapping[str, int] = field(default_factory=dict)
