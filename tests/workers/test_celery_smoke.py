"""A real Celery worker on each broker: the embedded SQLAlchemy transport and Redis.

Smoke only: the pipeline's behaviour is tested through the task functions in test_pipeline.py.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker

from moderation.web.runtime import CeleryQueue
from tests.conftest import SignedClient, exclusive_redis_db, post_payload
from workers.celery_app import celery_init_app, make_celery

# Redis databases of these tests' own (the benchmarks use 14, the publishing test 4), each held exclusively for a
# test's run: a worker of one test that is still draining cannot take another test's messages, and no other test
# flushes a database while a message is in it.
REAL_WORKER_DB = {"sqlite": 1, "postgresql": 2}
ROUTING_DB = 3


@pytest.fixture(params=["embedded", pytest.param("redis", marks=pytest.mark.redis)])
def broker_url(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Iterator[str]:
    if request.param == "embedded":
        yield f"sqla+sqlite:///{tmp_path / 'broker.db'}"
        return
    with exclusive_redis_db(REAL_WORKER_DB["sqlite" if database_url.startswith("sqlite") else "postgresql"]) as url:
        yield url


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

    with exclusive_redis_db(ROUTING_DB) as url:
        client = redis.Redis.from_url(url)
        celery = make_celery(dataclasses.replace(settings, celery_broker_url=url))
        try:
            celery.send_task(task, args=["x"])
            lengths = {name: client.llen(name) for name in QUEUES}
        finally:
            client.close()
            celery.close()
    assert lengths == {name: int(name == queue) for name in QUEUES}


@pytest.mark.redis
def test_a_flushed_database_is_held_by_one_test_at_a_time() -> None:
    """``exclusive_redis_db`` excludes other processes (xdist workers, other runs) until its block ends."""
    import subprocess
    import sys
    import tempfile

    probe = (
        "import fcntl, sys\n"
        "handle = open(sys.argv[1], 'a')\n"
        "try:\n"
        "    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except BlockingIOError:\n"
        "    sys.exit(3)\n"
    )
    with exclusive_redis_db(ROUTING_DB):
        (lock,) = Path(tempfile.gettempdir()).glob(f"moderation-tests-redis-*-{ROUTING_DB}.lock")
        held = subprocess.run([sys.executable, "-c", probe, str(lock)], check=False).returncode
    free = subprocess.run([sys.executable, "-c", probe, str(lock)], check=False).returncode
    assert (held, free) == (3, 0)
