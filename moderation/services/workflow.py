"""What the legal-workflow services share: enforcement data per regime, statements of reasons from stored decisions,
superseding a decision, callback deliveries, and finding the platform's item a post id or URL names.

The pure rules live in :mod:`moderation.workflow`; these functions load and store around them. Nothing here knows
about HTTP beyond raising :class:`~moderation.errors.ApiError` for input the caller must correct.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.config import REPO_ROOT
from moderation.domain import PostKind
from moderation.errors import ApiError, not_found, unprocessable
from moderation.services import audit
from moderation.services.classification import decision_json, schedule_callback
from moderation.store.base import new_id
from moderation.store.models import Decision, Delivery, Platform, Submission
from moderation.workflow.audit import parse_at
from moderation.workflow.calendar import WorkingCalendar
from moderation.workflow.decisions import (
    Actor,
    AutomatedDecision,
    DecisionAction,
    DecisionSource,
    Ground,
    StatementOfReasons,
    bracket_for,
    render_text,
)
from moderation.workflow.ladder import Ladder, load_ladder

DEFAULT_REGIME = "vn-circular-07-2008"
DEFAULT_POLICIES_DIR = REPO_ROOT / "policies"
ENFORCEMENT_FILE = "enforcement.yaml"

# --- Enforcement data per regime -------------------------------------------------------------------------------

_ladder_cache: dict[str, tuple[float, Ladder]] = {}
_ladder_lock = threading.Lock()


def ladders(policies_dir: Path | None = None) -> dict[str, Ladder]:
    """Return the enforcement ladder of every pack under ``policies_dir`` by regime (re-read when a file changes)."""
    root = Path(policies_dir or DEFAULT_POLICIES_DIR)
    out: dict[str, Ladder] = {}
    with _ladder_lock:
        for path in sorted(root.glob(f"*/{ENFORCEMENT_FILE}")):
            mtime = path.stat().st_mtime
            cached = _ladder_cache.get(str(path))
            if cached is None or cached[0] != mtime:
                cached = (mtime, load_ladder(str(path)))
                _ladder_cache[str(path)] = cached
            out[cached[1].regime] = cached[1]
    return out


def ladder_for(regime: str | None, policies_dir: Path | None = None, *, strict: bool = False) -> Ladder:
    """Return the ladder of ``regime``; the default regime's when it has none (``strict``: a 422 instead)."""
    available = ladders(policies_dir)
    if regime and regime in available:
        return available[regime]
    if strict and regime:
        known = ", ".join(sorted(available)) or "none"
        raise unprocessable("invalid_value", f"no enforcement data for regime {regime!r} (known: {known})", "regime")
    if DEFAULT_REGIME in available:
        return available[DEFAULT_REGIME]
    if available:
        return available[sorted(available)[0]]
    raise RuntimeError(f"no {ENFORCEMENT_FILE} under {policies_dir or DEFAULT_POLICIES_DIR}")


def calendar_for(ladder: Ladder) -> WorkingCalendar:
    """The working-day calendar with the pack's extra holidays and working days."""
    return WorkingCalendar.from_dates(ladder.extra_holidays, ladder.extra_workdays)


# --- Looking things up, always within one platform -------------------------------------------------------------


def decision_by_id(session: Session, decision_id: str) -> Decision | None:
    decision: Decision | None = session.scalars(select(Decision).where(Decision.id == decision_id)).one_or_none()
    return decision


def platform_decision(session: Session, platform_id: str, decision_id: str, field: str = "decision_id") -> Decision:
    """Return the platform's decision ``decision_id``; another platform's decision is reported as absent."""
    decision = decision_by_id(session, decision_id) if isinstance(decision_id, str) else None
    if decision is None or decision.platform_id != platform_id:
        raise ApiError(404, "not_found", "no decision with this id for this platform", field)
    return decision


def in_force(session: Session, decision: Decision) -> Decision:
    """Follow ``superseded_by_id`` to the decision now in force."""
    seen = {decision.id}
    current = decision
    while current.superseded_by_id:
        nxt = decision_by_id(session, current.superseded_by_id)
        if nxt is None or nxt.id in seen:
            break
        seen.add(nxt.id)
        current = nxt
    return current


def current_decision(session: Session, submission_id: str) -> Decision | None:
    """The decision in force for a submission (the newest one nothing supersedes)."""
    decision: Decision | None = session.scalars(
        select(Decision)
        .where(Decision.submission_id == submission_id, Decision.superseded_by_id.is_(None))
        .order_by(Decision.seq.desc())
        .limit(1)
    ).one_or_none()
    return decision


