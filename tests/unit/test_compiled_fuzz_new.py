"""Misuse and hostile-argument fuzzing of the compiled functions added for issue #4 (``_normalise.changed_window``,
``spaced_starts``, ``teencode_edits``, ``apply_edits``; ``_targets.row_signals``, ``pair_spans``,
``sentence_breaks``; ``_rules.run_rules``, ``build_categories``, ``CueFinder``, ``group_signals``, ``SlotMaker``).

The modules are compiled with ``boundscheck=False``: a malformed argument (``None`` for a ``str``, a tuple too short,
a list a callback empties, an object whose ``len`` changes) must raise, not read or write out of bounds. The
regression cases each crashed the interpreter (or read freed memory) before their fix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import types
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from moderation.detect import targets
from moderation.domain import Span

_n: Any = N._compiled()
_t: Any = targets._c
try:
    from moderation._ext import _rules as _r_mod

    _r: Any = _r_mod
except ImportError:  # pragma: no cover - the extension is not built
    _r = None

needs_normalise = pytest.mark.skipif(_n is None, reason="moderation._ext._normalise is not built")
needs_targets = pytest.mark.skipif(_t is None, reason="moderation._ext._targets is not built")
needs_rules = pytest.mark.skipif(_r is None, reason="moderation._ext._rules is not built")

_SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_TEXT = st.text(st.sampled_from("ab .!?;\n\u0111\u1ea1\u0301\U0001f600 \t4@"), max_size=40)
_ANY = st.one_of(
    st.none(),
    st.integers(-(2**70), 2**70),
    st.text(max_size=5),
    st.tuples(),
    st.tuples(st.integers(-5, 50)),
    st.lists(st.integers(-5, 50), max_size=3),
    st.dictionaries(st.text(max_size=2), st.text(max_size=2), max_size=2),
)


def _raises_or_returns(fn: Any, *args: Any) -> None:
    """``fn(*args)`` either returns or raises an ordinary exception (a crash ends the test run)."""
    with contextlib.suppress(TypeError, ValueError, IndexError, AttributeError, OverflowError, KeyError, RuntimeError):
        fn(*args)


# ---------------------------------------------------------------------------------------------------------------
# _normalise


@needs_normalise
def test_new_normalise_functions_refuse_none() -> None:
    for call in (
        lambda: _n.changed_window(None, "abc"),
        lambda: _n.changed_window("abc", None),
        lambda: _n.spaced_starts(None),
        lambda: _n.teencode_edits(None, {}),
        lambda: _n.teencode_edits("abc", None),
    ):
        with pytest.raises(TypeError):
            call()


@needs_normalise
@_SLOW
@given(_ANY, _ANY)
def test_new_normalise_functions_with_any_arguments(a: Any, b: Any) -> None:
    _raises_or_returns(_n.changed_window, a, b)
    _raises_or_returns(_n.spaced_starts, a)
    _raises_or_returns(_n.teencode_edits, a, b)


class _LenLiar(str):
    """A replacement whose length is not the same twice."""

    calls = 0

    def __len__(self) -> int:
        _LenLiar.calls += 1
        return 1 if _LenLiar.calls == 1 else 100_000


class _NotAStr:
    calls = 0

    def __len__(self) -> int:
        _NotAStr.calls += 1
        return 1 if _NotAStr.calls == 1 else 100_000


class _IterLiar:
    """Per-character ranges whose ``len`` is 1 but which yield many."""

    def __len__(self) -> int:
        return 1

    def __iter__(self) -> Any:
        return iter([(0, 1)] * 10_000)


@needs_normalise
def test_apply_edits_rejects_replacements_and_ranges_that_change() -> None:
    a = np.arange(4, dtype=np.int64)
    with pytest.raises(TypeError):
        _n.apply_edits("abcd", a, a, [(0, 1, _NotAStr(), None)])
    with pytest.raises(ValueError, match="per-character"):
        _n.apply_edits("abcd", a, a, [(0, 1, "x", _IterLiar())])
    # _apply falls back to the Python path on those errors: same result as without the extension
    buf = N._Buf("abcd", a.copy(), a.copy())
    got = N._apply(buf, [(0, 1, "xy", [(0, 1), (0, 1)])])
    assert (got.text, got.starts.tolist(), got.ends.tolist()) == ("xybcd", [0, 0, 1, 2, 3], [0, 0, 1, 2, 3])


def _apply_python(text: str, edits: list[Any]) -> Any:
    buf = N._Buf(text, np.arange(len(text), dtype=np.int64), np.arange(1, len(text) + 1, dtype=np.int64))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(N, "_compiled", lambda: None)
        return N._apply(buf, list(edits))


_EDIT = st.tuples(
    st.integers(-3, 45),
    st.integers(-3, 45),
    st.text(st.sampled_from("xyz\u0111"), max_size=4),
    st.one_of(st.none(), st.lists(st.tuples(st.integers(-3, 45), st.integers(-3, 45)), max_size=5)),
)


@needs_normalise
@_SLOW
@given(st.text(st.sampled_from("abc \u00e1\U0001f600"), max_size=40), st.lists(_EDIT, max_size=6))
def test_apply_edits_hostile_edits_equal_the_python_path(text: str, edits: list[Any]) -> None:
    edits = sorted(edits, key=lambda e: e[0])
    try:
        want = _apply_python(text, edits)
    except Exception as exc:
        buf = N._Buf(text, np.arange(len(text), dtype=np.int64), np.arange(1, len(text) + 1, dtype=np.int64))
        with pytest.raises(type(exc)):
            N._apply(buf, list(edits))
        return
    buf = N._Buf(text, np.arange(len(text), dtype=np.int64), np.arange(1, len(text) + 1, dtype=np.int64))
    got = N._apply(buf, list(edits))
    assert (got.text, got.starts.tolist(), got.ends.tolist()) == (want.text, want.starts.tolist(), want.ends.tolist())


# ---------------------------------------------------------------------------------------------------------------
# _targets


def _row_signals(rows: Any, spans: Any = ((0, 1),), original: Any = "abc. def") -> Any:
    from moderation.domain import Signal

    names = tuple(f.name for f in dataclasses.fields(Signal))
    return _t.row_signals(Signal, Span, names, "body", original, rows, spans, 3, "d", (0.9, 0.8), (0.5, 0.4))


class _Clears:
    """A start that empties the list of rows being read when it is converted."""

    def __init__(self, rows: list[Any]) -> None:
        self.rows = rows

    def __index__(self) -> int:
        self.rows.clear()
        return 0


@needs_targets
def test_row_signals_survive_rows_emptied_while_read() -> None:
    rows: list[Any] = [("name", 0, 1, True)]
    rows += [("name", _Clears(rows), 1, True)] + [("name", 0, 1, True)] * 50
    _raises_or_returns(_row_signals, rows)

    def spans() -> Any:  # the spans, read after the rows, empty them too
        rows2.clear()
        yield (0, 1)

    rows2: list[Any] = [("name", 0, 1, True)] * 20
    got = _row_signals(rows2, spans())
    assert len(got) == 1
    assert got[0].attrs["count"] == 20


@needs_targets
def test_new_targets_functions_refuse_malformed_arguments() -> None:
    with pytest.raises(TypeError):
        _t.sentence_breaks(None)
    with pytest.raises(TypeError):
        _row_signals([None])
    with pytest.raises(TypeError):
        _row_signals([("name", 0, 1)])
    with pytest.raises(TypeError):
        _row_signals([("name", 0, 1, True)], original=None)


@needs_targets
@_SLOW
@given(
    st.lists(st.tuples(st.sampled_from(["name", "you"]), st.integers(-50, 50), st.integers(-50, 50), st.booleans())),
    st.lists(st.tuples(st.integers(-50, 50), st.integers(-50, 50)), max_size=4),
    _TEXT,
)
def test_row_signals_with_offsets_anywhere_equal_the_python_path(rows: Any, spans: Any, text: str) -> None:
    # offsets anywhere (negative, reversed, past the end): no crash, every row in one signal (the comparison with
    # the Python path on real rows is in test_targets_compiled)
    got = _row_signals(rows, spans, text)
    assert sum(s.attrs["count"] for s in got) == len(rows)
    assert _t.pair_spans(Span, "body", text, [(a, b) for _, a, b, _ in rows]) == tuple(
        Span("body", a, b, text[a:b]) for _, a, b, _ in rows
    )


# ---------------------------------------------------------------------------------------------------------------
# _rules


class _Shape:
    fired = False
    reason = "r"
    score = 0.0
    trace = ()

    def __init__(self) -> None:
        self.entries: dict[Any, Any] = {}


class _Plan:
    def __init__(self) -> None:
        self.quiet = _Shape()


_FACTS = types.SimpleNamespace(keys=frozenset(), top={}, memo=None, evidence=None)


def _run(order: Any, n: int, modes: Any, entries: Any, not_fired: Any = lambda *a: 1) -> Any:
    info = (None,) * 9
    return _r.run_rules(
        order,
        set(),
        (info,) * n,
        modes,
        entries,
        [None] * n,
        0,
        [],
        _FACTS,
        "p",
        None,
        1,
        1,
        not_fired,
        tuple(_Plan() for _ in range(n)),
        None,
        None,
    )


@needs_rules
def test_run_rules_refuses_modes_that_are_not_pairs_and_lists_changed_in_a_callback() -> None:
    with pytest.raises(ValueError, match="mode"):
        _run([0], 1, [()], [None])
    with pytest.raises(TypeError):
        _run([0], 1, [["m", "n"]], [None])
    entries: list[Any] = [None] * 3

    def clears(*args: Any) -> int:
        entries.clear()
        return 1

    with pytest.raises(IndexError):
        _run([0, 1, 2], 3, [("m", "n")] * 3, entries, clears)
    order = [0, 1, 2]

    def clears_order(*args: Any) -> int:
        order.clear()
        return 1

    _raises_or_returns(_run, order, 3, [("m", "n")] * 3, [None] * 3, clears_order)
    assert _run([0, 1], 2, [("m", "n")] * 2, [None] * 2) == {}


def _maker() -> Any:
    return _r.SlotMaker(tuple, [])


@needs_rules
def test_build_categories_refuses_short_keys_and_fired_rules() -> None:
    cats = {"c": (0,) * 10}
    for fired in (
        {(): [(1, 2, 3, (), ())]},
        {("c",): [(1, 2, 3, (), ())]},
        {("c", "m"): [()]},
        {("c", "m"): [(1, 2)]},
        {("c", "m"): [None, None]},
        {("c", "m"): [(1, "r", 3, (), ()), None]},
        {("c", "m"): [(1, "r", 3, (), ()), (1, 2)]},
    ):
        with pytest.raises((ValueError, TypeError)):
            _r.build_categories(fired, cats, None, None, True, lambda x: x, _maker(), lambda o: 0)


@needs_rules
def test_cue_finder_recomputes_entries_of_another_shape_in_its_memo() -> None:
    ev = [Span("body", 0, 1, "a")]
    for bad in (5, (), (ev,), "xy", None):
        memo: dict[Any, Any] = {("p", id(ev)): bad}
        assert _r.CueFinder("p", [], 1, False, {}, memo, None)("x", ev) == []
        assert memo[("p", id(ev))] == (ev, [])


class member_descriptor:
    pass


class _FakeSlot:
    x = member_descriptor()

    def __init__(self, x: Any) -> None:
        self.y = x


class _Donor:
    __slots__ = ("a", "b", "c", "d", "e", "f", "g", "h")


class _Borrower:
    def __init__(self, x: Any) -> None:
        self.y = x


_Borrower.x = _Donor.__dict__["h"]  # type: ignore[attr-defined]


class _OwnNew:
    __slots__ = ("a", "b", "c", "d")

    def __new__(cls, *args: Any) -> Any:
        return 5


@needs_rules
def test_slot_maker_calls_the_class_unless_its_slots_are_its_own_object_slots() -> None:
    assert isinstance(_r.SlotMaker(_FakeSlot, ["x"]).make((1,)), _FakeSlot)
    assert isinstance(_r.SlotMaker(_Borrower, ["x"]).make((1,)), _Borrower)
    assert _r.SlotMaker(_OwnNew, ["d"]).make(("x",)) == 5
    assert _r.SlotMaker(complex, ["real", "imag"]).make((1.5, 2.5)) == complex(1.5, 2.5)
    with pytest.raises(TypeError):
        _r.SlotMaker(None, ["x"]).make((1,))


@needs_rules
@_SLOW
@given(st.lists(_ANY, max_size=4))
def test_group_signals_with_any_items(items: list[Any]) -> None:
    _raises_or_returns(_r.group_signals, items)
    sigs = [types.SimpleNamespace(kind=i % 2, key=i, score=x, detector="a/b") for i, x in enumerate([1, 3, 2])]
    _by_kind, keys, top, dets = _r.group_signals(sigs)
    assert top == {0: 2, 1: 3}
    assert keys == frozenset({0, 1, 2})
    assert dets == {"a": "a/b"}


@needs_targets
def test_target_signals_refuse_scores_that_are_not_pairs() -> None:
    for scores in ((), (0.5,)):
        with pytest.raises(ValueError, match="pairs"):
            _t.row_signals(tuple, Span, (), "body", "abc", [("name", 0, 1, True)], [], 3, "d", scores, scores)
    with pytest.raises(TypeError):
        _t.row_signals(tuple, Span, (), "body", "abc", [("name", 0, 1, True)], [], 3, "d", None, None)
    with pytest.raises(ValueError, match="pairs"):
        _t.target_signals(tuple, Span, (), "body", "abc", [], [], "d", (), ())


class _Res:
    matched = True
    score = 1.0
    detail = "d"
    signals = ()


def _program(steps: Any, conds: list[Any]) -> Any:
    return _r.Program(
        None, steps, ((0, 0, "d", "w"),), [None], {}, conds, 1, 0, 1, "p", "r", 10, lambda *a: a, dict, list, None
    )


@needs_rules
def test_program_refuses_malformed_steps_and_memos_emptied_by_a_condition() -> None:
    with pytest.raises(TypeError):
        _program((5,), [{}])
    with pytest.raises(ValueError, match="step"):
        _program(((0,),), [{}])
    conds: list[Any] = [{}]

    def empties(facts: Any, args: Any) -> _Res:
        conds.clear()
        return _Res()

    prog = _program(((0, None, None, None, empties, None, None),), conds)
    with pytest.raises(IndexError):
        prog.run(types.SimpleNamespace(pack_id="p", keys=set(), top={}, memo=None, evidence=None))


try:
    from moderation._ext import _scan as _s_mod

    _sc: Any = _s_mod
except ImportError:  # pragma: no cover - the extension is not built
    _sc = None

needs_scan = pytest.mark.skipif(_sc is None, reason="moderation._ext._scan is not built")


def _n_spans(rows: list[Any]) -> list[Any]:
    return list(range(len(rows)))


@needs_scan
def test_lexicon_signals_refuses_short_refs_and_refs_emptied_by_make_spans() -> None:
    fields = [("body", "abc", {(0, 1): [0]})]
    good = _sc.lexicon_signals(fields, [("k", 1.0, "t", 0.5)], _n_spans, list, "lexicon", "v")
    assert good == [("lexicon", "k", 1.0, (0,), {"term": "t", "field": "body", "weight": 0.5}, "v")]
    for short in [(), ("k",), ("k", 1.0, "t")]:  # read past the tuple before the fix
        with pytest.raises(ValueError):
            _sc.lexicon_signals(fields, [short], _n_spans, list, "lexicon", "v")
    with pytest.raises(TypeError):
        _sc.lexicon_signals(fields, [None], _n_spans, list, "lexicon", "v")
    refs: list[Any] = [("k", 1.0, "t", 0.5)] * 2000

    def emptying(rows: list[Any]) -> list[Any]:
        refs.clear()  # refs[1999] was read from the freed list before the fix
        return _n_spans(rows)

    with pytest.raises(IndexError):
        _sc.lexicon_signals([("body", "abc", {(0, 1): [1999]})], refs, emptying, list, "lexicon", "v")


@needs_targets
def test_target_rows_refuses_short_matches_and_lists_grown_during_the_call() -> None:
    empty: set[Any] = set()
    args = ("abc", empty, empty, empty, empty, empty, empty)
    assert _t.target_rows([("you", "you", 0, 3, "you")], [], [], [], [], *args) == [("second_person", 0, 3, True)]
    for lists in (
        ([("a",)], [], [], [], []),
        ([], [], [("a", "b", 0)], [], []),
        ([], [], [], [()], []),
        ([], [], [], [], [("a", "b", 0)]),
    ):  # read past the tuple before the fix
        with pytest.raises(ValueError):
            _t.target_rows(*lists, *args)
    with pytest.raises(TypeError):
        _t.target_rows([None], [], [], [], [], *args)
    demonstrative: list[Any] = []

    class Growing:
        def __contains__(self, item: object) -> bool:
            demonstrative.extend([("d", "d", 0, 1)] * 100_000)  # written past the rows before the fix
            return False

    with pytest.raises(ValueError):
        _t.target_rows([("you", "you", 0, 3, "you")], [], demonstrative, [], [], "abc", Growing(), *args[2:])


@needs_scan
def test_lexicon_signals_refuses_hits_that_are_not_pairs() -> None:
    for key in [(), (0,), (0, 1, 2)]:  # ``key[0]`` was read past an empty tuple before the fix
        with pytest.raises((TypeError, ValueError)):
            _sc.lexicon_signals([("body", "abc", {key: [0]})], [("k", 1.0, "t", 0.5)], _n_spans, list, "lexicon", "v")


@needs_normalise
def test_apply_edits_and_teencode_window_refuse_short_edits() -> None:
    text = "abcdef"
    arr = np.arange(len(text), dtype=np.int64)
    for edits in ([(0, 1)], [(0, 1, "x")], [()], [(0, 2, "xy", [(0, 1), ()])], [(0, 2, "xy", [(0, 1), (1,)])]):
        with pytest.raises(ValueError):  # read past the tuple before the fix
            _n.apply_edits(text, arr, arr.copy(), edits)
    done = _n.apply_edits(text, arr, arr.copy(), [(0, 2, "xy", [(0, 1), (1, 2)])])
    assert done[0] == "xycdef"
    for edits in ([(7, 7)], [()], [(0,)]):
        with pytest.raises(ValueError):
            _n.teencode_window(text, edits)
    assert _n.teencode_window(text, [(0, 1, "xy")]) == text


@needs_rules
def test_pack_rules_refuses_short_bits() -> None:
    for bits in [(), (0,), (0, {})]:  # bits[1] and bits[2] were read past the tuple before the fix
        plan = types.SimpleNamespace(fast=(), bits=bits)
        with pytest.raises(ValueError):
            _r.pack_rules(
                plan, [], [], [], None, 0, [], set(), None, "p", None, 2, 1, None, None, None
            )  # fmt: skip


@needs_normalise
def test_first_refuses_an_empty_hit() -> None:
    with pytest.raises(ValueError):  # hit[0] was read past an empty tuple before the fix
        _n._first(())
    with pytest.raises(TypeError):
        _n._first(None)
    assert _n._first((3, "x")) == 3


@needs_targets
def test_cue_matcher_refuses_none_texts() -> None:
    matcher = targets._cue_matcher()
    arr = np.arange(4, dtype=np.int64)
    for text, folded in [(None, "abc"), ("abc", None)]:  # read as string objects before the fix
        with pytest.raises(TypeError):
            matcher.spans(text, folded, arr, arr)
    assert len(matcher.spans("abc", "abc", arr, arr)) == len(targets._cue_names())
