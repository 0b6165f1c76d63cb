"""The store's side of the reports: database rows -> :class:`moderation.reports.records.ReportInput`.

``load_report_input(session, platform_id, start, end)`` follows the contract in docs/reports.md: the provider
profile, every blog created before ``end`` with its status history, every version of every supersession chain with
a version decided before ``end`` (including versions before ``start`` or after ``end``, shadow and test ones),
strikes, appeals and authority requests dated before ``end``. The core (``moderation.reports.aggregate``) filters and
counts; over-fetching is harmless.

Mapping from the store's words to the report's:

* Decision ``action``: ``remove``/``restrict``/``label``/``no_action`` as they are; ``review`` (waiting for a
  moderator) and ``restore`` (a reversal) act on nothing, so ``no_action``.
* Decision ``source``: ``automated``, ``moderator``, ``user_report``, ``authority_request`` as they are; a version
  recorded by a correction or an appeal keeps the source of the version it supersedes (how the content was found
  does not change), ``moderator`` when there is none.
* A version recorded by a reversed appeal (source ``appeal``) is flagged ``reversed_on_appeal``.
* ``shadow``: the decision's engine output has categories and every one of them ran in shadow mode (nothing enforced).
* Account-level enforcement decisions (cases: warnings and suspensions, no submission) are not content decisions;
  they are reported through the strikes they recorded.
* Strikes: ``warn`` -> warning, ``suspend_indefinite`` -> indefinite, ``suspend`` -> 1 or 3 months by the rung's
  duration (90 days or more: 3 months). A strike reversed (appeal) before ``end`` is left out.
* ``platform_id=None`` is the provider's report over all its platforms: every record's ``platform_id`` is
  :data:`ALL_PLATFORMS`, author and blog ids are prefixed with the platform id (two platforms may both have a
  "blog-1"), and test platforms' records are loaded with ``test_platform`` set (the core excludes them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from moderation.reports.records import (
    Action,
    AppealOutcome,
    AppealRecord,
    AuthorityRequestRecord,
    AuthorityTarget,
    Automation,
    BlogRecord,
    BlogStatus,
    Category,
    Citation,
    DecisionRecord,
    ProviderProfile,
    ReportInput,
    Source,
    StatusChange,
    StrikeKind,
    StrikeRecord,
    SubmissionKind,
)
from moderation.store.models import Blog, BlogStatusChange, Decision, Delivery, Platform, Submission
from moderation.store.workflow import Appeal, AuthorityRequest, Case, CaseViolation, Strike
from moderation.store.workflow import AuthorityTarget as TargetRow

ALL_PLATFORMS = "all"  # ReportInput.platform_id of the provider's report over all its platforms
BATCH = 500  # ids per IN (...) query

_ACTIONS = {
    "remove": Action.REMOVE,
    "restrict": Action.RESTRICT,
    "label": Action.LABEL,
    "no_action": Action.NO_ACTION,
}
_SOURCES = {s.value: s for s in Source}
_INHERITED_SOURCES = frozenset({"correction", "appeal", "review"})
_AUTOMATION = {a.value: a for a in Automation}
_KINDS = {k.value: k for k in SubmissionKind}
_BLOG_STATUS = {
    "active": BlogStatus.ACTIVE,
    "suspended": BlogStatus.SUSPENDED,
    "closed": BlogStatus.CLOSED,
    "deleted": BlogStatus.CLOSED,
}
_APPEAL = {o.value: o for o in AppealOutcome}
THREE_MONTHS_DAYS = 90


class ProfileError(ValueError):
    """The platform's provider profile cannot be read."""


def _batches(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(ids), BATCH):
        yield ids[i : i + BATCH]


def _date(value: Any, fallback: dt.date) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError as exc:
            raise ProfileError(f"profile date {value!r} is not YYYY-MM-DD") from exc
    return fallback


def profile_of(platform: Platform) -> ProviderProfile:
    """Read the §6.2 (a)-(d) profile from ``Platform.profile`` (the field names of :class:`ProviderProfile`).

    Missing text fields are empty (the document shows a blank to fill in); missing dates fall back to the day the
    platform was registered with this service.
    """
    data: Mapping[str, Any] = platform.profile or {}
    since = platform.created_at.date()

    def text(name: str, default: str = "") -> str:
        value = data.get(name)
        return default if value is None else str(value)

    extra: dict[str, Any] = {}
    if data.get("representative_title"):
        extra["representative_title"] = str(data["representative_title"])
    if isinstance(data.get("recipients"), list) and data["recipients"]:
        extra["recipients"] = tuple(str(r) for r in data["recipients"])
    return ProviderProfile(
        provider_name=text("provider_name", platform.name),
        registration_number=text("registration_number"),
        registration_date=_date(data.get("registration_date"), since),
        service_start_date=_date(data.get("service_start_date"), since),
        office_address=text("office_address"),
        representative_name=text("representative_name"),
        representative_phone=text("representative_phone"),
        representative_email=text("representative_email"),
        place=text("place", "Hà Nội"),
        **extra,
    )


