"""Graduated enforcement in the store: after a removal, record the case, its strikes and sanctions, and tell the
platform (``enforcement.warn_author``, ``enforcement.suspend_blog`` …) through the signed callback.

The decision itself is the pure core's :func:`moderation.workflow.enforcement.assess_case`; this module loads the
strikes recorded before, stores what it decides, and undoes it when an appeal reverses a removal.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import String, Table, and_, bindparam, literal, or_, select
from sqlalchemy.orm import Session

from moderation.domain import PostKind
from moderation.errors import unprocessable
from moderation.services import audit
from moderation.services.classification import decision_json
from moderation.services.workflow import (
    add_delivery,
    audit_decision_created,
    decision_by_id,
    ladder_for,
    ladders,
    supersede,
)
from moderation.store.base import Base, new_id, utcnow
from moderation.store.models import Blog, BlogStatusChange, Decision, Delivery, Platform, Submission
from moderation.store.workflow import Case, CaseViolation, Sanction, Strike
from moderation.workflow import enforcement as core
from moderation.workflow.cases import Circumstances, Violation, group_into_cases
from moderation.workflow.ladder import Ladder

SANCTION_KINDS = frozenset({"warn_author", "suspend_blog", "suspend_author"})
_RESTORE = {"suspend_blog": "restore_blog", "suspend_author": "restore_author"}


def apply_enforcement(
    session: Session,
    decision: Decision,
    *,
    circumstances: Circumstances | Mapping[str, Iterable[str]] | None = None,
    actor: str = "system:enforcement",
    now: dt.datetime | None = None,
    policies_dir: Path | None = None,
) -> list[Delivery]:
    """Apply graduated enforcement after the removal ``decision``; return the callbacks to enqueue after commit.

    Does nothing for a decision that does not remove, is superseded, or was already assessed (safe to call twice).
    """
    return apply_enforcement_batch(
        session, [decision], circumstances=circumstances, actor=actor, now=now, policies_dir=policies_dir
    )


def apply_enforcement_batch(
    session: Session,
    decisions: Sequence[Decision],
    *,
    circumstances: Circumstances | Mapping[str, Iterable[str]] | None = None,
    complex_case: bool = False,
    actor: str = "system:enforcement",
    now: dt.datetime | None = None,
    policies_dir: Path | None = None,
) -> list[Delivery]:
    """Apply enforcement to removals found together: one case (and one decision) per author.

    ``circumstances`` (``{"mitigating": [...], "aggravating": [...]}``, names from the pack's enforcement data) apply
    to every case of the batch; a moderator records them for the author they are looking at.

    One query reads what the cases need (whether a removal was already assessed, the strikes on its author and
    blog, the blog's status); cases, violations, strikes and sanctions are plain inserts (no ORM objects are needed
    afterwards); the case decisions and callbacks go in one flush at the end.
    """
    now = now or utcnow()
    candidates = [d for d in decisions if _removal(d)]
    if not candidates:
        return []
    _flush_unless_only_classified(session)
    with session.no_autoflush:  # what is pending now cannot change the reads below (see above)
        subs = {d.id: session.get(Submission, d.submission_id) for d in candidates}
        loaded = _prefetch(session, candidates, subs)
    eligible = [d for d in candidates if d.id not in loaded.seen]
    if not eligible:
        return []
    circ = _circumstances(circumstances)
    by_platform: dict[str, list[Violation]] = {}
    regimes: dict[str, str | None] = {}
    for decision in eligible:
        sub = subs.get(decision.id)
        if sub is None:
            continue
        for violation, pack_id in _violations(decision, sub):
            by_platform.setdefault(decision.platform_id, []).append(violation)
            regimes.setdefault(violation.item_id, pack_id)
    available = ladders(policies_dir)
    deliveries: list[Delivery] = []
    for platform_id, violations in sorted(by_platform.items()):
        for case in group_into_cases(violations, opened_at=now):
            regime = next((regimes[v.item_id] for v in case.violations if regimes.get(v.item_id) in available), None)
            ladder = available[regime] if regime is not None else ladder_for(regime, policies_dir)
            _check_circumstances(circ, ladder)
            decided = replace(case, circumstances=circ, complex=complex_case)
            with session.no_autoflush:  # one flush at the end (nothing read below needs one)
                deliveries += _decide_case(
                    session,
                    platform_id,
                    decided,
                    ladder,
                    actor=actor,
                    now=now,
                    known={d.id: d for d in eligible},
                    loaded=loaded,
                )
    if session.new:
        session.flush()  # the callbacks and blog status changes (the caller gets them complete)
    return deliveries


def _removal(decision: Decision) -> bool:
    return decision.verdict == "remove" and not decision.superseded_by_id and bool(decision.submission_id)


def _flush_unless_only_classified(session: Session) -> None:
    """Flush first unless the only changes pending are to submissions and decisions (a classification's).

    The reads of :func:`_prefetch` run without autoflush: they read case violations, strikes and blogs, which a
    pending change to a submission or decision cannot alter; anything else pending is flushed as autoflush would.
    """
    if session.new or session.deleted or any(not isinstance(o, Submission | Decision) for o in session.dirty):
        session.flush()


@dataclass
class _Loaded:
    """What the cases of one call read from the store, kept current as they write."""

    seen: set[str] = field(default_factory=set)  # removals already assessed
    strikes: dict[str, tuple[str, core.Strike]] = field(default_factory=dict)  # id → (platform id, strike)
    blogs: dict[tuple[str, str], tuple[str | None, str | None]] = field(default_factory=dict)  # → (id, status)

    def history(self, platform_id: str, author_id: str | None, blog_id: str | None) -> list[core.Strike]:
        """The strikes recorded on this author or blog (what :func:`strike_history` reads)."""
        return [
            s
            for p, s in self.strikes.values()
            if p == platform_id and ((author_id and s.author_id == author_id) or (blog_id and s.blog_id == blog_id))
        ]


@functools.cache
def _prefetch_statement() -> Any:
    """Whether the removal was assessed, its blog's id and status, and each strike on its author or blog (a row per
    strike, one row when there is none). Built once from bind parameters, so it is compiled once; a missing
    author or blog compares with NULL and matches nothing."""
    platform, author, blog = (bindparam(name, type_=String()) for name in ("platform_id", "author_id", "blog_id"))
    on_blog = (Blog.platform_id == platform, Blog.external_id == blog)
    one_row = select(literal(1).label("one")).subquery("one_row")
    strikes = and_(Strike.platform_id == platform, or_(Strike.author_id == author, Strike.blog_id == blog))
    return select(
        select(CaseViolation.decision_id)
        .where(CaseViolation.decision_id == bindparam("decision_id", type_=String()))
        .limit(1)
        .scalar_subquery()
        .label("seen"),
        select(Blog.id).where(*on_blog).scalar_subquery().label("blog_pk"),
        select(Blog.status).where(*on_blog).scalar_subquery().label("blog_status"),
        Strike.platform_id,
        Strike.id,
        Strike.author_id,
        Strike.blog_id,
        Strike.category_id,
        Strike.at,
        Strike.outcome,
        Strike.case_id,
        Strike.submission_id,
        Strike.reversed,
    ).select_from(one_row.outerjoin(Strike, strikes))


def _prefetch(session: Session, candidates: Sequence[Decision], subs: Mapping[str, Submission | None]) -> _Loaded:
    """Read what the cases need, one statement per removal (one for the worker's single removal)."""
    loaded = _Loaded()
    for decision in candidates:
        sub = subs.get(decision.id)
        params = {
            "decision_id": decision.id,
            "platform_id": decision.platform_id,
            "author_id": (sub.author_id or None) if sub is not None else None,
            "blog_id": (sub.blog_id or None) if sub is not None else None,
        }
        for row in session.connection().execute(_prefetch_statement(), params):
            if row.seen is not None:
                loaded.seen.add(row.seen)
            if params["blog_id"] is not None:
                loaded.blogs[(decision.platform_id, params["blog_id"])] = (row.blog_pk, row.blog_status)
            if row.id is not None and row.id not in loaded.strikes:
                strike = core.Strike(
                    row.id,
                    row.author_id,
                    row.blog_id,
                    row.category_id,
                    row.at,
                    row.outcome,
                    row.case_id,
                    row.submission_id,
                    row.reversed,
                )
                loaded.strikes[row.id] = (row.platform_id, strike)
    return loaded


def _circumstances(value: Circumstances | Mapping[str, Iterable[str]] | None) -> Circumstances:
    if value is None:
        return Circumstances()
    if isinstance(value, Circumstances):
        return value
    return Circumstances(frozenset(value.get("mitigating", ())), frozenset(value.get("aggravating", ())))


def _check_circumstances(circ: Circumstances, ladder: Ladder) -> None:
    for kind, names, known in (
        ("mitigating", circ.mitigating, ladder.mitigating),
        ("aggravating", circ.aggravating, ladder.aggravating),
    ):
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise unprocessable(
                "invalid_value",
                f"unknown {kind} circumstance(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})",
                f"circumstances.{kind}",
            )


def _violations(decision: Decision, sub: Submission) -> list[tuple[Violation, str | None]]:
    cats = [c for c in decision.categories or [] if c.get("id") and c.get("mode", "enforce") != "shadow"]
    if not cats:
        cats = [{"id": "policy_violation"}]
    out = []
    for cat in cats:
        severity = cat.get("severity")
        out.append(
            (
                Violation(
                    item_id=sub.id,
                    category_id=str(cat["id"]),
                    committed_at=sub.published_at,
                    severity=int(severity) if isinstance(severity, int) else None,
                    post_kind=PostKind(sub.post_kind or "original"),
                    author_id=sub.author_id,
                    blog_id=sub.blog_id,
                    decision_id=decision.id,
                    url=sub.url,
                ),
                cat.get("pack_id"),
            )
        )
    return out


def strike_history(session: Session, platform_id: str, author_id: str | None, blog_id: str | None) -> list[core.Strike]:
    """The strikes recorded on this author or blog (the core filters the window and reversed ones)."""
    conditions = []
    if author_id:
        conditions.append(Strike.author_id == author_id)
    if blog_id:
        conditions.append(Strike.blog_id == blog_id)
    if not conditions:
        return []
    rows = session.scalars(select(Strike).where(Strike.platform_id == platform_id, or_(*conditions))).all()
    return [
        core.Strike(
            r.id, r.author_id, r.blog_id, r.category_id, r.at, r.outcome, r.case_id, r.submission_id, r.reversed
        )
        for r in rows
    ]


def _decide_case(
    session: Session,
    platform_id: str,
    case: Any,
    ladder: Ladder,
    *,
    actor: str,
    now: dt.datetime,
    known: Mapping[str, Decision],
    loaded: _Loaded,
) -> list[Delivery]:
    history = loaded.history(platform_id, case.author_id, case.blog_id)
    result = core.assess_case(case, history, ladder, now)
    # A removal's several categories share its decision: load each decision once (those in hand not at all).
    decisions = {
        d: known.get(d or "") or decision_by_id(session, d or "")
        for d in dict.fromkeys(v.decision_id for v in case.violations)
    }
    source_cats = {
        (v.decision_id, c.get("id")): c for v in case.violations for c in _categories(decisions.get(v.decision_id))
    }
    listed = []
    for outcome in result.outcomes:
        v = outcome.violation
        cat = source_cats.get((v.decision_id, v.category_id)) or {}
        bracket = cat.get("bracket")
        listed.append(
            {
                "id": v.category_id,
                "name_vi": cat.get("name_vi", ""),
                "name_en": cat.get("name_en", ""),
                "citation": cat.get("citation") or {},
                "pack_id": cat.get("pack_id"),
                "pack_version": cat.get("pack_version"),
                "bracket": bracket,
                "submission_id": v.item_id,
                "decision_id": v.decision_id,
                "post_kind": v.post_kind.value,
                "time_barred": outcome.time_barred,
                "outcome": outcome.outcome,
                "rung_id": outcome.rung_id,
                "duration_days": outcome.duration_days,
                "basis": outcome.basis,
            }
        )
    pack_versions: dict[str, str] = {}
    for d in decisions.values():
        if d is not None:
            pack_versions.update(d.pack_versions or {})
    purpose = result.purpose_blog.to_json()
    enforcement_json = result.to_json()
    is_system = actor.startswith("system")
    decision = _new_decision(
        session,
        actor,
        platform_id=platform_id,
        submission_id=None,
        dedupe_key=f"case:{case.id}",
        verdict="enforce",
        action=result.sanction or "no_action",
        labels=["purpose_blog"] if result.purpose_blog.flagged else [],
        categories=listed,
        evaluation={
            "enforcement": enforcement_json,
            "purpose_blog": purpose,
            "regime": ladder.regime,
            "scope": "account",
        },
        pack_versions=pack_versions,
        source="enforcement",
        automated_detection=any(d is not None and d.automated_detection for d in decisions.values()),
        automated_decision="fully" if is_system else "partially",
        reason=_reason(result),
    )
    # Plain inserts: nothing reads these rows back as objects in this transaction.
    session.connection().execute(
        _table(Case).insert(),
        {
            "id": case.id,
            "platform_id": platform_id,
            "author_id": case.author_id,
            "blog_id": case.blog_id,
            "regime": ladder.regime,
            "opened_at": case.opened_at,
            "decided_at": now,
            "decided_by": actor,
            "circumstances": case.circumstances.to_json() | {"computed_aggravating": sorted(result.aggravating)},
            "complex": case.complex,
            "sanction": result.sanction,
            "decision_id": decision.id,
            "purpose_blog": result.purpose_blog.flagged,
            "assessment": enforcement_json,
        },
    )
    session.connection().execute(
        _table(CaseViolation).insert(),
        [
            {
                "case_id": case.id,
                "decision_id": outcome.violation.decision_id or "",
                "submission_id": outcome.violation.item_id,
                "category_id": outcome.violation.category_id,
                "post_kind": outcome.violation.post_kind.value,
                "committed_at": outcome.violation.committed_at,
                "time_barred": outcome.time_barred,
                "outcome": outcome.outcome,
                "rung_id": outcome.rung_id,
                "bracket": item["bracket"],
            }
            for outcome, item in zip(result.outcomes, listed, strict=True)
        ],
    )
    by_item = {v.item_id: v for v in case.violations}
    if result.strikes:
        session.connection().execute(
            _table(Strike).insert(),
            [
                {
                    "id": s.id,
                    "platform_id": platform_id,
                    "case_id": case.id,
                    "author_id": s.author_id,
                    "blog_id": s.blog_id,
                    "category_id": s.category_id,
                    "submission_id": s.item_id,
                    "decision_id": by_item[s.item_id].decision_id or "",
                    "outcome": s.outcome,
                    "at": s.at,
                    "reversed": False,
                    "reversed_at": None,
                }
                for s in result.strikes
            ],
        )
        loaded.strikes.update((s.id, (platform_id, replace(s, reversed=False))) for s in result.strikes)
    audit.record(
        session,
        actor=actor,
        action="case.decide",
        object_type="case",
        object_id=case.id,
        platform_id=platform_id,
        details={
            "decision_id": decision.id,
            "regime": ladder.regime,
            "sanction": result.sanction,
            "prior_strikes": result.prior_strikes,
            "strikes": [s.id for s in result.strikes],
            "time_barred": [o.violation.item_id for o in result.outcomes if o.time_barred],
            "circumstances": case.circumstances.to_json(),
            "purpose_blog": purpose,
        },
    )
    sanctions = [
        (new_id("snc"), action) for action in result.actions if action.kind in SANCTION_KINDS
    ]  # each removal already has its own decision.remove callback
    if not sanctions:
        return []
    session.connection().execute(
        _table(Sanction).insert(),
        [
            {
                "id": sanction_id,
                "platform_id": platform_id,
                "case_id": case.id,
                "decision_id": decision.id,
                "kind": action.kind,
                "target_type": action.target_type,
                "target_id": action.target_id,
                "starts_at": now,
                "until": action.until,
                "indefinite": action.indefinite,
                "lifted_at": None,
                "lifted_reason": None,
            }
            for sanction_id, action in sanctions
        ],
    )
    platform = session.get(Platform, platform_id)
    callbacks: dict[str, Delivery] = {}
    deliveries: list[Delivery] = []
    case_json = {"id": case.id, "sanction": result.sanction, "violations": listed, "purpose_blog": purpose}
    for sanction_id, action in sanctions:
        audit.record(
            session,
            actor=actor,
            action=f"sanction.{action.kind}",
            object_type="sanction",
            object_id=sanction_id,
            platform_id=platform_id,
            details={"case_id": case.id, **action.to_json()},
        )
        if action.kind == "suspend_blog":
            _suspend_blog(session, loaded, platform_id, action.target_id, actor)
        if platform is None or not platform.callback_url:
            continue
        event = f"enforcement.{action.kind}"
        if event not in callbacks:  # one callback per event of a decision (as add_delivery keeps it)
            callbacks[event] = Delivery(
                id=new_id("dlv"),
                platform_id=platform.id,
                decision_id=decision.id,
                event=event,
                url=platform.callback_url,
                payload={
                    "event": event,
                    "decision": decision_json(decision, None),
                    "action": action.to_json(),
                    "case": case_json,
                },
            )
            session.add(callbacks[event])
        deliveries.append(callbacks[event])
    return deliveries


def _table(model: type[Base]) -> Table:
    table: Table = model.__table__  # type: ignore[assignment]
    return table


def _new_decision(session: Session, actor: str, **fields: Any) -> Decision:
    """:func:`moderation.services.workflow.create_decision` as a plain insert (the row is not read back as an object
    in this transaction; the object returned carries its values for the callbacks' payload)."""
    values = {"id": new_id("dec"), "actor": actor, "created_at": utcnow(), **fields}
    session.connection().execute(_table(Decision).insert(), values)
    decision = Decision(**values)
    audit_decision_created(session, decision)
    return decision


def _suspend_blog(session: Session, loaded: _Loaded, platform_id: str, external_id: str, actor: str) -> None:
    """:func:`_set_blog_status` to ``suspended``, with the blog's status read by :func:`_prefetch` when it was."""
    key = (platform_id, external_id)
    blog_pk, status = loaded.blogs.get(key, (None, None))
    if key not in loaded.blogs:
        _set_blog_status(session, platform_id, external_id, "suspended", actor)
    elif blog_pk is not None and status != "suspended":
        blog = session.get(Blog, blog_pk)
        if blog is not None:
            _change_blog_status(session, blog, "suspended", actor, flush=False)
    loaded.blogs[key] = (blog_pk, "suspended")


def _categories(decision: Decision | None) -> list[dict[str, Any]]:
    return list(decision.categories or []) if decision is not None else []


def _reason(result: core.CaseDecision) -> str:
    parts = []
    for o in result.outcomes:
        what = (
            "quá thời hiệu, chỉ gỡ bỏ / past limitation, removal only"
            if o.time_barred
            else f"{o.outcome} ({o.rung_id})"
        )
        parts.append(f"{o.violation.category_id} @ {o.violation.item_id}: {what}")
    if result.purpose_blog.flagged:
        parts.append(
            f"blog {result.purpose_blog.blog_id}: {result.purpose_blog.count} violations of "
            f"{result.purpose_blog.category_id or 'any category'} in {result.purpose_blog.window_days} days "
            "(trang lập ra để phát tán / set up to spread)"
        )
    return "; ".join(parts)


def _set_blog_status(session: Session, platform_id: str, external_id: str, status: str, actor: str) -> None:
    blog = session.scalars(
        select(Blog).where(Blog.platform_id == platform_id, Blog.external_id == external_id)
    ).one_or_none()
    if blog is not None:
        _change_blog_status(session, blog, status, actor)


def _change_blog_status(session: Session, blog: Blog, status: str, actor: str, *, flush: bool = True) -> None:
    """Set ``blog``'s status (unless it has it), with its history row and audit entry."""
    if blog.status == status:
        return
    before = blog.status
    blog.status = status
    session.add(BlogStatusChange(blog_id=blog.id, status=status, source="enforcement"))
    if flush:
        session.flush()
    audit.record(
        session,
        actor=actor,
        action="blog.status",
        object_type="blog",
        object_id=blog.id,
        platform_id=blog.platform_id,
        details={"from": before, "to": status, "external_id": blog.external_id},
    )


def reverse_enforcement(
    session: Session, decision: Decision, *, superseding: Decision, actor: str, reason: str, now: dt.datetime
) -> list[Delivery]:
    """Undo the enforcement that rests on ``decision`` after it was reversed (an appeal upheld).

    A removal's strikes are marked reversed; a case left without a sanctioned violation has its running suspension
    lifted (``enforcement.restore_blog``) and its decision superseded. Reversing the case decision itself reverses
    every strike of the case.
    """
    if decision.source == "enforcement":
        cases = list(session.scalars(select(Case).where(Case.decision_id == decision.id)))
        strikes = [s for c in cases for s in session.scalars(select(Strike).where(Strike.case_id == c.id))]
    else:
        strikes = list(session.scalars(select(Strike).where(Strike.decision_id == decision.id)))
        case_ids = set(session.scalars(select(CaseViolation.case_id).where(CaseViolation.decision_id == decision.id)))
        cases = [c for c in (session.get(Case, cid) for cid in sorted(case_ids)) if c is not None]
    for strike in strikes:
        if not strike.reversed:
            strike.reversed, strike.reversed_at = True, now
            audit.record(
                session,
                actor=actor,
                action="strike.reverse",
                object_type="strike",
                object_id=strike.id,
                platform_id=strike.platform_id,
                details={"case_id": strike.case_id, "decision_id": decision.id, "reason": reason},
            )
    session.flush()
    deliveries: list[Delivery] = []
    for case in cases:
        remaining = session.scalar(
            select(Strike.id).where(Strike.case_id == case.id, Strike.reversed.is_(False)).limit(1)
        )
        if remaining is not None:
            continue
        case_decision = decision_by_id(session, case.decision_id or "")
        carrier = superseding
        if case_decision is not None and case_decision.id != decision.id and not case_decision.superseded_by_id:
            carrier = supersede(
                session,
                case_decision,
                {"action": "no_action", "source": superseding.source, "reason": reason, "labels": []},
                actor,
            )
        sanctions = session.scalars(select(Sanction).where(Sanction.case_id == case.id, Sanction.lifted_at.is_(None)))
        for sanction in sanctions:
            running = sanction.indefinite or (sanction.until is not None and sanction.until > now)
            sanction.lifted_at, sanction.lifted_reason = now, reason
            audit.record(
                session,
                actor=actor,
                action="sanction.lift",
                object_type="sanction",
                object_id=sanction.id,
                platform_id=sanction.platform_id,
                details={"case_id": case.id, "reason": reason, "running": running},
            )
            restore = _RESTORE.get(sanction.kind)
            if restore is None or not running:
                continue
            if sanction.kind == "suspend_blog":
                _set_blog_status(session, case.platform_id, sanction.target_id, "active", actor)
            action = core.EnforcementAction(restore, sanction.target_type, sanction.target_id, reason, case.id)
            delivery = add_delivery(
                session, carrier, f"enforcement.{restore}", {"action": action.to_json(), "case": {"id": case.id}}
            )
            if delivery is not None:
                deliveries.append(delivery)
    return deliveries


def account_status(session: Session, platform_id: str, target_type: str, target_id: str) -> dict[str, Any]:
    """Strikes counting now and the measures in force on an author or blog (for the console and the API)."""
    now = utcnow()
    column = Strike.author_id if target_type == "author" else Strike.blog_id
    strikes = session.scalars(
        select(Strike).where(Strike.platform_id == platform_id, column == target_id, Strike.reversed.is_(False))
    ).all()
    sanctions = session.scalars(
        select(Sanction).where(
            Sanction.platform_id == platform_id,
            Sanction.target_type == target_type,
            Sanction.target_id == target_id,
            Sanction.lifted_at.is_(None),
        )
    ).all()
    active = [s for s in sanctions if s.kind != "warn_author" and (s.indefinite or (s.until and s.until > now))]
    flagged = bool(
        target_type == "blog"
        and session.scalar(
            select(Case.id)
            .where(Case.platform_id == platform_id, Case.blog_id == target_id, Case.purpose_blog.is_(True))
            .limit(1)
        )
    )
    return {"strikes": len(strikes), "suspended": bool(active), "purpose_blog": flagged}


def expire_suspensions(
    session: Session, *, now: dt.datetime | None = None, actor: str = "system:sanction_expiry", limit: int = 500
) -> list[Delivery]:
    """End the suspensions whose term has run out: restore the blog and tell the platform; return the callbacks.

    Each expired suspension is marked lifted (reason ``expired``) and audited (``sanction.expire``); a suspended blog
    becomes active again unless another suspension of it is still running, and the platform gets
    ``enforcement.restore_blog`` (``restore_author`` for an author) on the case's decision, the same event an
    appeal's reversal sends. Indefinite suspensions never expire. Safe to run twice: a lifted sanction is not seen
    again.
    """
    now = now or utcnow()
    due = session.scalars(
        select(Sanction)
        .where(
            Sanction.kind.in_(tuple(_RESTORE)),
            Sanction.lifted_at.is_(None),
            Sanction.indefinite.is_(False),
            Sanction.until.is_not(None),
            Sanction.until <= now,
        )
        .order_by(Sanction.until)
        .limit(limit)
    ).all()
    deliveries: list[Delivery] = []
    for sanction in due:
        sanction.lifted_at, sanction.lifted_reason = now, "expired"
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="sanction.expire",
            object_type="sanction",
            object_id=sanction.id,
            platform_id=sanction.platform_id,
            details={
                "case_id": sanction.case_id,
                "kind": sanction.kind,
                "target_type": sanction.target_type,
                "target_id": sanction.target_id,
                "until": sanction.until.isoformat() if sanction.until else None,
            },
        )
        still_running = session.scalar(
            select(Sanction.id)
            .where(
                Sanction.platform_id == sanction.platform_id,
                Sanction.kind == sanction.kind,
                Sanction.target_type == sanction.target_type,
                Sanction.target_id == sanction.target_id,
                Sanction.lifted_at.is_(None),
                or_(Sanction.indefinite.is_(True), Sanction.until > now),
            )
            .limit(1)
        )
        if still_running is not None:
            continue
        if sanction.kind == "suspend_blog":
            _set_blog_status(session, sanction.platform_id, sanction.target_id, "active", actor)
        carrier = decision_by_id(session, sanction.decision_id)
        if carrier is None:
            continue
        restore = _RESTORE[sanction.kind]
        reason = "Hết thời hạn tạm đình chỉ / the suspension has expired"
        action = core.EnforcementAction(restore, sanction.target_type, sanction.target_id, reason, sanction.case_id)
        delivery = add_delivery(
            session,
            carrier,
            f"enforcement.{restore}",
            {"action": action.to_json(), "case": {"id": sanction.case_id}, "reason": "expired"},
        )
        if delivery is not None:
            deliveries.append(delivery)
    return deliveries
