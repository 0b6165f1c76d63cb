"""The per-call shortcuts of the normaliser: ``Normalised`` built slot by slot, ``_compiled``'s set-up check."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from moderation.text import normalise as N


def test_new_normalised_equals_the_dataclass_constructor() -> None:
    starts = np.arange(3, dtype=np.int64)
    ends = starts + 1
    flags = frozenset({"teencode"})
    fast = N._new_normalised("Abc", "abc", "abc", starts=starts, ends=ends, flags=flags)
    slow = N.Normalised("Abc", "abc", "abc", starts, ends, flags)
    assert type(fast) is N.Normalised
    for f in dataclasses.fields(N.Normalised):
        assert getattr(fast, f.name) is getattr(slow, f.name)
    assert repr(fast) == repr(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.text = "x"  # type: ignore[misc]


def test_normalise_returns_a_complete_normalised() -> None:
    out = N.normalise("Xin CHÀO k bạn", cache=False)
    assert isinstance(out, N.Normalised)
    assert out.original == "Xin CHÀO k bạn"
    assert len(out.text) == len(out.folded) == len(out.starts) == len(out.ends)
    assert not out.starts.flags.writeable
    assert not out.ends.flags.writeable


def test_compiled_follows_the_module_attribute() -> None:
    c = N._compiled()
    saved = N._c
    try:
        N._c = None
        assert N._compiled() is None
    finally:
        N._c = saved
    assert N._compiled() is c
    if c is not None:
        assert c.ready()
