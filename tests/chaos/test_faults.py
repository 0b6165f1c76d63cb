"""Fault tolerance, proven on the real processes: killed workers, a restarted broker, a restarted database, and a
callback target that stays down. Every submission ends with exactly one decision and one delivered callback.

``MODERATION_CHAOS_N`` sets the number of posts of the kill test (2,000 in CI, 300 locally by default).

The processes run under a supervisor, as in production (systemd ``Restart=always``, Kubernetes): Celery workers
can exit when their broker restarts (kombu's Redis transport), and the supervisor starts them again.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from moderation.config import load_settings
from moderation.services.delivery import BackoffPolicy
from moderation.signing import signed_headers
from moderation.store.db import get_engine, session_scope
from moderation.store.models import Decision, Delivery, DeliveryAttempt, Submission
from tests.callback_receiver import callback_receiver
from tests.chaos.conftest import (
    PgCluster,
    RedisServer,
    running_stack,
    stack_env,
    wait_for,
    wait_progress,
)
from tests.conftest import IN_CI, PlatformCreds, make_platform

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

N_POSTS = int(os.environ.get("MODERATION_CHAOS_N", "2000" if IN_CI else "300"))
# Each post is removed (drugs and weapons for sale), so each decision has a callback to deliver.
KILL_EVERY_S = 2.0
VIOLATING = "Bán ma túy đá, súng quân dụng giá rẻ, giao hàng tận nơi, mã đơn {i}."


def _platform(url: str, callback_url: str) -> PlatformCreds:
    settings = load_settings(env={}, database_url=url, secret_key="x", log_json=False)
    return make_platform(settings, "Chaos platform", callback_url)


_OPEN: list[Submitter] = []


def _logs(name: str) -> Path:
    """Process logs outside pytest's rotating tmp dirs, so they can be read after a failure."""
    return Path(tempfile.mkdtemp(prefix=f"moderation-chaos-{name}-", dir="/var/tmp"))


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


class Submitter:
    """Sends signed posts the way a well-behaved platform does: retries on 503, 429 and connection errors."""

    def __init__(self, base_url: str, creds: PlatformCreds) -> None:
        self.base_url = base_url
        self.creds = creds
        self.client = httpx.Client(base_url=base_url, timeout=15, limits=httpx.Limits(max_connections=16))
        self.statuses: Counter[int] = Counter()
        self.retry_after: list[str] = []
        self.ids: dict[str, str] = {}
        self.lock = threading.Lock()
        _OPEN.append(self)

    def post(self, i: int, deadline: float) -> None:
        body = json.dumps(
            {"id": f"post-{i}", "blog_id": f"blog-{i}", "author_id": f"author-{i}", "body": VIOLATING.format(i=i)},
            ensure_ascii=False,
        ).encode()
        while time.monotonic() < deadline:
            headers = {"Content-Type": "application/json", **signed_headers(self.creds.key, self.creds.secret, body)}
            try:
                response = self.client.post("/v1/posts", content=body, headers=headers)
            except httpx.HTTPError:
                time.sleep(0.2)
                continue
            with self.lock:
                self.statuses[response.status_code] += 1
                if response.status_code == 503:
                    self.retry_after.append(response.headers.get("Retry-After", ""))
            if response.status_code in {200, 202}:
                with self.lock:
                    self.ids[f"post-{i}"] = response.json()["submission_id"]
                return
            if response.status_code in {429, 503}:
                time.sleep(0.2)
                continue
            raise AssertionError(f"post-{i}: HTTP {response.status_code} {response.text[:300]}")
        raise AssertionError(f"post-{i} not accepted before the deadline")

    def close(self) -> None:
        self.client.close()

    def run(self, indices: range, threads: int = 8, budget_s: float = 600) -> None:
        deadline = time.monotonic() + budget_s
        with ThreadPoolExecutor(threads) as pool:
            for future in [pool.submit(self.post, i, deadline) for i in indices]:
                future.result()


