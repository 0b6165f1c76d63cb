# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled loops of the pack regex stage and of the lexicon signals (``moderation.policy.matching``).

Each function gives exactly what its pure-Python reference gives (the reference stays in ``matching`` and is used
when this extension is not built; the tests compare both):

* :func:`fold_bytes` -- ``fold_text(text)[0].encode("ascii")``, whether ``fold_text`` gives an offset map and
  whether the prefilter must stand aside (Python-only white space), in one pass over the string's own storage (no
  offset list: the regex stage needs the map only for a match); :func:`fold_offsets` -- that map, as native
  integers, when a match must be mapped back;
* :func:`lexicon_signals` -- the grouping of ``lexicon_signals`` (one signal per term and field, its spans in
  order, the signals ordered by field and first span), over the hits ``Lexicon.spans`` returns;
* :func:`lexicon_few` -- the per-hit loop of ``Lexicon.spans`` for a text with few raw hits (region, whole-syllable
  check, per-form limit, ``Normalised.to_original``), each byte offset counted to its character (no
  byte-to-character map of the whole text) and ``to_original`` read from the normalised text's arrays;
  :func:`lexicon_scan_few` -- the same over the scanner's flat hit list and the one buffer :func:`scan_input` made
  (the UTF-8 of the text and of its folded form, written in one pass each); :class:`FlatHits` -- the Hyperscan
  match handler of ``LiteralScanner.scan_flat`` and of the regex prefilter (no Python frame per match);
* :func:`chars_from` -- for the personal-data detector: the distinct characters at or beyond a code point;
* :func:`address_prefilter` -- for the personal-data detector: ``personal._address_hint().search`` and, when it
  finds nothing, :func:`chars_from`, in one pass;
* :func:`fold_single` -- ``identity.fold_with_offsets`` of a text whose characters each fold to at most one (the
  personal-data detector's address fold), the offsets as native integers.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport (
    Py_UNICODE_ISALNUM,
    PyUnicode_4BYTE_KIND,
    PyUnicode_DATA,
    PyUnicode_FromKindAndData,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
)
from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS,
    PyBUF_FORMAT,
    PyBuffer_Release,
    PyObject_CheckBuffer,
    PyObject_GetBuffer,
)
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t
from libc.string cimport memcpy


cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)

from moderation._ext._offsets cimport original_span

import numpy as np

ctypedef fused char_t:
    uint8_t
    uint16_t
    uint32_t

cdef unsigned char _DROP = 0xFF  # a combining mark in the lookup table
cdef unsigned char _SUB = 0x1A  # what a character that stays non-ASCII folds to
cdef dict _astral = {}  # astral code point -> whether it is a combining mark (a few kept)


cdef unsigned char _astral_byte(Py_UCS4 cp, object combining) except 0:
    got = _astral.get(cp)
    if got is None:
        got = bool(combining(chr(cp)))
        if len(_astral) < 4096:
            _astral[cp] = got
    return _DROP if got else _SUB


cdef int _fold(const char_t *data, Py_ssize_t n, const unsigned char *lut, unsigned char *buf,
               object combining) except -1:
    """Fold ``n`` code points into ``buf``; return bit 1 when a combining mark was met, bit 2 when one of
    U+0300-036F was, bit 4 when a byte of ``_PY_ONLY_SPACES`` was written."""
    cdef Py_ssize_t i
    cdef Py_UCS4 cp
    cdef unsigned char b
    cdef int seen = 0
    for i in range(n):
        cp = <Py_UCS4>data[i]
        if char_t is uint32_t:
            if cp > 0xFFFF:
                b = _astral_byte(cp, combining)
            else:
                b = lut[cp]
        else:
            b = lut[cp]
        if b == _DROP:
            seen |= 1
            if 0x300 <= cp <= 0x36F:
                seen |= 2
        elif b == 0x0B or 0x1C <= b <= 0x1F:
            seen |= 4
        buf[i] = b
    return seen


