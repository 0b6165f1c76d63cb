"""Blocklist feeds: parsers for hosts files, domain lists and URL lists, their provenance, and the lookup index.

A feed is a third-party list (e.g. Chống Lừa Đảo's phishing hostnames, BSD-3-Clause) imported under a name; each
import records where it came from, when, in which format, how many entries were kept and rejected, and a SHA-256 of
the bytes, so a decision citing a feed can be traced to the exact list.

:class:`BlocklistIndex` answers "is this host (or URL) on a feed, and which ones" in O(1) expected time at millions
of entries: keys are 64-bit BLAKE2b hashes kept in one sorted ``uint64`` array, bucketed by their top bits (a bucket
offset table of about one slot per key), with a parallel ``uint64`` bit mask of the feeds holding each key (up to 64
feeds). Memory is about 20-24 bytes per entry (8 key + 8 mask + 4-8 offsets); 64-bit hashes make a false hit
unlikely (~n/2^64 per lookup).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from moderation.detect.urls import normalise_domain, normalise_url

FORMATS = ("hosts", "domains", "urls")
MAX_FEEDS = 64  # one bit per feed in the mask

_SINKHOLE_NAMES = frozenset({"localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost"})


@dataclass(frozen=True, slots=True)
class FeedProvenance:
    """Where a feed came from and what its import kept."""

    name: str
    source: str  # file path or URL it was read from
    format: str  # hosts | domains | urls
    imported_at: str  # RFC 3339, UTC
    entry_count: int
    rejected: int = 0
    sha256: str = ""
    licence: str = ""
    notice: str = ""  # a licence notice to keep when redistributing (BSD-3 for Chống Lừa Đảo)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "format": self.format,
            "imported_at": self.imported_at,
            "entry_count": self.entry_count,
            "rejected": self.rejected,
            "sha256": self.sha256,
            "licence": self.licence,
            "notice": self.notice,
        }


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The entries of one feed: normalised hosts, and normalised URLs without their scheme (``NormalisedURL.key``)."""

    provenance: FeedProvenance
    domains: tuple[str, ...]
    urls: tuple[str, ...] = ()
    rejected_examples: tuple[str, ...] = ()


