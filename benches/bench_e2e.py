"""End to end: sustained signed posts through gunicorn, a Redis broker and two Celery worker processes, measuring
submission-to-decision time.

Web as ``moderation serve`` (gunicorn gthread 2x4) and two ``moderation worker --concurrency 1`` processes on a
scratch PostgreSQL database and a Redis database of their own. A separate load process paces distinct posts at
``RATE`` per second (open loop) for ``SECONDS``; afterwards each submission's ``decided_at - received_at`` (both
stamped by the service) is read from the database. Target: sustained 200 posts/s with p95 under 1 s. Each run of
the load is one sample of the achieved rate and of the p95.

``python -m benches.bench_e2e [--quick]``; ``benches/run.py`` calls :func:`run`.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benches._common import (
    PY,
    LoadSpec,
    Skip,
    figure,
    flush_redis,
    free_port,
    gunicorn_argv,
    load,
    machine,
    make_platform,
    percentile,
    pg_base_url,
    processes,
    redis_url,
    scratch_database,
    service_env,
    wait_for,
    wait_http,
)

RATE = 200
TARGET_P95_S = 1.0
REDIS_DB = 13


def _worker_argv() -> list[str]:
    return [PY, "-m", "moderation.cli", "worker", "--concurrency", "1", "--loglevel", "WARNING"]


def tree_cpu_s(roots: list[int]) -> float:
    """CPU seconds (user + system) used so far by the processes ``roots`` and all their descendants (Linux /proc).

    A figure of the workers' own cost per post, far less sensitive than posts/s to what else runs on the machine.
    """
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        except OSError:
            continue
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    total = 0.0
    for pid, cpu in used.items():
        walk, seen = pid, 0
        while walk and walk not in roots and seen < 64:
            walk, seen = parents.get(walk, 0), seen + 1
        if walk in roots:
            total += cpu
    return total


def _delays(url: str, prefix: str) -> tuple[list[float], int]:
    """Submission-to-decision seconds of the decided posts whose id starts with ``prefix``; and how many are not."""
    from sqlalchemy import select

    from moderation.store.db import session_scope
    from moderation.store.models import Submission

    with session_scope(url) as session:
        rows = session.execute(
            select(Submission.received_at, Submission.decided_at).where(Submission.external_id.like(f"{prefix}-%"))
        ).all()
    delays = [(d - r).total_seconds() for r, d in rows if d is not None]
    return delays, sum(1 for _, d in rows if d is None)


def run(quick: bool = False) -> dict[str, Any]:
    try:
        base = pg_base_url()
        broker = redis_url(REDIS_DB)
    except Skip as exc:
        print(f"e2e: skipped: {exc}")
        return {"skipped": str(exc)}
    seconds, rounds = (5, 1) if quick else (30, 3)
    samples: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, scratch_database(base) as url:
        _platform_id, key, secret = make_platform(url)
        port = free_port()
        env = service_env(url, broker, Path(tmp))
        try:
            with processes(gunicorn_argv(port), _worker_argv(), _worker_argv(), env=env) as procs:
                workers = [p.pid for p in procs[1:]]
                wait_http(port)
                warm = load(LoadSpec(port, key, secret, "warm", 40, 4))  # workers build their classifier here
                wait_for(lambda: _delays(url, "warm")[1] == 0, 180, "the warm-up posts to be decided")
                for r in range(rounds):
                    prefix = f"r{r}"
                    cpu_before = tree_cpu_s(workers)
                    sent = load(LoadSpec(port, key, secret, prefix, RATE * seconds, 8, rate=RATE))
                    deadline = time.monotonic() + 120
                    while _delays(url, prefix)[1] and time.monotonic() < deadline:
                        time.sleep(0.5)
                    delays, pending = _delays(url, prefix)
                    worker_cpu_s = tree_cpu_s(workers) - cpu_before
                    samples.append({"sent": sent, "delays": delays, "pending": pending, "worker_cpu_s": worker_cpu_s})
        finally:
            flush_redis(broker)
    _ = warm
    achieved = [len(s["sent"]["latencies"]) / s["sent"]["elapsed"] for s in samples]
    p95s = [percentile(s["delays"], 95) for s in samples]
    all_delays = [d for s in samples for d in s["delays"]]
    pending = sum(s["pending"] for s in samples)
    # The two worker process trees' CPU time (parents and pool processes) per post decided in the round.
    worker_ms = [s["worker_cpu_s"] * 1000 / max(1, len(s["delays"])) for s in samples]
    figures = [
        figure("e2e_sustained_posts_per_s", achieved, "posts/s", target=RATE),
        figure("e2e_p95_decision_s", p95s, "s", target=TARGET_P95_S, better="lower"),
        figure("e2e_worker_cpu_ms_per_post", worker_ms, "ms", better="lower"),
    ]
    result = {
        "figures": figures,
        "decision_s": {f"p{q}": round(percentile(all_delays, q), 3) for q in (50, 95, 99)}
        | {"max": round(max(all_delays), 3)},
        "undecided_after_120_s": pending,
        "posted": sum(len(s["sent"]["latencies"]) for s in samples),
        "intake_p99_ms": round(percentile([v * 1000 for s in samples for v in s["sent"]["latencies"]], 99), 1),
        "rounds": rounds,
        "seconds_per_round": seconds,
        "setup": "gunicorn gthread 2x4 + 2 celery worker processes (concurrency 1), Redis broker, PostgreSQL",
        "machine": machine(),
    }
    m = result["machine"]
    print(
        f"e2e: {rounds} x {seconds} s at {RATE} posts/s paced, 2 worker processes; "
        f"{m['cpu']} x{m['cpus']}, load {m['loadavg']:.1f}, Python {m['python']}"
    )
    sp = figures[0]["spread"]
    print(f"  achieved posts/s  median {sp['median']:.0f}  min {sp['min']:.0f}  max {sp['max']:.0f}  (target {RATE})")
    d = result["decision_s"]
    print(
        f"  submission->decision  p50 {d['p50']} s  p95 {d['p95']} s  p99 {d['p99']} s  max {d['max']} s "
        f"(p95 per round {', '.join(f'{v:.2f}' for v in p95s)}; target p95 < {TARGET_P95_S} s); "
        f"undecided after 120 s: {pending}"
    )
    wp = figures[2]["spread"]
    print(f"  worker CPU per decided post (both workers, parents and pool processes)  median {wp['median']:.1f} ms")
    return result


if __name__ == "__main__":
    run(quick="--quick" in sys.argv)
