# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled loops of the policy engine (``moderation.policy.rules``, ``engine`` and ``matching``).

Each function here gives exactly what its pure-Python reference gives (the reference stays in the module that
calls it and is used when this extension is not built):

* :func:`unique_spans` -- ``rules._unique_spans_py``: the distinct spans ordered by (field, start, end);
* :func:`signal_spans` -- ``unique_spans`` of every span of the given signals, in signal order;
* :func:`evidence_json` -- ``engine._evidence_json_py``: the categories' evidence as ``Span.to_json`` dicts;
* :func:`evidence_bytes` -- those dicts' lists as the JSON orjson writes of them (``moderation scan``'s lines);
* :func:`near_any` -- the "is some evidence near this context cue" test of ``engine.Classifier._cues``;
* :func:`fold_non_ascii` -- ``matching.fold_text`` of a text that is not ASCII (one lookup per character);
* :class:`Program` and ``CONDITIONS`` -- ``rules.RuleProgram.run`` and the most called condition functions;
* :func:`group_signals` -- ``engine._group_signals_py``; :func:`pack_rules` and :func:`run_rules` -- the rule loop
  of ``engine.Classifier._evaluate_pack`` (``engine._run_rules_py``); :class:`CueFinder` --
  ``engine.Classifier._cues_memo``; :func:`build_categories` -- ``engine._categories_py``; :func:`evaluate_packs` --
  ``engine.Classifier._evaluate_pack`` over every pack of an item; :class:`SlotMaker` -- a slotted dataclass's
  constructor.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.dict cimport PyDict_Copy, PyDict_SetItem
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport Py_EQ, PyObject, PyObject_RichCompareBool
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.tuple cimport PyTuple_New, PyTuple_SET_ITEM
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdint cimport uint32_t
from libc.string cimport memcpy

import enum
import operator
import types

from moderation.domain import History, Item, Signal, Span

_SPAN_PLACE = operator.attrgetter("field", "start", "end")
_getitem = operator.getitem  # called as Python does (offsets past a C size are clamped, not an OverflowError)
_rfind = str.rfind
_count = str.count


cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member

# Where a Span keeps its four slots (read straight from the object: a getattr per slot per span was most of the
# time on evidence of a long post). Only objects whose type is exactly Span are read this way.
cdef type _SPAN = Span
cdef Py_ssize_t _OFF_FIELD = -1, _OFF_START = -1, _OFF_END = -1, _OFF_TEXT = -1


cdef Py_ssize_t _offset(str name) except -2:
    descr = _SPAN.__dict__.get(name)
    if descr is None or type(descr).__name__ != "member_descriptor":
        return -1
    return (<PyMemberDescrObject*>descr).d_member.offset


_OFF_FIELD, _OFF_START, _OFF_END, _OFF_TEXT = _offset("field"), _offset("start"), _offset("end"), _offset("text")
cdef bint _FAST = min(_OFF_FIELD, _OFF_START, _OFF_END, _OFF_TEXT) > 0


cdef inline PyObject* _slot(object sp, Py_ssize_t off) noexcept:
    return (<PyObject**>(<char*><PyObject*>sp + off))[0]


cdef inline bint _read(object sp, PyObject** f, PyObject** s, PyObject** e, PyObject** t) noexcept:
    """Borrow a Span's four slots; False when ``sp`` is not exactly a Span with all four set."""
    if not _FAST or type(sp) is not _SPAN:
        return False
    f[0] = _slot(sp, _OFF_FIELD)
    s[0] = _slot(sp, _OFF_START)
    e[0] = _slot(sp, _OFF_END)
    t[0] = _slot(sp, _OFF_TEXT)
    return f[0] != NULL and s[0] != NULL and e[0] != NULL and t[0] != NULL

cdef unsigned char _DROP = 0xFF
cdef unsigned char _SUB = 0x1A


cdef list _by_dict(list spans):
    """The reference computation, with the dict built in C: the last span of each value, in first-seen order,
    sorted (stably) by place."""
    cdef dict d = {}
    cdef object sp
    for sp in spans:
        d[(sp.field, sp.start, sp.end, sp.text)] = sp
    cdef list out = list(d.values())
    out.sort(key=_SPAN_PLACE)
    return out


cdef struct _Key:
    Py_ssize_t rank  # the field's rank among the distinct fields (str order)
    Py_ssize_t start
    Py_ssize_t end
    Py_ssize_t idx  # position in the input: equal places keep input order (a stable sort)


cdef inline int _key_cmp(const _Key* x, const _Key* y) noexcept nogil:
    if x.rank != y.rank:
        return -1 if x.rank < y.rank else 1
    if x.start != y.start:
        return -1 if x.start < y.start else 1
    if x.end != y.end:
        return -1 if x.end < y.end else 1
    if x.idx != y.idx:
        return -1 if x.idx < y.idx else 1
    return 0


cdef int _sort_keys(_Key* keys, Py_ssize_t n) except -1:
    """Sort ``keys`` (all distinct: ``idx`` differs) by (field rank, start, end, input position): a natural merge sort (the spans of
    one signal are in order, so evidence is a few sorted runs and the merges take about n * log2(runs) steps)."""
    if n < 2:
        return 0
    cdef Py_ssize_t i, r, nr = 1, out_r, a, a_end, b, b_end, k
    cdef Py_ssize_t* bounds = <Py_ssize_t*>PyMem_Malloc((n + 1) * sizeof(Py_ssize_t))
    cdef _Key* tmp = NULL
    cdef _Key* src = keys
    cdef _Key* dst
    cdef _Key* swap
    if bounds == NULL:
        raise MemoryError()
    try:
        bounds[0] = 0
        for i in range(1, n):
            if _key_cmp(&keys[i - 1], &keys[i]) > 0:
                bounds[nr] = i
                nr += 1
        bounds[nr] = n
        if nr == 1:
            return 0
        tmp = <_Key*>PyMem_Malloc(n * sizeof(_Key))
        if tmp == NULL:
            raise MemoryError()
        dst = tmp
        while nr > 1:
            out_r = 0
            r = 0
            while r < nr:
                a, a_end = bounds[r], bounds[r + 1]
                if r + 1 < nr:
                    b, b_end = bounds[r + 1], bounds[r + 2]
                else:
                    b = b_end = a_end
                k = a
                while a < a_end and b < b_end:
                    if _key_cmp(&src[b], &src[a]) < 0:
                        dst[k] = src[b]
                        b += 1
                    else:
                        dst[k] = src[a]
                        a += 1
                    k += 1
                while a < a_end:
                    dst[k] = src[a]
                    a += 1
                    k += 1
                while b < b_end:
                    dst[k] = src[b]
                    b += 1
                    k += 1
                bounds[out_r] = bounds[r]
                out_r += 1
                r += 2
            bounds[out_r] = n
            nr = out_r
            swap = src
            src = dst
            dst = swap
        if src != keys:
            memcpy(keys, src, n * sizeof(_Key))
    finally:
        PyMem_Free(tmp)
        PyMem_Free(bounds)
    return 0


cdef inline object _text(object sp):
    """``sp.text``, read from its slot when ``sp`` is exactly a Span with it set."""
    cdef PyObject* t
    if _FAST and type(sp) is _SPAN:
        t = _slot(sp, _OFF_TEXT)
        if t != NULL:
            return <object>t
    return sp.text


cdef list _general(list spans):
    """:func:`_by_dict` with the sort on C structs: spans ordered by (field, start, end, input position); within one
    place the distinct texts in order of first appearance, each given by its last span (as the dict keeps it). Fields
    must be str and offsets int, and texts str where they are compared (spans sharing a place), or it is
    :func:`_by_dict`; a span alone at its place is kept whatever its text (as the in-order shortcut of
    :func:`unique_spans` keeps every span without reading texts)."""
    cdef Py_ssize_t n = len(spans), i, j, g = 0, m, nf
    cdef object sp, f, s, e, t
    cdef dict fields = {}  # field -> its index in order of first appearance
    cdef PyObject *rf
    cdef PyObject *rs
    cdef PyObject *re
    cdef PyObject *rt
    cdef PyObject *last = NULL  # the field of the span before (borrowed: the span holds it)
    cdef Py_ssize_t* order = NULL
    cdef _Key* keys = <_Key*>PyMem_Malloc(n * sizeof(_Key))
    if keys == NULL:
        raise MemoryError()
    cdef list out = []
    cdef list group = []
    cdef list texts = []
    try:
        # One pass: check the types, read the places into C and number the fields by first appearance.
        for i in range(n):
            sp = spans[i]
            if _read(sp, &rf, &rs, &re, &rt):
                # The text is read only where two spans share a place (checked there): most spans are alone at theirs,
                # and reading each one's text object was most of this loop on long evidence.
                if not (type(<object>rf) is str and type(<object>rs) is int and type(<object>re) is int):
                    return _by_dict(spans)
                try:
                    keys[i].start = <object>rs
                    keys[i].end = <object>re
                except OverflowError:
                    return _by_dict(spans)
                if rf != last:
                    g = fields.setdefault(<object>rf, len(fields))  # numbered by first appearance
                    last = rf
            else:
                f, s, e, t = sp.field, sp.start, sp.end, sp.text
                if type(f) is not str or type(s) is not int or type(e) is not int or type(t) is not str:
                    return _by_dict(spans)
                try:
                    keys[i].start = s
                    keys[i].end = e
                except OverflowError:
                    return _by_dict(spans)
                g = fields.setdefault(f, len(fields))
                last = NULL
            keys[i].rank = g
            keys[i].idx = i
        nf = len(fields)
        if nf > 1:  # first-appearance numbers -> ranks in str order
            order = <Py_ssize_t*>PyMem_Malloc(nf * sizeof(Py_ssize_t))
            if order == NULL:
                raise MemoryError()
            for m, name in enumerate(sorted(fields)):
                order[<Py_ssize_t>fields[name]] = m
            for i in range(n):
                keys[i].rank = order[keys[i].rank]
        _sort_keys(keys, n)
        i = 0
        while i < n:
            j = i + 1
            while (
                j < n
                and keys[j].rank == keys[i].rank
                and keys[j].start == keys[i].start
                and keys[j].end == keys[i].end
            ):
                j += 1
            if j == i + 1:
                out.append(spans[keys[i].idx])
            elif j == i + 2:  # two spans at one place (most groups): the second, or both when their texts differ
                sp = spans[keys[i].idx]
                f = spans[keys[i + 1].idx]
                t = _text(sp)
                e = _text(f)
                if type(t) is not str or type(e) is not str:
                    return _by_dict(spans)
                if <str>t == <str>e:
                    out.append(f)
                else:
                    out.append(sp)
                    out.append(f)
            else:  # several spans at one place: one per distinct text, the last of each, first-seen order
                group = []
                texts = []
                for g in range(i, j):
                    sp = spans[keys[g].idx]
                    t = _text(sp)
                    if type(t) is not str:
                        return _by_dict(spans)
                    for m in range(len(texts)):
                        if texts[m] == t:
                            group[m] = sp
                            break
                    else:
                        texts.append(t)
                        group.append(sp)
                out.extend(group)
            i = j
    finally:
        PyMem_Free(keys)
        PyMem_Free(order)
    return out


