"""Statements of reasons from the engine and from moderators; corrections supersede, never edit."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from moderation.workflow.decisions import (
    Actor,
    AutomatedDecision,
    DecisionAction,
    DecisionSource,
    bracket_for,
    current,
    from_evaluation,
    from_moderator,
    render_text,
    supersede,
)

NOW = dt.datetime(2025, 3, 3, 2, 0, tzinfo=dt.UTC)
MAKING = {"min_vnd": 10_000_000, "max_vnd": 20_000_000, "basis": "draft Art. 8"}
SPREADING = {"min_vnd": 20_000_000, "max_vnd": 30_000_000, "basis": "draft Art. 8"}


def category(**over: Any) -> dict[str, Any]:
    base = {
        "id": "insult",
        "name_vi": "Xúc phạm danh dự",
        "name_en": "Insult",
        "pack_id": "vn-circular-07-2008",
        "pack_version": "sha256:abc",
        "rule_id": "insult.targeted",
        "action": "remove",
        "mode": "enforce",
        "score": 0.91,
        "citation": {"instrument": "Nghị định 97/2008/NĐ-CP", "article": "6", "clause": None, "point": "c"},
        "evidence": [{"field": "body", "start": 4, "end": 9, "text": "đồ ngu"}],
        "bracket": None,
        "brackets": {"making": MAKING, "spreading": SPREADING},
        "remedies": ["Buộc gỡ bỏ"],
    }
    base.update(over)
    return base


def evaluation(*cats: dict[str, Any], verdict: str = "remove") -> dict[str, Any]:
    return {"verdict": verdict, "categories": list(cats), "pack_versions": {"vn-circular-07-2008": "sha256:abc"}}


SUBJECT = {"platform_id": "plt_1", "item_kind": "post", "item_id": "p1", "post_kind": "original"}


@pytest.mark.parametrize(
    ("ev", "action", "actor_id"),
    [
        (evaluation(category()), DecisionAction.REMOVE, "insult.targeted"),  # an enforcing removal rule
        (evaluation(category(action="label"), verdict="allow"), DecisionAction.LABEL, "insult.targeted"),  # label only
        (
            evaluation(category(action="review"), verdict="review"),
            DecisionAction.NO_ACTION,
            "insult.targeted",
        ),  # a human decides
        (evaluation(verdict="allow"), DecisionAction.NO_ACTION, "engine"),  # nothing found
        (
            evaluation(category(mode="shadow", action="label"), verdict="allow"),
            DecisionAction.NO_ACTION,
            "engine",
        ),  # shadow rules never act
    ],
)
def test_from_evaluation_action(ev, action, actor_id):
    sor = from_evaluation(ev, subject=SUBJECT, decided_at=NOW)
    assert sor.action is action
    assert sor.actor.id == actor_id
    assert sor.automated_decision is AutomatedDecision.FULLY
    assert sor.automated_detection


def test_from_evaluation_keeps_citation_evidence_and_versions():
    sor = from_evaluation(evaluation(category()), subject=SUBJECT, decided_at=NOW)
    (ground,) = sor.grounds
    assert ground.citation.label() == "điểm c Điều 6 Nghị định 97/2008/NĐ-CP"
    assert ground.evidence[0].text == "đồ ngu"
    assert sor.actor.pack_version == "sha256:abc"
    assert sor.pack_versions == {"vn-circular-07-2008": "sha256:abc"}
    assert sor.remedies == ("Buộc gỡ bỏ",)


@pytest.mark.parametrize(
    ("post_kind", "bracket"),
    [
        ("original", MAKING),  # the author made the content: 10–20 M
        ("share", SPREADING),  # the author re-posted it: 20–30 M
    ],
)
def test_post_kind_picks_the_bracket(post_kind, bracket):
    sor = from_evaluation(evaluation(category()), subject={**SUBJECT, "post_kind": post_kind}, decided_at=NOW)
    assert sor.grounds[0].bracket == bracket


@pytest.mark.parametrize(
    ("ground", "kind", "expected"),
    [
        ({"brackets": {"any": MAKING}}, "share", MAKING),  # one bracket for both kinds
        ({"bracket": SPREADING}, "original", SPREADING),  # the engine already picked one
        ({}, "original", None),  # no bracket in force (not the draft pack)
    ],
)
def test_bracket_for(ground, kind, expected):
    assert bracket_for(ground, kind) == expected


def test_statement_is_immutable_and_its_id_is_a_digest():
    a = from_evaluation(evaluation(category()), subject=SUBJECT, decided_at=NOW)
    b = from_evaluation(evaluation(category()), subject=SUBJECT, decided_at=NOW)
    assert a.id == b.id
    assert a.id.startswith("sor_")
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.action = DecisionAction.NO_ACTION  # type: ignore[misc]
    assert a.to_json()["id"] == a.id


@pytest.mark.parametrize(
    ("detection", "expected"),
    [(True, AutomatedDecision.PARTIALLY), (False, AutomatedDecision.NOT)],  # flagged by a detector, or reported
)
def test_from_moderator(detection, expected):
    sor = from_moderator(
        subject=SUBJECT,
        moderator_id="mod:an",
        action="remove",
        grounds=[category()],
        reason="Xúc phạm cá nhân",
        decided_at=NOW,
        automated_detection=detection,
    )
    assert (sor.automated_decision, sor.actor.kind, sor.source) == (expected, "moderator", DecisionSource.MODERATOR)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"grounds": [], "action": "remove"}, "at least one ground"),  # acting without a legal basis
        ({"reason": "  "}, "written reason"),  # moderators must explain
    ],
)
def test_from_moderator_rejects(kwargs, message):
    args: dict[str, Any] = {
        "subject": SUBJECT,
        "moderator_id": "m",
        "action": "remove",
        "grounds": [category()],
        "reason": "r",
        "decided_at": NOW,
        "automated_detection": False,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        from_moderator(**args)


def test_correction_supersedes_without_editing():
    old = from_evaluation(evaluation(category()), subject=SUBJECT, decided_at=NOW)
    old_json = old.to_json()
    new = supersede(
        old,
        actor=Actor("moderator", "mod:binh"),
        reason="Trích dẫn tin tức, không vi phạm",
        decided_at=NOW + dt.timedelta(hours=2),
        action="no_action",
    )
    assert new.supersedes == old.id
    assert new.id != old.id
    assert new.action is DecisionAction.NO_ACTION
    assert new.remedies == ()
    assert new.source is DecisionSource.CORRECTION
    assert old.to_json() == old_json
    assert current([old, new]) == [new]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": ""}, "written reason"),
        ({"decided_at": NOW - dt.timedelta(seconds=1)}, "before the decision"),
    ],
)
def test_correction_rejects(kwargs, message):
    old = from_evaluation(evaluation(category()), subject=SUBJECT, decided_at=NOW)
    args: dict[str, Any] = {"actor": Actor("moderator", "m"), "reason": "r", "decided_at": NOW}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        supersede(old, **args)


def test_render_text_is_bilingual():
    text = render_text(from_evaluation(evaluation(category()), subject=SUBJECT, decided_at=NOW))
    assert "gỡ bỏ (remove)" in text
    assert "«đồ ngu» (body 4–9)" in text
    assert "10000000–20000000 VND" in text