def _platforms(session: Session, platform_id: str | None) -> list[Platform]:
    if platform_id is not None:
        platform = session.get(Platform, platform_id)
        if platform is None:
            raise LookupError(f"no platform {platform_id!r}")
        return [platform]
    return list(session.scalars(select(Platform).order_by(Platform.created_at, Platform.id)))


def _provider_profile(platforms: Sequence[Platform]) -> ProviderProfile:
    """The provider's profile for a report over all platforms: the first real platform that has one."""
    if not platforms:
        raise LookupError("no platforms")
    ordered = sorted(platforms, key=lambda p: (p.is_test, not p.profile, p.created_at, p.id))
    return profile_of(ordered[0])


class _Ids:
    """Author and blog ids as the report shows them: the platform's own, prefixed in a report over all platforms."""

    def __init__(self, prefixed: bool) -> None:
        self.prefixed = prefixed

    def __call__(self, platform_id: str, value: str | None) -> str | None:
        if value is None or not self.prefixed:
            return value
        return f"{platform_id}/{value}"


def _blogs(session: Session, platforms: Mapping[str, Platform], end: dt.datetime, ids: _Ids) -> list[BlogRecord]:
    rows = list(
        session.scalars(
            select(Blog).where(Blog.platform_id.in_(list(platforms)), Blog.created_at < end).order_by(Blog.id)
        )
    )
    history: dict[str, list[StatusChange]] = {}
    blog_ids = [b.id for b in rows]
    for chunk in _batches(blog_ids):
        for change in session.scalars(
            select(BlogStatusChange).where(BlogStatusChange.blog_id.in_(chunk)).order_by(BlogStatusChange.seq)
        ):
            status = _BLOG_STATUS.get(change.status, BlogStatus.ACTIVE)
            history.setdefault(change.blog_id, []).append(StatusChange(status=status, at=change.at))
    return [
        BlogRecord(
            id=blog.id,
            platform_blog_id=ids(blog.platform_id, blog.external_id) or blog.external_id,
            created_at=blog.created_at,
            status=_BLOG_STATUS.get(blog.status, BlogStatus.ACTIVE),
            history=tuple(history.get(blog.id, ())),
            test_platform=platforms[blog.platform_id].is_test,
        )
        for blog in rows
    ]


def _decision_rows(session: Session, platform_ids: list[str], end: dt.datetime) -> list[Decision]:
    """Content decisions decided before ``end`` and every version linked to them (either way, any date)."""
    found: dict[str, Decision] = {
        d.id: d
        for d in session.scalars(
            select(Decision).where(
                Decision.platform_id.in_(platform_ids),
                Decision.created_at < end,
                Decision.submission_id.is_not(None),
            )
        )
    }
    frontier = {link for d in found.values() for link in (d.supersedes_id, d.superseded_by_id) if link}
    frontier -= set(found)
    while frontier:
        fetched: list[Decision] = []
        for chunk in _batches(sorted(frontier)):
            fetched += session.scalars(select(Decision).where(Decision.id.in_(chunk)))
        for d in fetched:
            if d.platform_id in platform_ids:
                found[d.id] = d
        frontier = {link for d in fetched for link in (d.supersedes_id, d.superseded_by_id) if link} - set(found)
        frontier -= {d.id for d in fetched}
    return sorted(found.values(), key=lambda d: (d.created_at, d.seq))


def _is_shadow(decision: Decision) -> bool:
    evaluated = (decision.evaluation or {}).get("categories")
    if decision.categories or not isinstance(evaluated, list) or not evaluated:
        return False
    return all(isinstance(c, Mapping) and c.get("mode") == "shadow" for c in evaluated)


