"""Targets and personal data: the compiled loops (moderation/_ext/_targets.pyx) give what the Python reference gives.

Each compiled function is called next to its reference explicitly, on a table of cases and on arbitrary text
(astral characters, lone surrogates, combining-mark floods, empty strings). The prefilters of the personal-data
detector are checked as properties: each may only skip work whose result would be empty.
"""

from __future__ import annotations

import pytest
import regex
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import personal, targets
from moderation.detect.identity import fold_with_offsets
from moderation.detect.targets import TargetHit
from moderation.domain import Item, ItemKind, Signal, Span
from moderation.policy import detectors
from moderation.text.normalise import normalise

_c = targets._c
needs_c = pytest.mark.skipif(_c is None, reason="the _targets extension is not built")

CASES = [
    "", " ", "mày là đồ ngu", "thằng kia im đi", "thang kia im di", "hỏi @tuan.nguyen xem",
    "Hôm qua Nguyễn Văn Tèo nói", "Công ty ABC Group làm ăn", "UBND xã", "Nguyễn Văn Tèo lừa đảo tiền của tao",
    "bọn kia ăn cắp", "UBND xa tham nhung", "Phòng chống tham nhũng là nhiệm vụ của Bộ Công an.",
    "Tội lừa đảo bị phạt nặng", "lừa đảo qua mạng tăng", "@tuan ăn cắp", "Gửi Nguyễn Văn Tèo: cảm ơn",
    "may ngu nhu cho", "bon may ngu", "Tèo ơi, đồ ngu", "con đi học về", "cho con chó ăn", "do ngu dot nen thua",
    "bạn ngu vl", "9 m", "a m b", "may_m", "_may_", "đồ lừa đảo", "lũ chó bọn chó", "mi mi mi", "ĐM m", "con đĩ",
    "mấy người", "thang cho ngu", "bộ sở báo", "xembạn", "bạnh", "Con Co", "Anh Nguyễn An",
    "@a. @ab. @abc.. x@abc @@abc", "ABCDEFG ABCDEF ABc AB1 ĐM OK", "Công ty\tABC  Group-1 & Co. X Y Z W V",
    "😀 mày 😀 ngu 😀 @tuan 😀 Nguyễn Văn Tèo lừa đảo 😀", "a\udc00b mày \ud800 ngu", "a" + "\u0301" * 300 + " mày",
    "m\u0300ay ngu", "𝐌𝐚̀𝐲 ngu", "MÀY LÀ ĐỒ NGU", "\u3000mày\u3000", "mày " * 200, "Nguyễn Văn A " * 50,
    "thằng kia lừa đảo. " * 30, "công ty ABC lừa đảo 😀 chiếm đoạt tiền của bọn mày",
    "tội tham nhũng; Bộ Tài chính tham ô!", "Con Nguyễn Văn", "Anh Con Bà Trần", "Tôi Mày Nguyễn Trần Lê A",
    "Ông Tèo Nguyễn Văn", "Gửi Lê", "Thằng Tèo", "Chị Hà Nội Lê Lợi Vũ",
]  # fmt: skip

_WORDS = [w for _, _, words in targets._cue_specs() for w in words] + sorted(targets._NOT_NAMES)[:20] + [
    "Nguyễn", "Văn", "Tèo", "ABC", "UBND", "OK", "@tuan", "@", "Công ty", "Thằng", "Con", "tội ", "😀", "\ud800",
    "\u0301", "𝐀", "ẞ", "Đ", "9", "ấ", "x",
]  # fmt: skip
_AROUND = [" ", "", "_", "9 ", "\n", ".", "-", "a", "\u0301", "1", "@", "Ắ", "\t", "!", ";", ", ", "&"]
_CHARS = st.characters(codec=None, exclude_categories=())  # every code point, lone surrogates included
_MIXED = st.lists(st.tuples(st.sampled_from(_WORDS), st.sampled_from(_AROUND)), max_size=16).map(
    lambda parts: "".join(a + b for a, b in parts)
)
_TEXTS = st.one_of(st.text(_CHARS, max_size=60), _MIXED, _MIXED.map(str.upper), _MIXED.map(str.title))


def _rows(hits: list[TargetHit]) -> list[tuple[str, int, int, bool]]:
    return [(h.kind, h.start, h.end, h.strong) for h in hits]


