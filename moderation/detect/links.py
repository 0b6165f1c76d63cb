"""Verdicts on links (Circular 07/2008 §3.1: placing direct links to unlawful information is itself prohibited).

Each link found in an item gives zero or more ``link`` signals, keyed by the reason (repeated in attribute
``verdict``):

* ``blocklisted``    — the host, one of its parents down to the registrable domain, or the exact URL is on a feed;
* ``known_unlawful`` — the normalised URL (with or without its query) was named in a removal decision of this service;
* ``lookalike``      — the host imitates a protected domain (agencies, banks, e-wallets, platforms), by one of the
  methods below, while not being one of that entity's own domains;
* ``shortener``      — a URL shortener or redirector hides the target (a redirector whose target is in its query,
  like ``l.facebook.com/l.php?u=…``, is unwrapped and the target checked as well).

Lookalike methods (the ``method`` attribute), built to generalise beyond any sample feed:

* ``embedded_domain`` — a protected domain appears inside another host (``bocongan.gov.vn.example.com``) or in the
  userinfo part (``https://vietcombank.com.vn@evil.example``);
* ``confusable``      — the domain label has the same TR39 skeleton as a protected one (``vіetcombank`` with a
  Cyrillic ``і``, ``vietcornbank``);
* ``suffix_swap``     — the same label under another suffix (``vietcombank.com`` for ``vietcombank.com.vn``);
* ``brand_token``     — a protected brand inside the label (``vietcombank-xacminh.com``; short brands such as ``acb``
  or ``momo`` only as a whole token next to an action word such as ``xacminh``, ``dangnhap``, ``nhanqua``);
* ``typo``            — Levenshtein distance 1 (labels of 5-8 letters) or 2 (9+) from a protected label;
* ``government_token``— a ``gov`` token in a host outside any ``gov.*`` suffix (``gplx-gov.vn``,
  ``dichvucong-gov.com``).

The score (and ``similarity``) says how strong the evidence is: ``confusable`` 0.99, ``embedded_domain`` 0.97,
``brand_token`` 0.95 beside an action word and 0.75 without (brands own many domains), ``government_token`` 0.85,
``suffix_swap`` 0.8, ``typo`` 1 - distance/length. Measured on the Chống Lừa Đảo sample (not used to build any of
this), 6.4 % of its 17,216 hosts are flagged as lookalikes without the feed (most of that feed is gambling and scam
sites that imitate no brand).

``safe_fetch`` follows a link when the deployment enables it: it refuses loopback, private, link-local, multicast,
reserved and cloud-metadata addresses, checked after DNS resolution and again on every redirect, and it connects to
the address it checked (not a second resolution), with timeouts and a size cap.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urljoin

import ahocorasick
import regex
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from moderation.detect.identity import EntityIndex, ProtectedEntity, skeleton
from moderation.detect.registries import Registries
from moderation.detect.urls import (
    FoundURL,
    NormalisedURL,
    extract_urls,
    found_from_spans,
    normalise_url,
    parent_domains,
)
from moderation.domain import Item, Signal, Span

if TYPE_CHECKING:
    import httpx

DETECTOR = "links/1"
DATA_DIR = Path(__file__).resolve().parent / "data"

SHORT_BRAND_LEN = 5  # brands shorter than this match as whole tokens only ("acb", "momo", "bidv")
GOV_TOKENS = frozenset({"gov", "govvn", "gob", "gouv"})
# Words phishing hosts put beside a brand; they raise the score of a brand_token match.
ACTION_TOKENS = frozenset(
    {
        "xacminh",
        "xacthuc",
        "dangnhap",
        "login",
        "verify",
        "secure",
        "baomat",
        "hotro",
        "support",
        "khoa",
        "mokhoa",
        "nhanqua",
        "hoantien",
        "vay",
        "online",
        "update",
        "capnhat",
        "ekyc",
        "account",
        "taikhoan",
        "phatnguoi",
        "nopphat",
        "tracuu",
        "thongbao",
        "nhanthuong",
        "trungthuong",
        "khuyenmai",
        "uudai",
        "quatang",
        "lixi",
        "mienphi",
        "hoanthue",
        "vneid",
    }
)

# Redirectors whose target sits in a query parameter.
REDIRECT_PARAMS: Mapping[str, tuple[str, ...]] = {
    "l.facebook.com": ("u",),
    "lm.facebook.com": ("u",),
    "l.messenger.com": ("u",),
    "l.instagram.com": ("u",),
    "www.google.com": ("q", "url"),
    "google.com": ("q", "url"),
    "www.youtube.com": ("q",),
    "out.reddit.com": ("url",),
    "away.vk.com": ("to",),
    "href.li": (),
}

_TOKEN_SPLIT = regex.compile(r"[^\p{L}\p{N}]+|(?<=\p{L})(?=\p{N})|(?<=\p{N})(?=\p{L})")


@functools.cache
def shorteners() -> frozenset[str]:
    """Return the shipped list of shortener and redirector hosts."""
    lines = (DATA_DIR / "shorteners.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


@functools.cache
def _action_skeletons() -> frozenset[str]:
    return frozenset(skeleton(t) for t in ACTION_TOKENS)


@dataclass(frozen=True, slots=True)
class Lookalike:
    """A host imitating a protected domain."""

    entity: ProtectedEntity | None  # None for the generic government rule
    protected_domain: str
    method: str
    similarity: float


@dataclass(frozen=True, slots=True)
class _Protected:
    entity: ProtectedEntity
    domain: str  # ascii host as listed
    label: str  # label left of the suffix
    suffix: str
    label_skeleton: str


class _DomainTable:
    """Protected domains of an entity index, prepared for the lookalike methods."""

    def __init__(self, index: EntityIndex) -> None:
        from moderation.detect.urls import _extractor, normalise_domain

        self.exact: dict[str, ProtectedEntity] = {}
        self.wildcard_suffixes: dict[str, ProtectedEntity] = {}
        self.by_skeleton: dict[str, list[_Protected]] = {}
        self.short_tokens: dict[str, list[_Protected]] = {}
        self.automaton: Any = ahocorasick.Automaton()
        protected: list[_Protected] = []
        for entity, listed in index.domains():
            wildcard = listed.startswith("*.")
            host = normalise_domain(listed)
            if not host:
                continue
            if wildcard:
                self.wildcard_suffixes.setdefault(host, entity)
                continue
            self.exact.setdefault(host, entity)
            ext = _extractor()(host)
            if not ext.domain or ext.subdomain:
                continue  # a subdomain's label belongs to the entity owning the registrable domain
            label_unicode = _unicode_label(ext.domain)
            p = _Protected(entity, host, ext.domain, ext.suffix, skeleton(label_unicode))
            protected.append(p)
            self.by_skeleton.setdefault(p.label_skeleton, []).append(p)
        for p in protected:
            if len(p.label_skeleton) < SHORT_BRAND_LEN:
                self.short_tokens.setdefault(p.label_skeleton, []).append(p)
            else:
                existing = self.automaton.get(p.label_skeleton, None)
                self.automaton.add_word(p.label_skeleton, [*(existing or []), p])
        if len(self.automaton):
            self.automaton.make_automaton()
        self.fuzzy_labels = tuple(s for s in self.by_skeleton if len(s) >= SHORT_BRAND_LEN)

    def official(self, host: str) -> ProtectedEntity | None:
        """Return the entity owning ``host`` (itself or a parent listed), if any."""
        labels = host.split(".")
        for i in range(len(labels)):
            parent = ".".join(labels[i:])
            if parent in self.exact:
                return self.exact[parent]
            if i > 0 and parent in self.wildcard_suffixes:
                return self.wildcard_suffixes[parent]
        return None


def _unicode_label(label: str) -> str:
    if label.startswith("xn--"):
        try:
            return label.encode("ascii").decode("idna")
        except UnicodeError:
            return label
    return label


_tables: dict[int, tuple[EntityIndex, _DomainTable]] = {}


def _table(index: EntityIndex) -> _DomainTable:
    cached = _tables.get(id(index))
    if cached is not None and cached[0] is index:
        return cached[1]
    if len(_tables) > 8:
        _tables.clear()
    table = _DomainTable(index)
    _tables[id(index)] = (index, table)
    return table


def find_lookalikes(norm: NormalisedURL, index: EntityIndex) -> list[Lookalike]:
    """Return the protected domains ``norm``'s host imitates (empty for the entities' own hosts)."""
    if norm.is_ip:
        return []
    table = _table(index)
    host = norm.host
    if table.official(host) is not None:
        return []
    is_gov_suffix = norm.suffix == "gov" or norm.suffix.startswith("gov.") or ".gov." in f".{norm.suffix}."
    found: dict[str, Lookalike] = {}

    def add(entity: ProtectedEntity | None, domain: str, method: str, similarity: float) -> None:
        key = entity.id if entity else "gov"
        if key not in found or found[key].similarity < similarity:
            found[key] = Lookalike(entity, domain, method, round(similarity, 4))

    # A protected domain inside another host, or in the userinfo.
    labels = host.split(".")
    for i in range(len(labels)):
        for j in range(i + 2, len(labels)):  # j < len(labels): a window that is the whole host is official()
            window = ".".join(labels[i:j])
            owner = table.exact.get(window)
            if owner is not None:
                add(owner, window, "embedded_domain", 0.97)
            elif any(window.endswith("." + w) for w in table.wildcard_suffixes):
                suffix = next(w for w in table.wildcard_suffixes if window.endswith("." + w))
                add(table.wildcard_suffixes[suffix], "*." + suffix, "embedded_domain", 0.95)
    if norm.userinfo:
        user = norm.userinfo.lower()
        for d, owner in table.exact.items():
            if d in user:
                add(owner, d, "embedded_domain", 0.97)

    label_u = _unicode_label(norm.domain_label)
    label_sk = skeleton(label_u)
    for p in table.by_skeleton.get(label_sk, ()):
        if label_u.lower() == p.label and norm.suffix != p.suffix:
            add(p.entity, p.domain, "suffix_swap", 0.8)
        elif label_u.lower() != p.label:
            add(p.entity, p.domain, "confusable", 0.99)

    # Brand tokens in every label left of the suffix (subdomains too: "vietcombank.secure-login.top").
    name_part = ".".join(x for x in (norm.subdomain, norm.domain_label) if x)
    name_sk = skeleton(".".join(_unicode_label(x) for x in name_part.split(".")))
    tokens = [t for t in _TOKEN_SPLIT.split(name_sk) if t]
    actions = _action_skeletons()
    has_action = any(t in actions for t in tokens) or any(a in name_sk for a in actions if len(a) >= 6)
    if len(table.automaton):
        for _end, plist in table.automaton.iter(name_sk):
            for p in plist:
                if p.label_skeleton == label_sk:
                    continue  # handled above as confusable / suffix swap
                # Brands own many domains ("shopeefood.vn"); without an action word a brand token is weaker evidence.
                add(p.entity, p.domain, "brand_token", 0.95 if has_action else 0.75)
    # Short brands ("acb", "momo", "sbv") are common letter runs: a whole token counts only beside an action word.
    if has_action:
        for t in tokens:
            for p in table.short_tokens.get(t, ()):
                if p.label_skeleton != label_sk or name_part != norm.domain_label:
                    add(p.entity, p.domain, "brand_token", 0.9)

    if not found:
        # Typos: the registrable label and each of its tokens against protected labels.
        for candidate in {label_sk, *tokens}:
            if len(candidate) < SHORT_BRAND_LEN or candidate in table.by_skeleton:
                continue
            max_d = 1 if len(candidate) < 9 else 2
            for choice, dist, _ in process.extract(
                candidate, table.fuzzy_labels, scorer=Levenshtein.distance, score_cutoff=max_d, limit=3
            ):
                for p in table.by_skeleton[choice]:
                    add(p.entity, p.domain, "typo", 1.0 - dist / max(len(choice), len(candidate)))

    if not is_gov_suffix and any(t in GOV_TOKENS for t in tokens):
        add(table.wildcard_suffixes.get("gov.vn"), "*.gov.vn", "government_token", 0.85)
    return sorted(found.values(), key=lambda m: -m.similarity)


def _is_shortener(host: str) -> str | None:
    short = shorteners()
    labels = host.split(".")
    for i in range(len(labels) - 1):
        parent = ".".join(labels[i:])
        if parent in short:
            return parent
    return None


def _redirect_target(norm: NormalisedURL) -> str | None:
    params = REDIRECT_PARAMS.get(norm.host)
    if not params or not norm.query:
        return None
    for key, value in parse_qsl(norm.query, keep_blank_values=True):
        if key in params and value.startswith(("http://", "https://")):
            return value
    return None


def check_url(
    url: str | FoundURL,
    registries: Registries,
    *,
    field: str = "links",
    span: Span | None = None,
    _depth: int = 0,
) -> list[Signal]:
    """Return the link signals for one URL (evidence points at ``span``, or at the whole URL in ``field``)."""
    found = url if isinstance(url, FoundURL) else FoundURL(url, 0, len(url), url)
    norm = normalise_url(found.url)
    if norm is None:
        return []
    if span is None:
        span = Span(field, found.start, found.end, found.raw)
    base: dict[str, Any] = {
        "url": found.raw,
        "normalised_url": norm.url,
        "host": norm.host,
        "host_unicode": norm.host_unicode,
        "registrable_domain": norm.registrable_domain,
        "registrable_unicode": norm.registrable_unicode,
        "obfuscated": found.obfuscated,
    }
    signals: list[Signal] = []

    def emit(key: str, score: float, **attrs: Any) -> None:
        # "verdict" repeats the key for rules that select on an attribute.
        signals.append(Signal("link", key, score, (span,), {**base, "verdict": key, **attrs}, DETECTOR))

    if norm.key in registries.known_unlawful or norm.key_without_query in registries.known_unlawful:
        emit("known_unlawful", 1.0)

    blocklist = registries.blocklist
    url_feeds = blocklist.feeds_for_url(norm.key) or blocklist.feeds_for_url(norm.key_without_query)
    if url_feeds:
        emit("blocklisted", 1.0, feed=url_feeds[0], feeds=list(url_feeds), matched=norm.key)
    else:
        for candidate in parent_domains(norm.host, norm.registrable_domain):
            feeds = blocklist.feeds_for_host(candidate)
            if feeds:
                emit("blocklisted", 1.0, feed=feeds[0], feeds=list(feeds), matched=candidate)
                break

    for match in find_lookalikes(norm, registries.entities):
        emit(
            "lookalike",
            match.similarity,
            protected_entity=match.entity.id if match.entity else "vn-government",
            protected_entity_name=match.entity.name if match.entity else "Cơ quan nhà nước (*.gov.vn)",
            protected_domain=match.protected_domain,
            method=match.method,
            similarity=match.similarity,
        )

    target = _redirect_target(norm)
    if target is not None and _depth < 2:
        for sig in check_url(target, registries, span=span, _depth=_depth + 1):
            signals.append(Signal(sig.kind, sig.key, sig.score, sig.spans, {**sig.attrs, "via": norm.url}, DETECTOR))
    elif (shortener := _is_shortener(norm.host)) is not None or norm.host in REDIRECT_PARAMS:
        emit("shortener", 0.5, shortener=shortener or norm.host)
    return signals


def check_text(field: str, text: str, registries: Registries) -> list[Signal]:
    """Extract the URLs written in one field's text and check each."""
    out: list[Signal] = []
    for found in extract_urls(text):
        out.extend(check_url(found, registries, field=field))
    return out


