"""``moderation.heap``: a warm process takes its long-lived objects out of the collector's generations."""

from __future__ import annotations

import gc
import weakref

from moderation.heap import freeze_long_lived


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_freeze_keeps_what_lives_and_collects_garbage_first() -> None:
    gc.unfreeze()
    try:
        kept = [_Cycle() for _ in range(10)]
        garbage = weakref.ref(_Cycle())  # a cycle nothing refers to: only the collector frees it
        assert garbage() is not None
        freeze_long_lived()
        assert garbage() is None  # collected, not frozen for good
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        ids = {id(o) for o in kept}
        assert not any(id(o) in ids for o in gc.get_objects())  # out of the generations the collector walks
        gc.collect()
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
