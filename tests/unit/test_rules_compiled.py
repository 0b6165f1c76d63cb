"""The policy engine's compiled loops (``moderation/_ext/_rules.pyx``) against their pure-Python references: evidence
ordering and de-duplication (``unique_spans``, ``signal_spans``), its JSON form (``evidence_json``), the context-cue
proximity test, the text fold of the pack patterns, and whole evaluations with the extension switched off."""

from __future__ import annotations

import dataclasses
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import History, Item, ItemKind, PostKind, Signal, Span
from moderation.policy import Classifier, engine, load_packs, matching, rules
from moderation.policy.matching import _fold_text_np, fold_text
from moderation.policy.rules import _unique_spans_py

_c: Any = pytest.importorskip("moderation._ext._rules")

POLICIES = Path(__file__).resolve().parents[2] / "policies"


def _same(got: list[Span], want: list[Span]) -> None:
    assert got == want
    assert [type(s) for s in got] == [type(s) for s in want]
    assert [id(s) for s in got] == [id(s) for s in want]  # the same span objects (the last of each value)


S = Span
CASES = [
    pytest.param([], id="empty"),
    pytest.param([S("body", 0, 3, "abc")], id="one"),
    pytest.param([S("body", 0, 3, "abc"), S("body", 4, 6, "de")], id="in-order"),
    pytest.param([S("body", 4, 6, "de"), S("body", 0, 3, "abc")], id="reversed"),
    pytest.param([S("body", 0, 3, "abc"), S("body", 0, 3, "abc")], id="duplicate"),
    pytest.param([S("body", 0, 3, "abc"), S("body", 0, 3, "xyz"), S("body", 0, 3, "abc")], id="same-place-texts"),
    pytest.param([S("title", 0, 1, "a"), S("body", 5, 6, "b"), S("body", 0, 1, "c")], id="fields"),
    pytest.param([S("body", 0, 5, "a"), S("body", 0, 2, "b"), S("body", 0, 9, "c")], id="same-start"),
    pytest.param([S("é", 0, 1, "x"), S("e", 0, 1, "y"), S("\U0001f600", 2, 3, "z")], id="unicode-fields"),
    pytest.param([S("body", 2**70, 2**70 + 1, "big"), S("body", 0, 1, "a")], id="huge-offsets"),
    pytest.param([S("body", -3, -1, "neg"), S("body", -5, 0, "neg2")], id="negative"),
    pytest.param(
        [S("body", 0, 1, "\ud800"), S("body", 0, 1, "\ud800"), S("body", 0, 1, "\U0001f4a9")], id="surrogates"
    ),
]


