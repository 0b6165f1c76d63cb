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


def test_the_compiled_offensive_model_is_in_use_wherever_it_is_built() -> None:
    # Its engine used to be turned off where numpy's exp was not the C library's (numpy's AVX-512 exp): a machine
    # with AVX-512 ran the Python path, and skipped the equivalence tests, without saying so.
    from moderation.detect.offensive import _c, default_model

    if _c is None:
        pytest.skip("moderation._ext._offensive is not built")
    assert default_model()._fast is not None
