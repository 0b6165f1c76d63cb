"""Statements of reasons: what was decided about an item, on which facts, under which law, by whom, and when.

A statement is immutable. A correction is a new statement that supersedes the old one (:func:`supersede`); the old
one is never edited, so an inspector sees both.

Input from the policy engine is ``Evaluation.to_json()``::

    {"verdict": "remove", "pack_versions": {"vn-circular-07-2008": "sha256…"},
     "categories": [{"id", "name_vi", "name_en", "pack_id", "pack_version", "rule_id", "action", "mode", "score",
                     "citation": {"instrument", "article", "clause", "point"},
                     "evidence": [{"field", "start", "end", "text"}], "bracket": {…} | None, "remedies": [...]}]}

Only categories with ``mode == "enforce"`` ground a decision; shadow categories are kept as information.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from moderation.domain import PostKind, Span
from moderation.workflow.audit import canonical_json, format_at


class DecisionAction(enum.StrEnum):
    """What the platform is told to do with the item."""

    REMOVE = "remove"
    RESTRICT = "restrict"
    LABEL = "label"
    NO_ACTION = "no_action"


class AutomatedDecision(enum.StrEnum):
    FULLY = "fully"
    PARTIALLY = "partially"
    NOT = "not"


class DecisionSource(enum.StrEnum):
    AUTOMATED = "automated"
    MODERATOR = "moderator"
    AUTHORITY_REQUEST = "authority_request"
    NOTICE = "notice"
    APPEAL = "appeal"
    CORRECTION = "correction"


@dataclass(frozen=True)
class Citation:
    instrument: str
    article: str | None = None
    clause: str | None = None
    point: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Citation:
        data = data or {}
        return cls(
            str(data.get("instrument") or ""),
            _opt(data.get("article")),
            _opt(data.get("clause")),
            _opt(data.get("point")),
        )

    def to_json(self) -> dict[str, Any]:
        return {"instrument": self.instrument, "article": self.article, "clause": self.clause, "point": self.point}

    def label(self) -> str:
        """Return the citation as Vietnamese readers write it (``điểm a khoản 1 Điều 6 Nghị định 97/2008``)."""
        parts = []
        if self.point:
            parts.append(f"điểm {self.point}")
        if self.clause:
            parts.append(f"khoản {self.clause}")
        if self.article:
            parts.append(f"Điều {self.article}")
        parts.append(self.instrument)
        return " ".join(parts)


@dataclass(frozen=True)
class Ground:
    """One category an item was found to fall under, with its legal basis and evidence."""

    category_id: str
    name_vi: str
    name_en: str
    citation: Citation
    pack_id: str = ""
    pack_version: str = ""
    rule_id: str | None = None
    mode: str = "enforce"
    score: float | None = None
    evidence: tuple[Span, ...] = ()
    bracket: Mapping[str, Any] | None = None  # draft-decree fine bracket, information only
    remedies: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ground:
        return cls(
            category_id=str(data["id"]),
            name_vi=str(data.get("name_vi") or ""),
            name_en=str(data.get("name_en") or ""),
            citation=Citation.from_json(data.get("citation")),
            pack_id=str(data.get("pack_id") or ""),
            pack_version=str(data.get("pack_version") or ""),
            rule_id=_opt(data.get("rule_id")),
            mode=str(data.get("mode") or "enforce"),
            score=None if data.get("score") is None else float(data["score"]),
            evidence=tuple(
                Span(str(s["field"]), int(s["start"]), int(s["end"]), str(s["text"]))
                for s in data.get("evidence") or ()
            ),
            bracket=None if data.get("bracket") is None else dict(data["bracket"]),
            remedies=tuple(str(r) for r in data.get("remedies") or ()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.category_id,
            "name_vi": self.name_vi,
            "name_en": self.name_en,
            "citation": self.citation.to_json(),
            "pack_id": self.pack_id,
            "pack_version": self.pack_version,
            "rule_id": self.rule_id,
            "mode": self.mode,
            "score": None if self.score is None else round(self.score, 6),
            "evidence": [s.to_json() for s in self.evidence],
            "bracket": None if self.bracket is None else dict(self.bracket),
            "remedies": list(self.remedies),
        }


@dataclass(frozen=True)
class Actor:
    """Who decided: a rule of a pack version, a moderator, or an authority's request (recorded by a moderator)."""

    kind: str  # rule | moderator | authority
    id: str
    pack_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "pack_version": self.pack_version}


