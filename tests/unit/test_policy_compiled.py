"""The engine's fast paths give what the plain computations give: compiled rules (``RuleProgram``) against
``evaluate_rule``, shared frozen trace entries, numpy tag blanking against the ``_TAG`` regex, and the BMP fold
shortcut against the general fold."""

from __future__ import annotations

import copy
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import History, Item, ItemKind, PostKind
from moderation.policy import Classifier, load_packs
from moderation.policy.matching import _NOT_PLAIN_TAGS, _TAG, _blank_plain_tags, _fold_general, field_texts, fold_text
from moderation.policy.rules import Facts, FrozenDict, FrozenList, RuleProgram, evaluate_rule, top_scores

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


TEXTS = [
    "Hôm nay trời Hà Nội se lạnh, cả nhà rủ nhau đi ăn phở.",
    "Bán ma túy đá giá rẻ, ship cod toàn quốc, lh 0901 234 567.",
    "thằng chó Nguyễn Văn An này lừa đảo, địa chỉ 12 Lê Lợi, Phường Bến Nghé, Quận 1",
    "Công an triệt phá đường dây bán ma túy, bắt giữ 5 đối tượng theo Nghị định 72/2013.",
    "xem phim sex clip nóng miễn phí tại đây, zalo: hotgirl_99",
    "Đả đảo cộng sản, lật đổ chế độ ngay!",
    "CCCD 001099012345 của chị Trần Thị Bích, stk 0123456789 vietcombank",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("history", [History(), History(author_violations=5, blog_violations=5)])
def test_compiled_rules_give_the_outcome_of_evaluate_rule(clf: Classifier, text: str, history: History) -> None:
    item = Item(kind=ItemKind.POST, fields={"title": text[:30], "body": text}, post_kind=PostKind.SHARE)
    signals, _ = clf.signals(item, field_texts(item))
    by_kind: dict[str, list] = {}  # type: ignore[type-arg]
    for s in signals:
        by_kind.setdefault(s.kind, []).append(s)
    keys = frozenset(s.key for s in signals)
    memo: dict = {}  # type: ignore[type-arg]  # shared by the packs, as in Classifier.classify
    for pack in clf.packs:
        facts = Facts(item, history, pack.id, by_kind, keys, top_scores(by_kind), memo)
        for rule in pack.rules:
            want = evaluate_rule(rule, facts)
            program = RuleProgram(rule, pack.id)
            for _ in range(2):  # the second time from the memo
                got = program.evaluate(facts)
                assert (got.fired, got.score, got.reason, got.evidence) == (
                    want.fired,
                    want.score,
                    want.reason,
                    want.evidence,
                ), rule.id
                assert got.trace == want.trace
                assert all(type(c) is dict for c in got.trace)  # the caller's own copies


def test_shared_trace_entries_refuse_changes_and_serialise_as_plain(clf: Classifier) -> None:
    ev = clf.classify(Item(kind=ItemKind.COMMENT, fields={"body": TEXTS[0]}))
    shared = [e for e in ev.trace if isinstance(e, FrozenDict)]
    assert shared, "rules that did not fire share their entries"
    entry = shared[0]
    with pytest.raises(TypeError, match="shared"):
        entry["outcome"] = "x"
    with pytest.raises(TypeError, match="shared"):
        entry["conditions"].append({})
    with pytest.raises(TypeError, match="shared"):
        entry.update(outcome="x")
    plain = json.loads(json.dumps(ev.to_json()))
    assert plain["rules"] == ev.to_json()["rules"]
    assert pickle.loads(pickle.dumps(entry)) == entry
    assert copy.deepcopy(entry) == entry
    mine = entry.copy()
    mine["outcome"] = "changed"  # a copy is a plain dict the caller may change
    assert entry["outcome"] == "not fired"
    assert isinstance(entry["conditions"], FrozenList)


_HTML = st.lists(
    st.sampled_from(
        ["<", ">", "a", "<b>", "</i>", "x>", "<<", ">>", " ", "é", "\U0001f600", "&amp;", "\n", "<a href='"]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_HTML)
def test_numpy_tag_blanking_equals_the_regex(body: str) -> None:
    if _NOT_PLAIN_TAGS.search(body) is None:
        assert _blank_plain_tags(body) == _TAG.sub(lambda m: " " * len(m.group(0)), body)


_FOLD_PIECES = st.sampled_from(
    list("aáàạăằẵâấđĐÉ ,.xyz09Ωωж“”‘’–—\u0301\u0300\u0323\u0483\u20dd\u200b\u202e\u3000\uff41")
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_FOLD_PIECES, max_size=30).map("".join))
def test_fold_shortcut_equals_the_general_fold(text: str) -> None:
    if not text.isascii():
        cps = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        assert fold_text(text) == _fold_general(cps, len(text))