@pytest.mark.parametrize("spans", CASES)
def test_unique_spans_table(spans: list[Span]) -> None:
    _same(_c.unique_spans(spans), _unique_spans_py(spans))
    _same(_c.unique_spans(iter(spans)), _unique_spans_py(spans))  # any iterable
    sigs = [
        Signal("lexicon", "k", spans=tuple(spans[: len(spans) // 2])),
        Signal("offensive", "m", spans=tuple(spans[len(spans) // 2 :])),
    ]
    _same(_c.signal_spans(sigs), _unique_spans_py(sp for s in sigs for sp in s.spans))


def test_unique_spans_gives_a_new_list() -> None:
    spans = [S("body", 0, 1, "a"), S("body", 2, 3, "b")]
    got = _c.unique_spans(spans)
    assert got == spans
    assert got is not spans


_span = st.builds(
    Span,
    st.sampled_from(["body", "title", "b", "é", ""]),
    st.integers(0, 12),
    st.integers(0, 12),
    st.sampled_from(["x", "y", "", "\U0001f600", "\u0301\u0301"]),
)


@settings(max_examples=600, deadline=None)
@given(st.lists(_span, max_size=40), st.booleans())
def test_unique_spans_equals_the_reference(spans: list[Span], presort: bool) -> None:
    if presort:
        spans = sorted(spans, key=lambda s: (s.field, s.start, s.end))
    _same(_c.unique_spans(spans), _unique_spans_py(spans))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_span, max_size=12), max_size=5))
def test_signal_spans_equals_the_reference(groups: list[list[Span]]) -> None:
    sigs = [Signal("target", f"k{i}", spans=tuple(g)) for i, g in enumerate(groups)]
    _same(_c.signal_spans(sigs), _unique_spans_py(sp for s in sigs for sp in s.spans))


def _json_shape(out: list[list[dict[str, Any]]]) -> list[list[int]]:
    """Which lists' entries are the same dict object: each entry numbered by its dict's first appearance."""
    seen: dict[int, int] = {}
    return [[seen.setdefault(id(d), len(seen)) for d in lst] for lst in out]


@dataclasses.dataclass(frozen=True, slots=True)
class _NotASpan:  # duck-typed evidence: converted by its own to_json
    start: int

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start, "other": True}


_A, _B = S("body", 0, 3, "abc"), S("title", 1, 2, "\ud800")
EVIDENCE_CASES = [
    pytest.param([], id="no-category"),
    pytest.param([[]], id="no-evidence"),
    pytest.param([[_A, _B]], id="one"),
    pytest.param([[_A, _B], [_B], [_A]], id="shared"),  # the same dict in each place
    pytest.param([[_A, S("body", 0, 3, "abc")]], id="equal-not-same"),  # two objects: two dicts
    pytest.param([[_A, _NotASpan(4)], [_NotASpan(4)]], id="duck-typed"),
    pytest.param([(_A,), iter([_B])], id="any-iterables"),
]


def test_evidence_json_of_temporaries() -> None:
    """Spans made while the evidence is read (freed at once if nothing kept them) get a dict each: no id reused."""
    evidences = [(S("body", i, i + 1, "x") for i in range(50)), (S("body", 0, 1, "y") for _ in range(3))]
    got = _c.evidence_json(evidences)
    assert [d["start"] for d in got[0]] == list(range(50))
    assert [d["text"] for d in got[1]] == ["y"] * 3
    assert engine._evidence_json_py([(S("body", i, i + 1, "x") for i in range(50))]) == got[:1]


@pytest.mark.parametrize("evidences", EVIDENCE_CASES)
def test_evidence_json_table(evidences: list[Any]) -> None:
    evidences = [list(ev) for ev in evidences]
    got, want = _c.evidence_json(evidences), engine._evidence_json_py(evidences)
    assert json.dumps(got) == json.dumps(want)
    assert _json_shape(got) == _json_shape(want)
    assert all(list(d) == ["field", "start", "end", "text"] for lst in got for d in lst if "field" in d)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(_span, max_size=12), max_size=5), st.data())
def test_evidence_json_equals_the_reference(groups: list[list[Span]], data: st.DataObject) -> None:
    pool = [sp for g in groups for sp in g]
    if pool:  # some spans shared between categories, as a long post's are
        groups = [g + data.draw(st.lists(st.sampled_from(pool), max_size=4)) for g in groups]
    got, want = _c.evidence_json(groups), engine._evidence_json_py(groups)
    assert got == want
    assert _json_shape(got) == _json_shape(want)


@settings(max_examples=300, deadline=None)
@given(st.lists(_span, max_size=20), st.sampled_from(["body", "title", "é"]), st.integers(-20, 20), st.integers(-5, 30))
def test_near_any_equals_the_generator(evidence: list[Span], field: str, start: int, window: int) -> None:
    end = start + 2
    want = any(ev.field == field and start - window <= ev.end and ev.start - window <= end for ev in evidence)
    assert _c.near_any(evidence, field, start - window, end + window) is want


_ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=())
_FOLD_PIECES = st.sampled_from(
    [
        *"aáàạăằẵâấđĐÉ ,.xyz09Ωωж“”‘’–—",
        "\u0301",
        "\u0300\u0303\u0309\u0323",
        "\u034f",
        "\u0483",
        "\u20dd",
        "\u200b",
        "\u202e",
        "\ud800",
        "\udfff",
        "\U0001f600",
        "\U0001d165",
        "\U000101fd",
        "\U000e0041",
        "\u0301" * 50,
    ]
)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.text(_ANY_CHAR, max_size=40), st.lists(_FOLD_PIECES, max_size=40).map("".join)))
def test_compiled_fold_equals_numpy(text: str) -> None:
    got = fold_text(text)
    want = _fold_text_np(text)
    assert got == want
    assert type(got[0]) is str
    assert got[1] is None or all(type(i) is int for i in got[1])


@pytest.mark.parametrize(
    "text",
    ["", "abc", "Hôm nay", "a\u0301" * 1000, "\u0301" * 500, "\U0001f600" * 100, "\ud800x", "e\u0301\U0001f600\u20dd"],
)
def test_compiled_fold_table(text: str) -> None:
    assert fold_text(text) == _fold_text_np(text)
    if not text.isascii():
        table = matching._fold_lut_bytes()
        assert _c.fold_non_ascii(text, table, unicodedata.combining) == _fold_text_np(text)


