"""A vulgar word written with letters masked by symbols ("l*n", "đ*t", "b**i", "c#c", "ch!ch") is read as the one
word of ``moderation/text/data/masked.txt`` it fits, on both paths of the normaliser, with the visible letters on
their own spans and the hidden ones on the mask; what fits no word, or several, is left to the other stages. A tone
typed as a spacing accent after a syllable ("na`o", "dai´cua") is read as the tone."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import moderation.text.normalise as N
from tests.unit.test_normalise_compiled import python_path
from tests.unit.test_syllables import assert_idempotent_on_both_paths

MASKED = [
    # (original, normalised text)
    ("đồ l*n", "đồ lồn"),
    ("l**n", "lồn"),  # more symbols than hidden letters
    ("đ*t mẹ mày", "địt mẹ mày"),
    ("d*t con me", "địt con me"),  # typed without marks: the listed word's letters
    ("Đ*T MẸ", "địt mẹ"),
    ("thằng c#c", "thằng cặc"),
    ("đ!t mẹ", "địt mẹ"),
    ("b**i", "buồi"),
    ("b*i", "buồi"),  # one symbol for two letters
    ("ch!ch nhau", "chịch nhau"),
    ("n*ng quá", "nứng quá"),  # read before teencode turns "ng" into "người"
    ("đ*o biết", "đéo biết"),
    ("c*t", "cứt"),
    ("đồ l*n.", "đồ lồn."),  # punctuation after it
    ("ĐỒ L*N!", "đồ lồn!"),
    ("#l*n", "#lồn"),
    ("đồ l*n, đ*t", "đồ lồn, địt"),
    # left as the other stages make them
    ("hay quá!vậy", "hay quá!vậy"),  # fits no listed word
    ("5l*n", "5l*n"),  # run into digits: a code
    ("l*n5", "l*n5"),
    ("địt con m*", "địt con m*"),  # a mask at the end of a word: too many words fit
    ("c*h*ó", "chó"),  # letters spaced out: the spaced-letter stage's
    ("xinh*lắm", "xinh*lắm"),  # a longer word
    ("ngo\u0302\u0300l*n", "ngồl*n"),  # a longer word, decomposed: a combining mark before the letters
    ("l@n", "lan"),  # "@" is no mask: the leet stage reads it as "a"
]


@pytest.mark.parametrize(("original", "want"), MASKED, ids=[m[0] for m in MASKED])
@pytest.mark.parametrize("path", ["compiled", "python"])
def test_masked_words_are_read(original: str, want: str, path: str) -> None:
    if path == "python":
        with python_path():
            n = N.normalise(original, cache=False)
    else:
        n = N.normalise(original, cache=False)
    assert n.text == want
    for i in range(len(n.text)):
        a, b = int(n.starts[i]), int(n.ends[i])
        assert 0 <= a < b <= len(original)
    if want != unicodedata.normalize("NFC", original.lower()):
        assert {"obfuscation", "marks:repaired"} & n.flags


ACCENTS = [
    # (original, normalised text)
    ("na`o", "nào"),  # inside a syllable: "nao" is one
    ("lo`ng", "lòng"),
    ("dai´cua", "dái cua"),  # after one: "daicua" is none, so the accent stands for the space too
    ("lam`nhu", "làm nhu"),  # the mark stage puts the tone on the vowel
    ("no´co´", "nó có"),
    ("hêt´hay", "hết hay"),
    ("Xi`Gon", "xì gon"),
    # left alone
    ("it´s", "it´s"),  # "s" alone is no syllable
    ("nó´", "nó´"),  # a tone already
    ("`code`", "`code`"),  # no syllable
    ("x2`a", "x2`a"),  # run into a digit
]


@pytest.mark.parametrize(("original", "want"), ACCENTS, ids=[a[0] for a in ACCENTS])
@pytest.mark.parametrize("path", ["compiled", "python"])
def test_tones_typed_as_spacing_accents_are_read(original: str, want: str, path: str) -> None:
    test_masked_words_are_read(original, want, path)


@pytest.mark.parametrize(
    ("original", "word", "want", "written"),
    [
        # (original, the word read, the original characters behind each of its letters, the word as written)
        ("đồ l*n", "lồn", ["l", "*", "n"], "l*n"),
        ("b*i", "buồi", ["b", "*", "*", "i"], "b*i"),
        ("x b**i", "buồi", ["b", "**", "**", "i"], "b**i"),
        ("ch!ch", "chịch", ["c", "h", "!", "c", "h"], "ch!ch"),
    ],
)
def test_hidden_letters_map_to_the_mask(original: str, word: str, want: list[str], written: str) -> None:
    n = N.normalise(original, cache=False)
    at = n.text.index(word)
    assert [n.original_text(at + j, at + j + 1) for j in range(len(word))] == want
    assert n.original_text(at, at + len(word)) == written


def test_every_listed_word_is_a_fixed_point_and_its_masked_forms_read_back() -> None:
    table = N._masked_table()
    words = {w for w, _, _ in table.values()}
    assert words == {row[0] for row in N._data_lines("masked.txt")}  # every word has a form only it fits
    for word in words:
        assert N.normalise(word, cache=False).text == word
    for (left, k, right), (word, _, _) in table.items():
        assert N.normalise(f"x {left}{'*' * k}{right} y", cache=False).text == f"x {word} y"


masked_text = st.lists(
    st.sampled_from([*"lnđtbicsh*#!%$@ .,`´", "l*n", "b**i", "đ!t", "ch!ch", "na`o", "ồ", "\u0301", "5"]), max_size=30
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(masked_text | st.text(alphabet="l*n!đ#tb i", max_size=20))
def test_masked_reads_are_idempotent_in_bounds_and_the_same_on_both_paths(text: str) -> None:
    n = assert_idempotent_on_both_paths(text)
    assert all(0 <= int(a) < int(b) <= len(text) for a, b in zip(n.starts, n.ends, strict=True))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(masked_text | st.text(max_size=30))
def test_compiled_scans_equal_python(text: str) -> None:
    compiled = N._compiled()
    if compiled is None:
        pytest.skip("moderation._ext._normalise is not built")
    assert compiled.mask_starts(text, N._MAX_MASK) == N._mask_starts_py(text)
    assert compiled.may_read_words(text, N._MAX_MASK) == N._may_read_words_py(text)
