"""Find URLs in text (also obfuscated ones) and normalise them (Circular 07/2008 §3.1, "direct links").

Extraction works on the case- and diacritic-folded text (so ``chấm``/``CHẤM``/``cham`` are one token) and maps every
match back to offsets in the ORIGINAL field text; the URL string itself is rebuilt from the original characters so a
case-sensitive path survives. Recognised forms:

* schemes ``http``/``https``/``ftp`` and the defanged ``hxxp``/``hxxps``, ``http[:]//``;
* bare domains ``abc.vn``, ``abc.com.vn``, ``www.abc.net/path`` (the suffix must be on the public-suffix list);
* defanged dots ``abc[.]vn``, ``abc(.)vn``, ``abc{.}vn``, ``abc[dot]vn``;
* spelled or spaced dots ``abc . vn``, ``abc chấm vn``, ``abc dot com`` — only before a common TLD, because ordinary
  prose contains "word . word" far more often than links do.

Normalisation: IDNA (UTS #46) to punycode and back, lower-case scheme and host, no trailing dot, default ports dropped,
fragment dropped, tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``zarsi`` …) removed, remaining parameters
sorted, percent-escapes canonicalised. The registrable domain comes from the public-suffix list that tldextract bundles
(``suffix_list_urls=()``, no cache directory), so nothing is fetched at start-up.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import idna
import regex

if TYPE_CHECKING:
    import tldextract

from moderation.detect.identity import end_offset, fold_with_offsets

# Parameters that identify a click or a campaign, never the resource.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "igsh",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "zarsi",
        "zacc",
        "__tn__",
        "__cft__",
        "ttclid",
        "twclid",
        "si",
        "ref_src",
        "spm",
        "_ga",
        "_gl",
        "mkt_tok",
        "oly_enc_id",
        "oly_anon_id",
        "vero_id",
        "wickedid",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")

DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}

# TLDs accepted after a spelled or spaced dot ("abc chấm vn"); kept short on purpose (see module docstring).
SPACED_TLDS = (
    "com",
    "vn",
    "net",
    "org",
    "info",
    "xyz",
    "top",
    "site",
    "online",
    "club",
    "shop",
    "store",
    "live",
    "link",
    "click",
    "io",
    "co",
    "me",
    "cc",
    "biz",
    "asia",
    "app",
    "pro",
    "vip",
    "win",
    "bet",
    "fun",
    "icu",
    "cfd",
    "sbs",
    "tk",
)

# Public suffixes that are far more often file extensions in prose than domains ("main.py", "notes.md").
_FILE_LIKE_SUFFIXES = frozenset({"py", "sh", "md", "rs", "ps", "cs", "txt", "doc", "pdf", "jpg", "png"})

_LABEL = r"[\p{L}\p{N}](?:[\p{L}\p{N}_-]{0,61}[\p{L}\p{N}])?"
_ASCII_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_STRICT_DOT = r"(?:\.|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\[cham\]|\(cham\))"
_SPACED_DOT = r"(?:[ \t]+\.[ \t]+|[ \t]+(?:cham|dot)[ \t]+|[ \t]*[\[(](?:cham|dot|\.)[\])][ \t]*)"
_PATH_CHARS = r"[^\s<>\"'`{}|\\^]"

_SPACED_DOT_RE = regex.compile(_SPACED_DOT)
_SCHEMED = regex.compile(rf"(?<![\p{{L}}\p{{N}}])(?:h(?:tt|xx)ps?|ftp)(?::|\[:\])//{_PATH_CHARS}+")
_BARE = regex.compile(
    rf"(?<![\p{{L}}\p{{N}}@._/:-])(?:{_LABEL}{_STRICT_DOT})+{_LABEL}(?::\d{{1,5}})?(?:[/?#]{_PATH_CHARS}*)?"
    rf"(?![\p{{L}}\p{{N}}@])"
)
_SPACED = regex.compile(
    rf"(?<![\p{{L}}\p{{N}}@._/-])(?:{_ASCII_LABEL}{_SPACED_DOT}){{1,3}}(?:{'|'.join(SPACED_TLDS)})(?![\p{{L}}\p{{N}}])"
)
_DEFANG_DOT = regex.compile(
    r"\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\[ch(?:ấ|a\u0302\u0301|â\u0301|a)m\]|\(ch(?:ấ|a\u0302\u0301|â\u0301|a)m\)",
    regex.I,
)
_SPACED_DOT_ORIG = regex.compile(
    r"[ \t]+\.[ \t]+|[ \t]+(?:ch(?:ấ|a\u0302\u0301|â\u0301|a)m|dot)[ \t]+"
    r"|[ \t]*[\[(](?:ch(?:ấ|a\u0302\u0301|â\u0301|a)m|dot|\.)[\])][ \t]*",
    regex.I,
)
_HAS_SCHEME = regex.compile(r"^[a-z][a-z0-9+.-]*://", regex.I)
_OTHER_SCHEME = regex.compile(r"^[a-z][a-z0-9+-]*:(?!\d)", regex.I)
_ASCII_HOST = regex.compile(r"^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)*$")
_TRAILING = ".,;:!?'\"”’»…"
_PERCENT = regex.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    # Imported here: tldextract imports requests (together about 80 ms of start-up), and a process that never reads a
    # registrable domain (`moderation scan` without registries) need not pay for them.
    import tldextract

    # The bundled snapshot only: no suffix-list download, no cache directory to write.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)


@dataclass(frozen=True, slots=True)
class FoundURL:
    """A URL found in a field: ``original[start:end] == raw``; ``url`` is the de-obfuscated form."""

    raw: str
    start: int
    end: int
    url: str
    obfuscated: bool = False
    bare: bool = False  # written without a scheme


@dataclass(frozen=True, slots=True)
class NormalisedURL:
    """A URL in canonical form with the parts the link verdicts need (hosts are ASCII/punycode)."""

    url: str
    scheme: str
    host: str
    host_unicode: str
    port: int | None
    path: str
    query: str
    userinfo: str
    registrable_domain: str  # "" for IP addresses and hosts without a public suffix
    registrable_unicode: str
    suffix: str
    domain_label: str  # the label left of the suffix: "vietcombank" for vietcombank.com.vn
    subdomain: str
    is_ip: bool

    @property
    def without_query(self) -> str:
        """Return the canonical URL without its query string."""
        return self.url.split("?", 1)[0]

    @property
    def key(self) -> str:
        """Return the canonical URL without its scheme: feeds and decisions list ``http`` and ``https`` alike."""
        return self.url.split("://", 1)[1]

    @property
    def key_without_query(self) -> str:
        """Return :attr:`key` without the query string."""
        return self.key.split("?", 1)[0]


def _trim(folded: str, i: int, j: int) -> int:
    """Drop trailing punctuation and an unbalanced closing bracket from a match ``folded[i:j]``."""
    while j > i:
        ch = folded[j - 1]
        if ch in _TRAILING or (ch in ")]" and folded[i:j].count(ch) > folded[i:j].count("(" if ch == ")" else "[")):
            j -= 1
        else:
            break
    return j


def _deobfuscate(raw: str) -> tuple[str, bool]:
    """Return ``raw`` with defanged schemes and dots restored, and whether anything was restored."""
    url = raw
    url = regex.sub(r"^h(?:xx|XX|Xx|xX)p", "http", url)
    url = url.replace("[:]//", "://").replace("[://]", "://")
    url = _DEFANG_DOT.sub(".", url)
    url = _SPACED_DOT_ORIG.sub(".", url)
    return url, url != raw


def split_host(url: str) -> str:
    """Return the host part of a URL written with or without a scheme (lower-cased, no port, no userinfo)."""
    rest = url.split("://", 1)[1] if "://" in url else url
    hostport = regex.split(r"[/?#]", rest, maxsplit=1)[0]
    hostport = hostport.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        return hostport[1:].split("]", 1)[0].lower()
    return hostport.split(":", 1)[0].lower().rstrip(".")


def _has_public_suffix(host: str) -> bool:
    if _is_ip(host):
        return False
    try:
        ext = _extractor()(host)
    except ValueError:
        return False
    return bool(ext.suffix and ext.domain) and not (not ext.subdomain and ext.suffix in _FILE_LIKE_SUFFIXES)


def extract_urls(text: str) -> list[FoundURL]:
    """Return the URLs written in ``text`` with offsets into ``text``, in order of appearance."""
    if not text:
        return []
    folded, offsets = fold_with_offsets(text)
    taken: list[tuple[int, int]] = []
    found: list[FoundURL] = []

    def overlaps(i: int, j: int) -> bool:
        return any(i < b and a < j for a, b in taken)

    for pattern, bare, spaced in ((_SCHEMED, False, False), (_BARE, True, False), (_SPACED, True, True)):
        for m in pattern.finditer(folded):
            i, j = m.start(), _trim(folded, m.start(), m.end())
            if j <= i or overlaps(i, j):
                continue
            start, end = offsets[i], end_offset(offsets, j, text)
            raw = text[start:end]
            url, obfuscated = _deobfuscate(raw)
            if spaced:
                # Spelled dots may be in any normal form ("chấm" NFC or NFD); the folded text has them as "cham".
                url, obfuscated = _SPACED_DOT_RE.sub(".", folded[i:j]), True
            if bare and not _has_public_suffix(split_host(url)):
                continue
            taken.append((i, j))
            found.append(FoundURL(raw=raw, start=start, end=end, url=url, obfuscated=obfuscated, bare=bare))
    found.sort(key=lambda f: f.start)
    return found


def found_from_spans(text: str, spans: Iterable[tuple[str, int, int] | Any]) -> list[FoundURL]:
    """Wrap links found elsewhere (HTML ``href``/``src`` by the text extractor) as :class:`FoundURL`s.

    Each entry is a (url, start, end) triple or an object with ``url``, ``start`` and ``end`` attributes
    (``moderation.text.extract.Link``).
    """
    out = []
    for entry in spans:
        url, start, end = entry if isinstance(entry, tuple) else (entry.url, entry.start, entry.end)
        raw = text[start:end] if 0 <= start <= end <= len(text) else url
        out.append(FoundURL(raw=raw, start=start, end=end, url=url.strip(), obfuscated=False, bare="://" not in url))
    return out


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _to_ascii(host: str) -> str:
    if host.isascii() and "xn--" not in host.lower():
        return host.lower()  # nothing for IDNA to do; the caller checks the characters
    try:
        return idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except idna.IDNAError:
        labels = []
        for label in host.split("."):
            if label.isascii():
                labels.append(label.lower())
            else:
                labels.append(idna.encode(label, uts46=True).decode("ascii"))
        return ".".join(labels)


def _to_unicode(host: str) -> str:
    if "xn--" not in host:
        return host
    try:
        return idna.decode(host)
    except (idna.IDNAError, UnicodeError):
        return host


def _canonical_escapes(part: str, safe: str) -> str:
    def fix(m: regex.Match[str]) -> str:
        ch = chr(int(m.group(1), 16))
        return ch if ch in _UNRESERVED else "%" + m.group(1).upper()

    return quote(_PERCENT.sub(fix, part), safe=safe + "%")


def is_tracking_param(name: str) -> bool:
    """Tell whether a query parameter only tracks the click."""
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def normalise_url(url: str) -> NormalisedURL | None:
    """Return the canonical form of ``url`` (written with or without a scheme, possibly defanged), or ``None``."""
    text, _ = _deobfuscate(url.strip())
    if not text:
        return None
    if not _HAS_SCHEME.match(text):
        if _OTHER_SCHEME.match(text):
            return None  # mailto:, javascript:, tel: … (a digit after the colon would be a port)
        text = "http://" + text.lstrip("/")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return None
    raw_host = (parts.hostname or "").rstrip(".")
    if not raw_host or any(ch.isspace() for ch in raw_host):
        return None
    is_ip = _is_ip(raw_host)
    try:
        host = raw_host.lower() if is_ip else _to_ascii(raw_host)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    if not host or len(host) > 253 or not (is_ip or _ASCII_HOST.match(host)):
        return None
    if port == DEFAULT_PORTS[scheme]:
        port = None
    netloc_host = f"[{host}]" if ":" in host else host
    netloc = netloc_host + (f":{port}" if port is not None else "")
    path = _canonical_escapes(parts.path or "/", safe="/:@!$&'()*+,;=")
    query_pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not is_tracking_param(k)]
    query = urlencode(sorted(query_pairs), quote_via=quote, safe="/:@!$'()*+,;") if query_pairs else ""
    canonical = f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")
    userinfo = parts.netloc.rsplit("@", 1)[0] if "@" in parts.netloc else ""
    if is_ip:
        registrable = suffix = label = subdomain = ""
    else:
        ext = _extractor()(host)
        suffix = ext.suffix
        label = ext.domain
        subdomain = ext.subdomain
        registrable = f"{ext.domain}.{ext.suffix}" if ext.domain and ext.suffix else ""
    return NormalisedURL(
        url=canonical,
        scheme=scheme,
        host=host,
        host_unicode=host if is_ip else _to_unicode(host),
        port=port,
        path=path,
        query=query,
        userinfo=userinfo,
        registrable_domain=registrable,
        registrable_unicode=_to_unicode(registrable) if registrable else "",
        suffix=suffix,
        domain_label=label,
        subdomain=subdomain,
        is_ip=is_ip,
    )


def normalise_domain(domain: str) -> str | None:
    """Return a host name as lower-case ASCII (punycode), without wildcard or trailing dot, or ``None``."""
    host = domain.strip().lower().rstrip(".")
    if host.startswith("*."):
        host = host[2:]
    if host.startswith("."):
        host = host[1:]
    if not host or any(ch.isspace() or ch in "/:@?#" for ch in host):
        return None
    if _is_ip(host):
        return host
    try:
        ascii_host = _to_ascii(host)
    except (idna.IDNAError, UnicodeError, ValueError):
        return None
    return ascii_host if ascii_host and len(ascii_host) <= 253 and _ASCII_HOST.match(ascii_host) else None


def registrable_domain(host: str) -> str:
    """Return the registrable domain (eTLD+1) of an ASCII host, or ``""`` when it has none (IPs, bare suffixes)."""
    if _is_ip(host):
        return ""
    ext = _extractor()(host)
    return f"{ext.domain}.{ext.suffix}" if ext.domain and ext.suffix else ""


def parent_domains(host: str, registrable: str | None = None) -> list[str]:
    """Return ``host`` and each parent down to its registrable domain (``a.b.c.vn`` -> a.b.c.vn, b.c.vn, c.vn)."""
    if registrable is None:
        registrable = registrable_domain(host)
    out = [host]
    if not registrable or registrable == host or not host.endswith("." + registrable):
        return out
    labels = host[: -len(registrable) - 1].split(".")
    for i in range(1, len(labels)):
        out.append(".".join(labels[i:]) + "." + registrable)
    out.append(registrable)
    return out
