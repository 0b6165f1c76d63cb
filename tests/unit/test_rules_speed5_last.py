"""The compiled rule loop reuses the shape of a rule's last run when the conditions give the same result objects
(CondResult) and the rule's memo has not changed since (``_rules.Program``, its dict version): against the Python
loop over the same memos, on items that repeat, with the memo cleared or filled by either path in between."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import History, Item, ItemKind, PostKind, Signal, Span
from moderation.policy import Classifier, engine, load_packs
from moderation.policy.rules import CondResult, Facts, OutcomeShape, clear_keeping

_c: Any = pytest.importorskip("moderation._ext._rules")

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def _offensive(score: float) -> Signal:
    return Signal("offensive", "vihos", score, (Span("body", 0, 3, "xxx"),))


def _lexicon(pack_id: str, name: str) -> Signal:
    return Signal("lexicon", f"{pack_id}/{name}", 1.0, (Span("body", 10, 13, "xxx"),))


_ITEMS = [
    Item(kind=ItemKind.COMMENT, fields={"body": "x" * 40}),
    Item(kind=ItemKind.POST, fields={"body": "x" * 40}, post_kind=PostKind.ORIGINAL),
    Item(kind=ItemKind.POST, fields={"body": "x" * 40}, post_kind=PostKind.SHARE),
]
_HISTORIES = [History(), History(author_violations=3, blog_violations=5)]
_SIGNAL_SETS = [
    [],
    [_offensive(0.1)],
    [_offensive(0.95)],
    [_offensive(0.95), _lexicon("vn-circular-07-2008", "profanity")],
    [_lexicon("vn-circular-07-2008", "targeted_insults")],
]

# (item, history, signal set, memo kept, the rule's memo cleared before (0 no, 1 clear, 2 clear_keeping), which runs
# first (compiled or Python), compiled runs in a row)
_STEP = st.tuples(
    st.integers(0, len(_ITEMS) - 1),
    st.integers(0, len(_HISTORIES) - 1),
    st.integers(0, len(_SIGNAL_SETS) - 1),
    st.booleans(),
    st.integers(0, 2),
    st.booleans(),
    st.integers(1, 3),
)


def _facts(pack_id: str, step: tuple[int, ...]) -> Facts:
    i, h, s, memo = step[:4]
    by_kind, keys, top, _ = engine._group_signals_py(_SIGNAL_SETS[s])
    return Facts(_ITEMS[i], _HISTORIES[h], pack_id, by_kind, keys, top, {} if memo else None, {} if memo else None)


@pytest.mark.parametrize("pack_id", ["vn-circular-07-2008", "vn-draft-cyber-sanctions-2021"])
@settings(max_examples=40, deadline=None)
@given(steps=st.lists(_STEP, min_size=1, max_size=12))
def test_repeated_results_give_the_reference_shape(clf: Classifier, pack_id: str, steps: list[tuple[int, ...]]) -> None:
    plan = clf._plans.get(pack_id)
    if plan is None:
        pytest.skip(f"no pack {pack_id}")
    for rule_plan in plan.rules:
        program = rule_plan.program
        for step in steps:
            facts = _facts(pack_id, step)
            if step[4] == 1:
                program._memo.clear()
            elif step[4] == 2:
                clear_keeping(program._memo, program._absent_key)
            if step[5]:
                want = program._run_py(facts)
                gots = [program.run(facts) for _ in range(step[6])]
            else:
                gots = [program.run(facts) for _ in range(step[6])]
                want = program._run_py(facts)
            for got in gots:
                assert got[0] is want[0]
                assert got[1] == want[1]


def test_other_result_objects_are_not_kept(clf: Classifier) -> None:
    """A condition giving an object that is not a CondResult (whose fields could change between runs) is read again
    on every run: the shape follows its fields as the Python loop's does."""

    @dataclasses.dataclass
    class Loose:
        matched: bool
        score: float
        signals: tuple[Signal, ...] = ()
        detail: str = ""

    plan = clf._plans["vn-circular-07-2008"]
    shared = Loose(True, 1.0)
    calls = [0]

    def fn(facts: Any, args: Any) -> Any:
        calls[0] += 1
        return shared

    rule_plan = plan.rules[0]
    program = rule_plan.program
    n = len(program._plain)
    steps = tuple((k, None, None, 0.0, fn, {}, ("loose", str(k))) for k in range(n))
    compiled = _c.Program(
        program,
        steps,
        tuple((st.group, st.index, st.desc, st.where) for st in program._steps),
        [None] * n,
        {},
        [{} for _ in range(n)],
        program.n_all,
        program.n_any,
        program.rule.min_any,
        "vn-circular-07-2008",
        program.rule.id,
        64,
        OutcomeShape,
        dict,
        list,
        CondResult(False, 0.0, ()),
    )
    facts = _facts("vn-circular-07-2008", (0, 0, 0, False))
    first = compiled.run(facts)[0]
    shared.matched, shared.score = False, 0.0
    second = compiled.run(facts)[0]
    assert [e["matched"] for e in first.trace] == [True] * n
    assert [e["matched"] for e in second.trace] == [False] * n
    assert calls[0] == 2 * n