def _settle(url: str, n: int, receiver: Any, timeout: float) -> None:
    """Wait until every submission is decided and every delivery delivered and received."""
    state: dict[str, Any] = {}

    def done() -> bool:
        with session_scope(url) as session:
            state["submissions"] = dict(
                session.execute(select(Submission.status, func.count()).group_by(Submission.status)).all()
            )
            state["deliveries"] = dict(
                session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
            )
            state["removals"] = session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.event == "decision.remove")
            )
        state["received"] = len(receiver.delivery_counts())
        deliveries = state["deliveries"]
        return bool(
            state["submissions"] == {"decided": n}
            and list(deliveries) == ["delivered"]
            and state["removals"] == n
            and state["received"] == deliveries["delivered"]
        )

    def progress() -> float:
        # Settled is infinitely far along; otherwise, decisions made plus callbacks delivered and received.
        if done():
            return float("inf")
        delivered = state["deliveries"].get("delivered", 0)
        return float(state["submissions"].get("decided", 0) + delivered + state["received"])

    try:
        wait_progress(progress, float("inf"), timeout, 900, f"{n} decisions and delivered callbacks")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: last state {state}") from None


def _assert_exactly_once(url: str, n: int, receiver: Any) -> dict[str, Any]:
    with session_scope(url) as session:
        subs = session.execute(select(Submission.status, func.count()).group_by(Submission.status)).all()
        assert dict(subs) == {"decided": n}
        per_sub = session.execute(
            select(Decision.submission_id, func.count())
            .group_by(Decision.submission_id)
            .where(Decision.source == "automated")
        ).all()
        assert len(per_sub) == n, "every submission has a decision"
        assert max(c for _, c in per_sub) == 1, "no submission has two decisions"
        # Enforcement (a warning for the author) adds decisions of its own; each decision has one callback.
        per_decision = session.execute(select(Delivery.decision_id, func.count()).group_by(Delivery.decision_id)).all()
        assert max(c for _, c in per_decision) == 1, "one callback per decision"
        removals = session.execute(
            select(Decision.submission_id, func.count())
            .join(Delivery, Delivery.decision_id == Decision.id)
            .where(Delivery.event == "decision.remove")
            .group_by(Decision.submission_id)
        ).all()
        assert len(removals) == n, "a removal callback for every submission"
        assert max(c for _, c in removals) == 1, "exactly one removal callback per submission"
        delivery_ids = set(session.scalars(select(Delivery.id)))
        statuses = Counter(session.scalars(select(Delivery.status)))
        attempts = list(session.scalars(select(Delivery.attempts)))
    assert set(statuses) == {"delivered"}
    counts = receiver.delivery_counts()
    assert set(counts) == delivery_ids, "every delivery reached the platform, and nothing else did"
    assert receiver.bad_signatures == 0
    return {"duplicates_at_receiver": sum(c - 1 for c in counts.values()), "max_attempts": max(attempts)}


@pytest.fixture
def chaos_db(chaos_pg: PgCluster) -> str:
    return chaos_pg.create_database()


