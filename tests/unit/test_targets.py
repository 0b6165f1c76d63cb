"""Targets and accusations: who is addressed, who is accused, and legal text that only names offences."""

from __future__ import annotations

import pytest

from moderation.detect.targets import accusation_signals, aimed, find_accusations, find_targets, target_signals


@pytest.mark.parametrize(
    ("text", "kind", "span"),
    [
        pytest.param("mày là đồ ngu", "second_person", "mày", id="second-person"),
        pytest.param("thằng kia im đi", "demonstrative", "thằng kia", id="demonstrative"),
        pytest.param("thang kia im di", "demonstrative", "thang kia", id="demonstrative-stripped"),
        pytest.param("hỏi @tuan.nguyen xem", "mention", "@tuan.nguyen", id="mention"),
        pytest.param("Hôm qua Nguyễn Văn Tèo nói", "name", "Nguyễn Văn Tèo", id="name"),
        pytest.param("Công ty ABC Group làm ăn", "organisation", "Công ty ABC Group", id="organisation-head"),
        pytest.param("UBND xã", "organisation", "UBND", id="acronym"),
    ],
)
def test_targets(text: str, kind: str, span: str) -> None:
    assert (kind, span) in [(h.kind, text[h.start : h.end]) for h in find_targets(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Nguyễn Văn Tèo lừa đảo tiền của tao", [("fraud", "lừa đảo", "Nguyễn Văn Tèo")], id="name"),
        pytest.param("bọn kia ăn cắp", [("theft", "ăn cắp", "bọn kia")], id="group"),
        pytest.param("UBND xa tham nhung", [("corruption", "tham nhung", "UBND")], id="stripped"),
        # Nominal use in legal text: naming the offence is not accusing anyone.
        pytest.param("Phòng chống tham nhũng là nhiệm vụ của Bộ Công an.", [], id="legal-nominal"),
        pytest.param("Tội lừa đảo bị phạt nặng", [], id="offence-name"),
        pytest.param("lừa đảo qua mạng tăng", [], id="no-target"),
    ],
)
def test_accusations(text: str, expected: list[tuple[str, str, str]]) -> None:
    got = [(a.category, text[a.start : a.end], text[a.target.start : a.target.end]) for a in find_accusations(text)]
    assert got == expected


def test_signals() -> None:
    text = "@tuan ăn cắp"
    [t] = target_signals("body", text, find_targets(text))
    assert (t.kind, t.key, t.spans[0].text) == ("target", "mention", "@tuan")
    [a] = accusation_signals("body", text, find_accusations(text))
    assert a.kind == "accusation"
    assert [s.text for s in a.spans] == ["ăn cắp", "@tuan"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Gửi Nguyễn Văn Tèo: cảm ơn", ("name", "Nguyễn Văn Tèo"), id="name-starts-at-surname"),
        pytest.param("may ngu nhu cho", ("second_person", "may"), id="stripped-may"),
        pytest.param("bon may ngu", ("second_person", "bon may"), id="stripped-plural"),
        pytest.param("Tèo ơi, đồ ngu", ("demonstrative", "đồ ngu"), id="marked-insult-form"),
    ],
)
def test_more_targets(text: str, expected: tuple[str, str]) -> None:
    assert expected in [(h.kind, text[h.start : h.end]) for h in find_targets(text)]


@pytest.mark.parametrize(
    ("text", "kind", "span"),
    [
        pytest.param("con đi học về", "demonstrative", "con đi", id="con-di-is-not-con-di~"),
        pytest.param("cho con chó ăn", "demonstrative", "con chó", id="a-dog-is-a-dog"),
        pytest.param("do ngu dot nen thua", "demonstrative", "do ngu", id="because-of-ignorance"),
    ],
)
def test_not_targets(text: str, kind: str, span: str) -> None:
    assert (kind, span) not in [(h.kind, text[h.start : h.end]) for h in find_targets(text)]


@pytest.mark.parametrize(
    ("text", "offensive", "scores"),
    [
        # aimed (next to the offensive words) scores above merely present; weak address counts only when aimed
        pytest.param("mày ngu vl", "ngu vl", {"mày": 1.0}, id="aimed-strong"),
        pytest.param("bạn ngu vl", "ngu vl", {"bạn": 0.75}, id="aimed-weak"),
        pytest.param(
            "Nguyễn Văn Tèo đi học. " + "x " * 60 + "ngu vl", "ngu vl", {"Nguyễn Văn Tèo": 0.6}, id="named-elsewhere"
        ),
        pytest.param("bạn khỏe không", None, {"bạn": 0.3}, id="polite-address"),
    ],
)
def test_target_scores(text: str, offensive: str | None, scores: dict[str, float]) -> None:
    hits = find_targets(text)
    spans = [(text.index(offensive), text.index(offensive) + len(offensive))] if offensive else []
    signals = target_signals("body", text, hits, aimed(hits, spans, text))
    got = {sp.text: s.score for s in signals for sp in s.spans}
    assert {k: got.get(k) for k in scores} == scores


def test_accusation_score_named_vs_addressed() -> None:
    named = "Công ty ABC lừa đảo"
    addressed = "bọn kia ăn cắp"
    [a] = accusation_signals("body", named, find_accusations(named))
    [b] = accusation_signals("body", addressed, find_accusations(addressed))
    assert (a.score, a.attrs["named"], b.score, b.attrs["named"]) == (1.0, True, 0.8, False)
