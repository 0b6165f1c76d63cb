"""What the service benchmarks share: figures with their spread and target, servers on loopback, a scratch database.

A *figure* is ``{"name", "unit", "value", "stat", "spread": {median, mean, min, max, stdev, n}, "target",
"better", "passed"}``; ``benches/run.py`` collects them into ``benches/results.json``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
DEFAULT_PG = "postgresql+psycopg://moderation:moderation@127.0.0.1:5432/moderation_test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

# Common Vietnamese syllables: the word stock of synthetic articles (the works index benchmark and its tests).
SYLLABLES = [
    "người",
    "nhà",
    "nước",
    "trong",
    "những",
    "của",
    "được",
    "cho",
    "một",
    "với",
    "không",
    "các",
    "đã",
    "này",
    "có",
    "là",
    "đến",
    "khi",
    "về",
    "như",
    "từ",
    "năm",
    "sự",
    "việc",
    "thành",
    "phố",
    "tỉnh",
    "huyện",
    "xã",
    "làng",
    "sông",
    "núi",
    "biển",
    "trời",
    "đất",
    "mưa",
    "nắng",
    "gió",
    "bão",
    "lúa",
    "gạo",
    "cá",
    "thịt",
    "rau",
    "quả",
    "hoa",
    "lá",
    "học",
    "sinh",
    "giáo",
    "viên",
    "trường",
    "lớp",
    "sách",
    "vở",
    "bút",
    "mực",
    "bài",
    "thơ",
    "văn",
    "truyện",
    "báo",
    "chí",
    "tin",
    "tức",
    "mới",
    "cũ",
    "đẹp",
    "xấu",
    "tốt",
    "mẹ",
    "cha",
    "anh",
    "chị",
    "em",
    "ông",
    "bà",
    "cô",
    "chú",
    "bác",
    "cháu",
    "con",
    "bạn",
    "bè",
    "hàng",
    "xóm",
    "chợ",
    "phiên",
    "quán",
    "cà",
    "phê",
    "trà",
    "sữa",
    "bánh",
    "mì",
    "xuân",
    "hạ",
    "thu",
    "đông",
    "sáng",
    "trưa",
    "chiều",
    "tối",
    "đêm",
    "ngày",
    "tuần",
    "tháng",
    "quê",
    "hương",
    "đồng",
    "ruộng",
    "trâu",
    "bò",
    "gà",
    "vịt",
]


class Skip(Exception):
    """The benchmark cannot run here (a server is absent); the message says why."""


def spread(values: Sequence[float]) -> dict[str, float]:
    vals = list(values)
    return {
        "median": round(statistics.median(vals), 3),
        "mean": round(statistics.fmean(vals), 3),
        "min": round(min(vals), 3),
        "max": round(max(vals), 3),
        "stdev": round(statistics.stdev(vals), 3) if len(vals) > 1 else 0.0,
        "n": len(vals),
    }


def figure(
    name: str,
    values: Sequence[float],
    unit: str,
    *,
    target: float | None = None,
    better: str = "higher",
    stat: str = "median",
) -> dict[str, Any]:
    """One measured figure: the chosen statistic of ``values``, their spread, and pass/fail against ``target``."""
    sp = spread(values)
    value = sp[stat]
    passed = None if target is None else (value >= target if better == "higher" else value <= target)
    return {
        "name": name,
        "unit": unit,
        "value": value,
        "stat": stat,
        "spread": sp,
        "target": target,
        "better": better,
        "passed": passed,
    }


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def machine() -> dict[str, Any]:
    import platform

    cpu = platform.processor() or ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "machine": platform.machine(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg()[0],
        "python": platform.python_version(),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.1)
    raise RuntimeError(f"timed out after {timeout} s waiting for {what}")


def pg_base_url() -> str:
    """The PostgreSQL server to use, or ``Skip``."""
    url = os.environ.get("DATABASE_URL_PG", DEFAULT_PG)
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    try:
        psycopg.connect(
            host=u.host, port=u.port or 5432, user=u.username, password=u.password, dbname=u.database, connect_timeout=2
        ).close()
    except psycopg.Error as exc:
        raise Skip(
            f"PostgreSQL is not reachable at {u.host}:{u.port or 5432} ({type(exc).__name__}); "
            "start it with `bash .ci/services.sh` or set DATABASE_URL_PG"
        ) from None
    return url


def redis_url(db: int) -> str:
    """A Redis database of its own for the benchmark (must be empty), or ``Skip``."""
    import redis
    from sqlalchemy.engine import make_url

    base = make_url(os.environ.get("REDIS_URL", DEFAULT_REDIS).replace("redis://", "postgresql://", 1))
    url = f"redis://{base.host}:{base.port or 6379}/{db}"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        size = client.dbsize()
    except redis.RedisError as exc:
        raise Skip(
            f"Redis is not reachable at {base.host}:{base.port or 6379} ({type(exc).__name__}); "
            "start it with `bash .ci/services.sh` or set REDIS_URL"
        ) from None
    if size:
        raise Skip(f"Redis database {db} is not empty; the benchmark needs it for itself")
    return url


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@contextlib.contextmanager
def scratch_database(base_url: str, prefix: str = "moderation_bench") -> Iterator[str]:
    """A freshly migrated PostgreSQL database of this process's own (``<prefix>_<pid>_<random>``), dropped
    afterwards (the test suite's PostgreSQL fixture uses it too)."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from moderation.store.db import dispose_engines, make_engine, upgrade

    base = make_url(base_url)
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_platform(database_url: str) -> tuple[str, str, str]:
    """Create a platform; return its id, key and secret."""
    from moderation.services.intake import create_platform
    from moderation.store.db import session_scope

    with session_scope(database_url) as session:
        platform, secret = create_platform(session, "Benchmark platform", None)
        return platform.id, platform.key, secret


def service_env(database_url: str, broker_url: str, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "MODERATION_VAR_DIR": str(var_dir),
            "MODERATION_RATE_LIMIT_PER_MINUTE": "0",
            "MODERATION_LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "prometheus"),
            "SECRET_KEY": "benchmark-secret-key",
        }
    )
    (var_dir / "prometheus").mkdir(parents=True, exist_ok=True)
    return env


