"""The normaliser's shortcuts change nothing: the trigger rescans of a changed window (``_rescan``), the bits dropped
after the stages that leave no match of their own behind, and the shared offset maps of unchanged text.

The reference is the normaliser with every trigger bit always set (every stage runs in every round): the triggers
only skip stages that would change nothing, so any shortcut that drops a bit a stage needs shows as a difference.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from tests.unit.test_normalise_compiled import python_path

compiled = N._compiled()


@contextlib.contextmanager
def every_stage() -> Iterator[None]:
    saved = N._trigger_bits
    N._trigger_bits = lambda text: N._T_ALL  # type: ignore[assignment]
    try:
        yield
    finally:
        N._trigger_bits = saved  # type: ignore[assignment]


def _fields(n: N.Normalised) -> tuple[object, ...]:
    return (n.text, n.folded, sorted(n.flags), n.starts.tolist(), n.ends.tolist())


def assert_as_every_stage(text: str) -> None:
    got = _fields(N._normalise(text))
    with every_stage():
        want = _fields(N._normalise(text))
    assert got == want


CASES = [
    "",
    "nguuuu ko biết, hok đc đâu  nhé\t\tbạn",
    "bọn c.h.ố.n.g phá, Đ.M mày nguuuu ko",
    "ch0ng ph4 nh4 nuoc kooo",
    "Vie\u0302\u0323t Nam ko vcl  " * 30,
    "ko" + " " * 300 + "vcl",
    "a" * 300 + " ko " + "b" * 300 + "\u0301",
    "n g u n g u " * 30 + "aaa",
    "x" * 400 + "k.o" + "y" * 400,
    "😀 ngu😀ko " * 40 + "hoà thâṭ  ",
    "thằng chóooo " + "bình thường " * 40 + "kkk  o",
]


@pytest.mark.parametrize("text", CASES, ids=range(len(CASES)))
def test_cases_equal_every_stage(text: str) -> None:
    assert_as_every_stage(text)
    with python_path():
        assert_as_every_stage(text)


tricky = st.sampled_from(
    [
        *"abcdđeghiklmnopqrstuvxyăâêôơưAĐ .-_*~+|/\\'`^0134579@\n\t",
        *"\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b\u200b😀\ud800",
        "ko",
        "k o",
        "đc",
        "vcl",
        "dm",
        "hoà",
        "thâṭ",
        "oø",
        " k ",
        "nguuu",
        "aaa",
        "  ",
        "ch0",
        "c.h.ó",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tricky, max_size=40).map("".join), st.lists(tricky, max_size=40).map("".join))
def test_local_changes_in_long_text_equal_every_stage(head: str, tail: str) -> None:
    # Long text with the tricky parts at either end of plain words: the changed windows are small, so the bits
    # come from window scans and dropped bits, not from whole-text scans.
    filler = "bình thường " * 30
    assert_as_every_stage(head + filler + tail)
    assert_as_every_stage(filler + head + " " + tail + filler)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tricky, max_size=60).map("".join))
def test_short_text_equals_every_stage(text: str) -> None:
    assert_as_every_stage(text)


def _window_py(old: str, new: str) -> str | None:
    with python_path():
        return N._changed_window(old, new)


edit = st.tuples(st.integers(0, 40), st.integers(0, 6), st.text(max_size=6))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60), st.lists(edit, max_size=3))
def test_changed_window_equals_the_python_path(old: str, edits: list[tuple[int, int, str]]) -> None:
    new = old
    for where, size, repl in edits:
        at = min(where, len(new))
        new = new[:at] + repl + new[at + size :]
    want = _window_py(old, new)
    if compiled is not None:
        assert compiled.changed_window(old, new) == want
    if old == new:
        assert want is None
        return
    assert want is not None
    # Outside the window ``new`` is ``old``'s prefix and suffix.
    lo = new.find(want) if want else 0
    assert old.startswith(new[:lo])
    rest = new[lo + len(want) :]
    assert old.endswith(rest)
    assert len(new[:lo]) + len(rest) <= len(old)


def test_changed_window_examples() -> None:
    ctx = N._TRIGGER_CONTEXT
    for fn in (_window_py, *([compiled.changed_window] if compiled is not None else [])):
        assert fn("abc", "abc") is None
        assert fn("", "") is None
        assert fn("", "x") == "x"
        assert fn("x", "") == ""
        text = "a" * 50 + "b" + "c" * 50
        assert fn(text, text.replace("b", "")) == "a" * ctx + "c" * ctx
        assert fn(text, text.replace("b", "xyz")) == "a" * ctx + "xyz" + "c" * ctx
        assert fn("aaaa", "aaa") == "aaa"  # the suffix is bounded by what the prefix leaves
        assert fn("\U0001d400ab", "\U0001d400b") == "\U0001d400b"


def test_identity_maps_are_read_only_views() -> None:
    buf = N._identity("xin chào")
    assert buf.starts.tolist() == list(range(8))
    assert buf.ends.tolist() == list(range(1, 9))
    assert not buf.starts.flags.writeable
    assert not buf.ends.flags.writeable
    n = N.normalise("xin chào", cache=False)
    assert n.to_original(0, 3) == (0, 3)
    big = N._identity("a" * (N._IDENTITY_MAX + 2))
    assert big.starts[-1] == N._IDENTITY_MAX + 1
    assert big.ends[-1] == N._IDENTITY_MAX + 2


spaced_like = st.sampled_from([*"ab đ0134x.-_*~+|/\\'`^ \u0301\u0323😀", "c.h.ó", "n g u ", " k ", "a..b", "1.3"])


@pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")
@settings(max_examples=400, deadline=None)
@given(st.lists(spaced_like, max_size=40).map("".join) | st.text(max_size=40))
def test_spaced_starts_find_what_every_candidate_finds(text: str) -> None:
    def found(candidates: list[int] | None) -> list[tuple[int, int]]:
        return [(m.start(), m.end()) for m in N._spaced_matches(text, candidates)]

    assert compiled is not None
    narrow = compiled.spaced_starts(text)
    wide = compiled.spaced_candidates(text)
    assert set(narrow) <= set(wide)
    assert found(narrow) == found(wide), repr(text)


@pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")
@settings(max_examples=300, deadline=None)
@given(st.lists(tricky, max_size=40).map("".join) | st.text(max_size=40))
def test_teencode_edits_equal_the_run_loop(text: str) -> None:
    assert compiled is not None
    table = N._teencode()
    runs, surrogate = compiled.teencode_runs(text)
    want = [(a, b, table[text[a:b]], None) for a, b in runs if table.get(text[a:b]) not in (None, text[a:b])]
    assert compiled.teencode_edits(text, table) == (want, surrogate)
