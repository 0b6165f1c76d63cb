"""One Celery beat at a time: a lease held by the scheduling beat, so a second beat stands by and schedules nothing.

Two beats would send every periodic task twice (two sweeps, two report drafts). Orchestrators try to run one
(Kubernetes ``replicas: 1`` with ``strategy: Recreate``, a systemd unit on one VM), but a rolling update, a split
brain or an operator starting a second one by hand happens. :class:`LockedScheduler` asks for a lease on every tick
and schedules only while it holds it; a standby beat takes over within ``ttl`` seconds of the holder dying.

The lease lives where the deployment already has shared state:

* Redis (the broker, when it is Redis): ``SET key token NX PX ttl``, renewed and released by compare-and-set scripts
  so a beat never extends or deletes another beat's lease. A Redis restart loses the key; the holder takes it back
  on its next renewal (nobody else can have it sooner).
* PostgreSQL: a session-level advisory lock on a dedicated connection (lost when the connection is).
* Anything else (SQLite and the embedded broker, one machine): an exclusive ``flock`` on a file under ``var/``.

Use it with ``celery beat --scheduler workers.beat_lock:LockedScheduler`` (``moderation beat`` passes it).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any, Protocol

from celery.beat import PersistentScheduler

log = logging.getLogger(__name__)

LOCK_KEY = "moderation:beat-lock"
# Any constant 64-bit number, the same in every beat: "moderation beat" as ASCII.
ADVISORY_KEY = int.from_bytes(b"mod-beat", "big") & 0x7FFF_FFFF_FFFF_FFFF
DEFAULT_TTL_S = 30.0

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class Lease(Protocol):
    """A lock some process holds for a while; ``acquire`` takes or renews it and says whether we hold it."""

    ttl: float

    def acquire(self) -> bool: ...
    def release(self) -> None: ...


def _identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(6)}"


class RedisLease:
    """A lease in Redis, renewed before it runs out; while Redis is unreachable the holder keeps it until expiry."""

    def __init__(self, url: str, key: str = LOCK_KEY, ttl: float = DEFAULT_TTL_S) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.key = key
        self.ttl = ttl
        self.token = _identity()
        self._valid_until = 0.0

    def acquire(self) -> bool:
        started = time.monotonic()
        try:
            got = self.client.eval(_RENEW, 1, self.key, self.token, int(self.ttl * 1000))
        except Exception as exc:  # a Redis outage: no other beat can take the lease either
            log.warning("beat lock: redis unreachable (%s)", type(exc).__name__)
            return time.monotonic() < self._valid_until
        if got:
            self._valid_until = started + self.ttl
            return True
        self._valid_until = 0.0
        return False

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else None

    def release(self) -> None:
        self._valid_until = 0.0
        with contextlib.suppress(Exception):
            self.client.eval(_RELEASE, 1, self.key, self.token)


class PostgresLease:
    """A session-level advisory lock on a connection of its own; a lost connection loses the lock."""

    def __init__(self, url: str, key: int = ADVISORY_KEY, ttl: float = DEFAULT_TTL_S) -> None:
        from sqlalchemy.engine import make_url

        self.dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.key = key
        self.ttl = ttl
        self._conn: Any = None

    def acquire(self) -> bool:
        import psycopg

        try:
            if self._conn is not None:
                self._conn.execute("SELECT 1")  # still connected means still holding
                return True
            conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,)).fetchone()
            if row and row[0]:
                self._conn = conn
                return True
            conn.close()
            return False
        except psycopg.Error as exc:
            log.warning("beat lock: postgresql unreachable (%s)", type(exc).__name__)
            self._drop()
            return False

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        self._drop()


class FileLease:
    """An exclusive ``flock`` on a file: one beat per machine (the laptop and single-VM set-ups)."""

    def __init__(self, path: str | Path, ttl: float = DEFAULT_TTL_S) -> None:
        self.path = Path(path)
        self.ttl = ttl
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{_identity()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def lease_for(broker_url: str, database_url: str, var_dir: Path, ttl: float = DEFAULT_TTL_S) -> Lease:
    """Pick the lease for a deployment: Redis broker, else PostgreSQL database, else a local file."""
    if broker_url.startswith(("redis://", "rediss://")):
        return RedisLease(broker_url, ttl=ttl)
    if database_url.startswith("postgresql"):
        return PostgresLease(database_url, ttl=ttl)
    return FileLease(var_dir / "beat.lock", ttl=ttl)


class LockedScheduler(PersistentScheduler):  # type: ignore[misc]
    """Celery's default scheduler, scheduling only while this beat holds the lease (a hot standby otherwise)."""

    def __init__(self, *args: Any, lease: Lease | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lease: Lease | None = lease
        if self.lease is None:
            from moderation.config import load_settings

            settings = load_settings()
            ttl = float(os.environ.get("MODERATION_BEAT_LOCK_TTL_S", DEFAULT_TTL_S))
            self.lease = lease_for(settings.celery_broker_url, settings.database_url, settings.var_dir, ttl)
        # Renew at least three times per lease period, however far the next task is.
        current: float = self.max_interval  # type: ignore[has-type]
        self.max_interval = min(float(current), self.lease.ttl / 3)
        self.holding = False

    def tick(self, *args: Any, **kwargs: Any) -> float:
        assert self.lease is not None
        held = self.lease.acquire()
        if held != self.holding:
            log.warning("beat lock %s", "acquired: scheduling" if held else "held by another beat: standing by")
            self.holding = held
        if not held:
            return float(self.max_interval)
        return min(float(super().tick(*args, **kwargs)), float(self.max_interval))

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self.lease is not None:
                self.lease.release()
            self.holding = False
