"""Speed round 4 of the language detector: result and signal objects made by filling their slots
(``_targets.make``), the offset arrays read through raw pointers (``_int64_data``) with a buffer for anything else,
and the cue lists of a field read once. Every path gives what the reference gives."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from moderation.detect import offensive, targets
from moderation.detect.offensive import OffensiveResult, default_model
from moderation.domain import Item, ItemKind, Signal, Span
from moderation.policy import detectors
from moderation.text.normalise import normalise
from tests.unit.test_targets_compiled import _TEXTS as _ANY_TEXTS
from tests.unit.test_targets_compiled import CASES
from tests.unit.test_targets_speed3_rows import ACCUSATIONS

_ct: Any = targets._c
_co: Any = offensive._c
needs_c = pytest.mark.skipif(_ct is None or _co is None, reason="moderation._ext is not built")
needs_engine = pytest.mark.skipif(default_model()._fast is None, reason="compiled model not in use here")

TEXTS = [
    "",
    " ",
    "\n\t ",
    "ok",
    "Thằng này ngu như chó",
    "mày là đồ lừa đảo, Nguyễn Văn Tèo ăn cắp",
    "Công ty ABC lừa đảo, @tuan ăn cắp, UBND tham ô!",
    "😀 đm mày 😀 ngu " * 20,
    ("Hôm nay tôi đi chợ mua rau. " * 30) + "Thằng bán hàng ngu như chó, mày là đồ lừa đảo! " + ("Trời đẹp. " * 40),
    *ACCUSATIONS,
]


# Objects


@needs_c
def test_make_equals_the_constructor() -> None:
    row = ("target", "name", 0.6, (Span("body", 0, 2, "ab"),), {"count": 1}, "targets/2")
    made = _ct.make(Signal, targets._SIGNAL_FIELDS, row)
    assert type(made) is Signal
    assert made == Signal(*row)
    assert repr(made) == repr(Signal(*row))
    assert made == _ct.build(Signal, targets._SIGNAL_FIELDS, [row])[0]
    res = _ct.make(OffensiveResult, offensive._RESULT_FIELDS, (0.5, ((0, 1),), False, (1, 1)))
    assert res == OffensiveResult(0.5, ((0, 1),), False, (1, 1))
    assert repr(res) == repr(OffensiveResult(0.5, ((0, 1),), False, (1, 1)))
    with pytest.raises(TypeError):
        _ct.make(Signal, targets._SIGNAL_FIELDS, row[:5])
    with pytest.raises(TypeError):
        _ct.make(Signal, targets._SIGNAL_FIELDS, [*row])  # not a tuple


class _Plain:
    """Not a slotted dataclass: ``make`` sets its attributes through ``object.__setattr__``."""

    a: int
    b: str


@needs_c
def test_make_of_a_class_without_slots() -> None:
    obj = _ct.make(_Plain, ("a", "b"), (1, "x"))
    assert (type(obj), obj.a, obj.b) == (_Plain, 1, "x")


def test_the_fast_objects_are_in_use_when_built() -> None:
    if _ct is not None:
        assert offensive._FAST_RESULT
        assert offensive._FAST_MAKE_SIGNAL


@needs_engine
@pytest.mark.parametrize("text", TEXTS)
def test_predict_and_signals_equal_the_constructed_objects(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    m = default_model()
    fast = m.predict(text)
    fast_signals = offensive.offensive_signals("body", text, fast)
    assert type(fast) is OffensiveResult
    monkeypatch.setattr(offensive, "_FAST_RESULT", False)
    monkeypatch.setattr(offensive, "_FAST_MAKE_SIGNAL", False)
    slow = m.predict(text)
    assert (repr(fast.score), fast.spans, fast.flagged, fast.segments) == (
        repr(slow.score),
        slow.spans,
        slow.flagged,
        slow.segments,
    )
    assert fast == m._predict_compiled(text)
    py = m._predict_python(text)
    assert (repr(fast.score), fast.spans, fast.flagged, fast.segments) == (
        repr(py.score),
        py.spans,
        py.flagged,
        py.segments,
    )
    slow_signals = offensive.offensive_signals("body", text, slow)
    assert fast_signals == slow_signals
    assert repr(fast_signals) == repr(slow_signals)
    assert (not fast_signals) == (not text.strip())


# Offset arrays: raw pointers, else a buffer or a copy


@needs_c
def test_raw_pointers_check_out_on_this_numpy() -> None:
    assert _ct._raw_arrays()
    assert _co._raw_arrays()


def _variants(a: np.ndarray) -> list[Any]:
    """The same offsets as other objects: strided, another dtype, byte-swapped, a list, a non-contiguous copy."""
    wide = np.zeros(2 * len(a), dtype=np.int64)
    wide[::2] = a
    return [
        a,
        np.ascontiguousarray(a),
        wide[::2],
        a.astype(np.int32),
        a.astype(">i8"),
        a.tolist(),
        np.array(a, dtype=np.int64, order="C").view(np.int64),
    ]


@needs_c
@pytest.mark.parametrize("text", TEXTS)
def test_cue_spans_of_any_offset_arrays(text: str) -> None:
    n = normalise(text)
    matcher = targets._cue_matcher()
    want = matcher.spans(n.text, n.folded, n.starts, n.ends)
    for starts, ends in zip(_variants(n.starts), _variants(n.ends), strict=True):
        assert matcher.spans(n.text, n.folded, starts, ends) == want
    assert dict(zip(targets._cue_names(), want, strict=True)) == targets._cue_spans_py(n)


@needs_engine
@pytest.mark.parametrize("text", TEXTS)
def test_engine_of_any_offset_arrays(text: str) -> None:
    n = normalise(text)
    engine = default_model()._fast
    want = engine.predict(n.text, n.folded, n.starts, n.ends)
    for starts, ends in zip(_variants(n.starts), _variants(n.ends), strict=True):
        got = engine.predict(n.text, n.folded, starts, ends)
        assert repr(got) == repr(want)


@needs_engine
def test_short_offset_arrays_are_refused() -> None:
    n = normalise("mày ngu như chó")
    engine = default_model()._fast
    matcher = targets._cue_matcher()
    for starts, ends in ((n.starts[:-1], n.ends), (n.starts, n.ends[:-1]), (n.starts[:3].copy(), n.ends[:3].copy())):
        with pytest.raises(ValueError):
            engine.predict(n.text, n.folded, starts, ends)
        with pytest.raises(ValueError):
            matcher.spans(n.text, n.folded, starts, ends)
    with pytest.raises((TypeError, ValueError)):
        engine.predict(n.text, n.folded, None, None)
    with pytest.raises((TypeError, ValueError)):
        matcher.spans(n.text, n.folded, None, None)


# Field signals: the cue lists read once


@needs_c
@pytest.mark.parametrize("text", TEXTS + CASES)
def test_field_signals_equal_the_python_path(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    n = normalise(text)
    spans = default_model().predict(n).spans
    fast = targets.field_signals("body", text, n, spans)
    assert targets._row_accusations(n, targets._target_rows_c(n)) == targets._row_accusations(
        n, targets._target_rows_c(n), targets._cue_spans(n)["wrongdoing"]
    )
    monkeypatch.setattr(targets, "_FAST_ROWS", False)
    slow = targets.field_signals("body", text, n, spans)
    assert fast == slow
    assert repr(fast) == repr(slow)


@needs_c
@settings(max_examples=200, deadline=None)
@given(_ANY_TEXTS)
def test_field_signals_equal_the_python_path_on_any_text(text: str) -> None:
    n = normalise(text)
    spans = [(0, min(4, len(text)))] if text else []
    fast = targets.field_signals("body", text, n, spans)
    targets._FAST_ROWS = False
    try:
        slow = targets.field_signals("body", text, n, spans)
    finally:
        targets._FAST_ROWS = True
    assert fast == slow


@needs_c
@pytest.mark.parametrize("text", TEXTS)
def test_language_adapter_equals_the_python_path(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    item = Item(ItemKind.POST, {"title": text[:80], "body": text + " ngu vl, đồ chó", "url": "https://x.vn/mày"})
    fast = detectors._language(item, None)
    for name in ("_c", "_FAST_HIT", "_FAST_SPAN", "_FAST_SIGNAL", "_FAST_ROWS"):
        monkeypatch.setattr(targets, name, None if name == "_c" else False)
    monkeypatch.setattr(offensive, "_FAST_RESULT", False)
    monkeypatch.setattr(offensive, "_FAST_MAKE_SIGNAL", False)
    monkeypatch.setattr(offensive, "_FAST_SPAN", False)
    targets._cue_spans.cache_clear()
    slow = detectors._language(item, None)
    targets._cue_spans.cache_clear()
    assert slow == fast
    assert repr(slow) == repr(fast)


@pytest.mark.parametrize("blank", ["", " ", "\u3000\n", "\x1c\x1d\x1e\x1f\x85"])
def test_blank_fields_have_no_signals(blank: str) -> None:
    assert not blank.strip()
    assert offensive.offensive_signals("body", blank) == []
    item = Item(ItemKind.COMMENT, {"body": blank or "x", "title": blank})
    assert [s for s in detectors._language(item, None) if s.attrs.get("field") == "title"] == []


@pytest.mark.parametrize("text", TEXTS + CASES)
def test_language_signals_are_the_two_detectors(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    n = normalise(text)
    got = offensive.language_signals("title", text, n)
    res = default_model().predict(n)
    want = offensive.offensive_signals("title", text, res) + targets.field_signals("title", text, n, res.spans)
    assert got == want
    assert repr(got) == repr(want)
    monkeypatch.setattr(offensive, "_FAST_MAKE_SIGNAL", False)
    assert repr(offensive.language_signals("title", text, n)) == repr(want)


# Target signals from the compiled records


def _records_and_rows(text: str, spans: Any, want_rows: bool) -> tuple[Any, Any, Any]:
    n = normalise(text)
    cues = targets._cue_matcher().spans(n.text, n.folded, n.starts, n.ends)
    lists = tuple(cues[k] for k in (targets._SP, targets._SP_FOLDED, targets._DEM, targets._DEM_MARKED, targets._ORG))
    rows = _ct.target_rows(*lists, n.original, *targets._ROW_WORDS)
    scores = ((targets.AIMED_STRONG, targets.AIMED_WEAK), (targets.PRESENT_STRONG, targets.PRESENT_WEAK))
    want = _ct.row_signals(
        Signal, Span, targets._SIGNAL_FIELDS, "body", text, rows, spans, targets._WINDOW, targets.DETECTOR, *scores
    )
    got = _ct.row_signals_of(
        lists,
        n.original,
        targets._ROW_WORDS,
        Signal,
        Span,
        targets._SIGNAL_FIELDS,
        "body",
        text,
        spans,
        targets._WINDOW,
        targets.DETECTOR,
        *scores,
        want_rows,
    )
    return got, want, rows


@needs_c
@pytest.mark.parametrize("text", TEXTS + CASES)
@pytest.mark.parametrize("want_rows", [False, True])
def test_row_signals_of_equal_row_signals_of_the_rows(text: str, want_rows: bool) -> None:
    spans = default_model().predict(text).spans
    for sp in (spans, (), [(0, len(text))], spans[:1]):
        (found, rows), want, ref_rows = _records_and_rows(text, sp, want_rows)
        assert found == want
        assert repr(found) == repr(want)
        assert rows == (ref_rows if want_rows else None)


@needs_c
@settings(max_examples=300, deadline=None)
@given(_ANY_TEXTS)
def test_row_signals_of_on_any_text(text: str) -> None:
    for sp in ((), [(0, min(5, len(text)))], [(len(text) // 2, len(text))]):
        (found, rows), want, ref_rows = _records_and_rows(text, sp, True)
        assert repr(found) == repr(want)
        assert rows == ref_rows


@needs_c
def test_row_signals_of_refuses_malformed_arguments() -> None:
    args: list[Any] = [
        ([], [], [], [], []),
        "x",
        targets._ROW_WORDS,
        Signal,
        Span,
        targets._SIGNAL_FIELDS,
        "body",
        "x",
        (),
        80,
        "d",
        (1.0, 0.75),
        (0.6, 0.3),
        False,
    ]
    assert _ct.row_signals_of(*args) == ([], None)
    for at, bad in ((0, ([], [], [])), (2, targets._ROW_WORDS[:5]), (11, (1.0,)), (12, (0.6, 0.3, 0.1))):
        wrong = list(args)
        wrong[at] = bad
        with pytest.raises(ValueError):
            _ct.row_signals_of(*wrong)
    wrong = list(args)
    wrong[0] = ([(0, 1)], [], [], [], [])  # a cue match of two items
    with pytest.raises(ValueError):
        _ct.row_signals_of(*wrong)


# Accusation signals


@pytest.mark.parametrize("text", [*ACCUSATIONS, "mày lừa đảo, mày ăn cắp, mày lừa đảo nữa", "UBND UBND tham ô tham ô"])
def test_accusation_signals_equal_the_constructed_objects(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    accusations = targets.find_accusations(text)
    doubled = accusations + accusations[:1]  # a repeated term and target: their spans once each
    fast = [targets.accusation_signals("body", text, acc) for acc in (accusations, doubled)]
    monkeypatch.setattr(targets, "_HAS_MAKE", False)
    slow = [targets.accusation_signals("body", text, acc) for acc in (accusations, doubled)]
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert all(type(s) is Signal and all(type(x) is Span for x in s.spans) for s in fast[0])


def test_the_accusation_cases_hold_accusations() -> None:
    assert sum(bool(targets.find_accusations(t)) for t in ACCUSATIONS) >= 10


# The engine runs one call at a time


@needs_engine
def test_engine_calls_from_threads_with_resets_between() -> None:
    from concurrent.futures import ThreadPoolExecutor

    base = default_model()
    m = offensive.OffensiveModel(
        {"doc_w": base.doc_w, "doc_b": base.doc_b, "tok_w": base.tok_w, "tok_b": base.tok_b}, dict(base.meta)
    )
    engine = m._fast
    # new words fold through a Python callback (where another thread may run); long texts choose segments
    texts = [f"thằng{k}x chó{k % 7}y ngu{k}z, mày là đồ lừa{k} đảo. " * (1 + k % 60) for k in range(160)]
    want = [m._predict_python(t) for t in texts]

    def work(k: int) -> Any:
        if k % 10 == 0:
            engine.reset()
            return engine.word_columns(f"từ{k}")
        return m.predict(texts[k])

    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(work, range(len(texts))))
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        if k % 10 == 0:
            assert len(g) == 11
        else:
            assert (repr(g.score), g.spans, g.flagged, g.segments) == (repr(w.score), w.spans, w.flagged, w.segments)
    assert engine.stats()[0] >= 2
