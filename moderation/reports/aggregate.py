"""Count the figures of a report (Circular 07/2008 §6.2 and beyond) from plain records.

Counting rules (also in docs/reports.md; the tests recount every figure independently by these rules):

1. **Cut-off.** A report describes the records as of ``as_of`` (default: the end of the period). Anything dated at
   or after ``as_of`` is ignored, so regenerating a report gives the same numbers unless records dated before the
   cut-off changed.
2. **Excluded outright:** shadow-mode decisions, anything flagged ``test_platform``, decisions of another platform.
3. **Supersession.** Decisions linked by ``supersedes``/``superseded_by`` form a chain, counted once. The chain is
   attributed to the period of its *first* version's ``decided_at`` (when the content was found); its category,
   action, source, kind, author and blog are those of its *latest* version decided before the cut-off.
4. **Violation** (§6.2 e): a chain whose latest action is ``remove`` or ``restrict`` and which was not reversed
   (no version flagged ``reversed_on_appeal``, no appeal against any version reversed before the cut-off).
   ``label`` and ``no_action`` are decisions, not violations.
5. A violation with several categories counts once under each category (the category rows may sum to more than
   the total); months are months of the first version's date in Vietnam time.
6. **Repeat offenders:** authors (blogs) with at least two violations in the period.
7. **Automation:** a chain is automated when its *first* version was ``fully`` or ``partially`` automated (the
   machine's decision is what is being measured); "later reversed" as in rule 4.
8. **Authority requests** received in the period: complied when every named item was acted on before the cut-off;
   on time when that happened by the deadline; pending when not complied and the deadline is not yet past at the
   cut-off. Compliance rate = complied / (received - pending). Time to act = last item acted - received.
9. **Appeals** received in the period, with their outcome as of the cut-off (decided later: pending).
10. **Percentiles** are nearest-rank: the value at rank ceil(p/100 * n) of the sorted values; the median is p50.

Every figure lists the ids of the records behind it (decision ids for decision figures, blog ids for blog
figures, ...), so the compliance officer can trace each number.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from moderation.reports.periods import VN_TZ, Period
from moderation.reports.records import (
    Action,
    AppealOutcome,
    AuthorityRequestRecord,
    Automation,
    BlogRecord,
    BlogStatus,
    Category,
    DecisionRecord,
    ExtraTable,
    ProviderProfile,
    ReportInput,
    Source,
    StrikeKind,
    SubmissionKind,
    to_json,
)

VIOLATING_ACTIONS = frozenset({Action.REMOVE, Action.RESTRICT})
AUTOMATED = frozenset({Automation.FULLY, Automation.PARTIALLY})
SUSPENSIONS = frozenset({StrikeKind.SUSPENSION_1M, StrikeKind.SUSPENSION_3M, StrikeKind.INDEFINITE})
REPEAT_THRESHOLD = 2

# Sections of a report, in the order of the document.
SECTIONS = ("blogs", "violations", "strikes", "decisions", "authority", "appeals", "automation")

Value = int | float | None


@dataclass(frozen=True, slots=True)
class Figure:
    """One number of the report and the records behind it."""

    section: str
    metric: str
    dimension: str  # "" for a total; otherwise a category id, action, month "YYYY-MM", author id, ...
    value: Value
    unit: str  # count | hours | ratio
    id_kind: str  # decision | blog | strike | appeal | authority_request
    ids: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "metric": self.metric,
            "dimension": self.dimension,
            "value": self.value,
            "unit": self.unit,
            "id_kind": self.id_kind,
            "ids": list(self.ids),
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The computed report: figures plus what the renderers need to label them."""

    period: Period
    as_of: datetime
    platform_id: str
    profile: ProviderProfile
    figures: tuple[Figure, ...]
    categories: Mapping[str, Category]
    pack_versions: Mapping[str, tuple[str, ...]]
    extra_tables: tuple[ExtraTable, ...]
    checks: tuple[str, ...]
    input_sha256: str
    months: tuple[str, ...] = field(default=())

    def figure(self, section: str, metric: str, dimension: str = "") -> Figure:
        for fig in self.figures:
            if (fig.section, fig.metric, fig.dimension) == (section, metric, dimension):
                return fig
        raise KeyError((section, metric, dimension))

    def value(self, section: str, metric: str, dimension: str = "") -> Value:
        return self.figure(section, metric, dimension).value

    def content(self) -> dict[str, Any]:
        """Return the report as canonical-JSON-ready data (what :mod:`freeze` hashes)."""
        return {
            "schema": "vn-moderation/report/1",
            "period": self.period.to_json(),
            "as_of": self.as_of.isoformat(),
            "platform_id": self.platform_id,
            "profile": to_json(self.profile),
            "months": list(self.months),
            "categories": {cid: to_json(cat) for cid, cat in sorted(self.categories.items())},
            "pack_versions": {pid: list(shas) for pid, shas in sorted(self.pack_versions.items())},
            "figures": [f.to_json() for f in self.figures],
            "extra_tables": [to_json(t) for t in self.extra_tables],
            "checks": list(self.checks),
            "input_sha256": self.input_sha256,
        }


