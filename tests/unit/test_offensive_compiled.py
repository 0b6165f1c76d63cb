"""The compiled offensive model (``moderation._ext._offensive``) gives the Python reference's results, bit for bit."""

from __future__ import annotations

import math
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import offensive
from moderation.detect.offensive import OffensiveResult, default_model

_c = pytest.importorskip("moderation._ext._offensive")

pytestmark = pytest.mark.skipif(default_model()._fast is None, reason="compiled path not in use here")


def _same(a: OffensiveResult, b: OffensiveResult) -> bool:
    # repr of the float: the same bits (0.0 and -0.0 differ too)
    return (repr(a.score), a.spans, a.flagged, a.segments) == (repr(b.score), b.spans, b.flagged, b.segments)


def _check(text: str) -> OffensiveResult:
    m = default_model()
    want = m._predict_python(text)
    got = m._predict_compiled(text)
    assert _same(got, want), (text, got, want)
    assert type(got.score) is float
    assert all(type(x) is int for span in got.spans for x in span)
    assert all(type(x) is int for x in got.segments)
    return got


_CLEAN = "Hôm nay tôi đi chợ mua rau và cá tươi. "
_LONG = ("Hôm nay tôi đi chợ mua rau. " * 30) + "Thằng bán hàng ngu như chó, mày là đồ lừa đảo! " + ("Trời đẹp. " * 40)

CASES = [
    pytest.param("", id="empty"),
    pytest.param("   \n\t ", id="blank"),
    pytest.param("ok", id="one-word"),
    pytest.param("Thằng này ngu như chó", id="insult"),
    pytest.param("thang nay ngu nhu cho", id="stripped"),
    pytest.param("Đ.M thằng mặt lồn", id="dotted"),
    pytest.param("đm mày ngu vl, óc chó, dit me", id="lexicon-dense"),
    pytest.param("Hôm nay trời đẹp quá, đi chơi thôi", id="clean"),
    pytest.param("x" * 150 + " ngu", id="long-word"),
    pytest.param("đ" * 129 + " " + "á" * 128, id="long-accented-words"),
    pytest.param("😀😀 ngu 😀 𝐀𝐁 𐍈", id="astral"),
    pytest.param("a\ud800b ngu \udfff", id="lone-surrogates"),
    pytest.param("ngu" + "\u0301" * 2000 + " chó", id="combining-flood"),
    pytest.param("\x00ngu\x00 chó\x00", id="nul"),
    pytest.param("_" * 300, id="underscores"),
    pytest.param("ﬁ Ǆ ß İ ٣ ² Ⅻ \u200b", id="odd-letters"),
    pytest.param("ngu. chó! lồn? đm; vl: cc\nđéo", id="sentence-ends"),
    pytest.param(_LONG, id="long-segmented"),
    pytest.param("thằng chó " * 200, id="long-no-sentence-end"),
    pytest.param("word " * 3000, id="many-segments-clean"),
    pytest.param(_CLEAN * 300 + "Thằng bán hàng ngu như chó, đồ mặt lồn! " + _CLEAN * 300, id="chosen-segments"),
    pytest.param("ngu " * 81, id="81-tokens"),
    pytest.param("ngu " * 80, id="80-tokens"),
]


@pytest.mark.parametrize("text", CASES)
def test_cases(text: str) -> None:
    _check(text)


def test_normalised_input_and_predict_dispatch() -> None:
    from moderation.text.normalise import normalise

    m = default_model()
    n = normalise("Thằng này ngu như chó")
    assert _same(m.predict(n), m._predict_python(n))
    assert _same(m.predict("Thằng này ngu như chó"), m._predict_python(n))


_PIECES = ["thằng", "ngu", "chó", "đi", "các", "mẹ", "giải", "đm", "dit me", "vl", "bạn", "“", ".", "!", "\n", "_",
           "Đ.M", "mặt lồn", "hôm nay", "trời", "đẹp", "cac", "4`", "b`", "…", "x" * 150, "9", "ấ\u0301", "😀",
           "\ud800", "\u0300\u0300\u0300", "lồn", "địt", "đụ", "vcl", "đéo", "óc chó", ";", "\x00"]  # fmt: skip

# every code point, lone surrogates (rare in st.characters) made common
_ANY = st.one_of(st.characters(exclude_categories=()), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.text(_ANY, max_size=6)), max_size=120))
def test_compiled_equals_python(parts: list[str]) -> None:
    _check(" ".join(parts))


@settings(max_examples=200, deadline=None)
@given(st.text(_ANY, max_size=400))
def test_compiled_equals_python_on_any_text(text: str) -> None:
    _check(text)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(_PIECES[:24]), min_size=80, max_size=700), st.sampled_from([" ", ". ", "\n", " ; "]))
def test_compiled_equals_python_on_long_texts(words: list[str], sep: str) -> None:
    _check(sep.join(words))


