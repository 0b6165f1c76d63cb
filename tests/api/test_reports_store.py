"""Reports from the store, on SQLite and PostgreSQL: a known set of blogs, decisions (superseded, shadow, on a test
platform, on another platform), appeals, strikes and authority requests, seeded through the API and the services
(then dated into 2024-H1: the services stamp the wall clock); the report's figures equal a recount written here
from the raw rows; regeneration keeps the SHA-256; a changed record shows in the diff; the CLI and the beat tasks.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from moderation.reports.freeze import load_frozen
from moderation.reports.periods import VN_TZ, semiannual
from moderation.services import reports
from moderation.services.appeals import decide_appeal
from moderation.services.enforcement import apply_enforcement
from moderation.services.workflow import supersede
from moderation.store.base import new_id
from moderation.store.db import session_scope
from moderation.store.models import AuditEntry, Blog, BlogStatusChange, Decision, Platform
from moderation.store.reporting import ALL_PLATFORMS, load_report_input
from moderation.store.reports import Report
from moderation.store.workflow import Appeal, AuthorityRequest, Strike
from tests.api.test_workflow_enforcement import category, submit
from tests.conftest import PlatformCreds, SignedClient, make_platform

PERIOD = semiannual(2024, 1)
START, END = PERIOD.start, PERIOD.end

PROFILE = {
    "provider_name": "Công ty Cổ phần Mạng xã hội Blog Việt",
    "registration_number": "123/GXN-TTĐT",
    "registration_date": "2009-03-16",
    "service_start_date": "2009-04-01",
    "office_address": "Số 1 Tràng Tiền, Hoàn Kiếm, Hà Nội",
    "representative_name": "Nguyễn Thị Hương",
    "representative_phone": "024 3825 0000",
    "representative_email": "phaply@blogviet.example.vn",
    "place": "Hà Nội",
}
REACTIONARY: dict[str, Any] = {
    "name_vi": "Tuyên truyền chống Nhà nước",
    "name_en": "Anti-state propaganda",
    "citation": {"instrument": "Nghị định 97/2008/NĐ-CP", "article": "6", "clause": "1", "point": "a"},
}


def at(month: int, day: int, hour: int = 10, year: int = 2024) -> dt.datetime:
    """An instant in Vietnam time."""
    return dt.datetime(year, month, day, hour, tzinfo=VN_TZ)


@dataclass
class Seeded:
    """What the seed created, by role."""

    a: PlatformCreds
    other: PlatformCreds
    test: PlatformCreds
    d: dict[str, str] = field(default_factory=dict)  # role -> decision id
    appeals: dict[str, str] = field(default_factory=dict)
    requests: dict[str, str] = field(default_factory=dict)


def _decision(
    session: Session, platform_id: str, sub_id: str | None, when: dt.datetime, *, action: str = "remove", **kw: Any
) -> Decision:
    """A decision recorded the way the classification pipeline records one, at ``when``."""
    fields: dict[str, Any] = {
        "verdict": "remove" if action == "remove" else "allow",
        "categories": [category()],
        "evaluation": {},
        "pack_versions": {"vn-circular-07-2008": "sha256:test"},
        "source": "automated",
        "actor": "system",
        "automated_decision": "fully",
    }
    fields.update(kw)
    decision = Decision(
        id=new_id("dec"), platform_id=platform_id, submission_id=sub_id, action=action, created_at=when, **fields
    )
    session.add(decision)
    session.flush()
    return decision


def _supersede(session: Session, old_id: str, when: dt.datetime, **fields: Any) -> str:
    old = session.scalars(select(Decision).where(Decision.id == old_id)).one()
    new = supersede(session, old, {"reason": "Sửa quyết định", **fields}, "moderator:lan")
    new.created_at = when
    session.flush()
    return new.id


def _created(api: SignedClient, blog: str, owner: str, when: dt.datetime, **extra: Any) -> None:
    body = {"id": blog, "owner_id": owner, "created_at": when.isoformat(), **extra}
    response = api.post("/v1/blogs", body)
    assert response.status_code in {200, 201, 202}, response.get_json()


def seed(app: Any, api: SignedClient, settings: Any) -> Seeded:
    """Seed the known set (platform A is ``api``'s)."""
    url = settings.database_url
    s = Seeded(api.creds, make_platform(settings, "Other platform"), make_platform(settings, "Sandbox", is_test=True))
    with session_scope(url) as session:
        session.execute(update(Platform).where(Platform.id == s.a.id).values(profile=PROFILE))

    # Blogs: one before the period, two new in it (one closed in it), one created after it.
    _created(api, "blog-1", "author-1", at(6, 1, year=2023))
    _created(api, "blog-2", "author-2", at(2, 10))
    _created(api, "blog-3", "author-3", at(3, 1))
    _created(api, "blog-3", "author-3", at(3, 1), status="closed")
    _created(api, "blog-4", "author-4", at(8, 1))
    with session_scope(url) as session:
        blog3 = session.scalars(select(Blog).where(Blog.platform_id == s.a.id, Blog.external_id == "blog-3")).one()
        session.execute(
            update(BlogStatusChange)
            .where(BlogStatusChange.blog_id == blog3.id, BlogStatusChange.status == "closed")
            .values(at=at(5, 5))
        )

    subs = {
        name: submit(api, name, author=author, blog=blog, published=when)
        for name, author, blog, when in [
            ("p1", "author-1", "blog-1", at(1, 30)),
            ("p2", "author-1", "blog-1", at(2, 28)),
            ("p3", "author-2", "blog-2", at(1, 14)),
            ("p4", "author-2", "blog-2", at(12, 19, year=2023)),
            ("p5", "author-3", "blog-3", at(6, 19)),
            ("p6", "author-4", "blog-1", at(3, 31)),
            ("p7", "author-2", "blog-2", at(4, 9)),
            ("p8", "author-3", "blog-3", at(5, 1)),
            ("pa1", "author-5", "blog-1", at(4, 19)),
            ("pa2", "author-5", "blog-1", at(4, 19)),
            ("pa3", "author-6", "blog-2", at(5, 9)),
        ]
    }
    other_api = SignedClient(api.client, s.other)
    test_api = SignedClient(api.client, s.test)
    other_sub = submit(other_api, "o1", published=at(3, 2))
    test_sub = submit(test_api, "t1", published=at(3, 3))

    with session_scope(url) as session:
        d = s.d
        # Removals with graduated enforcement (strikes, a suspension of blog-1).
        for role, when, cats in (
            ("p1", at(2, 1), [category()]),
            ("p2", at(3, 1), [category(), category("reactionary", **REACTIONARY)]),
        ):
            decision = _decision(session, s.a.id, subs[role], when, categories=cats)
            apply_enforcement(session, decision, now=when)
            d[role] = decision.id
        # Corrected in the period to a label: one decision, not a violation, one superseded version.
        d["p3"] = _decision(session, s.a.id, subs["p3"], at(1, 15)).id
        d["p3b"] = _supersede(session, d["p3"], at(1, 20), action="label", verdict="allow")
        # First version in 2023-H2, revised in the period: belongs to 2023-H2.
        d["p4"] = _decision(session, s.a.id, subs["p4"], at(12, 20, year=2023)).id
        d["p4b"] = _supersede(session, d["p4"], at(2, 5), action="restrict")
        # Revised after the period: as of the end of the period it is still a removal.
        d["p5"] = _decision(
            session, s.a.id, subs["p5"], at(6, 20), categories=[category("reactionary", **REACTIONARY)]
        ).id
        d["p5b"] = _supersede(session, d["p5"], at(8, 10, year=2024), action="no_action", verdict="allow")
        # Shadow only: nothing enforced.
        shadow = {"categories": [{**category(), "mode": "shadow"}]}
        d["p6"] = _decision(
            session, s.a.id, subs["p6"], at(4, 1), action="no_action", categories=[], evaluation=shadow
        ).id
        d["p7"] = _decision(session, s.a.id, subs["p7"], at(4, 10)).id
        d["p8"] = _decision(session, s.a.id, subs["p8"], at(5, 2), source="user_report", automated_decision="not").id
        d["other"] = _decision(session, s.other.id, other_sub, at(3, 2)).id
        d["test"] = _decision(session, s.test.id, test_sub, at(3, 4)).id
        # Enforcement moved blog-1's status with the wall clock: date it with the suspension.
        session.execute(update(BlogStatusChange).where(BlogStatusChange.source == "enforcement").values(at=at(3, 1)))

    # Appeals through the API, decided by the service: p7 reversed, p8 upheld.
    for role, outcome, filed, decided in (
        ("p7", "reversed", at(4, 11), at(4, 15)),
        ("p8", "upheld", at(5, 3), at(5, 6)),
    ):
        author = {"p7": "author-2", "p8": "author-3"}[role]
        body = {"decision_id": s.d[role], "appellant_id": author, "grounds": "Tôi không vi phạm."}
        response = api.post("/v1/appeals", body)
        assert response.status_code == 201, response.get_json()
        appeal_id = response.get_json()["id"]
        s.appeals[role] = appeal_id
        with session_scope(url) as session:
            decide_appeal(session, appeal_id, "moderator:lan", outcome, "Xem xét lại")
            appeal = session.get(Appeal, appeal_id)
            assert appeal is not None
            appeal.filed_at, appeal.decided_at = filed, decided
            if appeal.superseding_decision_id:
                s.d[f"{role}b"] = appeal.superseding_decision_id
                session.execute(
                    update(Decision).where(Decision.id == appeal.superseding_decision_id).values(created_at=decided)
                )

    # Authority requests through the API: R1 acted on within the deadline, R2 ignored.
    for role, targets, received in (("r1", ["pa1", "pa2"], at(4, 20, 9)), ("r2", ["pa3"], at(5, 10, 9))):
        request_body: dict[str, Any] = {
            "issuing_body": "Bộ Thông tin và Truyền thông",
            "document_number": f"{role}/BTTTT-PTTH&TTĐT",
            "document_date": received.date().isoformat(),
            "received_at": received.isoformat(),
            "targets": targets,
            "legal_basis": {"instrument": "Thông tư 07/2008/TT-BTTTT", "article": "5", "clause": "4"},
        }
        response = api.post("/v1/authority-requests", request_body)
        assert response.status_code == 201, response.get_json()
        s.requests[role] = response.get_json()["id"]
        with session_scope(url) as session:
            ids = [t["decision_id"] for t in response.get_json()["targets"]]
            session.execute(
                update(Decision).where(Decision.id.in_(ids)).values(created_at=received + dt.timedelta(hours=2))
            )
    acted = (at(4, 20, 9) + dt.timedelta(hours=5)).isoformat()
    response = api.post(f"/v1/authority-requests/{s.requests['r1']}/confirmations", {"acted_at": acted})
    assert response.status_code == 200, response.get_json()
    return s


# --- The recount: plain rules over the raw rows, written apart from the core ------------------------------------


Key = tuple[str, str, str]


def recount(session: Session, platform_ids: list[str], test_ids: set[str]) -> dict[Key, int]:
    """Count the main figures of 2024-H1 from the rows, as of the end of the period."""

    def inside(when: dt.datetime | None) -> bool:
        return when is not None and START <= when < END

    rows = [
        d
        for d in session.scalars(select(Decision).where(Decision.platform_id.in_(platform_ids)))
        if d.submission_id is not None and d.created_at < END
    ]
    by_id = {d.id: d for d in rows}
    appeals = list(session.scalars(select(Appeal).where(Appeal.platform_id.in_(platform_ids))))
    reversed_by_appeal = {
        a.decision_id for a in appeals if a.status == "reversed" and a.decided_at is not None and a.decided_at < END
    }

    def is_shadow(d: Decision) -> bool:
        cats = (d.evaluation or {}).get("categories") or []
        return not d.categories and bool(cats) and all(c.get("mode") == "shadow" for c in cats)

    firsts = [d for d in rows if d.supersedes_id is None or d.supersedes_id not in by_id]
    chains = []
    for first in firsts:
        chain = [first]
        while chain[-1].superseded_by_id in by_id:
            chain.append(by_id[chain[-1].superseded_by_id])
        chains.append(chain)
    shadow = [c for c in chains if any(is_shadow(v) for v in c) and inside(c[0].created_at)]
    test = [c for c in chains if c[0].platform_id in test_ids and inside(c[0].created_at) and c not in shadow]
    counted = [c for c in chains if inside(c[0].created_at) and c not in shadow and c not in test]
    rev = [c for c in counted if any(v.id in reversed_by_appeal or v.source == "appeal" for v in c)]
    violations = [c for c in counted if c[-1].action in {"remove", "restrict"} and c not in rev]
    by_category: dict[str, int] = {}
    for c in violations:
        for cat in c[-1].categories:
            by_category[cat["id"]] = by_category.get(cat["id"], 0) + 1

    strikes = [
        s
        for s in session.scalars(select(Strike).where(Strike.platform_id.in_(platform_ids)))
        if inside(s.at) and s.platform_id not in test_ids and not s.reversed
    ]
    requests = [
        r
        for r in session.scalars(select(AuthorityRequest).where(AuthorityRequest.platform_id.in_(platform_ids)))
        if inside(r.received_at) and r.platform_id not in test_ids
    ]
    complete = [r for r in requests if r.status == "complete"]
    blogs = [
        b
        for b in session.scalars(select(Blog).where(Blog.platform_id.in_(platform_ids)))
        if b.platform_id not in test_ids
    ]
    changes = {
        b.id: sorted(
            session.scalars(select(BlogStatusChange).where(BlogStatusChange.blog_id == b.id)), key=lambda c: c.at
        )
        for b in blogs
    }

    def status_at_end(b: Blog) -> str | None:
        if b.created_at >= END:
            return None
        status = "active"
        for c in changes[b.id]:
            if c.at < END:
                status = c.status
        return status

    filed = [a for a in appeals if inside(a.filed_at) and a.platform_id not in test_ids]
    return {
        ("decisions", "total", ""): len(counted),
        ("decisions", "superseded_versions", ""): sum(len([v for v in c if v.created_at < END]) - 1 for c in counted),
        ("decisions", "reversed", ""): len(rev),
        ("decisions", "excluded_shadow", ""): len(shadow),
        ("decisions", "excluded_test_platform", ""): len(test),
        ("violations", "total", ""): len(violations),
        **{("violations", "by_category", cat): n for cat, n in by_category.items()},
        ("strikes", "total", ""): len(strikes),
        ("authority", "received", ""): len(requests),
        ("authority", "complied", ""): len(complete),
        ("authority", "not_complied", ""): len([r for r in requests if r.status != "complete" and r.due_at < END]),
        ("appeals", "received", ""): len(filed),
        ("appeals", "upheld", ""): len([a for a in filed if a.status == "upheld"]),
        ("appeals", "reversed", ""): len([a for a in filed if a.status == "reversed"]),
        ("blogs", "new", ""): len([b for b in blogs if inside(b.created_at)]),
        ("blogs", "closed", ""): len(
            [b for b in blogs if any(c.status == "closed" and inside(c.at) for c in changes[b.id])]
        ),
        ("blogs", "managed_at_end", ""): len([b for b in blogs if status_at_end(b) in {"active", "suspended"}]),
    }


@pytest.fixture
def seeded(app: Any, api: SignedClient, settings: Any) -> Seeded:
    return seed(app, api, settings)


@pytest.fixture
def session(settings: Any) -> Iterator[Session]:
    with session_scope(settings.database_url) as s:
        yield s


def _values(report: Report) -> dict[tuple[str, str, str], Any]:
    return {(f["section"], f["metric"], f["dimension"]): f["value"] for f in report.content["content"]["figures"]}


# (id, scope: "platform" or "all")
SCOPES = [("one-platform", "platform"), ("all-platforms", "all")]


@pytest.mark.parametrize("scope", [s[1] for s in SCOPES], ids=[s[0] for s in SCOPES])
def test_figures_equal_a_recount_from_the_rows(seeded: Seeded, session: Session, scope: str) -> None:
    platform_id = seeded.a.id if scope == "platform" else None
    platforms = [seeded.a.id] if scope == "platform" else [seeded.a.id, seeded.other.id, seeded.test.id]
    report = reports.generate(session, platform_id, "semiannual", PERIOD.first_day, PERIOD.last_day)
    values = _values(report)
    expected = recount(session, platforms, {seeded.test.id})
    assert {k: values.get(k) for k in expected} == expected
    # The same numbers, spelled out for the platform's own report (the recount could share a mistake).
    if scope == "platform":
        assert {k: values[k] for k in list(expected)[:6]} == {
            ("decisions", "total", ""): 9,  # p1 p2 p3 p5 p7 p8 + 3 authority removals; p4 is 2023-H2's, p6 shadow
            ("decisions", "superseded_versions", ""): 2,  # p3 (-> label), p7 (-> restore on appeal)
            ("decisions", "reversed", ""): 1,  # p7
            ("decisions", "excluded_shadow", ""): 1,  # p6
            ("decisions", "excluded_test_platform", ""): 0,  # not loaded at all for one platform
            ("violations", "total", ""): 7,  # p1 p2 p5 p8 + 3 authority removals
        }
        # author-1 (p1, p2), author-3 (p5, p8), author-5 (the two items of the first authority request)
        assert values[("violations", "repeat_offender_authors", "")] == 3
        assert values[("authority", "compliance_rate", "")] == 0.5
    else:
        assert values[("decisions", "excluded_test_platform", "")] == 1
        assert values[("violations", "total", "")] == 8  # the other platform's removal counts too
    assert report.content["content"]["platform_id"] == (seeded.a.id if scope == "platform" else ALL_PLATFORMS)


def test_loader_returns_whole_chains_and_flags(seeded: Seeded, session: Session) -> None:
    records = load_report_input(session, seeded.a.id, START, END)
    ids = {d.id: d for d in records.decisions}
    d = seeded.d
    assert {d["p4"], d["p4b"], d["p5"], d["p5b"]} <= set(ids)  # before the start and after the end: whole chains
    assert ids[d["p5"]].superseded_by == d["p5b"]
    assert ids[d["p6"]].shadow
    assert not ids[d["p1"]].shadow
    assert ids[d["p7b"]].reversed_on_appeal
    assert ids[d["p3b"]].source == "automated"  # a correction keeps how the content was found
    assert ids[d["p8"]].source == "user_report"
    assert d["other"] not in ids
    assert d["test"] not in ids
    assert {c.id for c in ids[d["p2"]].categories} == {"slander", "reactionary"}
    assert ids[d["p2"]].categories[0].citation.instrument == "Nghị định 97/2008/NĐ-CP"
    assert records.profile.registration_number == "123/GXN-TTĐT"
    assert {s.kind.value for s in records.strikes} == {"warning", "suspension_3m"}  # the ladder's second rung: 90 days
    r1 = next(r for r in records.authority_requests if r.id == seeded.requests["r1"])
    assert (r1.targets_count, [t.acted_at is not None for t in r1.targets]) == (2, [True, True])
    everyone = load_report_input(session, None, START, END)
    test_decision = next(x for x in everyone.decisions if x.id == d["test"])
    assert (test_decision.test_platform, test_decision.platform_id) == (True, ALL_PLATFORMS)
    assert next(x for x in everyone.decisions if x.id == d["p1"]).author_id == f"{seeded.a.id}/author-1"


def test_regenerating_keeps_the_sha_and_a_change_is_listed(seeded: Seeded, settings: Any) -> None:
    url = settings.database_url
    with session_scope(url) as session:
        first = reports.generate(session, seeded.a.id, "semiannual", PERIOD.first_day, PERIOD.last_day)
        first_id, first_sha = first.id, first.sha256
    with session_scope(url) as session:
        again = reports.generate(session, seeded.a.id, "semiannual", PERIOD.first_day, PERIOD.last_day)
        assert (again.version, again.sha256, again.changes) == (2, first_sha, [])
        # A moderator corrects p1 to "no action" within the period: one violation fewer.
        corrected = _supersede(session, seeded.d["p1"], at(6, 1), action="no_action", verdict="allow")
    with session_scope(url) as session:
        third = reports.generate(session, seeded.a.id, "semiannual", PERIOD.first_day, PERIOD.last_day)
        assert third.version == 3
        assert third.sha256 != first_sha
        changes = {(c["section"], c["metric"], c["dimension"]): c for c in third.changes}
        total = changes[("violations", "total", "")]
        assert (total["old"], total["new"], total["ids_removed"]) == (7, 6, [seeded.d["p1"]])
        assert changes[("decisions", "superseded_versions", "")]["ids_added"] == [seeded.d["p1"]]
        assert corrected in changes[("decisions", "by_action", "no_action")]["ids_added"]
        stored = session.get(Report, first_id)
        assert stored is not None
        assert load_frozen(stored.content).sha256 == first_sha  # the stored version checks against its hash
        assert [v.version for v in reports.versions(session, seeded.a.id, "semiannual", PERIOD.key)] == [1, 2, 3]
    with session_scope(url) as session:  # audit entries join the chain when their transaction commits
        assert session.scalar(select(AuditEntry.seq).where(AuditEntry.object_id == third.id)) is not None


def test_cli_reads_the_database(seeded: Seeded, settings: Any, tmp_path: Path) -> None:
    from moderation.cli.report import report as report_cli

    out = tmp_path / "2024-H1.json"
    args = ["semiannual", "--year", "2024", "--half", "1", "--format", "json", "--out", str(out)]
    runner = CliRunner(env={"DATABASE_URL": settings.database_url})
    result = runner.invoke(report_cli, [*args, "--platform", seeded.a.id])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text(encoding="utf-8"))
    with session_scope(settings.database_url) as session:
        stored = reports.generate(session, seeded.a.id, "semiannual", PERIOD.first_day, PERIOD.last_day)
    assert data["sha256"] == stored.sha256  # the same records give the same report, whichever way it is made
    unknown = runner.invoke(report_cli, [*args, "--platform", "plt_nope"])
    assert unknown.exit_code == 2
    assert "plt_nope" in unknown.output


