"""Match thousands of lexicon terms in one pass over normalised text.

Terms are normalised with the same pipeline as the text (so ``"dm"`` in a pack and ``"đ.m"`` in a comment meet
as ``"địt mẹ"``). Accent-sensitive terms are matched against :attr:`Normalised.text`, accent-insensitive ones
against :attr:`Normalised.folded`. A hit must cover whole syllables: ``lon`` does not match inside ``long``.

Hyperscan does the scanning when it is available (about 170 MB/s here); pyahocorasick is the fallback.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import numpy as np

from moderation.domain import Signal, Span
from moderation.text.normalise import Normalised, normalise, normalise_term

IntArray = np.ndarray[Any, np.dtype[np.int64]]

__all__ = ["DETECTOR", "Lexicon", "LexiconHit", "Term", "hits_to_signals"]

DETECTOR = "lexicon/1"

_s: Any
try:  # the compiled per-hit loop (moderation/_ext/_scan.pyx); without it the Python loop below does the same work
    from moderation._ext import _scan as _s
except ImportError:  # pragma: no cover - depends on the build
    _s = None

_hs: Any
try:  # pragma: no cover - depends on the platform
    import hyperscan as _hs

    from moderation.hscache import compile_database
except ImportError:  # pragma: no cover
    _hs = None


@dataclass(frozen=True, slots=True)
class Term:
    """One lexicon entry; ``id`` is what a hit reports (several terms may share an id)."""

    id: str
    text: str
    accent_sensitive: bool = False


class LexiconHit(NamedTuple):
    """A term found in a text; ``start``/``end`` are offsets into the ORIGINAL string that was normalised.

    A named tuple rather than a dataclass: a short common term in a large lexicon yields thousands of hits, and
    building a tuple costs a fraction of a frozen dataclass.
    """

    term_id: str
    start: int
    end: int


class _Scanner(Protocol):
    def scan(self, data: bytes) -> list[tuple[int, int]]:
        """Return (pattern index, end byte offset) for every occurrence."""
        ...

    def scan_arrays(self, data: bytes) -> tuple[IntArray, IntArray]:
        """Return :meth:`scan`'s pattern indexes and end byte offsets as two arrays."""
        ...

    def scan_flat(self, data: bytes) -> list[int]:
        """Return :meth:`scan`'s hits as one flat list: pattern index, end byte offset, pattern index, ..."""
        ...


def _is_ascii_word(byte: int) -> bool:
    return byte < 0x80 and (chr(byte).isalnum() or byte == 0x5F)


def literal_expression(pattern: bytes) -> bytes:
    """A literal Hyperscan expression; ``\\b`` at an edge whose byte is an ASCII word character.

    Hyperscan's ``\\b`` (without UCP) only knows ASCII word characters: it drops the many hits inside ASCII words
    ("la" in "lam") before they reach Python, and lets through hits next to non-ASCII letters, which
    :meth:`Lexicon.find` still checks with ``str.isalnum``.
    """
    body = b"".join(b"\\x%02x" % byte for byte in pattern)
    head = b"\\b" if _is_ascii_word(pattern[0]) else b""
    tail = b"\\b" if _is_ascii_word(pattern[-1]) else b""
    return head + body + tail