def resolve_target(session: Session, platform_id: str, target: str) -> Submission | None:
    """Find the platform's item a target names: a URL matches ``Submission.url``, anything else its external id.

    The newest revision is the one acted on (a removal removes the item, whatever revision is showing).
    """
    column = Submission.url if "://" in target else Submission.external_id
    sub: Submission | None = session.scalars(
        select(Submission)
        .where(Submission.platform_id == platform_id, column == target, Submission.kind.in_(("post", "comment")))
        .order_by(Submission.revision.desc(), Submission.received_at.desc())
        .limit(1)
    ).first()
    return sub


def not_found_for_platform(what: str) -> ApiError:
    return not_found(f"no {what} with this id for this platform")


# --- Statements of reasons --------------------------------------------------------------------------------------

_ACTIONS = {
    "remove": DecisionAction.REMOVE,
    "restrict": DecisionAction.RESTRICT,
    "label": DecisionAction.LABEL,
}


def _actor(decision: Decision) -> Actor:
    kind, _, ident = decision.actor.partition(":")
    if kind in {"moderator", "mod"} and ident:
        return Actor("moderator", ident)
    if kind == "authority" and ident:
        return Actor("authority", ident)
    if decision.source == "automated" or kind == "system":
        first = next((c for c in decision.categories or [] if c.get("mode", "enforce") == "enforce"), None)
        if first is not None and (first.get("rule_id") or first.get("rule")):
            return Actor("rule", str(first.get("rule_id") or first.get("rule")), first.get("pack_version"))
        return Actor("rule", decision.actor)
    return Actor("moderator", decision.actor)


def _source(decision: Decision) -> DecisionSource:
    try:
        return DecisionSource(decision.source)
    except ValueError:
        pass
    if decision.source == "user_report":
        return DecisionSource.NOTICE
    return DecisionSource.AUTOMATED if decision.actor.startswith("system") else DecisionSource.MODERATOR


def moderator_key(moderator_id: str) -> str:
    """The bare moderator id (``moderator:alice`` and ``mod:alice`` are ``alice``)."""
    kind, sep, ident = moderator_id.partition(":")
    return ident if sep and kind in {"moderator", "mod"} else moderator_id


def statement_for(decision: Decision, sub: Submission | None) -> StatementOfReasons:
    """Build the statement of reasons of a stored decision.

    The bracket of each ground follows the post's kind: an original post is *making* content, a share is
    *spreading* it (draft decree on cybersecurity sanctions, Art. 8), so the same category cites another bracket.
    """
    post_kind = (sub.post_kind if sub is not None else None) or PostKind.ORIGINAL.value
    subject = {
        "platform_id": decision.platform_id,
        "item_kind": sub.kind if sub is not None else None,
        "item_id": sub.external_id if sub is not None else None,
        "url": sub.url if sub is not None else None,
        "author_id": sub.author_id if sub is not None else None,
        "blog_id": sub.blog_id if sub is not None else None,
        "post_kind": post_kind,
    }
    grounds = []
    for cat in decision.categories or []:
        if not isinstance(cat, Mapping) or not cat.get("id"):
            continue
        data = dict(cat)
        if "rule" in data and "rule_id" not in data:
            data["rule_id"] = data["rule"]
        ground = Ground.from_json(data)
        if ground.bracket is None:
            picked = bracket_for(data, post_kind)
            if picked is not None:
                ground = replace(ground, bracket=picked)
        grounds.append(ground)
    try:
        automated = AutomatedDecision(decision.automated_decision)
    except ValueError:
        automated = AutomatedDecision.NOT
    evaluation = decision.evaluation or {}
    deadline_raw = evaluation.get("deadline")
    information: dict[str, Any] = {"decision_id": decision.id, "verdict": decision.verdict, "action": decision.action}
    for key in ("enforcement", "purpose_blog", "authority_request_id", "notice_id", "appeal_id"):
        if key in evaluation:
            information[key] = evaluation[key]
    return StatementOfReasons(
        subject=subject,
        action=_ACTIONS.get(decision.action, DecisionAction.NO_ACTION),
        scope=str(evaluation.get("scope") or "item"),
        grounds=tuple(grounds),
        automated_detection=decision.automated_detection,
        automated_decision=automated,
        actor=_actor(decision),
        source=_source(decision),
        decided_at=decision.created_at,
        effective_at=decision.created_at,
        remedies=tuple(
            str(r) for r in evaluation.get("remedies") or (("remove",) if decision.action == "remove" else ())
        ),
        reason=decision.reason or "",
        deadline=parse_at(deadline_raw) if isinstance(deadline_raw, str) else None,
        source_ref=evaluation.get("source_ref"),
        supersedes=decision.supersedes_id,
        pack_versions=dict(decision.pack_versions or {}),
        information=information,
    )


