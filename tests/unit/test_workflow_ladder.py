"""Enforcement data: the two packs' files are valid; each kind of mistake gives a clear error."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from moderation.workflow.ladder import LadderError, load_ladder, parse_ladder, validate_ladder

ROOT = Path(__file__).resolve().parents[2]
PACK_FILES = [
    ROOT / "policies/vn-circular-07-2008/enforcement.yaml",
    ROOT / "policies/vn-draft-cyber-sanctions-2021/enforcement.yaml",
]
BASE = yaml.safe_load(PACK_FILES[0].read_text())


@pytest.mark.parametrize("path", PACK_FILES, ids=lambda p: p.parent.name)
def test_pack_files_are_valid(path):
    ladder = load_ladder(str(path))
    assert ladder.regime == path.parent.name
    assert ladder.deadline("authority_request_hours") == 24
    assert ladder.deadline("appeal_working_days") == 10


def test_draft_pack_carries_the_purpose_bracket():
    ladder = load_ladder(str(PACK_FILES[1]))
    assert ladder.purpose_blog.bracket is not None
    assert (ladder.purpose_blog.bracket.min_vnd, ladder.purpose_blog.bracket.max_vnd) == (30_000_000, 50_000_000)


def _with(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(BASE)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(schema="enforcement/9"), "schema: must be 'enforcement/1'"),  # future format
        (lambda d: d.update(colour="red"), "colour: unknown key"),  # typo at the top level
        (lambda d: d["ladder"][3].update(outcome="fine"), "ladder[3].outcome: must be one of"),  # platforms cannot fine
        (lambda d: d["ladder"][3].pop("duration_days"), "ladder[3].duration_days: a suspension needs a duration"),
        (lambda d: d["ladder"][0].update(duration_days=5), "ladder[0].duration_days: an outcome of warn takes no"),
        (
            lambda d: d["ladder"][3]["when"].update(max_prior_strikes=0),
            "min_prior_strikes 1 is above max_prior_strikes 0",
        ),
        (lambda d: d["ladder"][2]["when"].update(organised=True), "ladder[2].when.organised: unknown key"),
        (lambda d: d["ladder"][2]["when"].update(aggravating="yes"), "must be true or false"),
        (lambda d: d["ladder"].pop(4), "ladder: no rung applies to prior_strikes=1"),  # a hole in the ladder
        (lambda d: d["ladder"].insert(0, {"id": "all", "outcome": "warn", "when": {}}), "never reached"),  # shadowing
        (lambda d: d["ladder"][1].update(id="warning"), "duplicate rung id 'warning'"),
        (lambda d: d["strikes"].update(window_days=0), "strikes.window_days: must be >= 1"),
        (lambda d: d["limitation"].pop("days"), "limitation.days: is required"),
        (lambda d: d["purpose_blog"].update(min_violations=1), "purpose_blog.min_violations: must be >= 2"),
        (lambda d: d["purpose_blog"].update(bracket={"min_vnd": 5, "max_vnd": 1, "basis": "x"}), "min_vnd 5 is above"),
        (lambda d: d["deadlines"].update(appeal_complex_working_days=5), "must not be shorter than appeal_working"),
        (lambda d: d["deadlines"].update(authority_request_hours="24h"), "must be an integer"),
        (lambda d: d["circumstances"]["aggravating"].pop("repeated_after_suspension"), "must declare repeated_after"),
        (lambda d: d["circumstances"]["mitigating"].update(organised="x"), "both mitigating and aggravating"),
        (lambda d: d["calendar"].update(extra_holidays=["2025-02-30"]), "calendar.extra_holidays[0]: not an ISO date"),
        (lambda d: d.update(ladder=[]), "ladder: must be a non-empty list"),
    ],
)
def test_validation_errors(change, expected):
    errors = validate_ladder(_with(change))
    assert any(expected in e for e in errors), errors


def test_not_a_mapping():
    assert validate_ladder([1, 2]) == [": enforcement data must be a mapping"]


def test_parse_raises_with_every_error():
    with pytest.raises(LadderError) as info:
        parse_ladder(_with(lambda d: (d.update(schema="x"), d["strikes"].update(window_days=-1))))
    assert len(info.value.errors) == 2


@pytest.mark.parametrize(
    ("facts", "rung"),
    [
        ({"prior_strikes": 0, "minor": True, "mitigating": True, "aggravating": False}, "warning"),  # II.1.1
        (
            {"prior_strikes": 0, "minor": False, "mitigating": True, "aggravating": False},
            "first_violation",
        ),  # not minor
        (
            {"prior_strikes": 0, "minor": True, "mitigating": False, "aggravating": False},
            "first_violation",
        ),  # no mitigation
        ({"prior_strikes": 0, "minor": True, "mitigating": True, "aggravating": True}, "first_violation"),  # organised
        ({"prior_strikes": 1, "minor": True, "mitigating": True, "aggravating": False}, "suspension_1_month"),
        ({"prior_strikes": 2, "minor": False, "mitigating": False, "aggravating": False}, "suspension_3_months"),
        ({"prior_strikes": 1, "minor": False, "mitigating": True, "aggravating": True}, "suspension_indefinite"),
    ],
)
def test_rung_selection(facts, rung):
    assert parse_ladder(BASE).rung_for(**facts).id == rung
