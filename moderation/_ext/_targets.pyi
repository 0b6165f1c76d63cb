from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, TypeVar

_T = TypeVar("_T")

def char_classes(text: str) -> list[int]: ...

class CueMatcher:
    def __init__(self, specs: list[tuple[bool, list[str], bool]]) -> None: ...
    def spans(self, text: str, folded: str, starts: Any, ends: Any) -> list[list[tuple[int, int, int, int, str]]]: ...

def original_spans(s: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[int, int]]]: ...
def org_tail(s: str, at: int) -> int: ...
def sentence_breaks(s: str) -> list[int]: ...
def digit_scan(s: str) -> tuple[int, bool]: ...
def aimed_flags(hits: Sequence[Any], spans: Iterable[Sequence[int]], original: str, window: int) -> list[bool]: ...
def build(cls: type[_T], names: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[_T]: ...
def make(cls: type[_T], names: tuple[str, ...], row: tuple[Any, ...]) -> _T: ...
def spans_of(cls: type[_T], field: str, original: str, hits: Iterable[Any]) -> tuple[_T, ...]: ...
def pair_spans(cls: type[_T], field: str, original: str, pairs: Iterable[tuple[int, int]]) -> tuple[_T, ...]: ...
def folded_kept(spans: list[tuple[int, int]], candidates: list[tuple[int, int]]) -> list[bool]: ...
def target_rows(
    person: list[tuple[int, int, int, int, str]],
    person_folded: list[tuple[int, int, int, int, str]],
    demonstrative: list[tuple[int, int, int, int, str]],
    demonstrative_marked: list[tuple[int, int, int, int, str]],
    organisation: list[tuple[int, int, int, int, str]],
    original: str,
    weak: AbstractSet[str],
    folded_strong: AbstractSet[str] | Sequence[str],
    acronym_stop: AbstractSet[str],
    not_names: AbstractSet[str],
    surnames: AbstractSet[str],
    leads: AbstractSet[str],
) -> list[tuple[str, int, int, bool]]: ...
def name_start(
    group: str, start: int, not_names: AbstractSet[str], surnames: AbstractSet[str], leads: AbstractSet[str]
) -> int | None: ...
def target_signals(
    signal_cls: type[_T],
    span_cls: type[Any],
    signal_fields: tuple[str, ...],
    field: str,
    original: str,
    hits: list[Any],
    is_near: list[bool],
    detector: str,
    aimed_scores: tuple[float, float],
    present_scores: tuple[float, float],
) -> list[_T]: ...
def row_signals(
    signal_cls: type[_T],
    span_cls: type[Any],
    signal_fields: tuple[str, ...],
    field: str,
    original: str,
    rows: list[tuple[str, int, int, bool]],
    spans: Sequence[tuple[int, int]],
    window: int,
    detector: str,
    aimed_scores: tuple[float, float],
    present_scores: tuple[float, float],
) -> list[_T]: ...
def row_signals_of(
    cue_lists: tuple[
        list[tuple[int, int, int, int, str]],
        list[tuple[int, int, int, int, str]],
        list[tuple[int, int, int, int, str]],
        list[tuple[int, int, int, int, str]],
        list[tuple[int, int, int, int, str]],
    ],
    original: str,
    words: tuple[
        AbstractSet[str],
        AbstractSet[str] | Sequence[str],
        AbstractSet[str],
        AbstractSet[str],
        AbstractSet[str],
        AbstractSet[str],
    ],
    signal_cls: type[_T],
    span_cls: type[Any],
    signal_fields: tuple[str, ...],
    field: str,
    text: str,
    spans: Sequence[tuple[int, int]],
    window: int,
    detector: str,
    aimed_scores: tuple[float, float],
    present_scores: tuple[float, float],
    want_rows: bool,
) -> tuple[list[_T], list[tuple[str, int, int, bool]] | None]: ...