def _content_lines(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        text = line.strip().lstrip("\ufeff")
        if not text or text.startswith(("#", "!", "[", "//")):
            continue
        # Inline comments in hosts files and lists.
        text = text.split(" #", 1)[0].split("\t#", 1)[0].strip()
        if text:
            yield text


def _host(token: str) -> str | None:
    """Normalise a feed entry; a single label ("localhost", a stray word) is not a blockable domain."""
    host = normalise_domain(token)
    return host if host and ("." in host or ":" in host) else None


def _is_ip(token: str) -> bool:
    try:
        ipaddress.ip_address(token)
    except ValueError:
        return False
    return True


def parse_hosts(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """Parse a hosts file (``0.0.0.0 evil.example other.example``); return (hosts, rejected lines)."""
    hosts: list[str] = []
    rejected: list[str] = []
    for line in _content_lines(lines):
        tokens = line.split()
        names = tokens[1:] if tokens and _is_ip(tokens[0]) else tokens
        for name in names:
            if name.lower() in _SINKHOLE_NAMES:
                continue
            host = _host(name)
            (hosts.append(host) if host else rejected.append(line))
    return hosts, rejected


def parse_domain_list(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """Parse one domain per line (also ``*.x``, ``||x^`` adblock rules, ``x,comment`` CSV); return (hosts, rejected)."""
    hosts: list[str] = []
    rejected: list[str] = []
    for line in _content_lines(lines):
        host = _host(_domain_token(line))
        (hosts.append(host) if host else rejected.append(line))
    return hosts, rejected


def _domain_token(line: str) -> str:
    token = line.split(",", 1)[0].split(maxsplit=1)[0]
    if token.startswith("||"):
        token = token[2:].split("^", 1)[0]
    return token


def parse_url_list(lines: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Parse one URL per line; a line that is only a host counts as a host. Return (hosts, urls, rejected).

    Domain lists with a few URL lines (Chống Lừa Đảo lists ``apps.apple.com/us/app/…`` beside hostnames) are read
    with this parser too, so such lines become URL entries instead of being rejected.
    """
    hosts: list[str] = []
    urls: list[str] = []
    rejected: list[str] = []
    for line in _content_lines(lines):
        tokens = line.split()
        if len(tokens) > 1 and _is_ip(tokens[0]):  # a hosts-file line inside a list
            more, bad = parse_hosts([line])
            hosts.extend(more)
            rejected.extend(bad)
            continue
        token = _domain_token(line)
        if "/" not in token and "?" not in token:
            host = _host(token)
            (hosts.append(host) if host else rejected.append(line))
            continue
        norm = normalise_url(token)
        if norm is None:
            rejected.append(line)
        elif norm.path == "/" and not norm.query:
            hosts.append(norm.host)  # "http://evil.example/" blocks the whole host
        else:
            urls.append(norm.key)
    return hosts, urls, rejected


def detect_format(lines: Sequence[str]) -> str:
    """Guess a feed's format from its first content lines."""
    sample = [line for _, line in zip(range(200), _content_lines(lines), strict=False)]
    if not sample:
        return "domains"
    ip_first = sum(1 for line in sample if _is_ip(line.split()[0]))
    has_path = sum(1 for line in sample if "://" in line or "/" in line.split()[0])
    if ip_first * 2 >= len(sample):
        return "hosts"
    if has_path * 2 >= len(sample):
        return "urls"
    return "domains"


def parse_feed(
    name: str,
    data: bytes | str,
    *,
    source: str = "",
    format: str = "auto",  # the CLI option and stored column are called format
    licence: str = "",
    notice: str = "",
    imported_at: dt.datetime | None = None,
) -> ParsedFeed:
    """Parse a feed's bytes into normalised entries with a provenance record."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    fmt = detect_format(lines) if format == "auto" else format
    if fmt not in FORMATS:
        raise ValueError(f"unknown feed format {fmt!r}; expected one of {', '.join(FORMATS)} or auto")
    urls: list[str] = []
    if fmt == "hosts":
        hosts, rejected = parse_hosts(lines)
    else:
        hosts, urls, rejected = parse_url_list(lines)
    hosts_u = tuple(dict.fromkeys(hosts))
    urls_u = tuple(dict.fromkeys(urls))
    when = (imported_at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    prov = FeedProvenance(
        name=name,
        source=source,
        format=fmt,
        imported_at=when.isoformat().replace("+00:00", "Z"),
        entry_count=len(hosts_u) + len(urls_u),
        rejected=len(rejected),
        sha256=hashlib.sha256(raw).hexdigest(),
        licence=licence,
        notice=notice,
    )
    return ParsedFeed(prov, hosts_u, urls_u, tuple(rejected[:20]))


def read_feed_file(name: str, path: str | Path, *, format: str = "auto", licence: str = "") -> ParsedFeed:
    """Read and parse a feed file; the licence notice next to it (``LICENSE``) is kept in the provenance."""
    p = Path(path)
    notice = ""
    licence_file = p.parent / "LICENSE"
    if licence_file.is_file():
        notice = licence_file.read_text(encoding="utf-8", errors="replace")[:4000]
    return parse_feed(name, p.read_bytes(), source=str(p), format=format, licence=licence, notice=notice)


def key_hash(key: str) -> int:
    """Return the 64-bit hash the index stores for ``key``."""
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little")


def domain_key(host: str) -> str:
    return "d:" + host


def url_key(url: str) -> str:
    return "u:" + url


_EMPTY_U64: npt.NDArray[np.uint64] = np.zeros(0, dtype=np.uint64)


@dataclass(frozen=True)
class BlocklistIndex:
    """Hosts and URLs of every imported feed, looked up in O(1) expected time (see the module docstring)."""

    feeds: tuple[FeedProvenance, ...] = ()
    keys: npt.NDArray[np.uint64] = field(default_factory=lambda: _EMPTY_U64, repr=False)
    masks: npt.NDArray[np.uint64] = field(default_factory=lambda: _EMPTY_U64, repr=False)
    offsets: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(2, dtype=np.int64), repr=False)
    shift: int = 63

    @classmethod
    def build(cls, feeds: Iterable[ParsedFeed]) -> BlocklistIndex:
        """Index the hosts and URLs of ``feeds`` (at most 64 feeds; a key on several feeds keeps all their bits)."""
        feed_list = list(feeds)
        if len(feed_list) > MAX_FEEDS:
            raise ValueError(f"at most {MAX_FEEDS} feeds can be indexed together, got {len(feed_list)}")
        key_parts: list[npt.NDArray[np.uint64]] = []
        mask_parts: list[npt.NDArray[np.uint64]] = []
        for bit, feed in enumerate(feed_list):
            hashes = [key_hash(domain_key(h)) for h in feed.domains]
            hashes.extend(key_hash(url_key(u)) for u in feed.urls)
            arr = np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
            key_parts.append(arr)
            mask_parts.append(np.full(arr.shape, np.uint64(1) << np.uint64(bit), dtype=np.uint64))
        return cls.from_arrays(
            tuple(f.provenance for f in feed_list),
            np.concatenate(key_parts) if key_parts else _EMPTY_U64,
            np.concatenate(mask_parts) if mask_parts else _EMPTY_U64,
        )

    @classmethod
    def from_arrays(
        cls, feeds: tuple[FeedProvenance, ...], keys: npt.NDArray[np.uint64], masks: npt.NDArray[np.uint64]
    ) -> BlocklistIndex:
        """Build from unsorted hash and mask arrays (duplicates are merged by OR-ing their masks)."""
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        masks = masks[order]
        if len(keys):
            starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
            masks = np.bitwise_or.reduceat(masks, starts)
            keys = keys[starts]
        bits = max(1, int(np.ceil(np.log2(max(2, len(keys))))))
        shift = 64 - bits
        buckets = keys >> np.uint64(shift)
        offsets = np.searchsorted(buckets, np.arange((1 << bits) + 1, dtype=np.uint64)).astype(np.int64)
        return cls(feeds=feeds, keys=keys, masks=masks, offsets=offsets, shift=shift)

    def __len__(self) -> int:
        return len(self.keys)

    @property
    def nbytes(self) -> int:
        """Return the bytes held by the index arrays."""
        return int(self.keys.nbytes + self.masks.nbytes + self.offsets.nbytes)

    def _mask(self, key: str) -> int:
        if not len(self.keys):
            return 0
        h = key_hash(key)
        bucket = h >> self.shift
        lo = int(self.offsets[bucket])
        hi = int(self.offsets[bucket + 1])
        keys = self.keys
        for i in range(lo, hi):
            if int(keys[i]) == h:
                return int(self.masks[i])
        return 0

    def _names(self, mask: int) -> tuple[str, ...]:
        return tuple(f.name for bit, f in enumerate(self.feeds) if mask >> bit & 1)

    def feeds_for_host(self, host: str) -> tuple[str, ...]:
        """Return the names of the feeds listing exactly ``host`` (ASCII, lower case)."""
        return self._names(self._mask(domain_key(host)))

    def feeds_for_url(self, url: str) -> tuple[str, ...]:
        """Return the names of the feeds listing exactly ``url`` (a ``NormalisedURL.key``: no scheme)."""
        return self._names(self._mask(url_key(url)))

    def provenance(self, name: str) -> FeedProvenance | None:
        """Return the provenance record of feed ``name``."""
        return next((f for f in self.feeds if f.name == name), None)