def canonical_json(data: Any) -> bytes:
    """Serialise deterministically: sorted keys, no spaces, UTF-8, no NaN."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def input_digest(records: ReportInput) -> str:
    """Return the SHA-256 of the input records' canonical JSON (order of the lists does not matter)."""
    data = to_json(records)
    for key in ("blogs", "decisions", "strikes", "appeals", "authority_requests"):
        data[key] = sorted(data[key], key=lambda r: r["id"])
    return hashlib.sha256(canonical_json(data)).hexdigest()


def percentile(values: Sequence[float], p: float) -> float | None:
    """Return the nearest-rank ``p``-th percentile, or None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


def month_key(instant: datetime) -> str:
    """Return ``YYYY-MM`` of the instant in Vietnam time."""
    return instant.astimezone(VN_TZ).strftime("%Y-%m")


def months_of(period: Period) -> tuple[str, ...]:
    """Return every month the period touches, in order."""
    months = []
    year, month = period.first_day.year, period.first_day.month
    while date(year, month, 1) <= period.last_day:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)


@dataclass(frozen=True, slots=True)
class Chain:
    """The versions of one decision, oldest first, restricted to those decided before the cut-off."""

    versions: tuple[DecisionRecord, ...]
    reversed: bool

    @property
    def first(self) -> DecisionRecord:
        return self.versions[0]

    @property
    def latest(self) -> DecisionRecord:
        return self.versions[-1]

    @property
    def id(self) -> str:
        """Identify the chain by its latest version (the one that counts)."""
        return self.latest.id

    @property
    def is_violation(self) -> bool:
        return self.latest.action in VIOLATING_ACTIONS and not self.reversed


class _Builder:
    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def add(
        self,
        section: str,
        metric: str,
        value: Value,
        ids: Iterable[str],
        *,
        dimension: str = "",
        unit: str = "count",
        id_kind: str = "decision",
    ) -> None:
        self.figures.append(Figure(section, metric, dimension, value, unit, id_kind, tuple(sorted(set(ids)))))

    def count(
        self, section: str, metric: str, ids: Iterable[str], *, dimension: str = "", id_kind: str = "decision"
    ) -> None:
        id_list = sorted(set(ids))
        self.add(section, metric, len(id_list), id_list, dimension=dimension, id_kind=id_kind)


def build_chains(
    decisions: Iterable[DecisionRecord], reversed_ids: set[str], as_of: datetime, checks: list[str]
) -> list[Chain]:
    """Group decision versions into chains (union of supersedes/superseded_by links) as of ``as_of``."""
    by_id = {d.id: d for d in decisions}
    parent = {d_id: d_id for d_id in by_id}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for d in by_id.values():
        for other in (d.supersedes, d.superseded_by):
            if other is None:
                continue
            if other in by_id:
                parent[find(d.id)] = find(other)
            elif d.decided_at < as_of:
                checks.append(f"decision {d.id} links to {other}, which is not among the counted records")
    groups: dict[str, list[DecisionRecord]] = defaultdict(list)
    for d in by_id.values():
        if d.decided_at < as_of:
            groups[find(d.id)].append(d)
    chains = []
    for versions in groups.values():
        versions.sort(key=lambda d: (d.decided_at, d.id))
        rev = any(v.reversed_on_appeal or v.id in reversed_ids for v in versions)
        chains.append(Chain(tuple(versions), rev))
    chains.sort(key=lambda c: (c.first.decided_at, c.first.id))
    return chains


def _status_at(blog: BlogRecord, instant: datetime) -> BlogStatus | None:
    """Return the blog's status just before ``instant`` (None if it did not exist yet)."""
    if blog.created_at >= instant:
        return None
    status = BlogStatus.ACTIVE
    for change in sorted(blog.history, key=lambda c: c.at):
        if change.at < instant:
            status = change.status
    return status


