"""The NFC test of the normaliser (``_is_nfc``): the compiled table pass (``_normalise.nfc_quick``) says "NFC" only
where ``unicodedata.is_normalized`` does, and its table holds only characters the NFC quick check says "yes" to.
"""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from tests.unit.test_normalise_compiled import python_path

compiled = N._compiled()


def _second_in_a_composition() -> set[int]:
    """Every code point that follows the first in some canonical decomposition (what NFC may compose with the
    character before it), and the Hangul vowels and trailing consonants."""
    out = set(range(0x1161, 0x1176)) | set(range(0x11A8, 0x11C3))
    for cp in range(0x110000):
        d = unicodedata.decomposition(chr(cp))
        if d and not d.startswith("<"):
            out.update(int(x, 16) for x in d.split()[1:])
    return out


def test_the_table_holds_only_quick_check_yes_starters() -> None:
    table = N._nfc_safe()
    second = _second_in_a_composition()
    safe = [int(cp) for cp in table.nonzero()[0]]
    assert len(safe) > 6000
    for cp in safe:
        ch = chr(cp)
        assert unicodedata.combining(ch) == 0, hex(cp)
        assert unicodedata.normalize("NFC", ch) == ch, hex(cp)
        assert cp not in second, hex(cp)
        assert any(lo <= cp < hi for lo, hi in N._NFC_SAFE_RANGES)
    # what Vietnamese posts hold: letters, quotes, hearts, emoji
    for ch in "aĐđươăâêôÀỹ“”’…❤♥♀😂🤣👍🏻":
        assert table[ord(ch)], ch
    for ch in "\u0301\u0300\u2126\u212b\u2329\u1161\u0340":
        assert ord(ch) >= len(table) or not table[ord(ch)], hex(ord(ch))


nfc_like = st.sampled_from([*"aeoyđĐ .!\n“”❤♥😂🤣👍🏻", *"\u0301\u0302\u0323\u2126\u212b\u1100\u1161\u0340ạ\ud800"])


@settings(max_examples=500, deadline=None)
@given(st.lists(nfc_like, max_size=30).map("".join) | st.text(max_size=30))
def test_is_nfc_equals_unicodedata(text: str) -> None:
    want = unicodedata.is_normalized("NFC", text)
    assert N._is_nfc(text) == want
    with python_path():
        assert N._is_nfc(text) == want
    if compiled is not None and compiled.nfc_quick(text):
        assert want


@pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")
def test_nfc_quick_examples_and_bad_arguments() -> None:
    assert compiled is not None
    assert compiled.nfc_quick("")
    assert compiled.nfc_quick("xin chào “bạn” 😂❤")
    assert not compiled.nfc_quick("xin cha\u0300o")  # a combining mark: "maybe"
    assert not compiled.nfc_quick("\U000e0001")  # beyond the table
    assert not compiled.nfc_quick("a\ud800")
    with pytest.raises(TypeError):
        compiled.nfc_quick(None)
    with pytest.raises((TypeError, ValueError)):
        compiled.nfc_setup(None)