@pytest.mark.timeout(1800)  # waits fail on a stall (no progress for minutes), not on a slow, loaded machine
def test_killed_workers_and_restarted_redis_lose_nothing_and_double_nothing(
    chaos_db: str, chaos_redis: RedisServer, tmp_path: Path
) -> None:
    broker = chaos_redis.url(1)
    with callback_receiver("pending", access_log=False) as receiver:
        creds = _platform(chaos_db, receiver.url)
        receiver.secret = creds.secret
        env = stack_env(chaos_db, broker, tmp_path / "var")
        workers = {"worker-classify": "classify", "worker-callbacks": "callbacks,maintenance"}
        # Two callbacks per post (the removal, and the author's warning): callbacks wait on HTTP and the database,
        # so that worker runs more processes than the CPU-bound classifier.
        concurrency = {"worker-classify": 2, "worker-callbacks": 4}
        with running_stack(env, _logs("kills"), workers, concurrency=concurrency) as stack:
            submitter = Submitter(stack.base_url, creds)
            stop = threading.Event()
            events: list[str] = []
            started = time.monotonic()

            def progress() -> None:
                # Throughput as it goes (shown with -s, and in the output of a failed run).
                while not stop.wait(10):
                    with session_scope(chaos_db) as session:
                        decided = session.scalar(
                            select(func.count()).select_from(Submission).where(Submission.status == "decided")
                        )
                    print(
                        f"{time.monotonic() - started:6.1f} s: accepted {len(submitter.ids)}, decided {decided}, "
                        f"callbacks received {len(receiver.delivery_counts())}",
                        flush=True,
                    )

            def chaos() -> None:
                # SIGKILL pool processes of both workers over and over; once, the whole classify worker and then
                # Redis, each at a point of the run.
                killed_group = restarted_redis = False
                turn = 0
                while not stop.wait(KILL_EVERY_S):
                    done = len(submitter.ids)
                    name = ("worker-classify", "worker-callbacks")[turn % 2]
                    turn += 1
                    if stack.kill_pool_child(name):
                        events.append(f"kill pool child of {name} at {done}")
                    if not killed_group and done >= N_POSTS * 0.3:
                        stack.kill_group("worker-classify")
                        events.append(f"SIGKILL whole worker-classify at {done}")
                        killed_group = True
                    if not restarted_redis and done >= N_POSTS * 0.6:
                        away = chaos_redis.restart()
                        events.append(f"redis restarted at {done} ({away:.2f} s away)")
                        restarted_redis = True

            chaos_thread = threading.Thread(target=chaos, daemon=True)
            chaos_thread.start()
            threading.Thread(target=progress, daemon=True).start()
            try:
                submitter.run(range(N_POSTS))
                # Keep killing while the backlog drains, then let it settle.
                wait_progress(lambda: len(receiver.delivery_counts()), N_POSTS * 0.9, 120, 900, "most callbacks")
            finally:
                stop.set()
                chaos_thread.join(30)
            _settle(chaos_db, N_POSTS, receiver, timeout=240)
            elapsed = time.monotonic() - started
            stack_restarts = list(stack.restarts)
        report = _assert_exactly_once(chaos_db, N_POSTS, receiver)
    assert any("redis restarted" in e for e in events), events
    assert any("whole worker" in e for e in events), events
    assert sum("pool child" in e for e in events) >= 3, events
    assert len(submitter.ids) == N_POSTS
    # A platform can only see a callback twice when a callbacks process dies between its POST and its commit: at
    # most one per SIGKILL of such a process (the receiver is idempotent on delivery_id and counts them).
    callback_kills = sum("pool child of worker-callbacks" in e for e in events)
    assert report["duplicates_at_receiver"] <= callback_kills, (report, events)
    print(
        f"\n{N_POSTS} posts in {elapsed:.1f} s; {len(events)} faults; restarts by the supervisor: {stack_restarts}; "
        f"{report}; HTTP {dict(submitter.statuses)}"
    )