cdef tuple _fold_all(str text, bytes lut_bmp, object combining):
    """``(buffer, seen)``: each character of ``text`` folded to one byte by ``_fold`` (``_DROP`` for a combining mark)
    in a new bytes object of ``len(text)``, and what ``_fold`` saw (bit 1: a combining mark, 2: one of U+0300-036F,
    4: a byte of ``_PY_ONLY_SPACES``)."""
    if len(lut_bmp) != 0x10000:
        raise ValueError("lut_bmp must map the whole BMP")
    cdef const unsigned char *lut = <const unsigned char *>PyBytes_AS_STRING(lut_bmp)
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char *buf = <unsigned char *>PyBytes_AS_STRING(out)
    cdef int seen
    if kind == 1:
        seen = _fold(<const uint8_t *>data, n, lut, buf, combining)
    elif kind == 2:
        seen = _fold(<const uint16_t *>data, n, lut, buf, combining)
    else:
        seen = _fold(<const uint32_t *>data, n, lut, buf, combining)
    return out, seen


def fold_bytes(str text not None, bytes lut_bmp not None, object combining):
    """``(folded, mapped, spaces)``: ``folded`` is ``fold_text(text)[0].encode("ascii")``, ``mapped`` whether
    ``fold_text(text)[1]`` is not None, ``spaces`` whether ``folded`` holds one of the bytes of
    ``matching._PY_ONLY_SPACES`` (``\x0b``, ``\x1c``-``\x1f``). ``lut_bmp`` gives each BMP code point's folded byte
    (0xFF: a combining mark, dropped), ``combining`` is ``unicodedata.combining`` for astral code points (what
    ``matching._fold_lut_bytes`` and ``fold_text`` use)."""
    cdef Py_ssize_t n = len(text), i, k
    cdef bytes out
    cdef int seen
    out, seen = _fold_all(text, lut_bmp, combining)
    cdef unsigned char *buf = <unsigned char *>PyBytes_AS_STRING(out)
    cdef bint spaces = (seen & 4) != 0
    if not (seen & 1):
        return out, False, spaces
    if not (seen & 2):  # other combining marks are dropped only when the text also has Latin ones
        for i in range(n):
            if buf[i] == _DROP:
                buf[i] = _SUB
        return out, False, spaces
    k = 0
    for i in range(n):
        if buf[i] != _DROP:
            buf[k] = buf[i]
            k += 1
    return PyBytes_FromStringAndSize(<char *>buf, k), True, spaces


def lexicon_signals(list fields not None, list refs not None, object make_spans, object make_signals,
                    str kind not None, str detector not None):
    """The signals ``matching.lexicon_signals`` makes from ``fields``, a list of ``(field name, original text,
    hits)`` where ``hits`` is the ``{(start, end): term ids}`` of ``Lexicon.spans`` in original offsets (the field
    names distinct); ``refs[i]`` is ``(key, score, term, weight)`` of term ``i``. ``make_spans(rows)`` makes the
    spans of rows of ``(field, start, end, text)``, ``make_signals(rows)`` the signals of rows of ``(kind, key,
    score, spans, attrs, detector)`` (a list each, in order: one call each for the whole item)."""
    cdef dict groups = {}
    cdef list order = []  # (field, first start, sequence, key, original)
    cdef list pairs, hits, span_rows, spans, rows
    cdef Py_ssize_t seq = 0, idx, at, n_refs = len(refs)
    cdef tuple ref, item
    for entry in fields:
        field, original, found = entry
        hits = sorted((<dict?>found).items())
        for item in hits:
            pair = item[0]
            lo, hi = pair  # a (start, end) pair (``pair[0]`` is read unchecked)
            for term_id in item[1]:
                key = (int(term_id), field)
                pairs = groups.get(key)
                if pairs is None:
                    pairs = groups[key] = []
                    order.append((field, lo, seq, key, original))
                    seq += 1
                pairs.append(pair)
    if not order:
        return []
    order.sort()
    span_rows = []
    for item in order:
        field, original = item[0], item[4]
        for pair in <list>groups[item[3]]:
            lo, hi = pair
            span_rows.append((field, lo, hi, original[lo:hi]))
    spans = make_spans(span_rows)
    if len(spans) != len(span_rows):
        raise ValueError("make_spans must make one span per row")
    rows = []
    at = 0
    for item in order:
        key = item[3]
        idx = key[0]
        n_refs = len(refs)  # again: ``make_spans`` may have changed ``refs``
        if idx < 0:  # as ``refs[idx]`` reads a negative index
            idx += n_refs
        if idx < 0 or idx >= n_refs:
            raise IndexError("list index out of range")
        ref = <tuple?>refs[idx]
        if ref is None or len(ref) < 4:
            raise ValueError("refs[i] must be a (key, score, term, weight) tuple")
        field = key[1]
        n = len(<list>groups[key])
        rows.append((
            kind,
            ref[0],
            ref[1],
            tuple(spans[at : at + n]),
            {"term": ref[2], "field": field, "weight": ref[3]},
            detector,
        ))
        at += n
    return make_signals(rows)


