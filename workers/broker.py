"""Kombu's Redis transport with one Redis client per channel for its commands.

Kombu's Redis channel builds a new ``redis.Redis`` client for every command it sends outside the consumer's
``BRPOP`` loop: each publish (``LPUSH``), and in a worker with ``acks_late`` each delivery's unacked bookkeeping and
each ack. The connections come from the channel's pool either way, but building a client (its table of ~170
response callbacks) cost about as much CPU as the publish itself. This channel keeps one client, built on the
channel's current pool: a pool the channel replaces (after a fork, or a lost broker) gets a new client with it.
A ``redis.Redis`` client on a connection pool is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis


class Channel(kombu_redis.Channel):
    _shared_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        shared = self._shared_client
        pool = self.pool
        if shared is None or shared.connection_pool is not pool:
            shared = self._shared_client = self._create_client()  # type: ignore[no-untyped-call]
        yield shared


class Transport(kombu_redis.Transport):
    Channel = Channel


TRANSPORT = f"{__name__}:Transport"