def test_database_restart_gives_503_with_retry_after_then_recovers(
    chaos_pg: PgCluster, chaos_db: str, chaos_redis: RedisServer, tmp_path: Path
) -> None:
    broker = chaos_redis.url(2)
    with callback_receiver("pending", access_log=False) as receiver:
        creds = _platform(chaos_db, receiver.url)
        receiver.secret = creds.secret
        get_engine(chaos_db).dispose()
        env = stack_env(chaos_db, broker, tmp_path / "var")
        with running_stack(env, _logs("pg-restart"), {"worker-all": "classify,callbacks,maintenance"}) as stack:
            submitter = Submitter(stack.base_url, creds)
            submitter.run(range(20))
            chaos_pg.stop()
            try:
                # While the database is down: 503 with Retry-After, never a 500, for writes and reads alike.
                down: Counter[int] = Counter()
                client = submitter.client
                for i in range(10):
                    body = json.dumps(
                        {"id": f"down-{i}", "blog_id": "b", "author_id": "a", "body": "Xin chào"}
                    ).encode()
                    r = client.post(
                        "/v1/posts",
                        content=body,
                        headers={"Content-Type": "application/json", **signed_headers(creds.key, creds.secret, body)},
                    )
                    down[r.status_code] += 1
                    assert r.status_code == 503, (r.status_code, r.text[:300])
                    assert int(r.headers["Retry-After"]) > 0
                    assert r.json()["error"]["code"] == "unavailable"
                    r = client.get(
                        f"/v1/submissions/{next(iter(submitter.ids.values()))}",
                        headers=signed_headers(creds.key, creds.secret, b""),
                    )
                    assert r.status_code == 503, (r.status_code, r.text[:300])
                ready = client.get("/readyz")
                assert ready.status_code == 503
            finally:
                chaos_pg.start()
            # Recovers by itself: no process is restarted.
            submitter.run(range(20, 60), budget_s=60)
            _settle(chaos_db, 60, receiver, timeout=90)
        _assert_exactly_once(chaos_db, 60, receiver)
    assert down == Counter({503: 10})


def test_callback_target_down_backs_off_and_delivers_when_back(
    chaos_db: str, chaos_redis: RedisServer, tmp_path: Path
) -> None:
    broker = chaos_redis.url(3)
    with callback_receiver("pending", access_log=False) as receiver:
        creds = _platform(chaos_db, receiver.url)
        receiver.secret = creds.secret
        receiver.down = True
        env = stack_env(chaos_db, broker, tmp_path / "var")
        workers = {"worker-classify": "classify", "worker-callbacks": "callbacks,maintenance"}
        with running_stack(env, _logs("callback-down"), workers) as stack:
            submitter = Submitter(stack.base_url, creds)
            submitter.run(range(40))

            def all_decided() -> bool:
                with session_scope(chaos_db) as session:
                    return (
                        session.scalar(
                            select(func.count()).select_from(Submission).where(Submission.status == "decided")
                        )
                        == 40
                    )

            # Classification goes on while the platform is down.
            wait_for(all_decided, 60, 0.5, "classification while the callback target is down")

            # A long outage at the scale of the test's backoff (1 s base, 4 s cap): every callback is tried again
            # and again, further and further apart, never faster than the policy allows.
            def attempts() -> dict[str, list[dt.datetime]]:
                with session_scope(chaos_db) as session:
                    rows = session.execute(
                        select(DeliveryAttempt.delivery_id, DeliveryAttempt.at).order_by(DeliveryAttempt.seq)
                    ).all()
                    n_deliveries = session.scalar(select(func.count()).select_from(Delivery))
                out: dict[str, list[dt.datetime]] = {}
                for delivery_id, at in rows:
                    out.setdefault(delivery_id, []).append(at)
                assert n_deliveries is not None
                state["deliveries"] = n_deliveries
                return out

            state: dict[str, int] = {}
            wait_for(
                lambda: len(tried := attempts()) == state["deliveries"] and all(len(a) >= 3 for a in tried.values()),
                180,
                1.0,
                "three refused attempts of every callback",
            )
            policy = BackoffPolicy(1, 4, 3600)
            for delivery_id, times in attempts().items():
                for k, (before, after) in enumerate(itertools.pairwise(times), start=1):
                    gap = (after - before).total_seconds()
                    assert gap >= 0.8 * policy.delay(k), (delivery_id, k, gap, times)
            with session_scope(chaos_db) as session:
                assert set(session.scalars(select(Delivery.status))) == {"pending"}
            refused = receiver.refused
            receiver.down = False
            _settle(chaos_db, 40, receiver, timeout=60)
        report = _assert_exactly_once(chaos_db, 40, receiver)
    assert refused >= 3 * state["deliveries"]
    print(f"\nrefused while down: {refused}; {report}")