cdef int _beyond(const char_t *data, Py_ssize_t n, Py_UCS4 limit, set out) except -1:
    cdef Py_ssize_t i
    cdef Py_UCS4 cp
    for i in range(n):
        cp = <Py_UCS4>data[i]
        if cp >= limit:
            out.add(chr(cp))
    return 0


def chars_from(str text not None, Py_UCS4 limit):
    """``set(re.findall(f"[{chr(limit)}-\\U0010ffff]", text))``: the distinct characters of ``text`` at or beyond
    ``limit`` (``personal._may_hold_address``: the characters beyond the fold table)."""
    cdef set out = set()
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    if kind == 1:
        if limit <= 0xFF:
            _beyond(<const uint8_t *>data, n, limit, out)
    elif kind == 2:
        _beyond(<const uint16_t *>data, n, limit, out)
    else:
        _beyond(<const uint32_t *>data, n, limit, out)
    return out


cdef enum:
    HINT_FIRST = 1  # folds to "," or to several characters: where a hint match starts
    HINT_SKIP = 2  # folds to white space or nothing, or is white space
    HINT_EMPTY = 4  # folds to nothing
    HINT_MAX_MARKER = 64  # letters of one marker


cdef inline uint32_t _hint_bits(Py_UCS4 cp, const uint32_t *table, Py_ssize_t limit) noexcept:
    return table[cp] if <Py_ssize_t>cp < limit else 0


cdef bint _marker_at(const char_t *data, Py_ssize_t n, Py_ssize_t pos, const uint32_t *table, Py_ssize_t limit,
                     const unsigned char *letters, Py_ssize_t count) noexcept:
    """Whether the marker of ``count`` letter bits matches at ``pos``: a character of each letter's class, any
    characters that fold to nothing between two (none of them is in a letter's class, so no backtracking)."""
    cdef Py_ssize_t j
    for j in range(count):
        if j:
            while pos < n and (_hint_bits(<Py_UCS4>data[pos], table, limit) & HINT_EMPTY):
                pos += 1
        if pos >= n or not (_hint_bits(<Py_UCS4>data[pos], table, limit) & ((<uint32_t>1) << letters[j])):
            return False
        pos += 1
    return True


cdef bint _prefilter(const char_t *data, Py_ssize_t n, const uint32_t *table, Py_ssize_t limit,
                     const unsigned char *markers, Py_ssize_t size, set beyond) except -1:
    """:func:`address_prefilter` over the characters of one string kind: True at the first hint match; until then
    each character at or beyond ``limit`` goes into ``beyond``."""
    cdef Py_ssize_t i, r, q, k
    cdef Py_UCS4 cp
    for i in range(n):
        cp = <Py_UCS4>data[i]
        if <Py_ssize_t>cp >= limit:
            beyond.add(chr(cp))
            continue
        if not (table[cp] & HINT_FIRST):
            continue
        r = i + 1
        while r < n and (_hint_bits(<Py_UCS4>data[r], table, limit) & HINT_SKIP):
            r += 1
        for q in range(i + 1, r + 1):  # the skipped run may give back characters (a marker may start in it)
            k = 0
            while k < size:
                if _marker_at(data, n, q, table, limit, markers + k + 1, markers[k]):
                    return True
                k += 1 + markers[k]
    return False