class LiteralScanner:
    """Byte literals in one Hyperscan database (:func:`literal_expression` each); :meth:`scan` from any thread."""

    def __init__(self, patterns: Sequence[bytes]) -> None:
        assert _hs is not None
        expressions = [literal_expression(p) for p in patterns]
        self._db = compile_database(expressions, range(len(patterns)), [0] * len(patterns))  # cached on disk
        self._local = threading.local()  # scratch space may not be shared between threads

    def _scratch(self) -> Any:
        """This thread's scratch space for the database (made on its first scan)."""
        scratch = self._local.__dict__.get("scratch")
        if scratch is None:
            assert _hs is not None
            scratch = self._local.scratch = _hs.Scratch(self._db)
        return scratch

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        append = found.append

        def on_match(pid: int, _from: int, to: int, _flags: int, _ctx: Any) -> None:
            append((pid, to))

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch())
        return found

    def scan_arrays(self, data: bytes) -> tuple[IntArray, IntArray]:
        """:meth:`scan` as two arrays (pattern indexes, end byte offsets): the callback appends two ints and numpy
        converts the flat list at once, no tuple per match."""
        flat = np.array(self.scan_flat(data), dtype=np.int64)
        return flat[0::2], flat[1::2]

    def scan_flat(self, data: bytes) -> list[int]:
        """:meth:`scan` as one flat list (pattern index, end byte offset, ...): no tuple per match, and no numpy
        for the few hits of most texts. With the compiled extension the match handler is ``_scan.FlatHits`` (no
        Python frame per match); the arguments go by position (Hyperscan's keyword parsing costs about 1 µs)."""
        if _s is not None:
            handler = _s.FlatHits()
            self._db.scan(data, handler, 0, None, self._scratch())
            hits: list[int] = handler.hits
            return hits
        found: list[int] = []
        append = found.append

        def on_match(pid: int, _from: int, to: int, _flags: int, _ctx: Any) -> None:
            append(pid)
            append(to)

        self._db.scan(data, match_event_handler=on_match, scratch=self._scratch())
        return found


class _AhoCorasickScanner:
    def __init__(self, patterns: Sequence[bytes]) -> None:
        import ahocorasick

        # pyahocorasick works on str; latin-1 maps bytes one to one so byte offsets survive.
        self._automaton = ahocorasick.Automaton()
        for i, p in enumerate(patterns):
            self._automaton.add_word(p.decode("latin-1"), i)
        self._automaton.make_automaton()

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        if not len(self._automaton):
            return []
        return [(pid, end + 1) for end, pid in self._automaton.iter(data.decode("latin-1"))]

    def scan_arrays(self, data: bytes) -> tuple[IntArray, IntArray]:
        found = self.scan(data)
        flat = np.array(found, dtype=np.int64).reshape(-1, 2)
        return flat[:, 0], flat[:, 1]

    def scan_flat(self, data: bytes) -> list[int]:
        return [x for hit in self.scan(data) for x in hit]


