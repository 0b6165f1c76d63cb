from collections.abc import Callable, Sequence
from typing import Any

def crc32(data: bytes, start: int = 0) -> int: ...
def reduce_group(values: Sequence[float]) -> float: ...

class Engine:
    def __init__(
        self,
        tok_w: Any,
        doc_w: Any,
        mask: int,
        v2: bool,
        tok_b: float,
        doc_b: float,
        threshold: float,
        token_threshold: float,
        mean: bool,
        lex_w: Sequence[float],
        lex_prev: float,
        lex_next: float,
        empty: float,
        word_chars: Any,
        fold: Callable[[str], str],
        forms: Sequence[str],
        choose: Callable[..., list[tuple[int, int]]],
    ) -> None: ...
    def reset(self) -> None: ...
    def stats(self) -> tuple[int, int, int]: ...
    def word_columns(self, word: str) -> list[float]: ...
    def predict(
        self, text: str, folded: str, starts: Any, ends: Any
    ) -> tuple[float, tuple[tuple[int, int], ...], bool, tuple[int, int]]: ...