def _row_signals(text: str, rows: list[tuple[str, int, int, bool]], spans: object) -> list[Signal]:
    return _c.row_signals(  # type: ignore[no-any-return]
        Signal,
        Span,
        targets._SIGNAL_FIELDS,
        "body",
        text,
        rows,
        spans,
        targets._WINDOW,
        targets.DETECTOR,
        (targets.AIMED_STRONG, targets.AIMED_WEAK),
        (targets.PRESENT_STRONG, targets.PRESENT_WEAK),
    )


def _same_targets(text: str) -> None:
    n = normalise(text)
    assert targets._cue_spans(n) == targets._cue_spans_py(n)
    fast, ref = targets._find_targets_c(n), targets._find_targets_py(n)
    assert fast == ref
    assert _rows(fast) == _rows(ref)
    assert all(type(h) is TargetHit and type(h.start) is int and type(h.strong) is bool for h in fast)
    strong = [t for t in ref if t.strong]
    assert targets._find_accusations_c(n, strong) == targets._find_accusations_py(n, strong)
    spans = [(h.start, h.end) for h in ref[1::2]] + [(0, min(3, len(text)))]
    assert targets.aimed(ref, spans, text) == targets._aimed_py(ref, spans, text)
    pats = targets._patterns()
    mentions, names, acronyms = _c.original_spans(text)
    assert mentions == [m.span() for m in pats["mention"].finditer(text)]
    assert names == [m.span() for m in pats["name"].finditer(text)]
    assert acronyms == [m.span() for m in pats["acronym"].finditer(text)]
    for at in range(len(text) + 1):
        m = pats["org_name"].match(text, at)
        assert _c.org_tail(text, at) == (m.end() if m else -1)
    assert _c.sentence_breaks(text) == [m.start() for m in targets._SENTENCE_END.finditer(text)]
    flags = targets._aimed_flags(ref, spans, text)
    fast_signals = targets._target_signals("body", text, ref, flags)
    assert fast_signals == targets._target_signals_py("body", text, ref, flags)
    assert repr(fast_signals) == repr(targets._target_signals_py("body", text, ref, flags))
    for offensive_spans in (spans, ()):
        near = targets._aimed_py(ref, offensive_spans, text)
        want = targets._target_signals_py("body", text, ref, [h in near for h in ref])
        got = _row_signals(text, _rows(ref), offensive_spans)
        assert got == want
        assert repr(got) == repr(want)
        accusations = targets._find_accusations_py(n, strong) if strong else []
        want += targets.accusation_signals("body", text, accusations)
        got = targets.field_signals("body", text, n, offensive_spans)
        assert got == want
        assert repr(got) == repr(want)
    for a, b in names:
        group = text[a:b]
        want = targets._name_start(group, a)
        assert _c.name_start(group, a, targets._NOT_NAMES, targets._SURNAMES, targets._NAME_LEADS) == want


@needs_c
@pytest.mark.parametrize("text", CASES)
def test_compiled_targets_equal_the_reference(text: str) -> None:
    _same_targets(text)


@needs_c
@settings(max_examples=400, deadline=None)
@given(_TEXTS)
def test_compiled_targets_equal_the_reference_on_any_text(text: str) -> None:
    _same_targets(text)


@needs_c
@settings(max_examples=50, deadline=None)
@given(st.text(_CHARS, min_size=1, max_size=300))
def test_character_classes_are_those_of_regex(text: str) -> None:
    classes = [
        r"[\p{L}\p{M}\d]", r"\d", r"\p{Lu}", r"[\p{Ll}\p{M}]", r"[\p{L}\d]", r"[\p{L}\p{M}]", r"\w",
    ]  # fmt: skip
    want = [sum(1 << bit for bit, cls in enumerate(classes) if regex.match(cls, ch)) for ch in text]
    assert _c.char_classes(text) == want


@st.composite
def _aim_cases(draw: st.DrawFn) -> tuple[list[TargetHit], list[tuple[int, int]], str]:
    text = draw(st.text(alphabet="ab .!?;\n", min_size=1, max_size=400))
    n = len(text)

    def span() -> tuple[int, int]:
        lo = draw(st.integers(0, n - 1))
        return lo, draw(st.integers(lo + 1, min(n, lo + 30)))

    hits = [TargetHit("name", *span()) for _ in range(draw(st.integers(0, 10)))]
    if draw(st.booleans()):
        hits.sort(key=lambda h: (h.start, h.end))
    return hits, [span() for _ in range(draw(st.integers(0, 8)))], text


