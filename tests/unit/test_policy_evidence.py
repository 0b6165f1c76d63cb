"""Evidence spans are offsets into the original field text, through HTML-to-text and normalisation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Item, ItemKind, Span
from moderation.policy import Classifier, engine, load_packs, scan_record

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


CASES = [
    # (fields, body format, a text that must be among the highlighted spans)
    ({"body": "Bán ma túy đá giá rẻ, ship cod"}, "text", "ma túy đá"),  # plain text
    ({"body": "<p>Cần <b>bán</b> <i>ma&nbsp;túy</i> giá rẻ</p>"}, "html", "bán"),  # tags around the words
    ({"body": "<div class='x'>Bán m.a t.ú.y, ship cod</div>"}, "html", "m.a t.ú.y"),  # HTML and dotted letters
    ({"body": "BÁN MA TÚY ĐÁ, SHIP COD"}, "text", "MA TÚY ĐÁ"),  # upper case keeps original case in evidence
    ({"body": "Bán ma tu\u0301y đá, ship cod"}, "text", "ship cod"),  # decomposed (NFD) accents
    ({"title": "Đả đảo cộng sản", "body": "nội dung"}, "text", "Đả đảo cộng sản"),  # a field other than body
]


@pytest.mark.parametrize(("fields", "fmt", "expected"), CASES)
def test_evidence_offsets_point_into_original(clf: Classifier, fields: dict[str, str], fmt: str, expected: str) -> None:
    item = Item(kind=ItemKind.POST, fields=fields, body_format=fmt)
    ev = clf.classify(item)
    spans = [s for c in ev.categories for s in c.evidence]
    assert spans, "expected evidence"
    for s in spans:
        assert fields[s.field][s.start : s.end] == s.text
    assert expected in {s.text for s in spans}
    for sig in ev.signals:
        for s in sig.spans:
            assert fields[s.field][s.start : s.end] == s.text


def test_scan_record_shape(clf: Classifier) -> None:
    ev = clf.classify(Item(kind=ItemKind.COMMENT, fields={"body": "Bán ma túy đá, ship cod"}))
    rec = scan_record("c1", ev)
    assert rec["id"] == "c1"
    assert rec["verdict"] == "remove"
    cat = next(c for c in rec["categories"] if c["id"] == "c07.s3_1.prohibited_goods")
    assert set(cat) == {"id", "score", "rule", "citation", "evidence"}
    assert set(cat["evidence"][0]) == {"field", "start", "end", "text"}


@pytest.mark.parametrize(
    "body",
    [
        "Thằng Nguyễn Văn An là đồ chó, đm mày ngu như bò, lừa đảo cả làng",  # one span, evidence of several
        "Bán ma túy đá, ship cod. Đả đảo cộng sản!",  # categories with evidence of their own
        "Hôm nay trời đẹp.",  # nothing acting
    ],
)
def test_scan_record_evidence_is_each_spans_json(clf: Classifier, body: str) -> None:
    ev = clf.classify(Item(kind=ItemKind.POST, fields={"body": body}))
    rec = scan_record("p1", ev)
    acting = [c for c in ev.categories if c.mode == "enforce"]
    assert [c["id"] for c in rec["categories"]] == [c.id for c in acting]
    for got, cat in zip(rec["categories"], acting, strict=True):
        assert got["evidence"] == [s.to_json() for s in cat.evidence]


# ------------------------------------------------------------------------------------------------------------------
# The evidence as pre-encoded JSON (``_rules.evidence_bytes``, ``scan_record(..., fragment=orjson.Fragment)``): the
# bytes orjson writes of the dicts, or None where the compiled encoder does not take a span.

_rules: Any = pytest.importorskip("moderation._ext._rules")


def _orjson_lists(evidences: list[list[Span]]) -> list[bytes]:
    return [orjson.dumps([s.to_json() for s in ev]) for ev in evidences]


_SPAN = st.builds(
    Span,
    st.sampled_from(["body", "title", 'ti"t\\le', "mô tả"]),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),  # any text but a lone surrogate
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.lists(_SPAN, max_size=6), max_size=4), st.data())
def test_evidence_bytes_are_what_orjson_writes(evidences: list[list[Span]], data: st.DataObject) -> None:
    # Some spans in several lists, as a long post's offensive words are evidence of several categories.
    pool = [s for ev in evidences for s in ev]
    if pool:
        evidences = [ev + data.draw(st.lists(st.sampled_from(pool), max_size=3)) for ev in evidences]
    assert _rules.evidence_bytes(evidences) == _orjson_lists(evidences)


class _SubSpan(Span):
    __slots__ = ()


@pytest.mark.parametrize(
    ("span", "taken"),
    [
        (Span("body", 0, 3, "chó"), True),
        (Span("body", 0, 3, '\x00\x1f\x7f"\\/\u2028 😀 \t\n\r\b\f\x0b'), True),  # every escape orjson writes
        (Span("body", -(2**63), 2**63 - 1, ""), True),  # the 64-bit bounds
        (Span("body", 2**63, 1, "a"), False),  # beyond 64 bits: left to the dicts
        (Span("body", True, 1, "a"), False),  # a bool is no int offset to write
        (Span("body", 0, 1, "\ud800"), False),  # a lone surrogate: orjson refuses it; the fallback decides
        (Span("body", 0, 1.0, "a"), False),  # type: ignore[arg-type]
        (_SubSpan("body", 0, 1, "a"), False),  # not exactly a Span: its own to_json
        (Span(1, 0, 1, "a"), False),  # type: ignore[arg-type]
    ],
)
def test_evidence_bytes_take_plain_spans_only(span: Span, taken: bool) -> None:
    got = _rules.evidence_bytes([[Span("body", 0, 1, "a")], [span]])
    if taken:
        assert got == _orjson_lists([[Span("body", 0, 1, "a")], [span]])
    else:
        assert got is None


def test_evidence_bytes_of_any_iterables() -> None:
    """Lists or other iterables; a generator's spans are held while they are encoded (no address is reused)."""
    spans = [Span("body", i, i + 1, str(i)) for i in range(5)]
    made = (Span("body", i, i + 1, str(i)) for i in range(5))
    assert _rules.evidence_bytes([tuple(spans), made, iter(spans)]) == _orjson_lists([spans] * 3)
    assert _rules.evidence_bytes([]) == []


@pytest.mark.parametrize(
    "body",
    [
        "Thằng Nguyễn Văn An là đồ chó, đm mày ngu như bò, lừa đảo cả làng",
        "Bán ma túy đá, ship cod. Đả đảo cộng sản!",
        "Hôm nay trời đẹp.",
    ],
)
def test_scan_record_with_fragments_encodes_as_the_dicts(clf: Classifier, body: str) -> None:
    ev = clf.classify(Item(kind=ItemKind.POST, fields={"body": body}))
    plain = orjson.dumps(scan_record("p1", ev))
    assert orjson.dumps(scan_record("p1", ev, fragment=orjson.Fragment)) == plain
    with pytest.MonkeyPatch.context() as mp:  # without the extension: the dicts, whatever ``fragment`` is
        mp.setattr(engine, "_c", None)
        assert orjson.dumps(scan_record("p1", ev, fragment=orjson.Fragment)) == plain