def build_report(records: ReportInput, period: Period, as_of: datetime | None = None) -> Report:
    """Compute every figure of the report for ``period`` from ``records``."""
    cut = period.end if as_of is None else as_of
    if cut.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    if cut < period.start:
        raise ValueError(f"as_of {cut.isoformat()} is before the period starts")
    end = min(period.end, cut)

    def in_period(instant: datetime) -> bool:
        return period.start <= instant < end

    checks: list[str] = []
    b = _Builder()

    # --- §6.2 (đ) blogs --------------------------------------------------------------------------------------
    blogs = [blog for blog in records.blogs if not blog.test_platform]
    for blog in blogs:
        last = max(blog.history, key=lambda c: c.at).status if blog.history else BlogStatus.ACTIVE
        if last != blog.status:
            checks.append(f"blog {blog.id}: status {blog.status} disagrees with its history ({last}); history used")
    at_end = {blog.id: _status_at(blog, end) for blog in blogs}
    managed = [i for i, s in at_end.items() if s in (BlogStatus.ACTIVE, BlogStatus.SUSPENDED)]
    b.count("blogs", "managed_at_end", managed, id_kind="blog")
    for status in (BlogStatus.ACTIVE, BlogStatus.SUSPENDED):
        b.count(
            "blogs", "managed_at_end", [i for i, s in at_end.items() if s == status], dimension=status, id_kind="blog"
        )
    b.count("blogs", "new", [blog.id for blog in blogs if in_period(blog.created_at)], id_kind="blog")
    for status, metric in ((BlogStatus.SUSPENDED, "suspended"), (BlogStatus.CLOSED, "closed")):
        changed = [blog.id for blog in blogs if any(c.status == status and in_period(c.at) for c in blog.history)]
        b.count("blogs", metric, changed, id_kind="blog")

    # --- decisions: exclusions and chains ----------------------------------------------------------------------
    shadow = [d.id for d in records.decisions if d.shadow and d.decided_at < cut]
    test = [d.id for d in records.decisions if d.test_platform and not d.shadow and d.decided_at < cut]
    other_platform = [
        d.id
        for d in records.decisions
        if d.platform_id != records.platform_id and not (d.shadow or d.test_platform) and d.decided_at < cut
    ]
    counted = [
        d for d in records.decisions if not (d.shadow or d.test_platform) and d.platform_id == records.platform_id
    ]
    appeals = [a for a in records.appeals if not a.test_platform]
    reversed_ids = {
        a.decision_id
        for a in appeals
        if a.outcome == AppealOutcome.REVERSED and a.decided_at is not None and a.decided_at < cut
    }
    all_chains = build_chains(counted, reversed_ids, cut, checks)
    chains = [c for c in all_chains if in_period(c.first.decided_at)]
    violations = [c for c in chains if c.is_violation]

    b.count("decisions", "total", [c.id for c in chains])
    for action in Action:
        b.count("decisions", "by_action", [c.id for c in chains if c.latest.action == action], dimension=action)
    b.count("decisions", "reversed", [c.id for c in chains if c.reversed])
    b.count(
        "decisions",
        "superseded_versions",
        [v.id for c in chains for v in c.versions[:-1]],
    )
    decided_at = {d.id: d.decided_at for d in records.decisions}
    b.count("decisions", "excluded_shadow", [d for d in shadow if in_period(decided_at[d])])
    b.count("decisions", "excluded_test_platform", [d for d in test if in_period(decided_at[d])])
    b.count("decisions", "excluded_other_platform", [d for d in other_platform if in_period(decided_at[d])])

    # --- §6.2 (e) violations -----------------------------------------------------------------------------------
    b.count("violations", "total", [c.id for c in violations])
    for kind in SubmissionKind:
        b.count("violations", "by_kind", [c.id for c in violations if c.latest.kind == kind], dimension=kind)
    with_blog = [c for c in violations if c.latest.blog_id is not None]
    b.add(
        "violations",
        "blogs_with_violations",
        len({c.latest.blog_id for c in with_blog}),
        [c.id for c in with_blog],
    )
    categories: dict[str, Category] = {}
    for c in chains:
        for cat in c.latest.categories:
            categories.setdefault(cat.id, cat)
    for cat_id in sorted({cat.id for c in violations for cat in c.latest.categories}):
        b.count(
            "violations",
            "by_category",
            [c.id for c in violations if any(cat.id == cat_id for cat in c.latest.categories)],
            dimension=cat_id,
        )
    for action in sorted(VIOLATING_ACTIONS):
        b.count("violations", "by_action", [c.id for c in violations if c.latest.action == action], dimension=action)
    for source in Source:
        b.count("violations", "by_source", [c.id for c in violations if c.latest.source == source], dimension=source)
    months = months_of(period)
    for month in months:
        b.count(
            "violations",
            "by_month",
            [c.id for c in violations if month_key(c.first.decided_at) == month],
            dimension=month,
        )
    cat_month: dict[str, list[str]] = defaultdict(list)
    for c in violations:
        for cat in c.latest.categories:
            cat_month[f"{cat.id}|{month_key(c.first.decided_at)}"].append(c.id)
    for key in sorted(cat_month):
        b.count("violations", "by_category_month", cat_month[key], dimension=key)

    for who, attr in (("authors", "author_id"), ("blogs", "blog_id")):
        per: dict[str, list[str]] = defaultdict(list)
        for c in violations:
            owner = getattr(c.latest, attr)
            if owner is not None:
                per[owner].append(c.id)
        repeat = {owner: ids for owner, ids in per.items() if len(ids) >= REPEAT_THRESHOLD}
        b.add(
            "violations",
            f"repeat_offender_{who}",
            len(repeat),
            [i for ids in repeat.values() for i in ids],
        )
        for owner in sorted(repeat):
            b.count("violations", f"repeat_offender_{who}_violations", repeat[owner], dimension=owner)

    # --- strikes and suspensions ---------------------------------------------------------------------------------
    strikes = [s for s in records.strikes if not s.test_platform and in_period(s.at)]
    b.count("strikes", "total", [s.id for s in strikes], id_kind="strike")
    for skind in StrikeKind:
        b.count("strikes", "by_kind", [s.id for s in strikes if s.kind == skind], dimension=skind, id_kind="strike")
    b.count("strikes", "suspensions", [s.id for s in strikes if s.kind in SUSPENSIONS], id_kind="strike")

    # --- authority requests --------------------------------------------------------------------------------------
    _authority(b, [r for r in records.authority_requests if not r.test_platform and in_period(r.received_at)], cut)

    # --- appeals -------------------------------------------------------------------------------------------------
    received = [a for a in appeals if in_period(a.received_at)]
    decided = [a for a in received if a.decided_at is not None and a.decided_at < cut and a.outcome != "pending"]
    b.count("appeals", "received", [a.id for a in received], id_kind="appeal")
    for outcome in (AppealOutcome.UPHELD, AppealOutcome.REVERSED):
        b.count("appeals", outcome.value, [a.id for a in decided if a.outcome == outcome], id_kind="appeal")
    b.count("appeals", "pending", [a.id for a in received if a not in decided], id_kind="appeal")
    times = [(a.decided_at - a.received_at).total_seconds() for a in decided if a.decided_at is not None]
    median = percentile(times, 50)
    b.add(
        "appeals",
        "time_to_decide_median",
        None if median is None else _hours(median),
        [a.id for a in decided],
        unit="hours",
        id_kind="appeal",
    )

    # --- automation ----------------------------------------------------------------------------------------------
    for level in Automation:
        level_chains = [c for c in chains if c.first.automated_decision == level]
        rev = [c.id for c in level_chains if c.reversed]
        b.count("automation", "decisions", [c.id for c in level_chains], dimension=level)
        b.count("automation", "reversed", rev, dimension=level)
    auto = [c for c in chains if c.first.automated_decision in AUTOMATED]
    auto_rev = [c.id for c in auto if c.reversed]
    b.count("automation", "automated_decisions", [c.id for c in auto])
    b.count("automation", "automated_reversed", auto_rev)
    b.add("automation", "automated_reversed_share", _ratio(len(auto_rev), len(auto)), auto_rev, unit="ratio")

    # --- pack versions and consistency checks ------------------------------------------------------------------
    packs: dict[str, set[str]] = defaultdict(set)
    for c in chains:
        for v in c.versions:
            for pack_id, sha in v.pack_versions.items():
                packs[pack_id].add(sha)
    known = {d.id for d in records.decisions}
    for a in received:
        if a.decision_id not in known:
            checks.append(f"appeal {a.id} refers to decision {a.decision_id}, which is not among the records")

    return Report(
        period=period,
        as_of=cut,
        platform_id=records.platform_id,
        profile=records.profile,
        figures=tuple(b.figures),
        categories=dict(sorted(categories.items())),
        pack_versions={pid: tuple(sorted(shas)) for pid, shas in sorted(packs.items())},
        extra_tables=records.extra_tables,
        checks=tuple(sorted(set(checks))),
        input_sha256=input_digest(records),
        months=months,
    )