def _html_links(html: str) -> list[tuple[str, int, int]]:
    """Return (url, start, end) of ``href``/``src`` values with the text engineer's extractor, if present."""
    try:
        from moderation.text.extract import extract_html
    except ImportError:  # the extractor is optional: the text search below still finds written URLs
        return []
    return [(link.url, link.start, link.end) for link in extract_html(html).links]


def detect_links(
    item: Item,
    registries: Registries,
    *,
    extracted: Mapping[str, Sequence[tuple[str, int, int]]] | None = None,
    fields: Iterable[str] | None = None,
) -> list[Signal]:
    """Check every link of an item: URLs written in its text fields, HTML ``href``/``src`` and ``item.links``.

    ``extracted`` maps a field name to (url, start, end) triples already found by the HTML extractor; when it is
    not given and the body is HTML, the extractor is run here. Text is searched as well, and a URL at an already
    covered span is not checked twice. A URL the platform listed separately in ``item.links[i]`` is reported in
    field ``links[i]`` (offsets into that string).
    """
    if extracted is None:
        extracted = {}
        if item.body_format == "html" and item.fields.get("body"):
            extracted = {"body": _html_links(item.fields["body"])}
    names = list(fields) if fields is not None else list(item.fields)
    out: list[Signal] = []
    for name in names:
        text = item.fields.get(name, "")
        seen: list[tuple[int, int]] = []
        for found in found_from_spans(text, extracted.get(name, ())):
            seen.append((found.start, found.end))
            out.extend(check_url(found, registries, field=name))
        for found in extract_urls(text):
            if any(found.start < b and a < found.end for a, b in seen):
                continue
            out.extend(check_url(found, registries, field=name))
    for i, link in enumerate(item.links):
        out.extend(check_url(link, registries, field=f"links[{i}]"))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Following links (off by default)


