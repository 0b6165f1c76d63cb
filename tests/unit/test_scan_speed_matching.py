"""The regex stage's fold and the lexicon signals' grouping in C (``moderation/_ext/_scan.pyx``) against their
pure-Python references in ``moderation.policy.matching``: the same bytes as ``fold_text``, the same signals from
``regex_signals`` and ``lexicon_signals`` with the extension switched off."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Item, ItemKind, Signal, Span
from moderation.policy import Classifier, load_packs, matching
from moderation.policy.matching import FieldText, field_texts, fold_text

_s: Any = pytest.importorskip("moderation._ext._scan")

POLICIES = Path(__file__).resolve().parents[2] / "policies"

TEXTS = [
    "",
    "abc",
    "ABC Zalo: Shop_01 gọi 0901 234 567",
    "Đụ má thằng chó, lừa đảo!",
    unicodedata.normalize("NFD", "Đụ má thằng chó, lừa đảo! zalo: abc.def 0912.345.678"),
    unicodedata.normalize("NFD", "Xin chào") + "\U0001f600\U0001d167",  # Latin marks and an astral one
    "a\u0483b\u20d0c",  # combining marks outside U+0300-036F only: kept as U+001A
    "x\U0001d167y",  # an astral combining mark alone
    "“quoted” ‘single’ — dash … ½ ﬁ",
    "\ud800 lone surrogate \udfff",
    "\x0b\x1c tabs \t\n",
    "zalo: abc\x1f 0901234567",
    "\x1d",
    "ÿ" * 3 + "Ā" + "\u1ea0\u1ef9",
    "中文 日本語 한국어 العربية",
]


def _reference(text: str) -> tuple[bytes, bool, bool]:
    folded, offsets = fold_text(text)
    return folded.encode("ascii"), offsets is not None, any(ch in folded for ch in matching._PY_ONLY_SPACES)


@pytest.mark.parametrize("text", TEXTS)
def test_fold_bytes_table(text: str) -> None:
    assert _s.fold_bytes(text, matching._fold_lut_bytes(), unicodedata.combining) == _reference(text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        st.one_of(
            st.characters(max_codepoint=0x7F),
            st.characters(min_codepoint=0x80, max_codepoint=0x2FFF),
            st.sampled_from("\u0300\u0301\u0303\u0309\u0323\u20d0\U0001d167\U0001f600đĐẠạỹ"),
            st.characters(),
        ),
        max_size=60,
    )
)
def test_fold_bytes_any_text(text: str) -> None:
    assert _s.fold_bytes(text, matching._fold_lut_bytes(), unicodedata.combining) == _reference(text)


def test_fold_bytes_rejects_a_short_table() -> None:
    with pytest.raises(ValueError):
        _s.fold_bytes("é", b"\x00" * 10, unicodedata.combining)
    with pytest.raises(ValueError):
        _s.fold_offsets("é", b"\x00" * 10, unicodedata.combining)


def _offsets(text: str) -> list[int] | None:
    got = matching._fold_offsets(text)
    return None if got is None else list(got)


@pytest.mark.parametrize("text", TEXTS)
def test_fold_offsets_table(text: str) -> None:
    assert _offsets(text) == fold_text(text)[1]


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        st.one_of(
            st.characters(max_codepoint=0x7F),
            st.sampled_from("\u0300\u0301\u0303\u0309\u0323\u20d0\U0001d167\U0001f600đĐẠạỹ"),
            st.characters(),
        ),
        max_size=60,
    )
)
def test_fold_offsets_any_text(text: str) -> None:
    assert _offsets(text) == fold_text(text)[1]
    offsets = matching._fold_offsets(text)
    folded = fold_text(text)[0]
    for a, b in ((0, len(folded)), (len(folded) // 2, len(folded)), (0, len(folded) // 3)):
        if b > a:
            assert matching.to_original(offsets, a, b, text) == matching.to_original(fold_text(text)[1], a, b, text)


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def _items() -> list[Item]:
    out = [Item(kind=ItemKind.COMMENT, fields={"body": t}) for t in TEXTS if t]
    out.append(
        Item(
            kind=ItemKind.POST,
            fields={
                "title": "Thằng chó lừa đảo, zalo: shop.abc",
                "body": "đm thằng chó. " * 5 + unicodedata.normalize("NFD", "ib: hàng_xịn gọi 0901234567 ngay"),
            },
        )
    )
    out.append(
        Item(
            kind=ItemKind.POST,
            fields={"body": "<p>Đồ <b>ngu</b> &amp; lừa đảo, inbox @shop_vn</p>"},
            body_format="html",
        )
    )
    return out


@pytest.mark.parametrize("item", _items(), ids=lambda it: repr(list(it.fields.values()))[:40])
def test_regex_signals_both_paths(clf: Classifier, item: Item, monkeypatch: pytest.MonkeyPatch) -> None:
    c = clf._compiled
    fields = field_texts(item)
    got = matching.regex_signals(c.patterns, fields, c.prefilter)
    no_filter = matching.regex_signals(c.patterns, fields)
    monkeypatch.setattr(matching, "_s", None)
    assert got == matching.regex_signals(c.patterns, fields, c.prefilter)
    assert no_filter == matching.regex_signals(c.patterns, fields)


def test_regex_signals_map_a_match_in_decomposed_text(clf: Classifier) -> None:
    text = unicodedata.normalize("NFD", "Liên hệ ngay zalo: hàng.xịn hoặc 0901 234 567 nhé")
    sigs = matching.regex_signals(clf._compiled.patterns, [FieldText("body", text, text)], clf._compiled.prefilter)
    assert sigs
    for sig in sigs:
        for sp in sig.spans:
            assert text[sp.start : sp.end] == sp.text


@pytest.mark.parametrize("text", TEXTS)
def test_prefilter_bytes_equals_str(clf: Classifier, text: str) -> None:
    folded = fold_text(text)[0]
    pf = clf._compiled.prefilter
    assert pf.skipped_bytes(folded.encode("ascii")) == pf.skipped(folded)
    spaces = _s.fold_bytes(text, matching._fold_lut_bytes(), unicodedata.combining)[2]
    assert pf.skipped_bytes(folded.encode("ascii"), spaces) == pf.skipped(folded)


@pytest.mark.parametrize("item", _items(), ids=lambda it: repr(list(it.fields.values()))[:40])
def test_lexicon_signals_both_paths(clf: Classifier, item: Item, monkeypatch: pytest.MonkeyPatch) -> None:
    m = clf._compiled.matcher
    fields = field_texts(item)
    got = matching.lexicon_signals(m, fields)
    monkeypatch.setattr(matching, "_s", None)
    want = matching.lexicon_signals(m, fields)
    assert got == want
    assert [type(s) for s in got] == [type(s) for s in want]
    assert [type(sp) for s in got for sp in s.spans] == [Span] * sum(len(s.spans) for s in want)


def test_lexicon_signals_repeated_field_name_takes_the_python_path(
    clf: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = clf._compiled.matcher
    fields = [FieldText("body", "thằng chó", "thằng chó"), FieldText("body", "đồ chó má", "đồ chó má")]
    got = matching.lexicon_signals(m, fields)
    assert got
    monkeypatch.setattr(matching, "_s", None)
    assert got == matching.lexicon_signals(m, fields)


def _make_spans(rows: list[tuple[str, int, int, str]]) -> list[Span]:
    return [Span(*r) for r in rows]


def _make_signals(rows: list[tuple[Any, ...]]) -> list[Signal]:
    return [Signal(*r) for r in rows]


def test_lexicon_grouping_order_and_indexes() -> None:
    refs = [("p/a", 1.0, "a", 2.0), ("p/b", 0.5, "b", 0.5)]
    fields = [("title", "abcdef", {(2, 3): ("1",), (0, 1): ("1", "0")}), ("body", "xyz", {(1, 2): ("-1",)})]
    got = _s.lexicon_signals(fields, refs, _make_spans, _make_signals, "lexicon", "d/1")
    assert [(s.key, s.attrs["field"], [(sp.start, sp.end, sp.text) for sp in s.spans]) for s in got] == [
        ("p/b", "body", [(1, 2, "y")]),  # -1: the last ref, as a list reads it
        ("p/b", "title", [(0, 1, "a"), (2, 3, "c")]),
        ("p/a", "title", [(0, 1, "a")]),
    ]
    assert got[0].attrs == {"term": "b", "field": "body", "weight": 0.5}
    assert _s.lexicon_signals([], refs, _make_spans, _make_signals, "lexicon", "d/1") == []
    for bad in ("2", "-3"):
        with pytest.raises(IndexError):
            _s.lexicon_signals([("t", "ab", {(0, 1): (bad,)})], refs, _make_spans, _make_signals, "lexicon", "d")
    with pytest.raises(ValueError):
        _s.lexicon_signals([("t", "ab", {(0, 1): ("0",)})], refs, lambda rows: [], _make_signals, "lexicon", "d")
    with pytest.raises(TypeError):
        _s.lexicon_signals([("t", "ab", [((0, 1), ("0",))])], refs, _make_spans, _make_signals, "lexicon", "d")
