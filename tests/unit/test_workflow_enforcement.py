"""Graduated enforcement scenarios: warning, escalation, limitation, one case per author, purpose blogs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import pytest

from moderation.domain import PostKind
from moderation.workflow.cases import Circumstances, Violation, group_into_cases
from moderation.workflow.enforcement import (
    CaseDecision,
    Strike,
    assess_case,
    counting_strikes,
    restore_actions,
    reverse_strikes,
)
from moderation.workflow.ladder import Ladder, load_ladder

ROOT = Path(__file__).resolve().parents[2]
LADDER = load_ladder(str(ROOT / "policies/vn-circular-07-2008/enforcement.yaml"))
DRAFT = load_ladder(str(ROOT / "policies/vn-draft-cyber-sanctions-2021/enforcement.yaml"))
NOW = dt.datetime(2025, 6, 2, 3, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
MITIGATING = Circumstances(mitigating=frozenset({"cooperative"}))
ORGANISED = Circumstances(aggravating=frozenset({"organised"}))


def violation(
    item: str = "p1",
    *,
    category: str = "insult",
    severity: int = 2,
    age_days: int = 1,
    author: str = "u1",
    blog: str = "b1",
    kind: PostKind = PostKind.ORIGINAL,
) -> Violation:
    return Violation(item, category, NOW - age_days * DAY, severity, kind, author, blog)


def strike(
    n: int,
    outcome: str = "warn",
    *,
    age_days: int = 10,
    category: str = "insult",
    author: str = "u1",
    blog: str = "b1",
    reversed_: bool = False,
) -> Strike:
    return Strike(f"stk_{n}", author, blog, category, NOW - age_days * DAY, outcome, f"case_{n}", f"old_{n}", reversed_)


def decide(
    violations: list[Violation],
    history: Sequence[Strike] = (),
    circumstances: dict[str, Circumstances] | None = None,
    ladder: Ladder = LADDER,
) -> CaseDecision:
    cases = group_into_cases(violations, opened_at=NOW, circumstances=circumstances)
    assert len(cases) == 1
    return assess_case(cases[0], list(history), ladder, NOW)


@pytest.mark.parametrize(
    ("violations", "history", "circ", "sanction", "rung"),
    [
        # A first minor violation with mitigating circumstances gets a warning (Circular 05/2004 II.1.1).
        ([violation()], [], MITIGATING, "warn", "warning"),
        # A first serious violation is not "minor": still a warning on a platform, but on the harsher rung.
        ([violation(severity=4)], [], MITIGATING, "warn", "first_violation"),
        # A repeat within the window escalates to suspension; 1 month with mitigating circumstances ...
        ([violation()], [strike(1)], MITIGATING, "suspend", "suspension_1_month"),
        # ... 3 months without.
        ([violation()], [strike(1)], None, "suspend", "suspension_3_months"),
        # Repeating after a suspension is aggravating: indefinite.
        (
            [violation()],
            [strike(1), strike(2, "suspend", age_days=5)],
            MITIGATING,
            "suspend_indefinite",
            "suspension_indefinite",
        ),
        # An organised repeat is aggravating too.
        ([violation()], [strike(1)], ORGANISED, "suspend_indefinite", "suspension_indefinite"),
        # A strike outside the window no longer counts.
        ([violation()], [strike(1, age_days=400)], MITIGATING, "warn", "warning"),
        # A strike reversed on appeal does not count.
        ([violation()], [strike(1, reversed_=True)], MITIGATING, "warn", "warning"),
        # A strike on the same blog under another author counts (strikes are on the author and the blog).
        ([violation()], [strike(1, author="u2")], None, "suspend", "suspension_3_months"),
        # A strike on another author and blog does not.
        ([violation()], [strike(1, author="u2", blog="b2")], MITIGATING, "warn", "warning"),
    ],
)
def test_ladder_scenarios(violations, history, circ, sanction, rung):
    result = decide(violations, history, {"u1": circ} if circ else None)
    assert result.sanction == sanction
    assert [o.rung_id for o in result.outcomes] == [rung]
    assert len(result.strikes) == 1


def test_warning_actions():
    result = decide([violation()], [], {"u1": MITIGATING})
    assert [(a.kind, a.target_id) for a in result.actions] == [("remove_content", "p1"), ("warn_author", "u1")]


def test_suspension_action_has_an_end():
    result = decide([violation()], [strike(1)])
    suspend = [a for a in result.actions if a.kind == "suspend_blog"]
    assert len(suspend) == 1
    assert suspend[0].until == NOW + 90 * DAY
    assert not suspend[0].indefinite


def test_indefinite_suspension_has_no_end():
    result = decide([violation()], [strike(1)], {"u1": ORGANISED})
    (suspend,) = [a for a in result.actions if a.kind == "suspend_blog"]
    assert (suspend.until, suspend.indefinite) == (None, True)
    assert "repeated_after_suspension" not in result.aggravating


def test_stale_violation_is_removed_without_a_strike():
    # Past the limitation period: no strike, no sanction, but the content still goes (Circular 05/2004 I.5.2).
    result = decide([violation(age_days=400)], [strike(1)])
    assert result.sanction is None
    assert result.strikes == ()
    assert [(a.kind, a.reason) for a in result.actions] == [("remove_content", "past limitation: removal only")]
    assert result.outcomes[0].time_barred


def test_several_violations_form_one_case_with_one_outcome_each():
    violations = [
        violation("p1", severity=1),
        violation("p2", category="privacy", severity=4),
        violation("p3", age_days=500),
    ]
    result = decide(violations, [], {"u1": MITIGATING})
    assert [(o.violation.item_id, o.rung_id) for o in result.outcomes] == [
        ("p1", "warning"),
        ("p2", "first_violation"),
        ("p3", None),
    ]
    # Violations found together do not escalate each other: both are first violations.
    assert result.sanction == "warn"
    assert len(result.strikes) == 2
    assert sum(a.kind == "remove_content" for a in result.actions) == 3


def test_grouping_by_author():
    cases = group_into_cases([violation("p1"), violation("p2", author="u2", blog="b2"), violation("p3")], opened_at=NOW)
    assert [(c.author_id, [v.item_id for v in c.violations]) for c in cases] == [("u1", ["p1", "p3"]), ("u2", ["p2"])]
    assert cases[0].id != cases[1].id


def test_counting_strikes_deduplicates():
    s = strike(1)
    assert counting_strikes([s, s], author_id="u1", blog_id="b1", now=NOW, window_days=365) == [s]


@pytest.mark.parametrize(
    ("history", "new", "flagged", "ladder"),
    [
        # Two earlier strikes of the same kind plus this one reach the threshold of three.
        ([strike(1), strike(2)], [violation()], True, DRAFT),
        # Different kinds do not add up when the pack counts one category.
        ([strike(1, category="privacy"), strike(2)], [violation()], False, DRAFT),
        # Old strikes fall out of the 90-day window.
        ([strike(1, age_days=200), strike(2)], [violation()], False, DRAFT),
        # The Circular 07/2008 pack flags too, but carries no bracket.
        ([strike(1), strike(2)], [violation()], True, LADDER),
    ],
)
def test_purpose_blog(history, new, flagged, ladder):
    result = decide(new, history, ladder=ladder)
    assert result.purpose_blog.flagged is flagged
    if flagged:
        assert result.purpose_blog.category_id == "insult"
        assert (result.purpose_blog.bracket is not None) is (ladder is DRAFT)


def test_restore_after_reversal_lifts_a_running_suspension():
    result = decide([violation()], [strike(1)])
    actions = restore_actions(result, now=NOW + DAY, reason="appeal upheld")
    assert [(a.kind, a.target_id) for a in actions] == [("restore_content", "p1"), ("restore_blog", "b1")]
    # Once the suspension has ended there is nothing to lift.
    later = restore_actions(result, now=NOW + 100 * DAY, reason="late")
    assert [a.kind for a in later] == ["restore_content"]


def test_partial_reversal_keeps_the_suspension():
    result = decide([violation("p1"), violation("p2")], [strike(1)])
    actions = restore_actions(result, item_ids=["p1"], now=NOW + DAY, reason="one post was fine")
    assert [a.kind for a in actions] == ["restore_content"]


def test_reverse_strikes():
    result = decide([violation("p1"), violation("p2")], [])
    reversed_ = reverse_strikes(result.strikes, ["p2"])
    assert [(s.item_id, s.reversed) for s in reversed_] == [("p2", True)]


def test_case_decision_serialises():
    data = decide([violation()], []).to_json()
    assert data["outcomes"][0]["violation"]["post_kind"] == "original"
    assert data["purpose_blog"]["window_days"] == 90
