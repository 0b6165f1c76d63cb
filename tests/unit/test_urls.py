"""URL extraction (offsets into the original text) and normalisation, as tables plus property tests."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.detect.urls import (
    extract_urls,
    found_from_spans,
    normalise_domain,
    normalise_url,
    parent_domains,
    registrable_domain,
)

# (text, expected raw matches, expected de-obfuscated urls)
EXTRACT_CASES = [
    pytest.param("xem https://abc.vn/x?a=1 nhé", ["https://abc.vn/x?a=1"], ["https://abc.vn/x?a=1"], id="scheme"),
    pytest.param("vào abc.vn hoặc abc.com.vn", ["abc.vn", "abc.com.vn"], ["abc.vn", "abc.com.vn"], id="bare-domains"),
    pytest.param("link: abc[.]vn", ["abc[.]vn"], ["abc.vn"], id="defanged-brackets"),
    pytest.param("link: abc(.)com(.)vn", ["abc(.)com(.)vn"], ["abc.com.vn"], id="defanged-parens"),
    pytest.param("vào abc . vn ngay", ["abc . vn"], ["abc.vn"], id="spaced-dot"),
    pytest.param("vào abc chấm vn ngay", ["abc chấm vn"], ["abc.vn"], id="cham-word-nfc"),
    pytest.param("vào abc CHẤM com nhé", ["abc CHẤM com"], ["abc.com"], id="cham-upper"),
    pytest.param(
        "vào abc " + unicodedata.normalize("NFD", "chấm") + " vn",
        ["abc " + unicodedata.normalize("NFD", "chấm") + " vn"],
        ["abc.vn"],
        id="cham-nfd",
    ),
    pytest.param("hxxps://evil[.]top/a", ["hxxps://evil[.]top/a"], ["https://evil.top/a"], id="hxxp-defanged"),
    pytest.param("http[:]//evil.top", ["http[:]//evil.top"], ["http://evil.top"], id="defanged-colon"),
    pytest.param("(xem www.abc.net/path).", ["www.abc.net/path"], ["www.abc.net/path"], id="trailing-punct-paren"),
    pytest.param(
        "Trang https://vi.wikipedia.org/wiki/A_(B) hay",
        ["https://vi.wikipedia.org/wiki/A_(B)"],
        None,
        id="balanced-paren",
    ),
    pytest.param("email a.b@abc.vn không phải link", [], [], id="email-not-link"),
    pytest.param("file main.py và notes.md", [], [], id="file-names"),
    pytest.param("Việt Nam. VN vô địch", [], [], id="sentence-period"),
    pytest.param("giá 1.500.000đ, tp.hcm, Q.1", [], [], id="numbers-abbrev"),
    pytest.param("https://vіetcombank.com", ["https://vіetcombank.com"], None, id="cyrillic-homograph"),
    pytest.param("truy cập bộcôngan.vn", ["bộcôngan.vn"], None, id="idn-vietnamese"),
    pytest.param("tôi ăn cơm . ngon", [], [], id="com-word-not-tld-position"),
]


@pytest.mark.parametrize(("text", "raws", "urls"), EXTRACT_CASES)
def test_extract(text: str, raws: list[str], urls: list[str] | None) -> None:
    found = extract_urls(text)
    assert [f.raw for f in found] == raws
    for f in found:
        assert text[f.start : f.end] == f.raw  # offsets point into the original
    if urls is not None:
        assert [f.url for f in found] == urls


def test_found_from_spans_accepts_link_objects() -> None:
    class Link:
        url = "https://a.vn"
        start = 9
        end = 21

    text = '<a href="https://a.vn">x</a>'
    assert found_from_spans(text, [Link()])[0].raw == "https://a.vn"
    assert found_from_spans(text, [("https://a.vn", 9, 21)])[0].start == 9


NORMALISE_CASES = [
    pytest.param("HTTPS://ABC.VN:443/a?b=2&a=1#frag", "https://abc.vn/a?a=1&b=2", id="case-port-order-fragment"),
    pytest.param("http://abc.vn:80", "http://abc.vn/", id="default-port-empty-path"),
    pytest.param("http://abc.vn:8080/x", "http://abc.vn:8080/x", id="other-port-kept"),
    pytest.param(
        "abc.vn/x?utm_source=fb&utm_medium=x&id=3&fbclid=1&gclid=2&zarsi=9", "http://abc.vn/x?id=3", id="tracking"
    ),
    pytest.param("https://bộcôngan.vn/", "https://xn--bcngan-jxa6332d.vn/", id="idna-encode"),
    pytest.param("https://abc.vn./%7euser/%2f", "https://abc.vn/~user/%2F", id="trailing-dot-escapes"),
    pytest.param("hxxp://evil[.]top", "http://evil.top/", id="defanged"),
    pytest.param("https://a.vn/đường", "https://a.vn/%C4%91%C6%B0%E1%BB%9Dng", id="unicode-path"),
    pytest.param("mailto:a@b.vn", None, id="not-http"),
    pytest.param("http://", None, id="no-host"),
    pytest.param("http://a b.vn/", None, id="space-in-host"),
]


@pytest.mark.parametrize(("url", "expected"), NORMALISE_CASES)
def test_normalise(url: str, expected: str | None) -> None:
    norm = normalise_url(url)
    assert (norm.url if norm else None) == expected


def test_normalised_parts() -> None:
    norm = normalise_url("https://user@a.b.bocongan.gov.vn.evil.com:8443/x")
    assert norm is not None
    assert norm.registrable_domain == "evil.com"
    assert norm.userinfo == "user"
    assert norm.subdomain == "a.b.bocongan.gov.vn"
    assert norm.key == "a.b.bocongan.gov.vn.evil.com:8443/x"
    ip = normalise_url("http://10.0.0.1/x")
    assert ip is not None
    assert ip.is_ip
    assert ip.registrable_domain == ""
    idn = normalise_url("xn--bcngan-jxa6332d.vn")
    assert idn is not None
    assert idn.host_unicode == "bộcôngan.vn"


@pytest.mark.parametrize(
    ("host", "registrable"),
    [
        ("www.bocongan.gov.vn", "bocongan.gov.vn"),  # gov.vn is a public suffix
        ("a.vietcombank.com.vn", "vietcombank.com.vn"),
        ("gplx-gov.vn", "gplx-gov.vn"),
        ("x.blogspot.com", "x.blogspot.com"),  # private suffixes count: each blog is its own site
        ("1.2.3.4", ""),
        ("localhost", ""),
    ],
)
def test_registrable_domain(host: str, registrable: str) -> None:
    assert registrable_domain(host) == registrable


def test_parent_domains() -> None:
    assert parent_domains("a.b.evil.com.vn") == ["a.b.evil.com.vn", "b.evil.com.vn", "evil.com.vn"]
    assert parent_domains("evil.vn") == ["evil.vn"]


@pytest.mark.parametrize(
    ("domain", "expected"),
    [("*.Evil.VN.", "evil.vn"), ("||evil.vn", None), ("bộcôngan.vn", "xn--bcngan-jxa6332d.vn"), ("a/b", None)],
)
def test_normalise_domain(domain: str, expected: str | None) -> None:
    assert normalise_domain(domain) == expected


# Property tests: the parser never crashes, offsets always slice the original, normalisation is idempotent.
_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
# st.text over small alphabets generates far faster than st.from_regex.
_label = st.builds(
    lambda a, mid, b: a + mid + b,
    st.sampled_from(_ALNUM),
    st.text(alphabet=_ALNUM + "-", max_size=8),
    st.sampled_from(_ALNUM),
)
_tld = st.sampled_from(["vn", "com", "com.vn", "net", "org", "gov.vn", "xyz"])
_path = st.lists(st.text(alphabet=_ALNUM + "ABCXYZ._~-", max_size=8), max_size=3).map(
    lambda parts: "".join("/" + p for p in parts)
)
_query = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "utm_source", "fbclid", "id"]), st.from_regex(r"[a-z0-9]{0,4}", fullmatch=True)
    ),
    max_size=4,
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http://", "https://", "HTTP://", ""]))
    host = ".".join(draw(st.lists(_label, min_size=1, max_size=3))) + "." + draw(_tld)
    port = draw(st.sampled_from(["", ":80", ":443", ":8080"]))
    q = draw(_query)
    query = ("?" + "&".join(f"{k}={v}" for k, v in q)) if q else ""
    return f"{scheme}{host}{port}{draw(_path)}{query}"


@settings(max_examples=50, deadline=None)
@given(urls())
def test_normalise_is_idempotent(url: str) -> None:
    norm = normalise_url(url)
    assert norm is not None
    again = normalise_url(norm.url)
    assert again is not None
    assert again.url == norm.url
    assert "utm_" not in norm.query
    assert "fbclid" not in norm.query
    assert norm.host == norm.host.lower()


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200))
def test_extract_never_crashes_and_offsets_hold(text: str) -> None:
    for f in extract_urls(text):
        assert text[f.start : f.end] == f.raw
        assert 0 <= f.start < f.end <= len(text)


@settings(max_examples=40, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40), urls(), st.text(max_size=40))
def test_extract_finds_embedded_url(prefix: str, url: str, suffix: str) -> None:
    text = f"{prefix} {url} {suffix}"
    found = extract_urls(text)
    for f in found:
        assert text[f.start : f.end] == f.raw
    start = len(prefix) + 1
    if url.lower().startswith("http"):
        assert any(f.start == start for f in found)


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=60))
def test_normalise_never_crashes(text: str) -> None:
    normalise_url(text)
