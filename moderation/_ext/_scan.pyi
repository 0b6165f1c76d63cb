from collections.abc import Callable
from typing import Any

def fold_bytes(text: str, lut_bmp: bytes, combining: Callable[[str], int]) -> tuple[bytes, bool, bool]: ...
def lexicon_signals(
    fields: list[tuple[str, str, dict[tuple[int, int], Any] | None]],
    refs: list[tuple[str, float, str, float]],
    make_spans: Callable[[list[tuple[str, int, int, str]]], list[Any]],
    make_signals: Callable[[list[tuple[Any, ...]]], list[Any]],
    kind: str,
    detector: str,
) -> list[Any]: ...
def chars_from(text: str, limit: int) -> set[str]: ...
def fold_offsets(text: str, lut_bmp: bytes, combining: Callable[[str], int]) -> bytes | None: ...
def fold_single(
    text: str, points: bytes, lengths: bytes, limit: int, high_fold: Callable[[int], str]
) -> tuple[str, bytes] | None: ...