@dataclass(frozen=True)
class StatementOfReasons:
    """An immutable decision. ``id`` is a content digest, so the same facts always give the same id."""

    subject: Mapping[str, Any]  # {"platform_id", "item_kind", "item_id", "url", "author_id", "blog_id", "post_kind"}
    action: DecisionAction
    scope: str  # item | blog | author | "item:<field>"
    grounds: tuple[Ground, ...]
    automated_detection: bool
    automated_decision: AutomatedDecision
    actor: Actor
    source: DecisionSource
    decided_at: dt.datetime
    effective_at: dt.datetime
    remedies: tuple[str, ...] = ()
    reason: str = ""
    deadline: dt.datetime | None = None  # when the platform must have acted (authority requests, notices)
    source_ref: str | None = None  # the authority request, notice or appeal this answers
    supersedes: str | None = None
    pack_versions: Mapping[str, str] = field(default_factory=dict)
    information: Mapping[str, Any] = field(default_factory=dict)  # brackets, purpose-blog flag, enforcement …

    def to_json(self) -> dict[str, Any]:
        body = self._body()
        body["id"] = self.id
        return body

    def _body(self) -> dict[str, Any]:
        return {
            "subject": dict(self.subject),
            "action": self.action.value,
            "scope": self.scope,
            "grounds": [g.to_json() for g in self.grounds],
            "automated_detection": self.automated_detection,
            "automated_decision": self.automated_decision.value,
            "actor": self.actor.to_json(),
            "source": self.source.value,
            "source_ref": self.source_ref,
            "decided_at": format_at(self.decided_at),
            "effective_at": format_at(self.effective_at),
            "deadline": None if self.deadline is None else format_at(self.deadline),
            "remedies": list(self.remedies),
            "reason": self.reason,
            "supersedes": self.supersedes,
            "pack_versions": dict(self.pack_versions),
            "information": dict(self.information),
        }

    @property
    def id(self) -> str:
        """Return ``sor_`` + the first 32 hex digits of the SHA-256 of the canonical statement."""
        return "sor_" + hashlib.sha256(canonical_json(self._body())).hexdigest()[:32]

    @property
    def categories(self) -> list[str]:
        return [g.category_id for g in self.grounds]


def bracket_for(ground: Mapping[str, Any] | Ground, post_kind: PostKind | str) -> Mapping[str, Any] | None:
    """Pick the draft-decree bracket for the post's kind: ``making`` for originals, ``spreading`` for shares.

    ``ground`` may carry a single ``bracket`` (already picked by the engine) or ``brackets`` by kind (from the pack's
    category); a bracket for ``any`` kind applies to both.
    """
    if isinstance(ground, Ground):
        return ground.bracket
    brackets = ground.get("brackets")
    if isinstance(brackets, Mapping):
        key = "making" if PostKind(post_kind) is PostKind.ORIGINAL else "spreading"
        picked = brackets.get(key) or brackets.get("any")
        return dict(picked) if picked else None
    single = ground.get("bracket")
    return dict(single) if isinstance(single, Mapping) else None


_VERDICT_ACTION = {
    "remove": DecisionAction.REMOVE,
    "review": DecisionAction.NO_ACTION,
    "allow": DecisionAction.NO_ACTION,
}


