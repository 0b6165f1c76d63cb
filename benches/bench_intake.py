"""Intake throughput: signed posts per second through gunicorn on PostgreSQL (Redis broker), and their latency.

The service runs as ``moderation serve`` does (gunicorn, gthread, 2 workers x 4 threads, access log on) on a scratch
PostgreSQL database, enqueuing to a Redis database of its own (no workers: only intake is measured). The load
generator is a separate process of a few threads over keep-alive connections with ``http.client`` (lean, so it eats
little of the CPU the server needs); it sends distinct posts back to back (closed loop). Each round is one
throughput sample; latencies are client-side, per request, over all rounds. Targets: >= 1,000 posts/s and
p99 < 50 ms on this machine (2 cores shared by server, database, broker and client).

``python -m benches.bench_intake [--quick]``; ``benches/run.py`` calls :func:`run`.

``python -m benches.bench_intake --inprocess [N] [--profile]`` measures one process's CPU time per signed post
instead (Flask test client, no HTTP server; scratch PostgreSQL database and the real Celery queue on Redis): median
of several rounds of ``time.process_time``, the SQL statements each request runs, and with ``--profile`` the
functions that take the time (cProfile). Far less noisy than posts/s on a shared machine.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from benches._common import (
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
    wait_http,
)

TARGET_POSTS_PER_S = 1000
TARGET_P99_MS = 50
REDIS_DB = int(os.environ.get("BENCH_INTAKE_REDIS_DB", "14"))  # an empty Redis database of its own


def run(quick: bool = False) -> dict[str, Any]:
    try:
        base = pg_base_url()
        broker = redis_url(REDIS_DB)
    except Skip as exc:
        print(f"intake: skipped: {exc}")
        return {"skipped": str(exc)}
    rounds, per_round, threads = (2, 400, 4) if quick else (4, 5000, 6)
    with tempfile.TemporaryDirectory() as tmp, scratch_database(base) as url:
        _platform_id, key, secret = make_platform(url)
        port = free_port()
        env = service_env(url, broker, Path(tmp))
        try:
            with processes(_serve_argv(port), env=env) as (server,):
                wait_http(port)
                load(LoadSpec(port, key, secret, "warm", 200, threads))  # connections, imports, JIT-free warm-up
                cpu_before = server_cpu_s(server.pid)
                samples = [load(LoadSpec(port, key, secret, f"r{r}", per_round, threads)) for r in range(rounds)]
                server_cpu = server_cpu_s(server.pid) - cpu_before
        finally:
            flush_redis(broker)
    rates = [len(s["latencies"]) / s["elapsed"] for s in samples]
    lat_ms = [v * 1000 for s in samples for v in s["latencies"]]
    p99_per_round = [percentile([v * 1000 for v in s["latencies"]], 99) for s in samples]
    statuses = sorted({st for s in samples for st in s["statuses"]})
    bad = sum(1 for s in samples for st in s["statuses"] if st != 202)
    client_cpu = sum(s["client_cpu_s"] for s in samples) / sum(s["elapsed"] for s in samples)
    server_cpu_ms = server_cpu / len(lat_ms) * 1000 if server_cpu >= 0 else None
    figures = [
        figure("intake_posts_per_s", rates, "posts/s", target=TARGET_POSTS_PER_S),
        figure("intake_p99_ms", p99_per_round, "ms", target=TARGET_P99_MS, better="lower"),
    ]
    result = {
        "figures": figures,
        "latency_ms": {f"p{q}": round(percentile(lat_ms, q), 2) for q in (50, 90, 95, 99)}
        | {"max": round(max(lat_ms), 2)},
        "requests": len(lat_ms),
        "non_202": bad,
        "statuses": statuses,
        "rounds": rounds,
        "threads": threads,
        "client_cpu_share": round(client_cpu, 2),  # CPU seconds the load generator used per wall second
        # gunicorn's CPU time (master and workers) per request: less sensitive to other load than posts/s.
        "server_cpu_ms_per_request": None if server_cpu_ms is None else round(server_cpu_ms, 2),
        "setup": "gunicorn "
        + (os.environ.get("BENCH_INTAKE_SERVE") or "gthread 2x4")
        + ", PostgreSQL scratch db, Redis broker, keep-alive http.client load process",
        "machine": machine(),
    }
    m = result["machine"]
    print(
        f"intake: {len(lat_ms)} signed posts in {rounds} rounds of {per_round}, {threads} keep-alive connections; "
        f"{m['cpu']} x{m['cpus']}, load {m['loadavg']:.1f}, Python {m['python']}"
    )
    sp = figures[0]["spread"]
    print(
        f"  posts/s   median {sp['median']:.0f}  min {sp['min']:.0f}  max {sp['max']:.0f}  stdev {sp['stdev']:.0f}"
        f"  (target >= {TARGET_POSTS_PER_S})"
    )
    lat = result["latency_ms"]
    print(
        f"  latency   p50 {lat['p50']} ms  p95 {lat['p95']} ms  p99 {lat['p99']} ms  max {lat['max']} ms"
        f"  (p99 per round {', '.join(f'{v:.1f}' for v in p99_per_round)}; target p99 < {TARGET_P99_MS} ms)"
    )
    print(f"  statuses {statuses}, non-202: {bad}; load generator used {client_cpu:.2f} CPU s per s")
    if server_cpu_ms is not None:
        print(f"  server (gunicorn) CPU {server_cpu_ms:.2f} ms per request (PostgreSQL and Redis not included)")
    return result


def _serve_argv(port: int) -> list[str]:
    """``moderation serve``'s command line, or a variant named by ``BENCH_INTAKE_SERVE`` (to compare settings), e.g.
    ``workers=3,threads=2,worker_class=sync,access_log=0``."""
    spec = os.environ.get("BENCH_INTAKE_SERVE", "")
    if not spec:
        return gunicorn_argv(port)
    from moderation.cli.service import _gunicorn_argv
    from moderation.config import load_settings

    opts = dict(part.split("=", 1) for part in spec.split(",") if part)
    return _gunicorn_argv(
        load_settings(env={}),
        "127.0.0.1",
        port,
        int(opts.get("workers", 2)),
        threads=int(opts.get("threads", 4)),
        worker_class=opts.get("worker_class", "gthread"),
        access_log=opts.get("access_log", "1") != "0",
    )


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its children (Linux /proc); -inf elsewhere."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    try:
        entries = os.listdir("/proc")
    except OSError:
        return float("-inf")
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state, ppid, ...
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def inprocess(n: int = 300, rounds: int = 5, profile: bool = False) -> dict[str, Any]:
    """CPU time per signed post in this process (app + SQLAlchemy + kombu; not PostgreSQL or Redis)."""
    import statistics
    import time

    from sqlalchemy import event

    from moderation.config import load_settings
    from moderation.signing import signed_headers
    from moderation.store.db import get_engine
    from moderation.web.app import create_app

    base = pg_base_url()
    broker = redis_url(REDIS_DB)
    bodies = _bodies(n * (rounds + 1))
    with tempfile.TemporaryDirectory() as tmp, scratch_database(base) as url:
        _platform_id, key, secret = make_platform(url)
        settings = load_settings(
            env={},
            database_url=url,
            celery_broker_url=broker,
            var_dir=Path(tmp),
            secret_key="benchmark-secret-key",
            rate_limit_per_minute=0,
            log_level="WARNING",
        )
        try:
            app = create_app(settings)
            client = app.test_client()
            statements: list[str] = []
            engine = get_engine(url)
            event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
            # Round trips that are not statements of ours: the BEGIN, COMMIT and ROLLBACK psycopg sends (none in
            # autocommit; SQLAlchemy's own begin/commit events fire either way), and the pool's pre-ping.
            _count_psycopg_commands(statements)
            if getattr(engine.pool, "_pre_ping", False):
                event.listen(engine.pool, "checkout", lambda *_a: statements.append("PING"))

            def send(body: bytes) -> None:
                headers = signed_headers(key, secret, body)
                response = client.post("/v1/posts", data=body, headers=headers, content_type="application/json")
                assert response.status_code == 202, response.get_data(as_text=True)

            for body in bodies[:n]:  # warm-up: imports, pools, caches
                send(body)
            per_round: list[float] = []
            statements.clear()
            profiler = None
            if profile:
                import cProfile

                profiler = cProfile.Profile(time.process_time)
            for r in range(rounds):
                chunk = bodies[n * (r + 1) : n * (r + 2)]
                if profiler is not None:
                    profiler.enable()
                t0 = time.process_time()
                for body in chunk:
                    send(body)
                per_round.append((time.process_time() - t0) / len(chunk) * 1000)
                if profiler is not None:
                    profiler.disable()
            per_request = len(statements) / (n * rounds)
            counts: dict[str, int] = {}
            for st in statements:
                word = st.split(None, 1)[0].upper()
                counts[word] = counts.get(word, 0) + 1
            kinds = {word: round(c / (n * rounds), 2) for word, c in sorted(counts.items())}
        finally:
            flush_redis(broker)
    result = {
        "cpu_ms_per_request": round(statistics.median(per_round), 3),
        "cpu_ms_per_round": [round(v, 3) for v in per_round],
        "round_trips_per_request": round(per_request, 2),
        "round_trips_by_kind": kinds,
        "loadavg": os.getloadavg()[0],
    }
    print(
        f"intake in-process: {result['cpu_ms_per_request']} ms CPU per signed post (median of {rounds} rounds of {n}:"
        f" {result['cpu_ms_per_round']}); {per_request:.2f} database round trips per request {kinds};"
        f" load {result['loadavg']:.1f}"
    )
    if profiler is not None:
        import pstats

        profiler.dump_stats("/tmp/intake.prof")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    return result


def _count_psycopg_commands(out: list[str]) -> None:
    """Record each transaction command psycopg sends (a measuring aid: wraps a private psycopg method)."""
    from psycopg import _connection_base

    cls: Any = _connection_base.BaseConnection
    original = cls._exec_command

    def counted(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        text = command if isinstance(command, bytes | str) else command.as_string(self)
        out.append(text.decode() if isinstance(text, bytes) else text)
        return original(self, command, *args, **kwargs)

    cls._exec_command = counted


def _bodies(n: int) -> list[bytes]:
    from benches._common import _post_bodies

    return _post_bodies(f"ip{os.getpid()}", n)


if __name__ == "__main__":
    if "--inprocess" in sys.argv:
        numbers = [int(a) for a in sys.argv[1:] if a.isdigit()]
        inprocess(numbers[0] if numbers else 300, profile="--profile" in sys.argv)
    else:
        run(quick="--quick" in sys.argv)