def test_tables_reset_and_fresh_engine_give_the_same_results() -> None:
    m = default_model()
    texts = ["Thằng này ngu như chó", _LONG, "đm mày ngu vl", "Hôm nay trời đẹp quá", "chó " * 100]
    want = [m._predict_python(t) for t in texts]
    fresh = m._engine()
    assert fresh is not None
    for t, w in zip(texts, want, strict=True):
        score, spans, flagged, segs = fresh.predict(*_args(t))
        assert _same(OffensiveResult(score, spans, flagged, segs), w)
    fresh.reset()
    assert fresh.stats()[0] == 2  # <s> and </s>
    for t, w in zip(reversed(texts), reversed(want), strict=True):
        score, spans, flagged, segs = fresh.predict(*_args(t))
        assert _same(OffensiveResult(score, spans, flagged, segs), w)


def _args(text: str) -> tuple[str, str, object, object]:
    from moderation.text.normalise import normalise

    n = normalise(text)
    return n.text, n.folded, n.starts, n.ends


@pytest.mark.parametrize(
    "word", ["ngu", "chó", "đm", "a", "_", "9", "x" * 150, "đ" * 129, "😀x", "a\ud800", "\u0301" * 5 + "a", "<s>"]
)
def test_word_columns_equal_the_python_table(word: str) -> None:
    m = default_model()
    wid = m._weights.word_ids([word])[0]
    want = m._weights.cols[wid].tolist()
    got = m._fast.word_columns(word)
    assert [struct.pack("<d", v) for v in got] == [struct.pack("<d", v) for v in want]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 0xFFFFFFFF))
def test_crc32_is_zlibs(data: bytes, start: int) -> None:
    assert _c.crc32(data, start) == zlib.crc32(data, start)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=300))
def test_group_sums_are_numpys_reduceat(values: list[float]) -> None:
    arr = np.asarray(values, dtype=np.float32).astype(np.float64)
    want = float(np.add.reduceat(arr, [0])[0])
    assert repr(_c.reduce_group(arr.tolist())) == repr(want)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=-500.0, max_value=500.0), max_size=200))
def test_the_python_path_exp_is_the_c_librarys(values: list[float]) -> None:
    # the compiled loops call the C library's exp; numpy's own may differ in the last bit (its AVX-512 version does)
    got = offensive._exp(np.asarray(values, dtype=np.float64))
    assert [repr(v) for v in got.tolist()] == [repr(math.exp(v)) for v in values]


def test_threads_share_the_engine_safely() -> None:
    # The engine's tables and scratch buffers are shared; predict takes the model's lock around them (new words call
    # back into Python, where another thread could run).
    from concurrent.futures import ThreadPoolExecutor

    m = default_model()
    texts = [f"thằng{k} chó{k % 7} ngu{k % 5}, mày là đồ lừa{k} đảo. " * (1 + k % 40) for k in range(200)]
    want = [m._predict_python(t) for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(m.predict, texts))
    assert all(_same(g, w) for g, w in zip(got, want, strict=True))


@pytest.mark.parametrize(
    "change",
    [{"features": 1}, {"combine": "doc"}, {"features": 1, "combine": "doc", "token_threshold": 0.05}],
    ids=["features-1", "doc-only", "v1-doc-low-threshold"],
)
def test_other_model_settings(change: dict[str, object]) -> None:
    # A retrained model may use version-1 features (no trigrams, no 4-grams) or the document score alone.
    base = default_model()
    m = offensive.OffensiveModel(
        {"doc_w": base.doc_w, "doc_b": base.doc_b, "tok_w": base.tok_w, "tok_b": base.tok_b}, {**base.meta, **change}
    )
    assert m._fast is not None
    for text in ["Thằng này ngu như chó", "thang nay ngu nhu cho", "ok", "", _LONG, "đm " * 90, _CLEAN * 30]:
        assert _same(m._predict_compiled(text), m._predict_python(text)), text


def test_without_the_extension_the_python_path_runs() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['moderation._ext._offensive'] = None\n"
        "from moderation.detect import offensive\n"
        "m = offensive.default_model()\n"
        "assert offensive._c is None and m._fast is None\n"
        "r = m.predict('Thằng này ngu như chó')\n"
        "print(repr((r.score, r.spans, r.flagged, r.segments)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    r = default_model().predict("Thằng này ngu như chó")
    assert out == repr((r.score, r.spans, r.flagged, r.segments))


@pytest.mark.parametrize("text", ["Thằng này ngu như chó", "", "ok", _LONG, "😀 đm mày 😀 ngu " * 20])
def test_signal_spans_equal_the_python_path(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    res = default_model().predict(text)
    fast = offensive.offensive_signals("body", text, res)
    monkeypatch.setattr(offensive, "_FAST_SPAN", False)
    slow = offensive.offensive_signals("body", text, res)
    assert fast == slow
    assert repr(fast) == repr(slow)
    if text:
        assert [s.text for s in fast[0].spans] == [text[a:b] for a, b in res.spans]