cdef bint _strictly_sorted(list spans) except -1:
    """Whether every span's (field, start, end) is strictly greater than the one before (all plain str and int);
    then every span is distinct and already in order, and the reference returns them as they are."""
    cdef Py_ssize_t i, n = len(spans)
    cdef object sp, f, s, e
    cdef object pf
    cdef Py_ssize_t ps = 0, pe = 0, cs, ce
    cdef PyObject *rf
    cdef PyObject *rs
    cdef PyObject *re
    cdef PyObject *rt
    for i in range(n):
        sp = spans[i]
        if _read(sp, &rf, &rs, &re, &rt):
            f = <object>rf
            s = <object>rs
            e = <object>re
        else:
            f = sp.field
            s = sp.start
            e = sp.end
        if type(f) is not str or type(s) is not int or type(e) is not int:
            return False
        try:
            cs = s
            ce = e
        except OverflowError:
            return False
        if i:
            if f == pf:
                if cs < ps or (cs == ps and ce <= pe):
                    return False
            elif not (<str>pf < <str>f):
                return False
        pf, ps, pe = f, cs, ce
    return True


def unique_spans(spans):
    """``sorted({(sp.field, sp.start, sp.end, sp.text): sp for sp in spans}.values(), key=place)``."""
    cdef list lst = list(spans)
    if len(lst) < 2 or _strictly_sorted(lst):
        return lst
    return _general(lst)


cdef extern from "Python.h":
    object PyLong_FromVoidPtr(void* p)
    object _PyDict_NewPresized(Py_ssize_t minused)


def evidence_json(evidences):
    """``[[sp.to_json() for sp in ev] for ev in evidences]``, each span object converted once: a span that is in
    several lists (a long post's offensive words are often evidence of three categories) has the same dict in each
    place. A span that is not exactly a Span with its four slots set is converted by its own ``to_json``."""
    cdef dict made = {}  # id -> dict
    cdef list alive = []  # each span converted, so no id is reused by another object (an iterator's temporaries)
    cdef list out = []
    cdef list spans
    cdef object sp, key, got
    cdef dict d
    cdef PyObject *rf
    cdef PyObject *rs
    cdef PyObject *re
    cdef PyObject *rt
    for ev in evidences:
        spans = []
        for sp in ev:
            key = PyLong_FromVoidPtr(<void*>sp)
            got = made.get(key)
            if got is None:
                if _read(sp, &rf, &rs, &re, &rt):
                    d = _PyDict_NewPresized(4)
                    d["field"] = <object>rf
                    d["start"] = <object>rs
                    d["end"] = <object>re
                    d["text"] = <object>rt
                    got = d
                else:
                    got = sp.to_json()
                made[key] = got
                alive.append(sp)
            spans.append(got)
        out.append(spans)
    return out


cdef extern from "Python.h":
    long long PyLong_AsLongLong(object o) except? -1
    Py_ssize_t PyUnicode_GET_LENGTH(object s)
    int PyUnicode_KIND(object s)
    void* PyUnicode_DATA(object s)
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t i) nogil


cdef struct _Out:
    char* buf
    Py_ssize_t n, cap


cdef int _grow(_Out* o, Py_ssize_t more) except -1:
    cdef Py_ssize_t cap = o.cap
    cdef char* got
    if o.n + more <= cap:
        return 0
    while o.n + more > cap:
        cap = cap * 2 if cap else 4096
    got = <char*>PyMem_Realloc(o.buf, cap)
    if got == NULL:
        raise MemoryError()
    o.buf, o.cap = got, cap
    return 0


cdef int _put_raw(_Out* o, const char* p, Py_ssize_t k) except -1:
    _grow(o, k)
    memcpy(o.buf + o.n, p, k)
    o.n += k
    return 0


cdef const char* _HEX = b"0123456789abcdef"
cdef const char* _SHORT = b"btn?fr"  # the short escapes of 8-13 (11 has none)


cdef int _put_str(_Out* o, str s) except -1:
    """``s`` as a JSON string, the bytes orjson writes: UTF-8, ``"`` and ``\\`` escaped, control characters as
    ``\\b \\t \\n \\f \\r`` or ``\\u00XX``; read from the string's own code points (no UTF-8 copy is made and kept on
    it). Returns 1, writing nothing that counts, for a lone surrogate (orjson refuses it)."""
    cdef Py_ssize_t size = PyUnicode_GET_LENGTH(s), i
    cdef int kind = PyUnicode_KIND(s)
    cdef void* data = PyUnicode_DATA(s)
    cdef uint32_t c  # a code point as a number (Cython's Py_UCS4 is a character: its shifts would be str's)
    cdef char* w
    _grow(o, 6 * size + 2)  # the longest a code point can become: a six-byte escape
    w = o.buf + o.n
    w[0] = 34
    w += 1
    for i in range(size):
        c = <uint32_t>PyUnicode_READ(kind, data, i)
        if c < 0x80:
            if c >= 0x20 and c != 34 and c != 92:
                w[0] = <char>c
                w += 1
            elif c == 34 or c == 92:
                w[0] = 92
                w[1] = <char>c
                w += 2
            elif c == 8 or c == 9 or c == 10 or c == 12 or c == 13:
                w[0] = 92
                w[1] = _SHORT[c - 8]
                w += 2
            else:
                memcpy(w, b"\\u00", 4)
                w[4] = _HEX[c >> 4]
                w[5] = _HEX[c & 15]
                w += 6
        elif c < 0x800:
            w[0] = <char>(0xC0 | (c >> 6))
            w[1] = <char>(0x80 | (c & 0x3F))
            w += 2
        elif c < 0x10000:
            if 0xD800 <= c <= 0xDFFF:
                return 1
            w[0] = <char>(0xE0 | (c >> 12))
            w[1] = <char>(0x80 | ((c >> 6) & 0x3F))
            w[2] = <char>(0x80 | (c & 0x3F))
            w += 3
        else:
            w[0] = <char>(0xF0 | (c >> 18))
            w[1] = <char>(0x80 | ((c >> 12) & 0x3F))
            w[2] = <char>(0x80 | ((c >> 6) & 0x3F))
            w[3] = <char>(0x80 | (c & 0x3F))
            w += 4
    w[0] = 34
    o.n = w + 1 - o.buf
    return 0


cdef int _put_int(_Out* o, object v) except -1:
    cdef char tmp[24]
    cdef long long x = PyLong_AsLongLong(v)
    cdef unsigned long long u = <unsigned long long>(-(x + 1)) + 1 if x < 0 else <unsigned long long>x
    cdef int k = 24
    while True:
        k -= 1
        tmp[k] = <char>(48 + u % 10)
        u //= 10
        if u == 0:
            break
    if x < 0:
        k -= 1
        tmp[k] = 45
    return _put_raw(o, tmp + k, 24 - k)


cdef struct _Seen:
    void* span  # NULL: a free slot
    Py_ssize_t at, n  # where its encoding is in the output buffer


def evidence_bytes(evidences):
    """Each list of ``evidences`` as the JSON array orjson makes of ``[sp.to_json() for sp in ev]`` (compact, UTF-8),
    for ``moderation scan`` to pass as ``orjson.Fragment``: a long post's evidence is most of its output line, and
    its dicts were most of the cost of writing it. A span in several lists (a long post's offensive words are often
    evidence of three categories) is encoded once and copied. ``None`` when some span is not exactly a Span with a
    str field and text and int offsets (its own ``to_json`` could give other keys or values), or its text is not
    UTF-8 encodable (a lone surrogate: orjson refuses it, and the caller's fallback decides)."""
    cdef list lists = [ev if type(ev) is list else list(ev) for ev in evidences]  # held: no span is freed meanwhile
    cdef Py_ssize_t total = 0, size = 8, k, at, begin
    cdef list starts = []
    cdef list out
    cdef object sp, f, s, e, t
    cdef PyObject *rf
    cdef PyObject *rs
    cdef PyObject *re
    cdef PyObject *rt
    cdef bint first
    cdef size_t h, mask
    cdef _Seen* seen
    cdef _Out o
    for ev in lists:
        total += len(<list>ev)
    while size < 2 * total:
        size *= 2
    mask = <size_t>(size - 1)
    seen = <_Seen*>PyMem_Calloc(size, sizeof(_Seen))
    if seen == NULL:
        raise MemoryError()
    o.buf, o.n, o.cap = NULL, 0, 0
    try:
        for ev in lists:
            starts.append(o.n)
            _put_raw(&o, b"[", 1)
            first = True
            for sp in <list>ev:
                if not first:
                    _put_raw(&o, b",", 1)
                first = False
                h = ((<size_t><void*>sp) >> 4) & mask
                while seen[h].span != NULL and seen[h].span != <void*>sp:
                    h = (h + 1) & mask
                if seen[h].span != NULL:  # encoded already: copied from where it was written
                    _grow(&o, seen[h].n)
                    memcpy(o.buf + o.n, o.buf + seen[h].at, seen[h].n)
                    o.n += seen[h].n
                    continue
                if not _read(sp, &rf, &rs, &re, &rt):
                    return None
                f, s, e, t = <object>rf, <object>rs, <object>re, <object>rt
                if type(f) is not str or type(t) is not str or type(s) is not int or type(e) is not int:
                    return None
                begin = o.n
                _put_raw(&o, b'{"field":', 9)
                if _put_str(&o, <str>f):
                    return None
                _put_raw(&o, b',"start":', 9)
                _put_int(&o, s)
                _put_raw(&o, b',"end":', 7)
                _put_int(&o, e)
                _put_raw(&o, b',"text":', 8)
                if _put_str(&o, <str>t):
                    return None
                _put_raw(&o, b"}", 1)
                seen[h].span, seen[h].at, seen[h].n = <void*>sp, begin, o.n - begin
            _put_raw(&o, b"]", 1)
        starts.append(o.n)
        out = []
        for k in range(len(lists)):
            at = starts[k]
            out.append(PyBytes_FromStringAndSize(o.buf + at, <Py_ssize_t>starts[k + 1] - at))
        return out
    except OverflowError:
        return None
    finally:
        PyMem_Free(o.buf)
        PyMem_Free(seen)


_UNIQUE_SPANS = unique_spans  # build_categories sorts a merge itself only when given this function