def address_prefilter(str text not None, bytes table not None, bytes markers not None, Py_ssize_t limit):
    """``(True, None)`` when ``personal._address_hint().search(text)`` finds a match, else ``(False,
    chars_from(text, limit))``, in one pass over ``text``.

    ``table`` gives, as native ``uint32`` values, the class bits of each code point below ``limit`` (those of the
    hint's classes; a code point at or beyond ``limit`` is in none): ``HINT_FIRST`` (1, the class a match starts
    with), ``HINT_SKIP`` (2, the class repeated after it), ``HINT_EMPTY`` (4, what may stand between two letters of
    a marker) and one bit per marker letter. ``markers`` holds each marker as its length and then its letters' bit
    numbers (3 to 31). The hint is ``FIRST SKIP* (?:marker|...)`` with ``EMPTY*`` between the letters of a marker;
    no ``EMPTY`` character may be in a letter's class (``personal`` checks it)."""
    if limit < 0 or limit > 0x110000 or len(table) != limit * 4:
        raise ValueError("table must give a uint32 for every code point below limit")
    cdef const unsigned char *m = <const unsigned char *>PyBytes_AS_STRING(markers)
    cdef Py_ssize_t size = len(markers), k = 0, j
    while k < size:
        if m[k] == 0 or m[k] > HINT_MAX_MARKER or k + 1 + m[k] > size:
            raise ValueError("markers must be (length, letter bits) runs")
        for j in range(k + 1, k + 1 + m[k]):
            if m[j] < 3 or m[j] > 31:
                raise ValueError("marker letters are bits 3 to 31")
        k += 1 + m[k]
    cdef const uint32_t *tab = <const uint32_t *>PyBytes_AS_STRING(table)
    cdef set beyond = set()
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef Py_ssize_t n = len(text)
    cdef bint found
    if kind == 1:
        found = _prefilter(<const uint8_t *>data, n, tab, limit, m, size, beyond)
    elif kind == 2:
        found = _prefilter(<const uint16_t *>data, n, tab, limit, m, size, beyond)
    else:
        found = _prefilter(<const uint32_t *>data, n, tab, limit, m, size, beyond)
    if found:
        return True, None
    return False, beyond


def fold_offsets(str text not None, bytes lut_bmp not None, object combining):
    """The offset map of ``fold_text(text)`` as native ``int64`` values in a bytes object (read it through
    ``memoryview(...).cast("q")``): the index of each character kept, then ``len(text)``; None when ``fold_text``
    gives no map. No Python int per character (a regex match in a decomposed text needs two of them)."""
    cdef Py_ssize_t n = len(text), i, k
    cdef bytes tmp
    cdef int seen
    tmp, seen = _fold_all(text, lut_bmp, combining)
    cdef unsigned char *buf = <unsigned char *>PyBytes_AS_STRING(tmp)
    if not (seen & 2):
        return None
    k = 0
    for i in range(n):
        if buf[i] != _DROP:
            k += 1
    cdef bytes out = PyBytes_FromStringAndSize(NULL, (k + 1) * sizeof(int64_t))
    cdef int64_t *offs = <int64_t *>PyBytes_AS_STRING(out)
    k = 0
    for i in range(n):
        if buf[i] != _DROP:
            offs[k] = i
            k += 1
    offs[k] = n
    return out


cdef object _single_fold(const char_t *data, Py_ssize_t n, const uint32_t *points, const uint8_t *lengths,
                         Py_ssize_t limit, object high_fold):
    cdef Py_UCS4 *out = <Py_UCS4 *>PyMem_Malloc((n + 1) * sizeof(Py_UCS4))
    cdef int64_t *offs = <int64_t *>PyMem_Malloc((n + 1) * sizeof(int64_t))
    cdef Py_ssize_t i, k = 0
    cdef Py_UCS4 cp
    cdef str f
    try:
        if out == NULL or offs == NULL:
            raise MemoryError()
        for i in range(n):
            cp = <Py_UCS4>data[i]
            if <Py_ssize_t>cp < limit:
                if lengths[cp] > 1:
                    return None
                if lengths[cp] == 0:
                    continue
                out[k] = points[cp]
            else:
                f = high_fold(<long>cp)
                if len(f) > 1:
                    return None
                if len(f) == 0:
                    continue
                out[k] = f[0]
            offs[k] = i
            k += 1
        offs[k] = n
        folded = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, k)
        return folded, PyBytes_FromStringAndSize(<char *>offs, (k + 1) * sizeof(int64_t))
    finally:
        PyMem_Free(out)
        PyMem_Free(offs)


