"""Personal data: phone numbers, identity documents, bank and card numbers, e-mail, addresses; doxxing context."""

from __future__ import annotations

import bisect
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect import personal
from moderation.detect.identity import EntityIndex, ProtectedEntity, fold_with_offsets
from moderation.detect.personal import card_brand, detect_personal_data, find_personal_data, is_cccd, luhn_ok, mask
from moderation.domain import Item, ItemKind

# (text, expected [(kind, matched text)]); each row says why it is here.
FIND_CASES = [
    # phones: every current mobile prefix family, national and international forms, separators
    pytest.param("gọi 0912345678", [("phone", "0912345678")], id="mobile-09"),
    pytest.param("gọi 0327 123 456", [("phone", "0327 123 456")], id="mobile-03-spaces"),
    pytest.param("gọi 056.123.4567", [("phone", "056.123.4567")], id="mobile-05-dots"),
    pytest.param("gọi 0781-234-567", [("phone", "0781-234-567")], id="mobile-07-dashes"),
    pytest.param("gọi 0889123456", [("phone", "0889123456")], id="mobile-08"),
    pytest.param("gọi +84 912 345 678", [("phone", "+84 912 345 678")], id="plus84"),
    pytest.param("gọi 84912345678", [("phone", "84912345678")], id="84-no-plus"),
    pytest.param("gọi (+84)912345678", [("phone", "(+84)912345678")], id="plus84-parens"),
    pytest.param("gọi 024 3825 1234", [("phone", "024 3825 1234")], id="landline-hanoi"),
    pytest.param("mã 0112345678", [], id="invalid-prefix-01"),
    pytest.param("gọi 091234567", [], id="too-short"),
    pytest.param("Hotline: 1900 545 413", [], id="service-1900-not-personal"),
    pytest.param("gọi 1800 1234 miễn phí", [], id="service-1800-not-personal"),
    pytest.param("Hotline CSKH: 0912345678", [], id="hotline-cue-official"),
    # identity documents
    pytest.param("CCCD 001203012345", [("cccd", "001203012345")], id="cccd-hanoi"),
    pytest.param("số 079095012345", [("cccd", "079095012345")], id="cccd-hcm-no-keyword"),
    pytest.param("mã 003203012345", [], id="cccd-invalid-province"),
    pytest.param("mã 001903012345", [], id="cccd-invalid-century"),
    pytest.param("CMND: 123456789", [("cmnd", "123456789")], id="cmnd-with-keyword"),
    pytest.param("mã đơn 123456789", [], id="nine-digits-without-keyword"),
    pytest.param("Hộ chiếu số C1234567", [("passport", "C1234567")], id="passport"),
    # bank and card numbers
    pytest.param("STK: 0011004123456 Vietcombank", [("bank_account", "0011004123456")], id="bank-account"),
    pytest.param("chuyển khoản vào 19036543210012", [("bank_account", "19036543210012")], id="bank-ck"),
    pytest.param("thẻ 4111 1111 1111 1111", [("card", "4111 1111 1111 1111")], id="visa-luhn"),
    pytest.param("thẻ 4111 1111 1111 1112", [], id="card-bad-luhn"),
    pytest.param("mã vận đơn 123456789012345", [], id="long-number-no-context"),
    # e-mail and address
    pytest.param("mail lan.nguyen@gmail.com nhé", [("email", "lan.nguyen@gmail.com")], id="email"),
    pytest.param(
        "nhà ở số 12 ngõ 34 đường Láng, phường Láng Thượng, quận Đống Đa",
        [("address", "số 12 ngõ 34 đường Láng, phường Láng Thượng, quận Đống Đa")],
        id="address-hanoi",
    ),
    pytest.param(
        "địa chỉ 45/6 Lê Lợi, P. Bến Nghé, Q.1",
        [("address", "45/6 Lê Lợi, P. Bến Nghé, Q.1")],
        id="address-hcm-abbrev",
    ),
    pytest.param("Năm 2024, giá vàng tăng 5%", [], id="ordinary-numbers"),
]


@pytest.mark.parametrize(("text", "expected"), FIND_CASES)
def test_find(text: str, expected: list[tuple[str, str]]) -> None:
    got = [(d.kind, text[d.start : d.end]) for d in find_personal_data(text)]
    assert got == expected


@pytest.mark.parametrize(
    ("text", "with_name"),
    [
        pytest.param("Chị Trần Thị Bích ở đây, sđt 0912345678", True, id="surname-name"),
        pytest.param("Số của anh Tuấn: 0912345678", True, id="cue-word-name"),
        pytest.param("Bán xe, liên hệ 0912345678", False, id="no-name"),
        pytest.param("Văn phòng tại Hà Nội, gọi 0912345678", False, id="place-not-person"),
        pytest.param("Nhà số 5 đường Trần Hưng Đạo, phường 1, quận 5", False, id="street-named-after-person"),
    ],
)
def test_with_person_name(text: str, with_name: bool) -> None:
    signals = detect_personal_data(Item(ItemKind.POST, {"body": text}))
    assert signals
    assert signals[0].attrs["with_person_name"] is with_name
    span = signals[0].spans[0]
    assert text[span.start : span.end] == span.text


