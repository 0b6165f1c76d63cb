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
def lexicon_few(
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
    starts: Any,
    ends_map: Any,
) -> dict[tuple[int, int], tuple[str, ...]]: ...
def chars_from(text: str, limit: int) -> set[str]: ...
def address_prefilter(text: str, table: bytes, markers: bytes, limit: int) -> tuple[bool, set[str] | None]: ...
def fold_offsets(text: str, lut_bmp: bytes, combining: Callable[[str], int]) -> bytes | None: ...
def fold_single(
    text: str, points: bytes, lengths: bytes, limit: int, high_fold: Callable[[int], str]
) -> tuple[str, bytes] | None: ...
def lexicon_scan_few(
    flat: list[int],
    lengths: list[int],
    ids: list[tuple[str, ...]],
    n_acc: int,
    same: bool,
    split: int,
    text: str,
    folded: str,
    data: bytes,
    limit: int,
    starts: Any,
    ends_map: Any,
) -> dict[tuple[int, int], tuple[str, ...]]: ...
def scan_input(text: str | None, folded: str | None) -> tuple[bytes, int]: ...

class FlatHits:
    @property
    def hits(self) -> list[int]: ...
    def __call__(self, pid: int, start: int, end: int, flags: int, context: Any) -> None: ...

def fold_prefilter(
    text: str, lut_bmp: bytes, combining: Callable[[str], int], db: Any, scratch: Any, candidates: list[int]
) -> tuple[bytes, bool, set[int]]: ...
