"""Intake keeps accepting and storing work while the broker or the database is away, and catches up after:
the circuit breaker of the Celery queue, the sweep that re-enqueues, and 503 + Retry-After for a lost database."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import pytest

from moderation.config import Settings, load_settings
from moderation.signing import signed_headers
from moderation.store.base import utcnow
from moderation.store.db import session_scope
from moderation.store.models import Submission
from moderation.web.runtime import CeleryQueue, RecordingQueue
from tests.conftest import PlatformCreds, SignedClient, post_payload


class FlakyCelery:
    """``send_task`` that fails while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.sent: list[str] = []
        self.calls = 0

    def send_task(self, name: str, args: list[str], **_: Any) -> None:
        self.calls += 1
        if self.down:
            raise ConnectionRefusedError("broker away")
        self.sent.append(args[0])


# (step: broker down?, seconds since start, ids to send) -> (ids sent so far, send attempts so far)
BREAKER = [
    [(False, 0, ["a", "b"], ["a", "b"], 2)],
    # The first failure opens the breaker: the rest of the batch and the next calls are left to the sweep.
    [(True, 0, ["a", "b", "c"], [], 1), (True, 1, ["d"], [], 1), (False, 4, ["e"], [], 1)],
    # After the cooldown it tries again.
    [(True, 0, ["a"], [], 1), (False, 5.1, ["b"], ["b"], 2)],
    [(True, 0, ["a"], [], 1), (True, 5.1, ["b"], [], 2), (False, 9, ["c"], [], 2), (False, 10.2, ["d"], ["d"], 3)],
]


@pytest.mark.parametrize("steps", BREAKER)
def test_queue_circuit_breaker(steps: list[tuple[bool, float, list[str], list[str], int]]) -> None:
    now = [0.0]
    celery = FlakyCelery()
    queue = CeleryQueue(celery, cooldown_s=5.0, clock=lambda: now[0])
    for down, at, ids, sent, calls in steps:
        celery.down, now[0] = down, at
        queue.classify(ids)
        assert celery.sent == sent
        assert celery.calls == calls


def _signed(client: Any, creds: PlatformCreds, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", **signed_headers(creds.key, creds.secret, body)}
    return client.post("/v1/posts", data=body, headers=headers)


def test_intake_accepts_while_the_broker_is_down_and_the_sweep_catches_up(
    settings: Settings, platform: PlatformCreds
) -> None:
    from moderation.web.app import create_app
    from workers.celery_app import make_celery
    from workers.tasks import run_classify, run_sweep

    down = load_settings(
        env={},
        database_url=settings.database_url,
        var_dir=settings.var_dir,
        secret_key="k",
        log_json=False,
        rate_limit_per_minute=0,
        celery_broker_url="redis://127.0.0.1:9/0",  # nothing listens there
    )
    app = create_app(down, celery_app=make_celery(down))
    client = app.test_client()
    started = time.monotonic()
    ids = []
    for i in range(5):
        response = _signed(client, platform, post_payload(id=f"post-{i}"))
        assert response.status_code == 202, response.get_json()
        ids.append(response.get_json()["submission_id"])
    assert time.monotonic() - started < 5, "the broker outage does not slow intake down"
    with session_scope(settings.database_url) as s:
        assert {s.get(Submission, i).status for i in ids} == {"received"}  # type: ignore[union-attr]

    # The broker is back: the sweep finds the work and enqueues it; the workers decide it.
    back = RecordingQueue()
    rt = create_app(settings, queue=back).extensions["moderation"]
    assert run_sweep(rt, now=utcnow()) == {"submissions": 0, "deliveries": 0}, "not before stuck_after_s"
    later = utcnow() + dt.timedelta(seconds=settings.stuck_after_s + 1)
    assert run_sweep(rt, now=later)["submissions"] == 5
    assert sorted(back.classified) == sorted(ids)
    for sub_id in back.classified:
        assert run_classify(rt, sub_id) is not None
    with session_scope(settings.database_url) as s:
        assert {s.get(Submission, i).status for i in ids} == {"decided"}  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("method", "path", "signed"),
    [("POST", "/v1/posts", True), ("GET", "/v1/submissions/sub_x", True), ("GET", "/v1/decisions", True)],
)
def test_a_lost_database_gives_503_with_retry_after(tmp_path: Any, method: str, path: str, signed: bool) -> None:
    from moderation.web.app import create_app

    settings = load_settings(
        env={},
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1",
        var_dir=tmp_path / "var",
        secret_key="k",
        log_json=False,
    )
    app = create_app(settings, queue=RecordingQueue())
    client = SignedClient(app.test_client(), PlatformCreds("plt_x", "key_x", "secret"))
    response = client.request(method, path, post_payload() if method == "POST" else None)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "unavailable"
