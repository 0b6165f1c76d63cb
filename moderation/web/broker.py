"""The web process's Redis transport for Celery: kombu's, with one Redis client per channel instead of one per publish.

kombu's Redis channel wraps every publish in ``conn_or_acquire()``, which builds a new ``redis.Redis`` on the
channel's connection pool each time; with redis-py 8 the constructor alone copies ~170 response callbacks (about a
tenth of an intake request's CPU). A ``redis.Redis`` is thread-safe (each command takes a connection from the pool),
so the channel keeps one and hands it out; a new pool (after the channel reconnects) gets a new client. Everything
else (message format, routing, retries, the connection pool) is kombu's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis as kombu_redis

TRANSPORT = "moderation.web.broker:Transport"


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


def use_for(celery_app: Any) -> None:
    """Make ``celery_app`` publish through :class:`Transport` when its broker is Redis (other brokers: unchanged)."""
    url = str(celery_app.conf.broker_url or "")
    if url.startswith(("redis://", "rediss://")) and not celery_app.conf.broker_transport:
        celery_app.conf.broker_transport = TRANSPORT