def fold_single(str text not None, bytes points not None, bytes lengths not None, Py_ssize_t limit, object high_fold):
    """``identity.fold_with_offsets(text)`` when every character folds to at most one (else None): the folded
    string and its offsets as native ``int64`` values in a bytes object. ``points`` (``uint32``) and ``lengths``
    (``uint8``, at most 2) give each code point below ``limit`` its one-character fold and its fold's length
    (``identity._fold_arrays``); ``high_fold(cp)`` is the fold of a code point at or beyond ``limit``."""
    if limit < 0 or limit > 0x110000 or len(points) != limit * 4 or len(lengths) != limit:
        raise ValueError("points and lengths must cover every code point below limit")
    cdef Py_ssize_t n = len(text)
    cdef int kind = PyUnicode_KIND(text)
    cdef void *data = PyUnicode_DATA(text)
    cdef const uint32_t *p = <const uint32_t *>PyBytes_AS_STRING(points)
    cdef const uint8_t *l = <const uint8_t *>PyBytes_AS_STRING(lengths)
    if kind == 1:
        return _single_fold(<const uint8_t *>data, n, p, l, limit, high_fold)
    if kind == 2:
        return _single_fold(<const uint16_t *>data, n, p, l, limit, high_fold)
    return _single_fold(<const uint32_t *>data, n, p, l, limit, high_fold)


cdef struct _Cursor:
    Py_ssize_t pos  # a byte offset ...
    Py_ssize_t leads  # ... and the count of UTF-8 lead bytes before it


cdef inline Py_ssize_t _leads_before(const unsigned char *p, _Cursor *c, Py_ssize_t to) noexcept:
    """The count of UTF-8 lead bytes (not ``10xxxxxx``) in ``p[:to]``, counted from the cursor's offset (forwards or
    backwards), which then moves to ``to``."""
    cdef Py_ssize_t i, k = c.leads
    if to >= c.pos:
        for i in range(c.pos, to):
            k += (p[i] & 0xC0) != 0x80
    else:
        for i in range(to, c.pos):
            k -= (p[i] & 0xC0) != 0x80
    c.pos = to
    c.leads = k
    return k


cdef inline bint _word_char(str s, Py_ssize_t i):
    cdef Py_UCS4 ch = s[i]
    return ch == 0x5F or Py_UNICODE_ISALNUM(ch)


