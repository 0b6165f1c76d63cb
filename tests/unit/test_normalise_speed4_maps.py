"""The compiled stages that move the offset map (``delete_invisible``, ``collapse_repeats``, ``drop_mark_floods``,
``collapse_spaces``) read the maps through buffers acquired only when they change something: the results equal the
Python stages, and malformed maps are refused (None and a wrong length always, a wrong dtype or layout when the
stage has something to write)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from tests.unit.test_normalise_compiled import compiled, python_path

pytestmark = pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")


def _python(stage: str, buf: N._Buf) -> N._Buf:
    with python_path():
        if stage == "delete_invisible":
            return N._delete_invisible(buf)
        scan = N._Scan(buf.text)
        if stage == "collapse_repeats":
            return N._runs_to(buf, scan.repeats(), lambda s: s[0])
        if stage == "drop_mark_floods":
            return N._drop_mark_floods(buf, scan)
        return N._collapse_spaces(buf, scan)


STAGES = ["delete_invisible", "collapse_repeats", "drop_mark_floods", "collapse_spaces"]


def _moved(n: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(n, dtype=np.int64) * 3 + 1
    return starts, starts + 2


def check(stage: str, text: str, moved: bool) -> None:
    assert compiled is not None
    starts, ends = _moved(len(text)) if moved else (np.arange(len(text), dtype=np.int64),) * 2
    if not moved:
        ends = starts + 1
    fn: Callable[..., object] = getattr(compiled, stage)
    got = fn(text, starts, ends)
    want = _python(stage, N._Buf(text, starts, ends))
    if got is None:
        assert want.text == text
        assert want.starts.tolist() == starts.tolist()
        assert want.ends.tolist() == ends.tolist()
        return
    assert isinstance(got, tuple)
    new, s, e = got
    assert new == want.text
    assert s.dtype == np.int64
    assert e.dtype == np.int64
    assert s.tolist() == want.starts.tolist()
    assert e.tolist() == want.ends.tolist()


pieces = st.sampled_from(
    [
        *"abcđe aaa ooo  \n\t\r\u3000\x85",
        *"\u0300\u0301\u0302\u0303\u0309\u0323\u200b\u00ad\ufe0f\x00\x1f\ud800😀\U000e0041",
        "nguuuu",
        "a\u0301\u0301\u0301\u0301\u0301",
        "\U0001d400\U0001d400\U0001d400",
    ]
)


@pytest.mark.parametrize("stage", STAGES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.lists(pieces, max_size=40).map("".join), moved=st.booleans())
def test_stage_equals_the_python_stage(stage: str, text: str, moved: bool) -> None:
    check(stage, text, moved)
    check(stage, text * 12, moved)


CHANGES = {
    "delete_invisible": "a\u200bb",
    "collapse_repeats": "aaaa",
    "drop_mark_floods": "a\u0301\u0301\u0301\u0301",
    "collapse_spaces": "a  b",
}
QUIET = {"delete_invisible": "abcd", "collapse_repeats": "abcd", "drop_mark_floods": "abcd", "collapse_spaces": "ab"}


@pytest.mark.parametrize("stage", STAGES)
def test_malformed_maps_are_refused(stage: str) -> None:
    assert compiled is not None
    fn: Callable[..., object] = getattr(compiled, stage)
    for text in (CHANGES[stage], QUIET[stage]):
        n = len(text)
        good = np.arange(n, dtype=np.int64)
        with pytest.raises(TypeError):
            fn(text, None, good)
        with pytest.raises(TypeError):
            fn(text, good, None)
        with pytest.raises(TypeError):
            fn(None, good, good)
        with pytest.raises(ValueError):
            fn(text, np.arange(n + 1, dtype=np.int64), good)
        with pytest.raises(ValueError):
            fn(text, good, good[:-1])
    # a wrong dtype or layout is found when the stage writes a map
    text = CHANGES[stage]
    n = len(text)
    good = np.arange(n, dtype=np.int64)
    with pytest.raises((ValueError, TypeError)):
        fn(text, good.astype(np.int32), good)
    with pytest.raises((ValueError, TypeError)):
        fn(text, good, np.arange(2 * n, dtype=np.int64)[::2])
    with pytest.raises((ValueError, TypeError)):
        fn(text, np.zeros((n, 1), dtype=np.int64), good)
    # read-only maps are read (the stages never write them)
    ro = good.copy()
    ro.setflags(write=False)
    got = fn(text, ro, ro + 1)
    assert isinstance(got, tuple)


def test_collapse_spaces_one_for_one_returns_the_maps_given() -> None:
    assert compiled is not None
    starts = np.arange(3, dtype=np.int64)
    ends = starts + 1
    new, s, e = compiled.collapse_spaces("a\nb", starts, ends)
    assert new == "a b"
    assert s is starts
    assert e is ends
