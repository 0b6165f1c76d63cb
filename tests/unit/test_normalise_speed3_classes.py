"""The class buffer ``_normalise`` keeps for the last string a stage read (``_take_classes``/``_keep_classes``): the
stages that read classes give the same answers whatever string was read before, equal strings that are different
objects included."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N

compiled = N._compiled()
pytestmark = pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")

POOL = [
    "",
    "a",
    "c.h.o c.h.o",
    "n g u n g u",
    "ch0 ph4 d3p",
    "hoà quý to\u0301 a\u0301\u0301\u0301\u0301",
    "xin chào các bạn 😀 " * 20,
    "ǅ ṭ ṃ \u0345 @a a@ 0o",
]


def _stages(text: str) -> tuple[object, ...]:
    return (
        compiled.spaced_candidates(text),
        compiled.spaced_starts(text),
        compiled.leet_long(text),
        compiled.suspicious_tokens(text),
    )


def _fresh(text: str) -> tuple[object, ...]:
    # each stage right after a stage read another string (so nothing kept can serve it)
    out = []
    for stage in (compiled.spaced_candidates, compiled.spaced_starts, compiled.leet_long, compiled.suspicious_tokens):
        compiled.spaced_starts("flush " + text)
        out.append(stage(text))
    return tuple(out)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(POOL) | st.text(max_size=30), min_size=1, max_size=8))
def test_stages_do_not_depend_on_what_was_read_before(texts: list[str]) -> None:
    want = {t: _fresh(t) for t in texts}
    for t in texts:
        assert _stages(t) == want[t]
        assert _stages(t) == want[t]  # the same object again, its classes kept
        copy = "".join(list(t))  # an equal string, another object (when not interned)
        assert _stages(copy) == want[t]


def test_interleaved_texts_of_every_kind() -> None:
    texts = [p * k for p in POOL for k in (1, 3)] + ["\U0001f600" * 5 + "ab c", "\u0101" * 300 + " n g u "]
    want = [_fresh(t) for t in texts]
    for _ in range(3):
        for t, w in zip(texts, want, strict=True):
            assert _stages(t) == w
        for t, w in zip(reversed(texts), reversed(want), strict=True):
            assert _stages(t) == w


@pytest.mark.parametrize(("size", "kept"), [(10, True), (1 << 16, True), ((1 << 16) + 1, False), (1 << 20, False)])
def test_only_strings_up_to_the_bound_stay_in_the_cache(size: int, kept: bool) -> None:
    text = ("c.h.o " * (size // 6 + 1))[:size]
    want = compiled.spaced_candidates(text)
    assert (compiled.kept_text() is text) is kept  # a long string is not held after its stage
    assert compiled.spaced_candidates(text) == want  # refilled or reused: the same answer
