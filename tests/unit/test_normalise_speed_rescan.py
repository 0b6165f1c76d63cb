"""The compiled rescan (``_normalise.rescan_bits``) after a stage changed the text in several places: the bits it
gives are a superset of the exact trigger bits of the new text, and the normaliser gives what it gives with every
stage running in every round.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from tests.unit.test_normalise_fast import assert_as_every_stage, tricky

compiled = N._compiled()
pytestmark = pytest.mark.skipif(
    compiled is None or N._hs is None, reason="moderation._ext._normalise or Hyperscan is not available"
)

FILLER = "bình thường "


def _edited(old: str, edits: list[tuple[int, int, str]]) -> str:
    new = old
    for where, size, repl in edits:
        at = min(where, len(new))
        new = new[:at] + repl + new[at + size :]
    return new


def _assert_superset(old: str, new: str) -> None:
    assert compiled is not None
    exact = compiled.trigger_bits(new)
    got = compiled.rescan_bits(compiled.trigger_bits(old), old, new)
    assert got & exact == exact, (old, new, got, exact)
    if old == new:
        assert got == compiled.trigger_bits(old)


edit = st.tuples(st.integers(0, 400), st.integers(0, 8), st.lists(tricky, max_size=4).map("".join))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tricky, max_size=30).map("".join), st.lists(edit, max_size=6))
def test_rescan_bits_are_a_superset(head: str, edits: list[tuple[int, int, str]]) -> None:
    old = FILLER * 10 + head + FILLER * 10
    _assert_superset(old, _edited(old, edits))
    short = head
    _assert_superset(short, _edited(short, edits))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.lists(st.tuples(st.integers(0, 80), st.integers(0, 8), st.text(max_size=8))))
def test_rescan_bits_are_a_superset_on_any_text(old: str, edits: list[tuple[int, int, str]]) -> None:
    _assert_superset(old, _edited(old, edits))


def test_rescan_bits_examples() -> None:
    assert compiled is not None
    plain = FILLER * 20
    bits = compiled.trigger_bits(plain)
    assert compiled.rescan_bits(bits, plain, plain) == bits
    assert compiled.rescan_bits(0, "", "") == 0
    # Local edits far apart: each window scanned on its own, the stale bits kept.
    new = "ko " + plain + "nguuu " + plain + " aaa"
    got = compiled.rescan_bits(bits | N._T_LEET, plain + plain, new)
    assert got & N._T_LEET
    assert got & (N._T_TEEN | N._T_REP) == N._T_TEEN | N._T_REP
    # A change over most of the text: the whole text scanned, the bits exact (the stale bit dropped).
    other = "x" * len(plain)
    assert compiled.rescan_bits(N._T_LEET, plain, other) == compiled.trigger_bits(other)
    # Lone surrogates in a window: every bit.
    assert compiled.rescan_bits(0, plain, plain + "\ud800") == N._T_ALL
    # Changes at the very ends: the anchored patterns see the ends of the text.
    assert compiled.rescan_bits(0, "x" + plain, "ko " + plain) & N._T_TEEN
    assert compiled.rescan_bits(0, plain + "x", plain + "ko") & N._T_TEEN
    # Deletions (nothing left in the new text where the change was).
    assert compiled.rescan_bits(0, plain + "xko " + plain, plain + "ko " + plain) & N._T_TEEN
    assert compiled.rescan_bits(0, "abcdef" * 40, "abcdef" * 39) == 0


def test_rescan_bits_refuses_bad_arguments() -> None:
    assert compiled is not None
    with pytest.raises(TypeError):
        compiled.rescan_bits(0, None, "abc")
    with pytest.raises(TypeError):
        compiled.rescan_bits(0, "abc", None)
    with pytest.raises(TypeError):
        compiled.rescan_bits(None, "abc", "abd")
    with pytest.raises(OverflowError):
        compiled.rescan_bits(1 << 80, "abc", "abd")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.lists(tricky, max_size=6).map("".join), st.integers(1, 6)), max_size=8))
def test_scattered_changes_equal_every_stage(parts: list[tuple[str, int]]) -> None:
    # Tricky parts scattered through plain text, as in a long post: several small windows per rescan.
    assert_as_every_stage("".join(part + " " + FILLER * k for part, k in parts))


def test_dense_changes_scan_the_whole_text() -> None:
    """Many changed parts close together (hostile text: spaced letters joined all over a megabyte) cost more one by
    one than one scan of the whole text: past 16 parts closer than one per 128 characters, the whole text is scanned
    and the bits are exact (a stale bit dropped). Sparse changes keep the part-by-part scan and the stale bits."""
    assert compiled is not None
    spaced = "x y z w " + FILLER * 2  # 32 characters; "x y z w" joined to "xyzw" in every copy
    old = (spaced + FILLER * 5) * 200  # one change per 92 characters: the windows cover about a quarter of the text
    dense = old.replace("x y z w", "xyzw")
    assert compiled.rescan_bits(N._T_LEET, old, dense) == compiled.trigger_bits(dense)
    sparse_old = (spaced + FILLER * 20) * 10  # one change per ~270 characters
    sparse = sparse_old.replace("x y z w", "xyzw")
    got = compiled.rescan_bits(N._T_LEET, sparse_old, sparse)
    assert got & N._T_LEET  # the part-by-part scan keeps the stale bit
    assert got & compiled.trigger_bits(sparse) == compiled.trigger_bits(sparse)