def signal_spans(signals):
    """:func:`unique_spans` of ``[sp for s in signals for sp in s.spans]``."""
    cdef list lst = []
    cdef object s
    cdef Py_ssize_t before
    cdef bint joins_out_of_order = False
    for s in signals:
        before = len(lst)
        lst.extend(_oget(s, _SIGNAL, _S_SPANS, "spans"))
        # Where one signal's spans meet the next one's: out of order there (most evidence of several signals), the
        # list is not strictly sorted, and reading it all to find that out is skipped.
        if not joins_out_of_order and 0 < before < len(lst):
            joins_out_of_order = not _strictly_sorted(lst[before - 1 : before + 1])
    if len(lst) < 2:
        return lst
    if not joins_out_of_order and _strictly_sorted(lst):
        return lst
    return _general(lst)


cdef extern from "Python.h":
    Py_ssize_t _PyLong_AsSsize_noexc "PyLong_AsSsize_t"(PyObject* o) noexcept
    PyObject* PyErr_Occurred() noexcept
    void PyErr_Clear() noexcept


cdef inline bint _c_int(PyObject* o, Py_ssize_t* out) noexcept:
    """Read an exact int that fits a Py_ssize_t into ``out``; False (no error left set) for anything else."""
    if type(<object>o) is not int:
        return False
    cdef Py_ssize_t v = _PyLong_AsSsize_noexc(o)
    if v == -1 and PyErr_Occurred() != NULL:
        PyErr_Clear()
        return False
    out[0] = v
    return True


cpdef object near_any(evidence, object field, object lo, object hi):
    """``any(ev.field == field and lo <= ev.end and ev.start <= hi for ev in evidence)``."""
    cdef object ev
    cdef PyObject *rf
    cdef PyObject *rs
    cdef PyObject *re
    cdef PyObject *rt
    cdef Py_ssize_t c_lo = 0, c_hi = 0, c_s, c_e
    # With a str field and int bounds (the engine's case), spans whose slots hold a str and ints are compared in C:
    # the same comparisons (str equality has no side effects; an identical str is equal).
    cdef bint plain = type(field) is str and _c_int(<PyObject*>lo, &c_lo) and _c_int(<PyObject*>hi, &c_hi)
    for ev in evidence:
        if plain and _read(ev, &rf, &rs, &re, &rt) and type(<object>rf) is str:
            if rf != <PyObject*>field and not (<str><object>rf == <str>field):
                continue
            if _c_int(re, &c_e) and _c_int(rs, &c_s):
                if c_lo <= c_e and c_s <= c_hi:
                    return True
                continue
            if lo <= <object>re and <object>rs <= hi:
                return True
        elif _read(ev, &rf, &rs, &re, &rt):  # the same comparisons, on the slots' values
            if <object>rf == field and lo <= <object>re and <object>rs <= hi:
                return True
        elif ev.field == field and lo <= ev.end and ev.start <= hi:
            return True
    return False


cdef dict _astral = {}  # astral code point -> whether it is a combining mark (bounded below)


cdef inline unsigned char _astral_byte(Py_UCS4 cp, object combining):
    cdef object got = _astral.get(cp)
    if got is None:
        got = bool(combining(chr(cp)))
        if len(_astral) < 4096:
            _astral[cp] = got
    return _DROP if got else _SUB


def fold_non_ascii(str text, bytes lut_bmp not None, object combining):
    """``matching.fold_text`` of a non-ASCII ``text``: ``lut_bmp`` gives each BMP code point's folded byte (0xFF: a
    combining mark, dropped), ``combining`` is ``unicodedata.combining`` for astral code points."""
    if len(lut_bmp) != 0x10000:
        raise ValueError("lut_bmp must map the whole BMP")
    cdef const unsigned char* lut = <const unsigned char*>PyBytes_AS_STRING(lut_bmp)
    cdef Py_ssize_t n = len(text), i = 0, k
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef unsigned char* buf = <unsigned char*>PyBytes_AS_STRING(out)
    cdef bint any_drop = False, in_block = False
    cdef unsigned char b
    cdef Py_UCS4 cp
    for cp in text:
        if cp <= 0xFFFF:
            b = lut[cp]
        else:
            b = _astral_byte(cp, combining)
        if 0x300 <= cp <= 0x36F:
            in_block = True
        if b == _DROP:
            any_drop = True
        buf[i] = b
        i += 1
    if not any_drop:
        return PyUnicode_DecodeASCII(<char*>buf, n, NULL), None
    if not in_block:  # other combining marks are dropped only when the text also has Latin ones
        for i in range(n):
            if buf[i] == _DROP:
                buf[i] = _SUB
        return PyUnicode_DecodeASCII(<char*>buf, n, NULL), None
    cdef list offsets = []
    k = 0
    for i in range(n):
        if buf[i] != _DROP:
            buf[k] = buf[i]
            k += 1
            offsets.append(i)
    offsets.append(n)
    return PyUnicode_DecodeASCII(<char*>buf, k, NULL), offsets


# ------------------------------------------------------------------------------------------------------------------
# A compiled rule (``rules.RuleProgram.run`` and ``RuleProgram._shape``): the condition loop, the outcome-shape memo
# and the trace entries built in C, over the same dicts and lists as the Python program (shared, so either path may
# run on any call and the memos evolve exactly as the reference's do).

from libc.math cimport copysign


cdef bint _plain_subclass(object cls, type base) except -1:
    """Whether ``cls`` is ``base`` or a subclass that keeps ``base``'s construction and iteration (its objects are then
    built empty by ``base.__new__`` and filled, and copied, by ``base``'s C functions)."""
    if not isinstance(cls, type) or not issubclass(cls, base):
        return False
    for name in ("__new__", "__init__", "__iter__", "keys") if base is dict else ("__new__", "__init__", "__iter__"):
        if getattr(cls, name, None) is not getattr(base, name):
            return False
    return True


cdef inline int _set(object d, object key, object value) except -1:
    """``dict.__setitem__(d, key, value)`` (the dict's own, whatever its class overrides); ``d`` must be a dict."""
    if not isinstance(d, dict):
        raise TypeError("not a dict")
    return PyDict_SetItem(d, key, value)


cdef dict _ROUND6 = {}  # float -> round(x, 6) (a float's rounding goes through its decimal digits: slow)


cdef object _round6(object x):
    """``round(x, 6)``, kept for floats other than zeros (0.0 and -0.0 are equal keys, rounded to themselves) and NaN
    (never found again); bounded: a full cache is not added to."""
    if type(x) is not float or x == 0.0 or x != x:
        return round(x, 6)
    got = _ROUND6.get(x)
    if got is None:
        got = round(x, 6)
        if len(_ROUND6) < _FMT_MAX:
            _ROUND6[x] = got
    return got


