# cython: language_level=3
"""Inline helpers shared by the compiled modules (``cimport``-ed; nothing here is importable from Python)."""

from libc.stdint cimport int64_t


# The head of a numpy array object (numpy's ``PyArrayObject_fields``: the same first fields in numpy 1.7 to 2.x),
# read to take the data pointer of an exact ``np.ndarray`` without acquiring a buffer (a typed memoryview costs more
# than the work on a short comment). Each module checks it against numpy's own report at import
# (:func:`raw_arrays_ok`); on a mismatch every array goes through a buffer.
cdef extern from *:
    """
    typedef struct {
        PyObject_HEAD
        char *data;
        int nd;
        Py_ssize_t *dimensions;
        Py_ssize_t *strides;
        PyObject *base;
        PyObject *descr;
        int flags;
    } __mod_ndarray_head;
    """
    ctypedef struct NdHead "__mod_ndarray_head":
        char *data
        int nd
        Py_ssize_t *dimensions
        Py_ssize_t *strides
        void *base
        void *descr
        int flags


cdef inline const int64_t *int64_data(object a, Py_ssize_t *n, bint raw, object ndarray, object int64) noexcept:
    """The data of ``a`` when ``raw`` (the layout was checked) and ``a`` is an exact ``ndarray`` of one dimension,
    C-contiguous, with the dtype object ``int64`` (its length to ``n[0]``); else NULL (read it through a buffer)."""
    cdef NdHead *h
    if not raw or type(a) is not ndarray:
        return NULL
    h = <NdHead *><void *>a
    if h.nd != 1 or h.descr != <void *>int64 or not (h.flags & 1):  # 1: NPY_ARRAY_C_CONTIGUOUS
        return NULL
    n[0] = h.dimensions[0]
    return <const int64_t *>h.data


cdef inline bint raw_arrays_ok(object np, object ndarray, object int64):
    """Whether :func:`int64_data` reads numpy's arrays as numpy describes them (``np``: the numpy module)."""
    base = np.arange(12, dtype=np.int64)
    cdef Py_ssize_t n = -1
    cdef const int64_t *p
    for a in (base, base[3:9], base[5:6], base[:0]):
        p = int64_data(a, &n, True, ndarray, int64)
        if p == NULL or n != len(a) or <size_t>p != <size_t>a.__array_interface__["data"][0]:
            return False
        if n and p[0] != a[0]:
            return False
    for a in (base[::2], base.astype(np.int32), base.reshape(3, 4), base.astype(np.float64)):
        if int64_data(a, &n, True, ndarray, int64) != NULL:
            return False
    return True


cdef inline void original_span(const int64_t* st, const int64_t* en, Py_ssize_t n, Py_ssize_t start,
                               Py_ssize_t end, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """``Normalised.to_original(start, end)`` over its offset arrays ``st``/``en`` (``starts``/``ends``, each at
    least ``n`` long; ``n``: the length of the normalised text); the span goes to ``lo[0]``/``hi[0]``."""
    cdef Py_ssize_t a = start if start > 0 else 0
    cdef Py_ssize_t b
    if a > n:
        a = n
    b = end if end > a else a
    if b > n:
        b = n
    if a == b:
        if a < n:
            lo[0] = st[a]
        elif n:
            lo[0] = en[n - 1]
        else:
            lo[0] = 0
        hi[0] = lo[0]
    else:
        lo[0] = st[a]
        hi[0] = en[b - 1]
        if hi[0] < lo[0]:
            hi[0] = lo[0]
