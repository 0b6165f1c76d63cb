"""The compiled prelude of the normaliser (``_normalise.prelude``) gives what the opening stages give one by one, and
declines exactly the text they would change otherwise; ``_normalise.new_normalised`` equals the dataclass."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from moderation.text import legacy
from tests.unit.test_normalise_compiled import compiled, python_path

pytestmark = pytest.mark.skipif(
    compiled is None or N._hs is None, reason="moderation._ext._normalise or Hyperscan is missing"
)


def _steps(text: str) -> tuple[str, int, str, list[int], list[int]] | None:
    """What the prelude stands for, stage by stage (``None`` where a stage before lowering changes ``text`` other
    than by deleting invisible characters, or lowering needs ``str.lower``)."""
    if legacy.repair(text) != (None, None):
        return None
    buf = N._identity(text)
    if N._has_invisible(text):
        buf = N._delete_invisible(buf)
        if any(ch not in text for ch in buf.text):  # a control character or a surrogate replaced
            return None
    size = len(buf.text)
    buf = N._lower(buf)
    if len(buf.text) != size:
        return None
    bits = N._trigger_bits(buf.text)
    return buf.text, bits, N._fold_fast(buf.text), buf.starts.tolist(), buf.ends.tolist()


def _declines(text: str) -> bool:
    """Whether the prelude is allowed to decline ``text``: a stage before lowering would change it other than by
    deleting invisible characters, or look at it closely, or its lowercase is not the one-for-one table (İ), or
    holds a capital sigma (``str.lower``'s final sigma)."""
    if N._has_invisible(text) and N._SURROGATES_CONTROLS.search(text):
        return True
    if not text.isascii() and not legacy._VIETNAMESE_BEYOND_LATIN1.search(text):
        return True
    return any(ch == "\u03a3" or len(ch.lower()) != 1 for ch in text)


def check(text: str) -> None:
    assert compiled is not None
    got = compiled.prelude(text, N._T_QUIET)
    want = _steps(text)
    if got is None:
        assert _declines(text)
        return
    assert want is not None
    low, bits, folded, starts, ends = got
    assert (low, bits) == want[:2]
    assert type(low) is str
    assert folded == (None if bits & N._T_QUIET else want[2])
    if starts is None:
        assert ends is None
        assert want[3] == list(range(len(text)))
        assert want[4] == list(range(1, len(text) + 1))
    else:
        assert starts.dtype == np.int64
        assert ends.dtype == np.int64
        assert (starts.tolist(), ends.tolist()) == (want[3], want[4])
    # the whole result, against the Python path
    fast = N._normalise(text)
    with python_path():
        slow = N._normalise(text)
    assert (fast.original, fast.text, fast.folded, fast.flags) == (slow.original, slow.text, slow.folded, slow.flags)
    assert fast.starts.tolist() == slow.starts.tolist()
    assert fast.ends.tolist() == slow.ends.tolist()
    assert not fast.starts.flags.writeable
    assert not fast.ends.flags.writeable


CASES = [
    "",
    "a",
    "Bình thường thôi",
    "ABC xyz",
    "ĐM THẰNG NGU",
    "ko biết đc",
    "Ai giết dk con linh cá lóc tui ủng hộ 10000usd",
    "thằng ngu\u200b",  # invisible: deleted
    "Yêu cô ❤️ đi",  # a variation selector: deleted
    "\u200bđi\u200d" * 100,
    "a\x00b",  # control: declined
    "café crème",  # Latin-1 only: the legacy evidence is counted, declined
    "Céng hoµ x· héi",  # TCVN3
    "İstanbul đi",  # lowers to two characters: declined
    "ΣΑΣ đi",  # capital sigma in short text: declined
    ("ΣΑΣ đi " * 40),  # in long text the table lowers it
    ("ΣΑΣ đi 😀 " * 40),  # ... unless a character beyond the BMP sends it to the simple lowercase
    "Kelvin \u212a đi",  # a BMP character lowering to ASCII
    "𝐍𝐆𝐔 đi 😀",
    "\U00010400 Deseret đi",  # lowercase beyond the BMP
    "ÀÉ đi ÿ Ÿ",
    "quá trời " * 40,
    "x" * 300,
    "X" * 300,
]


@pytest.mark.parametrize("text", CASES, ids=range(len(CASES)))
def test_prelude_cases(text: str) -> None:
    check(text)


alphabet = st.sampled_from(
    [
        *"abcdđeghiklmnopqrstuvxyăâêôơưAĐÀÉ .-_*~+|/\\'`^0134579@\n\t",
        *"\u0300\u0301\u0303\u0309\u0323\u200b\u00ad😀\U0001d400\U00010400",
        *"İǅßＯсòóỳýṭµ·ñöø\x85\u3000ΣσΑ\u212aẞÿŸ",
        "ko",
        "đc",
        "vcl",
        "nguuu",
        "ch0",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(alphabet, max_size=60).map("".join), st.integers(1, 8))
def test_prelude_equals_the_stages(text: str, repeat: int) -> None:
    check(text)
    check((text + " ") * (N._SMALL // (len(text) + 1) + repeat))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_prelude_arbitrary_unicode(text: str) -> None:
    check(text)


def test_prelude_rejects_a_missing_text() -> None:
    assert compiled is not None
    with pytest.raises(TypeError):
        compiled.prelude(None, 0)


def test_new_normalised_equals_the_python_builder() -> None:
    assert compiled is not None
    starts = np.arange(3, dtype=np.int64)
    ends = starts + 1
    flags = frozenset({"teencode"})
    fast = compiled.new_normalised("Abc", "abc", "abc", starts, ends, flags)
    slow = N._new_normalised("Abc", "abc", "abc", starts=starts, ends=ends, flags=flags)
    assert type(fast) is N.Normalised
    for name in ("original", "text", "folded", "starts", "ends", "flags"):
        assert getattr(fast, name) is getattr(slow, name)
    assert fast.to_original(0, 2) == (0, 2)
    with pytest.raises(AttributeError):
        fast.text = "x"  # type: ignore[misc]


latin = st.sampled_from(
    [
        *"aeiouyAEIOUY ôöÔÖñÑøùûõïäåëüÅ\u212bÀÁÂÃÈÉÊÌÍÒÓÔÕÙÚÝàáâãèéêìíòóôõùúýµ·«»©®¡\u00ad",
        *"\u0300\u0301\u0302\u0308\u030a\u200b\u200d\u2060\ufe0f😀❤“”…–\U0001f9ff\U0001fb00\U00010400ΣİẞßĐđ",
        "oø",
        "Coäng",
        "Céng",
        "Yêu cô",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(latin, max_size=30).map("".join))
def test_legacy_quiet_means_no_repair(text: str) -> None:
    assert compiled is not None
    if compiled.legacy_quiet(text):
        assert legacy.repair(text) == (None, None)
    check(text)


def test_legacy_quiet_cases() -> None:
    assert compiled is not None
    for text in ("Yêu cô", "cái tay cái tay", "🤣🤣🤣🤣", "Cô duyên ghê. Yêu cô ❤️"[:-1], "“quá” … – vui", ""):
        assert compiled.legacy_quiet(text), text
        assert legacy.repair(text) == (None, None)
    # evidence, characters NFC may change, format characters outside the NFC table, and beyond the tables
    for text in ("Coäng hoøa", "Céng hoµ", "oø", "ñ", "a\u0308", "\u212b", "a\u200bb", "Yêu cô ❤️", "\U00010400"):
        assert not compiled.legacy_quiet(text), text
    # the prelude now takes Latin-1 Vietnamese without a letter beyond it
    got = compiled.prelude("Yêu Cô", N._T_QUIET)
    assert got is not None
    assert (got[0], got[2]) == ("yêu cô", "yeu co")


def test_quiet_table_covers_the_evidence() -> None:
    table = legacy.quiet_table(0x1FB00)
    strong = legacy._tcvn3_evidence_table()
    assert table.dtype == np.uint8
    assert (table[:0x10000] >= strong).all()
    for ch in "øùûõïäåëüñØÙÛÕÏÄÅËÜÑ\u212b":
        assert table[ord(ch)], ch
    for ch in "aêôáàóúíýÀÊ😀❤“”…":
        assert not table[ord(ch)], ch
    assert table[0x10000:0x1F000].all()  # not looked at
