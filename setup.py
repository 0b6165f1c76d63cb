"""Build the compiled hot paths in ``moderation/_ext`` (Cython); everything else is in ``pyproject.toml``.

The extensions are optional: where no C compiler is available the install goes on without them and the package
runs its pure-Python code paths (same results, slower). ``tests/unit/test_compiled.py`` fails under CI when one
did not build.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent


def extensions() -> list[Extension]:
    sources = sorted((HERE / "moderation" / "_ext").glob("*.pyx"))
    if not sources:
        return []
    from Cython.Build import cythonize

    modules = [
        Extension(
            f"moderation._ext.{p.stem}",
            [str(p.relative_to(HERE))],
            optional=True,
            extra_compile_args=["-O2"],
        )
        for p in sources
    ]
    built = cythonize(
        modules,
        language_level=3,
        compiler_directives={"boundscheck": False, "wraparound": False, "cdivision": True, "initializedcheck": False},
        quiet=True,
    )
    for ext in built:  # cythonize makes new Extension objects without the flag
        ext.optional = True
    return built


setup(ext_modules=extensions())
