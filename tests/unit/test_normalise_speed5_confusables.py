"""``_normalise.translate_1to1``, the look-alikes' stage in one compiled pass, against ``str.translate`` with the
table it replaces (``_confusables()``), and the whole normaliser on text that holds look-alikes on both paths."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N

compiled = N._compiled()
pytestmark = pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")

_KEYS = sorted(N._confusables())
# look-alikes of the BMP and beyond it (mathematical letters), what they become, and what the table leaves
_PIECES = [chr(cp) for cp in _KEYS[:40] + _KEYS[-40:]] + [*"aeoіоаерсху đĐ😀\U0001d7d8\ud800 \u3000Ｈ", "ê", "e\u0301"]
lookalike = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)


def _translate(text: str) -> str:
    return compiled.translate_1to1(text, *N._confusables_arrays())  # type: ignore[no-any-return]


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lookalike | st.text(max_size=40))
def test_translate_1to1_is_str_translate(text: str) -> None:
    got = _translate(text)
    assert got == text.translate(N._confusables())
    if got == text:
        assert got is text  # nothing to change: the text itself, no copy


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("", ""),
        ("plain ascii", "plain ascii"),
        ("tiếng việt", "tiếng việt"),  # Vietnamese letters are not look-alikes
        ("\u0430\u0435\u043e", "aeo"),  # Cyrillic а е о
        ("ｃｈｏ　ｍａｙ", "cho may"),  # fullwidth letters and the ideographic space
        ("x\U0001d41a\U0001d7d8y", "xa0y"),  # mathematical bold a, double-struck 0: beyond the BMP
        ("\ud800\u0430", "\ud800a"),  # a lone surrogate is kept as it is
        ("😀\u0441", "😀c"),
    ],
)
def test_translate_1to1_cases(text: str, want: str) -> None:
    assert _translate(text) == want == text.translate(N._confusables())


def _python(text: str) -> N.Normalised:
    saved = N._c
    N._c = None
    try:
        return N._normalise(text)
    finally:
        N._c = saved


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([*_PIECES, " ", "ch", "ó", ".", "k0", "ng"]), max_size=30).map("".join))
def test_normalise_with_lookalikes_equals_the_python_path(text: str) -> None:
    fast, slow = N._normalise(text), _python(text)
    assert fast.text == slow.text
    assert fast.folded == slow.folded
    assert list(fast.starts) == list(slow.starts)
    assert list(fast.ends) == list(slow.ends)
    assert fast.flags == slow.flags
