from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from moderation.domain import Signal, Span

def unique_spans(spans: Iterable[Span]) -> list[Span]: ...
def signal_spans(signals: Iterable[Signal]) -> list[Span]: ...
def evidence_json(evidences: Iterable[Sequence[Span]]) -> list[list[dict[str, Any]]]: ...
def near_any(evidence: Sequence[Span], field: str, lo: int, hi: int) -> bool: ...
def fold_non_ascii(text: str, lut_bmp: bytes, combining: Callable[[str], int]) -> tuple[str, list[int] | None]: ...

class Program:
    def __init__(
        self,
        owner: Any,
        steps: tuple[tuple[Any, ...], ...],
        descs: tuple[tuple[str, int, str, str], ...],
        no_signals: list[Any],
        memo: dict[Any, Any],
        conds: list[dict[Any, Any]],
        n_all: int,
        n_any: int,
        min_any: int,
        pack_id: str,
        rule_id: str,
        memo_max: int,
        shape_cls: Any,
        frozen_dict: Any,
        frozen_list: Any,
        no_hits: Any,
    ) -> None: ...
    def run(self, facts: Any) -> tuple[Any, list[Span]]: ...
    def shape(self, results: Sequence[Any]) -> Any: ...

def set_result_type(cls: type) -> None: ...
def set_facts_type(cls: type) -> None: ...
def set_fired_rank(fn: Callable[[Any], Any], action_rank: Mapping[Any, int]) -> None: ...
def cond_lexicon(facts: Any, args: Mapping[str, Any]) -> Any: ...
def cond_regex(facts: Any, args: Mapping[str, Any]) -> Any: ...
def cond_offensive(facts: Any, args: Mapping[str, Any]) -> Any: ...
def cond_target(facts: Any, args: Mapping[str, Any]) -> Any: ...
def cond_accusation(facts: Any, args: Mapping[str, Any]) -> Any: ...
def cond_context(facts: Any, args: Mapping[str, Any]) -> Any: ...

CONTEXT_CUES: tuple[str, ...]

def cond_author(facts: Any, args: Mapping[str, Any]) -> Any: ...
def cond_blog(facts: Any, args: Mapping[str, Any]) -> Any: ...
def cond_item_kind(facts: Any, args: Mapping[str, Any]) -> Any: ...
def cond_post_kind(facts: Any, args: Mapping[str, Any]) -> Any: ...
def group_signals(
    signals: list[Signal],
) -> tuple[dict[str, list[Signal]], frozenset[str], dict[str, float], dict[str, str]]: ...

CONDITIONS: dict[str, Callable[[Any, Mapping[str, Any]], Any]]

def in_quotation(text: str, start: int, end: int, window: int) -> bool: ...
def run_rules(
    order: list[int],
    live: set[int] | frozenset[int],
    fast: tuple[tuple[Any, ...], ...],
    modes: list[tuple[str, str]],
    entries: list[Any],
    baseline: list[Any],
    start: int,
    changed: list[int],
    facts: Any,
    pack_id: str,
    cues_of: Callable[[str, list[Span]], list[str]],
    clear_at: int,
    downgrade_at: int,
    not_fired_entry: Callable[..., Any],
    plans: tuple[Any, ...],
    remove: Any,
    review: Any,
) -> dict[tuple[str, str], list[tuple[Any, str, float, list[Span], list[str]]]]: ...

class SlotMaker:
    def __init__(self, cls: type, names: Sequence[str]) -> None: ...
    def make(self, values: tuple[Any, ...]) -> Any: ...

class CueFinder:
    def __init__(
        self,
        pack_id: str,
        ctx_sigs: Sequence[Signal],
        window: int,
        quotation: bool,
        texts: Mapping[str, str],
        memo: dict[tuple[str, int], tuple[list[Span], list[str]]] | None,
        in_quote: Callable[[str, int, int, int], bool],
    ) -> None: ...
    def __call__(self, policy: str, evidence: list[Span]) -> list[str]: ...

def build_categories(
    fired: dict[tuple[str, str], list[tuple[Any, str, float, list[Span], list[str]]]],
    cats: Mapping[str, tuple[Any, ...]],
    modes: Sequence[tuple[str, str]],
    first: Mapping[str, int],
    original: bool,
    unique: Callable[[list[Span]], list[Span]],
    maker: SlotMaker,
    rank: Callable[[Any], Any],
) -> list[Any]: ...
def pack_rules(
    plan: Any,
    modes: list[tuple[str, str]],
    baseline: list[Any],
    fires_quiet: list[int],
    quiet_at: frozenset[int],
    start: int,
    trace: list[Any],
    quiet: set[int],
    facts: Any,
    pack_id: str,
    cues_of: Callable[[str, list[Span]], list[str]],
    clear_at: int,
    downgrade_at: int,
    not_fired_entry: Any,
    remove: Any,
    review: Any,
) -> dict[tuple[str, str], list[tuple[Any, str, float, list[Span], list[str]]]]: ...
def evaluate_packs(
    rows: list[tuple[Any, ...]],
    item: Any,
    history: Any,
    by_kind: dict[str, list[Signal]],
    keys: frozenset[str],
    top: dict[str, float],
    memo: dict[Any, Any] | None,
    evidence: dict[tuple[int, ...], list[Span]] | None,
    texts: Mapping[str, str],
    trace: list[Any],
    quiet: set[int],
    cues: dict[tuple[str, int], tuple[list[Span], list[str]]] | None,
    facts_maker: SlotMaker,
    category_maker: SlotMaker,
    unique: Callable[[list[Span]], list[Span]],
    rank: Callable[[Any], Any],
    in_quote: Callable[[str, int, int, int], bool],
    original: bool,
    remove: Any,
    review: Any,
) -> list[Any]: ...
