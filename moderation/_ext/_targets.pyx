# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled loops of the target and accusation detectors (``moderation.detect.targets``).

Each function gives exactly what the pure-Python reference in ``targets`` gives (the reference is used when this
extension is not built; the tests compare both):

* :class:`CueMatcher` -- ``pattern.finditer`` of the six cue patterns (alternations of literal words between
  ``(?<![\\p{L}\\p{M}\\d])`` and ``(?![\\p{L}\\p{M}\\d])``): one walk of a character trie per word start, each
  pattern keeping its own search position, so the matches are those of six separate ``finditer`` calls; the spans
  come back mapped to the original (``Normalised.to_original``);
* :func:`original_spans` -- ``finditer`` of the ``mention``, ``name`` and ``acronym`` patterns on the original;
* :func:`org_tail` -- the end of ``org_name.match(original, pos)`` (or -1);
* :func:`sentence_breaks` -- the offsets of ``[.!?;\\n]``;
* :func:`digit_scan` -- for the personal-data detector: the first ``[\\d@]`` and whether six digits run;
* :func:`aimed_flags` -- which targets :func:`targets.aimed` returns, one flag per target;
* :func:`row_signals` -- the ``target`` signals of a field from its hit tuples (:func:`target_rows`) and the
  offensive spans: the aimed flags and ``targets._target_signals`` in one call, without ``TargetHit`` objects;
* :func:`build` -- frozen slotted dataclass instances without the generated ``__init__`` (what it does, in C);
  :func:`spans_of` and :func:`pair_spans` make ``Span`` objects the same way.