cdef class Program:
    """``RuleProgram.run`` of one rule: built by the RuleProgram with its own step tuples, memos and helpers."""

    cdef object owner  # the RuleProgram (its ``_none_reach`` gives a step's result on an item with no signals)
    cdef tuple steps  # (k, key, floor_kind, floor, fn, args, call) per condition
    cdef tuple descs  # (group, index, desc, where) per condition
    cdef list no_signals
    cdef dict memo  # outcome shapes by the conditions' (matched, score, detail)
    cdef list conds  # per condition: its trace entries by (matched, score, detail)
    cdef Py_ssize_t n, n_all, n_any, memo_max
    cdef object min_any
    cdef tuple absent_key  # the memo key when every step is absent (list not found, no signal at its floor); None until met
    cdef str pack_id, rule_id
    cdef object shape_cls, frozen_dict, frozen_list, no_hits
    cdef bint frozen_direct  # frozen_dict / frozen_list are plain dict / list subclasses: built and copied in C
    cdef Py_ssize_t off_fired, off_score, off_reason, off_trace, off_entries  # the shape's slots (-1: call it)

    def __init__(
        self,
        owner,
        tuple steps,
        tuple descs,
        list no_signals,
        dict memo,
        list conds,
        Py_ssize_t n_all,
        Py_ssize_t n_any,
        object min_any,
        str pack_id,
        str rule_id,
        Py_ssize_t memo_max,
        shape_cls,
        frozen_dict,
        frozen_list,
        no_hits,
    ):
        if not (len(steps) == len(descs) == len(no_signals) == len(conds)) or n_all < 0 or n_any < 0 or n_all + n_any > len(steps):
            raise ValueError("steps, descriptions and memos of different lengths")
        for step in steps:  # read unchecked in the loop
            if len(<tuple?>step) != 7:
                raise ValueError("a step is (k, key, floor kind, floor, fn, args, call)")
        for desc in descs:
            if len(<tuple?>desc) != 4:
                raise ValueError("a description is (group, index, desc, where)")
        self.owner, self.steps, self.descs, self.no_signals = owner, steps, descs, no_signals
        self.memo, self.conds = memo, conds
        self.n, self.n_all, self.n_any, self.min_any = len(steps), n_all, n_any, min_any
        self.pack_id, self.rule_id, self.memo_max = pack_id, rule_id, memo_max
        self.shape_cls, self.frozen_dict, self.frozen_list, self.no_hits = shape_cls, frozen_dict, frozen_list, no_hits
        self.frozen_direct = _plain_subclass(frozen_dict, dict) and _plain_subclass(frozen_list, list)
        # OutcomeShape(fired, score, reason, trace) with a new ``entries`` dict: its slots filled directly when the
        # class is a slotted one with those five (its dataclass ``__init__`` only stores them).
        offs = [-1] * 5
        if isinstance(shape_cls, type) and getattr(shape_cls, "__post_init__", None) is None:
            offs = [_slot_offset(shape_cls, name) for name in ("fired", "score", "reason", "trace", "entries")]
            if min(offs) <= 0:
                offs = [-1] * 5
        self.off_fired, self.off_score, self.off_reason, self.off_trace, self.off_entries = offs

    cdef object _new_frozen_dict(self):
        """An empty ``frozen_dict()``, filled by the caller with :func:`_set` (the dict's own, not its refusing
        ``__setitem__``); a ``frozen_dict(...)`` call filled by item assignment when it is not a plain subclass."""
        if self.frozen_direct:
            return dict.__new__(self.frozen_dict)
        return {}

    cdef object _done_frozen_dict(self, object d):
        """``d`` (from :meth:`_new_frozen_dict`, filled) as a ``frozen_dict``."""
        if self.frozen_direct:
            return d
        return self.frozen_dict(d)

    cdef object _new_frozen_list(self, list items):
        """``frozen_list(items)``."""
        if self.frozen_direct:
            got = list.__new__(self.frozen_list)
            (<list>got).extend(items)  # list's own extend (the C one), not the refusing override
            return got
        return self.frozen_list(items)

    cdef object _copy_entry(self, object c):
        """``dict(c)`` of a condition's trace entry (a plain dict or ``frozen_dict``)."""
        if type(c) is dict or (self.frozen_direct and type(c) is self.frozen_dict):
            return PyDict_Copy(c)
        return dict(c)

    cdef object _new_shape(self, object fired, object score, object reason, object trace):
        if self.off_fired <= 0:
            return self.shape_cls(fired, score, reason, trace)
        obj = self.shape_cls.__new__(self.shape_cls)
        _put(obj, self.off_fired, fired)
        _put(obj, self.off_score, score)
        _put(obj, self.off_reason, reason)
        _put(obj, self.off_trace, trace)
        _put(obj, self.off_entries, {})
        return obj

    def run(self, facts):
        """``RuleProgram.run``: (outcome shape, evidence)."""
        return self._run(facts, facts.pack_id, facts.keys, facts.top, facts.memo, facts.evidence)

    @cython.boundscheck(True)  # no_signals and conds are the RuleProgram's lists
    cdef tuple _run(self, object facts, object pack_id, object keys, object top, object memo, object ev):
        """:meth:`run` with the fields of ``facts`` it reads already read (``run_rules`` reads them once per pack)."""
        if pack_id != self.pack_id:
            raise ValueError(f"rule {self.rule_id} was compiled for pack {self.pack_id}, not {pack_id}")
        cdef list no_signals = self.no_signals
        cdef Py_ssize_t n = self.n, j
        cdef tuple results, memo_key
        cdef tuple step
        cdef object key, floor_kind, res, call, part
        cdef bint dict_top = type(top) is dict, dict_memo = type(memo) is dict, absent = True
        if self.absent_key is not None:
            # Every step absent (the same tests as below): the results are the shared absent ones, so the memo key is
            # ``absent_key``; its shape when kept and not fired is the outcome, without building results or a key.
            for j in range(n):
                step = <tuple>self.steps[j]
                key = step[1]
                floor_kind = step[2]
                if key is not None and key not in keys:
                    continue
                if floor_kind is not None and (
                    (<dict>top).get(floor_kind, -1.0) if dict_top else top.get(floor_kind, -1.0)
                ) < step[3]:
                    continue
                absent = False
                break
            if absent:
                shape = (<dict>self.memo).get(self.absent_key)
                if shape is not None and not _oget(shape, self.shape_cls, self.off_fired, "fired"):
                    return shape, []
            absent = True
        # The results and the memo key are built straight into tuples (no list per run, no list -> tuple copy).
        results = PyTuple_New(n)
        memo_key = PyTuple_New(n)
        for j in range(n):
            step = <tuple>self.steps[j]
            key = step[1]
            floor_kind = step[2]
            if key is not None and key not in keys:
                res = self.no_hits
            elif floor_kind is not None and (
                (<dict>top).get(floor_kind, -1.0) if dict_top else top.get(floor_kind, -1.0)
            ) < step[3]:
                res = no_signals[j]
                if res is None:
                    res = self.owner._none_reach(j, facts)
            elif memo is None:
                absent = False
                res = step[4](facts, step[5])
            else:  # the same call in another rule of this item gives the same result
                absent = False
                call = step[6]
                res = (<dict>memo).get(call) if dict_memo else memo.get(call)
                if res is None:
                    res = step[4](facts, step[5])
                    memo[call] = res
            Py_INCREF(res)
            PyTuple_SET_ITEM(results, j, res)
            part = (_rget(res, _R_MATCHED, "matched"), _rget(res, _R_SCORE, "score"), _rget(res, _R_DETAIL, "detail"))
            Py_INCREF(part)
            PyTuple_SET_ITEM(memo_key, j, part)
        if absent and self.absent_key is None:  # no_hits and no_signals do not change once set
            self.absent_key = memo_key
        shape = (<dict>self.memo).get(memo_key)
        if shape is None:
            if len(self.memo) >= self.memo_max:
                # Keep the shape without input: the engine's baseline entry of the rule was built from that object
                # (``rules.clear_keeping``, the reference).
                kept = (<dict>self.memo).get(self.absent_key) if self.absent_key is not None else None
                self.memo.clear()
                if kept is not None:
                    self.memo[self.absent_key] = kept
            shape = self._shape(results, memo_key)
            self.memo[memo_key] = shape
        if not _oget(shape, self.shape_cls, self.off_fired, "fired"):
            return shape, []
        cdef list signals = []
        for j in range(self.n_all):
            signals.extend(_rget(results[j], _R_SIGNALS, "signals"))
        for j in range(self.n_all, self.n_all + self.n_any):
            res = results[j]
            if _rget(res, _R_MATCHED, "matched"):
                signals.extend(_rget(res, _R_SIGNALS, "signals"))
        if ev is None:
            return shape, signal_spans(signals)
        ekey = tuple([id(s) for s in signals])
        got = (<dict>ev).get(ekey) if type(ev) is dict else ev.get(ekey)
        if got is None:
            got = signal_spans(signals)
            ev[ekey] = got
        return shape, got


    def shape(self, results):
        """``RuleProgram._shape`` of the conditions' results (not stored in the memo)."""
        cdef list res = list(results)
        if len(res) != self.n:
            raise ValueError("one result per condition")
        return self._shape(tuple(res), tuple([(r.matched, r.score, r.detail) for r in res]))

    @cython.boundscheck(True)
    cdef object _shape(self, tuple results, tuple keys):
        cdef Py_ssize_t n = self.n, j, n_all = self.n_all, n_any = self.n_any
        cdef list entries = [None] * n
        cdef dict cache
        cdef tuple key, desc
        cdef object got, score, rounded
        cdef bint fresh
        for j in range(n):
            key = <tuple>keys[j]
            cache = <dict?>self.conds[j]
            got = cache.get(key)
            fresh = got is None
            if not fresh:  # 1 == 1.0 == True, 0.0 == -0.0 as keys: the cached entry must round to the same
                rounded, score = got["score"], key[1]
                if type(rounded) is not type(score):
                    fresh = True
                elif type(score) is float and copysign(1.0, <double>rounded) != copysign(1.0, <double>score):
                    fresh = True
            if fresh:
                if len(cache) >= self.memo_max:
                    cache.clear()
                desc = <tuple>self.descs[j]
                got = self._new_frozen_dict()
                _set(got, "group", desc[0])
                _set(got, "index", desc[1])
                _set(got, "condition", desc[2])
                _set(got, "matched", key[0])
                _set(got, "score", _round6(key[1]))
                _set(got, "detail", key[2])
                _set(got, "where", desc[3])
                got = self._done_frozen_dict(got)
                cache[key] = got
            entries[j] = got
        trace = self._new_frozen_list(entries)
        cdef bint all_ok = True
        cdef list failed = [], any_hits = [], blocked = []
        for j in range(n_all):
            if not _rget(results[j], _R_MATCHED, "matched"):
                all_ok = False
                failed.append(j)
        for j in range(n_all, n_all + n_any):
            if _rget(results[j], _R_MATCHED, "matched"):
                any_hits.append(results[j])
        cdef bint any_ok = n_any == 0 or len(any_hits) >= self.min_any
        for j in range(n_all + n_any, n):
            if _rget(results[j], _R_MATCHED, "matched"):
                blocked.append(j - n_all - n_any)
        cdef list scores
        if all_ok and any_ok and not blocked:
            scores = [_rget(results[j], _R_SCORE, "score") for j in range(n_all)]
            if any_hits:
                scores.append(max([_rget(r, _R_SCORE, "score") for r in any_hits]))
            return self._new_shape(True, min(scores) if scores else 1.0, "all conditions held", trace)
        if not all_ok:
            reason = "when_all " + ", ".join([f"[{j}] {self.descs[j][2]}" for j in failed]) + " did not hold"
        elif not any_ok:
            reason = f"when_any: {len(any_hits)} of {n_any} held, need {self.min_any}"
        else:
            reason = "suppressed by unless " + ", ".join(
                [f"[{j}] {self.descs[n_all + n_any + j][2]}" for j in blocked]
            )
        return self._new_shape(False, 0.0, reason, trace)


# ------------------------------------------------------------------------------------------------------------------
# The most called condition functions of ``rules`` (``_lexicon``, ``_regex``, ``_offensive``, ``_target``), the same
# results built in C. ``set_result_type`` gives them ``rules.CondResult``; until then they are not offered.

cdef object _Result = None

# Results that follow from a few plain values (a count, a kind) are kept and shared (they are immutable): most items
# give the same few. Bounded: a full memo is not added to.
cdef dict _PLAIN_RESULTS = {}
cdef Py_ssize_t _PLAIN_MAX = 4096
cdef Py_ssize_t _R_MATCHED = -1, _R_SCORE = -1, _R_SIGNALS = -1, _R_DETAIL = -1


cdef inline object _oget(object obj, object cls, Py_ssize_t off, str name):
    """``getattr(obj, name)``, read from the slot at ``off`` when ``obj`` is exactly of class ``cls`` (``off`` > 0 only
    for a writable object slot of that class's own ``__slots__``, see :func:`_slot_offset`)."""
    cdef PyObject* p
    if off > 0 and type(obj) is cls:
        p = _slot(obj, off)
        if p != NULL:
            return <object>p
    return getattr(obj, name)


cdef inline object _rget(object res, Py_ssize_t off, str name):
    """``getattr(res, name)``, read from the slot at ``off`` when ``res`` is exactly of the result class."""
    cdef PyObject* p
    if off > 0 and type(res) is _Result:
        p = _slot(res, off)
        if p != NULL:
            return <object>p
    return getattr(res, name)


cdef extern from "Python.h":
    ctypedef struct _MemberDef "PyMemberDef":
        int member_type "type"
        int flags
    ctypedef struct _MemberDescr "PyMemberDescrObject":
        _MemberDef* d_member
    enum:
        T_OBJECT_EX
        READONLY


cdef Py_ssize_t _slot_offset(type cls, str name) except -2:
    """Where instances of ``cls`` keep the slot ``name`` (a writable object slot of ``cls``'s own ``__slots__``), or
    -1: not such a slot (another class's descriptor, a C member of another kind), or ``cls`` has its own ``__new__``
    (its objects are then not known to have that layout) -- the caller then calls the class."""
    if cls is None or cls.__new__ is not object.__new__:
        return -1
    descr = cls.__dict__.get(name)
    if type(descr) is not types.MemberDescriptorType or descr.__objclass__ is not cls:
        return -1
    if (<_MemberDescr*>descr).d_member.member_type != T_OBJECT_EX or (<_MemberDescr*>descr).d_member.flags & READONLY:
        return -1
    return (<PyMemberDescrObject*>descr).d_member.offset