# --- The beat -------------------------------------------------------------------------------------------------


def _runtime(app: Any) -> Any:
    return app.extensions["moderation"]


def test_draft_task_drafts_each_closed_period_once(seeded: Seeded, app: Any, settings: Any) -> None:
    from workers.tasks_reports import run_draft_closed_periods

    rt = _runtime(app)
    closed = END + dt.timedelta(hours=1)
    drafted = run_draft_closed_periods(rt, now=closed)
    assert run_draft_closed_periods(rt, now=closed + dt.timedelta(hours=1)) == []  # idempotent
    with session_scope(settings.database_url) as session:
        rows = session.scalars(select(Report).where(Report.id.in_(drafted))).all()
        assert sorted(r.platform_id or "" for r in rows) == sorted([seeded.a.id, seeded.other.id])  # not the test one
        assert {(r.period_key, r.status, r.generated_by) for r in rows} == {("2024-H1", "draft", reports.DRAFT_ACTOR)}
    # The next run's window starts at the last draft: the next period is drafted when it closes, once.
    h2_end = semiannual(2024, 2).end
    assert run_draft_closed_periods(rt, now=h2_end - dt.timedelta(hours=1)) == []
    assert len(run_draft_closed_periods(rt, now=h2_end + dt.timedelta(minutes=5))) == 2