@needs_c
@settings(max_examples=300, deadline=None)
@given(_aim_cases())
def test_aimed_flags_equal_the_reference(case: tuple[list[TargetHit], list[tuple[int, int]], str]) -> None:
    hits, spans, text = case
    near = targets._aimed_py(hits, spans, text)
    assert targets._aimed_flags(hits, spans, text) == [h in near for h in hits]
    assert targets.aimed(hits, spans, text) == near
    want = targets._target_signals_py("body", text, hits, [h in near for h in hits])
    assert _row_signals(text, _rows(hits), spans) == want


@needs_c
def test_built_objects_are_what_the_classes_make() -> None:
    rows = [("name", 1, 5, True), ("second_person", 0, 3, False)]
    built = _c.build(TargetHit, targets._HIT_FIELDS, rows)
    assert built == [TargetHit(*row) for row in rows]
    assert [hash(h) for h in built] == [hash(TargetHit(*row)) for row in rows]
    assert repr(built) == repr([TargetHit(*row) for row in rows])
    text = "ab😀cd"
    assert _c.spans_of(Span, "body", text, built) == tuple(
        Span("body", h.start, h.end, text[h.start : h.end]) for h in built
    )
    with pytest.raises(TypeError):
        _c.build(TargetHit, targets._HIT_FIELDS, [("name", 1)])
    pairs = [(0, 2), (2, 3), (3, 3), (1, 5)]
    assert _c.pair_spans(Span, "body", text, pairs) == tuple(Span("body", a, b, text[a:b]) for a, b in pairs)
    assert _c.pair_spans(Span, "body", text, ()) == ()
    with pytest.raises((TypeError, ValueError)):
        _c.pair_spans(Span, "body", text, [(0, 1, 2)])
    with pytest.raises(TypeError):
        _row_signals(text, [("name", 1, 2)], [(0, 1)])
    with pytest.raises(TypeError):
        _row_signals(text, ["name"], [(0, 1)])
    assert targets._FAST_HIT
    assert targets._FAST_SPAN
    assert targets._FAST_SIGNAL
    row = ("target", "name", 0.6, (Span("body", 0, 2, "ab"),), {"count": 1}, "targets/2")
    [signal] = _c.build(Signal, targets._SIGNAL_FIELDS, [row])
    assert signal == Signal(*row)
    assert repr(signal) == repr(Signal(*row))


@needs_c
@pytest.mark.parametrize("text", CASES)
def test_language_adapter_equals_the_python_path(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    item = Item(ItemKind.POST, {"title": text[:80], "body": text + " ngu vl, đồ chó"})
    fast = detectors._language(item, None)
    targets._cue_spans.cache_clear()
    for name in ("_c", "_FAST_HIT", "_FAST_SPAN", "_FAST_SIGNAL", "_FAST_ROWS"):
        monkeypatch.setattr(targets, name, None if name == "_c" else False)
    assert detectors._language(item, None) == fast
    targets._cue_spans.cache_clear()


# Personal data: prefilters


_PIECES = st.sampled_from(
    [
        "12", "0901 234 567", ", ", ",", " ", "Phường", "phuong", "Quận 1", "q.", "p.", "Tp.", "thành phố", "xã",
        "số nhà 3", "😀", "🙂", "中", "\u3000", "ﬀ", "ﬁ", "Ａ", "，", "\U0001d400", "\ud800", "\u302a", "\ufe20", "Ꝺ",
        "a@b.vn", "@tuan", "x@y", "@a.b", "lan.nguyen@gmail.com", "@", ".", "-", "_",
    ]
)  # fmt: skip
_PERSONAL_TEXTS = st.lists(st.one_of(_PIECES, st.text(_CHARS, max_size=6)), max_size=30).map("".join)


@settings(max_examples=400, deadline=None)
@given(_PERSONAL_TEXTS)
def test_address_hint_never_misses_an_address_beyond_the_fold_table(text: str) -> None:
    if personal._ADDRESS.search(fold_with_offsets(text)[0]):
        assert personal._may_hold_address(text)


@settings(max_examples=400, deadline=None)
@given(_PERSONAL_TEXTS)
def test_email_precheck_never_misses_an_email(text: str) -> None:
    if personal._EMAIL.search(text):
        assert personal._may_hold_email(text)


@pytest.mark.parametrize(
    "text",
    [
        "nhà ở số 12 ngõ 34 đường Láng, phường Láng Thượng, quận Đống Đa 😀",
        "😀 số 5 Lê Lợi,\u3000phường 1, quận 3",
        "mail lan.nguyen@gmail.com 😀 hoặc @tuan",
        "@tuan @lan 0912345678 😀",
    ],
)
def test_personal_data_with_emoji(text: str) -> None:
    assert personal.find_personal_data(text)