def test_fold_rejects_a_short_table() -> None:
    with pytest.raises(ValueError, match="BMP"):
        _c.fold_non_ascii("é", b"\x00" * 10, unicodedata.combining)


# ------------------------------------------------------------------------------------------------------------------
# Whole evaluations: the compiled paths and the pure-Python ones give the same stored decision.

TEXTS = [
    "Hôm nay trời Hà Nội se lạnh, cả nhà rủ nhau đi ăn phở.",
    "Bán ma túy đá giá rẻ, ship cod toàn quốc, lh 0901 234 567.",
    "thằng chó Nguyễn Văn An này lừa đảo, địa chỉ 12 Lê Lợi, Phường Bến Nghé, Quận 1",
    "Công an triệt phá đường dây bán ma túy, bắt giữ 5 đối tượng theo Nghị định 72/2013.",
    'Anh ta hô “lật đổ chế độ” rồi bị bắt. Báo chí đưa tin "thằng chó này" bị bắt.',
    "xem phim sex clip nóng miễn phí tại đây, zalo: hotgirl_99 \U0001f600\U0001f600",
    "Đả đảo cộng sản, lật đổ chế độ ngay! " * 30,
    "ma tu\u0301y \u0301\u0301\u0301 đi\u0323t me\u0323 \ud800 thằng ngu",
    "",
]


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def _items() -> list[tuple[Item, History]]:
    out = []
    for i, text in enumerate(TEXTS):
        out.append((Item(kind=ItemKind.COMMENT, fields={"body": text}), History()))
        out.append(
            (
                Item(
                    kind=ItemKind.POST,
                    fields={"title": text[:30], "body": " ".join(TEXTS[i:] + TEXTS[:i])},
                    post_kind=PostKind.SHARE if i % 2 else PostKind.ORIGINAL,
                    published_at="2001-01-01T00:00:00Z" if i % 3 == 0 else None,
                ),
                History(author_violations=3, blog_violations=3) if i % 2 else History(),
            )
        )
    return out


def _dump(ev: Any) -> tuple[str, str]:
    return json.dumps(ev.to_json(), sort_keys=True), json.dumps(ev.to_record(), sort_keys=True)


