"""The compiled normaliser stages (``moderation/_ext/_normalise.pyx``) give what the pure-Python reference gives.

Every test runs both paths explicitly: :func:`python_path` switches the compiled module off for the duration, so the
Python code of ``moderation.text.normalise`` runs as on a machine without a C compiler.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N

compiled = N._compiled()
pytestmark = pytest.mark.skipif(compiled is None, reason="moderation._ext._normalise is not built")


@contextlib.contextmanager
def python_path() -> Iterator[None]:
    saved = N._c
    N._c = None
    try:
        yield
    finally:
        N._c = saved


def _fields(n: N.Normalised) -> tuple[object, ...]:
    return (
        n.original,
        n.text,
        n.folded,
        sorted(n.flags),
        n.starts.dtype,
        n.ends.dtype,
        n.starts.tolist(),
        n.ends.tolist(),
        n.starts.flags.writeable,
        n.ends.flags.writeable,
    )


def _spans(n: N.Normalised) -> list[tuple[int, int, tuple[int, int], str]]:
    size = len(n.text)
    spans = [(a, b) for a in range(-1, size + 2) for b in (a - 1, a, a + 1, a + 4, size + 3)]
    out = []
    for a, b in spans:
        lo, hi = n.to_original(a, b)
        assert type(lo) is int
        assert type(hi) is int
        out.append((a, b, (lo, hi), n.original_text(a, b)))
    return out


def assert_same(text: str) -> None:
    fast = N._normalise(text)
    with python_path():
        slow = N._normalise(text)
        slow_spans = _spans(slow)
        slow_fold = N._fold_fast(text)
    assert _fields(fast) == _fields(slow)
    assert _spans(fast) == slow_spans
    assert N._fold_fast(text) == slow_fold


CASES = [
    "",
    " ",
    "thâṭ là",
    "tac\u0323 nghiệp",
    "hoà bình, thuỷ thủ, quý",
    "Vie\u0302\u0323t Nam",
    "ko biết, hok đc đâu, mày làm j, đi vs ck",
    "dm thằng ngu vcl clgt vậy",
    "bọn c.h.ố.n.g phá, Đ.M mày",
    "ch0ng ph4 nh4 nuoc",
    "ngu\u200bc \u202eabc ngu ＮＧＵ quá сhó điên nguuuuu",
    "Céng hoµ x· héi chñ nghÜa",
    "Coäng hoøa xaõ hoäi chuû nghóa",
    "a  \n\t b\r\n\x85c\u3000d",
    "\ud800 lone \udfff surrogates \x00\x1f\x7f",
    "😀" * 20 + " emoji ngu😀ko 😀vcl 𝐤𝐨 𝐧𝐠𝐮",
    "İstanbul İİ ǅ ΣΑΣ ß ẞ ﬁ",
    "a" + "\u0301" * 50 + "b\u0300\u0301\u0302\u0303\u0309",
    "n g u n g u n g u " * 3,
    "a." * 30 + "vn",
    "@nh 3m 2024abc c0vid19 covid19",
    "ch0ng ph4 " * 40,
    "ngu ko vcl c.h.ó hoà thâṭ " * 20,
    "k " * 200,
    "Đường phố Hà Nội " * 30 + "\u200b" * 10,
    "ΑΣ ΣΑΣ " * 60,
    "bình thường " * 40 + "İ",
    "x" * 300 + "\U0001d400" * 3,
]


@pytest.mark.parametrize("text", CASES, ids=range(len(CASES)))
def test_cases_equal_the_python_path(text: str) -> None:
    assert_same(text)


tricky = st.sampled_from(
    [
        *"abcdđeghiklmnopqrstuvxyăâêôơưAĐ .-_*~+|/\\'`^0134579@²\n\t",
        *"\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b\u200b\u00ad\ufe0f😀\U0001d400\U000e0041",
        *"\ud800\udc00İǅßｋＯсòóỳýṭṃµ·ñöø\x85\x00\u3000ﬁΣ\u1160٣𝟘",
        "ko",
        "đc",
        "vcl",
        "dm",
        "hoà",
        "thâṭ",
        "Céng",
        "oø",
        " k ",
        "nguuu",
        "ch0",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(tricky, max_size=60).map("".join), st.integers(1, 12))
def test_tricky_text_equals_the_python_path(text: str, repeat: int) -> None:
    # as it is (short-text paths) and repeated past the short-text bound (the long-text paths)
    assert_same(text)
    assert_same((text + " ") * (N._SMALL // (len(text) + 1) + repeat))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80) | st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=8))
def test_arbitrary_unicode_equals_the_python_path(text: str) -> None:
    assert_same(text)
    assert_same(text * (N._SMALL // (len(text) + 1) + 1))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-1, 3),
            st.integers(-1, 3),
            st.text("xyé😀", max_size=3),
            st.none() | st.lists(st.tuples(st.integers(-1, 3), st.integers(-1, 4)), max_size=4),
        ),
        max_size=10,
    ),
    st.booleans(),
)
def test_edits_equal_the_python_edit_loop(spec: list[tuple[int, int, str, object]], moved: bool) -> None:
    # Edits as the stages make them (sorted, per-character maps or none) and malformed ones (overlapping, empty,
    # out of range, per-character maps of the wrong length): the same buffer, or the same error, either way.
    edits, pos = [], 0
    for gap, size, repl, per_char in spec:
        edits.append((pos + gap, pos + gap + size, repl, per_char))
        pos += max(gap + size, 0)
    text = "abcdéfgh" * (pos // 8 + 1)
    starts = np.arange(len(text), dtype=np.int64) * (2 if moved else 1)
    buf = N._Buf(text, starts, starts + (2 if moved else 1), identity=not moved)
    results = []
    for path in (contextlib.nullcontext, python_path):
        with path():
            try:
                got = N._apply(buf, list(edits))
            except IndexError:
                results.append("IndexError")
            else:
                results.append((got is buf, got.text, got.starts.tolist(), got.ends.tolist()))
    assert results[0] == results[1]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40), st.integers(-3, 50), st.integers(-3, 50))
def test_to_original_equals_the_python_path(text: str, start: int, end: int) -> None:
    n = N._normalise(text)
    fast = n.to_original(start, end)
    with python_path():
        assert n.to_original(start, end) == fast
    assert all(type(x) is int for x in fast)


def test_to_original_falls_back_on_odd_arguments() -> None:
    n = N._normalise("ko biết")
    assert n.to_original(np.int64(1), np.int64(3)) == (0, 2)
    assert n.to_original(-(10**30), 10**30) == (0, len("ko biết"))
    odd = N.Normalised("ab", "ab", "ab", np.arange(2, dtype=np.int32), np.arange(1, 3, dtype=np.int32))
    assert odd.to_original(0, 2) == (0, 2)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=60))
def test_compiled_helpers_equal_their_python_twins(text: str) -> None:
    buf = N._identity(text)
    long_text = (text + " ") * (N._SMALL // (len(text) + 1) + 1)
    with python_path():
        want = (
            N._fold_fast(text),
            N._fold_fast(long_text),
            N._has_invisible(text),
            N._has_invisible(long_text),
        )
    assert (N._fold_fast(text), N._fold_fast(long_text), N._has_invisible(text), N._has_invisible(long_text)) == want
    assert N._fold_fast(text) == text.translate(N._fold_table())
    scan = N._Scan(text)
    assert compiled.spaced_candidates(text) == scan.spaced()
    repeats = compiled.collapse_repeats(text, buf.starts, buf.ends)
    ref = N._runs_to(N._identity(text), scan.repeats(), lambda s: s[0])
    if repeats is None:
        assert ref.text == text
    else:
        assert (repeats[0], repeats[1].tolist(), repeats[2].tolist()) == (
            ref.text,
            ref.starts.tolist(),
            ref.ends.tolist(),
        )


@pytest.mark.parametrize(
    "text",
    [
        "a" + "\u0301" * (1 << 20),
        "x" * (1 << 17),
        "\u200b" * (1 << 17),
        "ngu ko vcl c.h.ó hoà thâṭ " * 2500,
        "a." * (1 << 15) + "vn",
        "\ud800" * (1 << 15),
    ],
    ids=["mib-combining", "128k-token", "128k-invisible", "64k-edits", "64k-chain", "32k-surrogates"],
)
def test_large_hostile_inputs_equal_the_python_path(text: str) -> None:
    fast = N._normalise(text)
    with python_path():
        slow = N._normalise(text)
    assert _fields(fast) == _fields(slow)


teencode_like = st.lists(
    st.sampled_from(
        [
            *("ko", "k", "đc", "r", "vl", "ng", "hông", "người", "x", " ", ".", "\u0301", "😀", "_", "ǅ", "2"),
            *("occho", "occh", "occhoo", "dcmm", "thik", "𝐤", "kô", "\ud800", "\n", "İ"),
        ]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(teencode_like)
def test_teencode_words_equal_the_python_path(text: str) -> None:
    # The compiled word pass (hash of every \w run, then the table) against the Hyperscan scanner (or, for lone
    # surrogates, the hashed-words fallback): the same buffer, the same window for the trigger rescan, the same flags.
    for sample in (text, (text + " ") * (N._SMALL // (len(text) + 1) + 1)):
        fast_flags: set[str] = set()
        fast = N._teencode_fast(N._identity(sample), fast_flags, None)
        with python_path():
            slow_flags: set[str] = set()
            slow = N._teencode_fast(N._identity(sample), slow_flags, None)
        assert (fast.text, fast.starts.tolist(), fast.ends.tolist(), fast.window, fast_flags) == (
            slow.text,
            slow.starts.tolist(),
            slow.ends.tolist(),
            slow.window,
            slow_flags,
        )


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab đ0134579@ \u0301😀ǅ_ẹ-ª²"), max_size=30) | st.text(max_size=30))
def test_leet_exact_agrees_with_hyperscan(text: str) -> None:
    t = N._triggers()
    if t is None:
        pytest.skip("hyperscan is not installed")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return
    import hyperscan

    found: list[int] = []
    t.leet.scan(data, match_event_handler=lambda *a: found.append(1), scratch=hyperscan.Scratch(t.leet))
    exact = compiled.leet_exact(text)
    if exact >= 0:
        assert bool(exact) == bool(found)
    fast = N._trigger_bits(text)
    with python_path():
        assert N._trigger_bits(text) == fast


def _hyperscan_bits(text: str) -> int:
    t = N._triggers()
    assert t is not None
    with python_path():  # the whole Hyperscan path (its leet test included)
        return t.scan(text)


trigger_like = st.lists(
    st.sampled_from(
        [
            *"aoubdđkvlmcz .-_*~+|/\\'`^0134579@\n\t\x00\u3000\u00a0\u2028",
            *"\u0300\u0301\u0303\u0309\u0323\u0302\u0306\u031b\u0345òóỏõọèéẹàáạỳýỷỹỵṭṃ",
            *"😀\U0001d400\U000e0041\U00016e40\ud800ｋＯсǅ²٣𝟘ªµ_ßİ",
            "ko",
            "đc",
            "vcl",
            "dm",
            "hông",
            "aaa",
            "ééé",
            "ǅǅǅ",
            "c.h.o",
            "n g u ",
            "ch0",
            "0o",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(trigger_like | st.text(max_size=40))
def test_trigger_bits_equal_hyperscan(text: str) -> None:
    # The compiled pass (classes from the table Hyperscan fills) against the Hyperscan databases, on the text, on
    # windows joined by NUL (what ``_rescan`` scans) and through ``_trigger_bits`` on both paths.
    if N._triggers() is None:
        pytest.skip("hyperscan is not installed")
    for sample in (text, text.lower(), text + "\x00" + text[::-1], " " + text + " "):
        assert compiled.trigger_bits(sample) == _hyperscan_bits(sample), repr(sample)
    fast = N._trigger_bits(text)
    with python_path():
        assert N._trigger_bits(text) == fast


@pytest.mark.parametrize("text", CASES, ids=range(len(CASES)))
def test_trigger_bits_cases_equal_hyperscan(text: str) -> None:
    if N._triggers() is None:
        pytest.skip("hyperscan is not installed")
    assert compiled.trigger_bits(text) == _hyperscan_bits(text)
    for k in N._teencode():  # every key alone, at either end, between non-word characters and inside a word
        for sample in (k, k + " x", "x " + k, "." + k + ".", "a" + k, k + "a", k + "\n"):
            assert compiled.trigger_bits(sample) == _hyperscan_bits(sample), repr(sample)


def test_trigger_table_matches_hyperscan_classes() -> None:
    # Every filled entry of the table is what a fresh fill gives, and a code point met for the first time is filled.
    if N._triggers() is None:
        pytest.skip("hyperscan is not installed")
    table = N._trigger_table()
    cps = [0x41, 0x20, 0x301, 0x1EA1, 0x2028, 0x3000, 0x1F600, 0x16E40, 0xE0041, 0x10FFFF]
    before = [int(table.table[cp]) for cp in cps]
    compiled.trigger_bits("".join(map(chr, cps)))
    after = [int(table.table[cp]) for cp in cps]
    assert all(v != N._UNKNOWN for v in after)
    assert all(b in (N._UNKNOWN, a) for b, a in zip(before, after, strict=True))
    assert N._trigger_fill(0xD800) == 0
    assert N._trigger_fill(0x41) & N._TC_L
    assert N._trigger_fill(0x41) & N._TC_REP
    assert N._trigger_fill(0x1F600) & N._TC_EXOTIC
    assert N._trigger_fill(0x1F600) & N._TC_NW


def test_trigger_setup_rejects_malformed_arguments() -> None:
    if N._triggers() is None:
        pytest.skip("hyperscan is not installed")
    table = N._trigger_table().table
    cbits = N._TC_BITS
    tbits = (N._T_INV, N._T_CONF, N._T_REP, N._T_EXOTIC, N._T_SPACED, N._T_LEET, N._T_MARK, N._T_TEEN, N._T_WS)
    keys = list(N._teencode())
    fill = N._trigger_fill
    with pytest.raises(ValueError):
        compiled.trigger_setup(table, fill, keys, cbits[::-1], tbits)
    with pytest.raises(ValueError):
        compiled.trigger_setup(table, fill, keys, cbits, tbits[:-1])
    with pytest.raises(ValueError):
        compiled.trigger_setup(table[:100], fill, keys, cbits, tbits)
    with pytest.raises((ValueError, TypeError)):
        compiled.trigger_setup(table.astype(np.uint32), fill, keys, cbits, tbits)
    with pytest.raises(TypeError):
        compiled.trigger_setup(table, None, keys, cbits, tbits)
    with pytest.raises(ValueError):
        compiled.trigger_setup(table, fill, [*keys, ""], cbits, tbits)
    with pytest.raises(ValueError):
        compiled.trigger_setup(table, fill, [*keys, "a\ud800"], cbits, tbits)
    with pytest.raises(TypeError):
        compiled.trigger_setup(table, fill, [*keys, b"ko"], cbits, tbits)
    compiled.trigger_setup(table, fill, keys, cbits, tbits)  # already set: checked, then nothing
    assert compiled.trigger_ready()
    with pytest.raises(TypeError):
        compiled.trigger_bits(None)
    assert compiled.trigger_bits("") == 0
    assert compiled.trigger_bits("a\ud800") == N._T_ALL
