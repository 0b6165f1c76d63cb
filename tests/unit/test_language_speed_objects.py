"""The compiled object makers of moderation/_ext/_targets.pyx (``build``, ``spans_of``, ``pair_spans``,
``row_signals``): objects stored straight into their slots are the objects ``object.__new__`` + ``__setattr__``
make, and any class the direct stores do not fit goes the slow way with the same result."""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from moderation.detect import targets
from moderation.detect.targets import TargetHit
from moderation.domain import Signal, Span

_c: Any = targets._c
needs_c = pytest.mark.skipif(_c is None, reason="moderation._ext._targets is not built")


@dataclass(frozen=True, slots=True)
class _Pair:
    a: object
    b: object


class _Plain:  # no slots: the attributes go to __dict__ (slow path)
    pass


class _Slots:
    __slots__ = ("a", "b")


class _CustomNew:
    __slots__ = ("a", "b")

    def __new__(cls) -> _CustomNew:
        obj = super().__new__(cls)
        object.__setattr__(obj, "a", "from __new__")
        return obj


class _Base:
    __slots__ = ("a",)


class _Derived(_Base):  # "a" is a slot of the base class: slow path
    __slots__ = ("b",)


def _reference(cls: type, names: tuple[str, ...], row: tuple[object, ...]) -> object:
    obj = object.__new__(cls)
    for name, value in zip(names, row, strict=True):
        object.__setattr__(obj, name, value)
    return obj


def _state(obj: object) -> tuple[object, ...]:
    out: list[object] = [type(obj)]
    for name in ("a", "b"):
        out.append(getattr(obj, name, "<unset>"))
    out.append(getattr(obj, "__dict__", None))
    return tuple(out)


@needs_c
@pytest.mark.parametrize("cls", [_Pair, _Plain, _Slots, _CustomNew, _Derived])
def test_build_equals_new_and_setattr(cls: type) -> None:
    rows = [("x", 1), ("y", None), (3.5, ("t",))]
    got = _c.build(cls, ("a", "b"), rows)
    want = [_reference(cls, ("a", "b"), row) for row in rows]
    assert [_state(o) for o in got] == [_state(o) for o in want]
    assert [gc.is_tracked(o) for o in got] == [gc.is_tracked(o) for o in want]


@needs_c
def test_build_with_one_name_twice_keeps_the_last_value() -> None:
    value = object()
    before = sys.getrefcount(value)
    [obj] = _c.build(_Slots, ("a", "a"), [(value, "second")])
    assert obj.a == "second"
    assert not hasattr(obj, "b")
    assert sys.getrefcount(value) == before  # the first value was released, not leaked


@needs_c
def test_build_rejects_unknown_fields_and_short_rows() -> None:
    with pytest.raises(AttributeError):
        _c.build(_Slots, ("a", "c"), [(1, 2)])
    with pytest.raises(TypeError):
        _c.build(_Pair, ("a", "b"), [(1,)])
    with pytest.raises(TypeError):
        _c.build(42, ("a", "b"), [(1, 2)])
    with pytest.raises(TypeError):
        _c.build(_Pair, ("a", "b"), [[1, 2]])


@needs_c
def test_values_are_referenced_once_and_released_with_the_objects() -> None:
    value = object()
    before = sys.getrefcount(value)
    objs = _c.build(_Pair, ("a", "b"), [(value, value)] * 50)
    assert sys.getrefcount(value) == before + 100
    del objs
    assert sys.getrefcount(value) == before
    text = "abcdef"
    start, end = 10**30 - 10**30 + 1, 3  # an int object of its own
    before = sys.getrefcount(start)
    spans = _c.pair_spans(Span, "body", text, [(start, end)] * 20)
    assert sys.getrefcount(start) == before + 20
    del spans
    assert sys.getrefcount(start) == before


@needs_c
def test_a_replaced_descriptor_is_noticed() -> None:
    @dataclass(frozen=True, slots=True)
    class Local:
        a: object
        b: object

    assert _c.build(Local, ("a", "b"), [(1, 2)])[0] == Local(1, 2)
    saved = Local.__dict__["a"]

    class Setter:
        def __set__(self, obj: object, value: object) -> None:
            saved.__set__(obj, ("set", value))  # type: ignore[attr-defined]

        def __get__(self, obj: object, owner: object = None) -> object:
            return saved.__get__(obj, owner)  # type: ignore[attr-defined]

    Local.a = Setter()  # type: ignore[assignment,misc]
    [obj] = _c.build(Local, ("a", "b"), [(1, 2)])
    assert obj.a == ("set", 1)
    assert obj.b == 2


@needs_c
def test_domain_objects_match_their_constructors() -> None:
    text = "ab😀cd ef"
    pairs = [(0, 2), (2, 3), (3, 3), (1, 5), (4, 99)]
    got = _c.pair_spans(Span, "body", text, pairs)
    want = tuple(Span("body", a, b, text[a:b]) for a, b in pairs)
    assert got == want
    assert [hash(s) for s in got] == [hash(s) for s in want]
    assert [gc.is_tracked(s) for s in got] == [gc.is_tracked(s) for s in want]
    hits = [TargetHit("name", 0, 2), TargetHit("mention", 3, 6, False)]
    want_hits = tuple(Span("body", h.start, h.end, text[h.start : h.end]) for h in hits)
    assert _c.spans_of(Span, "body", text, hits) == want_hits
    rows = [("target", "name", 0.6, want, {"count": 1}, "targets/2")]
    assert _c.build(Signal, targets._SIGNAL_FIELDS, rows) == [Signal(*rows[0])]
    with pytest.raises((TypeError, ValueError)):
        _c.pair_spans(Span, "body", text, [(0, 1, 2)])
    with pytest.raises(TypeError):
        _c.pair_spans(Span, "body", text, [("0", 1)])
    with pytest.raises(AttributeError):
        _c.spans_of(Span, "body", text, [(0, 1)])