cdef class _Int64Array:
    """A 1-D ``int64`` array read through its buffer (no typed memoryview object): ``ptr[0:size]``, held until
    :meth:`release`. Anything else (another dtype, strides, a list) is first copied with ``np.ascontiguousarray``."""
    cdef Py_buffer view
    cdef bint held
    cdef const int64_t *ptr
    cdef Py_ssize_t size

    cdef int acquire(self, object arr) except -1:
        cdef const char *fmt
        cdef bint got = False
        if PyObject_CheckBuffer(arr):
            try:
                PyObject_GetBuffer(arr, &self.view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
                got = True
            except (BufferError, ValueError, TypeError):  # e.g. strided: copied below
                pass
        if got:
            self.held = True
            fmt = self.view.format
            if fmt != NULL and (fmt[0] == b'=' or fmt[0] == b'@' or fmt[0] == b'<'):
                fmt += 1  # native or little-endian: this module is built for x86-64 / little-endian only
            if (self.view.ndim == 1 and self.view.itemsize == 8 and fmt != NULL and fmt[1] == 0
                    and (fmt[0] == b'q' or fmt[0] == b'l')):
                self.ptr = <const int64_t *>self.view.buf
                self.size = self.view.shape[0] if self.view.shape != NULL else self.view.len // 8
                return 0
            self.release()
        arr = np.ascontiguousarray(arr, dtype=np.int64)
        PyObject_GetBuffer(arr, &self.view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
        self.held = True
        if self.view.ndim != 1 or self.view.itemsize != 8:  # as the typed memoryview refused it
            self.release()
            raise ValueError("Buffer has wrong number of dimensions (expected 1)")
        self.ptr = <const int64_t *>self.view.buf
        self.size = self.view.shape[0]
        return 0

    cdef void release(self) noexcept:
        if self.held:
            self.held = False
            PyBuffer_Release(&self.view)

    def __dealloc__(self):
        self.release()


@cython.boundscheck(True)  # the lists are the caller's (read with their bounds checked, as the reference reads them)
cdef dict _few(list pids, list ends, Py_ssize_t n, Py_ssize_t step, Py_ssize_t shift, list lengths, list ids,
               Py_ssize_t n_acc, bint same, Py_ssize_t split, str text, str folded,
               const unsigned char *tp, Py_ssize_t n_tb, const unsigned char *fp, Py_ssize_t n_fb,
               Py_ssize_t limit, starts, ends_map):
    """The loop of :func:`lexicon_few` over ``n`` hits: hit ``i``'s pattern index is ``pids[i * step]``, its end
    ``ends[i * step + step - 1]`` (``step`` 1: two lists; 2: one flat list, both the same); ``tp``/``fp`` point at
    the UTF-8 of ``text``/``folded`` (``n_tb``/``n_fb`` bytes)."""
    cdef Py_ssize_t size = len(text), i, pid, end_b, start_b, start, end, lo, hi
    cdef Py_ssize_t n_forms = len(lengths)
    cdef bint ascii_text = split == size
    cdef bint folded_ident = n_fb == size
    cdef _Cursor tc, fc
    cdef Py_ssize_t *kept = NULL
    cdef dict out = {}
    cdef str haystack
    cdef const int64_t* sp = NULL
    cdef const int64_t* ep = NULL
    cdef _Int64Array st = _Int64Array.__new__(_Int64Array)
    cdef _Int64Array en = _Int64Array.__new__(_Int64Array)
    if len(folded) != size:
        raise ValueError("folded text of another length")
    if len(ids) != n_forms:
        raise ValueError("one end per hit and one id tuple per form")
    st.acquire(starts)
    en.acquire(ends_map)
    if st.size < size or en.size < size:
        raise ValueError("starts and ends must be as long as text")
    if size:  # read below at offsets under size only
        sp = st.ptr
        ep = en.ptr
    tc.pos = tc.leads = fc.pos = fc.leads = 0
    try:
        if limit < n:
            kept = <Py_ssize_t *>PyMem_Malloc(n_forms * sizeof(Py_ssize_t) + 1)
            if kept == NULL:
                raise MemoryError()
            for i in range(n_forms):
                kept[i] = 0
        for i in range(n):
            pid = pids[i * step]
            if pid < 0 or pid >= n_forms:
                raise ValueError("a pattern index beyond the forms")
            if kept != NULL and kept[pid] >= limit:
                continue
            end_b = <Py_ssize_t>ends[i * step + step - 1] + shift
            start_b = end_b - <Py_ssize_t>lengths[pid]
            if not same:
                if pid < n_acc:
                    if end_b > split:
                        continue  # an accented form found in the folded part
                else:
                    if start_b <= split:
                        continue  # a folded form found in the accented part
                    start_b -= split + 1
                    end_b -= split + 1
            if pid < n_acc or same:
                haystack = text
                if start_b < 0 or end_b <= start_b or end_b > n_tb:
                    raise ValueError("a hit beyond the text's bytes")
                if ascii_text:
                    start, end = start_b, end_b
                else:  # the reference's map: start = map[start_b], end = map[end_b - 1] + 1
                    start = _leads_before(tp, &tc, start_b + 1) - 1
                    end = _leads_before(tp, &tc, end_b)
            else:
                haystack = folded
                if start_b < 0 or end_b <= start_b or end_b > n_fb:
                    raise ValueError("a hit beyond the folded text's bytes")
                if folded_ident:
                    start, end = start_b, end_b
                else:
                    start = _leads_before(fp, &fc, start_b + 1) - 1
                    end = _leads_before(fp, &fc, end_b)
            if start < 0 or end > size:
                raise ValueError("a hit beyond the text")
            if start > 0 and _word_char(haystack, start - 1):
                continue
            if end < size and _word_char(haystack, end):
                continue
            if kept != NULL:
                kept[pid] += 1
            original_span(sp, ep, size, start, end, &lo, &hi)
            key = (lo, hi)
            mine = ids[pid]
            got = out.get(key)
            if got is None:
                out[key] = mine  # already sorted
            elif got != mine:
                out[key] = tuple(sorted({*got, *mine}))
    finally:
        PyMem_Free(kept)
        st.release()
        en.release()
    return out


def lexicon_few(list pids not None, list ends not None, Py_ssize_t shift, list lengths not None, list ids not None,
                Py_ssize_t n_acc, bint same, Py_ssize_t split, str text not None, str folded not None,
                bytes tb not None, bytes fb not None, Py_ssize_t limit, starts, ends_map):
    """The per-hit loop of ``Lexicon.spans`` (its Python loop is the reference), with ``starts``/``ends_map`` the
    arrays of the ``Normalised`` ``n`` (``n.starts``, ``n.ends``):
    the per-hit loop of ``Lexicon.spans`` for few raw hits (region, map to characters, whole-syllable check, the
    per-form limit, then ``{n.to_original(start, end): ids}``). A byte offset's character is the count of lead
    bytes before it, counted from the previous hit's (the reference maps every byte of the text first); the
    original span is read from the arrays as ``Normalised.to_original`` reads it. ``tb``/``fb`` are the UTF-8 of
    ``text``/``folded`` (``len(folded)`` must equal ``len(text)``); an offset outside them raises ValueError."""
    if len(ends) != len(pids):
        raise ValueError("one end per hit and one id tuple per form")
    return _few(pids, ends, len(pids), 1, shift, lengths, ids, n_acc, same, split, text, folded,
                <const unsigned char *>PyBytes_AS_STRING(tb), len(tb),
                <const unsigned char *>PyBytes_AS_STRING(fb), len(fb), limit, starts, ends_map)


def lexicon_scan_few(list flat not None, list lengths not None, list ids not None, Py_ssize_t n_acc, bint same,
                     Py_ssize_t split, str text not None, str folded not None, bytes data not None,
                     Py_ssize_t limit, starts, ends_map):
    """:func:`lexicon_few` over the hits of a scan of ``data`` as made by :func:`scan_input` (``split`` its second
    value): ``flat`` is ``LiteralScanner.scan_flat(data)`` (pattern index, end byte offset, ...), the UTF-8 of
    ``text`` is ``data[:split]`` and that of ``folded`` ``data[split + 1:]`` (``split`` -1: ``data`` holds only
    ``folded``, and every form is folded). Gives what ``lexicon_few`` gives on the two halves with no shift."""
    cdef Py_ssize_t n_data = len(data), n = len(flat) // 2
    cdef const unsigned char *p = <const unsigned char *>PyBytes_AS_STRING(data)
    cdef Py_ssize_t n_tb, fb_at
    if len(flat) % 2:
        raise ValueError("flat must hold (pattern index, end) pairs")
    if split < -1 or split > n_data:
        raise ValueError("split beyond the data")
    n_tb = split if split > 0 else 0
    fb_at = split + 1 if split + 1 < n_data else n_data
    return _few(flat, flat, n, 2, 0, lengths, ids, n_acc, same, split, text, folded, p, n_tb, p + fb_at,
                n_data - fb_at, limit, starts, ends_map)


cdef inline unsigned char *_utf8_write(const char_t *data, Py_ssize_t n, unsigned char *out) noexcept:
    """Write the UTF-8 of ``n`` code points (a surrogate as its 3 bytes, as ``surrogatepass``); return the end."""
    cdef Py_ssize_t i
    cdef uint32_t cp
    for i in range(n):
        cp = <uint32_t>data[i]
        if cp < 0x80:
            out[0] = <unsigned char>cp
            out += 1
        elif cp < 0x800:
            out[0] = <unsigned char>(0xC0 | (cp >> 6))
            out[1] = <unsigned char>(0x80 | (cp & 0x3F))
            out += 2
        elif cp < 0x10000:
            out[0] = <unsigned char>(0xE0 | (cp >> 12))
            out[1] = <unsigned char>(0x80 | ((cp >> 6) & 0x3F))
            out[2] = <unsigned char>(0x80 | (cp & 0x3F))
            out += 3
        else:
            out[0] = <unsigned char>(0xF0 | (cp >> 18))
            out[1] = <unsigned char>(0x80 | ((cp >> 12) & 0x3F))
            out[2] = <unsigned char>(0x80 | ((cp >> 6) & 0x3F))
            out[3] = <unsigned char>(0x80 | (cp & 0x3F))
            out += 4
    return out


cdef unsigned char *_utf8_into(str s, unsigned char *out) noexcept:
    cdef int kind = PyUnicode_KIND(s)
    cdef void *d = PyUnicode_DATA(s)
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(s)
    if PyUnicode_IS_ASCII(s):
        memcpy(out, d, n)
        return out + n
    if kind == 1:
        return _utf8_write(<const uint8_t *>d, n, out)
    if kind == 2:
        return _utf8_write(<const uint16_t *>d, n, out)
    return _utf8_write(<const uint32_t *>d, n, out)


def scan_input(str text, str folded):
    """``(data, split)``: the bytes ``Lexicon.spans`` scans and where the text's part ends. With both strings,
    ``text.encode("utf-8", "surrogatepass") + b"\\x00" + folded.encode(...)`` and ``len`` of the first part; with
    ``folded`` None, the text's UTF-8 and its length; with ``text`` None, the folded text's UTF-8 and -1. One pass
    per string into a buffer of the largest size, copied once into the bytes object."""
    cdef Py_ssize_t worst = 1, nt = 0
    cdef unsigned char *buf
    cdef unsigned char *p
    if text is None and folded is None:
        raise TypeError("text or folded must be a str")
    if text is not None:
        worst += PyUnicode_GET_LENGTH(text) * (1 if PyUnicode_IS_ASCII(text) else PyUnicode_KIND(text) + 1)
    if folded is not None:
        worst += PyUnicode_GET_LENGTH(folded) * (1 if PyUnicode_IS_ASCII(folded) else PyUnicode_KIND(folded) + 1)
    buf = <unsigned char *>PyMem_Malloc(worst)
    if buf == NULL:
        raise MemoryError()
    try:
        p = buf
        if text is not None:
            p = _utf8_into(text, p)
            nt = p - buf
            if folded is not None:
                p[0] = 0
                p += 1
        if folded is not None:
            p = _utf8_into(folded, p)
        return PyBytes_FromStringAndSize(<char *>buf, p - buf), (nt if text is not None else -1)
    finally:
        PyMem_Free(buf)


cdef class FlatHits:
    """A Hyperscan match handler (``match_event_handler``) that appends each match's pattern index and end offset
    to the list ``hits`` (``LiteralScanner.scan_flat``'s flat list), without a Python frame per match."""

    cdef readonly list hits

    def __cinit__(self):
        self.hits = []

    def __call__(self, pid, start, end, flags, context):
        self.hits.append(pid)
        self.hits.append(end)


def fold_prefilter(str text not None, bytes lut_bmp not None, object combining, object db, object scratch,
                   list candidates not None):
    """``(folded, mapped, skip)`` for one field of the regex stage: ``folded`` and ``mapped`` as from
    :func:`fold_bytes`, ``skip`` what ``matching.Prefilter.skipped_bytes(folded, spaces)`` gives for the Hyperscan
    database ``db`` (``scratch`` its scratch space, ``candidates`` the pattern indexes it covers, in its pattern
    order): nothing when ``folded`` is empty or holds Python-only white space, else the candidates that reported
    no match. One call instead of two Python functions per field."""
    cdef bytes folded
    cdef bint mapped, spaces
    cdef FlatHits handler
    cdef set hit
    cdef Py_ssize_t k
    folded, mapped, spaces = fold_bytes(text, lut_bmp, combining)
    if not folded or spaces:
        return folded, mapped, set()
    handler = FlatHits()
    db.scan(folded, handler, 0, None, scratch)
    if not handler.hits:  # no covered pattern can match: every one is skipped
        return folded, mapped, set(candidates)
    hit = set(handler.hits[0::2])
    if len(hit) == len(candidates):
        return folded, mapped, set()
    return folded, mapped, {candidates[k] for k in range(len(candidates)) if k not in hit}
