"""The web process's Celery transport on Redis: one Redis client per channel, messages exactly where kombu puts them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from moderation.config import load_settings
from moderation.web import broker
from moderation.web.runtime import CeleryQueue
from tests.conftest import exclusive_redis_db

REDIS_DB = 4  # a database of this test's own (the benchmarks use 14, the Celery smoke tests 1-3)


@pytest.fixture
def redis_db() -> Iterator[str]:
    with exclusive_redis_db(REDIS_DB) as url:
        yield url


USE_FOR = [
    # (broker URL, transport set beforehand, transport afterwards)
    ("redis://127.0.0.1:6379/0", None, broker.TRANSPORT),
    ("rediss://cache.example:6380/0", None, broker.TRANSPORT),
    ("sqla+sqlite:///var/broker.db", None, None),
    ("amqp://guest@localhost//", None, None),
    ("redis://127.0.0.1:6379/0", "redis", "redis"),  # an operator's explicit choice stays
]


@pytest.mark.parametrize(("url", "before", "after"), USE_FOR)
def test_the_transport_is_used_for_redis_brokers_only(url: str, before: str | None, after: str | None) -> None:
    from workers.celery_app import make_celery

    app = make_celery(load_settings(env={}, celery_broker_url=url, database_url="sqlite:///:memory:"))
    app.conf.broker_transport = before
    broker.use_for(app)
    assert app.conf.broker_transport == after


def test_publishes_share_one_client_and_land_in_the_queue(redis_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    from workers.celery_app import make_celery

    made: list[bool] = []  # one entry per publishing (synchronous) client created
    original = broker.Channel._create_client

    def counting(self: Any, asynchronous: bool = False) -> Any:
        if not asynchronous:
            made.append(True)
        return original(self, asynchronous)

    monkeypatch.setattr(broker.Channel, "_create_client", counting)
    app = make_celery(load_settings(env={}, celery_broker_url=redis_db, database_url="sqlite:///:memory:"))
    broker.use_for(app)
    queue = CeleryQueue(app)
    sent: list[str] = []
    for batch in (["sub_0"], [f"sub_{i}" for i in range(1, 26)], ["sub_again"]):
        queue.classify(batch)
        sent.extend(batch)
        assert len(made) <= 1  # however many messages (kombu keeps the channel in its producer pool across apps)
    assert queue.left_to_sweep == 0
    raw = redis.Redis.from_url(redis_db).lrange("classify", 0, -1)
    messages = [json.loads(m) for m in reversed(raw)]  # LPUSH: newest first
    assert [m["headers"]["task"] for m in messages] == ["moderation.classify"] * len(sent)
    assert [m["headers"]["argsrepr"] for m in messages] == [repr([i]) for i in sent]


def test_a_broker_that_is_down_leaves_the_work_to_the_sweep() -> None:
    from workers.celery_app import make_celery

    app = make_celery(
        load_settings(env={}, celery_broker_url="redis://127.0.0.1:9/0", database_url="sqlite:///:memory:")
    )
    broker.use_for(app)
    queue = CeleryQueue(app)
    queue.classify(["sub_1", "sub_2"])  # nothing listens on port 9: the breaker opens, nothing raises
    assert queue.left_to_sweep == 2


SEND_OPTIONS = [
    # (broker URL, extra send_task options): Redis routes by queue name without a declaration; AMQP needs one
    ("redis://127.0.0.1:6379/0", {"declare": []}),
    ("rediss://cache.example:6380/0", {"declare": []}),
    ("amqp://guest@localhost//", {}),
    ("sqla+sqlite:///var/broker.db", {}),
]


@pytest.mark.parametrize(("url", "options"), SEND_OPTIONS)
def test_the_per_message_declare_is_skipped_on_redis_only(url: str, options: dict[str, Any]) -> None:
    from workers.celery_app import make_celery

    app = make_celery(load_settings(env={}, celery_broker_url=url, database_url="sqlite:///:memory:"))
    assert CeleryQueue(app)._send_options == options