def set_result_type(cls):
    """Give the compiled conditions the class of their results (``rules.CondResult``: a slotted dataclass with the
    fields matched, score, signals, detail and an ``__init__`` that only stores them, so it is built by filling its
    slots directly when they are found)."""
    global _Result, _R_MATCHED, _R_SCORE, _R_SIGNALS, _R_DETAIL
    _Result = cls
    _PLAIN_RESULTS.clear()  # results kept are of the class given before
    offs = [_slot_offset(cls, name) for name in ("matched", "score", "signals", "detail")]
    if min(offs) <= 0 or getattr(cls, "__post_init__", None) is not None:
        offs = [-1, -1, -1, -1]
    _R_MATCHED, _R_SCORE, _R_SIGNALS, _R_DETAIL = offs


# Where a Signal keeps its fields (read from the slot in the loops over an item's signals; -1: read by attribute).
cdef type _SIGNAL = Signal
cdef Py_ssize_t _S_KIND = _slot_offset(Signal, "kind"), _S_KEY = _slot_offset(Signal, "key")
cdef Py_ssize_t _S_SCORE = _slot_offset(Signal, "score"), _S_SPANS = _slot_offset(Signal, "spans")
cdef Py_ssize_t _S_ATTRS = _slot_offset(Signal, "attrs"), _S_DETECTOR = _slot_offset(Signal, "detector")


cdef inline void _put(object obj, Py_ssize_t off, object value) noexcept:
    """Store ``value`` in an empty slot of a new object."""
    cdef PyObject** slot = <PyObject**>(<char*><PyObject*>obj + off)
    Py_INCREF(value)
    Py_XDECREF(slot[0])
    slot[0] = <PyObject*>value


cdef object _new_result(object matched, object score, object signals, object detail):
    """``CondResult(matched, score, signals, detail)``."""
    if _R_MATCHED <= 0:
        return _Result(matched, score, signals, detail)
    obj = _Result.__new__(_Result)
    _put(obj, _R_MATCHED, matched)
    _put(obj, _R_SCORE, score)
    _put(obj, _R_SIGNALS, signals)
    _put(obj, _R_DETAIL, detail)
    return obj


cdef inline object _attr1(object sig, str name):
    attrs = _oget(sig, _SIGNAL, _S_ATTRS, "attrs")
    if name in attrs:
        return attrs[name]
    return None


cdef bint _in_fields(object sig, object fields) except -1:
    if not fields:
        return True
    spans = _oget(sig, _SIGNAL, _S_SPANS, "spans")
    if spans:
        for s in spans:
            if s.field in fields:
                return True
        return False
    return str(sig.attrs.get("field", "")) in fields


cdef dict _FMT_2F = {}, _FMT_G = {}  # float -> format(x, ".2f") / format(x, "g"): scores repeat across items
cdef Py_ssize_t _FMT_MAX = 4096


cdef object _fmt(dict cache, object x, str spec):
    """``format(x, spec)``, kept in ``cache`` for floats other than zeros (0.0 and -0.0 are equal keys, formatted
    differently) and NaN (never found again); bounded: a full cache is not added to."""
    if type(x) is not float or x == 0.0 or x != x:
        return format(x, spec)
    got = cache.get(x)
    if got is None:
        got = format(x, spec)
        if len(cache) < _FMT_MAX:
            cache[x] = got
    return got


cdef object _scored(list matches, str what, object threshold):
    if not matches:
        return _new_result(False, 0.0, (), f"no {what} at or above {_fmt(_FMT_G, threshold, 'g')}")
    cdef object best = None, score
    cdef bint first = True
    for s in matches:  # max(): the first of the highest, compared by ``>``
        score = _oget(s, _SIGNAL, _S_SCORE, "score")
        if first:
            best = score
            first = False
        elif score > best:
            best = score
    return _new_result(
        True,
        best if best < 1.0 else 1.0,  # min(1.0, best)
        tuple(matches),
        f"{len(matches)} {what} (best {_fmt(_FMT_2F, best, '.2f')})",
    )


cdef object _count_hits(list hits, object args, str what):
    cdef Py_ssize_t n = 0, k
    cdef set terms = set()
    cdef object s, spans, term
    for s in hits:
        spans = _oget(s, _SIGNAL, _S_SPANS, "spans")
        k = len(spans)
        n += k if k > 1 else 1
        term = _attr1(s, "term")
        if not term:
            term = spans[0].text.lower() if spans else _oget(s, _SIGNAL, _S_KEY, "key")
        terms.add(str(term))
    cdef Py_ssize_t distinct = len(terms)
    need, need_distinct = int(args.get("min_hits", 1)), int(args.get("min_distinct", 1))
    if n >= need and distinct >= need_distinct and hits:
        return _new_result(True, 1.0, tuple(hits), f"{n} {what}, {distinct} distinct")
    return _new_result(False, 0.0, (), f"{n} {what}, {distinct} distinct (need {need}/{need_distinct})")


cdef list _keyed(object facts, str kind, str key, object fields):
    cdef list hits = []
    for s in facts.by_kind.get(kind, ()):
        if _oget(s, _SIGNAL, _S_KEY, "key") == key and (not fields or _in_fields(s, fields)):
            hits.append(s)
    return hits


def cond_lexicon(facts, args):
    """``rules._lexicon``."""
    name = args["list"]
    hits = _keyed(facts, "lexicon", f"{facts.pack_id}/{name}", args.get("fields"))
    return _count_hits(hits, args, f"hit(s) of lexicon {name}")


def cond_regex(facts, args):
    """``rules._regex``."""
    name = args["pattern"]
    hits = _keyed(facts, "regex", f"{facts.pack_id}/{name}", args.get("fields"))
    return _count_hits(hits, args, f"match(es) of pattern {name}")


def cond_offensive(facts, args):
    """``rules._offensive``."""
    t = float(args.get("min_score", 0.5))
    fields = args.get("fields")
    cdef list hits = []
    for s in facts.by_kind.get("offensive", ()):
        if _oget(s, _SIGNAL, _S_SCORE, "score") >= t and (not fields or _in_fields(s, fields)):
            hits.append(s)
    return _scored(hits, "offensive signal(s)", t)


def cond_target(facts, args):
    """``rules._target``."""
    t = float(args.get("min_score", 0.5))
    kinds = args.get("kinds")
    cdef list hits = []
    for s in facts.by_kind.get("target", ()):
        if _oget(s, _SIGNAL, _S_SCORE, "score") >= t:
            if kinds:
                attrs = _oget(s, _SIGNAL, _S_ATTRS, "attrs")
                got = attrs["target_kind"] if "target_kind" in attrs else attrs["kind"] if "kind" in attrs else None
                if not (str(got or _oget(s, _SIGNAL, _S_KEY, "key")) in kinds):
                    continue
            hits.append(s)
    return _scored(hits, "target(s)", t)


def cond_accusation(facts, args):
    """``rules._accusation``."""
    t = float(args.get("min_score", 0.5))
    cdef list hits = []
    for s in facts.by_kind.get("accusation", ()):
        if _oget(s, _SIGNAL, _S_SCORE, "score") >= t:
            hits.append(s)
    return _scored(hits, "accusation(s)", t)


cdef inline void _keep(object key, object res):
    if len(_PLAIN_RESULTS) < _PLAIN_MAX:
        _PLAIN_RESULTS[key] = res


cdef object _history(object n_total, object by_cat, object args, str who):
    cdef bint plain = type(args) is dict  # its own get (the reference calls ``args.get`` whatever the mapping)
    cat = (<dict>args).get("category") if plain else args.get("category")
    if cat:
        n = (<dict>by_cat).get(cat, 0) if type(by_cat) is dict else by_cat.get(cat, 0)
    else:
        n = n_total
    need = (<dict>args).get("min", 1) if plain else args.get("min", 1)
    if type(need) is not int:
        need = int(need)
    cdef object key = None
    if type(n) is int and (not cat or type(cat) is str):  # the detail is then a function of these values
        key = (who, n, cat if cat else None, need)
        got = _PLAIN_RESULTS.get(key)
        if got is not None:
            return got
    what = f"{who} has {n} earlier violation(s)" + (f" of {cat}" if cat else "")
    ok = n >= need
    res = _new_result(ok, 1.0 if ok else 0.0, (), f"{what} (need {need})")
    if key is not None and type(ok) is bool:
        _keep(key, res)
    return res


cdef dict _ENUM_VALUES = {}  # id(member) -> (member, its ``_value_``): enum members live as long as their class


cdef inline object _enum_value(object member):
    """``member.value`` (an enum member keeps it as ``_value_``, which the ``value`` property returns); kept for
    members of enum classes (whose members do not change their value), bounded."""
    got = _ENUM_VALUES.get(id(member))
    if got is not None and (<tuple>got)[0] is member:
        return (<tuple>got)[1]
    if isinstance(member, enum.Enum) and len(_ENUM_VALUES) < 256:
        v = member._value_
        _ENUM_VALUES[id(member)] = (member, v)
        return v
    try:
        return member._value_
    except AttributeError:
        return member.value


cdef object _kind_result(str what, object v, object ok):
    """A kind condition's result (``detail`` "<what> is <v>"), shared while ``ok`` is a bool (bounded cache)."""
    if type(ok) is not bool:
        return _new_result(ok, 1.0 if ok else 0.0, (), f"{what} is {v}")
    cdef object key = (what, type(v), v, ok)
    got = _PLAIN_RESULTS.get(key)
    if got is None:
        got = _new_result(ok, 1.0 if ok else 0.0, (), f"{what} is {v}")
        _keep(key, got)
    return got


# Where a Facts (``rules.Facts``, given by :func:`set_facts_type`), an Item and a History keep the fields the item and
# history conditions read (-1: read by attribute).
cdef type _FACTS = None
cdef Py_ssize_t _F_ITEM = -1, _F_HISTORY = -1
cdef type _ITEM = Item, _HISTORY = History
cdef Py_ssize_t _I_KIND = _slot_offset(Item, "kind"), _I_POST_KIND = _slot_offset(Item, "post_kind")
cdef Py_ssize_t _H_AUTHOR = _slot_offset(History, "author_violations")
cdef Py_ssize_t _H_AUTHOR_BY = _slot_offset(History, "author_violations_by_category")
cdef Py_ssize_t _H_BLOG = _slot_offset(History, "blog_violations")
cdef Py_ssize_t _H_BLOG_BY = _slot_offset(History, "blog_violations_by_category")


def set_facts_type(cls):
    """Give the item and history conditions the class of their facts (``rules.Facts``, a slotted dataclass), whose
    ``item`` and ``history`` they then read from the slots of objects of exactly that class."""
    global _FACTS, _F_ITEM, _F_HISTORY
    offs = [_slot_offset(cls, name) for name in ("item", "history")]
    _FACTS = cls if min(offs) > 0 else None
    _F_ITEM, _F_HISTORY = offs if min(offs) > 0 else (-1, -1)


cdef inline object _item_of(object facts):
    return _oget(facts, _FACTS, _F_ITEM, "item")


