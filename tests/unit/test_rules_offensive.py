"""Rules over the offensive model, the target detector and accusations, in both shipped packs.

One table per rule: positive, negative, diacritic-stripped or teencode writing, and quotation / news context.
Evidence spans must point at the insulting words of the text as sent (HTML included).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.domain import Item, ItemKind, PostKind, Verdict
from moderation.policy import Classifier, load_packs
from moderation.policy.engine import Evaluation

POLICIES = Path(__file__).resolve().parents[2] / "policies"
BADWORDS = Path(__file__).resolve().parents[3] / "shared" / "data" / "vn-badwords" / "vi.json"
C07 = "vn-circular-07-2008"
D21 = "vn-draft-cyber-sanctions-2021"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return Classifier(load_packs(POLICIES))


def item(text: str, post_kind: PostKind = PostKind.ORIGINAL, body_format: str = "text") -> Item:
    return Item(
        kind=ItemKind.COMMENT,
        fields={"body": text},
        post_kind=post_kind,
        body_format=body_format,
        published_at="2024-05-01T00:00:00Z",
    )


def outcome(ev: Evaluation, pack: str, rule: str) -> str:
    """The rule's outcome in the trace: "fired", "not fired", "cleared by context", "fired, downgraded ..."."""
    return next(str(e["outcome"]) for e in ev.trace if e["pack"] == pack and e["rule"] == rule)


def acting(ev: Evaluation) -> dict[str, str]:
    return {c.id: c.action.value for c in ev.categories if c.mode == "enforce"}


# (pack, rule, text, rule outcome, verdict of the whole item)
RULES = [
    # slander.named_severe: a severe insult aimed at a named person or organisation -> remove
    (C07, "slander.named_severe", "Nguyễn Văn Tèo là thằng chó mất dạy", "fired", "remove"),
    (C07, "slander.named_severe", "@tuan.nguyen đồ súc vật, địt mẹ mày", "fired", "remove"),
    (C07, "slander.named_severe", "Nguyễn Văn Tèo hôm nay đi học về muộn", "not fired", "allow"),
    (C07, "slander.named_severe", "Nguyễn Văn Tèo là đồ chó, dm thằng Tèo", "fired", "remove"),  # teencode "dm"
    # without marks the slur forms are ambiguous: not removed, but the review rule still sees the insult
    (C07, "slander.named_severe", "Nguyen Van Teo la thang cho mat day", "not fired", "review"),
    (
        C07,
        "slander.named_severe",
        "Anh ta viết “Nguyễn Văn Tèo là thằng chó mất dạy”",
        "fired, downgraded by context",
        "review",
    ),  # quotation: a moderator decides
    (
        C07,
        "slander.named_severe",
        "Phóng viên ghi lại lời bị cáo: “Nguyễn Văn Tèo là thằng chó mất dạy”",
        "cleared by context",
        "allow",
    ),  # news report quoting the insult
    # slander.offensive_targeted: offensive model + someone addressed or named next to it -> review
    (C07, "slander.offensive_targeted", "mày ngu như chó", "fired", "review"),
    (C07, "slander.offensive_targeted", "thằng kia ngu vãi", "fired", "review"),
    (C07, "slander.offensive_targeted", "Hôm nay trời đẹp, bạn đi chơi không?", "not fired", "allow"),
    (C07, "slander.offensive_targeted", "may ngu nhu cho", "fired", "review"),  # stripped
    (C07, "slander.offensive_targeted", "m ngu vl", "fired", "review"),  # teencode
    (C07, "slander.offensive_targeted", "địt mẹ mệt quá", "not fired", "allow"),  # profanity, no one targeted
    # false_info.accusation: a crime attributed to a named person or organisation -> review, never remove
    (C07, "false_info.accusation", "Công ty ABC lừa đảo khách hàng", "fired", "review"),
    (C07, "false_info.accusation", "Nguyễn Văn Tèo ăn cắp tiền của quỹ lớp", "fired", "review"),
    (C07, "false_info.accusation", "Lừa đảo qua mạng ngày càng tinh vi", "not fired", "allow"),
    (C07, "false_info.accusation", "Cong ty ABC lua dao khach hang", "fired", "review"),  # stripped
    (C07, "false_info.accusation", "Phòng chống tham nhũng là nhiệm vụ của Bộ Công an", "not fired", "allow"),
    (
        C07,
        "false_info.accusation",
        "Theo cơ quan điều tra, Nguyễn Văn Tèo đã lừa đảo chiếm đoạt 10 tỷ đồng và bị khởi tố.",
        "not fired",
        "allow",
    ),  # news report of proceedings
    # labels: offensive_language at the pack threshold; profanity when no one is targeted
    (C07, "offensive_language.model", "địt mẹ mệt quá", "fired", "allow"),
    (C07, "offensive_language.model", "dit me met qua", "fired", "allow"),  # stripped
    (C07, "offensive_language.model", "Cảm ơn shop, giao hàng nhanh, đóng gói cẩn thận", "not fired", "allow"),
    (C07, "profanity.untargeted", "địt mẹ mệt quá", "fired", "allow"),
    (C07, "profanity.untargeted", "mày ngu như chó", "not fired", "review"),  # targeted: not "untargeted"
    (C07, "profanity.untargeted", "Cảm ơn shop, giao hàng nhanh, đóng gói cẩn thận", "not fired", "allow"),
    # the draft decree: information only, but the insult and the accusation are recorded with their bracket
    (D21, "insult.targeted", "mày ngu như chó", "fired", "review"),
    (D21, "insult.targeted", "may ngu nhu cho", "fired", "review"),
    (D21, "insult.targeted", "địt mẹ mệt quá", "not fired", "allow"),
    (D21, "fabricated.accusation", "Công ty ABC lừa đảo khách hàng", "fired", "review"),
    (D21, "fabricated.accusation", "Tội lừa đảo bị phạt nặng", "not fired", "allow"),
]


