"""Letters written one by one are joined back with a space at each syllable break (``moderation.text.syllables``
and the spaced-letter stage of the normaliser), on both paths of the normaliser; offsets still land in the
original; the obfuscations of the evaluation command carry their offsets."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from moderation.detect.offensive_train import Example, obfuscate
from moderation.text import syllables
from tests.unit.test_normalise_compiled import python_path

BREAKS = [
    # (letters, breaks): None when the letters are not Vietnamese syllables at all
    ("chó", []),
    ("chóđẻ", [3]),  # đ only begins a syllable
    ("nghiêng", []),
    ("chốngphánhànước", [5, 11]),  # "phá nhà" / "phán hà": both read with one tone each, so no break between
    ("ditmemay", [3, 5]),
    ("conchonay", [3, 6]),  # "con cho nay" beats "con chon ay" (a syllable after the first begins with a vowel)
    ("ngungu", []),  # "ngu ngu" or "ngun gu": no break is certain
    ("anhem", []),  # "a nhem", "an hem": none either
    ("khuyênngăn", [6]),
    ("quayphim", [4]),
    ("giaothong", [4]),
    ("ch0ng", []),  # a leet digit counts as its letter
    ("vcl", None),  # abbreviations are not syllables
    ("đmm", None),
    ("ekbj", None),
    ("", None),
    ("ch😀", None),
    ("óó", [1]),  # two tone marks: two syllables
]


@pytest.mark.parametrize(("letters", "want"), BREAKS, ids=[b[0] or "empty" for b in BREAKS])
def test_breaks(letters: str, want: list[int] | None) -> None:
    assert syllables.breaks(list(letters)) == want


@pytest.mark.parametrize(
    ("units", "want"),
    [
        (["c", "h", "o\u0301", "đ", "e\u0309"], [3]),  # decomposed marks travel with their letter
        (["n", "g", "u"], []),
    ],
)
def test_breaks_read_marks_after_a_letter(units: list[str], want: list[int]) -> None:
    assert syllables.breaks(units) == want


@pytest.mark.parametrize(
    ("letters", "want"), [("ngu", True), ("chó", True), ("ekb", False), ("aea", False), ("vcl", False)]
)
def test_is_syllables(letters: str, want: bool) -> None:
    assert syllables.is_syllables(list(letters)) is want


def _normalised(original: str, path: str) -> N.Normalised:
    """``normalise(original)`` on the compiled path or, with ``path="python"``, the Python one."""
    if path == "python":
        with python_path():
            return N.normalise(original, cache=False)
    return N.normalise(original, cache=False)


JOINS = [
    # (original, normalised text)
    ("mày là c h ó đ ẻ", "mày là chó đẻ"),
    ("c.h.ó.đ.ẻ", "chó đẻ"),
    ("c-h-ố-n-g-p-h-á", "chống phá"),
    ("đồ n g u", "đồ ngu"),  # three spaced letters, spelling a syllable
    ("đồ c.h.ó", "đồ chó"),
    ("c.h.ố.n.g p.h.á n.h.à n.ư.ớ.c", "chống phá nhà nước"),
    ("e k b", "e không b"),  # one-letter teencode words: not joined, expanded one by one
    ("a b c", "a b c"),
    ("n g u n g u", "ngungu"),  # no certain break: joined as before
    ("e k b j", "ekbj"),  # four letters or more are joined whatever they spell, as before
]


@pytest.mark.parametrize(("original", "want"), JOINS, ids=[j[0] for j in JOINS])
@pytest.mark.parametrize("path", ["compiled", "python"])
def test_spaced_letters_join_at_syllable_breaks(original: str, want: str, path: str) -> None:
    n = _normalised(original, path)
    assert n.text == want
    for i, ch in enumerate(n.text):  # every character maps back into the original; a kept space to a separator
        a, b = int(n.starts[i]), int(n.ends[i])
        assert 0 <= a < b <= len(original)
        if ch == " " and original[a:b] != " ":
            assert original[a:b] in N._SEPARATORS


def test_many_runs_get_the_same_breaks_as_few() -> None:
    """More than 16 runs in a text take the numpy path of the stage (``_join_spaced_many``): same result."""
    one = N.normalise("c h ó đ ẻ", cache=False).text
    many = N.normalise(" , ".join(["c h ó đ ẻ", "đồ n g u", "e k b"] * 8), cache=False)
    assert one == "chó đẻ"
    assert many.text == " , ".join(["chó đẻ", "đồ ngu", "e không b"] * 8)
    with python_path():
        assert N.normalise(" , ".join(["c h ó đ ẻ"] * 20), cache=False).text == " , ".join(["chó đẻ"] * 20)


letter = st.sampled_from([*"chóđẻngukbaeiy0", "o\u0301", "ư", "ớ"])
separator = st.sampled_from([" ", ".", "-", " ", "_"])


# The tail holds no character a legacy 8-bit reading could explain ("¡ä" after joined letters reads as TCVN3 when
# the text is normalised again: the legacy check sees the letters joined the second time).
tails = st.text(alphabet="abcdeghiklmnoqstuvxyđơư ,.!?-:()àáảãạ", max_size=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(letter, min_size=1, max_size=14), separator, tails)
def test_spaced_runs_normalise_idempotently_and_in_bounds(letters: list[str], sep: str, tail: str) -> None:
    original = sep.join(letters) + " " + tail
    n = N.normalise(original, cache=False)
    assert N.normalise(n.text, cache=False).text == n.text
    assert all(0 <= a < b <= len(original) for a, b in zip(n.starts.tolist(), n.ends.tolist(), strict=True))
    with python_path():
        assert N.normalise(original, cache=False).text == n.text


@given(st.lists(st.text(max_size=3), max_size=20))
def test_breaks_never_raise_and_stay_inside(units: list[str]) -> None:
    got = syllables.breaks(units)
    assert got is None or all(0 < k < len(units) for k in got)
    assert got is None or got == sorted(set(got))


@pytest.mark.parametrize(("how", "want"), [("spaced", "mày là c h ó đ ẻ nhé"), ("dotted", "mày là c.h.ó.đ.ẻ nhé")])
def test_obfuscate_writes_offensive_spans_letter_by_letter(how: str, want: str) -> None:
    text = "mày là chó đẻ nhé"
    got = obfuscate(Example(text, frozenset(range(7, 13))), how)
    assert got.text == want
    assert "".join(got.text[i] for i in sorted(got.offsets)) == want[7:16]
    assert obfuscate(Example(text, frozenset()), how) == Example(text, frozenset())


FRAGMENTS = [
    # (original, normalised text): a word split inside by a separator, joined when it spells one syllable
    ("mày là l.ồn", "mày là lồn"),
    ("đồ c.ặc", "đồ cặc"),
    ("đ.ịt mẹ mày", "địt mẹ mày"),
    ("thằng ch.ó", "thằng chó"),
    ("đồ ng.u", "đồ ngu"),  # joined before teencode reads "ng" as "người"
    ("đ-ịt", "địt"),
    ("mà.y", "mày"),  # a one-letter piece is no word of its own, though "y" is a syllable
    ("CH.Ó", "chó"),
    ("l.o\u0302\u0300n", "lồn"),  # decomposed marks
    # left alone: every piece a syllable (loan words, two words run together), or no syllable when joined
    ("ô-tô", "ô-tô"),
    ("ka-ra-ô-kê", "ka-ra-ô-kê"),
    ("rồi.chứ", "rồi.chứ"),
    ("tp.hcm", "tp.hcm"),
    ("c.nó", "c.nó"),
    ("x-quang", "x-quang"),
    ("ch.ó2", "ch.ó2"),  # a digit after it: a code, not a word
    # a chain of more than four pieces is the spaced-letter stage's, whole: no syllable joined inside it first
    ("x c.h.ó.đ.ẻ.m.à.y", "x chó đẻ mày"),
    ("c.h.ó.đ.ẻ.n.g.u", "chó đẻngu"),
]


@pytest.mark.parametrize(("original", "want"), FRAGMENTS, ids=[f[0] for f in FRAGMENTS])
@pytest.mark.parametrize("path", ["compiled", "python"])
def test_words_split_inside_are_joined(original: str, want: str, path: str) -> None:
    n = _normalised(original, path)
    assert n.text == want
    for i in range(len(n.text)):  # each joined letter keeps its own place in the original
        a, b = int(n.starts[i]), int(n.ends[i])
        assert 0 <= a < b <= len(original)
    if want != original.lower():
        assert "obfuscation" in n.flags


fragment_text = st.lists(st.sampled_from([*"chóngulồđịt.-_ *0", "ô-tô", "ch.ó", "\u0301"]), max_size=30).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragment_text | st.text(max_size=30))
def test_fragment_chains_compiled_equal_python(text: str) -> None:
    compiled = N._compiled()
    if compiled is None:
        pytest.skip("moderation._ext._normalise is not built")
    assert compiled.fragment_chains(text) == N._fragment_chains_py(text)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("thằng ch.ó", [(6, 10)]),
        ("rồi.chứ", []),  # two runs of vowels: two words
        ("c.h.ó.đ.ẻ", []),  # five pieces: the spaced-letter stage's
        ("ch.ó2", []),  # a digit after it
        ("ô-tô và l.ồn", [(8, 12)]),  # "ô-tô": two runs of vowels
        ("ab", []),
    ],
)
def test_fragment_chains(text: str, want: list[tuple[int, int]]) -> None:
    assert N._fragment_chains_py(text) == want
    compiled = N._compiled()
    if compiled is not None:
        assert compiled.fragment_chains(text) == want


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragment_text)
def test_fragment_joins_are_idempotent_and_the_same_on_both_paths(text: str) -> None:
    assert_idempotent_on_both_paths(text)


def assert_idempotent_on_both_paths(text: str) -> N.Normalised:
    """Normalising ``text`` twice changes nothing more, and the compiled and Python paths agree (text, map,
    flags); returns the compiled result."""
    n = N.normalise(text, cache=False)
    assert N.normalise(n.text, cache=False).text == n.text
    with python_path():
        p = N.normalise(text, cache=False)
    assert (p.text, p.starts.tolist(), p.ends.tolist(), p.flags) == (
        n.text,
        n.starts.tolist(),
        n.ends.tolist(),
        n.flags,
    )
    return n
