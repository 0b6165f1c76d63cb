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


# The policy engine's Hyperscan prefilter must never skip a pattern that matches (it only saves regex runs).
_PREFILTER_PATTERNS = [
    ("phone", r"(?<!\d)(?:\+?84|0)[35789](?:[ .\-]?\d){8}(?!\d)"),
    ("handle", r"\b(?:zalo|tele(?:gram)?|inbox|ib)\s*[:.]?\s*@?[a-z0-9_.]{3,}"),
    ("named", r"stk (?P<acct>\d+)"),
    ("v1-set", r"[[a-z]--[aeiou]]{3}x"),  # V1-only syntax: never prefiltered, always run
    ("spaces", r"lua\s+dao"),
]


@pytest.mark.parametrize(
    "text",
    [
        "lh 0901 234 567 nhé",
        "Zalo: @banma_tuy",
        "stk 123456 vietcombank",
        "bcdx lừa   đảo",
        "lua\x1cdao",  # Python's \s matches \x1c, Hyperscan's does not: the filter must stand aside
        "lua\x0bdao",
        "lua\x1fdao",
        "LỪA\u0301 ĐẢO",
        "không có gì",
        "",
    ],
)
def test_prefilter_never_drops_a_match(text: str) -> None:
    from moderation.domain import Item, ItemKind
    from moderation.policy.matching import Prefilter, compile_patterns, field_texts, regex_signals

    patterns = compile_patterns([("p", pid, src, True, 1.0) for pid, src in _PREFILTER_PATTERNS])
    fields = field_texts(Item(kind=ItemKind.COMMENT, fields={"body": text}))
    assert regex_signals(patterns, fields, Prefilter(patterns)) == regex_signals(patterns, fields)
    assert Prefilter(patterns).candidates == [0, 1, 2, 4]
