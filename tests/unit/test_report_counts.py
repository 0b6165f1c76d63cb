"""Counting rules of the report, case by case, and an independent recount of every figure from raw records."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta, timezone

import pytest

from moderation.reports.aggregate import build_report, percentile
from moderation.reports.periods import semiannual
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
    ReportInput,
    Source,
    StatusChange,
    StrikeKind,
    SubmissionKind,
)
from moderation.reports.sample import PROFILE, sample_input

ICT = timezone(timedelta(hours=7))
H1 = semiannual(2024, 1)
SLANDER = Category("slander", "Xúc phạm danh dự", "Slander", Citation("Nghị định 97/2008/NĐ-CP", "6", "1", "c"))
PRIVACY = Category("privacy", "Đời tư", "Privacy", Citation("Thông tư 07/2008/TT-BTTTT", "3", "4"))
MARCH = datetime(2024, 3, 10, 9, 0, tzinfo=ICT)


def dec(id_: str, **kw) -> DecisionRecord:
    base = {
        "platform_id": "p",
        "kind": SubmissionKind.POST,
        "categories": (SLANDER,),
        "action": Action.REMOVE,
        "source": Source.AUTOMATED,
        "automated_decision": Automation.FULLY,
        "decided_at": MARCH,
        "author_id": "u1",
        "blog_id": "b1",
    }
    return DecisionRecord(id=id_, **{**base, **kw})


def run(decisions=(), **kw):
    return build_report(ReportInput("p", PROFILE, decisions=tuple(decisions), **kw), H1)


@pytest.mark.parametrize(
    ("decisions", "expected"),
    [
        # A plain removal is one violation under its category, action, source and month.
        (
            [dec("d1")],
            {
                ("total", ""): 1,
                ("by_category", "slander"): 1,
                ("by_action", "remove"): 1,
                ("by_source", "automated"): 1,
                ("by_month", "2024-03"): 1,
            },
        ),
        # Shadow-mode results never count.
        ([dec("d1", shadow=True)], {("total", ""): 0}),
        # Test platforms never count.
        ([dec("d1", test_platform=True)], {("total", ""): 0}),
        # Another platform's decision does not count in this platform's report.
        ([dec("d1", platform_id="q")], {("total", ""): 0}),
        # A label is a decision, not a violation (untargeted profanity); no_action likewise.
        ([dec("d1", action=Action.LABEL), dec("d2", action=Action.NO_ACTION)], {("total", ""): 0}),
        # Restricting is a violation too.
        ([dec("d1", action=Action.RESTRICT)], {("total", ""): 1, ("by_action", "restrict"): 1}),
        # A revision counts once, with the latest version's category and action.
        (
            [
                dec("d1", superseded_by="d2"),
                dec("d2", supersedes="d1", categories=(PRIVACY,), decided_at=MARCH + timedelta(days=2)),
            ],
            {("total", ""): 1, ("by_category", "privacy"): 1, ("by_category", "slander"): None},
        ),
        # A chain is linked from either side: superseded_by alone is enough.
        ([dec("d1", superseded_by="d2"), dec("d2", decided_at=MARCH + timedelta(days=1))], {("total", ""): 1}),
        # A revision to no_action withdraws the violation.
        (
            [
                dec("d1", superseded_by="d2"),
                dec("d2", supersedes="d1", action=Action.NO_ACTION, decided_at=MARCH + timedelta(days=1)),
            ],
            {("total", ""): 0},
        ),
        # A revision dated after the cut-off (end of period) is ignored: the report stays as it was.
        (
            [
                dec("d1", superseded_by="d2"),
                dec("d2", supersedes="d1", action=Action.NO_ACTION, decided_at=datetime(2024, 7, 2, tzinfo=ICT)),
            ],
            {("total", ""): 1},
        ),
        # A chain is attributed to its first version's period: found in December, revised in January -> not H1.
        (
            [
                dec("d1", superseded_by="d2", decided_at=datetime(2023, 12, 30, tzinfo=ICT)),
                dec("d2", supersedes="d1", decided_at=datetime(2024, 1, 3, tzinfo=ICT)),
            ],
            {("total", ""): 0},
        ),
        # Reversed on appeal: not a violation, but counted as a reversed automated decision.
        ([dec("d1", reversed_on_appeal=True)], {("total", ""): 0}),
        # Two categories: one violation, counted under each category.
        (
            [dec("d1", categories=(SLANDER, PRIVACY))],
            {("total", ""): 1, ("by_category", "slander"): 1, ("by_category", "privacy"): 1},
        ),
        # 23:30 on 30 June in Vietnam (16:30 UTC) is June of H1; 00:30 on 1 July is not.
        (
            [
                dec("d1", decided_at=datetime(2024, 6, 30, 16, 30, tzinfo=UTC)),
                dec("d2", decided_at=datetime(2024, 6, 30, 17, 30, tzinfo=UTC)),
            ],
            {("total", ""): 1, ("by_month", "2024-06"): 1},
        ),
        # Repeat offenders: two violations by the same author; the other author has one.
        (
            [dec("d1"), dec("d2", blog_id="b2"), dec("d3", author_id="u2", blog_id="b3")],
            {
                ("repeat_offender_authors", ""): 1,
                ("repeat_offender_authors_violations", "u1"): 2,
                ("repeat_offender_blogs", ""): 0,
            },
        ),
        # Blogs with violations counts distinct blogs.
        ([dec("d1"), dec("d2"), dec("d3", blog_id=None)], {("blogs_with_violations", ""): 1, ("total", ""): 3}),
    ],
)
def test_violation_counting_rules(decisions, expected):
    report = run(decisions)
    for (metric, dim), value in expected.items():
        if value is None:
            with pytest.raises(KeyError):
                report.value("violations", metric, dim)
        else:
            assert report.value("violations", metric, dim) == value, (metric, dim)


def test_each_figure_lists_the_decisions_behind_it():
    report = run(
        [
            dec("d1", superseded_by="d2"),
            dec("d2", supersedes="d1", decided_at=MARCH + timedelta(days=1)),
            dec("d3", shadow=True),
        ]
    )
    assert report.figure("violations", "total").ids == ("d2",)  # the latest version stands for its chain
    assert report.figure("decisions", "superseded_versions").ids == ("d1",)
    assert report.figure("decisions", "excluded_shadow").ids == ("d3",)


def test_reversal_by_appeal_record_before_the_cut_off():
    # An appeal reversed within the period withdraws the violation; one reversed after the cut-off does not.
    appeals = (
        AppealRecord("a1", "d1", MARCH, AppealOutcome.REVERSED, MARCH + timedelta(days=3)),
        AppealRecord("a2", "d2", MARCH, AppealOutcome.REVERSED, datetime(2024, 8, 1, tzinfo=ICT)),
    )
    report = run([dec("d1"), dec("d2")], appeals=appeals)
    assert report.figure("violations", "total").ids == ("d2",)
    assert (report.value("appeals", "reversed"), report.value("appeals", "pending")) == (1, 1)
    assert report.value("automation", "automated_reversed_share") == 0.5


@pytest.mark.parametrize(
    ("request_", "outcome"),
    [
        # Every item acted on before the deadline: complied, on time.
        (
            AuthorityRequestRecord(
                "r",
                "Cục",
                "1/CV",
                MARCH,
                MARCH + timedelta(hours=24),
                2,
                (AuthorityTarget("x", MARCH + timedelta(hours=2)), AuthorityTarget("y", MARCH + timedelta(hours=5))),
            ),
            ("complied", "complied_on_time"),
        ),
        # One item late: complied, not on time.
        (
            AuthorityRequestRecord(
                "r",
                "Cục",
                "1/CV",
                MARCH,
                MARCH + timedelta(hours=24),
                2,
                (AuthorityTarget("x", MARCH + timedelta(hours=2)), AuthorityTarget("y", MARCH + timedelta(hours=30))),
            ),
            ("complied",),
        ),
        # One item never acted on, deadline past: not complied.
        (
            AuthorityRequestRecord(
                "r",
                "Cục",
                "1/CV",
                MARCH,
                MARCH + timedelta(hours=24),
                2,
                (AuthorityTarget("x", MARCH), AuthorityTarget("y")),
            ),
            ("not_complied",),
        ),
        # Fewer items recorded than the document names: not complied.
        (
            AuthorityRequestRecord(
                "r", "Cục", "1/CV", MARCH, MARCH + timedelta(hours=24), 3, (AuthorityTarget("x", MARCH),)
            ),
            ("not_complied",),
        ),
        # Received on the last evening, deadline after the period: pending, outside the rate.
        (
            AuthorityRequestRecord(
                "r", "Cục", "1/CV", datetime(2024, 6, 30, 22, tzinfo=ICT), datetime(2024, 7, 1, 22, tzinfo=ICT), 1
            ),
            ("pending",),
        ),
        # Only a yes/no is kept: complied with its acted_at.
        (
            AuthorityRequestRecord(
                "r",
                "Cục",
                "1/CV",
                MARCH,
                MARCH + timedelta(hours=24),
                1,
                complied=True,
                acted_at=MARCH + timedelta(hours=1),
            ),
            ("complied", "complied_on_time"),
        ),
    ],
)
def test_authority_request_outcomes(request_, outcome):
    report = run(authority_requests=(request_,))
    for metric in ("complied", "complied_on_time", "not_complied", "pending"):
        assert report.value("authority", metric) == (1 if metric in outcome else 0), metric


def test_blog_register_counts():
    blogs = (
        BlogRecord("old", "1", datetime(2020, 1, 1, tzinfo=ICT), BlogStatus.ACTIVE),
        # Created in the period, suspended in the period, still suspended at the end: managed, suspended.
        BlogRecord(
            "s", "2", MARCH, BlogStatus.SUSPENDED, (StatusChange(BlogStatus.SUSPENDED, MARCH + timedelta(days=1)),)
        ),
        # Closed in the period: no longer managed.
        BlogRecord(
            "c", "3", datetime(2020, 1, 1, tzinfo=ICT), BlogStatus.CLOSED, (StatusChange(BlogStatus.CLOSED, MARCH),)
        ),
        # Created after the period: not yet managed.
        BlogRecord("late", "4", datetime(2024, 7, 2, tzinfo=ICT), BlogStatus.ACTIVE),
        # A test platform's blog never counts.
        BlogRecord("t", "5", MARCH, BlogStatus.ACTIVE, test_platform=True),
    )
    report = run(blogs=blogs)
    got = {m: report.value("blogs", m) for m in ("managed_at_end", "new", "suspended", "closed")}
    assert got == {"managed_at_end": 2, "new": 1, "suspended": 1, "closed": 1}
    assert report.figure("blogs", "managed_at_end", "suspended").ids == ("s",)


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        ([], 50, None),  # nothing to rank
        ([5.0], 90, 5.0),  # one value is every percentile
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),  # nearest rank: ceil(0.5 * 4) = 2nd value (lower median)
        ([4.0, 1.0, 3.0, 2.0, 10.0], 90, 10.0),  # ceil(0.9 * 5) = 5th value, unsorted input
        ([float(i) for i in range(1, 11)], 90, 9.0),  # ceil(0.9 * 10) = 9th
    ],
)
def test_percentile_nearest_rank(values, p, expected):
    assert percentile(values, p) == expected


# --- independent recount -----------------------------------------------------------------------------------------


def recount(records: ReportInput, start: datetime, end: datetime) -> dict[tuple[str, str, str], object]:
    """Count the figures again, straight from the records and the documented rules, without the report code."""
    out: dict[tuple[str, str, str], object] = {}

    def inside(t):
        return start <= t < end

    # Blogs: status at the end = last history entry before the end, active if none.
    blogs = [b for b in records.blogs if not b.test_platform]
    status_at_end = {}
    for b in blogs:
        if b.created_at < end:
            earlier = [c for c in b.history if c.at < end]
            status_at_end[b.id] = max(earlier, key=lambda c: c.at).status if earlier else BlogStatus.ACTIVE
    out["blogs", "managed_at_end", ""] = sum(s != BlogStatus.CLOSED for s in status_at_end.values())
    out["blogs", "new", ""] = sum(inside(b.created_at) for b in blogs)
    out["blogs", "suspended", ""] = sum(any(c.status == "suspended" and inside(c.at) for c in b.history) for b in blogs)
    out["blogs", "closed", ""] = sum(any(c.status == "closed" and inside(c.at) for c in b.history) for b in blogs)

    # Decisions: follow each root's successors through `supersedes` up to the last one decided before the end.
    ok = [d for d in records.decisions if not d.shadow and not d.test_platform and d.platform_id == records.platform_id]
    successor = {d.supersedes: d for d in ok if d.supersedes}
    reversed_by_appeal = {
        a.decision_id for a in records.appeals if a.outcome == "reversed" and a.decided_at and a.decided_at < end
    }
    chains = []
    for root in ok:
        if root.supersedes is None and inside(root.decided_at):
            versions = [root]
            while versions[-1].id in successor and successor[versions[-1].id].decided_at < end:
                versions.append(successor[versions[-1].id])
            chains.append(versions)
    viol = []
    for versions in chains:
        latest = versions[-1]
        undone = any(v.reversed_on_appeal or v.id in reversed_by_appeal for v in versions)
        if latest.action in ("remove", "restrict") and not undone:
            viol.append(versions)
    out["violations", "total", ""] = len(viol)
    for cat, n in Counter(c.id for v in viol for c in v[-1].categories).items():
        out["violations", "by_category", cat] = n
    for action in ("remove", "restrict"):
        out["violations", "by_action", action] = sum(v[-1].action == action for v in viol)
    for source in Source:
        out["violations", "by_source", source.value] = sum(v[-1].source == source for v in viol)
    for kind in SubmissionKind:
        out["violations", "by_kind", kind.value] = sum(v[-1].kind == kind for v in viol)
    months = Counter(v[0].decided_at.astimezone(ICT).strftime("%Y-%m") for v in viol)
    first = start.astimezone(ICT)
    for i in range(6):  # a semiannual period has six months
        y, m = divmod(first.month - 1 + i, 12)
        month = f"{first.year + y}-{m + 1:02d}"
        out["violations", "by_month", month] = months[month]
    per_author = Counter(v[-1].author_id for v in viol if v[-1].author_id)
    out["violations", "repeat_offender_authors", ""] = sum(n >= 2 for n in per_author.values())
    per_blog = Counter(v[-1].blog_id for v in viol if v[-1].blog_id)
    out["violations", "repeat_offender_blogs", ""] = sum(n >= 2 for n in per_blog.values())
    out["violations", "blogs_with_violations", ""] = len(per_blog)

    # Strikes.
    strikes = [s for s in records.strikes if not s.test_platform and inside(s.at)]
    for kind in StrikeKind:
        out["strikes", "by_kind", kind.value] = sum(s.kind == kind for s in strikes)
    out["strikes", "suspensions", ""] = sum(s.kind != "warning" for s in strikes)

    # Authority requests.
    reqs = [r for r in records.authority_requests if not r.test_platform and inside(r.received_at)]
    complied, on_time, pending, hours = 0, 0, 0, []
    for r in reqs:
        if r.targets:
            times = [t.acted_at for t in r.targets if t.acted_at and t.acted_at < end]
            done = len(times) == len(r.targets) >= r.targets_count
            last = max(times) if done else None
        else:
            done = bool(r.complied) and (r.acted_at is None or r.acted_at < end)
            last = r.acted_at if done else None
        complied += done
        on_time += bool(done and last and last <= r.deadline)
        pending += (not done) and r.deadline >= end
        if done and last:
            hours.append((last - r.received_at).total_seconds() / 3600)
    out["authority", "received", ""] = len(reqs)
    out["authority", "complied", ""] = complied
    out["authority", "complied_on_time", ""] = on_time
    out["authority", "pending", ""] = pending
    out["authority", "compliance_rate", ""] = (
        round(complied / (len(reqs) - pending), 4) if len(reqs) > pending else None
    )
    hours.sort()
    out["authority", "time_to_act_median", ""] = round(hours[math.ceil(len(hours) / 2) - 1], 2) if hours else None
    out["authority", "time_to_act_p90", ""] = round(hours[math.ceil(len(hours) * 0.9) - 1], 2) if hours else None

    # Appeals.
    appeals = [a for a in records.appeals if inside(a.received_at)]
    done_appeals = [a for a in appeals if a.outcome != "pending" and a.decided_at and a.decided_at < end]
    out["appeals", "received", ""] = len(appeals)
    out["appeals", "upheld", ""] = sum(a.outcome == "upheld" for a in done_appeals)
    out["appeals", "reversed", ""] = sum(a.outcome == "reversed" for a in done_appeals)
    out["appeals", "pending", ""] = len(appeals) - len(done_appeals)

    # Automation: first version automated; reversed as above.
    auto = [v for v in chains if v[0].automated_decision in ("fully", "partially")]
    auto_rev = [v for v in auto if any(x.reversed_on_appeal or x.id in reversed_by_appeal for x in v)]
    out["automation", "automated_decisions", ""] = len(auto)
    out["automation", "automated_reversed", ""] = len(auto_rev)
    return out


@pytest.mark.parametrize(
    ("seed", "year", "half"),
    [
        (7, 2024, 1),  # the sample the docs show
        (11, 2024, 1),  # another draw of the same shape
        (7, 2023, 2),  # a period mostly before the sample's records: small counts, many zeros
    ],
)
def test_independent_recount(seed, year, half):
    records = sample_input(seed=seed)
    period = semiannual(year, half)
    report = build_report(records, period)
    expected = recount(records, period.start, period.end)
    got = {key: report.value(*key) for key in expected}
    assert got == expected
    # Every figure of the report keyed by ids refers to records that exist.
    known = {
        r.id
        for r in (*records.decisions, *records.blogs, *records.strikes, *records.appeals, *records.authority_requests)
    }
    assert all(set(f.ids) <= known for f in report.figures)


def test_category_rows_are_listed_with_citations():
    report = build_report(sample_input(), H1)
    assert set(report.categories) >= {"slander", "privacy"}
    assert report.categories["slander"].citation.point == "c"
    by_cat = defaultdict(int)
    for f in report.figures:
        if f.metric == "by_category":
            by_cat[f.dimension] = int(f.value or 0)
    assert sum(by_cat.values()) >= report.value("violations", "total")  # multi-category violations count per category
