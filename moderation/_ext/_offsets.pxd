# cython: language_level=3
"""Inline helpers shared by the compiled modules (``cimport``-ed; nothing here is importable from Python)."""

from libc.stdint cimport int64_t


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
