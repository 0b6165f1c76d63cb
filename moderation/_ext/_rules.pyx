# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled loops of the policy engine (``moderation.policy.rules`` and ``moderation.policy.matching``).

Each function here gives exactly what its pure-Python reference gives (the reference stays in the module that
calls it and is used when this extension is not built):

* :func:`unique_spans` -- ``rules._unique_spans_py``: the distinct spans ordered by (field, start, end);
* :func:`signal_spans` -- ``unique_spans`` of every span of the given signals, in signal order;
* :func:`near_any` -- the "is some evidence near this context cue" test of ``engine.Classifier._cues``;
* :func:`fold_non_ascii` -- ``matching.fold_text`` of a text that is not ASCII (one lookup per character).
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_DecodeASCII
from libc.stdlib cimport qsort

import operator

_SPAN_PLACE = operator.attrgetter("field", "start", "end")

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


cdef int _cmp_key(const void* a, const void* b) noexcept nogil:
    cdef const _Key* x = <const _Key*>a
    cdef const _Key* y = <const _Key*>b
    if x.rank != y.rank:
        return -1 if x.rank < y.rank else 1
    if x.start != y.start:
        return -1 if x.start < y.start else 1
    if x.end != y.end:
        return -1 if x.end < y.end else 1
    if x.idx != y.idx:
        return -1 if x.idx < y.idx else 1
    return 0


cdef list _general(list spans):
    """:func:`_by_dict` with the sort on C structs: spans ordered by (field, start, end, input position); within one
    place the distinct texts in order of first appearance, each given by its last span (as the dict keeps it)."""
    cdef Py_ssize_t n = len(spans), i, j, g, m
    cdef object sp, f, s, e, t
    cdef dict fields = {}
    for i in range(n):
        sp = spans[i]
        f = sp.field
        if type(f) is not str or type(sp.start) is not int or type(sp.end) is not int or type(sp.text) is not str:
            return _by_dict(spans)
        if f not in fields:
            fields[f] = None
    cdef dict rank = {name: k for k, name in enumerate(sorted(fields))}
    cdef _Key* keys = <_Key*>PyMem_Malloc(n * sizeof(_Key))
    if keys == NULL:
        raise MemoryError()
    cdef list out = []
    cdef list group = []
    cdef list texts = []
    try:
        for i in range(n):
            sp = spans[i]
            try:
                keys[i].start = sp.start
                keys[i].end = sp.end
            except OverflowError:
                return _by_dict(spans)
            keys[i].rank = rank[sp.field]
            keys[i].idx = i
        qsort(keys, n, sizeof(_Key), _cmp_key)
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
            else:  # several spans at one place: one per distinct text, the last of each, first-seen order
                del group[:]
                del texts[:]
                for g in range(i, j):
                    sp = spans[keys[g].idx]
                    t = sp.text
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
    return out


cdef bint _strictly_sorted(list spans) except -1:
    """Whether every span's (field, start, end) is strictly greater than the one before (all plain str and int);
    then every span is distinct and already in order, and the reference returns them as they are."""
    cdef Py_ssize_t i, n = len(spans)
    cdef object sp, f, s, e
    cdef object pf
    cdef Py_ssize_t ps = 0, pe = 0, cs, ce
    for i in range(n):
        sp = spans[i]
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


def signal_spans(signals):
    """:func:`unique_spans` of ``[sp for s in signals for sp in s.spans]``."""
    cdef list lst = []
    cdef object s
    for s in signals:
        lst.extend(s.spans)
    if len(lst) < 2 or _strictly_sorted(lst):
        return lst
    return _general(lst)


def near_any(evidence, object field, object lo, object hi):
    """``any(ev.field == field and lo <= ev.end and ev.start <= hi for ev in evidence)``."""
    cdef object ev
    for ev in evidence:
        if ev.field == field and lo <= ev.end and ev.start <= hi:
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
