"""A real Celery worker on each broker: the embedded SQLAlchemy transport and Redis.

Smoke only: the pipeline's behaviour is tested through the task functions in test_pipeline.py.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from moderation.web.runtime import CeleryQueue
from tests.conftest import SignedClient, _require, post_payload, redis_url
from workers.celery_app import celery_init_app, make_celery

# Both modules use the REDIS_URL server and the smoke tests flush their databases: one xdist worker runs them.
pytestmark = pytest.mark.xdist_group("shared-redis")

# Redis databases of these tests' own (the benchmarks use 11-14): a worker of one test that is still draining
# cannot take another test's messages.
REAL_WORKER_DB = {"sqlite": 1, "postgresql": 2}
ROUTING_DB = 3


def _redis_db(number: int) -> str:
    import redis

    url = f"{_require(redis_url(), 'REDIS_URL').rsplit('/', 1)[0]}/{number}"
    redis.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def broker_url(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> str:
    if request.param == "embedded":
        return f"sqla+sqlite:///{tmp_path / 'broker.db'}"
    return _redis_db(REAL_WORKER_DB["sqlite" if database_url.startswith("sqlite") else "postgresql"])


@pytest.mark.slow
def test_post_is_decided_by_a_real_worker(settings: Any, platform: Any, broker_url: str) -> None:
    from moderation.web.app import create_app

    settings = dataclasses.replace(settings, celery_broker_url=broker_url)
    celery = make_celery(settings)
    app = create_app(settings, queue=CeleryQueue(celery))
    celery_init_app(app, celery)
    import workers.tasks  # noqa: F401 - registers the tasks on the app

    api = SignedClient(app.test_client(), platform)
    with start_worker(
        celery,
        pool="solo",
        perform_ping_check=False,
        shutdown_timeout=10,
        queues=["classify", "callbacks", "maintenance"],
    ):
        sub_id = api.post("/v1/posts", post_payload()).get_json()["submission_id"]
        deadline = time.monotonic() + 30
        status: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = api.get(f"/v1/submissions/{sub_id}").get_json()
            if status["status"] == "decided":
                break
            time.sleep(0.2)
    assert status.get("status") == "decided", status
    assert status["decision"]["verdict"] == "allow"


ROUTES = [
    ("moderation.classify", "classify"),
    ("moderation.deliver", "callbacks"),
    ("moderation.sweep", "maintenance"),
    ("moderation.reports.draft_closed_periods", "reports"),
]


@pytest.mark.redis
@pytest.mark.parametrize(("task", "queue"), ROUTES)
def test_each_task_lands_in_its_own_queue_only(settings: Any, task: str, queue: str) -> None:
    """A slow callback target cannot starve classification: a task is published to its queue and to no other."""
    import redis

    from workers.celery_app import QUEUES

    url = _redis_db(ROUTING_DB)
    client = redis.Redis.from_url(url)
    celery = make_celery(dataclasses.replace(settings, celery_broker_url=url))
    try:
        celery.send_task(task, args=["x"])
        lengths = {name: client.llen(name) for name in QUEUES}
        keys = sorted(k.decode() for k in client.scan_iter())
    finally:
        client.flushdb()
        celery.close()
    # Failed once in CI (2026-12-05, 'callbacks' empty on PostgreSQL settings), not reproduced in 40 runs since:
    # the keys of the database at that moment say where the message went, if it happens again.
    assert lengths == {name: int(name == queue) for name in QUEUES}, keys