@pytest.mark.parametrize(("pack", "rule", "text", "expected", "verdict"), RULES)
def test_rule(clf: Classifier, pack: str, rule: str, text: str, expected: str, verdict: str) -> None:
    ev = clf.classify(item(text))
    assert outcome(ev, pack, rule) == expected, [(e["rule"], e["outcome"], e["reason"]) for e in ev.trace if e["fired"]]
    assert ev.verdict.value == verdict, acting(ev)


@pytest.mark.parametrize(
    ("post_kind", "lo", "hi"),
    [(PostKind.ORIGINAL, 10_000_000, 20_000_000), (PostKind.SHARE, 20_000_000, 30_000_000)],
)
@pytest.mark.parametrize(
    ("text", "category"),
    [("mày ngu như chó", "d21.a8.insult"), ("Công ty ABC lừa đảo khách hàng", "d21.a8.fabricated")],
)
def test_draft_bracket_making_vs_spreading(
    clf: Classifier, text: str, category: str, post_kind: PostKind, lo: int, hi: int
) -> None:
    ev = clf.classify(item(text, post_kind))
    res = next(c for c in ev.categories if c.id == category)
    assert res.action.value == "label"  # the draft fines nobody
    assert res.bracket is not None
    assert (res.bracket["min_vnd"], res.bracket["max_vnd"], res.bracket["informational"]) == (lo, hi, True)


def test_insult_evidence_points_at_the_words_in_the_html_as_sent(clf: Classifier) -> None:
    html = "<p>Gửi <b>Nguyễn Văn Tèo</b>: mày là &quot;thằng chó mất dạy&quot;</p>"
    ev = clf.classify(item(html, body_format="html"))
    slander = next(c for c in ev.categories if c.id == "c07.s3_1.slander")
    texts = {html[s.start : s.end] for s in slander.evidence}
    assert all(s.field == "body" and html[s.start : s.end] == s.text for s in slander.evidence)
    assert any("thằng chó" in t for t in texts)
    assert "Nguyễn Văn Tèo" in texts
    offensive = next(s for s in ev.signals if s.kind == "offensive")
    assert all("<" not in s.text and ">" not in s.text for s in offensive.spans)


def test_threshold_is_pack_data(clf: Classifier, tmp_path: Path) -> None:
    # Raising the pack's label threshold above any score silences the label without a code change.
    import shutil

    shutil.copytree(POLICIES / C07, tmp_path / C07)
    rules = tmp_path / C07 / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "label: &offensive_label " in text
    rules.write_text(text.replace("label: &offensive_label ", "label: &offensive_label 1.0 #"), encoding="utf-8")
    edited = Classifier(load_packs(tmp_path))
    ev = edited.classify(item("địt mẹ mệt quá"))
    assert "c07.label.offensive_language" not in acting(ev)
    assert "c07.label.offensive_language" in acting(clf.classify(item("địt mẹ mệt quá")))