def test_compiled_and_python_paths_give_the_same_evaluations(clf: Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    items = _items()
    compiled = [_dump(clf.classify(item, history)) for item, history in items]
    for mod in (rules, engine, matching):
        monkeypatch.setattr(mod, "_c", None)
    plain = [_dump(clf.classify(item, history)) for item, history in items]
    assert compiled == plain
    monkeypatch.undo()
    assert [_dump(clf.classify(item, history)) for item, history in items] == compiled  # and again, memos warm


# ------------------------------------------------------------------------------------------------------------------
# The lexicon's per-hit loop (``Lexicon.spans`` with few raw hits)

_LEX_PIECES = st.sampled_from(
    [
        "ma túy",
        "ma tuy",
        "MA TÚY",
        "thằng chó",
        "thang cho",
        "địt mẹ",
        "dit me",
        "đ.m",
        "lừa đảo",
        "con đĩ",
        "con đi",
        "lon",
        "long",
        " ",
        ", ",
        "_",
        "x",
        "\u0301",
        "\U0001f600",
        "\ud800",
        "\u200b",
        "á" * 3,
        "Nghị định",
        "bán",
        "cần sa",
    ]
)


@pytest.fixture(scope="module")
def pack_lexicon(clf: Classifier) -> Any:
    matcher = clf._compiled.matcher
    if not isinstance(matcher, matching.NormalisedMatcher):
        pytest.skip("the normaliser's lexicon is not installed")
    return matcher.lexicon


@settings(max_examples=300, deadline=None)
@given(st.lists(_LEX_PIECES, max_size=30).map("".join), st.sampled_from([None, 1, 2, 100]))
def test_lexicon_hits_equal_the_python_loop(pack_lexicon: Any, text: str, limit: int | None) -> None:
    from moderation.detect import lexicon

    got = pack_lexicon.spans(text, per_form_limit=limit)
    saved = lexicon._s
    lexicon._s = None
    try:
        want = pack_lexicon.spans(text, per_form_limit=limit)
    finally:
        lexicon._s = saved
    assert got == want
    assert list(got) == list(want)  # the same order
    assert all(type(a) is int and type(b) is int for a, b in got)


# ------------------------------------------------------------------------------------------------------------------
# The compiled rule loop (``_rules.Program``: ``RuleProgram.run`` and ``_shape``) and conditions (``CONDITIONS``)
# against the Python ones, on every rule of the default packs.


def _programs(clf: Classifier) -> list[tuple[str, rules.RuleProgram]]:
    return [(pid, plan.program) for pid, pack_plan in clf._plans.items() for plan in pack_plan.rules]


def _outcome(shape: Any, spans: list[Span]) -> tuple[Any, ...]:
    return (shape.fired, shape.score, type(shape.score), shape.reason, json.dumps(shape.trace_copy()), spans)


_SIG_KEYS = ["lexicon", "offensive", "target", "accusation", "context", "regex", "personal_data", "link"]


def _signal(kind: str, key: str, score: float, spans: tuple[Span, ...], attrs: dict[str, Any]) -> Signal:
    return Signal(kind, key, score, spans, attrs)


_sig = st.builds(
    _signal,
    st.sampled_from(_SIG_KEYS),
    st.sampled_from(
        ["vn-circular-07-2008/targeted_insults", "vn-circular-07-2008/sex_services", "person", "org", "k", "m"]
    ),
    st.sampled_from([0.0, -0.0, 0.2, 0.5, 0.51, 0.87654321, 1.0, 1, 2.5]),
    st.lists(_span, max_size=3).map(tuple),
    st.dictionaries(
        st.sampled_from(["term", "kind", "target_kind", "field", "cue", "verdict", "type"]),
        st.sampled_from([None, "", "person", "ma túy", "body", "legal", 0, "blocklisted"]),
        max_size=3,
    ),
)


def _facts(pack_id: str, signals: list[Signal], kept: bool, item: Item, history: History) -> rules.Facts:
    by_kind: dict[str, list[Signal]] = {}
    for s in signals:
        by_kind.setdefault(s.kind, []).append(s)
    return rules.Facts(
        item,
        history,
        pack_id,
        by_kind,
        frozenset(s.key for s in signals) | {f"{pack_id}/targeted_insults", f"{pack_id}/sex_services"},
        rules.top_scores(by_kind),
        {} if kept else None,
        {} if kept else None,
    )


ITEM = Item(kind=ItemKind.COMMENT, fields={"body": "x"})
RUN_CASES = [
    pytest.param([], id="no-signals"),
    pytest.param([Signal("offensive", "m", 0.9, (S("body", 0, 3, "abc"),))], id="offensive"),
    pytest.param([Signal("offensive", "m", 1, (S("body", 0, 3, "abc"),))], id="int-score"),
    pytest.param([Signal("offensive", "m", -0.0, ())], id="negative-zero"),
    pytest.param(
        [
            Signal("offensive", "m", 0.7, (S("body", 4, 6, "de"),)),
            Signal("target", "person", 0.8, (S("body", 0, 3, "abc"),), {"target_kind": "person"}),
        ],
        id="offensive-targeted",
    ),
    pytest.param([Signal("target", "org", 0.8, (), {"target_kind": None, "kind": "person"})], id="target-kind-none"),
    pytest.param(
        [
            Signal(
                "lexicon", "vn-circular-07-2008/targeted_insults", 1.0, (S("body", 0, 6, "ma túy"),), {"term": "ma túy"}
            ),
            Signal("lexicon", "vn-circular-07-2008/targeted_insults", 1.0, (S("title", 0, 6, "MA TÚY"),), {}),
            Signal("lexicon", "vn-circular-07-2008/targeted_insults", 1.0, (), {"field": "body"}),
        ],
        id="lexicon",
    ),
]


@pytest.mark.parametrize("signals", RUN_CASES)
@pytest.mark.parametrize("kept", [True, False])
def test_compiled_program_table(clf: Classifier, signals: list[Signal], kept: bool) -> None:
    for history in (History(), History(5, 5)):
        for pid, prog in _programs(clf):
            got = prog.run(_facts(pid, signals, kept, ITEM, history))
            want = prog._run_py(_facts(pid, signals, kept, ITEM, history))
            assert _outcome(*got) == _outcome(*want), prog.rule.id
            assert got[0] is want[0]  # the same memo: the same shape object (the quiet flag depends on it)


def test_compiled_program_checks_the_pack(clf: Classifier) -> None:
    _pid, prog = _programs(clf)[0]
    with pytest.raises(ValueError, match="compiled for pack"):
        prog.run(_facts("other", [], True, ITEM, History()))


@settings(max_examples=200, deadline=None)
@given(st.lists(_sig, max_size=8), st.booleans(), st.sampled_from([History(), History(5, 5)]))
def test_compiled_program_equals_the_python_one(clf: Classifier, signals: list[Signal], kept: bool, h: History) -> None:
    for pid, prog in _programs(clf):
        got = prog.run(_facts(pid, signals, kept, ITEM, h))
        want = prog._run_py(_facts(pid, signals, kept, ITEM, h))
        assert _outcome(*got) == _outcome(*want), prog.rule.id
        results = prog._results(_facts(pid, signals, kept, ITEM, h))
        assert _outcome(prog._compiled.shape(results), []) == _outcome(prog._shape(results), [])


_ARGS = st.fixed_dictionaries(
    {},
    optional={
        "list": st.sampled_from(["targeted_insults", "sex_services"]),
        "pattern": st.sampled_from(["drugs", "phone"]),
        "min_hits": st.integers(1, 3),
        "min_distinct": st.integers(1, 3),
        "fields": st.sampled_from([["body"], ["title", "b"], []]),
        "min_score": st.sampled_from([0, 0.5, 0.9, 1]),
        "kinds": st.sampled_from([["person"], ["org", ""], []]),
        "min": st.integers(0, 4),
        "category": st.sampled_from(["c07.s3_1.slander", "other", ""]),
        "in": st.sampled_from([["post"], ["comment", "blog"], []]),
        "is": st.sampled_from(["original", "share"]),
    },
)
_HISTORIES = st.sampled_from(
    [
        History(),
        History(5, 5),
        History(author_violations=2, author_violations_by_category={"c07.s3_1.slander": 3}),
        History(blog_violations=1, blog_violations_by_category={"other": 7}),
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_sig, max_size=8), _ARGS, _HISTORIES)
def test_compiled_conditions_equal_the_python_ones(signals: list[Signal], args: dict[str, Any], h: History) -> None:
    args = {"list": "targeted_insults", "pattern": "drugs", "in": ["comment"], "is": "original", **args}
    facts = _facts("vn-circular-07-2008", signals, False, ITEM, h)
    for name, fn in _c.CONDITIONS.items():
        got, want = fn(facts, args), rules.FUNCTIONS[name].evaluate(facts, args)
        assert got == want
        assert type(got.score) is type(want.score)
        assert [id(s) for s in got.signals] == [id(s) for s in want.signals]


def test_compiled_conditions_fall_back_to_calling_other_result_types() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:  # no slots: built by calling it
        matched: bool
        score: float = 0.0
        signals: tuple[Signal, ...] = ()
        detail: str = ""

    facts = _facts("vn-circular-07-2008", [], False, ITEM, History())
    try:
        _c.set_result_type(Plain)
        got = _c.cond_offensive(facts, {})
    finally:
        _c.set_result_type(rules.CondResult)
    assert type(got) is Plain
    assert got == Plain(False, 0.0, (), "no offensive signal(s) at or above 0.5")
    assert _c.cond_offensive(facts, {}) == rules._offensive(facts, {})
    assert type(_c.cond_offensive(facts, {})) is rules.CondResult


_QUOTE_PIECES = st.sampled_from(['"', "“", "”", "«", "»", "„", "\n", "a", "ạ", " ", "\U0001f600", "x y"])


@settings(max_examples=800, deadline=None)
@given(
    st.lists(_QUOTE_PIECES, max_size=40).map("".join),
    st.integers(-3, 45),
    st.integers(-3, 45),
    st.sampled_from([0, 1, 3, 10, 100, -1]),
)
def test_compiled_in_quotation_equals_the_python_one(text: str, start: int, end: int, window: int) -> None:
    assert _c.in_quotation(text, start, end, window) is matching._in_quotation_py(text, start, end, window)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("he said “ma túy” then", 9, 15),
        ('he said "ma túy" then', 9, 15),
        ('a "b\n c" d', 6, 7),
        ("«x» y", 1, 2),
        ("„x“ y", 1, 2),
        ("", 0, 0),
        ("x", 2**70, 2**70 + 1),
        ("x", True, True),
    ],
)
def test_compiled_in_quotation_table(text: str, start: int, end: int) -> None:
    for window in (0, 2, 100, 2**70):
        assert _c.in_quotation(text, start, end, window) is matching._in_quotation_py(text, start, end, window)
