"""The compiled item and history conditions (``_rules.cond_item_kind``, ``cond_post_kind``, ``cond_author``,
``cond_blog``) read ``item`` and ``history`` from the slots of ``rules.Facts`` (``set_facts_type``), the fields of an
exact Item or History from theirs, an exact dict's arguments with its own lookups and an enum member's value once:
against the Python functions, also with facts, items, histories and arguments of other classes (read by attribute
and by the mapping's own methods)."""

from __future__ import annotations

import dataclasses
import enum
import types
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from moderation.domain import History, Item, ItemKind, PostKind
from moderation.policy import rules

_c: Any = pytest.importorskip("moderation._ext._rules")

NAMES = ("item_kind", "post_kind", "author_violations", "blog_violations")


class LoudMapping(Mapping[str, Any]):
    """A mapping that is not a dict (its own ``get`` and ``__getitem__`` are the ones to call)."""

    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d
        self.calls = 0

    def __getitem__(self, key: str) -> Any:
        self.calls += 1
        return self.d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.d)

    def __len__(self) -> int:
        return len(self.d)


class SubItem(Item):  # not exactly an Item: read by attribute
    __slots__ = ()


@dataclasses.dataclass(frozen=True)
class DuckFacts:  # not rules.Facts: read by attribute
    item: Any
    history: Any
    pack_id: str = "p"


@dataclasses.dataclass(frozen=True)
class DuckHistory:
    author_violations: Any = 0
    blog_violations: Any = 0
    author_violations_by_category: Any = dataclasses.field(default_factory=dict)
    blog_violations_by_category: Any = dataclasses.field(default_factory=dict)


class Kind(enum.Enum):  # an enum whose value is not a str
    ONE = 1


def _cases() -> list[tuple[str, Any]]:
    cases: list[tuple[str, Any]] = [("item_kind", {"in": ins}) for ins in (["post"], ["comment", "blog"], ())]
    cases += [("post_kind", {"is": v}) for v in ("original", "share", 1)]
    for fn in ("author_violations", "blog_violations"):
        for need in (0, 1, 2, True, 2.5, "3"):
            for cat in (None, "", "c", "d"):
                cases.append((fn, {"min": need, **({"category": cat} if cat is not None else {})}))
        cases.append((fn, {}))
    return cases


def _histories() -> list[Any]:
    return [
        History(),
        History(2, 7, {"c": 3}, {"c": 1, "d": 0}),
        History(10**30, -1, types.MappingProxyType({"c": 5}), LoudMapping({"d": 9})),
        DuckHistory(1.5, True, {"c": 2.0}, {}),
    ]


def _items() -> list[Any]:
    return [
        Item(kind=ItemKind.COMMENT, fields={}),
        Item(kind=ItemKind.POST, fields={}, post_kind=PostKind.SHARE),
        SubItem(kind=ItemKind.BLOG, fields={}),
        Item(kind=Kind.ONE, fields={}, post_kind=Kind.ONE),  # type: ignore[arg-type]
    ]


def _check(facts: Any, args: Any, name: str) -> None:
    for _ in range(2):  # the second time from the kept results
        try:
            want: Any = rules.FUNCTIONS[name].evaluate(facts, args)
        except Exception as exc:  # the compiled one must raise the same
            with pytest.raises(type(exc)):
                _c.CONDITIONS[name](facts, args)
            return
        got = _c.CONDITIONS[name](facts, args)
        assert got == want, (name, args)
        assert type(got.matched) is type(want.matched)
        assert type(got.score) is type(want.score)


@pytest.mark.parametrize("item", _items(), ids=repr)
def test_item_and_history_conditions_equal_the_python_ones(item: Any) -> None:
    for h in _histories():
        for facts in (rules.Facts(item, h, "p", {}), DuckFacts(item, h)):
            for name, args in _cases():
                _check(facts, args, name)
                _check(facts, types.MappingProxyType(args), name)
                loud = LoudMapping(args)
                _check(facts, loud, name)


def test_a_mapping_of_another_class_is_read_by_its_own_methods() -> None:
    facts = rules.Facts(Item(kind=ItemKind.COMMENT, fields={}), History(3, 0, {"c": 4}), "p", {})
    loud = LoudMapping({"min": 2, "category": "c", "in": ["comment"]})
    assert _c.cond_author(facts, loud).matched is True
    assert _c.cond_item_kind(facts, loud).matched is True
    assert loud.calls >= 3


def test_facts_type_of_another_class() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:  # no slots: read by attribute
        item: Any
        history: Any

    facts = Plain(Item(kind=ItemKind.POST, fields={}), History(5, 6))
    try:
        _c.set_facts_type(Plain)
        for name, args in _cases():
            _check(facts, args, name)
            _check(rules.Facts(facts.item, facts.history, "p", {}), args, name)
    finally:
        _c.set_facts_type(rules.Facts)
    for name, args in _cases():
        _check(rules.Facts(facts.item, facts.history, "p", {}), args, name)


def test_missing_fields_raise_as_the_python_ones() -> None:
    @dataclasses.dataclass(frozen=True)
    class Empty:
        pack_id: str = "p"

    for name, args in _cases():
        _check(Empty(), args, name)
    with pytest.raises(KeyError):
        _c.cond_item_kind(rules.Facts(Item(kind=ItemKind.POST, fields={}), History(), "p", {}), {})
