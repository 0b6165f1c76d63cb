"""Log lines: JSON, scrubbed of secrets, and every %-style form the libraries use still formats."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from moderation.observability import JsonFormatter, ScrubFilter

SIG = "v1=" + "ab" * 32


@pytest.fixture
def capture() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(ScrubFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.observability")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.handlers.clear()


CASES: list[tuple[str, tuple[Any, ...], str, str | None]] = [
    # (format, args, expected message, text that must not appear)
    ("plain %s", ("text",), "plain text", None),
    ("two %s %d", ("a", 3), "two a 3", None),
    # Celery logs a task's success with one mapping argument
    (
        "Task %(name)s[%(id)s] succeeded",
        ({"name": "moderation.classify", "id": "t-1"},),
        "Task moderation.classify[t-1] succeeded",
        None,
    ),
    ("signed %s", (SIG,), "signed ***", SIG),
    ("mapping %(sig)s", ({"sig": SIG},), "mapping ***", SIG),
    ("password %(password)s", ({"password": "hunter2"},), "password ***", "hunter2"),
    ("dsn postgresql://user:pw@host/db", (), "dsn postgresql://***@host/db", "user:pw"),
]


@pytest.mark.parametrize(("fmt", "args", "expected", "absent"), CASES)
def test_formats_and_scrubs(
    capture: tuple[logging.Logger, io.StringIO], fmt: str, args: tuple[Any, ...], expected: str, absent: str | None
) -> None:
    logger, stream = capture
    logger.info(fmt, *args)
    out = stream.getvalue()
    assert "Logging error" not in out
    line = json.loads(out.strip().splitlines()[-1])
    assert line["msg"] == expected
    if absent is not None:
        assert absent not in out
