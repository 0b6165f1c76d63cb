"""Link verdicts (blocklisted, lookalike, shortener, known_unlawful) and the safe_fetch address checks."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from moderation.detect.feeds import parse_feed, read_feed_file
from moderation.detect.links import (
    UnsafeURLError,
    check_text,
    check_url,
    detect_links,
    is_public_address,
    resolve_public,
    safe_fetch,
)
from moderation.detect.registries import Registries
from moderation.domain import Item, ItemKind, Signal

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@pytest.fixture(scope="module")
def registries() -> Registries:
    feed = parse_feed("test-feed", "0.0.0.0 evil.top\nbad.vn\nphish.example.com/login\n", source="inline")
    return Registries.build(
        feeds=[feed],
        include_shipped_entities=True,
        known_unlawful_urls=["https://removed.vn/post/1"],
    )


def _keys(signals: list[Signal]) -> set[tuple[str, str]]:
    return {(s.key, s.attrs.get("method") or s.attrs.get("feed") or "") for s in signals}


# (url, expected (reason, method-or-feed) pairs); the protected domains come from policies/registries.
VERDICT_CASES = [
    pytest.param("https://evil.top/a", {("blocklisted", "test-feed")}, id="feed-host"),
    pytest.param("http://a.b.evil.top", {("blocklisted", "test-feed")}, id="feed-parent-domain"),
    pytest.param("https://bad.vn/x?utm_source=fb", {("blocklisted", "test-feed")}, id="feed-domain-list"),
    pytest.param("https://phish.example.com/login?fbclid=1", {("blocklisted", "test-feed")}, id="feed-url-any-scheme"),
    pytest.param("https://phish.example.com/other", set(), id="feed-url-other-path-not-listed"),
    pytest.param("http://removed.vn/post/1?utm_campaign=x", {("known_unlawful", "")}, id="known-unlawful"),
    pytest.param("https://bit.ly/3abc", {("shortener", "")}, id="shortener"),
    pytest.param(
        "https://l.facebook.com/l.php?u=https%3A%2F%2Fbad.vn%2Fx",
        {("blocklisted", "test-feed")},
        id="redirector-unwrapped",
    ),
    # Generalisation: none of these hosts is on any feed.
    pytest.param("https://vietcombank-xacminh.com", {("lookalike", "brand_token")}, id="brand-plus-action"),
    pytest.param("https://xacthuc.vietcombank.secure-login.top", {("lookalike", "brand_token")}, id="brand-subdomain"),
    pytest.param("http://bocongan.gov.vn.example.com", {("lookalike", "embedded_domain")}, id="embedded-gov"),
    pytest.param("https://vietcombank.com.vn@evil.example", {("lookalike", "embedded_domain")}, id="userinfo"),
    pytest.param("https://vіetcombank.com.vn", {("lookalike", "confusable")}, id="cyrillic-i"),
    pytest.param("https://vietcornbank.com.vn", {("lookalike", "confusable")}, id="rn-for-m"),
    pytest.param("https://vietcombank.com", {("lookalike", "suffix_swap")}, id="suffix-swap"),
    pytest.param("https://vietconbank.net", {("lookalike", "typo")}, id="typo-1"),
    pytest.param("https://techcornbank-vn.com", {("lookalike", "brand_token")}, id="brand-confusable-token"),
    pytest.param("https://gplx-gov.vn", {("lookalike", "government_token")}, id="gov-token"),
    pytest.param("https://dichvucong-gov.com", {("lookalike", "brand_token")}, id="gov-brand-token"),
    pytest.param("https://csgt-phatnguoi.com", {("lookalike", "brand_token")}, id="short-brand-with-action"),
    pytest.param("https://momo-nhanqua.xyz", {("lookalike", "brand_token")}, id="short-wallet-with-action"),
    # The entities' own hosts and ordinary sites give nothing.
    pytest.param("https://www.vietcombank.com.vn/vi", set(), id="official-bank"),
    pytest.param("https://csgt.bocongan.gov.vn/tra-cuu", set(), id="official-subdomain"),
    pytest.param("https://thuvienphapluat.gov.vn", set(), id="any-gov-vn-is-government"),
    pytest.param("https://vnexpress.net/abc", set(), id="news-site"),
    pytest.param("https://acbshop.vn", set(), id="short-brand-inside-word"),
    pytest.param("https://mt-store.vn", set(), id="short-brand-token-no-action"),
    pytest.param("https://www.gov.uk/", set(), id="foreign-government"),
]


@pytest.mark.parametrize(("url", "expected"), VERDICT_CASES)
def test_verdicts(registries: Registries, url: str, expected: set[tuple[str, str]]) -> None:
    got = _keys(check_url(url, registries))
    if expected:
        assert expected <= got  # other lookalike methods may fire too (a gov token beside an embedded domain)
    else:
        assert got == set()


def test_evidence_attrs(registries: Registries) -> None:
    text = "Nhận quà tại vietcombank-xacminh[.]com ngay"
    [sig] = check_text("body", text, registries)
    span = sig.spans[0]
    assert text[span.start : span.end] == span.text == "vietcombank-xacminh[.]com"
    assert sig.attrs["protected_entity"] == "bank-vietcombank"
    assert sig.attrs["registrable_domain"] == "vietcombank-xacminh.com"
    assert sig.attrs["obfuscated"] is True
    assert 0 < sig.attrs["similarity"] <= 1


def test_detect_links_html_and_listed_links(registries: Registries) -> None:
    body = '<p>Xem <a href="https://evil.top/x">đây</a> và bad.vn</p>'
    item = Item(ItemKind.POST, {"title": "t", "body": body}, links=["https://bit.ly/x"], body_format="html")
    signals = detect_links(item, registries)
    fields = sorted((s.key, s.spans[0].field, s.spans[0].text) for s in signals)
    assert fields == [
        ("blocklisted", "body", "bad.vn"),
        ("blocklisted", "body", "https://evil.top/x"),
        ("shortener", "links[0]", "https://bit.ly/x"),
    ]


@pytest.mark.shared_data
def test_real_feed_sample_is_blocklisted() -> None:
    path = SHARED / "chongluadao" / "feed-sample.txt"
    if not path.is_file():
        pytest.skip(f"shared data absent: {path} (clone shared/ beside the repository)")
    feed = read_feed_file("chongluadao", path, licence="BSD-3-Clause")
    assert feed.provenance.entry_count > 17_000
    assert "BSD" in feed.provenance.notice or "Redistribution" in feed.provenance.notice
    regs = Registries.build(feeds=[feed])
    hosts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()[:500] if "/" not in line]
    for host in hosts:
        signals = check_url(f"https://{host}/", regs)
        assert any(s.key == "blocklisted" for s in signals), host


# --- safe_fetch ---------------------------------------------------------------------------------------------

ADDRESS_CASES = [
    pytest.param("93.184.216.34", True, id="public-v4"),
    pytest.param("2606:4700:4700::1111", True, id="public-v6"),
    pytest.param("127.0.0.1", False, id="loopback"),
    pytest.param("127.5.5.5", False, id="loopback-range"),
    pytest.param("::1", False, id="loopback-v6"),
    pytest.param("10.1.2.3", False, id="private-10"),
    pytest.param("172.16.0.1", False, id="private-172"),
    pytest.param("192.168.1.1", False, id="private-192"),
    pytest.param("100.64.0.1", False, id="cgnat"),
    pytest.param("169.254.169.254", False, id="metadata-aws-gcp"),
    pytest.param("169.254.1.1", False, id="link-local"),
    pytest.param("fe80::1", False, id="link-local-v6"),
    pytest.param("fd00:ec2::254", False, id="metadata-aws-v6"),
    pytest.param("100.100.100.200", False, id="metadata-alibaba"),
    pytest.param("0.0.0.0", False, id="unspecified"),
    pytest.param("224.0.0.1", False, id="multicast"),
    pytest.param("240.0.0.1", False, id="reserved"),
    pytest.param("::ffff:127.0.0.1", False, id="v4-mapped-loopback"),
    pytest.param("::ffff:8.8.8.8", True, id="v4-mapped-public"),
    pytest.param("64:ff9b::a00:1", False, id="nat64-private"),
    pytest.param("2002:0a00:0001::1", False, id="6to4-private"),
    pytest.param("not-an-ip", False, id="garbage"),
]


@pytest.mark.parametrize(("address", "public"), ADDRESS_CASES)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def _resolver(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> list[str]:
        return table[host]

    return resolve


@pytest.mark.parametrize(
    ("host", "answers", "ok"),
    [
        pytest.param("good.example", ["93.184.216.34"], True, id="public"),
        pytest.param("bad.example", ["10.0.0.5"], False, id="private"),
        pytest.param("mixed.example", ["93.184.216.34", "127.0.0.1"], False, id="any-private-answer-refuses"),
        pytest.param("empty.example", [], False, id="no-answer"),
        pytest.param("127.0.0.1", [], False, id="literal-loopback"),
    ],
)
def test_resolve_public(host: str, answers: list[str], ok: bool) -> None:
    resolver = _resolver({host: answers})
    if ok:
        assert resolve_public(host, 443, resolver) == answers[0]
    else:
        with pytest.raises(UnsafeURLError):
            resolve_public(host, 443, resolver)


def test_safe_fetch_connects_to_checked_address_and_follows_safe_redirects() -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.url.host, request.headers["host"]))
        if request.url.path == "/start":
            return httpx.Response(302, headers={"location": "https://other.example/final"})
        return httpx.Response(200, content=b"x" * 5000)

    resolver = _resolver({"good.example": ["93.184.216.34"], "other.example": ["93.184.216.35"]})
    result = safe_fetch(
        "https://good.example/start", resolver=resolver, transport=httpx.MockTransport(handler), max_bytes=1000
    )
    assert seen == [("93.184.216.34", "good.example"), ("93.184.216.35", "other.example")]
    assert result.final_url == "https://other.example/final"
    assert result.truncated
    assert len(result.content) == 1000


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("http://internal.example/admin", id="redirect-to-private-name"),
        pytest.param("http://169.254.169.254/latest/meta-data/", id="redirect-to-metadata"),
        pytest.param("file:///etc/passwd", id="redirect-to-file-scheme"),
    ],
)
def test_safe_fetch_refuses_unsafe_redirects(location: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": location})

    resolver = _resolver({"good.example": ["93.184.216.34"], "internal.example": ["192.168.0.10"]})
    with pytest.raises(UnsafeURLError):
        safe_fetch("http://good.example/", resolver=resolver, transport=httpx.MockTransport(handler))


def test_safe_fetch_redirect_limit() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": "/again"})

    resolver = _resolver({"good.example": ["93.184.216.34"]})
    with pytest.raises(UnsafeURLError, match="redirects"):
        safe_fetch("http://good.example/", resolver=resolver, transport=httpx.MockTransport(handler), max_redirects=2)