Character classes are those of the ``regex`` module (its Unicode version, not Python's): each 256-code-point block
is classified with ``regex`` the first time a character of it is read.
"""

cimport cython
from cpython.object cimport PyObject, PyTypeObject
from cpython.unicode cimport PyUnicode_DATA, PyUnicode_KIND, PyUnicode_READ
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort, realloc
from libc.string cimport memset

from moderation._ext._offsets cimport int64_data, original_span, raw_arrays_ok

import numpy as np
import regex

cdef extern from "Python.h":
    int PyObject_GenericSetAttr(object o, object name, object value) except -1
    PyObject *_PyType_Lookup(PyTypeObject *tp, PyObject *name)
    PyObject **PySequence_Fast_ITEMS(object o)

cdef extern from *:
    """
    #include <structmember.h>

    /* A new instance of ``tp`` (as ``object.__new__(tp)`` makes it: ``tp->tp_alloc``, every slot NULL) with the
       object slots at ``off[k]`` set to ``vals[k]`` (new references), as ``object.__setattr__`` through their
       member descriptors sets them on a fresh instance. */
    static PyObject *__mod_targets_slots_new(PyTypeObject *tp, const Py_ssize_t *off, PyObject *const *vals,
                                             Py_ssize_t n) {
        PyObject *o = tp->tp_alloc(tp, 0);
        Py_ssize_t k;
        if (o == NULL) return NULL;
        for (k = 0; k < n; k++) {
            Py_INCREF(vals[k]);
            *(PyObject **)((char *)o + off[k]) = vals[k];
        }
        return o;
    }

    /* The offset of the writable object slot (T_OBJECT_EX) that ``descr``, a member descriptor of ``tp`` itself,
       sets in a ``tp`` instance; -1 when ``descr`` is anything else. */
    static Py_ssize_t __mod_targets_member_offset(PyTypeObject *tp, PyObject *descr) {
        PyMemberDef *m;
        if (descr == NULL || Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        if (((PyDescrObject *)descr)->d_type != tp) return -1;
        m = ((PyMemberDescrObject *)descr)->d_member;
        if (m == NULL || m->type != T_OBJECT_EX || (m->flags & READONLY)) return -1;
        if (m->offset < (Py_ssize_t)sizeof(PyObject)
                || m->offset + (Py_ssize_t)sizeof(PyObject *) > tp->tp_basicsize) return -1;
        return m->offset;
    }

    /* ``object.__new__(tp)`` is ``tp->tp_alloc(tp, 0)`` with the generic allocator: ``tp`` keeps object's
       ``__new__`` and allocator and is not abstract. */
    static int __mod_targets_plain_type(PyTypeObject *tp) {
        return tp->tp_new == PyBaseObject_Type.tp_new && tp->tp_alloc == PyType_GenericAlloc
            && !(tp->tp_flags & Py_TPFLAGS_IS_ABSTRACT);
    }
    """
    object _slots_new "__mod_targets_slots_new"(PyTypeObject *tp, const Py_ssize_t *off, PyObject **vals,
                                                Py_ssize_t n)
    Py_ssize_t _member_offset "__mod_targets_member_offset"(PyTypeObject *tp, PyObject *descr)
    bint _plain_type "__mod_targets_plain_type"(PyTypeObject *tp)

cdef object _NDARRAY = np.ndarray
cdef object _INT64 = np.dtype(np.int64)
cdef bint _RAW = raw_arrays_ok(np, _NDARRAY, _INT64)


cdef inline const int64_t *_int64_data(object a, Py_ssize_t *n) noexcept:
    """:func:`_offsets.int64_data` with this module's check (``_RAW``): NULL means read ``a`` through a buffer."""
    return int64_data(a, n, _RAW, _NDARRAY, _INT64)


def _raw_arrays():
    """Whether the raw reads of numpy arrays (``_offsets.int64_data``) were found sound at import."""
    return _RAW


# Class bits of a code point; each is the class written in the patterns of ``targets``.
cdef enum:
    MAX_PATTERNS = 16
    ROOT_TABLE = 0x2000
    DENSE_MAX = 1 << 22  # entries of CueMatcher's dense edge table (8 MB); past it, the hash table only

cdef enum:
    WORD = 1     # [\p{L}\p{M}\d]: the cue word boundary
    DIGIT = 2    # \d
    UPPER = 4    # \p{Lu}
    LOWER_M = 8  # [\p{Ll}\p{M}]
    LETTER_D = 16  # [\p{L}\d]: the acronym boundary
    LETTER_M = 32  # [\p{L}\p{M}]: the name boundary
    W = 64       # \w: the mention boundary
    FILLED = 128  # the block of this code point is classified

_CLASSES = [
    (WORD, r"[\p{L}\p{M}\d]"), (DIGIT, r"\d"), (UPPER, r"\p{Lu}"), (LOWER_M, r"[\p{Ll}\p{M}]"),
    (LETTER_D, r"[\p{L}\d]"), (LETTER_M, r"[\p{L}\p{M}]"), (W, r"\w"),
]
_CLASS_RES = [(bit, regex.compile(cls + "+")) for bit, cls in _CLASSES]

cdef unsigned char _table[0x110000]


cdef void _fill(Py_ssize_t c) except *:
    cdef Py_ssize_t block = c >> 8
    cdef Py_ssize_t base = block << 8
    cdef Py_ssize_t i
    chars = "".join([chr(base + i) for i in range(256)])
    cdef unsigned char bits[256]
    for i in range(256):
        bits[i] = FILLED
    for bit, pattern in _CLASS_RES:
        for m in pattern.finditer(chars):
            for i in range(m.start(), m.end()):
                bits[i] |= <unsigned char>bit
    for i in range(256):  # whole block at once: a reader never sees it half classified
        _table[base + i] = bits[i]


cdef inline unsigned char cls(Py_UCS4 ch) except? 255:
    cdef Py_ssize_t c = <Py_ssize_t>ch
    cdef unsigned char v = _table[c]
    if not (v & FILLED):
        _fill(c)
        v = _table[c]
    return v & ~FILLED


def char_classes(str text):
    """The class bits of each character of ``text`` (for the tests)."""
    return [cls(c) for c in text]


# ---------------------------------------------------------------------------------------------------------------
# Cue patterns


cdef class CueMatcher:
    """A character trie of the cue literals of both forms. ``specs`` holds, per pattern, (on the folded form?,
    the literals in the order the pattern's alternation tries them, needs ``(?<!\\d )``)."""

    cdef int _npat
    cdef int _forms[MAX_PATTERNS]
    cdef int _no_digit_space[MAX_PATTERNS]
    cdef int _nnodes
    cdef int *_tprio       # per node and pattern: the priority of the literal ending there (-1: none)
    cdef unsigned char *_term  # per node: some literal ends there
    cdef list _tlit        # per node and pattern: that literal
    cdef int _root_tab[2 * ROOT_TABLE]  # per form, the root's child for each character below ROOT_TABLE (-1: none)
    cdef uint64_t *_ekey   # every edge in one hash table: ((node << 21) | character) + 1 (0: empty slot) ...
    cdef int *_echild      # ... and the child it leads to
    cdef int _ebits        # the table has 1 << _ebits slots
    # The same edges for the literals' characters below ROOT_TABLE in a dense table: _alpha[c] numbers such a
    # character (0: none), _dense[node * _ncol + _alpha[c]] is the child plus one (0: none), 16 bits an entry;
    # _alpha_all: every character of the literals below ROOT_TABLE is numbered (so an unnumbered one has no edge
    # anywhere). The nodes are numbered breadth first, so the rows a scan reads most (near the roots) lie together
    # in a few kilobytes: a walk from a word start stays in the cache.
    cdef unsigned char _alpha[ROOT_TABLE]
    cdef uint16_t *_dense
    cdef int _ncol
    cdef bint _alpha_all
    cdef Py_UCS4 _max_char  # the largest character of the literals: no edge reads a larger one

    def __cinit__(self):
        self._tprio = NULL
        self._term = NULL
        self._ekey = NULL
        self._echild = NULL
        self._dense = NULL
        self._ncol = 0
        self._alpha_all = False
        self._max_char = 0

    def __dealloc__(self):
        free(self._tprio)
        free(self._term)
        free(self._ekey)
        free(self._echild)
        free(self._dense)

    def __init__(self, list specs):
        cdef int k, node, form, npat = len(specs)
        cdef uint64_t ekey
        cdef Py_ssize_t slot
        if npat > MAX_PATTERNS:
            raise ValueError(f"at most {MAX_PATTERNS} cue patterns")
        if self._term != NULL:
            raise RuntimeError("CueMatcher is initialised once")  # a second run would leak the first one's arrays
        self._npat = 0  # npat once the arrays are complete (a half-built matcher scans nothing)
        kids: list = [{}, {}]  # node -> {char: node}; node 0 is the root of the text form, 1 of the folded form
        terms: dict = {}  # (node, pattern) -> (priority, literal)
        for k, (folded, literals, no_digit_space) in enumerate(specs):
            self._forms[k] = 1 if folded else 0
            self._no_digit_space[k] = 1 if no_digit_space else 0
            for prio, lit in enumerate(literals):
                if not lit:
                    raise ValueError("empty cue literal")
                node = self._forms[k]
                for ch in lit:
                    nxt = kids[node].get(ch)
                    if nxt is None:
                        nxt = len(kids)
                        kids[node][ch] = nxt
                        kids.append({})
                    node = nxt
                if (node, k) not in terms:  # the first in the alternation wins
                    terms[(node, k)] = (prio, lit)
                self._max_char = max(self._max_char, <Py_UCS4>ord(max(lit)))
        # number the nodes breadth first from the two roots (which stay 0 and 1)
        order = [0, 1]
        for node in order:
            order.extend(kids[node].values())
        renum = {old: new for new, old in enumerate(order)}
        kids = [{ch: renum[nxt] for ch, nxt in kids[old].items()} for old in order]
        terms = {(renum[old], k): v for (old, k), v in terms.items()}
        self._nnodes = len(kids)
        total = sum(len(d) for d in kids)
        self._tprio = <int *>malloc(self._nnodes * npat * sizeof(int) + 1)
        self._term = <unsigned char *>malloc(self._nnodes + 1)
        if not (self._tprio and self._term):
            raise MemoryError()
        self._tlit = [None] * (self._nnodes * npat)
        for node in range(self._nnodes):
            self._term[node] = 0
            for k in range(npat):
                self._tprio[node * npat + k] = -1
        for node in range(2 * ROOT_TABLE):
            self._root_tab[node] = -1
        for form in range(2):
            for ch, nxt in kids[form].items():
                if ord(ch) < ROOT_TABLE:
                    self._root_tab[form * ROOT_TABLE + ord(ch)] = nxt
        for (node, k), (prio, lit) in terms.items():
            self._term[node] = 1
            self._tprio[node * npat + k] = prio
            self._tlit[node * npat + k] = lit
        # the edges in a hash table at most a quarter full: a step of a walk is one probe, not a bisection
        self._ebits = 4
        while (1 << self._ebits) < 4 * (total + 1):
            self._ebits += 1
        self._ekey = <uint64_t *>calloc(1 << self._ebits, sizeof(uint64_t))
        self._echild = <int *>calloc(1 << self._ebits, sizeof(int))
        if not (self._ekey and self._echild):
            raise MemoryError()
        for node in range(self._nnodes):
            for ch, nxt in kids[node].items():
                ekey = ((<uint64_t>node) << 21 | <uint64_t>ord(ch)) + 1
                slot = self._eslot(ekey)
                while self._ekey[slot] != 0:
                    slot = (slot + 1) & ((1 << self._ebits) - 1)
                self._ekey[slot] = ekey
                self._echild[slot] = nxt
        self._dense_edges(kids)
        self._npat = npat

    cdef int _dense_edges(self, list kids) except -1:
        """Fill ``_alpha`` and ``_dense`` from ``kids`` (node -> {char: node}): up to 255 characters below
        ROOT_TABLE are numbered, in order of first appearance; with none, a table past DENSE_MAX entries or 65,535
        nodes or more, the hash table alone serves."""
        cdef Py_ssize_t size, i
        cdef int node, col
        cdef dict numbers = {}
        memset(self._alpha, 0, ROOT_TABLE)
        self._alpha_all = True
        for node in range(self._nnodes):
            for ch in kids[node]:
                if ord(ch) < ROOT_TABLE and ch not in numbers:
                    if len(numbers) < 255:
                        numbers[ch] = len(numbers) + 1
                    else:
                        self._alpha_all = False
        size = <Py_ssize_t>self._nnodes * (len(numbers) + 1)
        if not numbers or size > DENSE_MAX or self._nnodes >= 0xFFFF:
            memset(self._alpha, 0, ROOT_TABLE)
            self._alpha_all = False
            return 0
        self._ncol = len(numbers) + 1
        self._dense = <uint16_t *>calloc(size, sizeof(uint16_t))
        if self._dense == NULL:
            raise MemoryError()
        for ch, col in numbers.items():
            self._alpha[ord(ch)] = <unsigned char>col
        for node in range(self._nnodes):
            for ch, nxt in kids[node].items():
                col = numbers.get(ch, 0)
                if col:
                    self._dense[node * self._ncol + col] = <uint16_t>(nxt + 1)
        return 0

    cdef inline Py_ssize_t _eslot(self, uint64_t ekey) noexcept:
        return <Py_ssize_t>((ekey * <uint64_t>0x9E3779B97F4A7C15ULL) >> (64 - self._ebits))

    cdef inline int _child(self, int node, Py_UCS4 c) noexcept:
        """The child of ``node`` by ``c``, or -1."""
        cdef uint64_t ekey
        cdef Py_ssize_t mask, slot
        cdef uint64_t k
        cdef int col
        if c > self._max_char:
            return -1
        if <Py_ssize_t>c < ROOT_TABLE:
            col = self._alpha[c]
            if col:
                return <int>self._dense[node * self._ncol + col] - 1
            if self._alpha_all:
                return -1
        ekey = ((<uint64_t>node) << 21 | <uint64_t>c) + 1
        mask = (1 << self._ebits) - 1
        slot = self._eslot(ekey)
        while True:
            k = self._ekey[slot]
            if k == ekey:
                return self._echild[slot]
            if k == 0:
                return -1
            slot = (slot + 1) & mask

    def spans(self, str text not None, str folded not None, starts, ends):
        """Per pattern, the list of ``(start, end, original start, original end, literal)`` of its ``finditer``
        over its form (``text`` or ``folded``), mapped to the original as ``Normalised.to_original`` maps them
        (``starts``/``ends`` are its arrays; ``len(text)`` bounds them)."""
        cdef list out = [[] for _ in range(self._npat)]
        cdef Py_ssize_t n_text = len(text), ns = 0, ne = 0
        cdef const int64_t *sp
        cdef const int64_t *ep
        cdef const int64_t[::1] st
        cdef const int64_t[::1] en
        if n_text == 0 and not folded:
            return out
        sp = _int64_data(starts, &ns)
        ep = _int64_data(ends, &ne)
        if sp == NULL or ep == NULL:  # not 1-d contiguous numpy int64 arrays: through a buffer (or a copy)
            try:
                st = starts
                en = ends
            except (TypeError, ValueError):
                st = np.ascontiguousarray(starts, dtype=np.int64)
                en = np.ascontiguousarray(ends, dtype=np.int64)
            ns = st.shape[0]
            ne = en.shape[0]
            sp = &st[0] if ns > 0 else NULL
            ep = &en[0] if ne > 0 else NULL
        # _scan_chars reads sp/ep at offsets up to len(text) - 1 without bounds checks
        if ns < n_text or ne < n_text:
            raise ValueError("starts and ends must be as long as text")
        self._scan(text, 0, out, n_text, sp, ep)
        self._scan(folded, 1, out, n_text, sp, ep)
        return out

    cdef int _scan(self, str s, int form, list out, Py_ssize_t n_text, const int64_t *st,
                   const int64_t *en) except -1:
        cdef int kind = PyUnicode_KIND(s)
        cdef void *data = PyUnicode_DATA(s)
        cdef Py_ssize_t L = len(s)
        if kind == 1:
            return _scan_chars(self, <const uint8_t *>data, L, form, out, n_text, st, en)
        if kind == 2:
            return _scan_chars(self, <const uint16_t *>data, L, form, out, n_text, st, en)
        return _scan_chars(self, <const uint32_t *>data, L, form, out, n_text, st, en)


ctypedef fused char_t:
    uint8_t
    uint16_t
    uint32_t


cdef int _scan_chars(CueMatcher self, const char_t *data, Py_ssize_t L, int form, list out, Py_ssize_t n_text,
                     const int64_t *sp, const int64_t *ep) except -1:
    """:meth:`CueMatcher._scan` over the characters of one string kind: a walk of the trie at each position after a
    character that is not a word character (and at the start), each pattern keeping its own search position.
    ``sp``/``ep``: the offset arrays (read at offsets below ``n_text`` only, which the caller checked)."""
    cdef Py_ssize_t i = 0
    cdef int node, k, npat = self._npat
    cdef Py_UCS4 c
    cdef bint active = False
    cdef Py_ssize_t pos[MAX_PATTERNS]
    for k in range(npat):
        pos[k] = 0
        if self._forms[k] == form:
            active = True
    if not active or L == 0:
        return 0
    while i < L:
        # i follows a character that is not a word character (or is 0): a match may start here
        c = <Py_UCS4>data[i]
        if <Py_ssize_t>c < ROOT_TABLE:
            node = self._root_tab[form * ROOT_TABLE + <int>c]
        else:
            node = self._child(form, c)
        if node >= 0:
            _walk(self, data, L, i, node, out, n_text, sp, ep, pos)
        # the next such position is one past the first character at or after i that is not a word character (a
        # tight loop over the rest of the word: nothing else carried from one character to the next)
        while i < L and (cls(<Py_UCS4>data[i]) & WORD):
            i += 1
        i += 1
    return 0


cdef int _walk(CueMatcher self, const char_t *data, Py_ssize_t L, Py_ssize_t i, int node, list out, Py_ssize_t n_text,
               const int64_t *st, const int64_t *en, Py_ssize_t *pos) except -1:
    """The walk of the trie from ``node`` (the root's child by ``data[i]``): for each pattern whose search position
    is at most ``i``, the first literal in its priority order that ends at a word boundary; each found is appended
    to ``out[k]`` (mapped to the original) and moves the pattern's search position past it."""
    cdef Py_ssize_t j = i + 1, e, lo, hi
    cdef int k, prio, npat = self._npat, found = 0, inited = 0
    cdef int best[MAX_PATTERNS]
    cdef Py_ssize_t best_end[MAX_PATTERNS]
    cdef int best_node[MAX_PATTERNS]
    while True:
        if self._term[node] and (j == L or not (cls(<Py_UCS4>data[j]) & WORD)):
            if not inited:
                for k in range(npat):
                    best[k] = -1
                inited = 1
            for k in range(npat):
                prio = self._tprio[node * npat + k]
                if prio < 0 or i < pos[k]:
                    continue
                if (self._no_digit_space[k] and i >= 2 and <Py_UCS4>data[i - 1] == 32
                        and (cls(<Py_UCS4>data[i - 2]) & DIGIT)):
                    continue
                if best[k] < 0 or prio < best[k]:
                    best[k] = prio
                    best_end[k] = j
                    best_node[k] = node
                    found = 1
        if j >= L:
            break
        node = self._child(node, <Py_UCS4>data[j])
        if node < 0:
            break
        j += 1
    if not found:
        return 0
    for k in range(npat):
        if best[k] < 0:
            continue
        e = best_end[k]
        pos[k] = e
        original_span(st, en, n_text, i, e, &lo, &hi)
        (<list>out[k]).append((i, e, lo, hi, self._tlit[best_node[k] * npat + k]))
    return 0


# ---------------------------------------------------------------------------------------------------------------
# Patterns on the original text


cdef inline bint _blank(Py_UCS4 c):
    return c == u" " or c == u"\t"


def original_spans(str s not None):
    """``(mentions, names, acronyms)``: the spans of ``finditer`` of the ``mention``, ``name`` and ``acronym``
    patterns over ``s``."""
    cdef int kind = PyUnicode_KIND(s)
    cdef void *data = PyUnicode_DATA(s)
    cdef Py_ssize_t L = len(s)
    cdef list mentions = [], names = [], acronyms = []
    if kind == 1:
        _original_chars(<const uint8_t *>data, L, mentions, names, acronyms)
    elif kind == 2:
        _original_chars(<const uint16_t *>data, L, mentions, names, acronyms)
    else:
        _original_chars(<const uint32_t *>data, L, mentions, names, acronyms)
    return mentions, names, acronyms


cdef int _original_chars(const char_t *data, Py_ssize_t L, list mentions, list names, list acronyms) except -1:
    """:func:`original_spans` over the characters of one string kind."""
    cdef Py_ssize_t i = 0, j, k, e, r, words
    cdef Py_UCS4 c, p
    cdef unsigned char cc, pc
    cdef Py_ssize_t name_pos = 0, acro_pos = 0, mention_pos = 0
    while i < L:
        # Every pattern starts at a capital or an "@": skip the other characters in a tight loop (nothing carried
        # from one to the next), then read the character before (none before the first) for the look-behinds.
        while i < L and not (cls(<Py_UCS4>data[i]) & UPPER) and <Py_UCS4>data[i] != u"@":
            i += 1
        if i >= L:
            break
        c = <Py_UCS4>data[i]
        cc = cls(c)
        p = <Py_UCS4>data[i - 1] if i else 0
        pc = cls(p) if i else 0
        if cc & UPPER:
            # name: (?<![\p{L}\p{M}])\p{Lu}[\p{Ll}\p{M}]+(?:[ \t]+\p{Lu}[\p{Ll}\p{M}]*){1,4}
            if i >= name_pos and not (pc & LETTER_M):
                j = i + 1
                while j < L and (cls(<Py_UCS4>data[j]) & LOWER_M):
                    j += 1
                if j > i + 1:
                    e = j
                    words = 0
                    while words < 4:
                        k = e
                        while k < L and _blank(<Py_UCS4>data[k]):
                            k += 1
                        if k == e or k >= L or not (cls(<Py_UCS4>data[k]) & UPPER):
                            break
                        k += 1
                        while k < L and (cls(<Py_UCS4>data[k]) & LOWER_M):
                            k += 1
                        e = k
                        words += 1
                    if words:
                        names.append((i, e))
                        name_pos = e
            # acronym: (?<![\p{L}\d])\p{Lu}{2,6}(?![\p{L}\d])
            if i >= acro_pos and not (pc & LETTER_D):
                j = i + 1
                while j < L and j - i <= 6 and (cls(<Py_UCS4>data[j]) & UPPER):
                    j += 1
                r = j - i
                if 2 <= r <= 6 and (j == L or not (cls(<Py_UCS4>data[j]) & LETTER_D)):
                    acronyms.append((i, j))
                    acro_pos = j
        elif c == u"@":
            # mention: (?<![\w@])@[\p{L}\p{M}\d_.]{2,}(?<!\.)
            if i >= mention_pos and not (pc & W) and p != u"@":
                j = i + 1
                while j < L and ((cls(<Py_UCS4>data[j]) & WORD) or <Py_UCS4>data[j] == u"_" or <Py_UCS4>data[j] == u"."):
                    j += 1
                while j >= i + 3 and <Py_UCS4>data[j - 1] == u".":
                    j -= 1
                if j >= i + 3:
                    mentions.append((i, j))
                    mention_pos = j
        i += 1
    return 0


cdef inline bint _org_char(Py_UCS4 c) except -1:
    return (cls(c) & WORD) != 0 or c == u"&" or c == u"." or c == u"-"


def org_tail(str s, Py_ssize_t at):
    """The end of ``org_name.match(s, at)`` (``[ \\t]+`` and one to five capitalised words), or -1."""
    cdef Py_ssize_t L = len(s)
    cdef int kind = PyUnicode_KIND(s)
    cdef void *data = PyUnicode_DATA(s)
    cdef Py_ssize_t k, e, words
    if at < 0:
        at = 0
    k = at
    while k < L and _blank(PyUnicode_READ(kind, data, k)):
        k += 1
    if k == at or k >= L or not (cls(PyUnicode_READ(kind, data, k)) & UPPER):
        return -1
    k += 1
    while k < L and _org_char(PyUnicode_READ(kind, data, k)):
        k += 1
    e = k
    words = 0
    while words < 4:
        k = e
        while k < L and _blank(PyUnicode_READ(kind, data, k)):
            k += 1
        if k == e or k >= L or not (cls(PyUnicode_READ(kind, data, k)) & UPPER):
            break
        k += 1
        while k < L and _org_char(PyUnicode_READ(kind, data, k)):
            k += 1
        e = k
        words += 1
    return e


cdef inline bint _is_break(Py_UCS4 c) noexcept nogil:
    # 0x8800400200000400: bit c set for each sentence break c ("." "!" "?" ";" and the line feed, all below 64)
    return c < 64 and ((<uint64_t>0x8800400200000400 >> <unsigned int>c) & 1) != 0


cdef Py_ssize_t _collect_breaks(const char_t *data, Py_ssize_t L, Py_ssize_t **out, Py_ssize_t cap) noexcept nogil:
    """The offsets of ``[.!?;\\n]`` in ``data[:L]`` into ``out[0]`` (malloc'ed, ``cap`` slots, grown as needed);
    their count, or -1 when memory runs out (``out[0]`` is then still the caller's to free)."""
    cdef Py_ssize_t i, nb = 0
    cdef Py_ssize_t *grown
    for i in range(L):
        if _is_break(<Py_UCS4>data[i]):
            if nb == cap:
                cap *= 2
                grown = <Py_ssize_t *>realloc(out[0], cap * sizeof(Py_ssize_t))
                if grown == NULL:
                    return -1
                out[0] = grown
            out[0][nb] = i
            nb += 1
    return nb


cdef Py_ssize_t *_breaks(str s, Py_ssize_t *count) except NULL:
    """The offsets of ``[.!?;\\n]`` in ``s``: a malloc'ed array (the caller frees it) of ``count[0]`` of them, in one
    pass over ``s``."""
    cdef int kind = PyUnicode_KIND(s)
    cdef void *data = PyUnicode_DATA(s)
    cdef Py_ssize_t L = len(s), nb
    cdef Py_ssize_t *out = <Py_ssize_t *>malloc(64 * sizeof(Py_ssize_t))
    if out == NULL:
        raise MemoryError()
    if kind == 1:
        nb = _collect_breaks(<const uint8_t *>data, L, &out, 64)
    elif kind == 2:
        nb = _collect_breaks(<const uint16_t *>data, L, &out, 64)
    else:
        nb = _collect_breaks(<const uint32_t *>data, L, &out, 64)
    if nb < 0:
        free(out)
        raise MemoryError()
    count[0] = nb
    return out


cdef int _scan_digits(const char_t *data, Py_ssize_t L, Py_ssize_t *first) except -1:
    """:func:`digit_scan` over the characters of one string kind: ``first[0]`` set, whether a run of six."""
    cdef Py_ssize_t i = 0, run = 0
    cdef int gap = 0
    cdef Py_UCS4 c
    first[0] = -1
    while i < L:
        if run == 0:
            # No run in progress: up to the next digit or "@" every character leaves the state as it is (a separator
            # or any other character keeps run at 0, and gap is reset by the next digit), so skip them in a tight
            # loop (no branch on the frequent spaces).
            while i < L:
                c = <Py_UCS4>data[i]
                if (cls(c) & DIGIT) or c == 64:
                    break
                i += 1
            if i >= L:
                break
        c = <Py_UCS4>data[i]
        i += 1
        if cls(c) & DIGIT:
            if first[0] < 0:
                first[0] = i - 1
            run = run + 1 if run > 0 and gap <= 1 else 1
            gap = 0
            if run >= 6:
                return 1
        elif c == 64:  # "@"
            if first[0] < 0:
                first[0] = i - 1
            run = 0
        elif c == 32 or c == 46 or c == 45:  # " ", ".", "-": one may stand between two digits of a run
            if run > 0 and gap == 0:
                gap = 1
            else:
                run = 0
        else:
            run = 0
    return 0


def digit_scan(str s not None):
    """``(first, six)`` for the personal-data detector: the offset of the first ``[\\d@]`` in ``s`` (-1: none) and
    whether ``\\d(?:[ .-]?\\d){5}`` matches somewhere in ``s`` (six digits, at most one of `` .-`` between two),
    ``\\d`` as the ``regex`` module reads it (``personal._DIGIT_OR_AT`` and ``personal._SIX_DIGITS``)."""
    cdef int kind = PyUnicode_KIND(s)
    cdef void *data = PyUnicode_DATA(s)
    cdef Py_ssize_t L = len(s), first = -1, i
    cdef int six
    if kind == 1:
        six = _scan_digits(<const uint8_t *>data, L, &first)
    elif kind == 2:
        six = _scan_digits(<const uint16_t *>data, L, &first)
    else:
        six = _scan_digits(<const uint32_t *>data, L, &first)
    return first, six != 0


def sentence_breaks(str s not None):
    """The offsets of ``[.!?;\\n]`` in ``s``."""
    cdef Py_ssize_t nb = 0, i
    cdef Py_ssize_t *br = _breaks(s, &nb)
    try:
        return [br[i] for i in range(nb)]
    finally:
        free(br)


cdef Py_ssize_t _bisect_left(Py_ssize_t *a, Py_ssize_t n, Py_ssize_t x):
    cdef Py_ssize_t lo = 0, hi = n, mid
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int _flag_aimed(Py_ssize_t *hs, Py_ssize_t *he, Py_ssize_t n, bint ordered, spans, str original,
                     Py_ssize_t window, unsigned char *flags) except -1:
    """Set ``flags[i]`` for each target ``[hs[i], he[i])`` that :func:`targets.aimed` returns for the offensive
    ``spans`` (same sentence as a span, within ``window`` characters of it, or overlapping it); ``ordered``: ``hs``
    is sorted."""
    cdef Py_ssize_t L = len(original)
    cdef Py_ssize_t i, nb = 0, k, j, s_lo, s_hi, lo, hi, ts, te, dist, first, last, longest = 0
    cdef Py_ssize_t *br
    for i in range(n):
        if he[i] - hs[i] > longest:
            longest = he[i] - hs[i]
    br = _breaks(original, &nb)
    try:
        for span in spans:
            lo, hi = span
            k = _bisect_left(br, nb, lo)
            s_lo = br[k - 1] + 1 if k else 0
            j = _bisect_left(br, nb, hi)
            s_hi = br[j] if j < nb else L
            if ordered:  # the targets within reach start in [lo - window - longest, hi + window]
                first = _bisect_left(hs, n, lo - window - longest)
                last = _bisect_left(hs, n, hi + window + 1)
            else:
                first, last = 0, n
            for i in range(first, last):
                ts = hs[i]
                te = he[i]
                if te <= s_lo or ts >= s_hi:
                    continue
                if ts < hi and lo < te:
                    dist = 0
                elif te <= lo:
                    dist = lo - te
                else:
                    dist = ts - hi
                if dist <= window:
                    flags[i] = 1
    finally:
        free(br)
    return 0


def aimed_flags(hits, spans, str original, Py_ssize_t window):
    """For each of ``hits`` (``.start``, ``.end``): whether :func:`targets.aimed` returns it for the offensive
    ``spans`` (same sentence as a span, within ``window`` characters of it, or overlapping it)."""
    cdef Py_ssize_t n = len(hits)
    cdef Py_ssize_t i
    cdef bint ordered = True
    if n == 0:
        return []
    cdef Py_ssize_t *hs = <Py_ssize_t *>malloc(n * sizeof(Py_ssize_t))
    cdef Py_ssize_t *he = <Py_ssize_t *>malloc(n * sizeof(Py_ssize_t))
    cdef unsigned char *flags = <unsigned char *>calloc(n, 1)
    if not hs or not he or not flags:
        free(hs); free(he); free(flags)
        raise MemoryError()
    try:
        for i in range(n):
            h = hits[i]
            hs[i] = h.start
            he[i] = h.end
            if i and hs[i] < hs[i - 1]:
                ordered = False
        _flag_aimed(hs, he, n, ordered, spans, original, window, flags)
        return [flags[i] != 0 for i in range(n)]
    finally:
        free(hs)
        free(he)
        free(flags)


# ---------------------------------------------------------------------------------------------------------------
# Objects


cdef object _object_new = object.__new__

cdef enum:
    MAX_FIELDS = 8


@cython.final
cdef class _Maker:
    """Makes instances of ``cls`` with its fields ``names`` set, as ``object.__new__(cls)`` and then
    ``object.__setattr__(obj, name, value)`` per field make them (what :func:`build` does).

    When ``cls`` is a plain slotted class (``object.__new__`` and the generic allocator, not abstract) and each
    name is a writable object slot of ``cls`` itself, the values are stored into the slots directly: what the member
    descriptors' ``__set__`` does on a fresh instance, without a lookup and a call per field. Otherwise (or when a
    descriptor has been replaced since) the objects are made through ``object.__new__`` and ``__setattr__``."""

    cdef object cls
    cdef tuple names
    cdef list descrs
    cdef PyTypeObject *tp
    cdef Py_ssize_t n
    cdef Py_ssize_t off[MAX_FIELDS]
    cdef bint fast

    def __init__(self, cls, tuple names):
        cdef Py_ssize_t k, j, off
        cdef PyTypeObject *tp
        cdef PyObject *d
        self.cls = cls
        self.names = names
        self.n = len(names)
        self.descrs = []
        self.fast = False
        if not isinstance(cls, type) or self.n > MAX_FIELDS:
            return
        tp = <PyTypeObject *>cls
        if not _plain_type(tp):
            return
        for k in range(self.n):
            name = names[k]
            if type(name) is not str:
                return
            d = _PyType_Lookup(tp, <PyObject *>name)
            off = _member_offset(tp, d)
            if off < 0:
                return
            for j in range(k):
                if self.off[j] == off:  # two names, one slot: the second store would drop the first value
                    return
            self.off[k] = off
            self.descrs.append(<object>d)
        self.tp = tp
        self.fast = True

    cdef inline bint _current(self):
        """The fast path still applies: each name still finds the member descriptor it found at first."""
        cdef Py_ssize_t k
        if not self.fast:
            return False
        for k in range(self.n):
            if _PyType_Lookup(self.tp, <PyObject *>self.names[k]) != <PyObject *>self.descrs[k]:
                return False
        return True

    cdef object _slow(self, PyObject **vals):
        cdef Py_ssize_t k
        obj = _object_new(self.cls)
        for k in range(self.n):
            PyObject_GenericSetAttr(obj, self.names[k], <object>vals[k])
        return obj


cdef dict _makers = {}
# The makers returned last, found by the identity of their class and names before the dict (whose key is a new
# tuple, hashed, on every call; a field's signals take a few makers): at most four.
cdef list _recent = []


cdef _Maker _maker(cls, tuple names):
    """The :class:`_Maker` of ``cls`` and ``names``, checked to be current (a few are kept)."""
    cdef _Maker m
    cdef Py_ssize_t i, at = -1
    for i in range(len(_recent)):
        m = <_Maker>_recent[i]
        if m.cls is cls and m.names is names:
            if m._current():
                return m
            at = i
            break
    key = (cls, names)
    m = _makers.get(key)
    if m is None or not m._current():
        m = _Maker(cls, names)
        if len(_makers) >= 32:
            _makers.clear()
        _makers[key] = m
    if at >= 0:
        _recent[at] = m
    else:
        if len(_recent) >= 4:
            del _recent[0]
        _recent.append(m)
    return m


cdef inline object _make(_Maker m, bint fast, PyObject **vals):
    if fast:
        return _slots_new(m.tp, m.off, vals, m.n)
    return m._slow(vals)


def build(cls, tuple names, list rows):
    """``[cls(*row) for row in rows]`` for a frozen, slotted dataclass ``cls`` whose ``__init__`` only stores its
    fields ``names`` (no defaults left out, no ``__post_init__``): the attributes are set as that ``__init__`` sets
    them (``object.__setattr__``), in C (see :class:`_Maker`)."""
    cdef list out = []
    cdef Py_ssize_t m = len(names)
    cdef tuple row
    cdef _Maker mk = _maker(cls, names)
    cdef bint fast = mk.fast
    rows = list(rows)  # a copy: the rows stay alive while their items are read
    for row in rows:
        if len(row) != m:
            raise TypeError(f"{cls.__name__} takes {m} fields, got {len(row)}")
        out.append(_make(mk, fast, PySequence_Fast_ITEMS(row)))
    return out


def make(cls, tuple names, tuple row):
    """``build(cls, names, [row])[0]``: one instance, without the lists."""
    cdef _Maker mk = _maker(cls, names)
    if len(row) != len(names):
        raise TypeError(f"{cls.__name__} takes {len(names)} fields, got {len(row)}")
    return _make(mk, mk.fast, PySequence_Fast_ITEMS(row))


cdef tuple _SPAN_FIELDS = ("field", "start", "end", "text")


cdef inline object _span(_Maker mk, bint fast, str field, str original, object start, object end):
    """``Span(field, start, end, original[start:end])`` made by ``mk`` (the start and end objects kept as given)."""
    cdef Py_ssize_t a = start, b = end
    text = original[a:b]
    cdef PyObject *vals[4]
    vals[0] = <PyObject *>field
    vals[1] = <PyObject *>start
    vals[2] = <PyObject *>end
    vals[3] = <PyObject *>text
    return _make(mk, fast, vals)


def spans_of(cls, str field, str original, hits):
    """``tuple(cls(field, h.start, h.end, original[h.start:h.end]) for h in hits)`` for ``domain.Span`` (see
    :func:`build`)."""
    cdef list out = []
    cdef _Maker mk = _maker(cls, _SPAN_FIELDS)
    cdef bint fast = mk.fast
    for h in hits:
        out.append(_span(mk, fast, field, original, h.start, h.end))
    return tuple(out)


def pair_spans(cls, str field, str original, pairs):
    """``tuple(cls(field, a, b, original[a:b]) for a, b in pairs)`` for ``domain.Span`` (see :func:`build`): the
    spans of an offensive result."""
    cdef list out = []
    cdef _Maker mk = _maker(cls, _SPAN_FIELDS)
    cdef bint fast = mk.fast
    for pair in pairs:
        start, end = pair
        out.append(_span(mk, fast, field, original, start, end))
    return tuple(out)


def folded_kept(list spans, list candidates):
    """Which ``candidates`` (original spans, in order) are contained in no span of ``spans`` nor of an earlier kept
    candidate: ``find_targets`` keeps a folded second-person match only outside every second-person hit so far."""
    cdef Py_ssize_t n = len(spans), m = len(candidates)
    cdef Py_ssize_t *s = <Py_ssize_t *>malloc((n + m + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t *e = <Py_ssize_t *>malloc((n + m + 1) * sizeof(Py_ssize_t))
    cdef Py_ssize_t i, k, count = 0, lo, hi
    cdef bint inside
    cdef list keep = []
    if not s or not e:
        free(s); free(e)
        raise MemoryError()
    try:
        for i in range(n):
            s[count], e[count] = spans[i]
            count += 1
        for i in range(m):
            lo, hi = candidates[i]
            inside = False
            for k in range(count):
                if s[k] <= lo and hi <= e[k]:
                    inside = True
                    break
            keep.append(not inside)
            if not inside:
                s[count] = lo
                e[count] = hi
                count += 1
    finally:
        free(s)
        free(e)
    return keep


cdef object _name_start(str group, Py_ssize_t start, not_names, surnames, leads):
    """``targets._name_start``: where the name in a match of the ``name`` pattern starts (``None``: not a name)."""
    cdef list words = group.split()
    cdef Py_ssize_t n = len(words), i = 0, j
    while i < n and words[i] in not_names:
        i += 1
    for j in range(i, n):
        if words[j] in surnames:
            if j > i and n - j >= 2:
                i = j
            break
    if n - i >= 2 or (n - i == 1 and words[0] in leads):
        return start + group.index(words[i])
    return None


def name_start(str group, Py_ssize_t start, not_names, surnames, leads):
    """:func:`_name_start` (for the tests)."""
    return _name_start(group, start, not_names, surnames, leads)


# The kinds of target_rows in the order of their names (the reference sorts its hits by (start, end, kind)).
cdef enum:
    K_DEMONSTRATIVE = 0
    K_MENTION = 1
    K_NAME = 2
    K_ORGANISATION = 3
    K_SECOND_PERSON = 4

cdef tuple _KIND_NAMES = ("demonstrative", "mention", "name", "organisation", "second_person")


cdef struct Row:
    Py_ssize_t start
    Py_ssize_t end
    int kind
    int strong


cdef int _cmp_row(const void *pa, const void *pb) noexcept nogil:
    cdef const Row *a = <const Row *>pa
    cdef const Row *b = <const Row *>pb
    if a.start != b.start:
        return -1 if a.start < b.start else 1
    if a.end != b.end:
        return -1 if a.end < b.end else 1
    if a.kind != b.kind:
        return -1 if a.kind < b.kind else 1
    return (a.strong > b.strong) - (a.strong < b.strong)


cdef inline int _put(Row *rows, Py_ssize_t *n, Py_ssize_t cap, Py_ssize_t start, Py_ssize_t end, int kind,
                     bint strong) except -1:
    if n[0] >= cap:  # a list grew during the call (a callback of ``weak`` ...): never write past ``rows``
        raise ValueError("target_rows: an argument list changed during the call")
    rows[n[0]].start = start
    rows[n[0]].end = end
    rows[n[0]].kind = kind
    rows[n[0]].strong = 1 if strong else 0
    n[0] += 1
    return 0


cdef inline tuple _match(object m, Py_ssize_t need):
    """``m`` as a tuple of at least ``need`` items (a cue match), else TypeError/ValueError."""
    cdef tuple t = <tuple?>m
    if t is None or len(t) < need:
        raise ValueError(f"target_rows: a match must be a tuple of at least {need} items")
    return t


def target_rows(list person, list person_folded, list demonstrative, list demonstrative_marked, list organisation,
                str original, weak, folded_strong, acronym_stop, not_names, surnames, leads):
    """The hits of ``targets.find_targets`` as ``(kind, start, end, strong)`` tuples in its order, from the cue
    matches (see :meth:`CueMatcher.spans`) and the patterns on the original (names as ``targets._name_start``
    trims them). The hits are C records, sorted by (start, end, kind, strong) and deduplicated: the order and
    the set of ``sorted(set_of_tuples)``, without the tuples."""
    cdef Row *rows = NULL
    cdef Py_ssize_t n, i
    n = _target_records(person, person_folded, demonstrative, demonstrative_marked, organisation, original, weak,
                        folded_strong, acronym_stop, not_names, surnames, leads, &rows)
    try:
        return _row_tuples(rows, n)
    finally:
        free(rows)


cdef list _row_tuples(const Row *rows, Py_ssize_t n):
    cdef list out = []
    cdef Py_ssize_t i
    for i in range(n):
        out.append((_KIND_NAMES[rows[i].kind], rows[i].start, rows[i].end, rows[i].strong != 0))
    return out


cdef Py_ssize_t _target_records(list person, list person_folded, list demonstrative, list demonstrative_marked,
                                list organisation, str original, weak, folded_strong, acronym_stop, not_names,
                                surnames, leads, Row **out) except -1:
    """The records of :func:`target_rows`, sorted and deduplicated, into ``out[0]`` (malloc'ed, the caller frees
    it; NULL when there are none): their count."""
    cdef tuple m
    cdef Py_ssize_t a, b, tail, i, n = 0, cap, kept_n
    cdef list spans = []
    cdef Row *rows
    out[0] = NULL
    mentions, names, acronyms = original_spans(original)
    cap = (len(person) + len(person_folded) + len(demonstrative) + len(demonstrative_marked) + len(mentions)
           + len(names) + len(organisation) + len(acronyms))
    if cap == 0:
        return 0
    rows = <Row *>malloc(cap * sizeof(Row))
    if rows == NULL:
        raise MemoryError()
    try:
        for m in person:
            m = _match(m, 5)
            _put(rows, &n, cap, m[2], m[3], K_SECOND_PERSON, m[4] not in weak)
            spans.append((m[2], m[3]))
        if person_folded:
            keep = folded_kept(spans, [(m[2], m[3]) for m in [_match(x, 5) for x in person_folded]])
            for m, kept in zip(person_folded, keep):
                if kept:
                    m = _match(m, 5)
                    _put(rows, &n, cap, m[2], m[3], K_SECOND_PERSON, m[4] in folded_strong)
        for m in demonstrative:
            m = _match(m, 4)
            _put(rows, &n, cap, m[2], m[3], K_DEMONSTRATIVE, True)
        for m in demonstrative_marked:
            m = _match(m, 4)
            _put(rows, &n, cap, m[2], m[3], K_DEMONSTRATIVE, True)
        for a, b in mentions:
            _put(rows, &n, cap, a, b, K_MENTION, True)
        for a, b in names:
            start = _name_start(original[a:b], a, not_names, surnames, leads)
            if start is not None:
                _put(rows, &n, cap, start, b, K_NAME, True)
        for m in organisation:
            m = _match(m, 4)
            tail = org_tail(original, m[3])
            if tail >= 0:
                _put(rows, &n, cap, m[2], tail, K_ORGANISATION, True)
        for a, b in acronyms:
            if original[a:b] not in acronym_stop:
                _put(rows, &n, cap, a, b, K_ORGANISATION, True)
        if n > 1:
            qsort(rows, n, sizeof(Row), _cmp_row)
        # deduplicate in place: the first of each run of equal records stays
        kept_n = 0
        for i in range(n):
            if kept_n and _cmp_row(&rows[kept_n - 1], &rows[i]) == 0:
                continue
            if kept_n != i:
                rows[kept_n] = rows[i]
            kept_n += 1
    except BaseException:
        free(rows)
        raise
    out[0] = rows
    return kept_n


def row_signals_of(tuple cue_lists, str original, tuple words, signal_cls, span_cls, tuple signal_fields,
                   str field, str text, spans, Py_ssize_t window, str detector, tuple aimed_scores,
                   tuple present_scores, bint want_rows):
    """``(row_signals(signal_cls, ..., field, text, rows, spans, ...), rows if want_rows else None)`` with ``rows =
    target_rows(*cue_lists, original, *words)``, without the row tuples (unless wanted): the target signals are
    made from the C records. ``cue_lists``: the person, folded person, demonstrative, marked demonstrative and
    organisation cue lists; ``words``: the six sets of :func:`target_rows` (weak ... leads)."""
    cdef Row *rows = NULL
    cdef Py_ssize_t n, i, k, g, count
    cdef Py_ssize_t *hs = NULL
    cdef Py_ssize_t *he = NULL
    cdef unsigned char *flags = NULL
    cdef bint ordered = True, strong, aimed
    cdef list out = [], members
    cdef object start, end, span_text  # objects: the slots of a Span hold them
    cdef _Maker mk
    cdef bint fast
    cdef PyObject *vals[4]
    if len(cue_lists) != 5 or len(words) != 6:
        raise ValueError("five cue lists and six word sets")
    if len(aimed_scores) != 2 or len(present_scores) != 2:
        raise ValueError("scores are (strong, weak) pairs")
    n = _target_records(cue_lists[0], cue_lists[1], cue_lists[2], cue_lists[3], cue_lists[4], original, words[0],
                        words[1], words[2], words[3], words[4], words[5], &rows)
    try:
        found_rows = _row_tuples(rows, n) if want_rows else None
        if n == 0:
            return out, found_rows
        mk = _maker(span_cls, _SPAN_FIELDS)
        fast = mk.fast
        hs = <Py_ssize_t *>malloc(n * sizeof(Py_ssize_t))
        he = <Py_ssize_t *>malloc(n * sizeof(Py_ssize_t))
        flags = <unsigned char *>calloc(n, 1)
        if not hs or not he or not flags:
            raise MemoryError()
        for i in range(n):
            hs[i] = rows[i].start
            he[i] = rows[i].end
            if i and hs[i] < hs[i - 1]:
                ordered = False
        if spans:
            _flag_aimed(hs, he, n, ordered, spans, text, window, flags)
        # row_signals groups the rows by (kind name, aimed) and takes the groups in key order: the kinds are
        # numbered in the order of their names, and False (not aimed) sorts first
        for k in range(5):
            for g in range(2):
                count = 0
                strong = False
                members = []
                for i in range(n):
                    if rows[i].kind != k or (flags[i] != 0) != g:
                        continue
                    count += 1
                    if rows[i].strong:
                        strong = True
                    start = rows[i].start
                    end = rows[i].end
                    span_text = text[rows[i].start:rows[i].end]
                    vals[0] = <PyObject *>field
                    vals[1] = <PyObject *>start
                    vals[2] = <PyObject *>end
                    vals[3] = <PyObject *>span_text
                    members.append(_make(mk, fast, vals))
                if not count:
                    continue
                aimed = g != 0
                kind = _KIND_NAMES[k]
                scores = aimed_scores if aimed else present_scores
                attrs = {"target_kind": kind, "strong": strong, "aimed": aimed, "count": count, "field": field}
                out.append(("target", kind, scores[0] if strong else scores[1], tuple(members), attrs, detector))
        return build(signal_cls, signal_fields, out), found_rows
    finally:
        free(rows)
        free(hs)
        free(he)
        free(flags)


@cython.boundscheck(True)  # hits and is_near are the caller's lists
def target_signals(signal_cls, span_cls, tuple signal_fields, str field, str original, list hits, list is_near,
                   str detector, tuple aimed_scores, tuple present_scores):
    """``targets._target_signals``: one ``target`` signal per (kind, aimed) group of ``hits``, in key order."""
    cdef dict grouped = {}
    cdef list group, out = []
    cdef Py_ssize_t i, n = len(hits)
    cdef bint strong
    if len(is_near) != n:
        raise ValueError("one flag per hit")
    if len(aimed_scores) != 2 or len(present_scores) != 2:
        raise ValueError("scores are (strong, weak) pairs")
    for i in range(n):
        h = hits[i]
        key = (h.kind, is_near[i])
        group = grouped.get(key)
        if group is None:
            grouped[key] = [h]
        else:
            group.append(h)
    for key, group in sorted(grouped.items()):
        kind, is_aimed = key
        strong = False
        for h in group:
            if h.strong:
                strong = True
                break
        scores = aimed_scores if is_aimed else present_scores
        attrs = {"target_kind": kind, "strong": strong, "aimed": is_aimed, "count": len(group), "field": field}
        out.append(("target", kind, scores[0] if strong else scores[1], spans_of(span_cls, field, original, group),
                    attrs, detector))
    return build(signal_cls, signal_fields, out)


def row_signals(signal_cls, span_cls, tuple signal_fields, str field, str original, list rows, spans,
                Py_ssize_t window, str detector, tuple aimed_scores, tuple present_scores):
    """``target_signals(..., hits, aimed_flags(hits, spans, original, window), ...)`` for the hits ``rows`` of
    :func:`target_rows` (``(kind, start, end, strong)`` tuples): the same signals, read from the tuples, without
    ``TargetHit`` objects."""
    rows = list(rows)  # a copy: the caller's list could change in a callback (its rows are read unchecked)
    if len(aimed_scores) != 2 or len(present_scores) != 2:
        raise ValueError("scores are (strong, weak) pairs")
    cdef Py_ssize_t n = len(rows), i
    cdef tuple row
    cdef dict grouped = {}
    cdef list group, members, out = []
    cdef bint ordered = True, strong
    cdef Py_ssize_t *hs
    cdef Py_ssize_t *he
    cdef unsigned char *flags
    cdef _Maker mk
    cdef bint fast
    cdef PyObject *vals[4]
    if n == 0:
        return []
    mk = _maker(span_cls, _SPAN_FIELDS)
    fast = mk.fast
    hs = <Py_ssize_t *>malloc(n * sizeof(Py_ssize_t))
    he = <Py_ssize_t *>malloc(n * sizeof(Py_ssize_t))
    flags = <unsigned char *>calloc(n, 1)
    if not hs or not he or not flags:
        free(hs); free(he); free(flags)
        raise MemoryError()
    try:
        for i in range(n):
            row = rows[i]
            if row is None or len(row) != 4:
                raise TypeError("a target row is (kind, start, end, strong)")
            hs[i] = row[1]
            he[i] = row[2]
            if i and hs[i] < hs[i - 1]:
                ordered = False
        if spans:
            _flag_aimed(hs, he, n, ordered, spans, original, window, flags)
        for i in range(n):
            row = rows[i]
            key = (row[0], flags[i] != 0)
            group = grouped.get(key)
            if group is None:
                grouped[key] = [row]
            else:
                group.append(row)
    finally:
        free(hs)
        free(he)
        free(flags)
    for key, group in sorted(grouped.items()):
        kind, is_aimed = key
        strong = False
        for row in group:
            if row[3]:
                strong = True
                break
        scores = aimed_scores if is_aimed else present_scores
        attrs = {"target_kind": kind, "strong": strong, "aimed": is_aimed, "count": len(group), "field": field}
        members = []
        for row in group:
            start = row[1]
            end = row[2]
            text = original[<Py_ssize_t>start:<Py_ssize_t>end]
            vals[0] = <PyObject *>field
            vals[1] = <PyObject *>start
            vals[2] = <PyObject *>end
            vals[3] = <PyObject *>text
            members.append(_make(mk, fast, vals))
        out.append(("target", kind, scores[0] if strong else scores[1], tuple(members), attrs, detector))
    return build(signal_cls, signal_fields, out)