cdef inline object _history_of(object facts):
    return _oget(facts, _FACTS, _F_HISTORY, "history")


cdef inline object _getitem_of(object args, str name):
    """``args[name]`` (a dict's own lookup when ``args`` is exactly a dict)."""
    if type(args) is dict:
        return (<dict>args)[name]
    return args[name]


def cond_item_kind(facts, args):
    """``rules._item_kind``."""
    v = _enum_value(_oget(_item_of(facts), _ITEM, _I_KIND, "kind"))
    return _kind_result("item kind", v, v in _getitem_of(args, "in"))


def cond_post_kind(facts, args):
    """``rules._post_kind``."""
    v = _enum_value(_oget(_item_of(facts), _ITEM, _I_POST_KIND, "post_kind"))
    return _kind_result("post kind", v, v == _getitem_of(args, "is"))


def cond_author(facts, args):
    """``rules._author``."""
    h = _history_of(facts)
    return _history(
        _oget(h, _HISTORY, _H_AUTHOR, "author_violations"),
        _oget(h, _HISTORY, _H_AUTHOR_BY, "author_violations_by_category"),
        args,
        "author",
    )


def cond_blog(facts, args):
    """``rules._blog``."""
    h = _history_of(facts)
    return _history(
        _oget(h, _HISTORY, _H_BLOG, "blog_violations"), _oget(h, _HISTORY, _H_BLOG_BY, "blog_violations_by_category"), args, "blog"
    )


CONTEXT_CUES = ("legal", "news", "quotation", "discussion")  # ``rules.CONTEXT_CUES``, the default of ``cues``


def cond_context(facts, args):
    """``rules._context``."""
    cues = set(args.get("cues", CONTEXT_CUES))
    cdef list hits = []
    cdef object s, attrs, cue
    for s in facts.kind("context"):
        attrs = _oget(s, _SIGNAL, _S_ATTRS, "attrs")
        cue = attrs["cue"] if "cue" in attrs else None
        if str(cue or "") in cues:
            hits.append(s)
    need = int(args.get("min_count", 1))
    cdef object n = 0
    for s in hits:
        n += max(1, len(_oget(s, _SIGNAL, _S_SPANS, "spans")))
    if hits and n >= need:
        return _new_result(True, 1.0, tuple(hits), f"{n} context cue(s)")
    return _new_result(False, 0.0, (), f"{n} context cue(s) (need {need})")


CONDITIONS = {
    "context": cond_context,
    "lexicon": cond_lexicon,
    "regex": cond_regex,
    "offensive": cond_offensive,
    "target": cond_target,
    "accusation": cond_accusation,
    "author_violations": cond_author,
    "blog_violations": cond_blog,
    "item_kind": cond_item_kind,
    "post_kind": cond_post_kind,
}


# ------------------------------------------------------------------------------------------------------------------
# ``matching.in_quotation``: one pass over the window before the hit and one after it, no slices.

cdef extern from "Python.h":
    Py_UCS4 PyUnicode_READ(int kind, void* data, Py_ssize_t index) nogil
    int PyUnicode_KIND(object o)
    void* PyUnicode_DATA(object o)


cpdef object in_quotation(str text, start, end, window):
    """``matching.in_quotation``: whether ``text[start:end]`` sits between quote marks that open and close within
    ``window`` characters."""
    cdef Py_ssize_t n = len(text)
    cdef object size = n  # compared as Python ints: offsets beyond a C size take the reference's path
    if type(start) is int and type(end) is int and type(window) is int and 0 <= start <= end <= size and 0 <= window:
        # A window wider than the text reaches both of its ends, as one of the text's length does (the window of a
        # short comment): the same bounds, 0 and the text's end.
        return _in_quotation(text, start, end, window if window <= size else n, n)
    # the reference's slices, as written
    lo, hi = max(0, start - window), min(n, end + window)
    before, after = _getitem(text, slice(lo, start)), _getitem(text, slice(end, hi))  # Python's clamping slices
    for open_q, close_q in (("“", "”"), ("«", "»"), ("„", "“")):
        if before.rfind(open_q) > before.rfind(close_q) and close_q in after:
            return True
    para_start = _rfind(text, "\n", lo, start) + 1
    return _count(text, '"', max(lo, para_start), start) % 2 == 1 and '"' in after


ctypedef fused _uchar:  # a str's code units (PyUnicode_KIND 1, 2 or 4)
    unsigned char
    unsigned short
    Py_UCS4


cdef inline bint _no_mark(Py_UCS4 ch) noexcept nogil:
    """Whether ``ch`` is none of the characters :func:`_in_quotation` looks for (line break, " « » “ ” „): most
    characters, told in two comparisons."""
    if ch > 0x22:
        return ch < 0xAB or 0xBB < ch < 0x201C or ch > 0x201E
    return ch != 0x22 and ch != 0x0A


cdef bint _in_quotation(str text, Py_ssize_t start, Py_ssize_t end, Py_ssize_t window, Py_ssize_t n):
    cdef Py_ssize_t lo, hi
    lo = start - window if start > window else 0
    hi = end + window if end + window < n else n
    cdef int kind = PyUnicode_KIND(text)
    cdef void* data = PyUnicode_DATA(text)
    # one loop per width of the text's code units (no test of the width per character)
    if kind == 1:
        return _in_quotation_units(<const unsigned char*>data, start, end, lo, hi)
    if kind == 2:
        return _in_quotation_units(<const unsigned short*>data, start, end, lo, hi)
    return _in_quotation_units(<const Py_UCS4*>data, start, end, lo, hi)


cdef bint _in_quotation_units(
    const _uchar* data, Py_ssize_t start, Py_ssize_t end, Py_ssize_t lo, Py_ssize_t hi
) noexcept nogil:
    """:func:`_in_quotation` over the code units ``data`` of the text: the window is ``[lo, start)`` before the span
    and ``[end, hi)`` after it."""
    cdef Py_ssize_t i
    cdef Py_ssize_t l_ldq = -1, l_rdq = -1, l_lg = -1, l_rg = -1, l_low = -1, straight = 0
    cdef Py_UCS4 ch
    for i in range(lo, start):
        ch = data[i]
        if _no_mark(ch):
            continue
        if ch == 0x22:
            straight += 1
        elif ch == 0x0A:
            straight = 0
        elif ch == 0x201C:
            l_ldq = i
        elif ch == 0x201D:
            l_rdq = i
        elif ch == 0xAB:
            l_lg = i
        elif ch == 0xBB:
            l_rg = i
        elif ch == 0x201E:
            l_low = i
    cdef bint a_rdq = False, a_rg = False, a_ldq = False, a_straight = False
    for i in range(end, hi):
        ch = data[i]
        if _no_mark(ch):
            continue
        if ch == 0x201D:
            a_rdq = True
        elif ch == 0xBB:
            a_rg = True
        elif ch == 0x201C:
            a_ldq = True
        elif ch == 0x22:
            a_straight = True
    if (l_ldq > l_rdq and a_rdq) or (l_lg > l_rg and a_rg) or (l_low > l_ldq and a_ldq):
        return True
    return straight % 2 == 1 and a_straight


# ------------------------------------------------------------------------------------------------------------------
# The per-rule loop of ``engine.Classifier._evaluate_pack`` (its reference: ``engine._run_rules_py``).

cdef object _not_fired(Program classes, object shape, str pack_id, tuple info, tuple mode_note):
    """``engine._not_fired_entry``: the shared trace entry of a rule that did not fire, kept in ``shape.entries``
    (built with the frozen classes of ``classes``)."""
    got = classes._new_frozen_dict()
    _set(got, "pack", pack_id)
    _set(got, "rule", info[2])
    _set(got, "category", info[3])
    _set(got, "where", info[4])
    _set(got, "description", info[5])
    _set(got, "mode", mode_note[0])
    _set(got, "fired", False)
    _set(got, "outcome", "not fired")
    _set(got, "reason", shape.reason)
    _set(got, "action", None)
    _set(got, "score", _round6(shape.score))
    _set(got, "conditions", shape.trace)
    _set(got, "context", classes._new_frozen_list([]))
    _set(got, "note", mode_note[1])
    got = classes._done_frozen_dict(got)
    shape.entries[mode_note] = got
    return got


@cython.boundscheck(True)  # the lists are the caller's, which the callbacks could change
cpdef dict run_rules(
    list order,
    object live,
    tuple fast,
    list modes,
    list entries,
    list baseline,
    Py_ssize_t start,
    list changed,
    object facts,
    str pack_id,
    object cues_of,
    object clear_at,
    object downgrade_at,
    object not_fired_entry,
    tuple plans,
    object remove,
    object review,
):
    """``engine._run_rules_py``: run the rules of one pack whose indexes are ``order`` (those in ``live`` by their
    compiled program, the others from their quiet outcome ``plans[i].quiet``), put each one's trace entry in
    ``entries``, append to ``changed`` the trace positions (``start + i``) whose entry is not ``baseline[i]``, and
    return the fired rules by (category, mode) as (action, rule id, score, evidence, context cues).

    ``fast[i]`` is (compiled ``Program``, rule, rule id, category, where, description, context policy, action, its
    value) of rule ``i``; ``modes[i]`` its (mode, note); ``cues_of(policy, evidence)`` the context cues of a fired rule;
    ``not_fired_entry(shape, pack_id, rule, mode, note)`` the shared entry of a rule that did not fire (or a
    ``Program``, whose frozen classes then build that entry here, as ``engine._not_fired_entry`` does).
    """
    return _run_rules(
        order, live, 0, False, fast, modes, entries, baseline, start, changed, facts, pack_id, cues_of, clear_at,
        downgrade_at, not_fired_entry, plans, remove, review
    )


