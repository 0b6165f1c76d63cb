"""Regex rules: linter verdicts, original offsets, timeout."""

from __future__ import annotations

import pytest

from moderation.detect.patterns import PatternRule, PatternTimeout, compile_rule, lint_pattern


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        pytest.param(r"(a+)+b", "nested quantifiers", id="nested"),
        pytest.param(r"(x+x+)+y", "several ways", id="adjacent-repeats"),
        pytest.param(r"(.)\1", "back-references", id="backref"),
        pytest.param(r"[", "syntax error", id="syntax"),
        pytest.param(r"a*", "empty string", id="empty-match"),
    ],
)
def test_lint_rejects(pattern: str, problem: str) -> None:
    assert any(problem in p for p in lint_pattern(pattern))


@pytest.mark.parametrize(
    "pattern",
    [r"lua\s*dao", r"\b(?:lừa|lua)\s+đảo\b", r"(?:\d{3}[-.]?){2}\d{4}", r"(abc|def)+", r"chuyen khoan \d+"],
)
def test_lint_accepts(pattern: str) -> None:
    assert lint_pattern(pattern) == []


def test_folded_rule_maps_to_original() -> None:
    text = "Thằng này LỪA   ĐẢO đấy"
    [hit] = compile_rule(PatternRule("scam", r"lua\s*dao")).find(text)
    assert text[hit.start : hit.end] == "LỪA   ĐẢO"


def test_named_groups_report_original_text() -> None:
    text = "CK 500k vào stk 0123456789"
    [hit] = compile_rule(PatternRule("stk", r"stk (?P<acct>\d+)")).find(text)
    assert dict(hit.groups) == {"acct": "0123456789"}


def test_timeout() -> None:
    rule = compile_rule(PatternRule("bad", r"(a+)+b", form="original"))
    with pytest.raises(PatternTimeout):
        rule.find("a" * 5000 + "c", timeout=0.01)


def test_unknown_form() -> None:
    with pytest.raises(ValueError, match="form"):
        compile_rule(PatternRule("x", "a", form="nope"))
