# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled stages of :mod:`moderation.text.normalise`: single passes over the code points of a string.

Each function is the speed-up of one stage (or one helper) of the pure-Python normaliser, which stays the reference
and the fallback: the same class-bit tables (numpy arrays shared with the Python module, astral code points filled
in through the same callback when first met) and the same rules, so every result is identical. Offset maps are
int64 arrays; a function that changes nothing returns ``None``, and :func:`apply_edits` returns ``False`` when the
edits fall outside the text (the Python path then handles them, numpy's wrap-around included).
"""

from cpython.buffer cimport (
    PyBUF_C_CONTIGUOUS,
    PyBUF_FORMAT,
    PyBUF_WRITABLE,
    PyBuffer_Release,
    PyObject_GetBuffer,
)
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.unicode cimport Py_UNICODE_TOLOWER
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy

from moderation._ext._offsets cimport original_span

import numpy as np


cdef extern from "Python.h":
    int PyUnicode_READY(object o) except -1
    int PyUnicode_KIND(object o)
    void* PyUnicode_DATA(object o)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index) nogil
    object PyUnicode_FromKindAndData(int kind, const void* buffer, Py_ssize_t size)
    Py_ssize_t PyUnicode_GET_LENGTH(object o)
    int PyUnicode_4BYTE_KIND
    int PyObject_GenericSetAttr(object o, object name, object value) except -1
    bint Py_UNICODE_ISALPHA(Py_UCS4 ch) nogil


# The first test of ``spaced_starts`` at every position: ``out[i]`` is 1 where ``cls[i]`` has a bit of ``first``,
# ``cls[i + 1]`` one of ``next`` and ``cls[i - 1]`` none of ``before`` (nothing before ``cls[0]``; ``cls[n]`` is read
# and is 0), else 0; a loop the compiler vectorises.
cdef extern from *:
    """
    static void __pyx_norm_spaced_flags(const uint16_t* __restrict cls, Py_ssize_t n, uint16_t first, uint16_t next,
                                        uint16_t before, uint8_t* __restrict out) {
        Py_ssize_t i;
        if (n <= 0)
            return;
        out[0] = (uint8_t)(((cls[0] & first) != 0) & ((cls[1] & next) != 0));
        for (i = 1; i < n; i++)
            out[i] = (uint8_t)(((cls[i] & first) != 0) & ((cls[i + 1] & next) != 0) & ((cls[i - 1] & before) == 0));
    }
    """
    void _spaced_flags_c "__pyx_norm_spaced_flags"(const uint16_t* cls, Py_ssize_t n, uint16_t first, uint16_t next,
                                                    uint16_t before, uint8_t* out) noexcept nogil


# The arithmetic tests of ``_trigger_pass`` over 16-bit code points (``_trigger_pass16``), written in C so that every
# operand is 16 bits wide and the compiler vectorises the loop (the UCS4 loop it replaces is not). ``m`` holds the
# class bits the tests read (TC_REP, TC_NLMN, TC_L0134, TC_M, TC_SEP, TC_L, TC_OTONE, TC_UTONE, TC_NLM); ``acc``
# receives classes, ws, mark, rep, leet and spaced (each nonzero where the test held somewhere).
cdef extern from *:
    """
    static void __pyx_norm_trigger16(const uint16_t* __restrict cp, const uint16_t* __restrict tb, Py_ssize_t n,
                                     const uint16_t* m, uint16_t* acc) {
        const uint16_t m_rep = m[0], m_nlmn = m[1], m_l0134 = m[2], m_m = m[3], m_sep = m[4], m_l = m[5],
                       m_otone = m[6], m_utone = m[7], m_nlm = m[8];
        uint16_t classes = 0, ws = 0, mark = 0, rep = 0, leet = 0, spaced = 0;
        Py_ssize_t i;
        for (i = 0; i < n; i++) {
            const uint16_t c = cp[i], c1 = cp[i + 1], c2 = cp[i + 2], c3 = cp[i + 3];
            const uint16_t bm = tb[i - 1], b = tb[i], b1 = tb[i + 1], b2 = tb[i + 2], b3 = tb[i + 3];
            const uint16_t d = (uint16_t)(c - 48), d1 = (uint16_t)(c1 - 48);
            /* [013457]: below 8 after the shift (wrapping below 48), and neither 2 nor 6 */
            const uint16_t ld = (uint16_t)((d < 8) & (d != 2) & (d != 6));
            const uint16_t ld1 = (uint16_t)((d1 < 8) & (d1 != 2) & (d1 != 6));
            classes |= b;
            ws |= (uint16_t)((c == 32) & (c1 == 32));
            mark |= (uint16_t)((((c == 111) & ((b1 & m_otone) != 0)) | ((c == 117) & ((b1 & m_utone) != 0)))
                               & ((b2 & m_nlm) != 0));
            rep |= (uint16_t)(((b & m_rep) != 0) & (c1 == c) & (c2 == c));
            leet |= (uint16_t)((((b & m_l) != 0) & ((c1 == 64) | ld1)) | (ld & ((b1 & m_l) != 0)));
            spaced |= (uint16_t)(((bm & m_nlmn) != 0) & ((b & m_l0134) != 0)
                                 & (((b1 & (m_m | m_sep)) != 0)
                                    | ((c1 == 32) & ((b2 & m_l) != 0) & ((c3 == 32) | ((b3 & m_m) != 0)))));
        }
        acc[0] = classes; acc[1] = ws; acc[2] = mark; acc[3] = rep; acc[4] = leet; acc[5] = spaced;
    }
    """
    void _trigger16_c "__pyx_norm_trigger16"(const uint16_t* cp, const uint16_t* tb, Py_ssize_t n,
                                              const uint16_t* m, uint16_t* acc) noexcept nogil


# Class bits (the values of ``_W`` ... ``_D0134`` in normalise.py, which checks them at setup).
cdef enum:
    B_W = 1
    B_L = 2
    B_M = 4
    B_D = 8
    B_INV = 16
    B_CTRL = 32
    B_SP = 64
    B_TONED = 128
    B_CONF = 256
    B_SEP = 512
    B_LEETD = 1024
    B_AT = 2048
    B_OTONE = 4096
    B_UTONE = 8192
    B_D0134 = 16384
    UNKNOWN = 0xFFFF
    PY_ALPHA = 1
    PY_DIGIT = 2
    PY_UNKNOWN = 0xFF
    BMP = 0x10000
    MAX_MARKS = 3
    MAX_LEET_TOKEN = 64
    SMALL = 256
    TRIGGER_CONTEXT = 8
    WORD_WIDEN = 32  # teencode windows are widened to the ends of the words they cut, by at most this much
    FRAGMENT_PIECES = 4  # ``normalise._MAX_FRAGMENTS``
    FRAGMENT_CHARS = 12  # ``normalise._MAX_FRAGMENT_CHARS``

cdef uint16_t[::1] _cls
cdef uint8_t[::1] _py
cdef const uint32_t[::1] _lower_tab
cdef const uint32_t[::1] _fold_tab
cdef object _cls_fill = None
cdef object _py_fill = None
cdef object _susp_match = None
cdef bint _ready = False


def ready() -> bool:
    return _ready


def setup(cls, cls_fill, py, py_fill, lower_tab, fold_tab, susp_match, bits):
    """Share the normaliser's tables: class bits of every code point (``cls``, filled by ``cls_fill(cp)``), the
    ``str`` class bits (``py``, ``py_fill``), the BMP lowercase and the fold tables, ``_SUSPICIOUS.match``."""
    global _cls, _py, _lower_tab, _fold_tab, _cls_fill, _py_fill, _susp_match, _ready
    if _ready:
        return
    expected = (B_W, B_L, B_M, B_D, B_INV, B_CTRL, B_SP, B_TONED, B_CONF, B_SEP, B_LEETD, B_AT, B_OTONE, B_UTONE,
                B_D0134)
    if tuple(bits) != expected:
        raise ValueError("class bits differ from the compiled module's")
    _cls = cls
    _py = py
    _lower_tab = lower_tab
    _fold_tab = fold_tab
    _cls_fill = cls_fill
    _py_fill = py_fill
    _susp_match = susp_match
    _ready = True


cdef struct Text:
    int kind
    void* data
    Py_ssize_t n


cdef inline Text _text(str s) except *:
    cdef Text t
    PyUnicode_READY(s)
    t.kind = PyUnicode_KIND(s)
    t.data = PyUnicode_DATA(s)
    t.n = PyUnicode_GET_LENGTH(s)
    return t


cdef inline Text _ready_text(str s) except *:
    """:func:`_text` for a function that reads the class tables: those are unset (NULL) until :func:`setup`, and
    reading them then would be a NULL dereference (a segfault, not an exception)."""
    if not _ready:
        raise RuntimeError("moderation._ext._normalise.setup was not called")
    return _text(s)


cdef inline Py_UCS4 _at(Text* t, Py_ssize_t i) noexcept nogil:
    return PyUnicode_READ(t.kind, t.data, i)


cdef uint16_t _bits_fill(Py_UCS4 c) except? 0xFFFF:
    return <uint16_t>_cls_fill(<long>c)


cdef inline uint16_t _bits(Py_UCS4 c) except? 0xFFFF:
    # The table lookup alone, small enough for the C compiler to inline in every loop; a code point not met yet
    # goes through the out-of-line fill.
    cdef uint16_t v = _cls[c]
    if v == UNKNOWN:
        return _bits_fill(c)
    return v


cdef uint8_t _pybits_fill(Py_UCS4 c) except? 0xFF:
    return <uint8_t>_py_fill(<long>c)


cdef inline uint8_t _pybits(Py_UCS4 c) except? 0xFF:
    cdef uint8_t v = _py[c]
    if v == PY_UNKNOWN:
        return _pybits_fill(c)
    return v


# The code units of a string of each kind: a loop over them is compiled once per kind (no kind test per read).
ctypedef fused _unit:
    uint8_t
    uint16_t
    uint32_t


cdef int _fill_classes(const _unit* d, Py_ssize_t n, uint16_t* out) except -1:
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = _bits(d[i])
    return 0


cdef uint16_t* _classes(Text* t) except NULL:
    """The class bits of every character (one extra 0 at the end); free with PyMem_Free."""
    cdef uint16_t* out = <uint16_t*>PyMem_Malloc((t.n + 1) * sizeof(uint16_t))
    if out == NULL:
        raise MemoryError()
    try:
        if t.kind == 1:
            _fill_classes(<const uint8_t*>t.data, t.n, out)
        elif t.kind == 2:
            _fill_classes(<const uint16_t*>t.data, t.n, out)
        else:
            _fill_classes(<const uint32_t*>t.data, t.n, out)
    except BaseException:
        PyMem_Free(out)
        raise
    out[t.n] = 0
    return out


# The classes of the last string a stage read (``_take_classes``/``_keep_classes``): the stages of a round read one
# string after another (all of them, in a round that changes nothing), so its classes are filled once. The string is
# held (its identity cannot be reused while its classes are kept; only an exact ``str``, whose contents cannot
# change); a stage takes the buffer out of the cache while it reads it, so a call back into Python meanwhile finds
# the cache empty, never a buffer in use. A string longer than ``KEEP_MAX`` characters is not kept, so the cache never
# holds more than that string and 2 bytes a character of it after its text is done (refilling a long string's classes
# costs about 1 ns a character, nothing beside the stages' own passes over it).
cdef enum:
    KEEP_MAX = 1 << 16
cdef object _kept_text = None
cdef uint16_t* _kept_cls = NULL


def kept_text():
    """The string whose classes are kept (None: none), for the tests."""
    return _kept_text


cdef uint16_t* _take_classes(Text* t, str text) except NULL:
    """:func:`_classes` of ``text`` (``t``), from the cache when it holds them; the caller owns the buffer and gives
    it back with :func:`_keep_classes`."""
    global _kept_text, _kept_cls
    cdef uint16_t* out = _kept_cls
    if out != NULL and _kept_text is text:
        _kept_cls = NULL
        _kept_text = None
        return out
    return _classes(t)


cdef void _keep_classes(str text, uint16_t* cls) noexcept:
    """Keep ``cls``, the classes of ``text``, for the next stage (the buffer kept before is freed)."""
    global _kept_text, _kept_cls
    cdef uint16_t* old
    if type(text) is not str or len(text) > KEEP_MAX:
        PyMem_Free(cls)
        return
    old = _kept_cls
    _kept_cls = cls
    _kept_text = text
    PyMem_Free(old)


cdef inline str _from_ucs4(Py_UCS4* buf, Py_ssize_t n):
    return PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, n)


cdef Py_UCS4* _ucs4_buffer(Py_ssize_t n) except NULL:
    cdef Py_UCS4* out = <Py_UCS4*>PyMem_Malloc((n + 1) * sizeof(Py_UCS4))
    if out == NULL:
        raise MemoryError()
    return out


# ---------------------------------------------------------------------------------------------------------------
# Edits and offset maps


cdef int _int64_vector(object arr, Py_buffer* view, bint writable) except -1:
    """Acquire ``arr`` as a one-dimensional C-contiguous int64 buffer (what a ``const int64_t[::1]`` parameter
    takes, without the cost of a memoryview object); ``TypeError`` for None or an object without buffers,
    ``ValueError`` for any other buffer."""
    cdef bytes fmt
    cdef int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT
    if arr is None:
        raise TypeError("an int64 array, not None")
    if writable:
        flags |= PyBUF_WRITABLE
    try:
        PyObject_GetBuffer(arr, view, flags)
    except BufferError as exc:  # not contiguous, or read-only where writing
        raise ValueError(str(exc)) from None
    fmt = view.format if view.format != NULL else b"B"
    if view.ndim != 1 or view.itemsize != 8 or fmt.lstrip(b"@=<") not in (b"l", b"q"):
        PyBuffer_Release(view)
        raise ValueError("not a one-dimensional int64 array")
    return 0


cdef object _np_empty = np.empty
cdef object _INT64 = np.dtype(np.int64)


# The offset maps a stage reads (``s``, ``e``) and the ones it writes (``os``, ``oe``), acquired as buffers only when
# the stage changes something (a typed memoryview parameter costs its acquisition on every call, most of which
# change nothing); released by ``_maps_release``.
cdef struct Maps:
    Py_buffer s
    Py_buffer e
    Py_buffer os
    Py_buffer oe
    bint got_s
    bint got_e
    bint got_os
    bint got_oe


cdef inline void _maps_init(Maps* m) noexcept:
    m.got_s = m.got_e = m.got_os = m.got_oe = False


cdef int _maps_check(object starts, object ends, Py_ssize_t n) except -1:
    """The checks made on every call: ``TypeError`` for None, ``ValueError`` when a map is not ``n`` long (the dtype
    and the layout are checked when the buffers are acquired)."""
    if starts is None or ends is None:
        raise TypeError("an int64 array, not None")
    if len(starts) != n or len(ends) != n:
        raise ValueError("offset map and text differ in length")
    return 0


cdef int _maps_in(Maps* m, object starts, object ends, Py_ssize_t n) except -1:
    """Acquire ``starts`` and ``ends`` (one-dimensional C-contiguous int64, ``n`` long) into ``m``."""
    _int64_vector(starts, &m.s, False)
    m.got_s = True
    _int64_vector(ends, &m.e, False)
    m.got_e = True
    if m.s.len // 8 != n or m.e.len // 8 != n:
        raise ValueError("offset map and text differ in length")
    return 0


cdef tuple _maps_out(Maps* m, Py_ssize_t total):
    """Two new int64 arrays of ``total`` entries, acquired writable into ``m``."""
    out_s = _np_empty(total, _INT64)
    out_e = _np_empty(total, _INT64)
    _int64_vector(out_s, &m.os, True)
    m.got_os = True
    _int64_vector(out_e, &m.oe, True)
    m.got_oe = True
    return out_s, out_e


cdef void _maps_release(Maps* m) noexcept:
    if m.got_s:
        PyBuffer_Release(&m.s)
    if m.got_e:
        PyBuffer_Release(&m.e)
    if m.got_os:
        PyBuffer_Release(&m.os)
    if m.got_oe:
        PyBuffer_Release(&m.oe)
    _maps_init(m)


def apply_edits(str text not None, starts, ends, list edits not None):
    """``_apply``: sorted edits ``(a, b, replacement, per_char)``; overlapping or empty source ranges are skipped.

    ``starts`` and ``ends`` are one-dimensional C-contiguous int64 arrays (``ValueError`` or ``TypeError``
    otherwise). Returns ``(text, starts, ends)``, ``None`` when no edit applies, ``False`` when the arrays are not
    as long as the text, or an edit or a per-character range falls outside the text (the caller then runs the
    Python path).
    """
    cdef Py_buffer bs, be, bos, boe
    cdef bint got_s = False, got_e = False, got_os = False, got_oe = False
    try:
        _int64_vector(starts, &bs, False)
        got_s = True
        _int64_vector(ends, &be, False)
        got_e = True
        return _apply_edits(text, <const int64_t*>bs.buf, bs.len // 8, <const int64_t*>be.buf, be.len // 8, edits,
                            &bos, &got_os, &boe, &got_oe)
    finally:
        if got_s:
            PyBuffer_Release(&bs)
        if got_e:
            PyBuffer_Release(&be)
        if got_os:
            PyBuffer_Release(&bos)
        if got_oe:
            PyBuffer_Release(&boe)


cdef object _apply_edits(str text, const int64_t* starts, Py_ssize_t n_starts, const int64_t* ends,
                         Py_ssize_t n_ends, list edits, Py_buffer* bos, bint* got_os, Py_buffer* boe,
                         bint* got_oe):
    """:func:`apply_edits` over the acquired maps; the output buffers it acquires are released by the caller."""
    cdef Py_ssize_t n = len(text)
    cdef Py_ssize_t pos = 0, total = 0, a, b, k, lo, hi, r_lo, r_hi
    cdef bint changed = False
    cdef list valid = []
    cdef object repl, per_char, pc
    cdef int64_t* out_s
    cdef int64_t* out_e
    cdef Py_UCS4* buf = NULL  # the new text, written where its map is (one string made at the end)
    cdef Text src
    if n_starts != n or n_ends != n:
        return False
    for e in edits:
        if len(e) < 4:  # e[0]..e[3] are read unchecked
            raise ValueError("an edit is (start, end, replacement, per-character ranges)")
        a = e[0]
        b = e[1]
        if a < 0 or b < 0 or a > n or b > n:
            return False  # the Python path's own handling (numpy's negative indexes included)
        if a < pos or b <= a:
            continue
        repl = e[2]
        per_char = e[3]
        if type(repl) is not str:
            raise TypeError("an edit's replacement is a str")
        k = len(repl)
        pc = None
        if per_char is not None and len(per_char) == k:
            pc = per_char.tolist() if isinstance(per_char, np.ndarray) else per_char
            for r in pc:
                if len(r) < 2:  # r[0] and r[1] are read unchecked
                    raise ValueError("a per-character range is (start, end)")
                r_lo = r[0]
                r_hi = r[1]
                lo = a + r_lo
                hi = a + (r_hi if r_hi > r_lo + 1 else r_lo + 1) - 1
                if lo < 0 or lo >= n or hi < 0 or hi >= n:
                    return False
        changed = True
        valid.append((a, b, repl, pc))
        total += (a - pos) + k
        pos = b
    if not changed:
        return None
    total += n - pos
    out_s_arr = _np_empty(total, _INT64)
    out_e_arr = _np_empty(total, _INT64)
    _int64_vector(out_s_arr, bos, True)
    got_os[0] = True
    _int64_vector(out_e_arr, boe, True)
    got_oe[0] = True
    out_s = <int64_t*>bos.buf
    out_e = <int64_t*>boe.buf
    src = _text(text)
    buf = _ucs4_buffer(total)
    try:
        return _apply_valid(&src, starts, ends, valid, total, out_s, out_e, buf, out_s_arr, out_e_arr)
    finally:
        PyMem_Free(buf)


cdef object _apply_valid(Text* src, const int64_t* starts, const int64_t* ends, list valid, Py_ssize_t total,
                         int64_t* out_s, int64_t* out_e, Py_UCS4* buf, object out_s_arr, object out_e_arr):
    """:func:`_apply_edits`' second pass: the checked edits ``valid`` applied, the text into ``buf`` and the map
    into ``out_s``/``out_e`` (all ``total`` long)."""
    cdef Py_ssize_t n = src.n, pos = 0, o = 0, a, b, k, j, q, lo, hi, r_lo, r_hi
    cdef object repl, pc
    cdef Text piece
    for e in valid:
        a = e[0]
        b = e[1]
        repl = e[2]
        pc = e[3]
        k = len(repl)
        if o + (a - pos) + k > total:  # ``valid`` is this function's own list of its own tuples: never
            raise ValueError("edits changed while they were applied")
        if pos < a:  # an unchanged gap: its map copied as is (0 <= pos < a <= n, o + a - pos <= total)
            for q in range(a - pos):
                buf[o + q] = _at(src, pos + q)
            memcpy(&out_s[o], &starts[pos], (a - pos) * sizeof(int64_t))
            memcpy(&out_e[o], &ends[pos], (a - pos) * sizeof(int64_t))
            o += a - pos
        piece = _text(repl)  # a str (checked in the first pass), k characters long
        if piece.n != k:
            raise ValueError("edits changed while they were applied")
        for q in range(k):
            buf[o + q] = _at(&piece, q)
        if pc is None:
            for j in range(k):
                out_s[o] = starts[a]
                out_e[o] = ends[b - 1]
                o += 1
        else:  # checked again: ``pc`` could be an object that changed since (k is len(repl), a str's)
            j = o + k
            for r in pc:
                if len(r) < 2:  # r[0] and r[1] are read unchecked
                    raise ValueError("a per-character range is (start, end)")
                r_lo = r[0]
                r_hi = r[1]
                lo = a + r_lo
                hi = a + (r_hi if r_hi > r_lo + 1 else r_lo + 1) - 1
                if o >= j or lo < 0 or lo >= n or hi < 0 or hi >= n:
                    raise ValueError("per-character ranges changed while the edits were applied")
                out_s[o] = starts[lo]
                out_e[o] = ends[hi]
                o += 1
            if o != j:
                raise ValueError("per-character ranges changed while the edits were applied")
        pos = b
    if o + (n - pos) != total:
        raise ValueError("edits changed while they were applied")
    if pos < n:
        for q in range(n - pos):
            buf[o + q] = _at(src, pos + q)
        memcpy(&out_s[o], &starts[pos], (n - pos) * sizeof(int64_t))
        memcpy(&out_e[o], &ends[pos], (n - pos) * sizeof(int64_t))
        o += n - pos
    return _from_ucs4(buf, total), out_s_arr, out_e_arr


cdef int _get_int64(object arr, Py_buffer* view, Py_ssize_t n) except -1:
    """Acquire ``arr``'s buffer as at least ``n`` contiguous int64 values (cheaper than a typed memoryview)."""
    cdef bytes fmt
    PyObject_GetBuffer(arr, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT)
    fmt = view.format if view.format != NULL else b"B"
    if view.itemsize != 8 or fmt.lstrip(b"@=<") not in (b"l", b"q") or view.len < n * 8:
        PyBuffer_Release(view)
        raise ValueError("not an int64 array as long as the text")
    return 0


def to_original(starts, ends, Py_ssize_t n, Py_ssize_t start, Py_ssize_t end):
    """``Normalised.to_original`` over the offset arrays (``n``: the length of the text)."""
    cdef Py_ssize_t lo, hi
    cdef Py_buffer bs, be
    cdef const int64_t* s
    cdef const int64_t* e
    if n < 0:  # the arrays are read at n - 1 below
        raise ValueError("negative text length")
    _get_int64(starts, &bs, n)
    try:
        _get_int64(ends, &be, n)
    except BaseException:
        PyBuffer_Release(&bs)
        raise
    s = <const int64_t*>bs.buf
    e = <const int64_t*>be.buf
    original_span(s, e, n, start, end, &lo, &hi)
    PyBuffer_Release(&bs)
    PyBuffer_Release(&be)
    return lo, hi


# ---------------------------------------------------------------------------------------------------------------
# Stages


def has_invisible(str text not None) -> bool:
    """A character ``_delete_invisible`` changes: format, control or lone surrogate (``_INV | _CTRL``)."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t i
    for i in range(t.n):
        if _bits(_at(&t, i)) & (B_INV | B_CTRL):
            return True
    return False


def delete_invisible(str text not None, starts, ends):
    """``_delete_invisible``: format characters deleted (the others keep their spans), lone surrogates to U+FFFD,
    other controls to a space. ``None`` when nothing changes. ``starts`` and ``ends`` are one-dimensional C-contiguous
    int64 arrays as long as the text (``TypeError`` for None, ``ValueError`` otherwise; the dtype and the layout are
    checked when something changes)."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t i, o = 0, kept = 0
    cdef uint16_t v
    cdef Py_UCS4 c
    cdef bint changed = False
    cdef Py_UCS4* buf = NULL
    cdef Maps m
    cdef const int64_t* s
    cdef const int64_t* e
    cdef int64_t* out_s
    cdef int64_t* out_e
    _maps_init(&m)
    _maps_check(starts, ends, t.n)
    for i in range(t.n):  # first what is kept (the maps are made at their size)
        v = _bits(_at(&t, i))
        if v & (B_INV | B_CTRL):
            changed = True
        if not (v & B_INV):
            kept += 1
    if not changed:
        return None
    buf = _ucs4_buffer(t.n)
    try:
        _maps_in(&m, starts, ends, t.n)
        out = _maps_out(&m, kept)
        s = <const int64_t*>m.s.buf
        e = <const int64_t*>m.e.buf
        out_s = <int64_t*>m.os.buf
        out_e = <int64_t*>m.oe.buf
        for i in range(t.n):
            c = _at(&t, i)
            v = _bits(c)
            if v & B_INV:
                continue
            if v & B_CTRL:
                c = 0xFFFD if 0xD800 <= c <= 0xDFFF else 32
            if o >= kept:
                raise ValueError("the text changed while it was read")
            buf[o] = c
            out_s[o] = s[i]
            out_e[o] = e[i]
            o += 1
        if o != kept:
            raise ValueError("the text changed while it was read")
        return _from_ucs4(buf, o), out[0], out[1]
    finally:
        _maps_release(&m)
        PyMem_Free(buf)


def lower_bmp(str text not None):
    """``_lower``'s table path for long text: every character through the BMP lowercase table. ``None`` when a
    character is beyond the BMP or lowers to more than one (the caller uses ``str.lower``); ``text`` itself when
    nothing changes."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t i
    cdef Py_UCS4 c, low
    cdef bint changed = False
    cdef Py_UCS4* buf
    for i in range(t.n):
        c = _at(&t, i)
        if c >= BMP or _lower_tab[c] == 0:
            return None
    buf = _ucs4_buffer(t.n)
    try:
        for i in range(t.n):
            c = _at(&t, i)
            low = _lower_tab[c]
            if low != c:
                changed = True
            buf[i] = low
        if not changed:
            return text
        return _from_ucs4(buf, t.n)
    finally:
        PyMem_Free(buf)


cdef Py_UCS4 _NOT_SIMPLE = 0xFFFFFFFF  # not a code point


cdef inline Py_UCS4 _simple_lower(Py_UCS4 c) noexcept:
    """The lowercase of ``c`` on its own, or ``_NOT_SIMPLE`` (see :func:`lower_simple`)."""
    cdef Py_UCS4 low
    if c < BMP:
        low = _lower_tab[c]
        if low == 0 or c == 0x3A3:
            return _NOT_SIMPLE
        return low
    return Py_UNICODE_TOLOWER(c)


def lower_simple(str text not None):
    """``text.lower()`` where it is the lowercase of every character on its own: ``None`` when ``text`` holds a
    character that lowers to more than one (0 in the BMP table: İ, and NUL, left to ``str.lower``) or a capital
    sigma (``str.lower`` gives the final form at the end of a word); ``text`` itself when nothing changes. Beyond
    the BMP the simple lowercase is the full one (no special casing there: a unit test checks every code point)."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t i
    cdef Py_UCS4 c, low
    cdef bint changed = False
    cdef Py_UCS4* buf
    for i in range(t.n):
        c = _at(&t, i)
        low = _simple_lower(c)
        if low == _NOT_SIMPLE:
            return None
        if low != c:
            changed = True
            break
    if not changed:
        return text
    buf = _ucs4_buffer(t.n)
    try:
        for i in range(t.n):
            low = _simple_lower(_at(&t, i))
            if low == _NOT_SIMPLE:
                return None
            buf[i] = low
        return _from_ucs4(buf, t.n)
    finally:
        PyMem_Free(buf)


# The first position from ``i`` where three identical code units start (``n`` when there is none): blocks of 32
# positions tested at once without a branch (a loop the compiler vectorises), then the one block holding a triple, or
# the tail, position by position.
cdef extern from *:
    """
    #define __PYX_NORM_TRIPLE(T, NAME) \
        static Py_ssize_t NAME(const T* __restrict d, Py_ssize_t i, Py_ssize_t n) { \
            while (i + 34 <= n) { \
                unsigned int acc = 0; \
                int k; \
                for (k = 0; k < 32; k++) \
                    acc |= (unsigned int)((d[i + k] == d[i + k + 1]) & (d[i + k] == d[i + k + 2])); \
                if (acc) \
                    break; \
                i += 32; \
            } \
            while (i + 2 < n) { \
                if (d[i] == d[i + 1] && d[i] == d[i + 2]) \
                    return i; \
                i++; \
            } \
            return n; \
        }
    __PYX_NORM_TRIPLE(uint8_t, __pyx_norm_triple8)
    __PYX_NORM_TRIPLE(uint16_t, __pyx_norm_triple16)
    __PYX_NORM_TRIPLE(uint32_t, __pyx_norm_triple32)
    """
    Py_ssize_t _triple8 "__pyx_norm_triple8"(const uint8_t* d, Py_ssize_t i, Py_ssize_t n) noexcept nogil
    Py_ssize_t _triple16 "__pyx_norm_triple16"(const uint16_t* d, Py_ssize_t i, Py_ssize_t n) noexcept nogil
    Py_ssize_t _triple32 "__pyx_norm_triple32"(const uint32_t* d, Py_ssize_t i, Py_ssize_t n) noexcept nogil


cdef inline Py_ssize_t _next_triple(Text* t, Py_ssize_t i) noexcept:
    """The first position from ``i`` where three identical code points start (``t.n`` when there is none)."""
    if t.kind == 1:
        return _triple8(<const uint8_t*>t.data, i, t.n)
    if t.kind == 2:
        return _triple16(<const uint16_t*>t.data, i, t.n)
    return _triple32(<const uint32_t*>t.data, i, t.n)


cdef Py_ssize_t _next_run(Text* t, Py_ssize_t i, Py_ssize_t* end) except -1:
    """The start of the first run of three or more identical letters from ``i`` (``t.n`` when there is none), its
    end in ``end``. A run found this way starts where the run of identical characters does (one character
    earlier, the same three were found). A run of anything else ("...", "!!!") is passed whole: every triple
    starting inside it is of the same character, and none starts in its last two."""
    cdef Py_UCS4 c
    cdef Py_ssize_t j
    while True:
        i = _next_triple(t, i)
        if i >= t.n:
            end[0] = t.n
            return t.n
        c = _at(t, i)
        j = i + 3
        while j < t.n and _at(t, j) == c:
            j += 1
        if _bits(c) & B_L:
            end[0] = j
            return i
        i = j


def collapse_repeats(str text not None, starts, ends):
    """``_runs_to(buf, scan.repeats(), lambda s: s[0])``: runs of three or more identical letters to one letter that
    maps to the whole run. ``None`` when there is none. The maps as :func:`delete_invisible` takes them."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t i, j, o = 0, pos = 0, total, seg
    cdef Maps m
    cdef const int64_t* s
    cdef const int64_t* e
    cdef int64_t* out_s
    cdef int64_t* out_e
    cdef list pieces
    _maps_init(&m)
    _maps_check(starts, ends, t.n)
    # first: the runs and the length of the result (no allocation when there is none)
    total = t.n
    i = _next_run(&t, 0, &j)
    while i < t.n:
        total -= j - i - 1
        i = _next_run(&t, j, &j)
    if total == t.n:
        return None
    try:
        _maps_in(&m, starts, ends, t.n)
        out = _maps_out(&m, total)
        s = <const int64_t*>m.s.buf
        e = <const int64_t*>m.e.buf
        out_s = <int64_t*>m.os.buf
        out_e = <int64_t*>m.oe.buf
        pieces = []
        # then every unchanged stretch copied as is, every run one letter spanning it
        i = _next_run(&t, 0, &j)
        while i < t.n:
            seg = i - pos  # the stretch before the run, then its first letter
            if o + seg + 1 > total:
                raise ValueError("the text changed while it was read")
            memcpy(&out_s[o], &s[pos], seg * sizeof(int64_t))
            memcpy(&out_e[o], &e[pos], seg * sizeof(int64_t))
            o += seg
            out_s[o] = s[i]
            out_e[o] = e[j - 1]
            o += 1
            pieces.append(text[pos:i + 1])
            pos = j
            i = _next_run(&t, j, &j)
        seg = t.n - pos
        if o + seg != total:
            raise ValueError("the text changed while it was read")
        memcpy(&out_s[o], &s[pos], seg * sizeof(int64_t))
        memcpy(&out_e[o], &e[pos], seg * sizeof(int64_t))
        pieces.append(text[pos:])
        return "".join(pieces), out[0], out[1]
    finally:
        _maps_release(&m)


def spaced_candidates(str text not None) -> list:
    """``_Scan.spaced``: a superset of where ``_SPACED`` can match."""
    cdef Text t = _ready_text(text)
    cdef uint16_t* cls = _take_classes(&t, text)
    cdef Py_ssize_t i, n = t.n
    cdef uint16_t nxt, c2, c3
    cdef Py_UCS4 ch1, ch3
    cdef bint after3, sp
    cdef list out = []
    try:
        for i in range(n):
            if not (cls[i] & (B_L | B_D0134)):
                continue
            if i > 0 and cls[i - 1] & (B_L | B_M | B_D):
                continue
            nxt = cls[i + 1] if i + 1 < n else 0
            if nxt & (B_M | B_SEP):
                out.append(i)
                continue
            ch1 = _at(&t, i + 1) if i + 1 < n else 0
            c2 = cls[i + 2] if i + 2 < n else 0
            c3 = cls[i + 3] if i + 3 < n else 0
            ch3 = _at(&t, i + 3) if i + 3 < n else 0
            after3 = (c3 & B_M) != 0 or ch3 == 32
            if ch1 == 32 and (c2 & B_L) and after3:
                out.append(i)
        return out
    finally:
        _keep_classes(text, cls)


def spaced_starts(str text not None) -> list:
    """:func:`spaced_candidates` narrowed to where a branch of ``_SPACED`` can begin: a letter or leet digit (and
    its marks) followed by separators and another letter or leet digit; or a letter and its marks followed by a
    space twice over, then a letter. A start left out cannot match, and the ``_SEP_CHAIN`` it would have
    consumed (its separators, no final letter) holds no other start, so ``_spaced_matches`` finds the same."""
    cdef Text t = _ready_text(text)
    cdef uint16_t* cls = _take_classes(&t, text)
    cdef Py_ssize_t i = 0, n = t.n
    cdef list out = []
    cdef uint8_t* cand = NULL
    cdef uint64_t word
    try:
        # Both branches need a letter or leet digit, then a mark, a separator or a space (whitespace, then
        # tested), and no letter, mark or digit before it: that test at every position at once, in the vectorised
        # ``_spaced_flags_c`` (cls[n] is 0; nothing before the first character), then the few positions that pass
        # it tested in full, the others skipped eight at a time.
        cand = <uint8_t*>PyMem_Malloc(n + 1)
        if cand == NULL:
            raise MemoryError()
        _spaced_flags_c(cls, n, B_L | B_D0134, B_M | B_SEP | B_SP, B_L | B_M | B_D, cand)
        while i < n:
            if i + 8 <= n:
                memcpy(&word, &cand[i], 8)
                if word == 0:
                    i += 8
                    continue
            if cand[i] and _spaced_start(&t, cls, n, i):
                out.append(i)
            i += 1
        return out
    finally:
        PyMem_Free(cand)
        _keep_classes(text, cls)


cdef enum:
    # The separators (class ``B_SEP``) as bits: ' * + - . / (below 64) and \\ ^ _ ` | ~ (64 and above, less 64)
    SEPARATORS_LO = 0xec8000000000
    SEPARATORS_HI = 0x50000001d0000000
    # The mask symbols of ``normalise._MASK_SYMBOLS`` the same way: ! # $ % * (all below 64)
    MASKS_LO = 0x43a00000000
    MASKS_HI = 0x0
    ACCENTS_HI = 0x100000000  # the grave accent, ` (96, less 64: bit 32); the acute accent U+00B4 is tested on its own


cdef inline Py_ssize_t _next_separator(const _unit* d, Py_ssize_t i, Py_ssize_t end) noexcept nogil:
    """The first position from ``i`` (before ``end``) of a separator (``SEPARATORS_LO``/``_HI``); ``end``: none."""
    return _next_ascii_of(d, i, end, SEPARATORS_LO, SEPARATORS_HI)


cdef Py_ssize_t _next_ascii_of(const _unit* d, Py_ssize_t i, Py_ssize_t end, uint64_t lo, uint64_t hi) noexcept nogil:
    """The first position from ``i`` (before ``end``) of an ASCII character whose bit is set in ``lo`` (code points
    below 64) or ``hi`` (64 and above, less 64); ``end``: none."""
    cdef uint64_t c, mask
    cdef uint64_t flip = lo ^ hi
    while i < end:
        # branch-free but for a hit: text mixes ASCII letters, spaces and other characters, which a test of the
        # range of each one mispredicts
        c = d[i]
        mask = lo ^ (flip & (0 - ((c >> 6) & 1)))
        if ((mask >> (c & 63)) & 1) & (c < 128):
            return i
        i += 1
    return end


cdef inline bint _has_bits(Py_UCS4 c, uint16_t bits) except -1:
    """``_bits(c) & bits`` for ``bits`` among ``B_L``, ``B_M``, ``B_D``, without the table for ASCII (most
    characters around a full stop: a space, a line break, another stop)."""
    if c < 128:
        if 97 <= (<uint32_t>c | 32) <= 122:
            return (bits & B_L) != 0
        if 48 <= <uint32_t>c <= 57:
            return (bits & B_D) != 0
        return False
    return (_bits(c) & bits) != 0


cdef inline bint _folds_to_vowel(Py_UCS4 c) noexcept:
    """Whether ``c`` folds (``_fold_tab``) to a, e, i, o, u or y."""
    if c < <Py_UCS4>_fold_tab.shape[0]:
        c = _fold_tab[c]
    return c == 97 or c == 101 or c == 105 or c == 111 or c == 117 or c == 121


def fragment_chains(str text not None) -> list:
    """``normalise._fragment_chains_py``: the words split inside by separators that may spell one syllable, as
    (start, end): two to four pieces of letters and marks, one separator between each, at most
    ``FRAGMENT_CHARS`` letters and marks, no digit on either side, one run of vowels (folded; marks do not end
    one). The class bits are looked up only around the separators (most texts have none between two letters)."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t i = 1, n = t.n, a, q, e, pieces, chars, runs
    cdef bint in_vowel
    cdef list out = []
    cdef Py_UCS4 c
    cdef uint16_t b
    while i < n - 1:
        if t.kind == 1:
            i = _next_separator(<const uint8_t*>t.data, i, n - 1)
        elif t.kind == 2:
            i = _next_separator(<const uint16_t*>t.data, i, n - 1)
        else:
            i = _next_separator(<const uint32_t*>t.data, i, n - 1)
        if i >= n - 1:
            break
        if not (_has_bits(_at(&t, i + 1), B_L) and _has_bits(_at(&t, i - 1), B_L | B_M)):
            i += 1
            continue
        a = i - 1
        while a > 0 and _bits(_at(&t, a - 1)) & (B_L | B_M):
            a -= 1
        q = i
        pieces = 1
        while q + 1 < n and _bits(_at(&t, q)) & B_SEP and _bits(_at(&t, q + 1)) & B_L:
            q += 1
            while q < n and _bits(_at(&t, q)) & (B_L | B_M):
                q += 1
            pieces += 1
        i = q
        if pieces > FRAGMENT_PIECES or (a > 0 and _bits(_at(&t, a - 1)) & B_D):
            continue
        if q < n and _bits(_at(&t, q)) & B_D:
            continue
        chars = 0
        runs = 0
        in_vowel = False
        for e in range(a, q):
            c = _at(&t, e)
            b = _bits(c)
            if b & B_SEP:
                continue
            chars += 1
            if b & B_M:
                continue
            if _folds_to_vowel(c):
                if not in_vowel:
                    runs += 1
                in_vowel = True
            else:
                in_vowel = False
        if chars <= FRAGMENT_CHARS and runs == 1:
            out.append((a, q))
    return out


cdef inline bint _is_mask_symbol(Py_UCS4 c) noexcept nogil:
    return c == 42 or c == 35 or c == 33 or c == 37 or c == 36  # * # ! % $


cdef Py_ssize_t _mask_run(Text* t, Py_ssize_t i, Py_ssize_t n, Py_ssize_t max_mask, bint* between) noexcept:
    """The end of the run of at most ``max_mask`` mask symbols starting at ``i`` (``0 < i < n - 1``, a mask symbol);
    ``between``: whether a letter comes right before the run and right after it."""
    cdef Py_ssize_t j = i + 1
    while j < n - 1 and j - i < max_mask and _is_mask_symbol(_at(t, j)):
        j += 1
    between[0] = Py_UNICODE_ISALPHA(_at(t, j)) and Py_UNICODE_ISALPHA(_at(t, i - 1))
    return j


def mask_starts(str text not None, Py_ssize_t max_mask) -> list:
    """``normalise._mask_starts_py``: where a run of at most ``max_mask`` mask symbols (``* # ! % $``) starts
    right after a letter and ends right before one, in order (``str.isalpha``'s letters)."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t i, j, n = t.n
    cdef bint between
    cdef list out = []
    i = 1
    while i < n - 1:
        if t.kind == 1:
            i = _next_ascii_of(<const uint8_t*>t.data, i, n - 1, MASKS_LO, MASKS_HI)
        elif t.kind == 2:
            i = _next_ascii_of(<const uint16_t*>t.data, i, n - 1, MASKS_LO, MASKS_HI)
        else:
            i = _next_ascii_of(<const uint32_t*>t.data, i, n - 1, MASKS_LO, MASKS_HI)
        if i >= n - 1:
            break
        j = _mask_run(&t, i, n, max_mask, &between)
        if between:
            out.append(i)
        i = j
    return out


cdef Py_ssize_t _next_read(const _unit* d, Py_ssize_t i, Py_ssize_t end) noexcept nogil:
    """The first position from ``i`` (before ``end``) of a mask symbol, a grave accent (U+0060) or an acute accent
    (U+00B4); ``end``: none."""
    cdef uint64_t c, mask
    cdef uint64_t lo = <uint64_t>MASKS_LO, flip = <uint64_t>MASKS_LO ^ <uint64_t>(MASKS_HI | ACCENTS_HI)
    while i < end:
        c = d[i]
        mask = lo ^ (flip & (0 - ((c >> 6) & 1)))
        if (((mask >> (c & 63)) & 1) & (c < 128)) | (c == 0xB4):
            return i
        i += 1
    return end


def may_read_words(str text not None, Py_ssize_t max_mask) -> bool:
    """``normalise._may_read_words_py``: whether ``text`` holds a grave (U+0060) or acute (U+00B4) accent, or a
    run of at most ``max_mask`` mask symbols right after a letter and right before one (:func:`mask_starts`)."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t i, n = t.n
    cdef bint between
    cdef Py_UCS4 c
    i = 0
    while i < n:
        if t.kind == 1:
            i = _next_read(<const uint8_t*>t.data, i, n)
        elif t.kind == 2:
            i = _next_read(<const uint16_t*>t.data, i, n)
        else:
            i = _next_read(<const uint32_t*>t.data, i, n)
        if i >= n:
            return False
        c = _at(&t, i)
        if c == 0x60 or c == 0xB4:
            return True
        if 0 < i < n - 1:
            i = _mask_run(&t, i, n, max_mask, &between)
            if between:
                return True
        else:
            i += 1
    return False


cdef bint _spaced_start(Text* t, const uint16_t* cls, Py_ssize_t n, Py_ssize_t i) noexcept:
    """Whether a branch of ``_SPACED`` can begin at ``i``, which passed the first test of :func:`spaced_starts`
    (``cls[n]`` is 0)."""
    cdef Py_ssize_t q, k
    cdef uint16_t c0 = cls[i]
    q = i + 1
    while q < n and cls[q] & B_M:
        q += 1
    if cls[q] & B_SEP:  # cls[n] is 0
        q += 1
        while q < n and cls[q] & B_SEP:
            q += 1
        if cls[q] & (B_L | B_D0134):
            return True
    if not (c0 & B_L):
        return False
    q = i
    for k in range(2):
        if not (cls[q] & B_L):
            return False
        q += 1
        while q < n and cls[q] & B_M:
            q += 1
        if q >= n or _at(t, q) != 32:
            return False
        q += 1
    return (cls[q] & B_L) != 0


def leet_long(str text not None):
    """``_leet`` for text of ``_SMALL`` characters or more: the new text (one character for one, so the offset map
    does not change), or ``None`` when no token is rewritten."""
    cdef Text t = _ready_text(text)
    cdef uint16_t* cls = _take_classes(&t, text)
    cdef Py_ssize_t i, n = t.n, s, e, letters, digits, leet, size
    cdef bint hint = False, changed = False, glued
    cdef Py_UCS4 c
    cdef uint8_t pb
    cdef Py_UCS4* buf = NULL
    try:
        for i in range(n):  # a letter before a leet digit or "@", or a leet digit before a letter (cls[n] is 0)
            if (((cls[i] & B_L) != 0) & ((cls[i + 1] & (B_LEETD | B_AT)) != 0)) | (
                    ((cls[i] & B_LEETD) != 0) & ((cls[i + 1] & B_L) != 0)):
                hint = True
                break
        if not hint:
            return None
        # The text is copied to ``buf`` when the first token is rewritten (most texts with a hint have none); until
        # then, and for the tokens not rewritten, the characters are read from the text (tokens do not overlap).
        i = 0
        while i < n:
            # Only a token holding a leet digit or "@" can change (each is a token character): find one, then its
            # token (letters, marks, digits, "@"), and go on after it.
            if not (cls[i] & (B_LEETD | B_AT)):
                i += 1
                continue
            s = i
            while s > 0 and cls[s - 1] & (B_L | B_M | B_D | B_AT):
                s -= 1
            e = i + 1
            while e < n and cls[e] & (B_L | B_M | B_D | B_AT):
                e += 1
            i = e
            size = e - s
            if size < 3 or size > MAX_LEET_TOKEN:
                continue
            letters = digits = leet = 0
            for i in range(s, e):
                c = _at(&t, i)
                pb = _pybits(c)
                if pb & PY_ALPHA:
                    letters += 1
                if (pb & PY_DIGIT) or c == 64:
                    digits += 1
                if cls[i] & (B_LEETD | B_AT):
                    leet += 1
            i = e
            glued = ((cls[s] & B_D) and (cls[s + 1] & B_D)) or ((cls[e - 1] & B_D) and (cls[e - 2] & B_D))
            if letters < 2 or digits == 0 or digits > letters or glued or leet == 0:
                continue
            if _at(&t, s) == 64 or _at(&t, e - 1) == 64:
                continue
            if buf == NULL:
                buf = _ucs4_buffer(n)
                for i in range(n):
                    buf[i] = _at(&t, i)
            for i in range(s, e):
                c = buf[i]
                if c == 48:
                    buf[i] = 111  # 0 -> o
                elif c == 49:
                    buf[i] = 105  # 1 -> i
                elif c == 51:
                    buf[i] = 101  # 3 -> e
                elif c == 52 or c == 64:
                    buf[i] = 97  # 4, @ -> a
                elif c == 53:
                    buf[i] = 115  # 5 -> s
                elif c == 55:
                    buf[i] = 116  # 7 -> t
                else:
                    continue
                changed = True
            i = e
        if not changed:
            return None
        return _from_ucs4(buf, n)
    finally:
        _keep_classes(text, cls)
        if buf != NULL:
            PyMem_Free(buf)


def drop_mark_floods(str text not None, starts, ends):
    """``_drop_mark_floods``: every combining mark after the third in a row deleted; ``None`` when none is. The maps
    as :func:`delete_invisible` takes them."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t i, o = 0, run = 0, kept = 0
    cdef Py_UCS4 c
    cdef bint changed = False
    cdef Py_UCS4* buf = NULL
    cdef Maps m
    cdef const int64_t* s
    cdef const int64_t* e
    cdef int64_t* out_s
    cdef int64_t* out_e
    cdef uint16_t* cls
    _maps_init(&m)
    _maps_check(starts, ends, t.n)
    # the classes through the cache: ``suspicious_tokens`` reads the same text next when nothing is dropped
    cls = _take_classes(&t, text)
    try:
        for i in range(t.n):
            if cls[i] & B_M:
                run += 1
                if run > MAX_MARKS:
                    changed = True
                    continue
            else:
                run = 0
            kept += 1
    finally:
        _keep_classes(text, cls)
    if not changed:
        return None
    buf = _ucs4_buffer(t.n)
    try:
        _maps_in(&m, starts, ends, t.n)
        out = _maps_out(&m, kept)
        s = <const int64_t*>m.s.buf
        e = <const int64_t*>m.e.buf
        out_s = <int64_t*>m.os.buf
        out_e = <int64_t*>m.oe.buf
        run = 0
        for i in range(t.n):
            c = _at(&t, i)
            if _bits(c) & B_M:
                run += 1
                if run > MAX_MARKS:
                    continue
            else:
                run = 0
            if o >= kept:
                raise ValueError("the text changed while it was read")
            buf[o] = c
            out_s[o] = s[i]
            out_e[o] = e[i]
            o += 1
        if o != kept:
            raise ValueError("the text changed while it was read")
        return _from_ucs4(buf, o), out[0], out[1]
    finally:
        _maps_release(&m)
        PyMem_Free(buf)


# The first position from ``i`` that is a candidate of ``suspicious_tokens`` (a class of ``mt``, or an "o" before a
# class of ``ot``, or a "u" before one of ``ut``; ``cls[n]`` is 0), ``n`` when there is none: blocks of 16 positions
# tested without a branch (vectorised), then position by position.
cdef extern from *:
    """
    #define __PYX_NORM_SUSP(T, NAME) \
        static Py_ssize_t NAME(const T* __restrict d, const uint16_t* __restrict cls, Py_ssize_t i, Py_ssize_t n, \
                               uint16_t mt, uint16_t ot, uint16_t ut) { \
            while (i + 16 <= n) { \
                unsigned int acc = 0; \
                int k; \
                for (k = 0; k < 16; k++) \
                    acc |= (unsigned int)(((cls[i + k] & mt) != 0) \
                                          | ((d[i + k] == 111) & ((cls[i + k + 1] & ot) != 0)) \
                                          | ((d[i + k] == 117) & ((cls[i + k + 1] & ut) != 0))); \
                if (acc) \
                    break; \
                i += 16; \
            } \
            for (; i < n; i++) { \
                if (((cls[i] & mt) != 0) | ((d[i] == 111) & ((cls[i + 1] & ot) != 0)) \
                        | ((d[i] == 117) & ((cls[i + 1] & ut) != 0))) \
                    return i; \
            } \
            return n; \
        }
    __PYX_NORM_SUSP(uint8_t, __pyx_norm_susp8)
    __PYX_NORM_SUSP(uint16_t, __pyx_norm_susp16)
    __PYX_NORM_SUSP(uint32_t, __pyx_norm_susp32)
    """
    Py_ssize_t _susp8 "__pyx_norm_susp8"(const uint8_t* d, const uint16_t* cls, Py_ssize_t i, Py_ssize_t n,
                                         uint16_t mt, uint16_t ot, uint16_t ut) noexcept nogil
    Py_ssize_t _susp16 "__pyx_norm_susp16"(const uint16_t* d, const uint16_t* cls, Py_ssize_t i, Py_ssize_t n,
                                           uint16_t mt, uint16_t ot, uint16_t ut) noexcept nogil
    Py_ssize_t _susp32 "__pyx_norm_susp32"(const uint32_t* d, const uint16_t* cls, Py_ssize_t i, Py_ssize_t n,
                                           uint16_t mt, uint16_t ot, uint16_t ut) noexcept nogil


cdef inline Py_ssize_t _next_suspicious(Text* t, const uint16_t* cls, Py_ssize_t i) noexcept:
    if t.kind == 1:
        return _susp8(<const uint8_t*>t.data, cls, i, t.n, B_M | B_TONED, B_OTONE, B_UTONE)
    if t.kind == 2:
        return _susp16(<const uint16_t*>t.data, cls, i, t.n, B_M | B_TONED, B_OTONE, B_UTONE)
    return _susp32(<const uint32_t*>t.data, cls, i, t.n, B_M | B_TONED, B_OTONE, B_UTONE)


def suspicious_tokens(str text not None) -> list:
    """``_suspicious_tokens``: the tokens (runs of letters and marks) holding a match of ``_SUSPICIOUS``.

    Candidates (a mark, a tone-marked consonant, an "o"/"u" before a tone the pattern names) are found without
    branching on the common characters; a candidate's token is found by walking back to where it starts, and the
    scan goes on after it (one hit is enough)."""
    cdef Text t = _ready_text(text)
    cdef uint16_t* cls = _take_classes(&t, text)
    cdef Py_ssize_t i, n = t.n, start, last = -1, i_end
    cdef Py_UCS4 c
    cdef uint16_t b, nxt, after
    cdef list out = []
    try:
        i = 0
        while i < n:
            i = _next_suspicious(&t, cls, i)  # the next candidate (the test below, at every position)
            if i >= n:
                break
            b = cls[i]
            c = _at(&t, i)
            nxt = cls[i + 1]  # 0 past the end
            if not (((b & (B_M | B_TONED)) != 0) | ((c == 111) & ((nxt & B_OTONE) != 0))
                    | ((c == 117) & ((nxt & B_UTONE) != 0))):
                i += 1
                continue
            if not (b & (B_M | B_TONED)):  # "o"/"u": the rest of the pattern, then the pattern itself
                after = cls[i + 2] if i + 2 < n else 0
                if (after & (B_L | B_M)) or (c == 117 and i > 0 and _at(&t, i - 1) == 113) or \
                        _susp_match(text, i) is None:
                    i += 1
                    continue
            # the token: the run of letters and marks holding i (or, were i not in one, the last before it)
            start = i
            if not (cls[start] & (B_L | B_M)):
                while start > 0 and not (cls[start - 1] & (B_L | B_M)):
                    start -= 1
                if start == 0:
                    raise ValueError("a suspicious character outside every token")
                start -= 1
            while start > 0 and cls[start - 1] & (B_L | B_M):
                start -= 1
            if start != last:
                last = start
                i_end = start
                while i_end < n and cls[i_end] & (B_L | B_M):
                    i_end += 1
                out.append((start, i_end))
                if i_end > i:
                    i = i_end
                    continue
            i += 1
        return out
    finally:
        _keep_classes(text, cls)


cdef Py_ssize_t _space_runs(const _unit* d, Py_ssize_t n, Py_ssize_t** runs, Py_ssize_t* cap) except -1:
    """The whitespace runs of ``d[:n]`` that ``collapse_spaces`` changes (two or more long, or one character other
    than a space), as start/end pairs in ``runs[0]`` (grown with ``PyMem_Realloc``; ``cap`` pairs fit); their
    number."""
    cdef Py_ssize_t i = 0, j, k = 0
    cdef Py_ssize_t* grown
    while i < n:
        if not (_bits(d[i]) & B_SP):
            i += 1
            continue
        j = i + 1
        while j < n and _bits(d[j]) & B_SP:
            j += 1
        if j - i > 1 or d[i] != 32:
            if k == cap[0]:
                grown = <Py_ssize_t*>PyMem_Realloc(runs[0], 4 * cap[0] * sizeof(Py_ssize_t))
                if grown == NULL:
                    raise MemoryError()
                runs[0] = grown
                cap[0] *= 2
            runs[0][2 * k] = i
            runs[0][2 * k + 1] = j
            k += 1
        i = j
    return k


def collapse_spaces(str text not None, starts, ends):
    """``_collapse_spaces``: a whitespace character that is not a space becomes one (its span unchanged); a run of
    two or more becomes one space spanning the run. ``None`` when nothing changes. When no run is two or more long
    the map does not change, and the arrays given are returned as they are (as the Python path does). The maps as
    :func:`delete_invisible` takes them."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t cap = 16, k, m, r, a, b, o = 0, pos = 0, total, seg
    cdef Py_ssize_t* runs
    cdef Maps mp
    cdef const int64_t* s
    cdef const int64_t* e
    cdef int64_t* out_s
    cdef int64_t* out_e
    cdef list pieces
    _maps_init(&mp)
    _maps_check(starts, ends, t.n)
    runs = <Py_ssize_t*>PyMem_Malloc(2 * cap * sizeof(Py_ssize_t))
    if runs == NULL:
        raise MemoryError()
    try:
        if t.kind == 1:
            m = _space_runs(<const uint8_t*>t.data, t.n, &runs, &cap)
        elif t.kind == 2:
            m = _space_runs(<const uint16_t*>t.data, t.n, &runs, &cap)
        else:
            m = _space_runs(<const uint32_t*>t.data, t.n, &runs, &cap)
        if m == 0:
            return None
        # the text: the stretches between the runs, each run one space
        pieces = []
        total = t.n
        for r in range(m):
            a = runs[2 * r]
            b = runs[2 * r + 1]
            if not (pos <= a < b <= t.n):
                raise ValueError("the text changed while it was read")
            pieces.append(text[pos:a])
            pieces.append(" ")
            total -= b - a - 1
            pos = b
        pieces.append(text[pos:])
        out = "".join(pieces)
        if total == t.n:  # one character for one: the map as it was
            _maps_in(&mp, starts, ends, t.n)  # (checked all the same)
            return out, starts, ends
        # the map: every stretch copied, every run one entry spanning it (total >= 1: a run's own space)
        _maps_in(&mp, starts, ends, t.n)
        maps = _maps_out(&mp, total)
        s = <const int64_t*>mp.s.buf
        e = <const int64_t*>mp.e.buf
        out_s = <int64_t*>mp.os.buf
        out_e = <int64_t*>mp.oe.buf
        pos = 0
        for r in range(m):
            a = runs[2 * r]
            b = runs[2 * r + 1]
            seg = a - pos
            if o + seg + 1 > total:
                raise ValueError("the text changed while it was read")
            memcpy(&out_s[o], &s[pos], seg * sizeof(int64_t))
            memcpy(&out_e[o], &e[pos], seg * sizeof(int64_t))
            o += seg
            out_s[o] = s[a]
            out_e[o] = e[b - 1]
            o += 1
            pos = b
        seg = t.n - pos
        if o + seg != total:
            raise ValueError("the text changed while it was read")
        memcpy(&out_s[o], &s[pos], seg * sizeof(int64_t))
        memcpy(&out_e[o], &e[pos], seg * sizeof(int64_t))
        return out, maps[0], maps[1]
    finally:
        _maps_release(&mp)
        PyMem_Free(runs)


def teencode_hits(str text not None, Py_ssize_t size, list flat not None, list keys not None):
    """``_TeencodeScanner.apply``'s second half: from the Hyperscan matches over the UTF-8 text (``flat``: key index,
    end byte offset, ...; ``size``: the number of bytes) the keys that are whole ``\\w`` runs, as sorted
    ``(start, end, key index)``."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t n = t.n, i, p, k, pid, to, start, end, nbytes
    cdef Py_ssize_t* before = NULL  # characters started before each byte offset
    cdef Py_UCS4 c
    cdef list hits = []
    cdef str key
    if size < 0:
        raise ValueError("negative UTF-8 size")
    if size != n:
        before = <Py_ssize_t*>PyMem_Malloc((size + 1) * sizeof(Py_ssize_t))
        if before == NULL:
            raise MemoryError()
    try:
        if before != NULL:
            p = 0
            before[0] = 0
            for i in range(n):
                c = _at(&t, i)
                nbytes = 1 if c < 0x80 else (2 if c < 0x800 else (3 if c < 0x10000 else 4))
                for k in range(nbytes):
                    if p + k + 1 > size:
                        raise ValueError("UTF-8 size does not match the text")
                    before[p + k + 1] = i + 1
                p += nbytes
            if p != size:
                raise ValueError("UTF-8 size does not match the text")
        if len(flat) % 2:
            raise ValueError("flat holds (key index, end offset) pairs")
        for k in range(0, len(flat), 2):
            pid = flat[k]
            to = flat[k + 1]
            # list indexing is unchecked here (boundscheck=False), and before[to - 1]/text[to - 1] are read below
            if pid < 0 or pid >= len(keys) or to < 1 or to > size:
                raise ValueError("a match outside the keys or the text")
            key = keys[pid]
            if to == size and text.endswith(key):
                end = n
            else:
                end = (before[to] if before != NULL else to) - 1
            start = end - len(key)
            if start > 0 and _bits(_at(&t, start - 1)) & B_W:
                continue
            if end < n and _bits(_at(&t, end)) & B_W:
                continue
            hits.append((start, end, pid))
        hits.sort(key=_first)
        return hits
    finally:
        if before != NULL:
            PyMem_Free(before)


def _first(tuple hit not None):
    if len(hit) == 0:  # hit[0] is read unchecked
        raise ValueError("a hit is (start, ...)")
    return hit[0]


def teencode_window(str out not None, list edits not None) -> str:
    """The changed parts of ``out`` (each expansion of ``edits``, applied in order, at its new offset, with
    ``_TRIGGER_CONTEXT`` characters either side, then widened to the ends of the words they cut, by at most
    ``WORD_WIDEN`` characters; overlapping windows merged), joined by NUL. Widening only adds text, so the trigger
    bits of the windows stay a superset of those of the changes; a cut word would look like a word of its own (its
    tail "ng" or "z" a teencode key) and set bits the text does not have."""
    cdef Py_ssize_t shift = 0, new_start, length, lo, hi, cur_lo = -1, cur_hi = -1, size = len(out), stop
    cdef list parts = []
    cdef Text t = _text(out)
    for e in edits:
        if len(e) < 3:  # e[2] is read unchecked
            raise ValueError("an edit is (start, end, replacement, ...)")
        length = len(e[2])
        new_start = <Py_ssize_t>e[0] + shift
        shift += length - (<Py_ssize_t>e[1] - <Py_ssize_t>e[0])
        _window_add(&t, out, new_start, length, _trig_ready, &cur_lo, &cur_hi, parts)
    if cur_lo >= 0:
        parts.append(out[cur_lo:cur_hi])
    return "\x00".join(parts)


cdef int _window_add(Text* t, str out, Py_ssize_t new_start, Py_ssize_t length, bint widen, Py_ssize_t* cur_lo,
                     Py_ssize_t* cur_hi, list parts) except -1:
    """One expansion of :func:`teencode_window` (at ``new_start`` in ``out``, read as ``t``, ``length`` long): its
    window, widened over word characters when ``widen`` (the trigger classes are ready), merged into the open window
    ``cur_lo[0]:cur_hi[0]`` (-1: none yet) when they overlap, else the open one goes to ``parts`` and this one opens."""
    cdef Py_ssize_t size = t.n, stop
    cdef Py_ssize_t lo = new_start - TRIGGER_CONTEXT
    cdef Py_ssize_t hi = new_start + length + TRIGGER_CONTEXT
    if lo < 0:
        lo = 0
    if hi > size:
        hi = size
    if widen and lo <= hi:  # widened over the word characters (not ``TC_NW``) either side
        stop = lo - WORD_WIDEN
        while lo > 0 and lo > stop and not (_tbits(_at(t, lo - 1)) & TC_NW):
            lo -= 1
        stop = hi + WORD_WIDEN
        while hi < size and hi < stop and not (_tbits(_at(t, hi)) & TC_NW):
            hi += 1
    if cur_lo[0] >= 0 and lo <= cur_hi[0]:
        cur_hi[0] = hi
        return 0
    if cur_lo[0] >= 0:
        parts.append(out[cur_lo[0]:cur_hi[0]])
    cur_lo[0] = lo
    cur_hi[0] = hi
    return 0


def changed_window(str old not None, str new not None):
    """``_changed_window``: ``new`` without the prefix and the suffix it shares with ``old`` (the suffix no longer
    than what the prefix leaves of the shorter string), widened by ``TRIGGER_CONTEXT`` characters either side and
    clipped to ``new``; ``None`` when both are equal."""
    cdef Text a = _text(old)
    cdef Text b = _text(new)
    cdef Py_ssize_t p = 0, s = 0, limit, lo, hi
    limit = a.n if a.n < b.n else b.n
    while p < limit and _at(&a, p) == _at(&b, p):
        p += 1
    if p == limit and a.n == b.n:
        return None
    limit -= p
    while s < limit and _at(&a, a.n - 1 - s) == _at(&b, b.n - 1 - s):
        s += 1
    lo = p - TRIGGER_CONTEXT
    if lo < 0:
        lo = 0
    hi = b.n - s + TRIGGER_CONTEXT
    if hi > b.n:
        hi = b.n
    return new[lo:hi]


def fold(str text not None) -> str:
    """``text.translate(_fold_table())`` (one character for one; ``text`` itself when none folds)."""
    return _fold_str(text)


cdef const uint8_t[::1] _nfc_tab
cdef bint _nfc_ready = False


def nfc_setup(table) -> None:
    """Share ``normalise._nfc_safe()``: per code point below its length, 1 for a starter that NFC keeps as it is and
    that composes with nothing before it (NFC quick check "yes", combining class 0)."""
    global _nfc_tab, _nfc_ready
    cdef const uint8_t[::1] tab
    if table is None:
        raise TypeError("a uint8 array, not None")
    tab = table
    if _nfc_ready:  # set once (a second thread may be using the table)
        return
    _nfc_tab = tab
    _nfc_ready = True


def nfc_quick(str text not None) -> bool:
    """Whether every character of ``text`` is one of :func:`nfc_setup`'s: the NFC quick check then says "yes", so
    ``text`` is NFC. ``False`` means "not known" (the caller asks ``unicodedata.is_normalized``), as before setup."""
    cdef Text t = _text(text)
    cdef Py_ssize_t i, size
    cdef Py_UCS4 c
    if not _nfc_ready:
        return False
    size = _nfc_tab.shape[0]
    for i in range(t.n):
        c = _at(&t, i)
        if c >= <Py_UCS4>size or not _nfc_tab[c]:
            return False
    return True


# ---------------------------------------------------------------------------------------------------------------
# Teencode words and the exact leet trigger

cdef uint64_t* _teen_set = NULL  # open addressing, 0 = empty
cdef Py_ssize_t _teen_mask = 0
cdef Py_ssize_t _teen_max = 0


cdef inline uint64_t _word_hash(Text* t, Py_ssize_t a, Py_ssize_t b) noexcept:
    cdef uint64_t h = 0xCBF29CE484222325
    cdef Py_ssize_t i
    for i in range(a, b):
        h = (h ^ <uint64_t>_at(t, i)) * <uint64_t>0x100000001B3
    return h | 1


def teencode_setup(list keys not None):
    """The teencode keys (``_teencode()``'s keys) as a set of code point hashes, for :func:`teencode_runs`."""
    global _teen_set, _teen_mask, _teen_max
    cdef Py_ssize_t size = 16, slot
    cdef uint64_t h
    cdef uint64_t* table
    cdef Text t
    if _teen_set != NULL:  # set once (the table never changes; a second thread may be using it)
        return
    while size < 4 * len(keys):
        size *= 2
    table = <uint64_t*>PyMem_Malloc(size * sizeof(uint64_t))
    if table == NULL:
        raise MemoryError()
    for slot in range(size):
        table[slot] = 0
    longest = 0
    for key in keys:
        t = _text(key)
        if t.n > longest:
            longest = t.n
        h = _word_hash(&t, 0, t.n)
        slot = <Py_ssize_t>(h & <uint64_t>(size - 1))
        while table[slot] != 0 and table[slot] != h:
            slot = (slot + 1) & (size - 1)
        table[slot] = h
    _teen_set = table
    _teen_mask = size - 1
    _teen_max = longest


cdef int _teen_runs(const _unit* d, Py_ssize_t n, list out, bint* surrogate) except -1:
    """:func:`teencode_runs` over the code units ``d[:n]`` of one kind: each ``\\w`` run hashed as it is read (only
    runs of at most ``_teen_max`` characters are looked up, so only their first ``_teen_max`` are hashed)."""
    cdef Py_ssize_t i = 0, s, slot
    cdef uint64_t h
    cdef Py_UCS4 c
    while i < n:
        c = d[i]
        if _unit is not uint8_t:
            if 0xD800 <= c <= 0xDFFF:
                surrogate[0] = True
        if not (_bits(c) & B_W):
            i += 1
            continue
        s = i
        h = (<uint64_t>0xCBF29CE484222325 ^ <uint64_t>c) * <uint64_t>0x100000001B3
        i += 1
        while i < n:
            c = d[i]
            if _unit is not uint8_t:
                if 0xD800 <= c <= 0xDFFF:
                    surrogate[0] = True
            if not (_bits(c) & B_W):
                break
            if i - s < _teen_max:
                h = (h ^ <uint64_t>c) * <uint64_t>0x100000001B3
            i += 1
        if i - s > _teen_max:
            continue
        h |= 1  # as ``_word_hash``
        slot = <Py_ssize_t>(h & <uint64_t>_teen_mask)
        while _teen_set[slot] != 0:
            if _teen_set[slot] == h:
                out.append((s, i))
                break
            slot = (slot + 1) & _teen_mask
    return 0


def teencode_runs(str text not None):
    """The maximal runs of ``\\w`` characters (``_W``) whose code points hash like a teencode key (a superset of the
    runs that are keys: the caller looks each up), as ``(start, end)``; and whether the text holds a lone surrogate.
    """
    cdef Text t = _ready_text(text)
    cdef bint surrogate = False
    cdef list out = []
    if _teen_set == NULL:
        raise RuntimeError("teencode_setup was not called")
    if t.kind == 1:
        _teen_runs(<const uint8_t*>t.data, t.n, out, &surrogate)
    elif t.kind == 2:
        _teen_runs(<const uint16_t*>t.data, t.n, out, &surrogate)
    else:
        _teen_runs(<const uint32_t*>t.data, t.n, out, &surrogate)
    return out, surrogate


def teencode_edits(str text not None, dict table not None):
    """:func:`teencode_runs` with each run looked up in ``table`` (``_teencode()``): the whole-range edits
    ``(start, end, expansion, None)`` of the runs that are keys with an expansion other than themselves, in order;
    and whether the text holds a lone surrogate."""
    cdef list runs
    cdef bint surrogate
    cdef list out = []
    cdef object word, new
    runs, surrogate = teencode_runs(text)
    for run in runs:
        a = run[0]
        b = run[1]
        word = text[a:b]
        new = table.get(word)
        if new is not None and new != word:
            out.append((a, b, new, None))
    return out, surrogate


def leet_exact(str text not None) -> int:
    """``_LEET_EXACT`` (``\\p{L}[013457@]|[013457]\\p{L}``) decided without Hyperscan where it can be: 1 when an ASCII
    letter touches a leet digit, 0 when no letter can, -1 when only a character beyond ASCII does (Hyperscan's own
    ``\\p{L}`` decides those)."""
    cdef Text t = _text(text)
    cdef Py_ssize_t i
    cdef Py_UCS4 a, b
    cdef bint unsure = False
    for i in range(t.n - 1):
        a = _at(&t, i)
        b = _at(&t, i + 1)
        if b == 64 or (48 <= b <= 55 and b != 50 and b != 54):  # [013457@]
            if a >= 0x80:
                unsure = True
            elif (65 <= a <= 90) or (97 <= a <= 122):
                return 1
        if 48 <= a <= 55 and a != 50 and a != 54:  # [013457]
            if b >= 0x80:
                unsure = True
            elif (65 <= b <= 90) or (97 <= b <= 122):
                return 1
    return -1 if unsure else 0


# ---------------------------------------------------------------------------------------------------------------
# Trigger bits: the patterns of ``normalise._Triggers`` tested in one pass over the code points, with the one-code-
# point classes they are made of read from a table Hyperscan fills (``normalise._TriggerTable``).

cdef enum:
    TC_CONF = 1
    TC_REP = 2
    TC_NLMN = 4
    TC_L0134 = 8
    TC_M = 16
    TC_SEP = 32
    TC_L = 64
    TC_TONED = 128
    TC_OTONE = 256
    TC_UTONE = 512
    TC_NLM = 1024
    TC_NW = 2048
    TC_WSX = 4096
    TC_EXOTIC = 8192
    T_INV = 1
    T_CONF = 2
    T_REP = 4
    T_EXOTIC = 8
    T_SPACED = 16
    T_LEET = 32
    T_MARK = 64
    T_TEEN = 128
    T_WS = 256
    T_ALL = 511

cdef uint16_t[::1] _tcls
cdef object _tcls_fill = None
cdef bint _trig_ready = False
# The teencode keys: their code points one after the other (key k is _tk_chars[_tk_off[k]:_tk_off[k + 1]]), and an
# open-addressing table of key index + 1 by code point hash (0 = empty).
cdef Py_UCS4* _tk_chars = NULL
cdef Py_ssize_t* _tk_off = NULL
cdef uint64_t* _tk_hash = NULL
cdef Py_ssize_t* _tk_slot = NULL
cdef Py_ssize_t _tk_mask = 0
cdef Py_ssize_t _tk_max = 0
cdef Py_ssize_t _tk_n = 0  # the number of keys
# Every key's code points are below U+FFFF: the keys are then probed in the 16-bit codes of ``_window_bits16``.
cdef bint _tk_bmp = False
# Every key's code points are ``\w`` (none of class ``TC_NW``): a key then starts at a word character and ends at
# the first ``[^\w]`` after it (or the end), so ``_teen_at`` probes that one length only.
cdef bint _tk_words = False


def trigger_ready() -> bool:
    return _trig_ready


cdef inline uint64_t _hash_step(uint64_t h, Py_UCS4 c) noexcept nogil:
    return (h ^ <uint64_t>c) * <uint64_t>0x100000001B3


def trigger_setup(table, fill, list keys not None, class_bits, trigger_bits):
    """Share the trigger class table (``uint16`` per code point, ``0xFFFF`` where ``fill(cp)`` has not filled it)
    and the teencode keys (non-empty, no lone surrogate). ``class_bits`` and ``trigger_bits`` are the values of
    ``_TC_*`` and ``_T_*`` in normalise.py, checked against this module's."""
    global _tcls, _tcls_fill, _trig_ready, _tk_chars, _tk_off, _tk_hash, _tk_slot, _tk_mask, _tk_max, _tk_bmp
    global _tk_words, _tk_n
    cdef uint16_t[::1] tab
    cdef Py_ssize_t nkeys, total = 0, k, i, size = 16, slot, longest = 0
    cdef Text t
    cdef Py_UCS4 c
    cdef uint64_t h
    cdef Py_UCS4* chars = NULL
    cdef Py_ssize_t* off = NULL
    cdef uint64_t* hashes = NULL
    cdef Py_ssize_t* slots = NULL
    cdef bint bmp = True
    cdef bint words = True
    cdef long v
    if tuple(class_bits) != (TC_CONF, TC_REP, TC_NLMN, TC_L0134, TC_M, TC_SEP, TC_L, TC_TONED, TC_OTONE, TC_UTONE,
                             TC_NLM, TC_NW, TC_WSX, TC_EXOTIC):
        raise ValueError("trigger class bits differ from the compiled module's")
    if tuple(trigger_bits) != (T_INV, T_CONF, T_REP, T_EXOTIC, T_SPACED, T_LEET, T_MARK, T_TEEN, T_WS):
        raise ValueError("trigger bits differ from the compiled module's")
    tab = table
    if tab.shape[0] != 0x110000:
        raise ValueError("the trigger class table covers every code point")
    if not callable(fill):
        raise TypeError("fill is callable")
    nkeys = len(keys)
    for key in keys:
        if type(key) is not str:
            raise TypeError("a teencode key is a str")
        t = _text(key)
        if t.n == 0:
            raise ValueError("an empty teencode key")
        for i in range(t.n):
            c = _at(&t, i)
            if 0xD800 <= c <= 0xDFFF:
                raise ValueError("a teencode key holds a lone surrogate")
            if c >= 0xFFFF:
                bmp = False
        total += t.n
        if t.n > longest:
            longest = t.n
    if _trig_ready:  # set once (a second thread may be using the tables); the arguments were checked all the same
        return
    for key in keys:  # whether every key is ``\w`` only, by the classes the scan reads (filled where need be)
        t = _text(key)
        for i in range(t.n):
            c = _at(&t, i)
            v = tab[c]
            if v == UNKNOWN:
                v = fill(<long>c)
                if not 0 <= v < UNKNOWN:
                    raise ValueError("a trigger class fill out of range")
            if v & TC_NW:
                words = False
    while size < 4 * nkeys:
        size *= 2
    try:
        chars = <Py_UCS4*>PyMem_Malloc((total + 1) * sizeof(Py_UCS4))
        off = <Py_ssize_t*>PyMem_Malloc((nkeys + 1) * sizeof(Py_ssize_t))
        hashes = <uint64_t*>PyMem_Malloc(size * sizeof(uint64_t))
        slots = <Py_ssize_t*>PyMem_Malloc(size * sizeof(Py_ssize_t))
        if chars == NULL or off == NULL or hashes == NULL or slots == NULL:
            raise MemoryError()
        for slot in range(size):
            slots[slot] = 0
            hashes[slot] = 0
        total = 0
        for k in range(nkeys):
            key = keys[k]
            if type(key) is not str:  # the list may have changed since it was checked
                raise TypeError("a teencode key is a str")
            t = _text(key)
            if t.n == 0 or t.n > longest:
                raise ValueError("the teencode keys changed during setup")
            off[k] = total
            h = 0xCBF29CE484222325
            for i in range(t.n):
                c = _at(&t, i)
                chars[total] = c
                total += 1
                h = _hash_step(h, c)
            slot = <Py_ssize_t>(h & <uint64_t>(size - 1))
            while slots[slot] != 0:
                slot = (slot + 1) & (size - 1)
            slots[slot] = k + 1
            hashes[slot] = h
        off[nkeys] = total
    except BaseException:
        PyMem_Free(chars)
        PyMem_Free(off)
        PyMem_Free(hashes)
        PyMem_Free(slots)
        raise
    _tk_chars = chars
    _tk_off = off
    _tk_hash = hashes
    _tk_slot = slots
    _tk_mask = size - 1
    _tk_max = longest
    _tk_n = nkeys
    _tk_bmp = bmp
    _tk_words = words
    _tcls = tab
    _tcls_fill = fill
    _trig_ready = True


cdef uint16_t _tbits_fill(Py_UCS4 c) except? 0xFFFF:
    cdef long v = _tcls_fill(<long>c)
    if v < 0 or v >= UNKNOWN:
        raise ValueError("a trigger class fill out of range")
    return <uint16_t>v


cdef inline uint16_t _tbits(Py_UCS4 c) except? 0xFFFF:
    cdef uint16_t v = _tcls[c]
    if v == UNKNOWN:
        return _tbits_fill(c)
    return v


# The code points a trigger pass reads: UCS4, or 16 bits (``_window_bits16``).
ctypedef fused _code:
    uint16_t
    Py_UCS4


cdef bint _teen_at(const _code* cp, const uint16_t* tb, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    """A teencode key starts at ``i`` (after the start or a ``[^\\w]``) and ends at the end or before a ``[^\\w]``."""
    cdef uint64_t h = 0xCBF29CE484222325
    cdef Py_ssize_t length, slot, k, j, a
    for length in range(1, _tk_max + 1):
        if i + length > n:
            return False
        h = _hash_step(h, cp[i + length - 1])
        if i + length < n and not (tb[i + length] & TC_NW):
            continue
        slot = <Py_ssize_t>(h & <uint64_t>_tk_mask)
        while _tk_slot[slot] != 0:
            if _tk_hash[slot] == h:
                k = _tk_slot[slot] - 1
                a = _tk_off[k]
                if _tk_off[k + 1] - a == length:
                    j = 0
                    while j < length and _tk_chars[a + j] == cp[i + j]:
                        j += 1
                    if j == length:
                        return True
            slot = (slot + 1) & _tk_mask
        if _tk_words:  # a longer key would hold this ``[^\w]`` (or run past the end)
            return False
    return False


cdef inline unsigned int _leet_digit(Py_UCS4 c) noexcept nogil:
    # [013457]: 0xBB has the bits of 0, 1, 3, 4, 5 and 7 (unsigned arithmetic: below 48 wraps to a large value)
    cdef uint32_t d = <uint32_t>c - 48
    return <unsigned int>(d < 8) & ((<unsigned int>0xBB >> (d & 7)) & 1)


cdef int _trigger_pass(const Py_UCS4* cp, const uint16_t* tb, Py_ssize_t n) noexcept nogil:
    """The trigger bits of the code points ``cp[:n]`` with their classes ``tb``: ``tb[-1]`` is the start of the text
    (``TC_NLMN | TC_NW``: what ``^`` stands in for), ``tb[n]`` its end (``TC_NLM | TC_NW``: what ``$`` stands in for),
    ``tb[n + 1]`` and ``tb[n + 2]`` are 0 and ``cp[n:n + 3]`` 0xFFFFFFFF (no code point). Every test but the
    teencode probe is branch-free arithmetic accumulated over the text (word starts are unpredictable branches)."""
    cdef Py_ssize_t i
    cdef Py_UCS4 c, c1
    cdef unsigned int b, b1, b2, classes = 0, ws = 0, mark = 0, rep = 0, leet = 0, spaced = 0
    cdef int found = 0
    for i in range(n):
        c = cp[i]
        b = tb[i]
        b1 = tb[i + 1]
        b2 = tb[i + 2]
        c1 = cp[i + 1]
        classes |= b
        ws |= (c == 32) & (c1 == 32)
        # o/u, a tone, then the end or [^\p{L}\p{M}]
        mark |= (((c == 111) & ((b1 & TC_OTONE) != 0)) | ((c == 117) & ((b1 & TC_UTONE) != 0))) & ((b2 & TC_NLM) != 0)
        rep |= ((b & TC_REP) != 0) & (c1 == c) & (cp[i + 2] == c)
        leet |= (((b & TC_L) != 0) & ((c1 == 64) | _leet_digit(c1))) | (_leet_digit(c) & ((b1 & TC_L) != 0))
        spaced |= ((tb[i - 1] & TC_NLMN) != 0) & ((b & TC_L0134) != 0) & (
            ((b1 & (TC_M | TC_SEP)) != 0)
            | ((c1 == 32) & ((b2 & TC_L) != 0) & ((cp[i + 3] == 32) | ((tb[i + 3] & TC_M) != 0)))
        )
        if not (found & T_TEEN) and tb[i - 1] & TC_NW and _teen_at(cp, tb, n, i):
            found |= T_TEEN
    return found | _found_bits(classes, ws, mark, rep, leet, spaced)


cdef inline int _found_bits(unsigned int classes, unsigned int ws, unsigned int mark, unsigned int rep,
                            unsigned int leet, unsigned int spaced) noexcept nogil:
    """The trigger bits from a pass's accumulated classes and tests (each nonzero where it held somewhere)."""
    cdef int found = 0
    if classes & TC_CONF:
        found |= T_CONF
    if classes & TC_EXOTIC:
        found |= T_EXOTIC
    if ws or classes & TC_WSX:
        found |= T_WS
    if mark or classes & (TC_M | TC_TONED):
        found |= T_MARK
    if rep:
        found |= T_REP
    if leet:
        found |= T_LEET
    if spaced:
        found |= T_SPACED
    return found


cdef int _fill_trigger(const _unit* d, Py_ssize_t n, Py_UCS4* cp, uint16_t* tb) except -2:
    """Copy ``d[:n]`` to ``cp`` and their trigger classes to ``tb``; -1 (nothing filled past it) at a lone
    surrogate."""
    cdef Py_ssize_t i
    cdef Py_UCS4 c
    cdef uint16_t v
    for i in range(n):
        c = d[i]
        if _unit is not uint8_t:
            if 0xD800 <= c <= 0xDFFF:
                return -1
        cp[i] = c
        v = _tcls[c]
        if v == UNKNOWN:
            v = _tbits_fill(c)
        tb[i] = v
    return 0


cdef int _fill_trigger16(const _unit* d, Py_ssize_t n, uint16_t* cp, uint16_t* tb) except -4:
    """:func:`_fill_trigger` into 16-bit codes (U+FFFF and beyond as 0xFFFF, which no test compares with but the
    repeat test: those of class ``TC_REP`` stop the fill with -2); -1 (nothing filled past it) at a lone
    surrogate."""
    cdef Py_ssize_t i
    cdef Py_UCS4 c
    cdef uint16_t v
    for i in range(n):
        c = d[i]
        if _unit is not uint8_t:
            if 0xD800 <= c <= 0xDFFF:
                return -1
        v = _tcls[c]
        if v == UNKNOWN:
            v = _tbits_fill(c)
        if _unit is not uint8_t:
            if c >= 0xFFFF:
                if v & TC_REP:
                    return -2
                c = 0xFFFF
        cp[i] = <uint16_t>c
        tb[i] = v
    return 0


cdef int _window_bits16(Text* t, Py_ssize_t lo, Py_ssize_t hi) except -1:
    """:func:`_window_bits` over 16-bit codes, the arithmetic tests in the vectorised ``_trigger16_c``: every test
    compares a code with an ASCII one, or (the repeat test) codes of ``TC_REP`` letters with each other, and the
    teencode keys are below U+FFFF (``_tk_bmp``), so the 16-bit codes give the same answers. -2 when the window
    holds a code point of class ``TC_REP`` beyond U+FFFE (the caller then runs the UCS4 pass)."""
    cdef uint16_t* tb
    cdef uint16_t* cp
    cdef uint16_t acc[6]
    cdef uint16_t masks[9]
    cdef Py_ssize_t i, n = hi - lo
    cdef int filled, found
    # one allocation: n + 3 codes, then the start, n classes, the end and two more
    cp = <uint16_t*>PyMem_Malloc((n + 3) * sizeof(uint16_t) + (n + 4) * sizeof(uint16_t))
    if cp == NULL:
        raise MemoryError()
    tb = cp + n + 3 + 1
    try:
        if t.kind == 1:
            filled = _fill_trigger16(<const uint8_t*>t.data + lo, n, cp, tb)
        elif t.kind == 2:
            filled = _fill_trigger16(<const uint16_t*>t.data + lo, n, cp, tb)
        else:
            filled = _fill_trigger16(<const uint32_t*>t.data + lo, n, cp, tb)
        if filled == -1:
            return T_ALL
        if filled < 0:
            return -2
        (tb - 1)[0] = TC_NLMN | TC_NW  # the start
        tb[n] = TC_NLM | TC_NW  # the end
        for i in range(n, n + 3):
            cp[i] = 0xFFFF  # no code the tests compare with (nor a TC_REP letter)
        tb[n + 1] = 0  # no class
        tb[n + 2] = 0
        masks[0] = TC_REP
        masks[1] = TC_NLMN
        masks[2] = TC_L0134
        masks[3] = TC_M
        masks[4] = TC_SEP
        masks[5] = TC_L
        masks[6] = TC_OTONE
        masks[7] = TC_UTONE
        masks[8] = TC_NLM
        _trigger16_c(cp, tb, n, masks, acc)
        found = _found_bits(acc[0], acc[1], acc[2], acc[3], acc[4], acc[5])
        for i in range(n):
            # a word start (with ``_tk_words``, a key starts at a word character)
            if tb[i - 1] & TC_NW and not (_tk_words and tb[i] & TC_NW) and _teen_at(cp, tb, n, i):
                found |= T_TEEN
                break
        return found
    finally:
        PyMem_Free(cp)


cdef int _window_bits(Text* t, Py_ssize_t lo, Py_ssize_t hi) except -1:
    """The trigger bits of the characters ``lo:hi`` of ``t`` as a text of their own (``T_ALL`` when they hold a
    lone surrogate); ``0 <= lo <= hi <= t.n``. The 16-bit pass (``_window_bits16``) when it can take the window,
    else the UCS4 one."""
    cdef uint16_t* tb
    cdef Py_UCS4* cp
    cdef Py_ssize_t i, n = hi - lo
    cdef int filled
    if lo < 0 or hi > t.n or n < 0:
        raise ValueError("a window outside the text")
    if _tk_bmp:
        filled = _window_bits16(t, lo, hi)
        if filled != -2:
            return filled
    return _window_bits_ucs4(t, lo, hi)


cdef int _window_bits_ucs4(Text* t, Py_ssize_t lo, Py_ssize_t hi) except -1:
    """:func:`_window_bits` over UCS4 code points (``_trigger_pass``), for any window."""
    cdef uint16_t* tb
    cdef Py_UCS4* cp
    cdef Py_ssize_t i, n = hi - lo
    cdef int filled
    if lo < 0 or hi > t.n or n < 0:
        raise ValueError("a window outside the text")
    # one allocation: n + 3 code points, then the start, n classes, the end and two more
    cp = <Py_UCS4*>PyMem_Malloc((n + 3) * sizeof(Py_UCS4) + (n + 4) * sizeof(uint16_t))
    if cp == NULL:
        raise MemoryError()
    tb = <uint16_t*>(cp + n + 3) + 1
    try:
        if t.kind == 1:
            filled = _fill_trigger(<const uint8_t*>t.data + lo, n, cp, tb)
        elif t.kind == 2:
            filled = _fill_trigger(<const uint16_t*>t.data + lo, n, cp, tb)
        else:
            filled = _fill_trigger(<const uint32_t*>t.data + lo, n, cp, tb)
        if filled < 0:
            return T_ALL
        (tb - 1)[0] = TC_NLMN | TC_NW  # the start
        tb[n] = TC_NLM | TC_NW  # the end
        for i in range(n, n + 3):
            cp[i] = 0xFFFFFFFF  # no code point
        tb[n + 1] = 0  # no class
        tb[n + 2] = 0
        return _trigger_pass(cp, tb, n)
    finally:
        PyMem_Free(cp)


def trigger_bits(str text not None) -> int:
    """``_Triggers.scan``: the ``_T_*`` bits of the trigger patterns that match somewhere in ``text`` (``_T_ALL``
    when it holds a lone surrogate, which UTF-8 cannot carry). Each pattern is tested at every position with the
    classes Hyperscan gives its code points; ``_T_LEET`` is the exact pattern (``_LEET_EXACT``), which the
    Hyperscan path reaches through its superset."""
    cdef Text t
    if not _trig_ready:
        raise RuntimeError("moderation._ext._normalise.trigger_setup was not called")
    t = _text(text)
    return _window_bits(&t, 0, t.n)


def trigger_bits_ucs4(str text not None) -> int:
    """:func:`trigger_bits` always by the UCS4 pass (what it falls back on where the 16-bit one cannot go), for the
    tests that hold the two passes to the same answers."""
    cdef Text t
    if not _trig_ready:
        raise RuntimeError("moderation._ext._normalise.trigger_setup was not called")
    t = _text(text)
    return _window_bits_ucs4(&t, 0, t.n)


# A resync after a difference is looked for up to this many characters ahead in either string, and needs this many
# characters that agree (or the ends of both strings).
cdef enum:
    SYNC_SPAN = 64
    SYNC_LEN = 4
    DENSE_PARTS = 16  # ``rescan_bits`` scans the whole text past this many changed parts, when so far closer ...
    DENSE_EVERY = 128  # ... than one per this many characters


cdef bint _resync(Text* a, Text* b, Py_ssize_t i, Py_ssize_t j, Py_ssize_t* ni, Py_ssize_t* nj) noexcept:
    """After ``a[i] != b[j]`` (or the end of either): the nearest ``(i + di, j + dj)`` (smallest ``di + dj``, both
    at most ``SYNC_SPAN``) from where both agree on ``SYNC_LEN`` characters or on all that is left of both."""
    cdef Py_ssize_t s, di, dj, ii, jj, k
    for s in range(1, 2 * SYNC_SPAN + 1):
        di = s - SYNC_SPAN if s > SYNC_SPAN else 0
        while di <= s and di <= SYNC_SPAN:
            dj = s - di
            ii = i + di
            jj = j + dj
            if ii <= a.n and jj <= b.n:
                k = 0
                while k < SYNC_LEN and ii + k < a.n and jj + k < b.n and _at(a, ii + k) == _at(b, jj + k):
                    k += 1
                if k == SYNC_LEN or (ii + k == a.n and jj + k == b.n):
                    ni[0] = ii
                    nj[0] = jj
                    return True
            di += 1
    return False


cdef Py_ssize_t _same_units(const _unit* x, const _unit* y, Py_ssize_t m) noexcept nogil:
    cdef Py_ssize_t k = 0
    while k < m and x[k] == y[k]:
        k += 1
    return k


cdef Py_ssize_t _same_run(Text* a, Text* b, Py_ssize_t i, Py_ssize_t j) noexcept:
    """How many characters ``a`` from ``i`` and ``b`` from ``j`` have in common (a loop over code units when both
    strings are of one kind)."""
    cdef Py_ssize_t m = a.n - i, k = 0
    if b.n - j < m:
        m = b.n - j
    if m <= 0:
        return 0
    if a.kind == b.kind:
        if a.kind == 1:
            return _same_units(<const uint8_t*>a.data + i, <const uint8_t*>b.data + j, m)
        if a.kind == 2:
            return _same_units(<const uint16_t*>a.data + i, <const uint16_t*>b.data + j, m)
        return _same_units(<const uint32_t*>a.data + i, <const uint32_t*>b.data + j, m)
    while k < m and _at(a, i + k) == _at(b, j + k):
        k += 1
    return k


def rescan_bits(int bits, str old not None, str new not None) -> int:
    """``_rescan`` with the changed parts of ``new`` found one by one: ``new`` is split into runs it shares with
    ``old`` (in order, character for character) and the changed parts between them (found by walking both strings
    and resyncing after each difference: any split into literally equal runs will do). A trigger match (at most 7
    characters with its context) in ``new`` lies either inside a shared run, where ``old`` has it too (so among
    ``bits``, a superset of the bits of ``old``), or within ``TRIGGER_CONTEXT`` characters of a changed part: so
    ``bits`` plus the bits of each changed part widened by ``TRIGGER_CONTEXT`` either side (overlaps merged, each
    scanned as a text of its own) are a superset. When the windows add up to more than half of ``new``, or the
    changed parts are many and dense, the whole of it is scanned and the bits are exact again; ``bits`` unchanged
    when both strings are equal."""
    cdef Text a, b
    cdef Py_ssize_t i = 0, j = 0, k, ni, nj, lo, hi, cur_lo = -1, cur_hi = -1, total = 0, parts = 0
    cdef int found = 0
    if not _trig_ready:
        raise RuntimeError("moderation._ext._normalise.trigger_setup was not called")
    a = _text(old)
    b = _text(new)
    while True:
        k = _same_run(&a, &b, i, j)
        i += k
        j += k
        if i >= a.n and j >= b.n:
            break
        parts += 1
        if parts > DENSE_PARTS and parts * DENSE_EVERY > j:
            # Changes so far closer than one per DENSE_EVERY characters (hostile text: a megabyte of spaced letters
            # made 29,540 parts): resyncing and scanning each part costs more than one scan of the whole text.
            return _window_bits(&b, 0, b.n)
        if not _resync(&a, &b, i, j, &ni, &nj):
            ni = a.n
            nj = b.n
        lo = j - TRIGGER_CONTEXT
        if lo < 0:
            lo = 0
        hi = nj + TRIGGER_CONTEXT
        if hi > b.n:
            hi = b.n
        if cur_lo >= 0 and lo <= cur_hi:
            if hi > cur_hi:
                cur_hi = hi
        else:
            if cur_lo >= 0:
                found |= _window_bits(&b, cur_lo, cur_hi)
                total += cur_hi - cur_lo
            cur_lo = lo
            cur_hi = hi
        if 2 * (total + cur_hi - cur_lo) > b.n:
            return _window_bits(&b, 0, b.n)
        i = ni
        j = nj
    if cur_lo < 0:
        return bits
    found |= _window_bits(&b, cur_lo, cur_hi)
    return bits | found


# ---------------------------------------------------------------------------------------------------------------
# The opening stages in one call (``normalise._normalise``'s prelude) and the result object


cdef enum:
    PRE_BAD = 1  # an invisible or control character, or a character lowering does not map one for one
    PRE_NONASCII = 2
    PRE_VIET = 4  # a character of ``legacy._VIETNAMESE_BEYOND_LATIN1``: the legacy repair does nothing
    PRE_SIGMA = 8
    PRE_ASTRAL = 16
    PRE_CHANGED = 32  # lowering changes a character
    PRE_INV = 64  # an invisible (format) character, which ``_delete_invisible`` deletes


cdef int _pre_scan(const _unit* d, Py_ssize_t n, Py_ssize_t* n_inv) except -1:
    """The ``PRE_*`` facts of the code units ``d[:n]`` (``PRE_BAD`` alone as soon as it holds), the number of
    invisible (format) characters in ``n_inv``."""
    cdef Py_ssize_t i, inv = 0
    cdef Py_UCS4 c, low
    cdef uint16_t v
    cdef int f = 0
    for i in range(n):
        c = d[i]
        v = _bits(c)
        if v & (B_INV | B_CTRL):
            if v & B_CTRL:
                return PRE_BAD
            f |= PRE_INV
            inv += 1
        if c < 0x80:
            low = _lower_tab[c]
        else:
            f |= PRE_NONASCII
            if (0x100 <= c <= 0x1B0) or (0x1EA0 <= c <= 0x1EF9):
                f |= PRE_VIET
            if c < BMP:
                low = _lower_tab[c]
                if c == 0x3A3:
                    f |= PRE_SIGMA
            else:
                f |= PRE_ASTRAL
                low = Py_UNICODE_TOLOWER(c)
        if low == 0:  # NUL is a control character, so this is a character that lowers to more than one
            return PRE_BAD
        if low != c:
            f |= PRE_CHANGED
    n_inv[0] = inv
    return f


cdef Py_ssize_t _keep_visible(const _unit* d, Py_ssize_t n, _unit* out, int64_t* s, int64_t* e,
                              Py_ssize_t size) except -1:
    """``d[:n]`` without its invisible (format) characters into ``out``, the position of each kept one in ``s`` and
    the next in ``e`` (``size`` entries fit each); the number kept."""
    cdef Py_ssize_t i, o = 0
    cdef Py_UCS4 c
    for i in range(n):
        c = d[i]
        if _bits(c) & B_INV:
            continue
        if o >= size:
            raise ValueError("the text changed while it was read")
        out[o] = <_unit>c
        s[o] = i
        e[o] = i + 1
        o += 1
    return o


cdef int _lower_units(const _unit* d, Py_ssize_t n, _unit* out) noexcept:
    """``out[i]``: the lowercase of ``d[i]`` (the BMP table, ``Py_UNICODE_TOLOWER`` beyond it); -1 when one does not
    fit the unit (the caller then writes code points)."""
    cdef Py_ssize_t i
    cdef Py_UCS4 c, low
    for i in range(n):
        c = d[i]
        low = _lower_tab[c] if c < BMP else Py_UNICODE_TOLOWER(c)
        if _unit is uint8_t:
            if low > 0xFF:
                return -1
        elif _unit is uint16_t:
            if low > 0xFFFF:
                return -1
        out[i] = <_unit>low
    return 0


cdef str _lowered(Text* t):
    """The text of ``t`` lowered character by character (see :func:`_lower_units`), as a canonical string."""
    cdef void* buf = PyMem_Malloc((t.n + 1) * t.kind)
    cdef Py_UCS4* wide
    cdef Py_UCS4 c
    cdef Py_ssize_t i
    cdef int done
    if buf == NULL:
        raise MemoryError()
    try:
        if t.kind == 1:
            done = _lower_units(<const uint8_t*>t.data, t.n, <uint8_t*>buf)
        elif t.kind == 2:
            done = _lower_units(<const uint16_t*>t.data, t.n, <uint16_t*>buf)
        else:
            done = _lower_units(<const uint32_t*>t.data, t.n, <uint32_t*>buf)
        if done == 0:
            return PyUnicode_FromKindAndData(t.kind, buf, t.n)
    finally:
        PyMem_Free(buf)
    wide = _ucs4_buffer(t.n)  # a lowercase wider than the text's kind (none is known; as code points)
    try:
        for i in range(t.n):
            c = _at(t, i)
            wide[i] = _lower_tab[c] if c < BMP else Py_UNICODE_TOLOWER(c)
        return _from_ucs4(wide, t.n)
    finally:
        PyMem_Free(wide)


cdef Py_ssize_t _fold_first(const _unit* d, Py_ssize_t n) noexcept:
    """The first position whose code unit ``_fold_tab`` changes (``n``: none)."""
    cdef Py_ssize_t i, size = _fold_tab.shape[0]
    cdef Py_UCS4 c
    for i in range(n):
        c = d[i]
        if c < <Py_UCS4>size and _fold_tab[c] != c:
            return i
    return n


cdef void _fold_units(const _unit* d, Py_ssize_t n, _unit* out) noexcept:
    """``out[i]``: ``d[i]`` folded (a folded letter is ASCII, so it fits the unit)."""
    cdef Py_ssize_t i, size = _fold_tab.shape[0]
    cdef Py_UCS4 c
    for i in range(n):
        c = d[i]
        if c < <Py_UCS4>size:
            c = _fold_tab[c]
        out[i] = <_unit>c


cdef str _fold_str(str text):
    """:func:`fold` (``text`` itself when no character folds): the string scanned first, then folded into a buffer
    of its own kind."""
    cdef Text t = _text(text)
    cdef Py_ssize_t first
    cdef void* buf
    if t.kind == 1:
        first = _fold_first(<const uint8_t*>t.data, t.n)
    elif t.kind == 2:
        first = _fold_first(<const uint16_t*>t.data, t.n)
    else:
        first = _fold_first(<const uint32_t*>t.data, t.n)
    if first >= t.n:
        return text
    buf = PyMem_Malloc((t.n + 1) * t.kind)
    if buf == NULL:
        raise MemoryError()
    try:
        if t.kind == 1:
            _fold_units(<const uint8_t*>t.data, t.n, <uint8_t*>buf)
        elif t.kind == 2:
            _fold_units(<const uint16_t*>t.data, t.n, <uint16_t*>buf)
        else:
            _fold_units(<const uint32_t*>t.data, t.n, <uint32_t*>buf)
        return PyUnicode_FromKindAndData(t.kind, buf, t.n)
    finally:
        PyMem_Free(buf)


def translate_1to1(str text not None, const uint32_t[::1] bmp not None, dict astral not None):
    """``text.translate(table)`` for a table of one character to one character (the look-alikes'): ``bmp[c]`` is
    what a code point below ``len(bmp)`` becomes (``c`` itself when the table leaves it), ``astral`` maps the code
    points beyond to theirs (ints). ``text`` itself when no character changes. ``str.translate`` looks every
    character of a non-ASCII text up in its dict, about 50 ns a character; this reads an array."""
    cdef Text t = _text(text)
    cdef Py_ssize_t i, first = -1, n = t.n, lim = bmp.shape[0]
    cdef Py_UCS4 c
    cdef Py_UCS4* out
    for i in range(n):
        c = _at(&t, i)
        if (c < lim and bmp[c] != c) or (c >= lim and <long>c in astral):  # an int key (a Py_UCS4 is a str)
            first = i
            break
    if first < 0:
        return text
    out = _ucs4_buffer(n)
    try:
        for i in range(first):  # unchanged
            out[i] = _at(&t, i)
        for i in range(first, n):
            c = _at(&t, i)
            if c < lim:
                out[i] = bmp[c]
            elif <long>c in astral:
                out[i] = <uint32_t>astral[<long>c]
            else:
                out[i] = c
        return _from_ucs4(out, n)
    finally:
        PyMem_Free(out)


cdef const uint8_t[::1] _legacy_tab
cdef bint _legacy_ready = False


def legacy_setup(table) -> None:
    """Share ``legacy.quiet_table()``: per code point below its length, 0 where a character can be no evidence for
    ``legacy.repair`` (see :func:`prelude`)."""
    global _legacy_tab, _legacy_ready
    cdef const uint8_t[::1] tab
    if table is None:
        raise TypeError("a uint8 array, not None")
    tab = table
    if _legacy_ready:  # set once (a second thread may be using the table)
        return
    _legacy_tab = tab
    _legacy_ready = True


cdef bint _legacy_quiet(Text* t) noexcept:
    """Whether ``legacy.repair`` gives ``(None, None)`` for the text of ``t`` by the tables alone: every character
    is one :func:`nfc_quick` takes (so NFC, with or without the format characters ``repair`` deletes, leaves the
    probe as it is) and one the legacy table says can be no evidence. ``False`` means "not known"."""
    cdef Py_ssize_t i, nfc_size, legacy_size
    cdef Py_UCS4 c
    if not _nfc_ready or not _legacy_ready:
        return False
    nfc_size = _nfc_tab.shape[0]
    legacy_size = _legacy_tab.shape[0]
    for i in range(t.n):
        c = _at(t, i)
        if c >= <Py_UCS4>nfc_size or not _nfc_tab[c] or c >= <Py_UCS4>legacy_size or _legacy_tab[c]:
            return False
    return True


def legacy_quiet(str text not None) -> bool:
    """:func:`_legacy_quiet`, for the tests."""
    cdef Text t = _text(text)
    return _legacy_quiet(&t)


def prelude(str text not None, int quiet_mask):
    """The opening stages of ``normalise._normalise`` in one call, for text they leave to deleting invisible (format)
    characters and lowering: no control character or lone surrogate (``_delete_invisible`` would replace it),
    nothing for the legacy repair (ASCII, a character of ``legacy._VIETNAMESE_BEYOND_LATIN1``, or no character that
    can be its evidence: :func:`_legacy_quiet`), and a lowercase ``_lower`` makes one character for one without
    ``str.lower`` (the BMP table from ``SMALL`` characters on, else the simple lowercase, which refuses a capital
    sigma). Returns ``(lowered, trigger bits of lowered, folded, starts, ends)``: ``folded`` the fold of ``lowered``
    when the bits hold none of ``quiet_mask`` (the stages that could change it), else ``None``; ``starts`` and
    ``ends`` the offset map after deleting invisible characters (each kept character on its own), ``None`` when
    there was none to delete (the map is the identity). ``None`` for any other text (the caller runs the stages one
    by one)."""
    cdef Text t
    cdef Text lt
    cdef int f
    cdef str low, kept = text
    cdef int bits
    cdef Py_ssize_t n_inv = 0, n_kept, got
    cdef void* buf = NULL
    cdef Maps mp
    if not _ready or not _trig_ready:
        raise RuntimeError("moderation._ext._normalise.setup was not called")
    t = _text(text)
    if t.kind == 1:
        f = _pre_scan(<const uint8_t*>t.data, t.n, &n_inv)
    elif t.kind == 2:
        f = _pre_scan(<const uint16_t*>t.data, t.n, &n_inv)
    else:
        f = _pre_scan(<const uint32_t*>t.data, t.n, &n_inv)
    if f & PRE_BAD:
        return None
    if (f & PRE_NONASCII) and not (f & PRE_VIET) and not _legacy_quiet(&t):
        return None
    n_kept = t.n - n_inv
    if (f & PRE_SIGMA) and (n_kept < SMALL or (f & PRE_ASTRAL)):
        return None
    maps = (None, None)
    if f & PRE_INV:  # ``delete_invisible``: the text without them, each kept character on its own span
        _maps_init(&mp)
        buf = PyMem_Malloc((n_kept + 1) * t.kind)
        if buf == NULL:
            raise MemoryError()
        try:
            maps = _maps_out(&mp, n_kept)
            if t.kind == 1:
                got = _keep_visible(<const uint8_t*>t.data, t.n, <uint8_t*>buf, <int64_t*>mp.os.buf,
                                    <int64_t*>mp.oe.buf, n_kept)
            elif t.kind == 2:
                got = _keep_visible(<const uint16_t*>t.data, t.n, <uint16_t*>buf, <int64_t*>mp.os.buf,
                                    <int64_t*>mp.oe.buf, n_kept)
            else:
                got = _keep_visible(<const uint32_t*>t.data, t.n, <uint32_t*>buf, <int64_t*>mp.os.buf,
                                    <int64_t*>mp.oe.buf, n_kept)
            if got != n_kept:
                raise ValueError("the text changed while it was read")
            kept = PyUnicode_FromKindAndData(t.kind, buf, n_kept)
        finally:
            _maps_release(&mp)
            PyMem_Free(buf)
        t = _text(kept)
    low = _lowered(&t) if f & PRE_CHANGED else kept
    lt = _text(low)
    bits = _window_bits(&lt, 0, lt.n)
    if bits & quiet_mask:
        return low, bits, None, maps[0], maps[1]
    return low, bits, (_fold_str(low) if f & PRE_NONASCII else low), maps[0], maps[1]


cdef object _object_new = object.__new__
cdef object _normalised_cls = None


def normalised_setup(cls) -> None:
    """The class :func:`new_normalised` makes (``normalise.Normalised``)."""
    global _normalised_cls
    if not isinstance(cls, type):
        raise TypeError("a class")
    _normalised_cls = cls


def new_normalised(original, text, folded, starts, ends, flags):
    """``normalise._new_normalised``: a ``Normalised`` made by ``object.__new__``, its six slots set by
    ``object.__setattr__``."""
    if _normalised_cls is None:
        raise RuntimeError("normalised_setup was not called")
    out = _object_new(_normalised_cls)
    PyObject_GenericSetAttr(out, "original", original)
    PyObject_GenericSetAttr(out, "text", text)
    PyObject_GenericSetAttr(out, "folded", folded)
    PyObject_GenericSetAttr(out, "starts", starts)
    PyObject_GenericSetAttr(out, "ends", ends)
    PyObject_GenericSetAttr(out, "flags", flags)
    return out



# ---------------------------------------------------------------------------------------------------------------
# The teencode stage in one call: words found, looked up and expanded, the maps and the window made, in C

cdef object _tv_table = None  # the table ``_tv_values`` was read from, and its size then
cdef Py_ssize_t _tv_size = -1
cdef list _tv_values = None  # per key index (the keys of ``trigger_setup``): its expansion, or None (none, or itself)


cdef int _tv_read(dict table) except -1:
    """Read the expansion of every key from ``table`` (again when it is another dict or its size changed; the
    normaliser's table never changes)."""
    global _tv_table, _tv_size, _tv_values
    cdef Py_ssize_t k
    cdef list values
    if _tv_table is table and _tv_size == len(table):
        return 0
    values = []
    for k in range(_tk_n):
        key = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, &_tk_chars[_tk_off[k]], _tk_off[k + 1] - _tk_off[k])
        new = table.get(key)
        if new is not None and type(new) is not str:
            raise TypeError("a teencode expansion is a str")
        values.append(new if new is not None and new != key else None)
    _tv_values = values
    _tv_table = table
    _tv_size = len(table)
    return 0


cdef Py_ssize_t _teen_key(const _unit* d, Py_ssize_t s, Py_ssize_t e) noexcept:
    """The index of the key that is exactly ``d[s:e]`` (-1: none)."""
    cdef uint64_t h = 0xCBF29CE484222325
    cdef Py_ssize_t i, slot, k, a, length = e - s
    for i in range(s, e):
        h = _hash_step(h, d[i])
    slot = <Py_ssize_t>(h & <uint64_t>_tk_mask)
    while _tk_slot[slot] != 0:
        if _tk_hash[slot] == h:
            k = _tk_slot[slot] - 1
            a = _tk_off[k]
            if _tk_off[k + 1] - a == length:
                i = 0
                while i < length and _tk_chars[a + i] == <Py_UCS4>d[s + i]:
                    i += 1
                if i == length:
                    return k
        slot = (slot + 1) & _tk_mask
    return -1


cdef Py_ssize_t _teen_find(const _unit* d, Py_ssize_t n, list values, Py_ssize_t** ed, Py_ssize_t* cap,
                           bint* surrogate) except -1:
    """The words of ``d[:n]`` (maximal runs of ``\\w``, what ``teencode_runs`` reads) that are keys with an
    expansion, as (start, end, key index) triples in ``ed[0]`` (grown with ``PyMem_Realloc``); their number. Sets
    ``surrogate`` when the text holds a lone surrogate."""
    cdef Py_ssize_t i = 0, s, k, m = 0
    cdef Py_ssize_t* grown
    cdef Py_UCS4 c
    while i < n:
        c = d[i]
        if _unit is not uint8_t:
            if 0xD800 <= c <= 0xDFFF:
                surrogate[0] = True
        if not (_bits(c) & B_W):
            i += 1
            continue
        s = i
        i += 1
        while i < n:
            c = d[i]
            if _unit is not uint8_t:
                if 0xD800 <= c <= 0xDFFF:
                    surrogate[0] = True
            if not (_bits(c) & B_W):
                break
            i += 1
        if i - s > _tk_max:
            continue
        k = _teen_key(d, s, i)
        if k < 0 or values[k] is None:
            continue
        if m == cap[0]:
            grown = <Py_ssize_t*>PyMem_Realloc(ed[0], 6 * cap[0] * sizeof(Py_ssize_t))
            if grown == NULL:
                raise MemoryError()
            ed[0] = grown
            cap[0] *= 2
        ed[0][3 * m] = s
        ed[0][3 * m + 1] = i
        ed[0][3 * m + 2] = k
        m += 1
    return m


def teencode_apply(str text not None, starts, ends, dict table not None, bint want_window):
    """The teencode stage of ``normalise._teencode_c`` in one call: the words of ``text`` (maximal ``\\w`` runs)
    that are keys of ``table`` with an expansion other than themselves, each replaced by its expansion as a
    whole-range edit (every new character maps to the word's whole span), as ``teencode_edits`` then
    ``apply_edits`` do. Returns ``None`` when no word is expanded, else ``(text, starts, ends, window)``: the window
    is ``teencode_window`` of the edits when ``want_window`` and the text holds no lone surrogate, else ``None``.
    The maps as :func:`delete_invisible` takes them; the keys are those of ``trigger_setup``."""
    cdef Text t = _ready_text(text)
    cdef Py_ssize_t cap = 16, m, r, a, b, k, o = 0, pos = 0, total, seg, q, length, shift = 0, new_start
    cdef Py_ssize_t lo, hi, cur_lo = -1, cur_hi = -1, stop
    cdef Py_ssize_t* ed = NULL
    cdef bint surrogate = False
    cdef list values
    cdef Maps mp
    cdef const int64_t* s
    cdef const int64_t* e
    cdef int64_t* out_s
    cdef int64_t* out_e
    cdef Py_UCS4* buf = NULL
    cdef Text piece, ot
    cdef str out
    cdef list parts
    if not _trig_ready:
        raise RuntimeError("moderation._ext._normalise.trigger_setup was not called")
    _maps_init(&mp)
    _maps_check(starts, ends, t.n)
    _tv_read(table)
    values = _tv_values
    ed = <Py_ssize_t*>PyMem_Malloc(3 * cap * sizeof(Py_ssize_t))
    if ed == NULL:
        raise MemoryError()
    try:
        if t.kind == 1:
            m = _teen_find(<const uint8_t*>t.data, t.n, values, &ed, &cap, &surrogate)
        elif t.kind == 2:
            m = _teen_find(<const uint16_t*>t.data, t.n, values, &ed, &cap, &surrogate)
        else:
            m = _teen_find(<const uint32_t*>t.data, t.n, values, &ed, &cap, &surrogate)
        if m == 0:
            return None
        total = t.n
        for r in range(m):
            total += len(<str>values[ed[3 * r + 2]]) - (ed[3 * r + 1] - ed[3 * r])
        _maps_in(&mp, starts, ends, t.n)
        maps = _maps_out(&mp, total)
        s = <const int64_t*>mp.s.buf
        e = <const int64_t*>mp.e.buf
        out_s = <int64_t*>mp.os.buf
        out_e = <int64_t*>mp.oe.buf
        buf = _ucs4_buffer(total)
        for r in range(m):
            a = ed[3 * r]
            b = ed[3 * r + 1]
            piece = _text(<str>values[ed[3 * r + 2]])
            seg = a - pos
            if not (pos <= a < b <= t.n) or o + seg + piece.n > total:
                raise ValueError("the text changed while it was read")
            for q in range(seg):
                buf[o + q] = _at(&t, pos + q)
            memcpy(&out_s[o], &s[pos], seg * sizeof(int64_t))
            memcpy(&out_e[o], &e[pos], seg * sizeof(int64_t))
            o += seg
            for q in range(piece.n):
                buf[o] = _at(&piece, q)
                out_s[o] = s[a]
                out_e[o] = e[b - 1]
                o += 1
            pos = b
        seg = t.n - pos
        if o + seg != total:
            raise ValueError("the text changed while it was read")
        for q in range(seg):
            buf[o + q] = _at(&t, pos + q)
        memcpy(&out_s[o], &s[pos], seg * sizeof(int64_t))
        memcpy(&out_e[o], &e[pos], seg * sizeof(int64_t))
        out = _from_ucs4(buf, total)
        if not want_window or surrogate:
            return out, maps[0], maps[1], None
        # the window, as ``teencode_window(out, edits)``
        ot = _text(out)
        parts = []
        for r in range(m):
            a = ed[3 * r]
            b = ed[3 * r + 1]
            length = len(<str>values[ed[3 * r + 2]])
            new_start = a + shift
            shift += length - (b - a)
            _window_add(&ot, out, new_start, length, True, &cur_lo, &cur_hi, parts)
        if cur_lo >= 0:
            parts.append(out[cur_lo:cur_hi])
        return out, maps[0], maps[1], "\x00".join(parts)
    finally:
        _maps_release(&mp)
        PyMem_Free(ed)
        PyMem_Free(buf)
