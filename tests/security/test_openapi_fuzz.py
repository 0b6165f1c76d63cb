"""schemathesis against ``/openapi.json``, in process, every request signed the way a platform signs.

Each operation of the document gets positive (schema-valid) and negative (schema-violating) cases; path parameters
are drawn from real ids of the signed platform as well as from the generator. Every response must be a non-5xx
that the document describes (status code, content type, body schema). The run is deterministic (hypothesis
``derandomize``) and sends at least ``MIN_REQUESTS`` requests; one case in ten keeps the generator's own (wrong)
authentication headers so the 401 path is fuzzed too.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from moderation.config import Settings
from moderation.signing import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, signed_headers
from tests.conftest import IN_CI, fresh_database, make_settings, pg_url
from tests.security.world import World, build_world

MIN_REQUESTS = 1000
# Requests per run, shared out evenly over the operations: two thirds schema-valid, one third schema-violating
# (operations without parameters or body have no negative cases, hence the margin over MIN_REQUESTS).
BUDGET = {GenerationMode.POSITIVE: 800, GenerationMode.NEGATIVE: 400}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
UNSIGNED_EVERY = 10


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One engine per run, to keep the run near a minute: PostgreSQL when configured (CI, production), else SQLite.

    PostgreSQL is the stricter store (it refuses NUL characters and unpaired surrogates that SQLite keeps).
    """
    return fresh_database(request, "postgresql" if pg_url() or IN_CI else "sqlite", tmp_path)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """As tests/conftest.py, but registries are re-read hourly: each fuzzed work or entity registration would
    otherwise rebuild the classifier for the next inline classification (seconds each)."""
    return make_settings(database_url, tmp_path, registries_refresh_s=3600)


def _body_bytes(kwargs: dict[str, Any]) -> bytes:
    """The exact bytes the request will carry, so the signature covers them."""
    if "json" in kwargs:
        return json.dumps(kwargs.pop("json"), ensure_ascii=False).encode()
    data = kwargs.pop("data", None)
    if data is None:
        return b""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    if isinstance(data, bytes):
        return data
    raise AssertionError(f"unexpected body for a JSON API: {type(data)}")


@dataclass
class Fuzzer:
    """Sends generated cases signed as ``world``'s platform and tallies what came back."""

    client: FlaskClient
    world: World
    sent: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)

    def fuzz(self, operation: Any, mode: GenerationMode, examples: int) -> None:
        @hypothesis_settings(
            max_examples=examples,
            derandomize=True,  # the same cases every run
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],  # no shrinking: the failure report carries a curl command
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def run(case: Any, data: st.DataObject) -> None:
            self.send(case, data)

        run()

    def send(self, case: Any, data: st.DataObject) -> None:
        for name in case.path_parameters or {}:
            if name in self.world.ids and data.draw(st.integers(0, 2), label=f"real {name}") == 0:
                case.path_parameters[name] = self.world.ids[name]
        kwargs = case.as_transport_kwargs()
        body = _body_bytes(kwargs)
        headers = kwargs.pop("headers")
        if sum(self.sent.values()) % UNSIGNED_EVERY:
            for name in (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER):
                headers.pop(name, None)
            headers.update(signed_headers(self.world.creds.key, self.world.creds.secret, body))
        response = self.client.open(data=body, headers=headers, **kwargs)
        self.sent[case.operation.label] += 1
        self.statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)


def test_openapi_fuzz(app: Flask, settings: Settings) -> None:
    fuzzer = Fuzzer(app.test_client(), build_world(app, settings, "Fuzzed platform"))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15, [op.label for op in operations]
    failures: list[str] = []
    timings: dict[str, float] = {}
    for operation in operations:
        for mode, budget in BUDGET.items():
            started = time.perf_counter()
            try:
                fuzzer.fuzz(operation, mode, -(-budget // len(operations)))
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to violate: no parameters, no body
            except (Exception, BaseExceptionGroup) as exc:  # collect every failure, then report them together
                failures.append(f"{operation.label} [{mode.value}]: {exc}"[:3000])
            timings[f"{operation.label} [{mode.value}]"] = time.perf_counter() - started

    sent, statuses = fuzzer.sent, fuzzer.statuses
    total = sum(sent.values())
    print(
        f"schemathesis: {total} requests over {len(sent)} operations in {sum(timings.values()):.1f} s; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    for label, seconds in sorted(timings.items(), key=lambda kv: -kv[1])[:3]:
        print(f"  slowest: {label} {seconds:.1f} s")
    assert not failures, "\n\n".join(failures)
    assert total >= MIN_REQUESTS, sent
    # The signed cases must get past authentication often enough for the fuzzing to mean something.
    assert sum(n for status, n in statuses.items() if status not in (401, 403)) > total // 2, statuses
