"""Turn an HTML body into plain text whose every character points back into the HTML, and collect its links.

The stdlib :mod:`html.parser` is lenient with malformed markup; entities are decoded one by one so that each
decoded character maps to the entity's span. ``script``, ``style`` and ``template`` content is dropped; block
elements and ``<br>`` become line breaks (mapped to the tag that caused them). Links are the values of ``href``
and ``src`` attributes, with the original offsets of the value (inside the quotes).
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

import numpy as np
import numpy.typing as npt

from moderation.text.normalise import Normalised, normalise

__all__ = ["Extracted", "Link", "extract_html", "extract_text", "normalise_html"]

IntArray = npt.NDArray[np.int64]

_BLOCK_TAGS = """
address article aside blockquote br dd details dialog div dl dt fieldset figcaption figure footer form
h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table td th tr ul caption
"""
_BLOCK = frozenset(_BLOCK_TAGS.split())
_DROPPED = frozenset({"script", "style", "template", "noscript", "head", "title"})
_LINK_ATTRS = frozenset({"href", "src"})
_ATTR_RE = re.compile(r"""([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"?|'([^']*)'?|([^\s>]*)))?""")


@dataclass(frozen=True, slots=True)
class Link:
    """A URL found in an attribute; ``start``/``end`` delimit the raw attribute value in the original HTML."""

    url: str
    start: int
    end: int
    tag: str
    attr: str


@dataclass(frozen=True, slots=True, eq=False)
class Extracted:
    """Text extracted from HTML; ``text[i]`` came from ``original[starts[i]:ends[i]]``."""

    original: str
    text: str
    starts: IntArray = field(repr=False)
    ends: IntArray = field(repr=False)
    links: tuple[Link, ...] = ()

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map ``[start, end)`` of ``text`` to the span of ``original`` it came from."""
        n = len(self.text)
        start = min(max(start, 0), n)
        end = min(max(end, start), n)
        if start == end:
            pos = int(self.starts[start]) if start < n else (int(self.ends[n - 1]) if n else 0)
            return pos, pos
        lo = int(self.starts[start])
        return lo, max(lo, int(self.ends[end - 1]))


class _Parser(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", source)]
        self.pieces: list[str] = []
        self.lo: list[int] = []
        self.hi: list[int] = []
        self.links: list[Link] = []
        self.dropped_depth = 0
        self.last_newline = True

    def _offset(self) -> int:
        line, col = self.getpos()
        return min(self.line_starts[line - 1] + col, len(self.source))

    def _emit(self, text: str, start: int, end: int, *, one_to_one: bool) -> None:
        if not text or self.dropped_depth:
            return
        if one_to_one and end - start == len(text):
            self.lo.extend(range(start, end))
            self.hi.extend(range(start + 1, end + 1))
        else:
            self.lo.extend([start] * len(text))
            self.hi.extend([max(end, start + 1)] * len(text))
        self.pieces.append(text)
        self.last_newline = text.endswith("\n")

    def _newline(self, start: int, end: int) -> None:
        if not self.last_newline and not self.dropped_depth:
            self._emit("\n", start, end, one_to_one=False)

    def _tag_end(self, start: int) -> int:
        raw = self.get_starttag_text() or ""
        return start + len(raw) if raw else start + 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        raw = self.get_starttag_text() or ""
        end = start + len(raw)
        if tag in _DROPPED:
            self.dropped_depth += 1
        if raw and any(name in _LINK_ATTRS for name, _ in attrs):
            self._links(tag, raw, start)
        if tag in _BLOCK:
            self._newline(start, end)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        raw = self.get_starttag_text() or ""
        if raw and any(name in _LINK_ATTRS for name, _ in attrs):
            self._links(tag, raw, start)
        if tag in _BLOCK:
            self._newline(start, start + len(raw))

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        if tag in _DROPPED:
            self.dropped_depth = max(0, self.dropped_depth - 1)
            return
        if tag in _BLOCK:
            close = self.source.find(">", start)
            self._newline(start, close + 1 if close >= 0 else start + 1)

    def _links(self, tag: str, raw: str, start: int) -> None:
        # Skip the tag name, then read attributes with their positions inside the raw tag text.
        name_end = re.match(r"<[^\s/>]*", raw)
        pos = name_end.end() if name_end else 1
        for m in _ATTR_RE.finditer(raw, pos):
            name = m.group(1).lower()
            if name not in _LINK_ATTRS:
                continue
            for g in (2, 3, 4):
                if m.group(g) is not None:
                    value = m.group(g)
                    v_start = start + m.start(g)
                    url = html.unescape(value).strip()
                    if url:
                        self.links.append(Link(url, v_start, v_start + len(value), tag, name))
                    break

    def handle_data(self, data: str) -> None:
        start = self._offset()
        self._emit(data, start, start + len(data), one_to_one=True)

    def handle_entityref(self, name: str) -> None:
        start = self._offset()
        end = start + 1 + len(name)
        if self.source.startswith(";", end):
            end += 1
        raw = self.source[start:end]
        self._emit(html.unescape(raw), start, end, one_to_one=False)

    def handle_charref(self, name: str) -> None:
        start = self._offset()
        end = start + 2 + len(name)
        if self.source.startswith(";", end):
            end += 1
        raw = self.source[start:end]
        self._emit(html.unescape(raw), start, end, one_to_one=False)

    def unknown_decl(self, data: str) -> None:
        # <![CDATA[...]]> outside foreign content: keep the text, it is what a browser would show in XHTML
        if data.startswith("CDATA["):
            start = self._offset() + len("<![CDATA[")
            self._emit(data[6:], start, start + len(data) - 6, one_to_one=True)


def extract_html(source: str) -> Extracted:
    """Extract visible text and links from ``source`` (never raises on malformed HTML)."""
    parser = _Parser(source)
    try:
        parser.feed(source)
        parser.close()
    except (AssertionError, ValueError, IndexError):  # pragma: no cover - html.parser is lenient; belt and braces
        pass
    text = "".join(parser.pieces)
    lo = np.fromiter(parser.lo, dtype=np.int64, count=len(parser.lo))
    hi = np.fromiter(parser.hi, dtype=np.int64, count=len(parser.hi))
    np.clip(lo, 0, len(source), out=lo)
    np.clip(hi, 0, len(source), out=hi)
    hi = np.maximum(hi, lo)
    return Extracted(source, text, lo, hi, tuple(parser.links))


def extract_text(source: str) -> Extracted:
    """Wrap plain text in an :class:`Extracted` with the identity map (no links are parsed from plain text)."""
    idx = np.arange(len(source), dtype=np.int64)
    return Extracted(source, source, idx, idx + 1, ())


def normalise_html(source: str) -> tuple[Extracted, Normalised]:
    """Extract ``source`` and normalise the text; the :class:`Normalised` maps straight back into the HTML."""
    ex = extract_html(source)
    n = normalise(ex.text)
    if not len(n.text):
        return ex, Normalised(source, n.text, n.folded, n.starts, n.ends, n.flags)
    starts = ex.starts[n.starts]
    ends = ex.ends[n.ends - 1]
    return ex, Normalised(source, n.text, n.folded, starts, np.maximum(ends, starts), n.flags)


def line_of(source: str, offset: int) -> int:
    """Return the 1-based line of ``offset`` in ``source`` (for messages)."""
    return bisect.bisect_right([m.end() for m in re.finditer("\n", source)], offset) + 1
