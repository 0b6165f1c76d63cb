# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled :meth:`moderation.detect.offensive.OffensiveModel.predict` (the reference is the Python code there).

One :class:`Engine` per model holds the lazily grown tables of :class:`~moderation.detect.offensive._Weights` in C
(word ids and their 11 weight columns, bigram and trigram weights, in open-addressing hash tables, dropped and
rebuilt past the same bounds) and scores a normalised text with C loops: tokens, lexicon-hit flags, sentence
segments, logits, probabilities, spans. Every float is computed with the same IEEE operations in the same order as
the Python code (``np.add.reduceat``'s pairwise sums included), so the results are bit-identical. The only
multiplications are by exact 0.0 or 1.0, so contracting them into FMAs could not change a result either.
"""

cimport cython
from cpython.pythread cimport (
    NOWAIT_LOCK,
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_type_lock,
)
from cpython.unicode cimport PyUnicode_AsUCS4
from libc.math cimport exp
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, qsort, realloc
from libc.string cimport memcmp, memcpy, memset
from moderation._ext._offsets cimport int64_data, raw_arrays_ok

import numpy as np

cdef extern from *:
    void __builtin_prefetch(const void *addr) nogil

cdef extern from "sys/mman.h":
    int madvise(void *addr, size_t length, int advice) nogil
    void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset) nogil
    int munmap(void *addr, size_t length) nogil
    int MADV_HUGEPAGE
    int PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS
    void *MAP_FAILED

cdef extern from "Python.h":
    bint Py_UNICODE_ISSPACE(Py_UCS4 ch)
    Py_UCS4 PyUnicode_READ_CHAR(object s, Py_ssize_t index)
    object PyUnicode_FromKindAndData(int kind, const void *buffer, Py_ssize_t size)


cdef object _NDARRAY = np.ndarray
cdef object _INT64 = np.dtype(np.int64)
cdef bint _RAW = raw_arrays_ok(np, _NDARRAY, _INT64)


cdef inline const int64_t *_int64_data(object a, Py_ssize_t *n) noexcept:
    """:func:`_offsets.int64_data` with this module's check (``_RAW``): NULL means read ``a`` through a buffer."""
    return int64_data(a, n, _RAW, _NDARRAY, _INT64)


def _raw_arrays():
    """Whether the raw reads of numpy arrays (``_offsets.int64_data``) were found sound at import."""
    return _RAW


# The bounds and layout of offensive._Weights.
cdef enum:
    HUGE = 1 << 21
    # Slots of a new bigram and trigram table (address space; the kernel zeroes its pages when first touched): what a
    # worker holds after a few hundred posts (real posts bring ~100 new bigrams and trigrams each at first), so
    # the tables are not rehashed, and fresh pages zeroed, over and over while it warms up.
    PAIRS_START = 1 << 18  # 6 MB
    TRIS_START = 1 << 19  # 12 MB
    PF = 16
    PF_GRAMS = 48  # the n-gram loop's steps are short (a known trigram is one read): ask further ahead
    ROOT_TAB = 0x300
    DENSE_MAX = 1 << 22  # entries of the lexicon trie's dense edge table (8 MB); past it, the hash table only
    DENSE_NODES = 32767  # nodes the dense table's 16-bit entries can name; a larger trie uses the hash table only
    ID_BITS = 20
    VOCAB_MAX = (1 << ID_BITS) - 1
    PAIRS_MAX = 1 << 20
    MAX_WORD_CHARS = 128
    SEGMENT_TOKENS = 80
    MAX_SEGMENTS = 48
    T_SELF = 0
    T_LEX = 1
    D_SELF = 2
    D_LEX = 3
    FM1 = 4
    FP1 = 5
    FM2 = 6
    FP2 = 7
    WM1 = 8
    WP1 = 9
    M1 = 10
    NCOLS = 11

cdef uint64_t GOLDEN = 0x9E3779B97F4A7C15ULL


# ---------------------------------------------------------------------------------------------------------------
# CRC-32 (zlib's: reflected polynomial 0xEDB88320; crc(a + b) continues from crc(a))

cdef uint32_t CRC_TABLE[256]


cdef void _crc_init():
    cdef uint32_t c
    cdef int n, k
    for n in range(256):
        c = <uint32_t>n
        for k in range(8):
            if c & 1:
                c = 0xEDB88320 ^ (c >> 1)
            else:
                c = c >> 1
        CRC_TABLE[n] = c


_crc_init()


cdef inline uint32_t _crc(uint32_t crc, const uint8_t *p, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    crc = ~crc
    for i in range(n):
        crc = CRC_TABLE[(crc ^ p[i]) & 0xFF] ^ (crc >> 8)
    return ~crc


cdef inline uint32_t _crc_str(uint32_t crc, bytes s) noexcept:
    return _crc(crc, <const uint8_t *>(<char *>s), len(s))


def crc32(bytes data, uint32_t start=0):
    """``zlib.crc32(data, start)`` (for the tests)."""
    return _crc(start, <const uint8_t *>(<char *>data), len(data))


# ---------------------------------------------------------------------------------------------------------------
# numpy's summations, operation for operation


cdef double _pairwise(const double *a, Py_ssize_t n) noexcept nogil:
    """numpy's ``pairwise_sum`` of float64 (8 accumulators up to 128 values, halves above)."""
    cdef Py_ssize_t i, n2
    cdef double res
    cdef double r[8]
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[i]
        return res
    elif n <= 128:
        for i in range(8):
            r[i] = a[i]
        i = 8
        while i < n - (n % 8):
            r[0] += a[i + 0]
            r[1] += a[i + 1]
            r[2] += a[i + 2]
            r[3] += a[i + 3]
            r[4] += a[i + 4]
            r[5] += a[i + 5]
            r[6] += a[i + 6]
            r[7] += a[i + 7]
            i += 8
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        while i < n:
            res += a[i]
            i += 1
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _pairwise(a, n2) + _pairwise(a + n2, n - n2)


cdef inline double _reduce_group(const double *a, Py_ssize_t n) noexcept nogil:
    """``np.add.reduceat`` over one group of ``n`` >= 1 values: the first plus the pairwise sum of the rest."""
    cdef double out = a[0]
    if n > 1:
        out += _pairwise(a + 1, n - 1)
    return out


def reduce_group(values):
    """:func:`_reduce_group` over a list of floats (for the tests)."""
    cdef Py_ssize_t n = len(values), i
    cdef double *buf = <double *>malloc(max(n, 1) * sizeof(double))
    if buf == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            buf[i] = values[i]
        return _reduce_group(buf, n)
    finally:
        free(buf)


# ---------------------------------------------------------------------------------------------------------------
# Growable buffers


cdef void *_grow(void *p, Py_ssize_t *cap, Py_ssize_t need, size_t item) except NULL:
    cdef Py_ssize_t c = cap[0]
    cdef void *q
    if need <= c and p != NULL:
        return p
    if c < 16:
        c = 16
    while c < need:
        c *= 2
    q = realloc(p, c * item)
    if q == NULL:
        raise MemoryError()
    cap[0] = c
    return q


cdef void *_resize(void *p, size_t size) except NULL:
    cdef void *q = realloc(p, size)
    if q == NULL:
        raise MemoryError()
    return q


cdef void *_table_alloc(size_t size) except NULL:
    """Zeroed memory for a hash table (a zero key is an empty slot, so a new table needs no filling pass): from 2 MB
    up its own mapping on 2 MB boundaries, marked for huge pages (the tables are read at random; with 4 KB pages
    most reads would miss the TLB too), whose pages the kernel zeroes only when first touched. Release it with
    :func:`_table_free` of the same size."""
    cdef char *p
    cdef size_t head, span
    if size < HUGE:
        p = <char *>calloc(1, size)
        if p == NULL:
            raise MemoryError()
        return p
    size = (size + HUGE - 1) // HUGE * HUGE
    span = size + HUGE
    p = <char *>mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    if <void *>p == MAP_FAILED:
        raise MemoryError()
    # keep the 2 MB-aligned ``size`` bytes of the mapping, give back the rest
    head = (HUGE - (<size_t>p) % HUGE) % HUGE
    if head:
        munmap(p, head)
    if span - head - size:
        munmap(p + head + size, span - head - size)
    p += head
    madvise(p, size, MADV_HUGEPAGE)
    return p


cdef void _table_free(void *p, size_t size) noexcept:
    """Release a table of ``size`` bytes from :func:`_table_alloc` (NULL: nothing)."""
    if p == NULL:
        return
    if size < HUGE:
        free(p)
    else:
        munmap(p, (size + HUGE - 1) // HUGE * HUGE)


cdef struct PairSlot:
    uint64_t key  # the bigram's key + 1 (see Engine._pair); 0: empty
    float w0  # b- (token model)
    float w1  # b+ (token model)
    float w2  # B (document model)


cdef struct TriSlot:
    uint64_t key  # the trigram's key + 1 (see Engine._tri_pair); 0: empty
    float w  # t: (token model)
    # the weights of the trigram's first pair (as its PairSlot holds them), so a known trigram is one random read
    float p0
    float p1
    float p2


cdef struct WordSlot:
    # a slot of the word table, all a lookup compares (one 16-byte read) but the code points themselves
    uint64_t h  # the word's _hash_cps
    uint32_t idn  # its id | its length << 24 (length 1..MAX_WORD_CHARS, so 0: an empty slot)
    uint32_t koff  # where its code points start in Engine.keys (< VOCAB_MAX * MAX_WORD_CHARS < 2**32)


cdef struct Hit:
    int64_t lo
    int64_t hi


cdef int _cmp_hit(const void *a, const void *b) noexcept nogil:
    cdef int64_t x = (<const Hit *>a).lo, y = (<const Hit *>b).lo
    return (x > y) - (x < y)


cdef inline uint64_t _mix(uint64_t h) noexcept nogil:
    h ^= h >> 33
    h *= <uint64_t>0xFF51AFD7ED558CCD
    h ^= h >> 33
    h *= <uint64_t>0xC4CEB9FE1A85EC53
    h ^= h >> 33
    return h


cdef inline bint _same_cps(const uint32_t *a, const uint32_t *b, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if a[i] != b[i]:
            return False
    return True


cdef inline void _put_word(
    WordSlot *table, Py_ssize_t cap, uint64_t h, int32_t wid, Py_ssize_t n, int64_t koff
) noexcept nogil:
    """Put word ``wid`` (hash ``h``, ``n`` code points at ``keys + koff``) into the first free slot from its own."""
    cdef Py_ssize_t slot = <Py_ssize_t>(h & <uint64_t>(cap - 1))
    while table[slot].idn != 0:
        slot = (slot + 1) & (cap - 1)
    table[slot].h = h
    table[slot].idn = <uint32_t>wid | (<uint32_t>n << 24)
    table[slot].koff = <uint32_t>koff


cdef inline uint64_t _hash_cps(const uint32_t *p, Py_ssize_t n) noexcept nogil:
    cdef uint64_t h = <uint64_t>n * GOLDEN
    cdef Py_ssize_t i
    for i in range(n):
        h = (h ^ p[i]) * <uint64_t>0x100000001B3
        h ^= h >> 29
    return _mix(h)


@cython.final
cdef class Engine:
    """The compiled tables and scoring of one model (see the module docstring)."""

    # model
    cdef const float[::1] tok_w
    cdef const float[::1] doc_w
    cdef const float *tokp
    cdef const float *docp
    cdef uint32_t mask
    cdef bint v2, mean
    cdef double tok_b, doc_b, threshold, token_threshold, lex_prev, lex_next, empty
    cdef double lex_w[4]
    cdef const uint8_t[::1] word_chars
    cdef object fold, choose
    # the lexicon's folded forms in a trie over code points: node 0 is the root; root_tab[cp] its child for cp <
    # ROOT_TAB, the others through first_child/next_sibling lists
    cdef int32_t *first_child
    cdef int32_t *next_sibling
    cdef uint32_t *node_cp
    cdef uint8_t *terminal
    cdef Py_ssize_t nnodes, node_cap
    cdef int32_t root_tab[ROOT_TAB]
    cdef uint32_t *fcps
    cdef Py_ssize_t fcps_cap
    cdef uint64_t *edge_key  # (node << 21 | cp) + 1 of each edge below the root; 0: empty
    cdef int32_t *edge_child
    cdef Py_ssize_t edge_cap
    # the same edges for the forms' code points below ROOT_TAB in a dense table: alpha[cp] numbers such a code
    # point (0: none), dense[node * ncol + alpha[cp]] is the child (-1: none); alpha_all: every code point of the
    # forms below ROOT_TAB is numbered (so an unnumbered one has no edge anywhere)
    cdef uint8_t alpha[ROOT_TAB]
    cdef int16_t *dense  # 16 bits: half the cache lines of a walk (the table is read after other stages ran)
    cdef Py_ssize_t ncol
    cdef bint alpha_all
    # feature-name prefixes: CRC-32 of each
    cdef uint32_t p_w, p_f, p_c, p_c4, p_lex, p_lexw, p_fm1, p_fp1, p_fm2, p_fp2, p_wm1, p_wp1
    cdef uint32_t p_W, p_F, p_C, p_LEXW, p_bm, p_bp, p_B, p_t
    cdef uint32_t p_len[9]
    # words
    cdef Py_ssize_t nwords, id_cap, wcap, keys_len, keys_cap, fb_len, fb_cap
    cdef WordSlot *wslot
    cdef uint64_t *whash
    cdef int64_t *koff
    cdef int32_t *klen
    cdef uint32_t *keys
    cdef double *cols
    cdef int64_t *fboff
    cdef int32_t *fblen
    cdef uint8_t *fb
    cdef uint32_t *c_bm
    cdef uint32_t *c_bp
    cdef uint32_t *c_B
    cdef uint32_t *c_t
    cdef int32_t S, E
    # bigrams and trigrams
    cdef PairSlot *pairs
    cdef Py_ssize_t npairs, pcap
    cdef TriSlot *tris
    cdef Py_ssize_t ntris, tcap
    # per-text scratch
    cdef uint32_t *cps
    cdef Py_ssize_t cps_cap
    cdef int64_t *ts
    cdef int64_t *te
    cdef uint8_t *lexf
    cdef Py_ssize_t tok_cap
    cdef Hit *hits
    cdef Py_ssize_t hit_cap
    cdef int64_t *reach
    cdef Py_ssize_t reach_cap
    cdef int32_t *x
    cdef uint64_t *hh
    cdef double *lx
    cdef double *pw0
    cdef double *pw1
    cdef double *pw2
    cdef double *tw
    cdef double *z
    cdef double *dself
    cdef double *dbig
    cdef double *cs
    cdef double *cb
    cdef int64_t *cl
    cdef float *prob
    cdef Py_ssize_t run_cap
    cdef int64_t *pos
    cdef Py_ssize_t npos, pos_cap
    cdef int64_t *bounds
    cdef Py_ssize_t bounds_cap
    cdef int64_t *seg
    cdef Py_ssize_t nseg, seg_cap
    cdef int64_t *chosen
    cdef Py_ssize_t nchosen, chosen_cap
    cdef int64_t *sa
    cdef int64_t *sb
    cdef Py_ssize_t span_cap
    cdef double *fvals
    cdef Py_ssize_t fvals_cap
    cdef Py_ssize_t *poff
    cdef Py_ssize_t poff_cap
    cdef bint ready  # __init__ done: before it the tables and word_chars are unset (NULL)
    # held by predict, reset and word_columns: the tables and scratch buffers are shared, and predict can call back
    # into Python (the folding of a new word, the choice of segments), where another thread may run
    cdef PyThread_type_lock mutex

    def __cinit__(self):
        self.mutex = PyThread_allocate_lock()
        if self.mutex == NULL:
            raise MemoryError()
        self.wslot = NULL
        self.whash = NULL
        self.koff = NULL
        self.klen = NULL
        self.keys = NULL
        self.cols = NULL
        self.fboff = NULL
        self.fblen = NULL
        self.fb = NULL
        self.c_bm = self.c_bp = self.c_B = self.c_t = NULL
        self.pairs = NULL
        self.tris = NULL
        self.cps = NULL
        self.ts = self.te = NULL
        self.lexf = NULL
        self.hits = NULL
        self.reach = NULL
        self.x = NULL
        self.hh = NULL
        self.lx = self.pw0 = self.pw1 = self.pw2 = self.tw = self.z = self.dself = self.dbig = NULL
        self.cs = self.cb = NULL
        self.cl = NULL
        self.prob = NULL
        self.pos = NULL
        self.bounds = NULL
        self.seg = NULL
        self.chosen = NULL
        self.sa = self.sb = NULL
        self.fvals = NULL
        self.poff = NULL
        self.first_child = self.next_sibling = NULL
        self.node_cp = NULL
        self.terminal = NULL
        self.fcps = NULL
        self.node_cap = self.fcps_cap = 0
        self.edge_key = NULL
        self.edge_child = NULL
        self.edge_cap = 0
        self.dense = NULL
        self.ncol = 0
        self.alpha_all = False
        self.id_cap = self.wcap = self.keys_cap = self.fb_cap = self.pcap = self.tcap = 0
        self.cps_cap = self.tok_cap = self.hit_cap = self.reach_cap = self.run_cap = self.pos_cap = 0
        self.bounds_cap = self.seg_cap = self.chosen_cap = self.span_cap = self.fvals_cap = self.poff_cap = 0
        self.ready = False

    def __init__(
        self,
        tok_w,
        doc_w,
        uint32_t mask,
        bint v2,
        double tok_b,
        double doc_b,
        double threshold,
        double token_threshold,
        bint mean,
        lex_w,
        double lex_prev,
        double lex_next,
        double empty,
        word_chars,
        fold,
        forms,
        choose,
    ):
        """``word_chars``: the ``\\w`` table (bool per code point); ``fold``: :func:`_fold_fast`; ``forms``: the
        model lexicon's folded forms (those of ``_LexiconScanner``); ``choose``:
        :func:`choose_segments`; ``empty``: the score of a text without tokens."""
        cdef int k
        self.ready = False
        self.tok_w = np.ascontiguousarray(tok_w, dtype=np.float32)
        self.doc_w = np.ascontiguousarray(doc_w, dtype=np.float32)
        # every weight is read at (a CRC-32 & mask), unchecked
        if self.tok_w.shape[0] <= mask or self.doc_w.shape[0] <= mask:
            raise ValueError("the weight vectors must hold mask + 1 values")
        self.tokp = &self.tok_w[0]
        self.docp = &self.doc_w[0]
        self.mask = mask
        self.v2 = v2
        self.tok_b = tok_b
        self.doc_b = doc_b
        self.threshold = threshold
        self.token_threshold = token_threshold
        self.mean = mean
        for k in range(4):
            self.lex_w[k] = lex_w[k]
        self.lex_prev = lex_prev
        self.lex_next = lex_next
        self.empty = empty
        self.word_chars = np.ascontiguousarray(word_chars, dtype=bool).view(np.uint8)
        if self.word_chars.shape[0] < 0x110000:
            raise ValueError("word_chars must cover every code point")
        self.fold = fold
        self._trie(forms)
        self.choose = choose
        self.p_w = _crc_str(0, b"w:")
        self.p_f = _crc_str(0, b"f:")
        self.p_c = _crc_str(0, b"c:")
        self.p_c4 = _crc_str(0, b"c4:")
        self.p_lex = _crc_str(0, b"lex")
        self.p_lexw = _crc_str(0, b"lexw:")
        self.p_fm1 = _crc_str(0, b"f-1:")
        self.p_fp1 = _crc_str(0, b"f+1:")
        self.p_fm2 = _crc_str(0, b"f-2:")
        self.p_fp2 = _crc_str(0, b"f+2:")
        self.p_wm1 = _crc_str(0, b"w-1:")
        self.p_wp1 = _crc_str(0, b"w+1:")
        self.p_W = _crc_str(0, b"W:")
        self.p_F = _crc_str(0, b"F:")
        self.p_C = _crc_str(0, b"C:")
        self.p_LEXW = _crc_str(0, b"LEXW:")
        self.p_bm = _crc_str(0, b"b-:")
        self.p_bp = _crc_str(0, b"b+:")
        self.p_B = _crc_str(0, b"B:")
        self.p_t = _crc_str(0, b"t:")
        for k in range(9):
            self.p_len[k] = _crc_str(0, ("len:" + str(k)).encode())
        self._reset()
        self.ready = True

    def __dealloc__(self):
        if self.mutex != NULL:
            PyThread_free_lock(self.mutex)
        free(self.wslot)
        free(self.whash)
        free(self.koff)
        free(self.klen)
        free(self.keys)
        free(self.cols)
        free(self.fboff)
        free(self.fblen)
        free(self.fb)
        free(self.c_bm)
        free(self.c_bp)
        free(self.c_B)
        free(self.c_t)
        _table_free(self.pairs, self.pcap * sizeof(PairSlot))
        _table_free(self.tris, self.tcap * sizeof(TriSlot))
        free(self.cps)
        free(self.ts)
        free(self.te)
        free(self.lexf)
        free(self.hits)
        free(self.reach)
        free(self.x)
        free(self.hh)
        free(self.lx)
        free(self.pw0)
        free(self.pw1)
        free(self.pw2)
        free(self.tw)
        free(self.z)
        free(self.dself)
        free(self.dbig)
        free(self.cs)
        free(self.cb)
        free(self.cl)
        free(self.prob)
        free(self.pos)
        free(self.bounds)
        free(self.seg)
        free(self.chosen)
        free(self.sa)
        free(self.sb)
        free(self.fvals)
        free(self.poff)
        free(self.first_child)
        free(self.next_sibling)
        free(self.node_cp)
        free(self.terminal)
        free(self.fcps)
        free(self.edge_key)
        free(self.edge_child)
        free(self.dense)

    # -----------------------------------------------------------------------------------------------------------
    # Tables

    cdef int _acquire(self) except -1:
        """Take ``mutex``: at once when it is free, else waiting without the GIL (its holder may need it)."""
        if not PyThread_acquire_lock(self.mutex, NOWAIT_LOCK):
            with nogil:
                PyThread_acquire_lock(self.mutex, WAIT_LOCK)
        return 0

    def reset(self):
        """Drop the word, bigram and trigram tables (as ``_Weights.reset``): :meth:`_reset` under ``mutex``."""
        self._acquire()
        try:
            self._reset()
        finally:
            PyThread_release_lock(self.mutex)

    cdef int _reset(self) except -1:
        """Drop the word, bigram and trigram tables (as ``_Weights.reset``).

        The first call makes the tables; a later one empties them in place, keeping their sizes (they fill up again
        as before), so no allocation can fail halfway and leave slots of the dropped words behind."""
        cdef uint32_t s_key[3]
        cdef uint32_t e_key[4]
        self.nwords = 0
        self.keys_len = 0
        self.fb_len = 0
        self.npairs = 0
        self.ntris = 0
        if self.wslot == NULL:
            self._set_wcap(1024)
        else:
            memset(self.wslot, 0, self.wcap * sizeof(WordSlot))
        if self.pairs == NULL:
            self._set_pcap(PAIRS_START)
        else:
            memset(self.pairs, 0, self.pcap * sizeof(PairSlot))
        if self.tris == NULL:
            self._set_tcap(TRIS_START)
        else:
            memset(self.tris, 0, self.tcap * sizeof(TriSlot))
        s_key[0], s_key[1], s_key[2] = 60, 115, 62  # <s>
        e_key[0], e_key[1], e_key[2], e_key[3] = 60, 47, 115, 62  # </s>
        self.S = self._add_word(s_key, 3, _hash_cps(s_key, 3), "<s>")
        self.E = self._add_word(e_key, 4, _hash_cps(e_key, 4), "</s>")
        return 0

    def stats(self):
        """(words, bigrams, trigrams) in the tables."""
        return self.nwords, self.npairs, self.ntris

    cdef int _set_wcap(self, Py_ssize_t cap) except -1:
        """A word table of ``cap`` slots (a power of two) with the ``nwords`` words held."""
        cdef Py_ssize_t i
        cdef WordSlot *ws = <WordSlot *>calloc(cap, sizeof(WordSlot))
        if ws == NULL:
            raise MemoryError()
        for i in range(self.nwords):
            _put_word(ws, cap, self.whash[i], <int32_t>i, self.klen[i], self.koff[i])
        free(self.wslot)
        self.wslot = ws
        self.wcap = cap
        return 0

    cdef int _set_pcap(self, Py_ssize_t cap) except -1:
        """A bigram table of ``cap`` slots (a power of two) with the bigrams held (none after :meth:`reset`)."""
        cdef Py_ssize_t i, slot
        cdef PairSlot *old = self.pairs
        cdef Py_ssize_t old_cap = self.pcap
        cdef PairSlot *ps = <PairSlot *>_table_alloc(cap * sizeof(PairSlot))
        if self.npairs:
            for i in range(old_cap):
                if old[i].key != 0:
                    slot = self._pslot(old[i].key, cap)
                    while ps[slot].key != 0:
                        slot = (slot + 1) & (cap - 1)
                    ps[slot] = old[i]
        _table_free(old, old_cap * sizeof(PairSlot))
        self.pairs = ps
        self.pcap = cap
        return 0

    cdef int _set_tcap(self, Py_ssize_t cap) except -1:
        """A trigram table of ``cap`` slots (a power of two) with the trigrams held (none after :meth:`reset`)."""
        cdef Py_ssize_t i, slot
        cdef TriSlot *old = self.tris
        cdef Py_ssize_t old_cap = self.tcap
        cdef TriSlot *ts = <TriSlot *>_table_alloc(cap * sizeof(TriSlot))
        if self.ntris:
            for i in range(old_cap):
                if old[i].key != 0:
                    slot = self._pslot(old[i].key, cap)
                    while ts[slot].key != 0:
                        slot = (slot + 1) & (cap - 1)
                    ts[slot] = old[i]
        _table_free(old, old_cap * sizeof(TriSlot))
        self.tris = ts
        self.tcap = cap
        return 0

    cdef int _trie(self, forms) except -1:
        cdef Py_ssize_t k, i, n, cap, slot
        cdef uint64_t ekey
        cdef int32_t node, child
        cdef uint32_t cp
        for k in range(ROOT_TAB):
            self.root_tab[k] = -1
        self.nnodes = 0
        self._new_node(0)
        for form in forms:
            f = str(form)
            n = len(f)
            if not n:
                continue
            node = 0
            for i in range(n):
                cp = PyUnicode_READ_CHAR(f, i)
                child = self._child(node, cp)
                if child == -1:
                    child = self._new_node(cp)
                    if node == 0 and cp < ROOT_TAB:
                        self.root_tab[cp] = child
                    else:
                        self.next_sibling[child] = self.first_child[node]
                        self.first_child[node] = child
                node = child
            self.terminal[node] = 1
        # the edges below the root in one hash table (a walk reads one slot per character)
        cap = 64
        while cap < 4 * self.nnodes:
            cap *= 2
        self.edge_key = <uint64_t *>_resize(self.edge_key, cap * sizeof(uint64_t))
        self.edge_child = <int32_t *>_resize(self.edge_child, cap * sizeof(int32_t))
        self.edge_cap = cap
        memset(self.edge_key, 0, cap * sizeof(uint64_t))
        for k in range(1, self.nnodes):
            child = self.first_child[k]
            while child != -1:
                ekey = ((<uint64_t>k) << 21 | self.node_cp[child]) + 1
                slot = <Py_ssize_t>(_mix(ekey) & <uint64_t>(cap - 1))
                while self.edge_key[slot] != 0:
                    slot = (slot + 1) & (cap - 1)
                self.edge_key[slot] = ekey
                self.edge_child[slot] = child
                child = self.next_sibling[child]
        self._dense_edges()
        return 0

    cdef int _dense_edges(self) except -1:
        """Fill ``alpha`` and ``dense`` from the edges below the root: up to 255 code points below ROOT_TAB are
        numbered, in order of first appearance; with none, a table past DENSE_MAX entries or a trie of more than
        DENSE_NODES nodes, the hash table alone serves."""
        cdef Py_ssize_t k, size, i, count = 0
        cdef int32_t child
        cdef uint32_t cp
        memset(self.alpha, 0, ROOT_TAB)
        self.alpha_all = True
        free(self.dense)
        self.dense = NULL
        self.ncol = 0
        for k in range(1, self.nnodes):
            child = self.first_child[k]
            while child != -1:
                cp = self.node_cp[child]
                if cp < ROOT_TAB and not self.alpha[cp]:
                    if count < 255:
                        count += 1
                        self.alpha[cp] = <uint8_t>count
                    else:
                        self.alpha_all = False
                child = self.next_sibling[child]
        size = self.nnodes * (count + 1)
        if not count or size > DENSE_MAX or self.nnodes > DENSE_NODES:
            memset(self.alpha, 0, ROOT_TAB)
            self.alpha_all = False
            return 0
        self.dense = <int16_t *>malloc(size * sizeof(int16_t))
        if self.dense == NULL:
            memset(self.alpha, 0, ROOT_TAB)
            self.alpha_all = False
            raise MemoryError()
        for i in range(size):
            self.dense[i] = -1
        self.ncol = count + 1
        for k in range(1, self.nnodes):
            child = self.first_child[k]
            while child != -1:
                cp = self.node_cp[child]
                if cp < ROOT_TAB and self.alpha[cp]:
                    self.dense[k * self.ncol + self.alpha[cp]] = <int16_t>child
                child = self.next_sibling[child]
        return 0

    cdef inline int32_t _next(self, int32_t node, uint32_t cp) noexcept nogil:
        """The child of ``node`` (not the root) by ``cp``, or -1."""
        cdef uint64_t ekey
        cdef Py_ssize_t slot
        cdef uint64_t k
        if cp < ROOT_TAB:
            if self.alpha[cp]:
                return self.dense[node * self.ncol + self.alpha[cp]]
            if self.alpha_all:
                return -1
        ekey = ((<uint64_t>node) << 21 | cp) + 1
        slot = <Py_ssize_t>(_mix(ekey) & <uint64_t>(self.edge_cap - 1))
        while True:
            k = self.edge_key[slot]
            if k == ekey:
                return self.edge_child[slot]
            if k == 0:
                return -1
            slot = (slot + 1) & (self.edge_cap - 1)

    cdef int32_t _new_node(self, uint32_t cp) except -1:
        cdef Py_ssize_t k = self.nnodes, cap
        if k + 1 > self.node_cap:
            cap = self.node_cap * 2 if self.node_cap else 256
            self.first_child = <int32_t *>_resize(self.first_child, cap * sizeof(int32_t))
            self.next_sibling = <int32_t *>_resize(self.next_sibling, cap * sizeof(int32_t))
            self.node_cp = <uint32_t *>_resize(self.node_cp, cap * sizeof(uint32_t))
            self.terminal = <uint8_t *>_resize(self.terminal, cap * sizeof(uint8_t))
            self.node_cap = cap
        self.first_child[k] = -1
        self.next_sibling[k] = -1
        self.node_cp[k] = cp
        self.terminal[k] = 0
        self.nnodes += 1
        return <int32_t>k

    cdef inline int32_t _child(self, int32_t node, uint32_t cp) noexcept nogil:
        cdef int32_t c
        if node == 0 and cp < ROOT_TAB:
            return self.root_tab[cp]
        c = self.first_child[node]
        while c != -1 and self.node_cp[c] != cp:
            c = self.next_sibling[c]
        return c

    cdef inline Py_ssize_t _pslot(self, uint64_t key, Py_ssize_t cap) noexcept nogil:
        """The first slot of a bigram (trigram) table of ``cap`` slots for the stored key ``key``."""
        return <Py_ssize_t>(_mix(key * GOLDEN) & <uint64_t>(cap - 1))

    cdef int _room(self, Py_ssize_t words) except -1:
        """``_Weights.room``: clear the tables when ``words`` new words (and bigrams, trigrams) might not fit."""
        if self.nwords + words > VOCAB_MAX or self.npairs + words > PAIRS_MAX or self.ntris + words > PAIRS_MAX:
            self._reset()
        return 0

    cdef inline double _w(self, const float *table, uint32_t crc) noexcept:
        return <double>table[crc & self.mask]

    cdef int32_t _add_word(self, const uint32_t *key, Py_ssize_t n, uint64_t h, object folded) except -1:
        """Add the word of code points ``key[:n]`` (``folded``: its folded form, or None to fold it): its id, its
        weight columns (``_Weights._add_words``) and its folded form for the bigram and trigram features."""
        cdef Py_ssize_t i, slot, nb, nf, P, k, nv, cap
        cdef bytes padded
        cdef const uint8_t *p8
        cdef int32_t wid = <int32_t>self.nwords
        cdef bytes wb, fbs
        cdef const uint8_t *w8
        cdef const uint8_t *f8
        cdef double *v
        cdef double *col
        cdef uint32_t cf
        word = PyUnicode_FromKindAndData(4, key, n)
        f = self.fold(word) if folded is None else folded
        wb = word.encode("utf-8", "surrogatepass")
        fbs = f.encode("utf-8", "surrogatepass")
        nf = len(f)
        nb = len(fbs)
        w8 = <const uint8_t *>(<char *>wb)
        f8 = <const uint8_t *>(<char *>fbs)
        # grow the per-id arrays
        if wid + 1 > self.id_cap:
            cap = self.id_cap * 2 if self.id_cap else 1024
            self.whash = <uint64_t *>_resize(self.whash, cap * sizeof(uint64_t))
            self.koff = <int64_t *>_resize(self.koff, cap * sizeof(int64_t))
            self.klen = <int32_t *>_resize(self.klen, cap * sizeof(int32_t))
            self.cols = <double *>_resize(self.cols, cap * NCOLS * sizeof(double))
            self.fboff = <int64_t *>_resize(self.fboff, cap * sizeof(int64_t))
            self.fblen = <int32_t *>_resize(self.fblen, cap * sizeof(int32_t))
            self.c_bm = <uint32_t *>_resize(self.c_bm, cap * sizeof(uint32_t))
            self.c_bp = <uint32_t *>_resize(self.c_bp, cap * sizeof(uint32_t))
            self.c_B = <uint32_t *>_resize(self.c_B, cap * sizeof(uint32_t))
            self.c_t = <uint32_t *>_resize(self.c_t, cap * sizeof(uint32_t))
            self.id_cap = cap
        self.keys = <uint32_t *>_grow(self.keys, &self.keys_cap, self.keys_len + n, sizeof(uint32_t))
        self.fb = <uint8_t *>_grow(self.fb, &self.fb_cap, self.fb_len + nb, sizeof(uint8_t))
        memcpy(self.keys + self.keys_len, key, n * sizeof(uint32_t))
        self.whash[wid] = h
        self.koff[wid] = self.keys_len
        self.klen[wid] = <int32_t>n
        self.keys_len += n
        memcpy(self.fb + self.fb_len, f8, nb)
        self.fboff[wid] = self.fb_len
        self.fblen[wid] = <int32_t>nb
        self.fb_len += nb
        self.c_bm[wid] = _crc(_crc(self.p_bm, f8, nb), <const uint8_t *>b"_", 1)
        self.c_bp[wid] = _crc(_crc(self.p_bp, f8, nb), <const uint8_t *>b"_", 1)
        self.c_B[wid] = _crc(_crc(self.p_B, f8, nb), <const uint8_t *>b"_", 1)
        self.c_t[wid] = _crc(_crc(self.p_t, f8, nb), <const uint8_t *>b"_", 1)
        # character offsets of "<" + f + ">" in its UTF-8 (f's characters start at its lead bytes)
        P = nf + 2
        self.poff = <Py_ssize_t *>_grow(self.poff, &self.poff_cap, P + 1, sizeof(Py_ssize_t))
        self.poff[0] = 0
        k = 1
        for i in range(nb):
            if (f8[i] & 0xC0) != 0x80:
                self.poff[k] = 1 + i
                k += 1
        if k != nf + 1:
            raise ValueError("folded form is not valid UTF-8")
        self.poff[nf + 1] = 1 + nb
        self.poff[nf + 2] = 2 + nb
        padded = b"<" + fbs + b">"
        p8 = <const uint8_t *>(<char *>padded)
        # token model, the word's own features: w:, f:, len:, c: trigrams, c4: 4-grams (one reduceat group)
        nv = 3 + (P - 2) + ((P - 3) if self.v2 and P >= 4 else 0)
        self.fvals = <double *>_grow(self.fvals, &self.fvals_cap, nv + 8, sizeof(double))
        v = self.fvals
        v[0] = self._w(self.tokp, _crc(self.p_w, w8, len(wb)))
        v[1] = self._w(self.tokp, _crc(self.p_f, f8, nb))
        v[2] = self._w(self.tokp, self.p_len[nf if nf < 8 else 8])
        k = 3
        for i in range(P - 2):
            v[k] = self._w(self.tokp, _crc(self.p_c, p8 + self.poff[i], self.poff[i + 3] - self.poff[i]))
            k += 1
        if self.v2:
            for i in range(P - 3):
                v[k] = self._w(self.tokp, _crc(self.p_c4, p8 + self.poff[i], self.poff[i + 4] - self.poff[i]))
                k += 1
        col = self.cols + wid * NCOLS
        col[T_SELF] = _reduce_group(v, k)
        v[0] = self._w(self.tokp, self.p_lex)
        v[1] = self._w(self.tokp, _crc(self.p_lexw, f8, nb))
        col[T_LEX] = _reduce_group(v, 2)
        col[FM1] = self._w(self.tokp, _crc(self.p_fm1, f8, nb))
        col[FP1] = self._w(self.tokp, _crc(self.p_fp1, f8, nb))
        col[FM2] = self._w(self.tokp, _crc(self.p_fm2, f8, nb))
        col[FP2] = self._w(self.tokp, _crc(self.p_fp2, f8, nb))
        col[WM1] = self._w(self.tokp, _crc(self.p_wm1, w8, len(wb)))
        col[WP1] = self._w(self.tokp, _crc(self.p_wp1, w8, len(wb)))
        # document model: W:, F:, C: trigrams (one group), LEXW:
        v[0] = self._w(self.docp, _crc(self.p_W, w8, len(wb)))
        v[1] = self._w(self.docp, _crc(self.p_F, f8, nb))
        k = 2
        for i in range(P - 2):
            v[k] = self._w(self.docp, _crc(self.p_C, p8 + self.poff[i], self.poff[i + 3] - self.poff[i]))
            k += 1
        col[D_SELF] = _reduce_group(v, k)
        col[D_LEX] = self._w(self.docp, _crc(self.p_LEXW, f8, nb))
        col[M1] = col[FM1] + col[WM1]
        # into the hash table
        self.nwords += 1
        if self.nwords * 2 > self.wcap:
            self._set_wcap(self.wcap * 2)
        else:
            _put_word(self.wslot, self.wcap, h, wid, n, self.koff[wid])
        return wid

    cdef inline int32_t _word_id(self, const uint32_t *p, Py_ssize_t n) except -1:
        """The id of the word of code points ``p[:n]`` (cut at MAX_WORD_CHARS), adding it when new."""
        if n > MAX_WORD_CHARS:
            n = MAX_WORD_CHARS
        return self._word_id_h(p, n, _hash_cps(p, n))

    cdef inline int32_t _word_id_h(self, const uint32_t *p, Py_ssize_t n, uint64_t h) except -1:
        """:meth:`_word_id` of a word already cut at MAX_WORD_CHARS, ``h`` its ``_hash_cps``."""
        cdef Py_ssize_t slot
        cdef const WordSlot *s
        cdef uint32_t idn = <uint32_t>n << 24
        slot = <Py_ssize_t>(h & <uint64_t>(self.wcap - 1))
        while True:
            s = &self.wslot[slot]
            if s.idn == 0:
                return self._add_word(p, n, h, None)
            if s.h == h and (s.idn & 0xFF000000u) == idn and _same_cps(self.keys + s.koff, p, n):
                return <int32_t>(s.idn & 0xFFFFFFu)
            slot = (slot + 1) & (self.wcap - 1)

    cdef inline void _prefetch_word(self, uint64_t h) noexcept:
        """Prefetch the code points and the weight columns of the word in the first slot of hash ``h`` (the usual
        place of the word of that hash; the slot itself was asked for earlier)."""
        cdef const WordSlot *s = &self.wslot[h & <uint64_t>(self.wcap - 1)]
        cdef uint32_t wid
        if s.idn != 0:
            wid = s.idn & 0xFFFFFFu
            __builtin_prefetch(self.keys + s.koff)
            __builtin_prefetch(self.cols + wid * NCOLS)
            __builtin_prefetch(self.cols + wid * NCOLS + NCOLS - 1)

    cdef inline void _prefetch(self, const int32_t *x, Py_ssize_t i, Py_ssize_t m) noexcept:
        """Prefetch the table slot :meth:`_linear` reads first at step ``i``: the trigram from x[i + 1] (i < m, v2),
        else the pair (x[i + 1], x[i + 2])."""
        cdef uint64_t key = ((<uint64_t>x[i + 1]) << ID_BITS) | <uint64_t>x[i + 2]
        cdef const char *at
        # a 24-byte slot can straddle two cache lines: ask for both ends
        if self.v2 and i < m:
            # and the pair's slot: read when the trigram is new (a quarter of a new post's)
            at = <const char *>&self.pairs[self._pslot(key + 1, self.pcap)]
            __builtin_prefetch(at)
            __builtin_prefetch(at + sizeof(PairSlot) - 1)
            key = (key << ID_BITS) | <uint64_t>x[i + 3]
            at = <const char *>&self.tris[self._pslot(key + 1, self.tcap)]
            __builtin_prefetch(at)
            __builtin_prefetch(at + sizeof(TriSlot) - 1)
        else:
            at = <const char *>&self.pairs[self._pslot(key + 1, self.pcap)]
            __builtin_prefetch(at)
            __builtin_prefetch(at + sizeof(PairSlot) - 1)

    cdef inline PairSlot *_pair(self, int32_t a, int32_t b) except NULL:
        """The bigram (a, b)'s weights, computed when new (``_Weights._add_pairs``). Its slot holds the key
        ``(a << ID_BITS | b) + 1`` (never 0, the empty slot's)."""
        cdef uint64_t key = (((<uint64_t>a) << ID_BITS) | <uint64_t>b) + 1
        cdef Py_ssize_t slot = self._pslot(key, self.pcap)
        cdef PairSlot *s
        cdef const uint8_t *fb
        cdef Py_ssize_t n
        while True:
            s = &self.pairs[slot]
            if s.key == key:
                return s
            if s.key == 0:
                break
            slot = (slot + 1) & (self.pcap - 1)
        fb = self.fb + self.fboff[b]
        n = self.fblen[b]
        s.key = key
        s.w0 = self.tokp[_crc(self.c_bm[a], fb, n) & self.mask]
        s.w1 = self.tokp[_crc(self.c_bp[a], fb, n) & self.mask]
        s.w2 = self.docp[_crc(self.c_B[a], fb, n) & self.mask]
        self.npairs += 1
        if self.npairs * 2 > self.pcap:
            self._set_pcap(self.pcap * 2)
            return self._pair(a, b)
        return s

    cdef inline int _tri_pair(self, int32_t a, int32_t b, int32_t c, Py_ssize_t i) except -1:
        """``tw[i]``: the trigram (a, b, c)'s weight, computed when new (``_Weights._add_tris``); ``pw0..2[i]``: the
        pair (a, b)'s weights (:meth:`_pair`), kept in the trigram's slot. A trigram is added to its table only
        after its pair has been looked up (and added) and the tables are only ever dropped together, so the pairs
        added are those of a lookup at every step. Its slot holds the key ``(a << 2 * ID_BITS | b << ID_BITS | c) +
        1`` (never 0, the empty slot's)."""
        cdef uint64_t key = (((<uint64_t>a) << (2 * ID_BITS)) | ((<uint64_t>b) << ID_BITS) | <uint64_t>c) + 1
        cdef Py_ssize_t slot = self._pslot(key, self.tcap)
        cdef TriSlot *s
        cdef PairSlot *p
        cdef uint32_t crc
        while True:
            s = &self.tris[slot]
            if s.key == key:
                self.pw0[i] = <double>s.p0
                self.pw1[i] = <double>s.p1
                self.pw2[i] = <double>s.p2
                self.tw[i] = <double>s.w
                return 0
            if s.key == 0:
                break
            slot = (slot + 1) & (self.tcap - 1)
        p = self._pair(a, b)  # may move the pair table, not this one
        crc = _crc(self.c_t[a], self.fb + self.fboff[b], self.fblen[b])
        crc = _crc(crc, <const uint8_t *>b"_", 1)
        crc = _crc(crc, self.fb + self.fboff[c], self.fblen[c])
        s.key = key
        s.w = self.tokp[crc & self.mask]
        s.p0 = p.w0
        s.p1 = p.w1
        s.p2 = p.w2
        self.pw0[i] = <double>s.p0
        self.pw1[i] = <double>s.p1
        self.pw2[i] = <double>s.p2
        self.tw[i] = <double>s.w
        self.ntris += 1
        if self.ntris * 2 > self.tcap:
            self._set_tcap(self.tcap * 2)
        return 0

    def word_columns(self, str word):
        """The 11 weight columns of ``word`` (as ``_Weights.cols[_Weights.word_ids([word])[0]]``), for the tests."""
        cdef Py_ssize_t n = len(word)
        cdef uint32_t *buf
        cdef int32_t wid
        if not self.ready:
            raise RuntimeError("Engine.__init__ was not called")
        buf = <uint32_t *>malloc((n + 1) * sizeof(uint32_t))
        if buf == NULL:
            raise MemoryError()
        self._acquire()
        try:
            PyUnicode_AsUCS4(word, <Py_UCS4 *>buf, n + 1, 0)
            self._room(8)
            wid = self._word_id(buf, n)
            return [self.cols[wid * NCOLS + k] for k in range(NCOLS)]
        finally:
            PyThread_release_lock(self.mutex)
            free(buf)

    # -----------------------------------------------------------------------------------------------------------
    # Scoring

    cdef int _run_buffers(self, Py_ssize_t m) except -1:
        """Scratch arrays for a run of ``m`` tokens scored (``m + 4`` with context)."""
        cdef Py_ssize_t need = m + 8, cap
        if need <= self.run_cap:
            return 0
        cap = self.run_cap
        self.x = <int32_t *>_grow(self.x, &cap, need, sizeof(int32_t))
        cap = self.run_cap
        self.hh = <uint64_t *>_grow(self.hh, &cap, need, sizeof(uint64_t))
        cap = self.run_cap
        self.lx = <double *>_grow(self.lx, &cap, need, sizeof(double))
        cap = self.run_cap
        self.pw0 = <double *>_grow(self.pw0, &cap, need, sizeof(double))
        cap = self.run_cap
        self.pw1 = <double *>_grow(self.pw1, &cap, need, sizeof(double))
        cap = self.run_cap
        self.pw2 = <double *>_grow(self.pw2, &cap, need, sizeof(double))
        cap = self.run_cap
        self.tw = <double *>_grow(self.tw, &cap, need, sizeof(double))
        cap = self.run_cap
        self.z = <double *>_grow(self.z, &cap, need, sizeof(double))
        cap = self.run_cap
        self.dself = <double *>_grow(self.dself, &cap, need, sizeof(double))
        cap = self.run_cap
        self.dbig = <double *>_grow(self.dbig, &cap, need, sizeof(double))
        cap = self.run_cap
        self.cs = <double *>_grow(self.cs, &cap, need, sizeof(double))
        cap = self.run_cap
        self.cb = <double *>_grow(self.cb, &cap, need, sizeof(double))
        cap = self.run_cap
        self.cl = <int64_t *>_grow(self.cl, &cap, need, sizeof(int64_t))
        cap = self.run_cap
        self.prob = <float *>_grow(self.prob, &cap, need, sizeof(float))
        self.run_cap = cap
        return 0

    cdef int _linear(self, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t left, Py_ssize_t right, bint has_lex) except -1:
        """``_Weights.linear`` (and ``linear_short``, the same operations) over tokens ``lo:hi`` of the text, of which
        ``left``/``right`` are context: fills ``z`` (token logits without the intercept), ``dself``, ``dbig`` and
        ``prob`` (``_token_probs``) for the ``m = hi - lo - left - right`` tokens scored."""
        cdef Py_ssize_t m = hi - lo - left - right, nx = m + 4, i, j, k
        cdef const double *c0
        cdef const double *c1
        cdef const double *c2
        cdef const double *c3
        cdef const double *c4
        cdef PairSlot *p
        cdef double zz, ds, lxi
        cdef int32_t *x
        self._run_buffers(m)
        self._room(3 * (hi - lo) + 8)
        x = self.x
        j = 0
        for i in range(2 - left):
            x[j] = self.S
            j += 1
        # The word table is read at random (and the normaliser ran in between): hash every word first, then look
        # them up with the table slot of the word PF ahead and the entry of the word PF // 2 ahead asked for.
        for i in range(lo, hi):
            k = self.te[i] - self.ts[i]
            self.hh[i - lo] = _hash_cps(self.cps + self.ts[i], k if k < MAX_WORD_CHARS else MAX_WORD_CHARS)
        for i in range(PF if PF < hi - lo else hi - lo):
            __builtin_prefetch(&self.wslot[self.hh[i] & <uint64_t>(self.wcap - 1)])
        for i in range(lo, hi):
            if i + PF < hi:
                __builtin_prefetch(&self.wslot[self.hh[i + PF - lo] & <uint64_t>(self.wcap - 1)])
            if i + PF // 2 < hi:
                self._prefetch_word(self.hh[i + PF // 2 - lo])
            k = self.te[i] - self.ts[i]
            x[j] = self._word_id_h(self.cps + self.ts[i], k if k < MAX_WORD_CHARS else MAX_WORD_CHARS, self.hh[i - lo])
            j += 1
        for i in range(2 - right):
            x[j] = self.E
            j += 1
        if has_lex:
            for i in range(nx):
                self.lx[i] = 0.0
            for i in range(lo, hi):
                self.lx[2 - left + i - lo] = 1.0 if self.lexf[i] else 0.0
        # The bigram and trigram tables are large (random reads miss the cache): ask for the slots PF_GRAMS ahead.
        for i in range(PF_GRAMS if PF_GRAMS < m + 1 else m + 1):
            self._prefetch(x, i, m)
        for i in range(m + 1):  # pw[i]: the pair (x[i + 1], x[i + 2]); tw[i]: the trigram from x[i + 1]
            if i + PF_GRAMS <= m:
                self._prefetch(x, i + PF_GRAMS, m)
            # a known trigram's slot holds its pair's weights too: one read (prefetched PF steps ago) for both
            if self.v2 and i < m:
                self._tri_pair(x[i + 1], x[i + 2], x[i + 3], i)
            else:
                p = self._pair(x[i + 1], x[i + 2])
                self.pw0[i] = <double>p.w0
                self.pw1[i] = <double>p.w1
                self.pw2[i] = <double>p.w2
        for i in range(m):
            if i + PF < m:  # the weight columns of the word entering the window PF steps on (read long ago)
                __builtin_prefetch(self.cols + x[i + 4 + PF] * NCOLS)
                __builtin_prefetch(self.cols + x[i + 4 + PF] * NCOLS + NCOLS - 1)
            c0 = self.cols + x[i] * NCOLS
            c1 = self.cols + x[i + 1] * NCOLS
            c2 = self.cols + x[i + 2] * NCOLS
            c3 = self.cols + x[i + 3] * NCOLS
            c4 = self.cols + x[i + 4] * NCOLS
            if has_lex:
                lxi = self.lx[i + 2]
                zz = c2[T_SELF] + lxi * c2[T_LEX]
                ds = c2[D_SELF] + lxi * c2[D_LEX]
            else:
                zz = c2[T_SELF]
                ds = c2[D_SELF]
            zz = zz + ((c1[M1] + c3[FP1]) + c3[WP1])
            zz = zz + (c0[FM2] + c4[FP2])
            zz = zz + (self.pw0[i] + self.pw1[i + 1])
            if has_lex:
                zz = zz + (self.lx[i + 1] * self.lex_prev + self.lx[i + 3] * self.lex_next)
            if self.v2:
                zz = zz + self.tw[i]
            self.z[i] = zz
            self.dself[i] = ds
            self.dbig[i] = self.pw2[i] * (1.0 if x[i + 1] != self.S else 0.0)
            # _token_probs: clip, negate, exp, + 1, invert, float32
            zz = zz + self.tok_b
            if zz < -500.0:
                zz = -500.0
            if zz > 500.0:
                zz = 500.0
            zz = -zz
            zz = exp(zz)
            zz = zz + 1.0
            self.prob[i] = <float>(1.0 / zz)
        return 0

    cdef inline double _sigmoid(self, double zz) noexcept:
        if zz < -500.0:
            zz = -500.0
        if zz > 500.0:
            zz = 500.0
        return 1.0 / (1.0 + exp(-zz))

    cdef int _add_pos(self, Py_ssize_t m, Py_ssize_t base) except -1:
        cdef Py_ssize_t i
        self.pos = <int64_t *>_grow(self.pos, &self.pos_cap, self.npos + m, sizeof(int64_t))
        for i in range(m):
            if <double>self.prob[i] >= self.token_threshold:
                self.pos[self.npos] = base + i
                self.npos += 1
        return 0

    cdef double _one_segment(self, Py_ssize_t total, bint has_lex) except? -1.0:
        """``OffensiveModel._one_segment`` (with ``_Weights.linear_short``) over the whole text."""
        cdef Py_ssize_t i, nlex = 0
        cdef double s_self = 0.0, s_big = 0.0, d_big0, zz, doc
        cdef float tmax
        self._linear(0, total, 0, 0, has_lex)
        for i in range(total):
            if i:
                s_self = s_self + self.dself[i]
                s_big = s_big + self.dbig[i]
            else:
                s_self = self.dself[i]
                s_big = self.dbig[i]
        d_big0 = self.pw2[0] * 0.0
        zz = s_self - 0.0 + s_big - d_big0 + self.doc_b
        if has_lex:
            for i in range(total):
                nlex += self.lexf[i]
        zz += self.lex_w[nlex if nlex < 3 else 3]
        doc = self._sigmoid(zz)
        if self.mean:
            tmax = self.prob[0]
            for i in range(1, total):
                if self.prob[i] > tmax:
                    tmax = self.prob[i]
            doc = (doc + <double>tmax) / 2.0
        self._add_pos(total, 0)
        return doc if doc > 0.0 else 0.0

    cdef double _segments(self, Py_ssize_t total, bint has_lex) except? -1.0:
        """``OffensiveModel._segments`` over the chosen segments (``self.chosen``, sorted, ``nchosen`` of them)."""
        cdef double best = 0.0, zz, doc, dmax
        cdef Py_ssize_t r = 0, a, b, lo, hi, m, k, nb, i, j, s, t, nl
        cdef float tmax
        while r < self.nchosen:
            # a run of adjacent chosen segments
            a = self.chosen[2 * r]
            b = self.chosen[2 * r + 1]
            k = r + 1
            while k < self.nchosen and self.chosen[2 * k] == b:
                b = self.chosen[2 * k + 1]
                k += 1
            lo = a - 2 if a >= 2 else 0
            hi = b + 2 if b + 2 <= total else total
            self._linear(lo, hi, a - lo, hi - b, has_lex)
            m = b - a
            self.cs[0] = 0.0
            self.cb[0] = 0.0
            self.cl[0] = 0
            for i in range(m):
                if i:
                    self.cs[i + 1] = self.cs[i] + self.dself[i]
                    self.cb[i + 1] = self.cb[i] + self.dbig[i]
                else:
                    self.cs[1] = self.dself[0]
                    self.cb[1] = self.dbig[0]
                self.cl[i + 1] = self.cl[i] + (self.lexf[a + i] if has_lex else 0)
            dmax = 0.0
            for s in range(r, k):
                i = self.chosen[2 * s] - a
                j = self.chosen[2 * s + 1] - a
                zz = self.cs[j] - self.cs[i] + self.cb[j] - self.cb[i + 1] + self.doc_b
                nl = self.cl[j] - self.cl[i]
                zz += self.lex_w[nl if nl < 3 else 3]
                doc = self._sigmoid(zz)
                if self.mean:
                    tmax = self.prob[i]
                    for t in range(i + 1, j):
                        if self.prob[t] > tmax:
                            tmax = self.prob[t]
                    doc = (doc + <double>tmax) / 2.0
                if s == r or doc > dmax:
                    dmax = doc
            if dmax > best:
                best = dmax
            self._add_pos(m, a)
            r = k
        return best

    cdef int _tokens(self, str text) except -1:
        """Copy ``text``'s code points to ``cps`` and cut its ``\\w+`` tokens into ``ts``/``te``; the token count."""
        cdef Py_ssize_t n = len(text), i, k = 0, cap
        cdef const uint8_t *wc = &self.word_chars[0]
        cdef uint32_t *cp
        cdef bint inside = False
        self.cps = <uint32_t *>_grow(self.cps, &self.cps_cap, n + 1, sizeof(uint32_t))
        if n:
            PyUnicode_AsUCS4(text, <Py_UCS4 *>self.cps, n + 1, 0)
        cp = self.cps
        # at most one token per two characters, plus one
        if n // 2 + 2 > self.tok_cap:
            cap = self.tok_cap
            self.ts = <int64_t *>_grow(self.ts, &cap, n // 2 + 2, sizeof(int64_t))
            cap = self.tok_cap
            self.te = <int64_t *>_grow(self.te, &cap, n // 2 + 2, sizeof(int64_t))
            cap = self.tok_cap
            self.lexf = <uint8_t *>_grow(self.lexf, &cap, n // 2 + 2, sizeof(uint8_t))
            self.tok_cap = cap
        for i in range(n):
            if wc[cp[i]]:
                if not inside:
                    self.ts[k] = i
                    inside = True
            elif inside:
                self.te[k] = i
                k += 1
                inside = False
        if inside:
            self.te[k] = n
            k += 1
        return k

    cdef Py_ssize_t _hits(self, str folded, const int64_t *starts, const int64_t *ends) except -1:
        """``_LexiconScanner.hits_short``: the whole-syllable occurrences of a lexicon form in ``folded`` (no word
        character right before or after) as original (lo, hi), sorted by lo into ``self.hits``; their count.

        Hyperscan reports every occurrence of every form and the Python code keeps the whole-syllable ones; the
        trie walks only from positions after a non-word character and keeps the same ones.
        """
        cdef Py_ssize_t size = len(folded), s, e, nh = 0
        cdef const uint8_t *wc = &self.word_chars[0]
        cdef uint32_t *f
        cdef int32_t node
        cdef int64_t lo, hi
        if not size or self.nnodes < 2:
            return 0
        self.fcps = <uint32_t *>_grow(self.fcps, &self.fcps_cap, size + 1, sizeof(uint32_t))
        PyUnicode_AsUCS4(folded, <Py_UCS4 *>self.fcps, size + 1, 0)
        f = self.fcps
        for s in range(size):
            if s and wc[f[s - 1]]:
                continue
            node = self._child(0, f[s])
            e = s + 1
            while node != -1:
                if self.terminal[node] and (e == size or not wc[f[e]]):
                    lo = starts[s]
                    hi = ends[e - 1]
                    self.hits = <Hit *>_grow(self.hits, &self.hit_cap, nh + 1, sizeof(Hit))
                    self.hits[nh].lo = lo
                    self.hits[nh].hi = hi if hi > lo else lo
                    nh += 1
                if e == size:
                    break
                node = self._next(node, f[e])
                e += 1
        if nh > 1:
            qsort(self.hits, nh, sizeof(Hit), _cmp_hit)
        return nh

    cdef int _flag_tokens(self, Py_ssize_t ntok, Py_ssize_t nh, const int64_t *starts, const int64_t *ends) except -1:
        """``_overlapping``: flag the tokens whose original span overlaps a hit."""
        cdef Py_ssize_t k, a, b, before, mid
        cdef int64_t lo, hi, r
        cdef int64_t *reach
        self.reach = <int64_t *>_grow(self.reach, &self.reach_cap, nh, sizeof(int64_t))
        reach = self.reach
        for k in range(nh):
            r = self.hits[k].hi
            if k and reach[k - 1] > r:
                r = reach[k - 1]
            reach[k] = r
        for k in range(ntok):
            lo = starts[self.ts[k]]
            hi = ends[self.te[k] - 1]
            if hi < lo:
                hi = lo
            # before: the hits starting before hi (bisect_left)
            a = 0
            b = nh
            while a < b:
                mid = (a + b) >> 1
                if self.hits[mid].lo < hi:
                    a = mid + 1
                else:
                    b = mid
            before = a
            self.lexf[k] = 1 if before > 0 and reach[before - 1] > lo else 0
        return 0

    cdef int _pack(self, Py_ssize_t n) except -1:
        """``_pack(_sentence_starts(text, ...), n, SEGMENT_TOKENS)`` into ``self.seg``: a gap between two tokens that
        holds one of ``.!?;:`` or a line break starts a sentence."""
        cdef Py_ssize_t k, i, nst = 0, lo, j, cut
        cdef uint32_t ch
        cdef int64_t *st
        self.bounds = <int64_t *>_grow(self.bounds, &self.bounds_cap, n + 2, sizeof(int64_t))
        st = self.bounds
        st[nst] = 0
        nst += 1
        for k in range(1, n):
            for i in range(self.te[k - 1], self.ts[k]):
                ch = self.cps[i]
                if ch == 46 or ch == 33 or ch == 63 or ch == 59 or ch == 58 or ch == 10:
                    st[nst] = k
                    nst += 1
                    break
        st[nst] = n
        nst += 1
        self.nseg = 0
        lo = 0
        j = 0  # st[j] <= lo + SEGMENT_TOKENS < st[j + 1] is searched from the last position on
        while lo < n:
            while j + 1 < nst and st[j + 1] <= lo + SEGMENT_TOKENS:
                j += 1
            if st[j] <= lo + SEGMENT_TOKENS and st[j] > lo:
                cut = st[j]
            else:
                cut = lo + SEGMENT_TOKENS
            self.seg = <int64_t *>_grow(self.seg, &self.seg_cap, 2 * self.nseg + 2, sizeof(int64_t))
            self.seg[2 * self.nseg] = lo
            self.seg[2 * self.nseg + 1] = cut if cut < n else n
            self.nseg += 1
            lo = cut
        return 0

    cdef tuple _merge(self, const int64_t *starts, const int64_t *ends):
        """``_merge``: join runs of positive tokens separated only by whitespace; original spans, merged."""
        cdef Py_ssize_t k, ns = 0, idx, prev = -2, g, cap
        cdef int64_t a, b, lo, hi, olo = 0, ohi = 0
        cdef bint blank, have = False
        cap = self.span_cap
        self.sa = <int64_t *>_grow(self.sa, &cap, self.npos, sizeof(int64_t))
        cap = self.span_cap
        self.sb = <int64_t *>_grow(self.sb, &cap, self.npos, sizeof(int64_t))
        self.span_cap = cap
        for k in range(self.npos):
            idx = self.pos[k]
            a = self.ts[idx]
            b = self.te[idx]
            if ns and idx == prev + 1:
                blank = True
                for g in range(self.sb[ns - 1], a):
                    if not Py_UNICODE_ISSPACE(self.cps[g]):
                        blank = False
                        break
            else:
                blank = False
            if blank:
                self.sb[ns - 1] = b
            else:
                self.sa[ns] = a
                self.sb[ns] = b
                ns += 1
            prev = idx
        out = []
        for k in range(ns):
            lo = starts[self.sa[k]]
            hi = ends[self.sb[k] - 1]
            if hi < lo:
                hi = lo
            if have and lo <= ohi:
                if hi > ohi:
                    ohi = hi
            elif hi > lo:
                if have:
                    out.append((olo, ohi))
                olo, ohi = lo, hi
                have = True
        if have:
            out.append((olo, ohi))
        return tuple(out)

    def predict(self, str text, str folded, starts, ends):
        """``OffensiveModel.predict`` of a normalised text (``text``, ``folded``, ``starts``, ``ends`` of its
        :class:`Normalised`): ``(score, spans, flagged, (segments scored, segments))``. Thread-safe: one call at a
        time runs (the others wait for ``mutex``)."""
        if not self.ready:
            raise RuntimeError("Engine.__init__ was not called")
        self._acquire()
        try:
            return self._predict(text, folded, starts, ends)
        finally:
            PyThread_release_lock(self.mutex)

    cdef tuple _predict(self, str text, str folded, starts, ends):
        """:meth:`predict`, ``mutex`` held."""
        cdef Py_ssize_t total, nh, k
        cdef bint has_lex
        cdef double best
        cdef const int64_t *st
        cdef const int64_t *en
        cdef Py_ssize_t nst = 0, nen = 0
        cdef const int64_t[::1] st_view
        cdef const int64_t[::1] en_view
        cdef int64_t nsegs
        if not self.ready:
            raise RuntimeError("Engine.__init__ was not called")
        total = self._tokens(text)
        if not total:
            return self.empty, (), self.empty >= self.threshold, (1, 1)
        st = _int64_data(starts, &nst)
        en = _int64_data(ends, &nen)
        if st == NULL or en == NULL:  # not 1-d contiguous numpy int64 arrays: through a buffer (or a copy)
            try:
                st_view = starts
                en_view = ends
            except (TypeError, ValueError):
                st_view = np.ascontiguousarray(starts, dtype=np.int64)
                en_view = np.ascontiguousarray(ends, dtype=np.int64)
            nst = st_view.shape[0]
            nen = en_view.shape[0]
            st = &st_view[0] if nst > 0 else NULL
            en = &en_view[0] if nen > 0 else NULL
        # The loops below read starts/ends at every position of text and folded without bounds checks: a map shorter
        # than the text, or a folded form of another length, would be read past its end.
        if len(folded) != len(text) or nst < len(text) or nen < len(text):
            raise ValueError("folded, starts and ends must be as long as text")
        nh = self._hits(folded, st, en)
        has_lex = nh > 0
        if has_lex:
            self._flag_tokens(total, nh, st, en)
        self.npos = 0
        if total <= SEGMENT_TOKENS:
            best = self._one_segment(total, has_lex)
            nsegs = 1
            self.nchosen = 1
        else:
            self._pack(total)
            nsegs = self.nseg
            if self.nseg <= MAX_SEGMENTS:
                self.chosen = <int64_t *>_grow(self.chosen, &self.chosen_cap, 2 * self.nseg, sizeof(int64_t))
                memcpy(self.chosen, self.seg, 2 * self.nseg * sizeof(int64_t))
                self.nchosen = self.nseg
            else:
                segs = [(self.seg[2 * k], self.seg[2 * k + 1]) for k in range(self.nseg)]
                lex_all = np.zeros(total, dtype=bool)
                if has_lex:
                    lex_all[:] = np.asarray(<uint8_t[:total]>self.lexf, dtype=bool)
                picked = self.choose(segs, lex_all, text)
                self.nchosen = len(picked)
                self.chosen = <int64_t *>_grow(self.chosen, &self.chosen_cap, 2 * self.nchosen, sizeof(int64_t))
                for k, (sa, sb) in enumerate(picked):
                    self.chosen[2 * k] = sa
                    self.chosen[2 * k + 1] = sb
            best = self._segments(total, has_lex)
        spans = self._merge(st, en) if self.npos else ()
        return best, spans, best >= self.threshold, (self.nchosen, nsegs)
