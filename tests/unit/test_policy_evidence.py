"""Evidence spans are offsets into the original field text, through HTML-to-text and normalisation."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.domain import Item, ItemKind
from moderation.policy import Classifier, load_packs, scan_record

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
