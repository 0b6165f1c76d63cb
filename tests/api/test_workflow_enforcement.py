"""Graduated enforcement through the API and store, on SQLite and PostgreSQL: a first offence gets a warning,
repeats escalate, a stale violation is removed without a strike; one case per author for violations found together;
the statement of reasons cites the making/spreading bracket; the audit chain shows an edited row.

Removal decisions are recorded the way the classification pipeline records them, so these tests do not depend on
the policy packs' current rules.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select, text, update

from moderation.services.enforcement import account_status, apply_enforcement, apply_enforcement_batch
from moderation.store.base import new_id
from moderation.store.db import get_engine, session_scope
from moderation.store.models import Blog, Decision, Platform
from moderation.store.workflow import Case, CaseViolation, Sanction, Strike
from tests.callback_receiver import callback_receiver
from tests.conftest import SignedClient, make_platform, post_payload

NOW = dt.datetime.now(dt.UTC)
BRACKETS = {
    "making": {"min_vnd": 10_000_000, "max_vnd": 20_000_000, "basis": "Dự thảo 2021 Điều 8 (làm ra)"},
    "spreading": {"min_vnd": 20_000_000, "max_vnd": 30_000_000, "basis": "Dự thảo 2021 Điều 8 (phát tán)"},
}


# The tables a workflow request may write (the whole schema includes other teams' tables, still in flux).
WRITTEN = (
    "submissions",
    "decisions",
    "deliveries",
    "audit_entries",
    "cases",
    "case_violations",
    "strikes",
    "sanctions",
    "authority_requests",
    "authority_targets",
    "notifiers",
    "notices",
    "notice_targets",
    "appeals",
    "blogs",
    "blog_status_changes",
)


def row_counts(url: str) -> dict[str, int]:
    with get_engine(url).connect() as conn:
        return {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in WRITTEN}


def category(cat_id: str = "slander", severity: int = 3, **extra: Any) -> dict[str, Any]:
    return {
        "id": cat_id,
        "name_vi": "Vu khống",
        "name_en": "Slander",
        "pack_id": "vn-circular-07-2008",
        "pack_version": "sha256:test",
        "rule_id": f"{cat_id}.rule",
        "mode": "enforce",
        "severity": severity,
        "citation": {"instrument": "Nghị định 97/2008/NĐ-CP", "article": "6", "clause": "1", "point": "c"},
        "evidence": [],
        **extra,
    }


def submit(
    api: SignedClient,
    post_id: str,
    *,
    author: str = "author-1",
    blog: str = "blog-1",
    published: dt.datetime | None = None,
    kind: str = "original",
) -> str:
    body = post_payload(
        id=post_id,
        author_id=author,
        blog_id=blog,
        kind=kind,
        url=f"https://blog.example.vn/{blog}/{post_id}",
        published_at=(published or NOW).isoformat(),
    )
    response = api.post("/v1/posts", body)
    assert response.status_code == 202, response.get_json()
    return str(response.get_json()["submission_id"])


def remove(
    settings: Any,
    platform_id: str,
    sub_id: str,
    cats: list[dict[str, Any]] | None = None,
    *,
    enforce: bool = True,
    circumstances: dict[str, list[str]] | None = None,
    actor: str = "system",
    source: str = "automated",
) -> tuple[str, list[str]]:
    """Record a removal as the pipeline does (automated) and apply enforcement; return decision and delivery ids."""
    with session_scope(settings.database_url) as session:
        decision = Decision(
            id=new_id("dec"),
            platform_id=platform_id,
            submission_id=sub_id,
            verdict="remove",
            action="remove",
            categories=cats or [category()],
            evaluation={},
            pack_versions={"vn-circular-07-2008": "sha256:test"},
            source=source,
            actor=actor,
            automated_decision="fully" if source == "automated" else "not",
            dedupe_key=f"auto:{sub_id}" if source == "automated" else None,
        )
        session.add(decision)
        session.flush()
        deliveries = apply_enforcement(session, decision, circumstances=circumstances) if enforce else []
        return decision.id, [d.id for d in deliveries]


def events(settings: Any, delivery_ids: list[str]) -> list[str]:
    from moderation.store.models import Delivery

    with session_scope(settings.database_url) as session:
        return sorted(session.scalars(select(Delivery.event).where(Delivery.id.in_(delivery_ids))))


def set_callback(settings: Any, platform_id: str, url: str = "http://127.0.0.1:9/callbacks") -> None:
    with session_scope(settings.database_url) as session:
        session.execute(update(Platform).where(Platform.id == platform_id).values(callback_url=url))


def cases_of(settings: Any, author: str) -> list[Case]:
    with session_scope(settings.database_url) as session:
        return list(session.scalars(select(Case).where(Case.author_id == author).order_by(Case.decided_at)))


def test_first_offence_warns_repeats_escalate_to_suspension_then_indefinite(api: SignedClient, settings: Any) -> None:
    set_callback(settings, api.creds.id)
    api.post("/v1/blogs", {"id": "blog-1", "owner_id": "author-1", "name": "nhatky"})
    outcomes = []
    for i in range(3):
        sub = submit(api, f"p{i}")
        _, deliveries = remove(settings, api.creds.id, sub)
        outcomes.append(events(settings, deliveries))
    assert outcomes == [
        ["enforcement.warn_author"],  # first violation: warning (ladder rung first_violation)
        ["enforcement.suspend_blog"],  # repeat within the window: 3 months
        ["enforcement.suspend_blog"],  # repeat after a suspension: aggravating, indefinite
    ]
    cases = cases_of(settings, "author-1")
    assert [c.sanction for c in cases] == ["warn", "suspend", "suspend_indefinite"]
    with session_scope(settings.database_url) as session:
        sanctions = session.scalars(
            select(Sanction).where(Sanction.kind == "suspend_blog").order_by(Sanction.starts_at)
        ).all()
        assert sanctions[0].until is not None
        assert abs((sanctions[0].until - sanctions[0].starts_at) - dt.timedelta(days=90)) < dt.timedelta(seconds=1)
        assert sanctions[1].indefinite
        assert sanctions[1].until is None
        blog = session.scalars(select(Blog).where(Blog.external_id == "blog-1")).one()
        assert blog.status == "suspended"  # the registry follows, so reports count suspended blogs
        assert account_status(session, api.creds.id, "author", "author-1") == {
            "strikes": 3,
            "suspended": False,
            "purpose_blog": False,
        }
        assert account_status(session, api.creds.id, "blog", "blog-1")["suspended"] is True
    # The case decision is a decision like any other: the platform pages through it.
    listed = [d for d in api.get("/v1/decisions").get_json()["decisions"] if d["source"] == "enforcement"]
    assert [d["action"] for d in listed] == ["warn", "suspend", "suspend_indefinite"]


LADDER_CASES = [
    # (id, severity, circumstances per offence, expected sanction per offence)
    ("minor-first-mitigating-is-a-warning", 1, [{"mitigating": ["cooperative"]}], ["warn"]),
    ("repeat-with-mitigating-is-one-month", 1, [{}, {"mitigating": ["removed_voluntarily"]}], ["warn", "suspend"]),
    ("repeat-with-aggravating-is-indefinite", 3, [{}, {"aggravating": ["organised"]}], ["warn", "suspend_indefinite"]),
]


@pytest.mark.parametrize(
    ("severity", "circs", "expected"), [c[1:] for c in LADDER_CASES], ids=[c[0] for c in LADDER_CASES]
)
def test_ladder_follows_circumstances(
    api: SignedClient, settings: Any, severity: int, circs: list[dict[str, list[str]]], expected: list[str]
) -> None:
    for i, circ in enumerate(circs):
        sub = submit(api, f"p{i}")
        remove(settings, api.creds.id, sub, [category(severity=severity)], circumstances=circ)
    cases = cases_of(settings, "author-1")
    assert [c.sanction for c in cases] == expected
    if expected[-1] == "suspend" and circs[-1].get("mitigating"):
        with session_scope(settings.database_url) as session:
            rung = session.scalars(select(CaseViolation.rung_id).where(CaseViolation.case_id == cases[-1].id)).one()
            assert rung == "suspension_1_month"


def test_stale_violation_is_removed_without_strike(api: SignedClient, settings: Any) -> None:
    set_callback(settings, api.creds.id)
    sub = submit(api, "old", published=NOW - dt.timedelta(days=400))  # limitation: 365 days
    decision_id, deliveries = remove(settings, api.creds.id, sub)
    assert deliveries == []  # no sanction to send
    (case,) = cases_of(settings, "author-1")
    assert case.sanction is None
    with session_scope(settings.database_url) as session:
        assert session.scalars(select(Strike)).all() == []
        violation = session.scalars(select(CaseViolation)).one()
        assert violation.time_barred
        removal = session.scalars(select(Decision).where(Decision.id == decision_id)).one()
        assert (removal.verdict, removal.superseded_by_id) == ("remove", None)  # the removal still applies
    # And the next fresh violation is still a first offence.
    remove(settings, api.creds.id, submit(api, "new"))
    assert [c.sanction for c in cases_of(settings, "author-1")] == [None, "warn"]


def test_violations_found_together_form_one_case_with_one_decision(api: SignedClient, settings: Any) -> None:
    subs = [submit(api, f"p{i}") for i in range(3)]
    subs.append(submit(api, "other", author="author-2", blog="blog-2"))
    ids = [remove(settings, api.creds.id, s, enforce=False)[0] for s in subs]
    with session_scope(settings.database_url) as session:
        decisions = list(session.scalars(select(Decision).where(Decision.id.in_(ids))))
        apply_enforcement_batch(session, decisions)
    (case,) = cases_of(settings, "author-1")
    assert case.sanction == "warn"  # found together: they do not escalate each other
    with session_scope(settings.database_url) as session:
        listing = session.scalars(select(Decision).where(Decision.id == case.decision_id)).one()
        assert len(listing.categories) == 3  # one decision listing each violation and its outcome
        assert {c["outcome"] for c in listing.categories} == {"warn"}
        assert len(session.scalars(select(Strike).where(Strike.case_id == case.id)).all()) == 3
    assert len(cases_of(settings, "author-2")) == 1


def test_enforcement_is_applied_once_per_decision(api: SignedClient, settings: Any) -> None:
    sub = submit(api, "p1")
    decision_id, _ = remove(settings, api.creds.id, sub)
    before = row_counts(settings.database_url)
    with session_scope(settings.database_url) as session:
        decision = session.scalars(select(Decision).where(Decision.id == decision_id)).one()
        assert apply_enforcement(session, decision) == []
    assert row_counts(settings.database_url) == before


def test_unknown_circumstance_is_rejected_and_writes_nothing(api: SignedClient, settings: Any) -> None:
    from moderation.errors import ApiError

    sub = submit(api, "p1")
    decision_id, _ = remove(settings, api.creds.id, sub, enforce=False)
    before = row_counts(settings.database_url)
    with session_scope(settings.database_url) as session:
        decision = session.scalars(select(Decision).where(Decision.id == decision_id)).one()
        with pytest.raises(ApiError) as err:
            apply_enforcement(session, decision, circumstances={"mitigating": ["was_bored"]})
        session.rollback()
    assert (err.value.status, err.value.field) == (422, "circumstances.mitigating")
    assert row_counts(settings.database_url) == before


def test_blog_spreading_one_kind_of_content_is_flagged(api: SignedClient, settings: Any) -> None:
    for i in range(3):  # purpose_blog: 3 violations of one category within 90 days
        remove(settings, api.creds.id, submit(api, f"p{i}"), [category("gambling_ads")])
    cases = cases_of(settings, "author-1")
    assert [c.purpose_blog for c in cases] == [False, False, True]
    with session_scope(settings.database_url) as session:
        listing = session.scalars(select(Decision).where(Decision.id == cases[-1].decision_id)).one()
        assert "purpose_blog" in listing.labels
        assert account_status(session, api.creds.id, "blog", "blog-1")["purpose_blog"] is True


BRACKET_CASES = [
    # (id, post kind, expected min VND: making is the lower bracket, spreading the higher)
    ("original-post-is-making", "original", 10_000_000),
    ("share-is-spreading", "share", 20_000_000),
]


@pytest.mark.parametrize(("kind", "min_vnd"), [c[1:] for c in BRACKET_CASES], ids=[c[0] for c in BRACKET_CASES])
def test_statement_of_reasons_records_bracket_by_post_kind(
    api: SignedClient, settings: Any, kind: str, min_vnd: int
) -> None:
    sub = submit(api, "p1", kind=kind)
    decision_id, _ = remove(settings, api.creds.id, sub, [category(brackets=BRACKETS)])
    response = api.get(f"/v1/decisions/{decision_id}/statement")
    assert response.status_code == 200, response.get_json()
    statement = response.get_json()
    assert statement["subject"]["post_kind"] == kind
    assert statement["grounds"][0]["bracket"]["min_vnd"] == min_vnd
    assert statement["grounds"][0]["citation"]["instrument"] == "Nghị định 97/2008/NĐ-CP"
    assert "Khung phạt" in statement["text"]


def test_statement_is_not_visible_to_another_platform(app: Any, api: SignedClient, settings: Any) -> None:
    decision_id, _ = remove(settings, api.creds.id, submit(api, "p1"))
    other = SignedClient(app.test_client(), make_platform(settings, "Other"))
    assert other.get(f"/v1/decisions/{decision_id}/statement").status_code == 404


def test_enforcement_callback_is_signed_and_delivered(api: SignedClient, app: Any, settings: Any) -> None:
    from workers.tasks import run_deliver

    with callback_receiver(api.creds.secret) as receiver:
        set_callback(settings, api.creds.id, receiver.url)
        _, deliveries = remove(settings, api.creds.id, submit(api, "p1"))
        for delivery_id in deliveries:
            assert run_deliver(app.extensions["moderation"], delivery_id) is None
        assert receiver.bad_signatures == 0
        (payload,) = receiver.received
        assert payload["event"] == "enforcement.warn_author"
        assert payload["action"]["target_id"] == "author-1"
        assert payload["case"]["violations"][0]["outcome"] == "warn"


def test_editing_an_audit_row_breaks_the_chain_at_that_row(api: SignedClient, settings: Any) -> None:
    from moderation.services.audit import iter_entries
    from moderation.workflow.audit import verify_chain

    for i in range(2):
        remove(settings, api.creds.id, submit(api, f"p{i}"))
    with session_scope(settings.database_url) as session:
        entries = list(iter_entries(session))
        assert verify_chain(entries).ok
        target = next(e for e in entries if e["action"] == "case.decide")
    with get_engine(settings.database_url).begin() as conn:
        conn.execute(text("UPDATE audit_entries SET actor = 'someone-else' WHERE seq = :seq"), {"seq": target["seq"]})
    with session_scope(settings.database_url) as session:
        result = verify_chain(list(iter_entries(session)))
    assert (result.ok, result.problem, result.seq) == (False, "edited", target["seq"])