def _make_scanner(patterns: Sequence[bytes], engine: str) -> _Scanner | None:
    if not patterns:
        return None
    if engine == "hyperscan" or (engine == "auto" and _hs is not None):
        return LiteralScanner(patterns)
    return _AhoCorasickScanner(patterns)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class Lexicon:
    """A compiled set of terms; build with :meth:`compile` and reuse (compilation is the expensive part).

    Accented forms and folded forms share one automaton: the accented text and the folded text are scanned in one
    call (as ``text NUL folded``, or once when both are equal, as for text typed without diacritics), and a hit
    counts only inside the part its form belongs to.
    """

    def __init__(
        self,
        terms: tuple[Term, ...],
        forms: tuple[list[str], list[str]],
        ids: tuple[list[tuple[str, ...]], list[tuple[str, ...]]],
        engine: str,
    ) -> None:
        self.terms = terms
        self._forms = forms
        self._n_accented = len(forms[0])
        encoded = [f.encode() for f in (*forms[0], *forms[1])]
        self._lengths = [len(b) for b in encoded]
        self._lengths_arr = np.array(self._lengths, dtype=np.int64)
        self._ids: list[tuple[str, ...]] = [tuple(sorted(i)) for i in (*ids[0], *ids[1])]
        self.engine = engine
        self._scanner = _make_scanner(encoded, engine)
        digest = hashlib.sha256()
        for t in terms:
            digest.update(f"{t.id}\x1f{t.text}\x1f{int(t.accent_sensitive)}\x1e".encode())
        self.fingerprint = digest.hexdigest()

    @classmethod
    def compile(cls, terms: Iterable[Term], *, engine: str = "auto") -> Lexicon:
        """Normalise and compile ``terms``; ``engine`` is ``auto``, ``hyperscan`` or ``aho-corasick``."""
        if engine not in {"auto", "hyperscan", "aho-corasick"}:
            raise ValueError(f"unknown engine {engine!r}")
        if engine == "hyperscan" and _hs is None:  # pragma: no cover
            raise RuntimeError("hyperscan is not installed")
        term_tuple = tuple(terms)
        # form -> term ids, separately for accented (0) and folded (1) matching
        maps: tuple[dict[str, list[str]], dict[str, list[str]]] = ({}, {})
        for term in term_tuple:
            text, folded = normalise_term(term.text)
            form, which = (text, 0) if term.accent_sensitive else (folded, 1)
            if not form or "\x00" in form:
                continue
            ids = maps[which].setdefault(form, [])
            if term.id not in ids:
                ids.append(term.id)
        forms = (list(maps[0]), list(maps[1]))
        term_ids = ([tuple(maps[0][f]) for f in forms[0]], [tuple(maps[1][f]) for f in forms[1]])
        return cls(term_tuple, forms, term_ids, "hyperscan" if engine == "auto" and _hs is not None else engine)

    def __len__(self) -> int:
        return len(self.terms)

    def spans(
        self, normalised: Normalised | str, *, per_form_limit: int | None = None
    ) -> dict[tuple[int, int], tuple[str, ...]]:
        """Return every whole-syllable hit as ``{(start, end) in original offsets: sorted term ids}``.

        This is :meth:`find` without one object per term id: callers that group hits anyway use it directly.
        ``per_form_limit`` keeps only the first hits of each form (evidence enough, and bounded work on a hostile
        megabyte of one repeated term); a limit per form, not in total, so padding with one term cannot hide
        another.
        """
        n = normalise(normalised) if isinstance(normalised, str) else normalised
        text, folded = n.text, n.folded
        if self._scanner is None or not text:
            return {}
        same = text == folded
        if _s is not None and len(folded) == len(text):
            return self._spans_compiled(n, same, per_form_limit)
        if not same and self._n_accented == 0:  # only folded forms: scan the folded text alone
            fb = folded.encode("utf-8", errors="surrogatepass")
            flat = self._scanner.scan_flat(fb)
            if not flat:
                return {}
            if len(flat) >= 2 * _VECTOR_MIN:  # the accented text's bytes are not needed: offsets into ``folded``
                pids, ends = _split_flat(flat)
                return self._spans_vectorised(n, pids, ends, None, fb, same=False, per_form_limit=per_form_limit)
        tb = text.encode("utf-8", errors="surrogatepass")
        split = len(tb)
        shift = 0  # added to every end offset: where the scanned bytes start in ``text NUL folded``
        if not same and self._n_accented == 0:  # (scanned above) as if after ``text NUL``
            shift = split + 1
        elif same or self._n_accented == len(self._lengths):  # only the accented text holds hits
            fb = b""
            flat = self._scanner.scan_flat(tb)
        else:
            fb = folded.encode("utf-8", errors="surrogatepass")
            flat = self._scanner.scan_flat(tb + b"\x00" + fb)
        if not flat:
            return {}
        if len(flat) >= 2 * _VECTOR_MIN:
            pids, ends = _split_flat(flat)
            return self._spans_vectorised(n, pids, ends + shift, tb, fb, same=same, per_form_limit=per_form_limit)
        # Few hits (most texts): Python lists, no numpy.
        pid_list, end_list = flat[0::2], flat[1::2]
        if _s is not None and len(folded) == len(text):  # compiled: no byte map of the whole text
            few: dict[tuple[int, int], tuple[str, ...]] = _s.lexicon_few(
                pid_list,
                end_list,
                shift,
                self._lengths,
                self._ids,
                self._n_accented,
                same,
                split,
                text,
                folded,
                tb,
                fb,
                per_form_limit if per_form_limit is not None else len(pid_list),
                n.starts,
                n.ends,
            )
            return few
        found = zip(pid_list, end_list, strict=True)
        text_map: np.ndarray[Any, np.dtype[np.int64]] | None = None
        folded_map: np.ndarray[Any, np.dtype[np.int64]] | None = None
        ascii_text = split == len(text)
        out: dict[tuple[int, int], tuple[str, ...]] = {}
        n_acc, lengths, ids, size = self._n_accented, self._lengths, self._ids, len(text)
        limit = per_form_limit if per_form_limit is not None else len(pid_list)
        kept = [0] * len(lengths) if limit < len(pid_list) else None
        for pid, found_end in found:
            if kept is not None and kept[pid] >= limit:
                continue
            end_b = found_end + shift
            start_b = end_b - lengths[pid]
            which = 1 if pid >= n_acc else 0
            if not same:
                if which == 0:
                    if end_b > split:
                        continue  # an accented form found in the folded part
                else:
                    if start_b <= split:
                        continue  # a folded form found in the accented part
                    start_b -= split + 1
                    end_b -= split + 1
            if which == 0 or same:
                haystack = text
                if ascii_text:
                    start, end = start_b, end_b
                else:
                    if text_map is None:
                        text_map = _byte_to_char(tb)
                    start, end = int(text_map[start_b]), int(text_map[end_b - 1]) + 1
            else:
                haystack = folded
                if folded_map is None:
                    folded_map = _byte_to_char(fb) if len(fb) != size else np.arange(size + 1, dtype=np.int64)
                start, end = int(folded_map[start_b]), int(folded_map[end_b - 1]) + 1
            if start > 0 and _is_word_char(haystack[start - 1]):
                continue
            if end < size and _is_word_char(haystack[end]):
                continue
            if kept is not None:
                kept[pid] += 1
            key = n.to_original(start, end)
            got = out.get(key)
            if got is None:
                out[key] = ids[pid]  # already sorted
            elif got != ids[pid]:
                out[key] = tuple(sorted({*got, *ids[pid]}))
        return out

    def _spans_compiled(
        self, n: Normalised, same: bool, per_form_limit: int | None
    ) -> dict[tuple[int, int], tuple[str, ...]]:
        """:meth:`spans` with the compiled extension (``len(n.folded) == len(n.text)``): the scanned bytes made in
        one pass (``_scan.scan_input``) and the hits of most texts read by ``_scan.lexicon_scan_few`` straight from
        the scanner's flat list; many hits go to :meth:`_spans_vectorised` as in the Python path."""
        assert self._scanner is not None
        text, folded = n.text, n.folded
        if not same and self._n_accented == 0:  # only folded forms: the folded text alone
            data, split = _s.scan_input(None, folded)
        elif same or self._n_accented == len(self._lengths):  # only the accented text holds hits
            data, split = _s.scan_input(text, None)
        else:
            data, split = _s.scan_input(text, folded)
        flat = self._scanner.scan_flat(data)
        if not flat:
            return {}
        if len(flat) >= 2 * _VECTOR_MIN:
            pids, ends = _split_flat(flat)
            if split < 0:  # offsets into ``folded``
                return self._spans_vectorised(n, pids, ends, None, data, same=False, per_form_limit=per_form_limit)
            return self._spans_vectorised(
                n, pids, ends, data[:split], data[split + 1 :], same=same, per_form_limit=per_form_limit
            )
        few: dict[tuple[int, int], tuple[str, ...]] = _s.lexicon_scan_few(
            flat,
            self._lengths,
            self._ids,
            self._n_accented,
            same,
            split,
            text,
            folded,
            data,
            len(flat) // 2 if per_form_limit is None else per_form_limit,
            n.starts,
            n.ends,
        )
        return few

    def _spans_vectorised(
        self,
        n: Normalised,
        pid: IntArray,
        end_b: IntArray,
        tb: bytes | None,
        fb: bytes,
        *,
        same: bool,
        per_form_limit: int | None,
    ) -> dict[tuple[int, int], tuple[str, ...]]:
        """:meth:`spans` for many raw hits (end offsets into ``text NUL folded``, or into ``folded`` alone when
        ``tb`` is ``None``: only folded forms, scanned in the folded text): offsets, region and boundary checks and
        the map back in numpy."""
        text, size = n.text, len(n.text)
        start_b = end_b - self._lengths_arr[pid]
        if tb is None:
            in_folded = np.ones(len(pid), dtype=bool)
            split = -1  # never read: every hit is folded
        elif same:
            split = len(tb)
            in_folded = np.zeros(len(pid), dtype=bool)
        else:
            split = len(tb)
            in_folded = pid >= self._n_accented
            if in_folded.all():
                keep = start_b > split
                start_b, end_b = start_b - (split + 1), end_b - (split + 1)
            else:
                keep = np.where(in_folded, start_b > split, end_b <= split)
                start_b = np.where(in_folded, start_b - split - 1, start_b)
                end_b = np.where(in_folded, end_b - split - 1, end_b)
            if not keep.all():
                pid, start_b, end_b, in_folded = pid[keep], start_b[keep], end_b[keep], in_folded[keep]
        # Byte offsets of each kind index their own part's map (built only for the parts that have hits; a part
        # as long in bytes as in characters is ASCII and needs none).
        any_folded = bool(in_folded.any())
        all_folded = any_folded and bool(in_folded.all())
        text_ascii = split == size
        folded_ascii = len(fb) == size
        accented = b"" if tb is None else tb  # read only when some hit is accented, so never empty then
        if all_folded:
            if folded_ascii:
                start, end = start_b, end_b
            else:
                folded_map = _byte_to_char(fb)
                start, end = folded_map[start_b], folded_map[end_b - 1] + 1
        else:
            start = start_b.copy()
            end = end_b.copy()
            acc = ~in_folded
            if not text_ascii:
                text_map = _byte_to_char(accented)
                start[acc], end[acc] = text_map[start_b[acc]], text_map[end_b[acc] - 1] + 1
            if any_folded and not folded_ascii:
                folded_map = _byte_to_char(fb)
                start[in_folded] = folded_map[start_b[in_folded]]
                end[in_folded] = folded_map[end_b[in_folded] - 1] + 1
        # Whole syllables: the characters either side must not be word characters (in the form's own text); the
        # test runs on those characters only (an ASCII part's bytes are its code points).
        before = np.maximum(start - 1, 0)
        after = np.minimum(end, size - 1)
        if all_folded:
            folded_cps = _part_codes(n.folded, fb, folded_ascii)
            left_cp, right_cp = folded_cps[before], folded_cps[after]
        elif any_folded:
            text_cps, folded_cps = _part_codes(text, accented, text_ascii), _part_codes(n.folded, fb, folded_ascii)
            left_cp = np.where(in_folded, folded_cps[before], text_cps[before])
            right_cp = np.where(in_folded, folded_cps[after], text_cps[after])
        else:
            text_cps = _part_codes(text, accented, text_ascii)
            left_cp, right_cp = text_cps[before], text_cps[after]
        left_word = _word_flags(left_cp) & (start > 0)
        right_word = _word_flags(right_cp) & (end < size)
        ok = ~(left_word | right_word)
        pid, start, end = pid[ok], start[ok], end[ok]
        if not len(pid):
            return {}
        if per_form_limit is not None:  # keep the first ``per_form_limit`` hits of each form, in scan order
            order = np.argsort(pid, kind="stable")
            by_form = pid[order]
            first = np.r_[True, by_form[1:] != by_form[:-1]]
            idx = np.arange(len(by_form))
            rank = idx - np.maximum.accumulate(np.where(first, idx, 0))
            within = np.empty(len(pid), dtype=bool)
            within[order] = rank < per_form_limit
            pid, start, end = pid[within], start[within], end[within]
        lo = n.starts[start]
        hi = np.maximum(lo, n.ends[end - 1])
        # One dict built from zips (no Python per hit); the few positions hit by several forms are merged after.
        ids = self._ids
        pids = pid.tolist()
        out = dict(zip(zip(lo.tolist(), hi.tolist(), strict=True), map(ids.__getitem__, pids), strict=True))
        if len(out) < len(pids):
            key = lo * (int(hi.max()) + 1) + hi
            uniq, counts = np.unique(key, return_counts=True)
            in_dup = np.isin(key, uniq[counts > 1])
            merged: dict[tuple[int, int], set[str]] = {}
            for p, a, b in zip(pid[in_dup].tolist(), lo[in_dup].tolist(), hi[in_dup].tolist(), strict=True):
                merged.setdefault((a, b), set()).update(ids[p])
            for k, got in merged.items():
                if len(got) != len(out[k]):  # several forms with different ids at one position
                    out[k] = tuple(sorted(got))
        return out

    def find(self, normalised: Normalised | str) -> list[LexiconHit]:
        """Return every whole-syllable occurrence of a term, in original offsets, sorted by position."""
        found = self.spans(normalised)
        make = LexiconHit._make  # tuple.__new__ without the Python-level __new__
        return [make((term_id, lo, hi)) for lo, hi in sorted(found) for term_id in found[(lo, hi)]]


