"""Table-driven tests for the shipped packs' rules: positive, negative, obfuscated, quotation and news context."""

from __future__ import annotations

from pathlib import Path

import pytest

from moderation.domain import History, Item, ItemKind, PostKind, Verdict
from moderation.policy import Classifier, PackSet, load_packs

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def body(text: str, kind: ItemKind = ItemKind.COMMENT, post_kind: PostKind = PostKind.ORIGINAL) -> Item:
    return Item(kind=kind, fields={"body": text}, post_kind=post_kind, published_at="2024-05-01T00:00:00Z")


CASES = [
    # (text, expected verdict, category expected to act with its action or None)
    ("Đả đảo cộng sản, lật đổ chế độ ngay!", "remove", ("c07.s3_1.anti_state", "remove")),  # explicit call
    ("da dao cong san, lat do che do", "remove", ("c07.s3_1.anti_state", "remove")),  # unaccented writing
    ("l.ậ.t đ.ổ c.h.ế đ.ộ", "remove", ("c07.s3_1.anti_state", "remove")),  # dotted obfuscation
    ("bọn cộng sản bán nước", "review", ("c07.s3_1.anti_state", "review")),  # hostile slogan: a human decides
    ("Bài giảng: Nghị định nghiêm cấm hành vi lật đổ chế độ.", "allow", None),  # legal text names the act
    ("Anh ta hô “lật đổ chế độ” rồi bị bắt.", "review", ("c07.s3_1.anti_state", "review")),  # quotation + news cue
    ("Bán ma túy đá giá rẻ, ship cod toàn quốc", "remove", ("c07.s3_1.prohibited_goods", "remove")),  # offer
    ("ban ma tuy da, lh 0901 234 567", "remove", ("c07.s3_1.prohibited_goods", "remove")),  # phone, no accents
    ("Công an triệt phá đường dây bán ma túy, bắt giữ 5 đối tượng", "allow", None),  # news report
    ("Ma túy hủy hoại sức khỏe, hãy nói không với ma túy", "allow", None),  # prevention, no offer
    ("Nhận cá độ bóng đá, nạp tiền khuyến mãi 100%", "remove", ("c07.s3_1.prohibited_goods", "remove")),  # gambling ad
    ("Cần bán súng quân dụng, inbox", "remove", ("c07.s3_1.prohibited_goods", "remove")),  # weapons
    ("gái gọi cao cấp", "review", ("c07.s3_1.prohibited_goods", "review")),  # sex services without contact
    ("Hướng dẫn cách chế tạo bom tại nhà", "remove", ("c07.s3_1.violence_obscenity", "remove")),  # violence
    ("xem phim sex clip nóng miễn phí", "remove", ("c07.s3_1.violence_obscenity", "remove")),  # two obscene terms
    ("Làm bùa yêu, trục vong giải hạn", "review", ("c07.s3_1.violence_obscenity", "review")),  # superstition trade
    ("Lộ tài liệu mật của bộ", "review", ("c07.s3_1.secrets", "review")),  # secrets
    ("thằng chó này", "review", ("c07.s3_1.slander", "review")),  # targeted insult by form
    ("con đi học về", "allow", None),  # "con đi" must not match "con đĩ" (accent-sensitive list)
    ("Hôm nay tôi mua lon bia và các món ăn", "allow", None),  # lon/các must not match profanity
    ("địt mẹ mệt quá", "allow", ("c07.label.profanity", "label")),  # untargeted profanity: recorded only
    ("Tao hack được nick facebook của nó rồi", "review", ("c07.s3_2.account_misuse", "review")),  # account misuse
    ("bán hàng fake, super fake giá rẻ", "review", ("c07.s3_5.ip_ecommerce", "review")),  # counterfeits
    ("Tải sách cấm lưu hành ở đây", "review", ("c07.s3_3.press_publications", "review")),  # banned publication
    ("Hôm nay trời đẹp, cả nhà đi chơi công viên.", "allow", None),  # clean text
]


@pytest.mark.parametrize(("text", "verdict", "expected"), CASES)
def test_circular07_rules(clf: Classifier, text: str, verdict: str, expected: tuple[str, str] | None) -> None:
    ev = clf.classify(body(text))
    assert ev.verdict.value == verdict, [(c.id, c.action, c.rule_id, c.context) for c in ev.categories]
    if expected is not None:
        cat, action = expected
        acting = {c.id: c.action.value for c in ev.categories if c.mode == "enforce"}
        assert acting.get(cat) == action


BRACKETS = [
    # (text, post kind, draft category, bracket min, bracket max, why)
    ("lật đổ chế độ", PostKind.ORIGINAL, "d21.anti_state.calls", 20_000_000, 30_000_000),  # making a call
    ("lật đổ chế độ", PostKind.SHARE, "d21.anti_state.calls", 10_000_000, 20_000_000),  # spreading a call
    ("thằng chó này", PostKind.ORIGINAL, "d21.a8.insult", 10_000_000, 20_000_000),  # making an insult
    ("thằng chó này", PostKind.SHARE, "d21.a8.insult", 20_000_000, 30_000_000),  # spreading an insult
    ("khởi nghĩa vũ trang", PostKind.SHARE, "d21.anti_state.armed_threats", 30_000_000, 50_000_000),  # any
]


@pytest.mark.parametrize(("text", "post_kind", "cat", "lo", "hi"), BRACKETS)
def test_draft_brackets_are_information(
    clf: Classifier, text: str, post_kind: PostKind, cat: str, lo: int, hi: int
) -> None:
    ev = clf.classify(body(text, post_kind=post_kind))
    res = next(c for c in ev.categories if c.id == cat)
    assert res.action.value == "label"  # a draft never acts
    assert res.bracket is not None
    assert (res.bracket["min_vnd"], res.bracket["max_vnd"], res.bracket["informational"]) == (lo, hi, True)
    assert res.citation["status"] == "draft, informational"


def test_history_rule_needs_signals_from_detectors(clf: Classifier) -> None:
    # The repeat-offender rule reads the offensive model: with no offensive signal it must not fire on history alone.
    ev = clf.classify(body("bình thường"), History(author_violations=9, author_violations_by_category={"x": 9}))
    assert ev.verdict is Verdict.ALLOW


def test_several_categories_may_hold(clf: Classifier) -> None:
    ev = clf.classify(body("Đả đảo cộng sản! Bán ma túy đá, ship cod"))
    acting = {c.id for c in ev.categories if c.mode == "enforce"}
    assert {"c07.s3_1.anti_state", "c07.s3_1.prohibited_goods"} <= acting
    assert ev.verdict is Verdict.REMOVE


def test_evaluation_provenance(clf: Classifier) -> None:
    ev = clf.classify(body("Bán ma túy đá giá rẻ, ship cod"))
    data = ev.to_json()
    assert set(data["packs"]) == {"vn-circular-07-2008", "vn-draft-cyber-sanctions-2021"}
    cat = next(c for c in data["categories"] if c["id"] == "c07.s3_1.prohibited_goods")
    assert cat["pack_version"] == data["packs"]["vn-circular-07-2008"]
    assert cat["citation"]["via"]["point"] == "d"
    assert data["detectors"]
    assert any(r["rule"] == "goods.offer" and r["fired"] for r in data["rules"])


def test_packs_are_shared_between_classifiers() -> None:
    packs: PackSet = load_packs(POLICIES)
    a, b = Classifier(packs), Classifier(packs)
    assert a._compiled is b._compiled  # compiled once per pack-set version
