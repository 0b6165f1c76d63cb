"""One beat schedules at a time: leases on Redis, PostgreSQL and a file, and the scheduler that obeys them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from tests.conftest import _require, pg_url, redis_url
from workers.beat_lock import FileLease, Lease, LockedScheduler, PostgresLease, RedisLease, lease_for


def _redis_pair(tmp_path: Path) -> tuple[Lease, Lease]:
    url = _require(redis_url(), "REDIS_URL")
    key = f"test:beat-lock:{uuid.uuid4().hex}"
    return RedisLease(url, key=key, ttl=0.5), RedisLease(url, key=key, ttl=0.5)


def _pg_pair(tmp_path: Path) -> tuple[Lease, Lease]:
    url = _require(pg_url(), "DATABASE_URL_PG")
    key = int(uuid.uuid4().int % 2**62)
    return PostgresLease(url, key=key), PostgresLease(url, key=key)


def _file_pair(tmp_path: Path) -> tuple[Lease, Lease]:
    return FileLease(tmp_path / "beat.lock"), FileLease(tmp_path / "beat.lock")


BACKENDS = [
    pytest.param(_redis_pair, id="redis", marks=pytest.mark.redis),
    pytest.param(_pg_pair, id="postgresql", marks=pytest.mark.postgres),
    pytest.param(_file_pair, id="file"),
]


@pytest.fixture(params=BACKENDS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Lease, Lease]]:
    factory: Callable[[Path], tuple[Lease, Lease]] = request.param
    first, second = factory(tmp_path)
    yield first, second
    first.release()
    second.release()


def test_one_holder_at_a_time_and_a_standby_takes_over(pair: tuple[Lease, Lease]) -> None:
    first, second = pair
    assert first.acquire()
    assert first.acquire(), "renewal by the holder"
    assert not second.acquire(), "a second beat stands by"
    first.release()
    assert second.acquire(), "the standby takes over once the holder lets go"
    assert not first.acquire()


@pytest.mark.redis
def test_a_redis_lease_runs_out_when_its_holder_dies() -> None:
    first, second = _redis_pair(Path())
    assert first.acquire()
    assert not second.acquire()
    time.sleep(0.7)  # the holder died without releasing: the key expires after its ttl
    assert second.acquire()
    assert not first.acquire(), "the old holder does not steal it back"
    assert isinstance(second, RedisLease)
    assert second.holder() == second.token
    first.release()  # releasing someone else's lease does nothing
    assert second.holder() == second.token
    second.release()


@pytest.mark.parametrize(
    ("broker", "database", "kind"),
    [
        ("redis://127.0.0.1:6379/0", "postgresql+psycopg://u@h/db", RedisLease),
        ("sqla+sqlite:///var/broker.db", "postgresql+psycopg://u@h/db", PostgresLease),
        ("sqla+sqlite:///var/broker.db", "sqlite:///var/moderation.db", FileLease),
    ],
)
def test_lease_for_picks_the_shared_store(tmp_path: Path, broker: str, database: str, kind: type) -> None:
    assert isinstance(lease_for(broker, database, tmp_path), kind)


class FakeLease:
    def __init__(self, held: bool) -> None:
        self.ttl = 3.0
        self.held = held
        self.calls = 0
        self.released = False

    def acquire(self) -> bool:
        self.calls += 1
        return self.held

    def release(self) -> None:
        self.released = True


def _scheduler(tmp_path: Path, lease: FakeLease) -> tuple[LockedScheduler, list[str]]:
    app = Celery("beat-lock-test", broker="memory://", set_as_current=False)
    app.conf.beat_schedule = {"tick": {"task": "t.tick", "schedule": 0.01}}
    sent: list[str] = []

    class Recording(LockedScheduler):
        def apply_async(self, entry: Any, producer: Any = None, advance: bool = True, **kwargs: Any) -> None:
            sent.append(entry.task)

    scheduler = Recording(app=app, schedule_filename=str(tmp_path / "schedule"), lease=lease)
    return scheduler, sent


@pytest.mark.parametrize(("held", "expect_sent"), [(True, True), (False, False)])
def test_scheduler_sends_only_while_holding_the_lease(tmp_path: Path, held: bool, expect_sent: bool) -> None:
    lease = FakeLease(held)
    scheduler, sent = _scheduler(tmp_path, lease)
    assert scheduler.max_interval <= lease.ttl / 3, "renews several times per lease period"
    for _ in range(5):
        scheduler.tick()
        time.sleep(0.02)
    assert bool(sent) == expect_sent
    assert lease.calls == 5
    scheduler.close()
    assert lease.released


def test_moderation_beat_uses_the_locked_scheduler(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from click.testing import CliRunner

    import workers.worker
    from moderation.cli.service import beat

    argv: list[list[str]] = []

    class FakeCelery:
        def start(self, args: list[str]) -> None:
            argv.append(args)

    monkeypatch.setattr(workers.worker, "build", FakeCelery)
    result = CliRunner(env={"MODERATION_VAR_DIR": str(tmp_path)}).invoke(beat, [])
    assert result.exit_code == 0, result.output
    assert "--scheduler=workers.beat_lock:LockedScheduler" in argv[0]