def request_outcome(request: AuthorityRequestRecord, cut: datetime) -> tuple[bool, datetime | None]:
    """Return (complied, when the last item was acted on) as of ``cut``."""
    if request.targets:
        acted = [t.acted_at for t in request.targets if t.acted_at is not None and t.acted_at < cut]
        if len(acted) >= request.targets_count and len(acted) == len(request.targets):
            return True, max(acted) if acted else None
        return False, None
    if request.complied and (request.acted_at is None or request.acted_at < cut):
        return True, request.acted_at
    return False, None


def _authority(b: _Builder, requests: list[AuthorityRequestRecord], cut: datetime) -> None:
    kind = "authority_request"
    outcome = {r.id: request_outcome(r, cut) for r in requests}
    complied = [r for r in requests if outcome[r.id][0]]
    on_time = [r for r in complied if (at := outcome[r.id][1]) is not None and at <= r.deadline]
    pending = [r for r in requests if not outcome[r.id][0] and r.deadline >= cut]
    failed = [r for r in requests if not outcome[r.id][0] and r.deadline < cut]
    b.count("authority", "received", [r.id for r in requests], id_kind=kind)
    b.add("authority", "items_named", sum(r.targets_count for r in requests), [r.id for r in requests], id_kind=kind)
    b.count("authority", "complied", [r.id for r in complied], id_kind=kind)
    b.count("authority", "complied_on_time", [r.id for r in on_time], id_kind=kind)
    b.count("authority", "not_complied", [r.id for r in failed], id_kind=kind)
    b.count("authority", "pending", [r.id for r in pending], id_kind=kind)
    decided = len(requests) - len(pending)
    b.add(
        "authority",
        "compliance_rate",
        _ratio(len(complied), decided),
        [r.id for r in complied],
        unit="ratio",
        id_kind=kind,
    )
    b.add(
        "authority", "on_time_rate", _ratio(len(on_time), decided), [r.id for r in on_time], unit="ratio", id_kind=kind
    )
    timed = [r for r in complied if outcome[r.id][1] is not None]
    seconds = [(at - r.received_at).total_seconds() for r in timed if (at := outcome[r.id][1]) is not None]
    for r, sec in zip(timed, seconds, strict=True):
        b.add("authority", "time_to_act", _hours(sec), [r.id], dimension=r.id, unit="hours", id_kind=kind)
    for metric, p in (("time_to_act_median", 50), ("time_to_act_p90", 90)):
        value = percentile(seconds, p)
        b.add(
            "authority",
            metric,
            None if value is None else _hours(value),
            [r.id for r in timed],
            unit="hours",
            id_kind=kind,
        )