class UnsafeURLError(ValueError):
    """A URL that must not be fetched (scheme, address, redirect or size)."""


# Metadata endpoints that are not covered by the private/link-local ranges on every cloud.
_METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("fd00:ec2::254"),
        ipaddress.ip_address("100.100.100.200"),
    }
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(address: str) -> bool:
    """Tell whether ``address`` is a globally routable unicast address a fetch may connect to.

    IPv4-mapped, NAT64 and 6to4 IPv6 forms are judged by the IPv4 address they carry.
    """
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
    if ip in _METADATA_ADDRESSES:
        return False
    return bool(ip.is_global and not ip.is_multicast and not ip.is_reserved and not ip.is_loopback)


Resolver = Callable[[str, int], Sequence[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Resolve ``host`` with the system resolver (every address, v4 and v6)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_public(host: str, port: int, resolver: Resolver = system_resolver) -> str:
    """Resolve ``host`` and return an address to connect to; refuse if ANY address is not public.

    Refusing on any non-public answer (not only the first) defeats a name that mixes a public and a private address.
    """
    try:
        ipaddress.ip_address(host)
        addresses: Sequence[str] = [host]
    except ValueError:
        try:
            addresses = resolver(host, port)
        except OSError as exc:
            raise UnsafeURLError(f"cannot resolve {host}: {exc}") from exc
    if not addresses:
        raise UnsafeURLError(f"{host} has no address")
    bad = [a for a in addresses if not is_public_address(a)]
    if bad:
        raise UnsafeURLError(f"{host} resolves to a non-public address {bad[0]}")
    return addresses[0]


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What a fetch returned."""

    url: str
    final_url: str
    status: int
    content: bytes
    content_type: str
    redirects: tuple[str, ...]
    truncated: bool


def safe_fetch(
    url: str,
    *,
    timeout: float = 5.0,
    max_bytes: int = 2_000_000,
    max_redirects: int = 5,
    resolver: Resolver = system_resolver,
    transport: httpx.BaseTransport | None = None,
    raise_on_truncate: bool = False,
) -> FetchResult:
    """Fetch ``url`` over http(s) without reaching internal addresses (see the module docstring).

    The request goes to the checked IP address with the original ``Host`` header and TLS server name, so a second
    DNS answer cannot redirect it. Redirects are followed by hand, each target checked the same way.
    """
    import httpx  # here: the classifier imports this module, and only a fetch needs httpx (~80 ms to import)

    redirects: list[str] = []
    current = url
    with httpx.Client(
        transport=transport, timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False
    ) as client:
        for _ in range(max_redirects + 1):
            parts = httpx.URL(current)
            if parts.scheme not in {"http", "https"}:
                raise UnsafeURLError(f"scheme {parts.scheme!r} is not fetched")
            host = parts.host
            if not host:
                raise UnsafeURLError("URL has no host")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            address = resolve_public(host, port, resolver)
            ip_host = f"[{address}]" if ":" in address else address
            target = parts.copy_with(host=ip_host.strip("[]"), port=port)
            headers = {"Host": host if parts.port is None else f"{host}:{parts.port}", "User-Agent": "vn-moderation"}
            extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
            request = client.build_request("GET", target, headers=headers, extensions=extensions)
            response = client.send(request, stream=True)
            try:
                if response.is_redirect and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    redirects.append(current)
                    continue
                declared = int(response.headers.get("content-length") or 0)
                if declared > max_bytes and raise_on_truncate:
                    raise UnsafeURLError(f"response of {declared} bytes exceeds {max_bytes}")
                chunks: list[bytes] = []
                size = 0
                truncated = False
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > max_bytes:
                        truncated = True
                        break
                if truncated and raise_on_truncate:
                    raise UnsafeURLError(f"response exceeds {max_bytes} bytes")
                content = b"".join(chunks)[:max_bytes]
                return FetchResult(
                    url=url,
                    final_url=current,
                    status=response.status_code,
                    content=content,
                    content_type=response.headers.get("content-type", ""),
                    redirects=tuple(redirects),
                    truncated=truncated,
                )
            finally:
                response.close()
    raise UnsafeURLError(f"more than {max_redirects} redirects")
