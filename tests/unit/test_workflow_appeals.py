"""Appeals: the decision stays in force while pending; another moderator decides; a reversal restores."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from moderation.domain import PostKind
from moderation.workflow.appeals import Appeal, AppealError, AppealOutcome, appeal_deadline, decide_appeal, in_force
from moderation.workflow.cases import Violation, group_into_cases
from moderation.workflow.decisions import (
    DecisionAction,
    DecisionSource,
    StatementOfReasons,
    from_evaluation,
    from_moderator,
)
from moderation.workflow.enforcement import Strike, assess_case
from moderation.workflow.ladder import load_ladder

NOW = dt.datetime(2025, 1, 20, 3, 0, tzinfo=dt.UTC)
SUBJECT = {"platform_id": "plt_1", "item_id": "p1", "post_kind": "original"}
GROUND = {"id": "insult", "name_vi": "Xúc phạm", "name_en": "Insult", "citation": {"instrument": "NĐ 97/2008"}}
LADDER = load_ladder(str(Path(__file__).resolve().parents[2] / "policies/vn-circular-07-2008/enforcement.yaml"))


def moderator_decision(moderator: str = "mod:an") -> StatementOfReasons:
    return from_moderator(
        subject=SUBJECT,
        moderator_id=moderator,
        action="remove",
        grounds=[GROUND],
        reason="Xúc phạm",
        decided_at=NOW,
        automated_detection=False,
    )


def automated_decision() -> StatementOfReasons:
    ev = {"verdict": "remove", "categories": [{**GROUND, "rule_id": "r1", "action": "remove", "mode": "enforce"}]}
    return from_evaluation(ev, subject=SUBJECT, decided_at=NOW)


def appeal_for(
    decision: StatementOfReasons, filed_at: dt.datetime = NOW + dt.timedelta(hours=1), complex_: bool = False
) -> Appeal:
    return Appeal("apl_1", decision.id, "u1", filed_at, "Tôi chỉ trích dẫn", complex_)


@pytest.mark.parametrize(
    ("filed", "complex_", "due_local_day"),
    [
        # Filed Monday 20 Jan 2025: four working days that week, none in Tết week (27–31 Jan), so the tenth is
        # Monday 10 Feb instead of Monday 3 Feb.
        (NOW, False, dt.date(2025, 2, 10)),
        # A complex case gets thirty working days.
        (NOW, True, dt.date(2025, 3, 10)),
    ],
)
def test_deadline_in_working_days(filed, complex_, due_local_day):
    appeal = Appeal("a", "d", "u", filed, "g", complex_)
    due = appeal_deadline(
        appeal,
        working_days=LADDER.deadlines["appeal_working_days"],
        complex_working_days=LADDER.deadlines["appeal_complex_working_days"],
    )
    # The deadline is midnight (Vietnam) after the last day, i.e. 17:00 UTC on that day.
    assert due == dt.datetime.combine(due_local_day, dt.time(17, 0), tzinfo=dt.UTC)


def test_pending_appeal_keeps_the_decision_in_force():
    decision = moderator_decision()
    assert in_force(decision, [])
    upheld = decide_appeal(
        appeal_for(decision),
        decision,
        moderator_id="mod:binh",
        outcome="upheld",
        reason="Không phải trích dẫn",
        decided_at=NOW + dt.timedelta(days=2),
        deadline=NOW + dt.timedelta(days=14),
    )
    assert upheld.superseding is None
    assert upheld.actions == ()
    assert in_force(decision, [upheld])


def test_reversal_supersedes_and_restores():
    decision = moderator_decision()
    resolution = decide_appeal(
        appeal_for(decision),
        decision,
        moderator_id="mod:binh",
        outcome=AppealOutcome.REVERSED,
        reason="Trích dẫn báo chí",
        decided_at=NOW + dt.timedelta(days=3),
        deadline=NOW + dt.timedelta(days=14),
    )
    new = resolution.superseding
    assert new is not None
    assert (new.supersedes, new.action, new.source, new.source_ref) == (
        decision.id,
        DecisionAction.NO_ACTION,
        DecisionSource.APPEAL,
        "apl_1",
    )
    assert [(a.kind, a.target_id) for a in resolution.actions] == [("restore_content", "p1")]
    assert not in_force(decision, [resolution])
    assert not resolution.late


def test_reversal_with_a_case_lifts_the_suspension():
    violation = Violation("p1", "insult", NOW, 2, PostKind.ORIGINAL, "u1", "b1")
    prior = Strike("stk_0", "u1", "b1", "insult", NOW - dt.timedelta(days=30), "warn", "c0", "old")
    (case,) = group_into_cases([violation], opened_at=NOW)
    case_decision = assess_case(case, [prior], LADDER, NOW)
    decision = moderator_decision()
    resolution = decide_appeal(
        appeal_for(decision),
        decision,
        moderator_id="mod:binh",
        outcome="reversed",
        reason="Sai",
        decided_at=NOW + dt.timedelta(days=1),
        deadline=NOW + dt.timedelta(days=14),
        case_decision=case_decision,
    )
    assert [a.kind for a in resolution.actions] == ["restore_content", "restore_blog"]


@pytest.mark.parametrize(
    ("decision_factory", "moderator", "reason", "field"),
    [
        (moderator_decision, "mod:an", "r", "moderator_id"),  # the same moderator cannot review themself
        (moderator_decision, "mod:binh", " ", "reason"),  # a written reason is required
    ],
)
def test_rejected(decision_factory, moderator, reason, field):
    decision = decision_factory()
    with pytest.raises(AppealError) as info:
        decide_appeal(
            appeal_for(decision),
            decision,
            moderator_id=moderator,
            outcome="upheld",
            reason=reason,
            decided_at=NOW + dt.timedelta(days=1),
            deadline=NOW + dt.timedelta(days=14),
        )
    assert info.value.field == field


def test_any_moderator_for_automated_decisions():
    decision = automated_decision()
    resolution = decide_appeal(
        appeal_for(decision),
        decision,
        moderator_id="mod:an",
        outcome="upheld",
        reason="ok",
        decided_at=NOW + dt.timedelta(days=1),
        deadline=NOW + dt.timedelta(days=14),
    )
    assert resolution.outcome is AppealOutcome.UPHELD


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"decision_id": "sor_other"}, "decision_id"),  # the appeal is about something else
        ({"filed_at": NOW + dt.timedelta(days=5)}, "decided_at"),  # decided before filed
    ],
)
def test_inconsistent_appeal(change, field):
    decision = moderator_decision()
    base = appeal_for(decision)
    appeal = Appeal(
        "apl_1", change.get("decision_id", base.decision_id), "u1", change.get("filed_at", base.filed_at), "g"
    )
    with pytest.raises(AppealError) as info:
        decide_appeal(
            appeal,
            decision,
            moderator_id="mod:binh",
            outcome="upheld",
            reason="r",
            decided_at=NOW + dt.timedelta(days=1),
            deadline=NOW + dt.timedelta(days=14),
        )
    assert info.value.field == field


def test_late_decision_is_marked():
    decision = moderator_decision()
    resolution = decide_appeal(
        appeal_for(decision),
        decision,
        moderator_id="mod:binh",
        outcome="upheld",
        reason="r",
        decided_at=NOW + dt.timedelta(days=30),
        deadline=NOW + dt.timedelta(days=14),
    )
    assert resolution.late
    assert resolution.to_json()["late"] is True