@cython.boundscheck(True)
cdef dict _run_rules(
    list order,
    object live,
    unsigned long long live_bits,
    bint by_bits,
    tuple fast,
    list modes,
    list entries,
    list baseline,
    Py_ssize_t start,
    list changed,
    object facts,
    str pack_id,
    object cues_of,
    object clear_at,
    object downgrade_at,
    object not_fired_entry,
    tuple plans,
    object remove,
    object review,
):
    """:func:`run_rules`, whose rule ``i`` is live when bit ``i`` of ``live_bits`` is set if ``by_bits`` (``live`` is
    then not read), else when ``i in live``."""
    cdef Py_ssize_t n = len(fast), i, k, m = len(order)
    if len(modes) != n or len(entries) != n or len(baseline) != n or len(plans) != n:
        raise ValueError("one mode, entry, baseline entry and plan per rule")
    for k in range(n):
        if len(<tuple?>fast[k]) != 9:
            raise ValueError("malformed rule info")
    cdef object keys = facts.keys, top = facts.top, memo = facts.memo, ev = facts.evidence
    cdef dict fired = {}
    cdef tuple info, mode_note
    cdef Program prog
    cdef object shape, evidence, got, found, action, policy, rule, trace, score, fkey, shape_cls, shape_entries
    cdef object template, tkey
    cdef dict entry
    cdef Py_ssize_t off_fired, off_score, off_reason, off_trace, off_entries
    cdef tuple ran
    cdef list bucket
    for k in range(m):
        i = order[k]
        if i < 0 or i >= n:
            raise IndexError("rule index out of range")
        info = <tuple>fast[i]
        mode_note = <tuple?>modes[i]
        if len(mode_note) != 2:
            raise ValueError("a rule's mode is (mode, note)")
        if ((live_bits >> i) & 1) if by_bits else (i in live):
            prog = <Program?>info[0]
            ran = prog._run(facts, pack_id, keys, top, memo, ev)
            shape, evidence = ran[0], ran[1]
        else:
            prog = <Program>info[0] if type(info[0]) is Program else None
            shape, evidence = plans[i].quiet, []
        if prog is not None:
            shape_cls, off_fired, off_score, off_reason = prog.shape_cls, prog.off_fired, prog.off_score, prog.off_reason
            off_trace, off_entries = prog.off_trace, prog.off_entries
        else:
            shape_cls, off_fired, off_score, off_reason, off_trace, off_entries = None, -1, -1, -1, -1, -1
        if not _oget(shape, shape_cls, off_fired, "fired"):  # shared entry, built once per outcome shape and mode
            shape_entries = _oget(shape, shape_cls, off_entries, "entries")
            got = (<dict>shape_entries).get(mode_note) if type(shape_entries) is dict else shape_entries.get(mode_note)
            if got is None:
                if type(not_fired_entry) is Program:  # ``engine._not_fired_entry`` with its frozen classes
                    got = _not_fired(<Program>not_fired_entry, shape, pack_id, info, mode_note)
                else:
                    got = not_fired_entry(shape, pack_id, info[1], mode_note[0], mode_note[1])
            entries[i] = got
            if got is not baseline[i]:
                changed.append(start + i)
            continue
        changed.append(start + i)
        trace = [prog._copy_entry(c) if prog is not None else dict(c) for c in _oget(shape, shape_cls, off_trace, "trace")]
        policy = info[6]
        action = info[7]
        if policy == "ignore" or not evidence:
            found = []
        elif type(cues_of) is CueFinder:
            found = (<CueFinder>cues_of).find(policy, evidence)
        else:
            found = cues_of(policy, evidence)
        score = _oget(shape, shape_cls, off_score, "score")
        # The entry's other values follow from the shape, the rule and its mode: built once per shape and mode, kept
        # in ``shape.entries`` by (mode, note, True), and copied.
        shape_entries = _oget(shape, shape_cls, off_entries, "entries")
        tkey = (mode_note[0], mode_note[1], True)
        template = (<dict>shape_entries).get(tkey) if type(shape_entries) is dict else shape_entries.get(tkey)
        if type(template) is not dict:
            template = {
                "pack": pack_id,
                "rule": info[2],
                "category": info[3],
                "where": info[4],
                "description": info[5],
                "mode": mode_note[0],
                "fired": True,
                "outcome": "fired",
                "reason": _oget(shape, shape_cls, off_reason, "reason"),
                "action": info[8],
                "score": _round6(score),
                "conditions": None,
                "context": None,
                "note": mode_note[1],
            }
            shape_entries[tkey] = template
        entry = (<dict>template).copy()
        entry["conditions"] = trace
        entry["context"] = found
        entries[i] = entry
        if policy != "ignore" and len(found) >= clear_at:
            entry["outcome"] = "cleared by context"
            entry["action"] = None
            entry["reason"] = f"{len(found)} context cues near the evidence (clear at {clear_at})"
            continue
        if policy != "ignore" and len(found) >= downgrade_at and action is remove:
            action = review
            entry["outcome"] = "fired, downgraded by context"
            entry["action"] = action.value
        fkey = (info[3], mode_note[0])
        got = fired.get(fkey)
        if got is None:
            bucket = []
            fired[fkey] = bucket
        else:
            bucket = <list>got
        bucket.append((action, info[2], score, evidence, found))
    return fired


cdef dict _DETECTORS = {}  # frozenset of detector names (str) -> dict of their (name before "/", name) pairs, sorted


def group_signals(list signals):
    """``engine._group_signals_py``: the signals by kind (lists in order), the frozenset of their keys, the best score
    of each kind (``rules.top_scores``) and the detectors behind them (``Evaluation.detectors``)."""
    cdef dict by_kind = {}, top = {}
    cdef list keys = []
    cdef object s, got, best = None, score
    cdef bint first
    for s in signals:
        kind = _oget(s, _SIGNAL, _S_KIND, "kind")
        got = by_kind.get(kind)
        if got is None:
            by_kind[kind] = [s]
        else:
            (<list>got).append(s)
        keys.append(_oget(s, _SIGNAL, _S_KEY, "key"))
    for kind, got in by_kind.items():  # max(): the first of the highest, compared by ``>``
        first = True
        for s in <list>got:
            score = _oget(s, _SIGNAL, _S_SCORE, "score")
            if first:
                best = score
                first = False
            elif score > best:
                best = score
        top[kind] = best
    cdef set names = set()
    cdef bint plain = True
    for s in signals:
        d = _oget(s, _SIGNAL, _S_DETECTOR, "detector")
        if d:
            names.add(d)
            plain = plain and type(d) is str
    cdef object named
    if plain:  # the same few detector sets on most items: their (name, detector) pairs kept (bounded)
        named = frozenset(names)
        got = _DETECTORS.get(named)
        if got is None:
            got = dict([(d.split("/")[0], d) for d in sorted(names)])
            if len(_DETECTORS) < 1024:
                _DETECTORS[named] = got
        return by_kind, frozenset(keys), top, PyDict_Copy(got)  # kept, never handed out: a copy
    cdef list ordered = sorted(names)
    return by_kind, frozenset(keys), top, {d.split("/")[0]: d for d in ordered}


cpdef dict pack_rules(
    object plan,
    list modes,
    list baseline,
    list fires_quiet,
    object quiet_at,
    Py_ssize_t start,
    list trace,
    set quiet,
    object facts,
    str pack_id,
    object cues_of,
    object clear_at,
    object downgrade_at,
    object not_fired_entry,
    object remove,
    object review,
):
    """The rule part of ``engine.Classifier._evaluate_pack`` (its Python path): the live rules of ``plan`` (a
    ``_PackPlan``) on ``facts``, :func:`run_rules` over them and the rules that fire when quiet, the pack's entries
    appended to ``trace`` (which must hold ``start`` entries) and ``quiet`` updated with the positions of the
    entries that are the baseline's (``quiet_at``); returns the fired rules as :func:`run_rules` does."""
    if len(trace) != start:
        raise ValueError("the pack's entries start where the trace ends")
    cdef tuple fast = plan.fast
    cdef Py_ssize_t n = len(fast), i
    cdef object bits = plan.bits, keys, found, kind
    cdef unsigned long long live_bits = 0, order_bits
    cdef set live = None
    cdef list order
    cdef bint by_bits = bits is not None and n <= 64
    if by_bits:  # the same sets as below, as bit masks (bit i: rule i)
        bits = <tuple?>bits
        if len(bits) != 3:  # read unchecked below
            raise ValueError("plan.bits is (always, by key, by kind)")
        live_bits = <unsigned long long>bits[0]
        keys = facts.keys
        if len(keys) < len(<dict?>bits[1]):  # an item has many keys, a pack reads few of them: the smaller side
            for key in keys:
                found = (<dict>bits[1]).get(key)
                if found is not None:
                    live_bits |= <unsigned long long>found
        else:
            for key, found in (<dict>bits[1]).items():
                if key in keys:
                    live_bits |= <unsigned long long>found
        kinds = facts.by_kind
        for kind, found in (<dict?>bits[2]).items():
            if kind in kinds:
                live_bits |= <unsigned long long>found
        order_bits = live_bits
        for found in fires_quiet:
            i = found
            if i < 0 or i >= n:
                raise IndexError("rule index out of range")
            order_bits |= (<unsigned long long>1) << i
        order = [i for i in range(n) if (order_bits >> i) & 1]
    else:
        live = set(plan.always)
        by_key, by_kind = plan.by_key, plan.by_kind
        for key in plan.key_set.intersection(facts.keys):
            live |= by_key[key]
        for kind in plan.kind_set.intersection(facts.by_kind):
            live |= by_kind[kind]
        order = sorted(live.union(fires_quiet)) if fires_quiet else sorted(live)
    cdef list entries = list(baseline)
    cdef list changed = []
    cdef dict fired = _run_rules(
        order,
        live,
        live_bits,
        by_bits,
        plan.fast,
        modes,
        entries,
        baseline,
        start,
        changed,
        facts,
        pack_id,
        cues_of,
        clear_at,
        downgrade_at,
        not_fired_entry,
        plan.rules,
        remove,
        review,
    )
    quiet.update(quiet_at)
    if changed:
        quiet.difference_update(changed)
    trace.extend(entries)
    return fired


cdef list _cues_near(
    object ctx_sigs,
    str prefix,
    object evidence,
    object window,
    bint quotation,
    object texts,
    object in_quote,
    dict quotes=None,
):
    """``engine.Classifier._cues``: the distinct context cues near ``evidence`` (not empty), sorted. ``quotes``, when
    given, keeps :func:`in_quotation` of a str text by (field, start, end, window) for the item's other evidence
    (rules and packs that fired on the same places): a function of those and the field's text, one per item."""
    cdef set cues = set()
    cdef object sig, sp, ev, f, t, attrs, ev_start, ev_end
    cdef bint near, fast_ev
    cdef PyObject *rf
    cdef PyObject *rs
    cdef PyObject *re
    cdef PyObject *rt
    for sig in ctx_sigs:
        if not _oget(sig, _SIGNAL, _S_KEY, "key").startswith(prefix):
            continue
        for sp in _oget(sig, _SIGNAL, _S_SPANS, "spans"):
            # A headline frames the whole item, so title cues count everywhere.
            f = sp.field
            if f == "title":
                near = True
            else:
                near = near_any(evidence, f, sp.start - window, sp.end + window)
            if near:
                attrs = _oget(sig, _SIGNAL, _S_ATTRS, "attrs")
                cues.add(f"{attrs.get('cue')}: {attrs.get('term')}")
                break
    if quotation:
        near = True
        for ev in evidence:
            fast_ev = _read(ev, &rf, &rs, &re, &rt)
            if fast_ev:
                f, ev_start, ev_end = <object>rf, <object>rs, <object>re
            else:
                f = ev.field
            if f not in texts:
                near = False
                break
            t = texts[f]
            if not fast_ev:  # read as the reference does: after the field's text is found
                ev_start, ev_end = ev.start, ev.end
            if type(t) is str:
                if (
                    quotes is not None
                    and type(f) is str
                    and type(ev_start) is int
                    and type(ev_end) is int
                    and type(window) is int
                ):
                    qkey = (f, ev_start, ev_end, window)
                    inside = quotes.get(qkey)
                    if inside is None:
                        inside = in_quotation(t, ev_start, ev_end, window)
                        quotes[qkey] = inside
                else:
                    inside = in_quotation(t, ev_start, ev_end, window)
                if not inside:
                    near = False
                    break
            elif not in_quote(t, ev_start, ev_end, window):
                near = False
                break
        if near:
            cues.add("quotation")
    return sorted(cues)