ORDINARY = [
    # vn-badwords entries that are ordinary words in context (lon, chó, cu, má, đụ in đụng ...)
    "Hôm nay tôi mua lon bia và cho con chó ăn",
    "Cu Tí nhà bên cạnh đi học về",
    "Má tôi nấu canh chua cá lóc ngon lắm",
    "Chiều nay cả nhà đi câu cá ở hồ",
    "Đụng xe trên cầu Chương Dương, không ai bị thương",
    "Con chó nhà tôi sủa cả đêm, hàng xóm phàn nàn",
    "Anh ấy đóng đinh cái giá sách vào tường",
]


@pytest.mark.parametrize("text", ORDINARY)
def test_ordinary_words_are_not_removed(clf: Classifier, text: str) -> None:
    ev = clf.classify(item(text))
    assert ev.verdict is not Verdict.REMOVE, acting(ev)
    assert "c07.s3_1.slander" not in acting(ev)


def test_no_badwords_entry_is_removed_on_its_own(clf: Classifier) -> None:
    if not BADWORDS.exists():
        pytest.skip(f"{BADWORDS} is absent: the shared data sits beside the checkout (../shared)")
    entries = sorted({str(e).strip() for e in json.loads(BADWORDS.read_text(encoding="utf-8")) if str(e).strip()})
    removed = [e for e in entries if clf.classify(item(e)).verdict is Verdict.REMOVE]
    assert removed == []


_WORDS = ["mày", "thằng", "chó", "ngu", "Nguyễn Văn Tèo", "@tuan", "lừa đảo", "đm", "<b>", "</b>", "&amp;", "\u200b",
          "“", "”", ".", "\n", "công ty ABC", "vl", "bạn", "đồ", "súc vật"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=6)), max_size=25),
    st.sampled_from(["text", "html"]),
)
def test_language_spans_always_index_the_text_as_sent(parts: list[str], body_format: str) -> None:
    from moderation.policy.detectors import _language

    text = " ".join(parts)
    for sig in _language(item(text, body_format=body_format), None):
        for sp in sig.spans:
            assert 0 <= sp.start < sp.end <= len(text)
            assert text[sp.start : sp.end] == sp.text


_LONG = ("Hôm nay tôi đi chợ mua rau. " * 30) + "Thằng bán hàng ngu như chó, mày là đồ lừa đảo! " + ("Trời đẹp. " * 40)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Thằng Tèo kia ngu như chó, đồ lừa đảo",
            [("offensive", "vihos", 0.999586, ("Thằng", "ngu như chó", "đồ lừa đảo")),
             ("target", "demonstrative", 1.0, ("đồ lừa đảo",)), ("target", "name", 1.0, ("Tèo",)),
             ("accusation", "fraud", 1.0, ("lừa đảo", "Tèo"))],
            id="insult-name-accusation",
        ),
        pytest.param(
            "Hôm nay trời đẹp, các bạn đi chơi không?",
            [("offensive", "vihos", 0.076761, ()), ("target", "second_person", 0.3, ("bạn",))],
            id="clean-polite-address",
        ),
        pytest.param(
            "dm may ngu vl",
            [("offensive", "vihos", 0.999725, ("dm may ngu vl",)), ("target", "second_person", 0.75, ("may",))],
            id="stripped-teencode",
        ),
        pytest.param(
            "Công ty ABC Group ăn cắp ý tưởng",
            [("offensive", "vihos", 0.368353, ("ăn cắp ý tưởng",)),
             ("target", "organisation", 1.0, ("Công ty ABC Group", "ABC")),
             ("accusation", "theft", 1.0, ("ăn cắp", "Công ty ABC Group"))],
            id="organisation-accused",
        ),
        pytest.param(
            _LONG,
            [("offensive", "vihos", 0.994165, ("Thằng bán", "ngu như chó", "mày", "đồ lừa đảo")),
             ("target", "demonstrative", 1.0, ("đồ lừa đảo",)), ("target", "second_person", 1.0, ("mày",)),
             ("accusation", "fraud", 0.8, ("lừa đảo", "mày"))],
            id="long-segmented",
        ),
    ],
)  # fmt: skip
def test_language_stage_outputs_are_pinned(text: str, expected: list[tuple[str, str, float, tuple[str, ...]]]) -> None:
    # Pinned from the implementation before the language stage was made faster: a speed-up must not move them.
    # (Scores re-pinned on 2026-12-06 for the retrained default model: they moved in the sixth decimal, spans did not;
    # and again for its retrainings with the normaliser that joins split and masked words and reads typed accents:
    # the third decimal at most, and the long text's last span now takes in "đồ".)
    from moderation.policy.detectors import _language

    got = [(s.kind, s.key, round(s.score, 6), tuple(sp.text for sp in s.spans)) for s in _language(item(text), None)]
    assert got == expected
