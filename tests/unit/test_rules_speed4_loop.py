"""Three shortcuts of the compiled pack loop against what they replace: ``_rules.in_quotation`` with a window wider
than the text (the same bounds as one of the text's length, so the C scan instead of the reference's slices), the
order of fired rules compared in C when ``build_categories`` is given ``engine._fired_rank`` (``max`` with that key
otherwise), and the cue finders ``evaluate_packs`` builds without calling ``CueFinder``."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Action, History, Item, ItemKind, Span
from moderation.policy import Classifier, engine, load_packs
from moderation.policy.matching import _in_quotation_py

_c: Any = pytest.importorskip("moderation._ext._rules")

POLICIES = Path(__file__).resolve().parents[2] / "policies"
MARKS = 'ab "“”«»„\n'


@settings(max_examples=600, deadline=None)
@given(
    st.text(alphabet=MARKS, max_size=14),
    st.data(),
    st.sampled_from([0, 1, 2, 5, None, 1, 7, 240, 10**6, 2**63, 2**80]),
)
def test_in_quotation_with_any_window_equals_the_reference(text: str, data: Any, window: int | None) -> None:
    n = len(text)
    start = data.draw(st.integers(0, n))
    end = data.draw(st.integers(start, n))
    if window is None:
        window = n  # the text's length itself
    assert _c.in_quotation(text, start, end, window) == _in_quotation_py(text, start, end, window)
    assert _c.in_quotation(text, start, end, n + window) == _in_quotation_py(text, start, end, n + window)


def test_in_quotation_short_comment_wide_window() -> None:
    text = 'Báo đưa tin "thằng chó này" bị bắt.'
    for start in range(len(text) + 1):
        for end in range(start, len(text) + 1):
            for window in (240, len(text), len(text) + 1, 3):
                assert _c.in_quotation(text, start, end, window) == _in_quotation_py(text, start, end, window)


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def _rows(rnd: random.Random, rule_ids: list[str]) -> list[tuple[Any, ...]]:
    nan = math.nan
    scores = [0.25, 0.5, 1, 1.0, True, 0.0, -0.0, nan, nan, float("nan"), 2**60, 0.75]
    out = []
    for _ in range(rnd.randint(2, 5)):
        ev = [Span("body", rnd.randint(0, 5), 6, "x")]
        out.append((rnd.choice(list(Action)), rnd.choice(rule_ids), rnd.choice(scores), ev, []))
    return out


def test_fired_rank_in_c_equals_max_with_the_key(clf: Classifier) -> None:
    rnd = random.Random(7)
    pack = next(iter(clf.packs))
    plan = clf._plans[pack.id]
    modes = [("enforce", f"note {i}") for i in range(len(plan.rules))]
    rule_ids = [p.rule.id for p in plan.rules]
    cat_id = plan.rules[0].rule.category
    maker = engine._MAKE_CATEGORY

    def key(f: Any) -> Any:  # the same order, not the registered function: ``max`` with it
        return engine._fired_rank(f)

    for _ in range(400):
        fired = {(cat_id, "enforce"): _rows(rnd, rule_ids), (cat_id, "shadow"): _rows(rnd, rule_ids)}
        got = _c.build_categories(
            fired, plan.cats, modes, plan.first, True, engine.unique_spans, maker, engine._fired_rank
        )
        want = _c.build_categories(fired, plan.cats, modes, plan.first, True, engine.unique_spans, maker, key)
        ref = engine._categories_py(fired, plan.cats, modes, plan.first, True)
        for a, b, c in zip(got, want, ref, strict=True):
            assert (
                (a.rule_id, a.action, a.context) == (b.rule_id, b.action, b.context) == (c.rule_id, c.action, c.context)
            )
            assert a.score is b.score is c.score


def test_fired_rank_in_c_raises_as_the_key(clf: Classifier) -> None:
    pack = next(iter(clf.packs))
    plan = clf._plans[pack.id]
    modes = [("enforce", "")] * len(plan.rules)
    cat_id = plan.rules[0].rule.category
    rid = plan.rules[0].rule.id
    ev = [Span("body", 0, 1, "x")]
    fired = {(cat_id, "enforce"): [(Action.REVIEW, rid, 0.5, ev, []), ("unknown", rid, 0.5, ev, [])]}
    with pytest.raises(KeyError):
        engine._categories_py(fired, plan.cats, modes, plan.first, True)
    with pytest.raises(KeyError):
        _c.build_categories(
            fired, plan.cats, modes, plan.first, True, engine.unique_spans, engine._MAKE_CATEGORY, engine._fired_rank
        )


def test_evaluate_packs_refuses_a_cue_memo_that_is_not_a_dict(clf: Classifier) -> None:
    item = Item(kind=ItemKind.COMMENT, fields={"body": "x"})
    day = engine.content_date(item)
    rows = clf._compiled_rows(day, item, History())
    assert rows
    args: list[Any] = [rows, item, History(), {}, frozenset(), {}, {}, {}, {"body": "x"}, [], set(), {}]
    rest = [engine._MAKE_FACTS, engine._MAKE_CATEGORY, _c.unique_spans, engine._fired_rank, engine.in_quotation]
    ok = _c.evaluate_packs(*args, *rest, True, Action.REMOVE, Action.REVIEW)
    assert ok == []
    args[9], args[10], args[11] = [], set(), []  # cues: a list
    with pytest.raises(TypeError, match="memo"):
        _c.evaluate_packs(*args, *rest, True, Action.REMOVE, Action.REVIEW)
    args[0], args[9], args[10] = [], [], set()
    assert _c.evaluate_packs(*args, *rest, True, Action.REMOVE, Action.REVIEW) == []  # no pack: not read


QUOTED = [
    'Báo chí đưa tin "thằng chó này" bị bắt, "đồ ngu" mày là con chó.',
    "Anh ta hô “lật đổ chế độ” rồi “đả đảo cộng sản” bị bắt.",
    "«thằng chó Nguyễn Văn An này lừa đảo» và «đồ ngu»",
    '"dit me may thang ngu"\n"đồ ngu, mày là con chó"',
    "Công an: “bán ma túy đá giá rẻ, ship cod toàn quốc” theo Nghị định 72/2013.",
    '„thằng chó“ "đồ ngu',
]


@pytest.mark.parametrize("text", QUOTED)
@pytest.mark.parametrize("title", [None, "Báo “thằng chó” đưa tin"])
def test_quotation_kept_per_item_gives_the_python_evaluation(
    clf: Classifier, text: str, title: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    fields = {"body": text * 3} if title is None else {"body": text, "title": title}
    for kind in (ItemKind.COMMENT, ItemKind.POST):
        item = Item(kind=kind, fields=fields)
        got = clf.classify(item)
        with monkeypatch.context() as m:
            m.setattr(engine, "_c", None)
            want = clf.classify(item)
        dump = lambda ev: json.dumps([ev.to_json(), ev.to_record()], sort_keys=True, ensure_ascii=False)  # noqa: E731
        assert dump(got) == dump(want)