REMINDER_DAYS = [
    # (id, day in Vietnam time, expected keys)
    ("ten-days-before", dt.date(2024, 7, 5), ["2024-H1/10d"]),
    ("three-days-before", dt.date(2024, 7, 12), ["2024-H1/3d"]),
    ("no-reminder", dt.date(2024, 7, 8), []),
    ("h2-ten-days-before", dt.date(2025, 1, 5), ["2024-H2/10d"]),
]


@pytest.mark.parametrize(("day", "keys"), [r[1:] for r in REMINDER_DAYS], ids=[r[0] for r in REMINDER_DAYS])
def test_reminders_audit_once_and_mail_when_configured(
    seeded: Seeded, app: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, day: dt.date, keys: list[str]
) -> None:
    import workers.tasks_reports as tasks

    sent: list[tuple[str, list[str]]] = []
    monkeypatch.setenv(
        tasks.SMTP_ENV, "smtp://mailer:secret@127.0.0.1:2525/?from=bao-cao@blogviet.vn&to=ttpc@blogviet.vn"
    )

    def fake_send(url: str, subject: str, body: str, extra: list[str]) -> list[str]:
        sent.append((subject, extra))
        return extra

    monkeypatch.setattr(tasks, "send_mail", fake_send)
    now = dt.datetime.combine(day, dt.time(8), VN_TZ)
    assert tasks.run_reminders(_runtime(app), now=now) == keys
    assert tasks.run_reminders(_runtime(app), now=now + dt.timedelta(hours=6)) == []  # once a day
    assert len(sent) == len(keys)
    if keys:
        subject, extra = sent[0]
        assert "Nhắc hạn" in subject
        assert "gửi trước ngày" in subject
        assert PROFILE["representative_email"] in extra  # platform A has no final report yet
        with session_scope(settings.database_url) as session:
            entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "report.reminder")).one()
            assert entry.details["platforms_without_final"] == sorted(
                [seeded.a.id, seeded.other.id], key=[seeded.a.id, seeded.other.id].index
            )


