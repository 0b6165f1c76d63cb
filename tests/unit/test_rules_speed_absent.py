"""Two shortcuts of the compiled rule loop against the paths they skip: a rule whose every condition is absent on an
item (``_rules.Program`` answers from the memo by its kept absent key) and the live rules of a pack found with bit
masks (``_PackPlan.bits``) instead of sets."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Action, History, Item, ItemKind, Signal, Span
from moderation.policy import Classifier, engine, load_packs
from moderation.policy.rules import Facts

_c: Any = pytest.importorskip("moderation._ext._rules")

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def _facts(pack_id: str, signals: list[Signal], memo: bool = True) -> Facts:
    by_kind, keys, top, _ = engine._group_signals_py(signals)
    item = Item(kind=ItemKind.COMMENT, fields={"body": "x" * 40})
    return Facts(item, History(), pack_id, by_kind, keys, top, {} if memo else None, {} if memo else None)


def _offensive(score: float) -> Signal:
    return Signal("offensive", "vihos", score, (Span("body", 0, 3, "xxx"),))


def _target(score: float) -> Signal:
    return Signal("target", "name", score, (Span("body", 5, 9, "xxxx"),), {"kind": "name"})


_SIGNALS = st.lists(
    st.one_of(
        st.floats(0.0, 1.0).map(_offensive),
        st.floats(0.0, 1.0).map(_target),
        st.sampled_from(["profanity", "targeted_insults", "obscenity"]).map(
            lambda name: Signal("lexicon", f"vn-circular-07-2008/{name}", 1.0, (Span("body", 10, 13, "xxx"),))
        ),
    ),
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(_SIGNALS, st.booleans(), st.booleans())
def test_absent_rules_give_the_reference_outcome(
    clf: Classifier, signals: list[Signal], clear: bool, memo: bool
) -> None:
    pack_id = "vn-circular-07-2008"
    plan = clf._plans[pack_id]
    absent = _facts(pack_id, [_offensive(0.1)], memo)  # below every floor: the rules reading it are absent
    facts = _facts(pack_id, signals, memo)
    for rule_plan in plan.rules:
        program = rule_plan.program
        program.run(absent)  # keeps the absent key
        if clear:
            program._memo.clear()  # the shape kept for it is gone: the full loop builds it again
        for f in (absent, facts, absent):
            got, want = program.run(f), program._run_py(f)
            assert got[0] is want[0]
            assert got[1] == want[1]


@settings(max_examples=60, deadline=None)
@given(_SIGNALS)
def test_live_rules_by_bits_equal_those_by_sets(clf: Classifier, signals: list[Signal]) -> None:
    pack_id = "vn-circular-07-2008"
    pack = next(p for p in clf.packs if p.id == pack_id)
    plan = clf._plans[pack_id]
    assert plan.bits is not None
    no_bits = dataclasses.replace(plan, bits=None)
    modes, _, baseline, fires_quiet, quiet_at = clf._pack_day(
        pack,
        engine.content_date(Item(kind=ItemKind.COMMENT, fields={}, published_at="2024-01-01T00:00:00Z")),
        0,
        _facts(pack_id, []),
    )
    outs = []
    for p in (plan, no_bits):
        trace: list[Any] = []
        quiet: set[int] = set()
        fired = _c.pack_rules(
            p, modes, baseline, fires_quiet, quiet_at, 0, trace, quiet, _facts(pack_id, signals), pack_id,
            lambda policy, evidence: [], 2, 1, plan.fast[0][0], Action.REMOVE, Action.REVIEW,
        )  # fmt: skip
        outs.append(json.dumps([repr(fired), trace, sorted(quiet)], sort_keys=True, default=repr))
    assert outs[0] == outs[1]


def test_bits_are_the_sets(clf: Classifier) -> None:
    for plan in clf._plans.values():
        assert plan.bits is not None
        always, by_key, by_kind = plan.bits

        def rules(mask: int, n: int = len(plan.rules)) -> frozenset[int]:
            return frozenset(i for i in range(n) if mask >> i & 1)

        assert rules(always) == plan.always
        assert {k: rules(v) for k, v in by_key.items()} == plan.by_key
        assert {k: rules(v) for k, v in by_kind.items()} == plan.by_kind


def test_pack_rules_refuses_a_quiet_firing_rule_out_of_range(clf: Classifier) -> None:
    pack_id = "vn-circular-07-2008"
    pack = next(p for p in clf.packs if p.id == pack_id)
    plan = clf._plans[pack_id]
    day = engine.content_date(Item(kind=ItemKind.COMMENT, fields={}, published_at="2024-01-01T00:00:00Z"))
    modes, _, baseline, _, quiet_at = clf._pack_day(pack, day, 0, _facts(pack_id, []))
    for bad in ([len(plan.rules)], [-1]):
        with pytest.raises(IndexError):
            _c.pack_rules(
                plan, modes, baseline, bad, quiet_at, 0, [], set(), _facts(pack_id, []), pack_id,
                lambda policy, evidence: [], 2, 1, plan.fast[0][0], Action.REMOVE, Action.REVIEW,
            )  # fmt: skip
