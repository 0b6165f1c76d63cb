"""Confusable skeletons and impersonation of protected entities and of other blogs of the same platform."""

from __future__ import annotations

import unicodedata

import pytest

from moderation.detect.identity import (
    EntityIndex,
    ProtectedEntity,
    compact,
    detect_impersonation,
    fold,
    fold_with_offsets,
    skeleton,
)
from moderation.detect.registries import Registries, load_shipped_entities
from moderation.domain import Item, ItemKind


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param("Vietcombank", "Vіetcombank", id="cyrillic-i"),
        pytest.param("vietcombank", "vietcornbank", id="rn-m"),
        pytest.param("paypal", "paypa1", id="digit-one"),
        pytest.param("google", "g00gle", id="digit-zero"),
        pytest.param("Bộ Công An", "bo cong an", id="diacritics-and-case"),
        pytest.param("Đà Nẵng", "da nang", id="d-stroke"),
        pytest.param("Bộ Công An", unicodedata.normalize("NFD", "Bộ Công An"), id="nfd"),
    ],
)
def test_skeleton_equal(a: str, b: str) -> None:
    assert skeleton(a) == skeleton(b)


def test_fold_with_offsets_maps_back() -> None:
    text = unicodedata.normalize("NFD", "Ngân hàng")
    folded, offsets = fold_with_offsets(text)
    assert folded == "ngan hang"
    assert text[offsets[0] : offsets[4]] == unicodedata.normalize("NFD", "Ngân")
    assert fold("ĐẠI") == "dai"


@pytest.fixture(scope="module")
def index() -> EntityIndex:
    blogs = [
        ProtectedEntity("blog-42", "Góc nhỏ của Lan", "blog", handles=("gocnhocualan",), platform_id="p1"),
        ProtectedEntity("blog-43", "Nhật ký Sài Gòn", "blog", platform_id="p1"),
        ProtectedEntity("blog-77", "Chuyện bếp nhà Mai", "blog", platform_id="p2"),
        ProtectedEntity("pf-1", "Nguyễn Văn Quyết", "public_figure"),
    ]
    return EntityIndex.build([*load_shipped_entities(), *blogs])


# (candidate, platform, expected entity id or None, method); the false-positive rows justify the thresholds.
MATCH_CASES = [
    pytest.param("Bộ Công an", None, "vn-bocongan", "exact", id="agency-exact"),
    pytest.param("BO CONG AN", None, "vn-bocongan", "exact", id="agency-no-diacritics"),
    pytest.param("Bộ Cоng An", None, "vn-bocongan", "confusable", id="agency-cyrillic-o"),
    pytest.param("Bộ Công An Chính Thức", None, "vn-bocongan", "contains", id="agency-plus-words"),
    pytest.param("Vietcombank Hỗ Trợ", None, "bank-vietcombank", "contains", id="bank-contains"),
    pytest.param("Vietcornbank", None, "bank-vietcombank", "confusable", id="bank-rn"),
    pytest.param("Vietcombamk", None, "bank-vietcombank", "fuzzy", id="bank-typo"),
    pytest.param("Ngân hàng Nhà nước", None, "vn-sbv", "exact", id="sbv-alias"),
    pytest.param("Góc nhỏ của Lan", "p1", "blog-42", "exact", id="same-platform-blog-copy"),
    pytest.param("Goc nho cua Lan", "p1", "blog-42", "exact", id="same-platform-blog-copy-no-diacritics"),
    pytest.param("Góc nhỏ của Lan", "p2", None, None, id="other-platform-blog-not-compared"),
    # False positives avoided
    pytest.param("Nguyễn Văn An", None, None, None, id="ordinary-name-vs-sbv"),
    pytest.param("Ngân hàng đề thi Toán", None, None, None, id="common-words"),
    pytest.param("Công an", None, None, None, id="single-generic-word"),
    pytest.param("Momo và bạn bè", None, None, None, id="short-brand-in-sentence"),
    pytest.param("Nhật ký của tôi", "p1", None, None, id="partial-overlap-blog"),
]


@pytest.mark.parametrize(("candidate", "platform", "entity", "method"), MATCH_CASES)
def test_match(
    index: EntityIndex, candidate: str, platform: str | None, entity: str | None, method: str | None
) -> None:
    matches = index.match(candidate, platform_id=platform)
    if entity is None:
        assert matches == []
    else:
        assert matches, candidate
        assert (matches[0].entity.id, matches[0].method) == (entity, method)
        assert 0 < matches[0].similarity <= 1


def test_detect_impersonation_blog_registration(index: EntityIndex) -> None:
    item = Item(
        ItemKind.BLOG,
        {
            "name": "Vietcombank CSKH",
            "display_name": "Góc nhỏ của Lan",
            "url": "https://blog.example/bocongan-official",
        },
        platform_id="p1",
        blog_id="blog-99",
    )
    signals = detect_impersonation(item, Registries(entities=index))
    got = {(s.key, s.attrs["field"], s.attrs["method"]) for s in signals}
    assert ("bank-vietcombank", "name", "contains") in got
    assert ("blog-42", "display_name", "exact") in got
    assert any(k == "vn-bocongan" and f == "url" for k, f, _ in got)
    for s in signals:
        span = s.spans[0]
        assert item.fields[span.field][span.start : span.end] == span.text


def test_own_blog_is_not_impersonating_itself(index: EntityIndex) -> None:
    item = Item(ItemKind.BLOG, {"name": "Góc nhỏ của Lan"}, platform_id="p1", blog_id="blog-42")
    assert detect_impersonation(item, index) == []


def test_comment_author_checked_but_blog_mention_ignored(index: EntityIndex) -> None:
    comment = Item(ItemKind.COMMENT, {"body": "hay", "author_name": "Bộ Công An"}, platform_id="p1")
    assert [s.key for s in detect_impersonation(comment, index)] == ["vn-bocongan"]
    mention = Item(ItemKind.COMMENT, {"author_name": "Fan của Góc nhỏ của Lan"}, platform_id="p1")
    assert detect_impersonation(mention, index) == []


def test_post_url_slug_naming_an_agency_is_not_impersonation(index: EntityIndex) -> None:
    post = Item(ItemKind.POST, {"title": "Bộ Công An thông báo", "url": "https://blog.example/bo-cong-an-thong-bao"})
    assert detect_impersonation(post, index) == []


def test_compact() -> None:
    assert compact("Viet-com Bank!") == "vietcornbank"  # the skeleton maps m to rn on both sides