def test_reminders_without_smtp_only_log_and_audit(
    seeded: Seeded, app: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import workers.tasks_reports as tasks

    monkeypatch.delenv(tasks.SMTP_ENV, raising=False)
    monkeypatch.setattr(tasks, "send_mail", lambda *a: pytest.fail("no SMTP configured: nothing is mailed"))
    assert tasks.run_reminders(_runtime(app), now=dt.datetime(2024, 7, 5, 8, tzinfo=VN_TZ)) == ["2024-H1/10d"]
    assert any("report due soon" in r.getMessage() for r in caplog.records)


SMTP_URLS = [
    # (id, url, (scheme, host, port, user, sender, recipients, starttls))
    ("plain", "smtp://mail.example.vn", ("smtp", "mail.example.vn", 25, None, "moderation@localhost", [], False)),
    (
        "tls-and-recipients",
        "smtps://u%40x:p@mail.example.vn/?from=a@x.vn&to=b@x.vn,c@x.vn",
        ("smtps", "mail.example.vn", 465, "u@x", "a@x.vn", ["b@x.vn", "c@x.vn"], False),
    ),
    (
        "starttls",
        "smtp://mail.example.vn:587/?starttls=1",
        ("smtp", "mail.example.vn", 587, None, "moderation@localhost", [], True),
    ),
]


@pytest.mark.parametrize(("url", "expected"), [s[1:] for s in SMTP_URLS], ids=[s[0] for s in SMTP_URLS])
def test_smtp_url(url: str, expected: tuple[Any, ...]) -> None:
    from workers.tasks_reports import smtp_settings

    scheme, host, port, user, _password, sender, recipients, starttls = smtp_settings(url)
    assert (scheme, host, port, user, sender, recipients, starttls) == expected


def test_bad_smtp_url_is_refused() -> None:
    from workers.tasks_reports import smtp_settings

    with pytest.raises(ValueError, match="MODERATION_SMTP_URL"):
        smtp_settings("http://mail.example.vn")