def statement_json(decision: Decision, sub: Submission | None) -> dict[str, Any]:
    """The statement of reasons as the API shows it: the structured statement and its bilingual text."""
    sor = statement_for(decision, sub)
    return {**sor.to_json(), "decision_id": decision.id, "text": render_text(sor)}


# --- Callbacks ---------------------------------------------------------------------------------------------------


def add_delivery(
    session: Session, decision: Decision, event: str, extra: Mapping[str, Any] | None = None
) -> Delivery | None:
    """Record a signed callback for ``decision`` (sent after commit); none when the platform has no callback URL."""
    platform = session.get(Platform, decision.platform_id)
    if platform is None or not platform.callback_url:
        return None
    existing: Delivery | None = session.scalars(
        select(Delivery).where(Delivery.decision_id == decision.id, Delivery.event == event)
    ).one_or_none()
    if existing is not None:
        return existing
    sub = session.get(Submission, decision.submission_id) if decision.submission_id else None
    delivery = Delivery(
        platform_id=platform.id,
        decision_id=decision.id,
        event=event,
        url=platform.callback_url,
        payload={"event": event, "decision": decision_json(decision, sub), **dict(extra or {})},
    )
    session.add(delivery)
    session.flush()
    return delivery


# --- Superseding --------------------------------------------------------------------------------------------------

_COPIED = ("verdict", "action", "labels", "categories", "pack_versions", "automated_detection")
_SETTABLE = {*_COPIED, "reason", "source", "automated_decision", "evaluation", "dedupe_key"}


def supersede(session: Session, old_decision: Decision, new_fields: Mapping[str, Any], actor: str) -> Decision:
    """Record the decision that replaces ``old_decision`` and schedule the callback it needs.

    ``old_decision`` is not edited beyond its ``superseded_by_id`` link: both stay on record. A reason is required.
    A restore or restrict gets ``decision.restore`` / ``decision.restrict``; a new removal ``decision.remove``.
    """
    unknown = set(new_fields) - _SETTABLE
    if unknown:
        raise ValueError(f"cannot set {', '.join(sorted(unknown))} on a superseding decision")
    if old_decision.superseded_by_id:
        raise ApiError(409, "decision_superseded", f"decision {old_decision.id} was already superseded", "decision_id")
    reason = str(new_fields.get("reason") or "").strip()
    if not reason:
        raise unprocessable("missing_field", "a superseding decision needs a written reason", "reason")
    values: dict[str, Any] = {name: getattr(old_decision, name) for name in _COPIED}
    values.update({k: v for k, v in new_fields.items() if k in _COPIED})
    evaluation = dict(new_fields.get("evaluation") or {})
    evaluation.setdefault("supersedes", old_decision.id)
    is_moderator = actor.split(":", 1)[0] in {"moderator", "mod"}
    new = Decision(
        id=new_id("dec"),
        platform_id=old_decision.platform_id,
        submission_id=old_decision.submission_id,
        dedupe_key=new_fields.get("dedupe_key"),
        evaluation=evaluation,
        source=str(new_fields.get("source") or "correction"),
        actor=actor,
        automated_decision=str(new_fields.get("automated_decision") or ("not" if is_moderator else "fully")),
        reason=reason,
        supersedes_id=old_decision.id,
        **values,
    )
    session.add(new)
    session.flush()
    old_decision.superseded_by_id = new.id
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="decision.supersede",
        object_type="decision",
        object_id=new.id,
        platform_id=new.platform_id,
        details={
            "supersedes": old_decision.id,
            "submission_id": new.submission_id,
            "verdict": new.verdict,
            "action": new.action,
            "source": new.source,
            "reason": reason,
        },
    )
    sub = session.get(Submission, new.submission_id) if new.submission_id else None
    if new.action in {"restore", "restrict"}:
        schedule_callback(session, new, sub)
    elif new.verdict == "remove" and new.action == "remove" and sub is not None:
        add_delivery(session, new, "decision.remove")
    return new


def create_decision(session: Session, actor: str, **fields: Any) -> Decision:
    """Record a new decision (first for its item) and audit it."""
    decision = Decision(id=new_id("dec"), actor=actor, **fields)
    session.add(decision)
    session.flush()
    audit_decision_created(session, decision)
    return decision


def audit_decision_created(session: Session, decision: Decision) -> None:
    """Record the audit entry of a new decision (its actor is the decision's)."""
    audit.record(
        session,
        actor=decision.actor,
        action="decision.create",
        object_type="decision",
        object_id=decision.id,
        platform_id=decision.platform_id,
        details={
            "submission_id": decision.submission_id,
            "verdict": decision.verdict,
            "action": decision.action,
            "source": decision.source,
        },
    )