def _categories(decision: Decision) -> tuple[Category, ...]:
    out: dict[str, Category] = {}
    for cat in decision.categories or []:
        if not isinstance(cat, Mapping) or not cat.get("id") or cat.get("mode") == "shadow":
            continue
        citation = cat.get("citation") if isinstance(cat.get("citation"), Mapping) else {}
        assert isinstance(citation, Mapping)
        out.setdefault(
            str(cat["id"]),
            Category(
                id=str(cat["id"]),
                name_vi=str(cat.get("name_vi") or cat["id"]),
                name_en=str(cat.get("name_en") or cat["id"]),
                citation=Citation(
                    instrument=str(citation.get("instrument") or ""),
                    article=str(citation.get("article") or ""),
                    clause=str(citation.get("clause") or ""),
                    point=str(citation.get("point") or ""),
                ),
            ),
        )
    return tuple(out.values())


def _source(decision: Decision, by_id: Mapping[str, Decision]) -> Source:
    current: Decision | None = decision
    seen: set[str] = set()
    while current is not None and current.id not in seen:
        seen.add(current.id)
        if current.source in _SOURCES:
            return _SOURCES[current.source]
        if current.source not in _INHERITED_SOURCES:
            break
        current = by_id.get(current.supersedes_id or "")
    return Source.MODERATOR


def _decisions(
    session: Session, platforms: Mapping[str, Platform], end: dt.datetime, ids: _Ids, report_platform: str
) -> list[DecisionRecord]:
    rows = _decision_rows(session, list(platforms), end)
    by_id = {d.id: d for d in rows}
    subs: dict[str, Submission] = {}
    sub_ids = sorted({d.submission_id for d in rows if d.submission_id})
    for chunk in _batches(sub_ids):
        subs.update({s.id: s for s in session.scalars(select(Submission).where(Submission.id.in_(chunk)))})
    records = []
    for d in rows:
        sub = subs.get(d.submission_id or "")
        records.append(
            DecisionRecord(
                id=d.id,
                platform_id=report_platform,
                kind=_KINDS.get(sub.kind if sub is not None else "", SubmissionKind.POST),
                categories=_categories(d),
                action=_ACTIONS.get(d.action, Action.NO_ACTION),
                source=_source(d, by_id),
                automated_decision=_AUTOMATION.get(d.automated_decision, Automation.NOT),
                decided_at=d.created_at,
                blog_id=ids(d.platform_id, sub.blog_id) if sub is not None else None,
                author_id=ids(d.platform_id, sub.author_id) if sub is not None else None,
                supersedes=d.supersedes_id if d.supersedes_id in by_id else None,
                superseded_by=d.superseded_by_id if d.superseded_by_id in by_id else None,
                reversed_on_appeal=d.source == "appeal",
                shadow=_is_shadow(d),
                test_platform=platforms[d.platform_id].is_test,
                pack_versions={str(k): str(v) for k, v in (d.pack_versions or {}).items()},
            )
        )
    return records


def _strike_kind(strike: Strike, durations: Mapping[tuple[str, str, str], int | None]) -> StrikeKind:
    if strike.outcome == "warn":
        return StrikeKind.WARNING
    if strike.outcome == "suspend_indefinite":
        return StrikeKind.INDEFINITE
    days = durations.get((strike.case_id, strike.decision_id, strike.category_id))
    return StrikeKind.SUSPENSION_3M if days is not None and days >= THREE_MONTHS_DAYS else StrikeKind.SUSPENSION_1M


def _rung_days(session: Session, strikes: Sequence[Strike]) -> dict[tuple[str, str, str], int | None]:
    """Duration of the rung each suspension strike was given, from the case's ladder."""
    suspended = [s for s in strikes if s.outcome == "suspend"]
    if not suspended:
        return {}
    from moderation.services.workflow import ladders  # the enforcement data per regime (policy files)

    case_ids = sorted({s.case_id for s in suspended})
    regimes: dict[str, str] = {}
    rungs: dict[tuple[str, str, str], str | None] = {}
    for chunk in _batches(case_ids):
        regimes.update(
            {str(k): str(v) for k, v in session.execute(select(Case.id, Case.regime).where(Case.id.in_(chunk)))}
        )
        for cv in session.scalars(select(CaseViolation).where(CaseViolation.case_id.in_(chunk))):
            rungs[(cv.case_id, cv.decision_id, cv.category_id)] = cv.rung_id
    known = ladders()
    out: dict[tuple[str, str, str], int | None] = {}
    for key, rung_id in rungs.items():
        ladder = known.get(regimes.get(key[0], ""))
        rung = next((r for r in ladder.rungs if r.id == rung_id), None) if ladder is not None else None
        out[key] = rung.duration_days if rung is not None else None
    return out


