from collections.abc import Callable, Iterable, Sequence

from moderation.domain import Signal, Span

def unique_spans(spans: Iterable[Span]) -> list[Span]: ...
def signal_spans(signals: Iterable[Signal]) -> list[Span]: ...
def near_any(evidence: Sequence[Span], field: str, lo: int, hi: int) -> bool: ...
def fold_non_ascii(text: str, lut_bmp: bytes, combining: Callable[[str], int]) -> tuple[str, list[int] | None]: ...
def lexicon_hits(
    pids: list[int],
    ends: list[int],
    shift: int,
    lengths: list[int],
    ids: list[tuple[str, ...]],
    n_acc: int,
    same: bool,
    split: int,
    text: str,
    folded: str,
    tb: bytes,
    fb: bytes,
    limit: int,
    to_original: Callable[[int, int], tuple[int, int]],
) -> dict[tuple[int, int], tuple[str, ...]]: ...
