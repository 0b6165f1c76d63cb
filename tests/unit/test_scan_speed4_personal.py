"""``personal._find`` with its early exit (a text with a digit but no run of six, no possible e-mail and no possible
address) gives what it gave before, including the budget check; the reference is the function as it was."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import personal
from moderation.detect.personal import (
    _ADDRESS,
    _ADDRESS_MARKERS,
    _BANK_CUE,
    _CCCD_CUE,
    _CMND_CUE,
    _DIGIT_RUN,
    _EMAIL,
    _HOTLINE_CUE,
    _LANDLINE,
    _NON_DIGIT,
    _PASSPORT,
    _PASSPORT_CUE,
    _PHONE,
    _SERVICE_NUMBER,
    CONTEXT_WINDOW,
    MAX_DATA,
    MAX_TAKEN,
    Datum,
    _digits,
    _fold_for_address,
    _FoldedBefore,
    _may_hold_address,
    _may_hold_email,
    card_brand,
    end_offset,
    is_cccd,
    luhn_ok,
)


def _find_reference(text: str, official_domains: frozenset[str], clock: Any) -> list[Datum]:
    """``personal._find`` before its early exit for texts where no search can find anything (verbatim)."""
    any_digit, digits_run = _digits(text) if text else (False, False)
    if not any_digit:
        return []  # every kind of datum below holds a digit or an "@"
    before_at = _FoldedBefore(text)
    taken: list[tuple[int, int]] = []
    out: list[Datum] = []

    def free(a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in taken)

    def add(kind: str, a: int, b: int, value: str, score: float, **attrs: object) -> None:
        taken.append((a, b))
        out.append(Datum(kind, a, b, value, score, dict(attrs)))

    for m in clock.scan(_SERVICE_NUMBER, text) if digits_run else ():
        if len(taken) >= MAX_TAKEN:
            break
        taken.append((m.start(), m.end()))  # 1800/1900 numbers belong to organisations

    for m in clock.scan(_EMAIL, text) if "@" in text and _may_hold_email(text) else ():
        if len(out) >= MAX_DATA:
            break
        domain = m.group().rsplit("@", 1)[1].lower()
        if any(domain == d or domain.endswith("." + d) for d in official_domains):
            if len(taken) < MAX_TAKEN:
                taken.append((m.start(), m.end()))
            continue
        add("email", m.start(), m.end(), m.group(), 0.9)

    for pattern, line in ((_PHONE, "mobile"), (_LANDLINE, "landline")) if digits_run else ():
        for m in clock.scan(pattern, text):
            if len(out) >= MAX_DATA:
                break
            if not free(m.start(), m.end()):
                continue
            if _HOTLINE_CUE.search(before_at(m.start(), CONTEXT_WINDOW)):
                if len(taken) < MAX_TAKEN:
                    taken.append((m.start(), m.end()))
                continue
            digits = _NON_DIGIT.sub("", m.group())
            national = "0" + digits[2:] if digits.startswith("84") and len(digits) >= 11 else digits
            add("phone", m.start(), m.end(), national, 0.9 if line == "mobile" else 0.6, line=line)

    for m in clock.scan(_DIGIT_RUN, text) if digits_run else ():
        if len(out) >= MAX_DATA:
            break
        if not free(m.start(), m.end()):
            continue
        digits = _NON_DIGIT.sub("", m.group())
        before = before_at(m.start(), CONTEXT_WINDOW)
        if 13 <= len(digits) <= 19 and luhn_ok(digits) and (brand := card_brand(digits)):
            add("card", m.start(), m.end(), digits, 0.95, scheme=brand)
        elif len(digits) == 12 and is_cccd(digits) and not _BANK_CUE.search(before):
            add("cccd", m.start(), m.end(), digits, 0.95 if _CCCD_CUE.search(before) else 0.8)
        elif len(digits) == 9 and _CMND_CUE.search(before):
            add("cmnd", m.start(), m.end(), digits, 0.9)
        elif 6 <= len(digits) <= 19 and _BANK_CUE.search(before):
            add("bank_account", m.start(), m.end(), digits, 0.85)

    for m in clock.scan(_PASSPORT, text) if digits_run else ():
        if len(out) >= MAX_DATA:
            break
        if free(m.start(), m.end()):
            cue = bool(_PASSPORT_CUE.search(before_at(m.start(), CONTEXT_WINDOW)))
            add("passport", m.start(), m.end(), m.group(), 0.9 if cue else 0.5, keyword=cue)

    folded, offsets_of = _fold_for_address(text) if _may_hold_address(text) else ("", list)
    offsets: list[int] | None = None
    for m in clock.scan(_ADDRESS, folded) if folded else clock.check():  # _ADDRESS matches no empty text
        if len(out) >= MAX_DATA:
            break
        if len(_ADDRESS_MARKERS.findall(m.group())) < 1:
            continue
        if offsets is None:
            offsets = offsets_of()
        a = offsets[m.start()]
        b = end_offset(offsets, len(m.group().rstrip(" ,")) + m.start(), text)
        if free(a, b):
            add("address", a, b, text[a:b], 0.8)

    return sorted(out, key=lambda d: d.start)


_PIECES = [
    "số 12", "Nguyễn Văn A", "0912 345 678", "1900 1234", "a@b.vn", "@mention", "x@y", "123, Lê Lợi, phường Bến Nghé",
    "12 Lý Thường Kiệt, quận 1", "tel 08", "3", " ", ", ", "phường", "q.", "😀", "CMND 123456789", "STK 0123456",
    "B1234567", "\n", "hotline 0901234567", "4111 1111 1111 1111", "001099012345", "đường", "tp.", "7/3",
]  # fmt: skip


def _both(text: str, budget: float | None) -> tuple[Any, Any]:
    def run(fn: Any) -> Any:
        try:
            return fn(text, frozenset({"b.vn"}), personal._Clock(budget))
        except personal.PersonalDataTimeout as exc:
            return ("timeout", exc.budget_s)

    return run(personal._find), run(_find_reference)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_find_equals_the_reference(text: str) -> None:
    got, want = _both(text, None)
    assert got == want


@pytest.mark.parametrize(
    "text",
    ["có 3 con", "a@b", "x@y.vn", "123, Lê Lợi, phường 3", "0912 345 678", "ngày 7/3, quận", "1900 1234 a@b.vn", ""],
)
@pytest.mark.parametrize("budget", [None, 10.0, 0.0, -1.0])
def test_find_equals_the_reference_with_budgets(text: str, budget: float | None) -> None:
    got, want = _both(text, budget)
    assert got == want


def test_a_spent_budget_still_raises_on_a_text_with_a_digit() -> None:
    with pytest.raises(personal.PersonalDataTimeout):
        personal._find("có 3 con mèo", frozenset(), personal._Clock(0.0))
    assert personal._find("không có số", frozenset(), personal._Clock(0.0)) == []  # no digit: no search, no check