def _strikes(session: Session, platforms: Mapping[str, Platform], end: dt.datetime, ids: _Ids) -> list[StrikeRecord]:
    rows = [
        s
        for s in session.scalars(
            select(Strike).where(Strike.platform_id.in_(list(platforms)), Strike.at < end).order_by(Strike.id)
        )
        if not (s.reversed and (s.reversed_at is None or s.reversed_at < end))
    ]
    durations = _rung_days(session, rows)
    return [
        StrikeRecord(
            id=s.id,
            kind=_strike_kind(s, durations),
            at=s.at,
            author_id=ids(s.platform_id, s.author_id),
            blog_id=ids(s.platform_id, s.blog_id),
            decision_id=s.decision_id,
            test_platform=platforms[s.platform_id].is_test,
        )
        for s in rows
    ]


def _appeals(session: Session, platforms: Mapping[str, Platform], end: dt.datetime) -> list[AppealRecord]:
    rows = session.scalars(
        select(Appeal).where(Appeal.platform_id.in_(list(platforms)), Appeal.filed_at < end).order_by(Appeal.id)
    )
    return [
        AppealRecord(
            id=a.id,
            decision_id=a.decision_id,
            received_at=a.filed_at,
            outcome=_APPEAL.get(a.status, AppealOutcome.PENDING),
            decided_at=a.decided_at,
            test_platform=platforms[a.platform_id].is_test,
        )
        for a in rows
    ]


def _authority(session: Session, platforms: Mapping[str, Platform], end: dt.datetime) -> list[AuthorityRequestRecord]:
    rows = list(
        session.scalars(
            select(AuthorityRequest)
            .where(AuthorityRequest.platform_id.in_(list(platforms)), AuthorityRequest.received_at < end)
            .order_by(AuthorityRequest.id)
        )
    )
    targets: dict[str, list[TargetRow]] = {}
    for chunk in _batches([r.id for r in rows]):
        for t in session.scalars(
            select(TargetRow).where(TargetRow.request_id.in_(chunk)).order_by(TargetRow.request_id, TargetRow.position)
        ):
            targets.setdefault(t.request_id, []).append(t)
    # A target is acted on when the platform confirmed it or acknowledged the decision.remove callback (first).
    delivered: dict[str, dt.datetime] = {}
    decision_ids = sorted({t.decision_id for ts in targets.values() for t in ts if t.decision_id})
    for chunk in _batches(decision_ids):
        for decision_id, at in session.execute(
            select(Delivery.decision_id, Delivery.delivered_at).where(
                Delivery.decision_id.in_(chunk),
                Delivery.event == "decision.remove",
                Delivery.delivered_at.is_not(None),
            )
        ):
            if at is not None:
                delivered[decision_id] = at

    def acted(t: TargetRow) -> dt.datetime | None:
        times = [x for x in (t.acted_at, delivered.get(t.decision_id or "")) if x is not None]
        return min(times) if times else None

    return [
        AuthorityRequestRecord(
            id=r.id,
            issuing_body=r.issuing_body,
            document_number=r.document_number,
            received_at=r.received_at,
            deadline=r.due_at,
            targets_count=len(targets.get(r.id, ())),
            targets=tuple(AuthorityTarget(ref=t.target, acted_at=acted(t)) for t in targets.get(r.id, ())),
            test_platform=platforms[r.platform_id].is_test,
        )
        for r in rows
    ]


def load_report_input(session: Session, platform_id: str | None, start: dt.datetime, end: dt.datetime) -> ReportInput:
    """Load the records of one platform (``None``: all the provider's platforms) for a report ending at ``end``.

    ``start`` is accepted for the contract's symmetry: every chain with a version before ``end`` is loaded in full
    (the core attributes a chain to its first version's period), so nothing is cut at ``start``.
    Raises :class:`LookupError` for an unknown platform.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be aware datetimes")
    platform_list = _platforms(session, platform_id)
    platforms = {p.id: p for p in platform_list}
    ids = _Ids(prefixed=platform_id is None)
    report_platform = platform_id if platform_id is not None else ALL_PLATFORMS
    profile = profile_of(platform_list[0]) if platform_id is not None else _provider_profile(platform_list)
    if not platforms:
        return ReportInput(platform_id=report_platform, profile=profile)
    return ReportInput(
        platform_id=report_platform,
        profile=profile,
        blogs=tuple(_blogs(session, platforms, end, ids)),
        decisions=tuple(_decisions(session, platforms, end, ids, report_platform)),
        strikes=tuple(_strikes(session, platforms, end, ids)),
        appeals=tuple(_appeals(session, platforms, end)),
        authority_requests=tuple(_authority(session, platforms, end)),
    )
