"""Compiled hot paths (Cython), built by ``pip install`` (``make install``) from the ``*.pyx`` files here.

Each extension module is the speed-up of one pure-Python function set elsewhere in the package, which stays the
reference: the caller imports the compiled module when it was built and falls back to its Python code when it was
not (a machine without a C compiler still installs and runs the service, only slower). Both paths give the same
results, which the tests check case by case and with hypothesis; ``tests/unit/test_compiled.py`` fails under CI when
an extension did not build. Every module has a ``.pyi`` stub for mypy.
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["available", "expected", "missing"]


def expected() -> list[str]:
    """Names of the extension modules this checkout defines (one per ``.pyx`` file)."""
    return sorted(p.stem for p in Path(__file__).parent.glob("*.pyx"))


def available() -> dict[str, bool]:
    """Whether each extension module is built and importable here."""
    out: dict[str, bool] = {}
    for name in expected():
        try:
            importlib.import_module(f"{__name__}.{name}")
        except ImportError:
            out[name] = False
        else:
            out[name] = True
    return out


def missing() -> list[str]:
    """The extension modules that are not built here (their callers run the slower pure-Python code)."""
    return [name for name, ok in available().items() if not ok]
