"""The compiled hot paths (``moderation/_ext``): built where CI runs, so the speed the benchmarks quote is the speed
tested. The equivalence of each compiled function with its pure-Python reference is tested next to the module
it speeds up."""

from __future__ import annotations

import os

import pytest

from moderation import _ext


def test_every_extension_is_listed_from_its_source() -> None:
    assert set(_ext.available()) == set(_ext.expected())


@pytest.mark.skipif(not os.environ.get("CI"), reason="a developer machine may lack a C compiler; CI must not")
def test_every_extension_is_built_under_ci() -> None:
    assert not _ext.missing(), f"not built (is a C compiler installed? run `make install`): {_ext.missing()}"