def test_official_email_of_registered_entity_is_skipped() -> None:
    index = EntityIndex.build([ProtectedEntity("vcb", "Vietcombank", "bank", domains=("vietcombank.com.vn",))])
    item = Item(ItemKind.POST, {"body": "Gửi tới cskh@vietcombank.com.vn hoặc an@gmail.com"})
    assert [s.attrs["value_masked"] for s in detect_personal_data(item, index)] == ["a***@gmail.com"]


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("4111111111111111", True), ("4111111111111112", False), ("79927398713", True), ("0", True)],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize(
    ("digits", "brand"),
    [("4111111111111111", "visa"), ("5500000000000004", "mastercard"), ("9704000000000018", "napas"), ("1234", None)],
)
def test_card_brand(digits: str, brand: str | None) -> None:
    assert card_brand(digits.ljust(4, "0")) == brand


def test_cccd_and_mask() -> None:
    assert is_cccd("001203012345")
    assert not is_cccd("000203012345")
    assert mask("0912345678") == "******5678"
    assert mask("lan@gmail.com") == "l***@gmail.com"


# Prefilters: each may only skip work whose result would be empty (properties against the unfiltered computation).
_PIECES = st.sampled_from(
    [
        "12", "0901 234 567", "+84 ", "1900 1234", "B1234567", "a@b.vn", ", ", ",", " ", "Phường", "PHƯỜNG", "phuong",
        "P\u0309hường", "\u0301", "Quận 1", "q.", "p.", "Tp.", "thành phố", "Thị trấn", "xã", "Tỉnh", "huyện",
        "đường Lê Lợi", "ngõ 5", "số nhà 3", "hotline ", "cmnd ", "stk ", "ß", "ẞ", "\u00a0", "\u2003", "\u3000", "，",
    ]
)  # fmt: skip
_TEXTS = st.lists(st.one_of(_PIECES, st.text(max_size=6)), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_address_hint_never_misses_an_address(text: str) -> None:
    if personal._ADDRESS.search(fold_with_offsets(text)[0]):
        assert personal._may_hold_address(text)


@settings(max_examples=300, deadline=None)
@given(_TEXTS)
def test_numbers_all_hold_six_digits(text: str) -> None:
    patterns = (personal._PHONE, personal._LANDLINE, personal._SERVICE_NUMBER, personal._DIGIT_RUN, personal._PASSPORT)
    if any(p.search(text) for p in patterns):
        assert personal._SIX_DIGITS.search(text)
    first = personal._DIGIT_OR_AT.search(text)
    six = personal._SIX_DIGITS.search(text)
    if first is None:
        assert six is None
    else:  # _find looks for six digits from the first digit or "@" on
        from_first = personal._SIX_DIGITS.search(text, first.start())
        assert (from_first and from_first.span()) == (six and six.span())


@settings(max_examples=200, deadline=None)
@given(_TEXTS)
def test_folded_before_equals_folding_the_whole_text(text: str) -> None:
    folded, offsets = fold_with_offsets(text)
    before = personal._FoldedBefore(text)
    for start in range(len(text) + 1):  # more than _LOCAL_FOLDS lookups: both ways are exercised
        lo = bisect.bisect_left(offsets, start)
        assert before(start, personal.CONTEXT_WINDOW) == folded[max(0, lo - personal.CONTEXT_WINDOW) : lo]


_NAME_PIECES = st.sampled_from(
    [
        "Nguyễn Văn Tèo", "anh Trần Minh", "Chị Lê Thị Hoa", "Họ và tên: Phạm An", "Hà Nội", "đường Lê Lợi", " ", "\t",
        ", ", ". ", "\n", ":", "0912345678", "😀", "Bà Rịa", "ông", "Vũ Hoàng", "x", "\u0301", "Ắ", "\ud800", "1",
    ]
)  # fmt: skip
_NAME_TEXTS = st.lists(st.one_of(_NAME_PIECES, st.text(max_size=4)), max_size=60).map("".join)


def _near(names: list[tuple[int, int]], d: personal.Datum) -> list[tuple[int, int]]:
    window = personal.NAME_WINDOW
    return [
        (a, b) for a, b in names if a < d.end + window and b > d.start - window and not (a >= d.start and b <= d.end)
    ]


@settings(max_examples=300, deadline=None)
@given(_NAME_TEXTS, st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 12)), min_size=1, max_size=4))
def test_names_of_the_pieces_around_the_data_are_those_of_the_whole_text(
    text: str, spots: list[tuple[int, int]]
) -> None:
    n = len(text)
    data = [personal.Datum("phone", min(a, n), min(a + w, n), "", 0.9, {}) for a, w in spots]
    clock = personal._Clock(None)
    whole = personal._names(text, clock)
    pieces = personal._name_pieces(text, data)
    assert all(b < c for (_, b), (c, _) in itertools.pairwise(pieces))
    part = personal._names(text, clock, pieces)
    assert set(part) <= set(whole)
    for d in data:
        assert _near(part, d) == _near(whole, d)
