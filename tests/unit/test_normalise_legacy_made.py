"""Legacy-encoding evidence that the stages make: normalisation stays idempotent.

VNI writes "ã" as "aõ" (the tilde letter after the vowel); the legacy stage looks for that evidence in the text as
sent. The stages after it can make some: leet reads "0\u0303" as "õ" ("a0\u0303" becomes "aõ"), a mark repair
can move a tilde, and a conversion can itself leave evidence ("aoõ" is VNI for "aõ"). A second normalisation used
to convert such output (80 of 200,000 random strings of letters, digits and tildes); the stages' output is now
converted at once and the stages run again, as that second pass would.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from tests.unit.test_syllables import assert_idempotent_on_both_paths

CASES = [
    # (text, normalised, what it shows)
    ("ko0\u0303l*a0\u0303l", "kõl*ãl", "leet makes two VNI tildes"),
    ("aõ4õ", "ãã", "one VNI tilde as sent, one made by leet"),
    (" 0õ0tõ4õ ", " õotõã ", "digits before tilde letters"),
    ("k0õiõhi", "kõĩhi", "VNI on leet letters"),
    ("aoõaoõ", "ãã", "a conversion makes evidence: VNI 'aoõ' is 'aõ', itself VNI for 'ã' (found by hypothesis)"),
    ("a0\u0303l", "aõl", "one piece of evidence is not enough: left as it is"),
    ("xin ch4\u0300o", "xin chào", "a leet letter with a tone, no VNI evidence"),
]


@pytest.mark.parametrize(("text", "expected", "why"), CASES)
def test_vni_evidence_made_by_the_stages_is_converted_at_once(text: str, expected: str, why: str) -> None:
    n = assert_idempotent_on_both_paths(text)
    assert n.text == expected, why
    for k in range(len(n.text)):  # every character still maps into the text as sent
        assert 0 <= n.starts[k] <= n.ends[k] <= len(text)


_PIECES = st.sampled_from([*"aeiouykltnhg0134 .*õùøïñ", "\u0303", "\u0301", "\u0300", "ơ", "đ", "á"])


@settings(max_examples=1500, deadline=None)
@given(st.lists(_PIECES, min_size=1, max_size=16).map("".join))
def test_leet_digits_marks_and_tilde_letters_normalise_idempotently(text: str) -> None:
    n = assert_idempotent_on_both_paths(text)
    assert all(0 <= a <= b <= len(text) for a, b in zip(n.starts.tolist(), n.ends.tolist(), strict=True))


def test_the_conversion_rounds_are_bounded() -> None:
    assert N._MAX_LEGACY_ROUNDS >= 1