@contextlib.contextmanager
def processes(*argvs: list[str], env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start the given commands in their own process groups; stop them (and only them) afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for argv in argvs:
            procs.append(
                subprocess.Popen(
                    argv,
                    env=env,
                    cwd=REPO,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)


def gunicorn_argv(port: int, workers: int = 2, threads: int = 4) -> list[str]:
    """The service's own gunicorn command line (``moderation serve``), access log included."""
    from moderation.cli.service import _gunicorn_argv
    from moderation.config import load_settings

    argv = _gunicorn_argv(load_settings(env={}), "127.0.0.1", port, workers)
    argv[argv.index("--threads") + 1] = str(threads)
    return argv


def wait_http(port: int, path: str = "/healthz", timeout: float = 60) -> None:
    import http.client

    def ok() -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", path)
            return conn.getresponse().status == 200
        finally:
            conn.close()

    wait_for(ok, timeout, f"http://127.0.0.1:{port}{path}")


def _post_bodies(prefix: str, n: int) -> list[bytes]:
    import json

    texts = [
        "Hôm nay trời Hà Nội se lạnh, cả nhà rủ nhau đi ăn phở ở phố cổ.",
        "Bán ma túy đá giá rẻ, ship cod toàn quốc.",
        "Đội tuyển bóng đá Việt Nam thi đấu rất quyết tâm trong trận tối qua.",
        "Mình vừa đọc xong cuốn sách về lịch sử Đà Nẵng, rất đáng để đọc. " * 8,
    ]
    return [
        json.dumps(
            {
                "id": f"{prefix}-{i}",
                "blog_id": f"blog-{i % 50}",
                "author_id": f"author-{i % 500}",
                "title": "Bài viết",
                "body": texts[i % len(texts)],
            },
            ensure_ascii=False,
        ).encode()
        for i in range(n)
    ]


@dataclass(frozen=True)
class LoadSpec:
    """``n`` signed posts to ``/v1/posts`` on ``port`` over ``threads`` keep-alive connections, back to back
    (closed loop) or paced at ``rate`` posts per second (open loop)."""

    port: int
    key: str
    secret: str
    prefix: str
    n: int
    threads: int
    rate: float | None = None


def _sender(spec: LoadSpec, bodies: list[bytes], start_at: float, out: list[tuple[float, float, int]]) -> None:
    """Send ``bodies`` over one keep-alive connection, paced when the spec has a rate."""
    import http.client

    from moderation.signing import signed_headers

    interval = None if spec.rate is None else spec.threads / spec.rate
    conn = http.client.HTTPConnection("127.0.0.1", spec.port, timeout=30)
    for k, body in enumerate(bodies):
        if interval is not None:
            delay = start_at + k * interval - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        headers = signed_headers(spec.key, spec.secret, body)
        headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/v1/posts", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", spec.port, timeout=30)
            status = 0
        out.append((t0, time.perf_counter() - t0, status))
    conn.close()


def _load_child(spec: LoadSpec, conn: Any) -> None:
    import threading

    bodies = _post_bodies(spec.prefix, spec.n)
    shares = [bodies[i :: spec.threads] for i in range(spec.threads)]
    results: list[list[tuple[float, float, int]]] = [[] for _ in range(spec.threads)]
    start_at = time.perf_counter() + 0.2
    offsets = [i / spec.rate if spec.rate else 0.0 for i in range(spec.threads)]
    workers = [
        threading.Thread(target=_sender, args=(spec, shares[i], start_at + offsets[i], results[i]))
        for i in range(spec.threads)
    ]
    cpu0 = time.process_time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    flat = [r for rs in results for r in rs]
    first = min(r[0] for r in flat)
    last = max(r[0] + r[1] for r in flat)
    conn.send(
        {
            "latencies": [r[1] for r in flat],
            "statuses": [r[2] for r in flat],
            "elapsed": last - first,
            "client_cpu_s": time.process_time() - cpu0,
        }
    )
    conn.close()


def load(spec: LoadSpec) -> dict[str, Any]:
    """Run ``spec`` from a separate process (so the client's work is its own); return latencies (s), statuses,
    elapsed wall time and the client's CPU time."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_load_child, args=(spec, child))
    proc.start()
    child.close()
    result: dict[str, Any] = parent.recv()
    proc.join(30)
    return result