def from_evaluation(
    evaluation: Mapping[str, Any],
    *,
    subject: Mapping[str, Any],
    decided_at: dt.datetime,
    scope: str = "item",
    deadline: dt.datetime | None = None,
    information: Mapping[str, Any] | None = None,
) -> StatementOfReasons:
    """Build the automated statement for an engine evaluation.

    The actor is the first enforcing rule (with its pack version); ``review`` verdicts give ``no_action`` here
    because a moderator decides them (:func:`from_moderator`). Labels give ``label``.
    """
    categories = list(evaluation.get("categories") or ())
    post_kind = str(subject.get("post_kind") or PostKind.ORIGINAL.value)
    grounds = []
    for cat in categories:
        ground = Ground.from_json(cat)
        if ground.bracket is None:
            ground = replace(ground, bracket=bracket_for(cat, post_kind))
        grounds.append(ground)
    enforcing = [g for g in grounds if g.mode == "enforce"]
    verdict = str(evaluation.get("verdict") or "allow")
    action = _VERDICT_ACTION.get(verdict, DecisionAction.NO_ACTION)
    if action is DecisionAction.NO_ACTION and any(
        str(c.get("action")) == "label" for c in categories if c.get("mode", "enforce") == "enforce"
    ):
        action = DecisionAction.LABEL
    first = next((c for c in categories if c.get("mode", "enforce") == "enforce"), None)
    actor = Actor(
        "rule",
        str(first.get("rule_id") or first["id"]) if first else "engine",
        str(first.get("pack_version")) if first and first.get("pack_version") else None,
    )
    remedies = _unique(r for g in enforcing for r in g.remedies) if action is DecisionAction.REMOVE else ()
    return StatementOfReasons(
        subject=dict(subject),
        action=action,
        scope=scope,
        grounds=tuple(grounds),
        automated_detection=True,
        automated_decision=AutomatedDecision.FULLY,
        actor=actor,
        source=DecisionSource.AUTOMATED,
        decided_at=decided_at,
        effective_at=decided_at,
        remedies=remedies,
        deadline=deadline,
        pack_versions=dict(evaluation.get("pack_versions") or {}),
        information=dict(information or {}),
    )


def from_moderator(
    *,
    subject: Mapping[str, Any],
    moderator_id: str,
    action: DecisionAction | str,
    grounds: Sequence[Ground | Mapping[str, Any]],
    reason: str,
    decided_at: dt.datetime,
    automated_detection: bool,
    scope: str = "item",
    remedies: Sequence[str] = (),
    source: DecisionSource = DecisionSource.MODERATOR,
    source_ref: str | None = None,
    deadline: dt.datetime | None = None,
    pack_versions: Mapping[str, str] | None = None,
    information: Mapping[str, Any] | None = None,
) -> StatementOfReasons:
    """Build a moderator's statement; a detector's flag makes it ``partially`` automated, otherwise ``not``."""
    action = DecisionAction(action)
    if action is not DecisionAction.NO_ACTION and not grounds:
        raise ValueError("a decision that acts on an item must give at least one ground")
    if not reason.strip():
        raise ValueError("a moderator's decision needs a written reason")
    post_kind = str(subject.get("post_kind") or PostKind.ORIGINAL.value)
    built: list[Ground] = []
    for g in grounds:
        if isinstance(g, Ground):
            built.append(g)
        else:
            ground = Ground.from_json(g)
            built.append(ground if ground.bracket is not None else replace(ground, bracket=bracket_for(g, post_kind)))
    return StatementOfReasons(
        subject=dict(subject),
        action=action,
        scope=scope,
        grounds=tuple(built),
        automated_detection=automated_detection,
        automated_decision=AutomatedDecision.PARTIALLY if automated_detection else AutomatedDecision.NOT,
        actor=Actor("moderator", moderator_id),
        source=source,
        decided_at=decided_at,
        effective_at=decided_at,
        remedies=tuple(remedies),
        reason=reason,
        deadline=deadline,
        source_ref=source_ref,
        pack_versions=dict(pack_versions or {}),
        information=dict(information or {}),
    )