cdef class CueFinder:
    """``engine.Classifier._cues_memo`` for the rules of one pack on one item, kept in ``memo`` (shared by the packs,
    by (pack id, id(evidence)), or None): the context cues near a fired rule's evidence, a new list per call."""

    cdef str pack_id, prefix
    cdef object ctx_sigs, window, texts, memo, in_quote
    cdef bint quotation
    cdef dict quotes  # in_quotation of the item's evidence by place (see ``_cues_near``); None: not kept

    def __init__(self, str pack_id, ctx_sigs, window, bint quotation, texts, memo, in_quote):
        self.pack_id, self.prefix = pack_id, pack_id + "/"
        self.ctx_sigs, self.window, self.quotation, self.texts = ctx_sigs, window, quotation, texts
        if memo is not None and type(memo) is not dict:
            raise TypeError("memo must be a dict or None")
        self.memo, self.in_quote = memo, in_quote

    cdef list find(self, object policy, object evidence):
        if policy == "ignore" or not evidence:
            return []
        if self.memo is None:
            return _cues_near(
                self.ctx_sigs, self.prefix, evidence, self.window, self.quotation, self.texts, self.in_quote, self.quotes
            )
        key = (self.pack_id, id(evidence))
        got = (<dict>self.memo).get(key)
        if type(got) is not tuple or len(<tuple>got) != 2 or (<tuple>got)[0] is not evidence:
            got = (
                evidence,
                _cues_near(
                    self.ctx_sigs,
                    self.prefix,
                    evidence,
                    self.window,
                    self.quotation,
                    self.texts,
                    self.in_quote,
                    self.quotes,
                ),
            )
            (<dict>self.memo)[key] = got
        return list((<tuple>got)[1])

    def __call__(self, policy, evidence):
        """The cues of ``evidence`` under the rule's context ``policy``."""
        return self.find(policy, evidence)


cdef CueFinder _new_finder(str pack_id, ctx_sigs, window, bint quotation, texts, memo, in_quote, dict quotes):
    """``CueFinder(pack_id, ctx_sigs, window, quotation, texts, memo, in_quote)`` with ``memo`` already checked (a dict
    or None), its fields set without the call, keeping :func:`in_quotation` of the item's evidence in ``quotes`` (one
    dict per item, shared by its packs' finders)."""
    cdef CueFinder f = CueFinder.__new__(CueFinder)
    f.pack_id, f.prefix = pack_id, pack_id + "/"
    f.ctx_sigs, f.window, f.quotation, f.texts = ctx_sigs, window, quotation, texts
    f.memo, f.in_quote, f.quotes = memo, in_quote, quotes
    return f


cdef object _FIRED_RANK = None  # ``engine._fired_rank``: (_ACTION_RANK[action], score) of a fired rule
cdef object _ACTION_RANK = None


def set_fired_rank(fn, action_rank):
    """Give :func:`build_categories` the engine's order of fired rules: ``fn`` (``engine._fired_rank``) gives
    ``(action_rank[f[0]], f[2])`` of a fired rule ``f``; given that function it compares those pairs itself."""
    global _FIRED_RANK, _ACTION_RANK
    _FIRED_RANK, _ACTION_RANK = fn, action_rank


cdef object _max_fired(tuple rows):
    """``max(rows, key=_FIRED_RANK)``: the first row whose (rank of its action, score) is the greatest, the pairs
    compared as tuples are (an element equal to the other's, or the same object, moves on to the next)."""
    cdef object best = None, best_rank = None, best_score = None, r, sc
    cdef tuple o
    for row in rows:
        o = <tuple?>row
        r = _ACTION_RANK[o[0]]
        sc = o[2]
        if best is None:
            best, best_rank, best_score = o, r, sc
        elif not PyObject_RichCompareBool(r, best_rank, Py_EQ):
            if r > best_rank:
                best, best_rank, best_score = o, r, sc
        elif not PyObject_RichCompareBool(sc, best_score, Py_EQ) and sc > best_score:
            best, best_rank, best_score = o, r, sc
    return best


@cython.boundscheck(True)
cpdef list build_categories(
    dict fired, object cats, object modes, object first, bint original, object unique, SlotMaker maker, object rank
):
    """``engine._categories_py``: one category result per (category, mode) of ``fired`` (as ``run_rules`` gives it),
    built by ``maker``; ``unique`` is ``rules.unique_spans``, ``rank`` the order of the fired rules of a category."""
    cdef list results = [], outs, evidence
    cdef tuple info, best, o, key, rows
    cdef object mode, bracket
    cdef Py_ssize_t before
    cdef bint joins_out_of_order
    for fkey, got in fired.items():
        key = <tuple?>fkey
        if len(key) != 2:
            raise ValueError("malformed fired key")
        mode = key[1]
        info = <tuple?>cats[key[0]]
        outs = <list?>got
        if len(info) != 10 or not outs:
            raise ValueError("malformed category info or fired rules")
        rows = tuple(outs)  # the caller's list could change in a callback
        for o in rows:
            if o is None or len(o) != 5:
                raise ValueError("a fired rule is (action, rule id, score, evidence, cues)")
        if len(rows) == 1:  # already distinct and in order (unique_spans of its result is itself)
            best = rows[0]
            evidence = list(best[3])
        else:
            best = <tuple?>(_max_fired(rows) if rank is _FIRED_RANK and rank is not None else max(rows, key=rank))
            if len(best) != 5:
                raise ValueError("a fired rule is (action, rule id, score, evidence, cues)")
            evidence = []
            joins_out_of_order = False
            for o in rows:
                before = len(evidence)
                evidence.extend(o[3])
                # Two rules' evidence joining out of order (most merges): not strictly sorted, so :func:`unique_spans`
                # would read the first list only to find that out; it goes straight to the sort.
                if not joins_out_of_order and 0 < before < len(evidence):
                    joins_out_of_order = not _strictly_sorted(evidence[before - 1 : before + 1])
            if joins_out_of_order and unique is _UNIQUE_SPANS:
                evidence = _general(evidence)
            else:
                evidence = unique(evidence)
        bracket = info[8] if original else info[9]
        results.append(
            maker.make(
                (
                    info[0],
                    info[1],
                    info[2],
                    info[3],
                    info[4],
                    best[1],
                    best[0],
                    mode,
                    best[2],
                    info[5],
                    evidence,
                    dict(bracket) if bracket is not None else None,
                    list(info[6]),
                    info[7],
                    [o[1] for o in rows],
                    best[4],
                    modes[first[best[1]]][1],
                )
            )
        )
    return results


@cython.boundscheck(True)
def evaluate_packs(
    list rows,
    object item,
    object history,
    dict by_kind,
    object keys,
    object top,
    object memo,
    object evidence,
    object texts,
    list trace,
    set quiet,
    object cues,
    SlotMaker facts_maker,
    SlotMaker category_maker,
    object unique,
    object rank,
    object in_quote,
    bint original,
    object remove,
    object review,
):
    """``engine.Classifier._evaluate_pack`` (its compiled branch) for every pack of one item, in order: each row of
    ``rows`` is (pack id, the rules' modes, the pack's ``_PackPlan``, its baseline entries, the rules that fire when
    quiet, the trace positions of the baseline entries, where the pack's entries start in ``trace``, the context
    window, quotation, clear_at and downgrade_at); the Facts of each pack are ``facts_maker.make((item, history,
    pack id, by_kind, keys, top, memo, evidence))``. Appends to ``trace`` and ``quiet`` as :func:`pack_rules` does;
    returns the category results of every pack, in order (:func:`build_categories`)."""
    cdef list results = []
    cdef tuple row, fast
    cdef object facts, finder, plan
    cdef dict fired
    cdef object ctx_sigs = by_kind.get("context", ())
    cdef dict quotes = {}  # in_quotation by place, for the cue finders of this item's packs
    for r in rows:
        row = <tuple?>r
        if len(row) != 11:
            raise ValueError("a pack row has 11 fields")
        pack_id = <str?>row[0]
        plan = row[2]
        fast = <tuple?>plan.fast
        if not fast or len(<tuple?>fast[0]) != 9:
            raise ValueError(f"pack {pack_id} has no compiled rules")
        facts = facts_maker.make((item, history, pack_id, by_kind, keys, top, memo, evidence))
        if cues is not None and type(cues) is not dict:  # as CueFinder() checks it
            raise TypeError("memo must be a dict or None")
        finder = _new_finder(pack_id, ctx_sigs, row[7], row[8], texts, cues, in_quote, quotes)
        fired = pack_rules(
            plan,
            <list?>row[1],
            <list?>row[3],
            <list?>row[4],
            row[5],
            row[6],
            trace,
            quiet,
            facts,
            pack_id,
            finder,
            row[9],
            row[10],
            (<tuple>fast[0])[0],  # its frozen classes build the entries of rules that did not fire
            remove,
            review,
        )
        results.extend(build_categories(fired, plan.cats, row[1], plan.first, original, unique, category_maker, rank))
    return results


cdef class SlotMaker:
    """Build objects of a slotted class by filling its slots (``cls(*values)`` when a slot is not found): for frozen
    dataclasses whose ``__init__`` only stores its arguments (a frozen one stores each through ``object.__setattr__``,
    most of the cost of building one)."""

    cdef type cls
    cdef tuple offs
    cdef bint direct

    def __init__(self, type cls, names):
        self.cls = cls
        self.offs = tuple([_slot_offset(cls, name) for name in names])
        self.direct = (
            len(self.offs) > 0 and min(self.offs) > 0 and getattr(cls, "__post_init__", None) is None
        )

    def make(self, tuple values):
        """``cls(*values)``, ``values`` one per name given, in that order."""
        cdef Py_ssize_t j, n = len(self.offs)
        if len(values) != n:
            raise ValueError(f"{n} values expected, got {len(values)}")
        if not self.direct:
            return self.cls(*values)
        obj = self.cls.__new__(self.cls)
        for j in range(n):
            _put(obj, <Py_ssize_t>self.offs[j], values[j])
        return obj