_VECTOR_MIN = 48  # raw hits from which the numpy path beats the per-hit loop


def _split_flat(flat: list[int]) -> tuple[IntArray, IntArray]:
    """Pattern indexes and end offsets of a flat hit list (as from ``scan_flat``) as two arrays."""
    arr = np.array(flat, dtype=np.int64)
    return arr[0::2], arr[1::2]


_ASCII_WORD = np.array([chr(c).isalnum() or c == 0x5F for c in range(128)], dtype=bool)


def _code_points(text: str) -> np.ndarray[Any, np.dtype[np.uint32]]:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _part_codes(text: str, encoded: bytes, ascii_text: bool) -> np.ndarray[Any, Any]:
    """The code points of ``text`` (``encoded`` is its UTF-8; an ASCII text's bytes are its code points)."""
    if ascii_text:
        return np.frombuffer(encoded, dtype=np.uint8)
    return _code_points(text)


def _word_chars(text: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Return, per character of ``text``, whether it is a word character (``str.isalnum`` or ``_``)."""
    return _word_flags(_code_points(text))


def _word_flags(cps: np.ndarray[Any, Any]) -> np.ndarray[Any, np.dtype[np.bool_]]:
    """Return, per code point, whether it is a word character (``str.isalnum`` or ``_``)."""
    out: np.ndarray[Any, np.dtype[np.bool_]] = _ASCII_WORD[np.minimum(cps, 127)] & (cps < 128)
    high = cps >= 128
    if high.any():
        uniq, inverse = np.unique(cps[high], return_inverse=True)
        flags = np.array([_is_word_char(chr(c)) for c in uniq.tolist()], dtype=bool)
        out[high] = flags[inverse]
    return out


def _byte_to_char(data: bytes) -> np.ndarray[Any, np.dtype[np.int64]]:
    """Map each UTF-8 byte offset to the index of the character it belongs to."""
    arr = np.frombuffer(data, dtype=np.uint8)
    is_start = (arr & 0xC0) != 0x80
    return np.cumsum(is_start, dtype=np.int64) - 1


def hits_to_signals(
    field: str, original: str, hits: Iterable[LexiconHit], *, key: str = "", detector: str = DETECTOR
) -> list[Signal]:
    """Group hits by term id into ``lexicon`` signals for ``field`` (``key`` prefixes the term id, e.g. a list)."""
    grouped: dict[str, list[Span]] = {}
    for h in hits:
        grouped.setdefault(h.term_id, []).append(Span(field, h.start, h.end, original[h.start : h.end]))
    return [
        Signal(
            kind="lexicon",
            key=f"{key}:{term_id}" if key else term_id,
            score=1.0,
            spans=tuple(spans),
            attrs={"count": len(spans)},
            detector=detector,
        )
        for term_id, spans in sorted(grouped.items())
    ]