def supersede(
    old: StatementOfReasons,
    *,
    actor: Actor,
    reason: str,
    decided_at: dt.datetime,
    action: DecisionAction | str | None = None,
    grounds: Sequence[Ground] | None = None,
    source: DecisionSource = DecisionSource.CORRECTION,
    source_ref: str | None = None,
    remedies: Sequence[str] | None = None,
    information: Mapping[str, Any] | None = None,
) -> StatementOfReasons:
    """Build the decision that replaces ``old`` (a correction or an appeal's outcome); ``old`` is left untouched."""
    if not reason.strip():
        raise ValueError("a correction needs a written reason")
    if decided_at < old.decided_at:
        raise ValueError("a correction cannot be dated before the decision it corrects")
    new_action = old.action if action is None else DecisionAction(action)
    new_grounds = old.grounds if grounds is None else tuple(grounds)
    if new_action is DecisionAction.NO_ACTION:
        new_remedies: tuple[str, ...] = ()
    else:
        new_remedies = old.remedies if remedies is None else tuple(remedies)
    return StatementOfReasons(
        subject=old.subject,
        action=new_action,
        scope=old.scope,
        grounds=new_grounds,
        automated_detection=old.automated_detection,
        automated_decision=AutomatedDecision.NOT if actor.kind == "moderator" else old.automated_decision,
        actor=actor,
        source=source,
        decided_at=decided_at,
        effective_at=decided_at,
        remedies=new_remedies,
        reason=reason,
        deadline=None,
        source_ref=source_ref,
        supersedes=old.id,
        pack_versions=old.pack_versions,
        information=dict(information) if information is not None else dict(old.information),
    )


def current(decisions: Iterable[StatementOfReasons]) -> list[StatementOfReasons]:
    """Return the decisions no other decision supersedes (the ones in force)."""
    items = list(decisions)
    replaced = {d.supersedes for d in items if d.supersedes}
    return [d for d in items if d.id not in replaced]


_ACTION_VI = {
    DecisionAction.REMOVE: "gỡ bỏ",
    DecisionAction.RESTRICT: "hạn chế hiển thị",
    DecisionAction.LABEL: "gắn nhãn",
    DecisionAction.NO_ACTION: "không xử lý",
}


def render_text(sor: StatementOfReasons) -> str:
    """Render a short bilingual statement for the author and the inspector."""
    lines = [
        f"Quyết định / Decision {sor.id}",
        f"Biện pháp / Action: {_ACTION_VI[sor.action]} ({sor.action.value}), phạm vi / scope: {sor.scope}",
    ]
    for g in sor.grounds:
        lines.append(f"- {g.name_vi} / {g.name_en}: {g.citation.label()}")
        lines.extend(f"    «{s.text}» ({s.field} {s.start}–{s.end})" for s in g.evidence)
        if g.bracket:
            lines.append(
                f"    Khung phạt (tham khảo, dự thảo) / bracket (information, draft): "
                f"{g.bracket.get('min_vnd')}–{g.bracket.get('max_vnd')} VND"
            )
    automated = "có" if sor.automated_detection else "không"
    lines.append(
        f"Phát hiện tự động / automated detection: {automated}; "
        f"quyết định tự động / automated decision: {sor.automated_decision.value}"
    )
    who = f"{sor.actor.kind}:{sor.actor.id}" + (f" @ {sor.actor.pack_version}" if sor.actor.pack_version else "")
    lines.append(f"Người quyết định / decided by: {who}, lúc / at {format_at(sor.decided_at)}")
    if sor.reason:
        lines.append(f"Lý do / reason: {sor.reason}")
    if sor.remedies:
        lines.append("Biện pháp khắc phục / remedies: " + "; ".join(sor.remedies))
    if sor.supersedes:
        lines.append(f"Thay thế quyết định / supersedes {sor.supersedes}")
    return "\n".join(lines)


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))
