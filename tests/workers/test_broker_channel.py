"""The Redis transport's channel keeps one Redis client for its commands (workers/broker.py): publishes land in
their queue, no client is built per message, and a replaced pool (after a fork or a lost broker) gets a new one."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from kombu import Connection, Exchange, Queue

from tests.conftest import _require, redis_url
from workers.broker import TRANSPORT

pytestmark = [pytest.mark.redis, pytest.mark.xdist_group("shared-redis")]


@pytest.fixture
def url() -> str:
    return _require(redis_url(), "REDIS_URL")


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    built: list[int] = []
    original = redis.Redis.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", init)
    return built


@pytest.mark.parametrize("messages", [1, 50])
def test_publishes_land_in_the_queue_with_one_client(url: str, counted: list[int], messages: int) -> None:
    name = f"test-broker-{uuid.uuid4().hex[:8]}"
    queue = Queue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]
    with Connection(url, transport=TRANSPORT) as conn:
        producer = conn.Producer()
        for i in range(messages):
            producer.publish({"n": i}, exchange=queue.exchange, routing_key=name, declare=[queue])
        channel = conn.default_channel
        with channel.conn_or_acquire() as client:
            assert client.llen(name) == messages
            client.delete(name)
    assert len(counted) <= 2  # the channel's shared client (and at most one for the consumer side)


def test_a_replaced_pool_gets_a_new_client(url: str) -> None:
    with Connection(url, transport=TRANSPORT) as conn:
        channel = conn.default_channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as again:
            assert first is again
        channel._disconnect_pools()  # what kombu does after a fork
        with channel.conn_or_acquire() as second:
            assert second is not first
            assert second.connection_pool is channel.pool
            assert second.ping()
        given = redis.Redis.from_url(url)
        with channel.conn_or_acquire(given) as client:
            assert client is given
