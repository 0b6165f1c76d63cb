"""Targets and accusations: who is addressed, who is accused, and legal text that only names offences."""

from __future__ import annotations

import pytest

from moderation.detect.targets import accusation_signals, find_accusations, find_targets, target_signals


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
