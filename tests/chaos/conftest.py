"""Chaos harness: our own Redis and PostgreSQL on loopback (so restarting them disturbs nobody else's tests), and the
real service processes (gunicorn, Celery workers per queue, beat) started from the command line as in production.

Servers are started from the Debian binaries CI installs; as root the PostgreSQL cluster runs as ``postgres``.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, REPO

PY = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} is required in CI (.ci/run installs it)")
    pytest.skip(f"{what} is not installed")


def wait_for(predicate: Any, timeout: float, interval: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_progress(measure: Any, goal: float, stall_s: float, cap_s: float, what: str, interval: float = 0.5) -> None:
    """Wait until ``measure()`` reaches ``goal``; fail only when it stops growing for ``stall_s`` (or after ``cap_s``).

    A loaded CI machine drains a backlog more slowly, not never: a fixed deadline would fail a correct run there,
    while a stall (nothing decided, nothing delivered for ``stall_s``) is what a lost task looks like.
    """
    start = last_change = time.monotonic()
    best = -1.0
    while True:
        value = -1.0
        with contextlib.suppress(Exception):
            value = float(measure())
        now = time.monotonic()
        if value >= goal:
            return
        if value > best:
            best, last_change = value, now
        if now - last_change > stall_s or now - start > cap_s:
            raise AssertionError(
                f"{what}: {best:g} of {goal:g} after {now - start:.0f} s (no progress for {now - last_change:.0f} s)"
            )
        time.sleep(interval)


class RedisServer:
    """A private redis-server with an fsync-always append-only file: a restart keeps what was acknowledged."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            _missing("redis-server")
        self.binary = str(binary)
        self.dir = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        argv = [
            self.binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.dir),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--protected-mode",
            "yes",
        ]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.5)
        wait_for(client.ping, 10, 0.02, "redis to answer")
        client.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def restart(self) -> float:
        """SIGKILL the server and start it again; return how long it was away."""
        started = time.monotonic()
        self.kill()
        self.start()
        return time.monotonic() - started


def _pg_bin() -> Path | None:
    root = Path("/usr/lib/postgresql")
    versions = sorted((p for p in root.glob("*/bin/initdb")), key=lambda p: int(p.parent.parent.name))
    if versions:
        return versions[-1].parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PgCluster:
    """A private PostgreSQL cluster on a free port, so it can be stopped and restarted at will."""

    def __init__(self) -> None:
        bindir = _pg_bin()
        if bindir is None:
            _missing("PostgreSQL (initdb)")
        assert bindir is not None
        self.bin = bindir
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        # /var/tmp, not pytest's tmp dir: the cluster's owner must be able to reach it.
        self.dir = Path(tempfile.mkdtemp(prefix="moderation-chaos-pg-", dir="/var/tmp"))
        self.data = self.dir / "data"
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        argv = [str(self.bin / tool), *args]
        if self.as_root:
            argv = ["su", "postgres", "-c", shlex.join(argv)]
        return subprocess.run(argv, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -c fsync=off -c max_connections=200 -k {self.dir}"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-o", opts, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        from sqlalchemy import text

        from moderation.store.db import make_engine, upgrade

        name = f"chaos_{uuid.uuid4().hex[:10]}"
        admin = make_engine(self.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = self.url(name)
        upgrade(url)
        return url

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def chaos_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="session")
def chaos_pg() -> Iterator[PgCluster]:
    cluster = PgCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        from moderation.store.db import dispose_engines

        dispose_engines(close=True)
        cluster.destroy()


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
    return out


def _age(pid: int) -> float:
    """Seconds since ``pid`` started (0 when it is gone)."""
    try:
        start_ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


class Stack:
    """The service as production runs it: gunicorn, one Celery worker per queue group, beat."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.argv: dict[str, list[str]] = {}
        self.base_url = f"http://127.0.0.1:{self.port}"
        # Like systemd's Restart=always or a Kubernetes restartPolicy: a process that exits is started again.
        self.restarts: list[str] = []
        self.lock = threading.RLock()
        self.stopping = threading.Event()

    def supervise(self, interval: float = 0.5) -> None:
        while not self.stopping.wait(interval):
            with self.lock:
                for name, proc in list(self.procs.items()):
                    if proc.poll() is not None and not self.stopping.is_set():
                        self.restarts.append(f"{name} exited with {proc.returncode}")
                        self._spawn(name, self.argv[name])

    def _spawn(self, name: str, argv: list[str]) -> None:
        self.argv[name] = argv
        with (self.logs / f"{name}.log").open("ab") as log:
            # A session of its own, so the whole process group (a worker and its pool) can be killed at once.
            self.procs[name] = subprocess.Popen(
                argv,
                env=self.env,
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_web(self, workers: int = 2) -> None:
        self._spawn(
            "web",
            [
                PY,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--graceful-timeout",
                "5",
                "moderation.web.app:create_app()",
            ],
        )

    def start_worker(self, name: str, queues: str, concurrency: int = 2) -> None:
        self._spawn(
            name, [PY, "-m", "moderation.cli", "worker", "-c", str(concurrency), "-Q", queues, "--loglevel", "WARNING"]
        )

    def start_beat(self) -> None:
        self._spawn("beat", [PY, "-m", "moderation.cli", "beat", "--loglevel", "WARNING"])

    def wait_ready(self, timeout: float = 180) -> None:
        import httpx

        def ready() -> bool:
            return httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200

        wait_for(ready, timeout, 0.2, "gunicorn to answer /healthz")
        for name in self.procs:
            if name.startswith("worker"):
                wait_for(lambda n=name: len(_children(self.procs[n].pid)) > 0, timeout, 0.2, f"{name}'s pool")

    def pool_children(self, name: str) -> list[int]:
        return _children(self.procs[name].pid)

    def kill_pool_child(self, name: str, min_age_s: float = 2.0) -> int | None:
        """SIGKILL one pool process of a worker (its parent replaces it; the task is redelivered).

        Processes younger than ``min_age_s`` are spared: killing every process as it starts makes Celery give up
        ("Could not start worker processes"), which tests the supervisor rather than the service.
        """
        children = [pid for pid in self.pool_children(name) if _age(pid) >= min_age_s]
        if not children:
            return None
        victim = children[int(time.monotonic() * 1000) % len(children)]
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)
        return victim

    def kill_group(self, name: str) -> None:
        """SIGKILL a whole worker, the main process and its pool, as an OOM kill or a lost VM would; start it again."""
        with self.lock:
            proc = self.procs[name]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
            self._spawn(name, self.argv[name])

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:  # no restart by the supervisor once stopping
            pass
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)

    def tail(self, lines: int = 40) -> str:
        out = []
        for path in sorted(self.logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)


def stack_env(database_url: str, broker_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODERATION_", "DATABASE_URL", "CELERY_"))}
    env.update(
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=broker_url,
        SECRET_KEY="chaos-secret-key",
        MODERATION_VAR_DIR=str(var_dir),
        MODERATION_RATE_LIMIT_PER_MINUTE="0",
        # Short recovery periods, so lost tasks are found in seconds rather than minutes. The sweep re-enqueues only
        # what the broker backlog cannot hold (before, a 20 s period at 2,000 posts on two cores multiplied the
        # classify queue: 4,000 tasks for 1,700 waiting posts).
        MODERATION_STUCK_AFTER_S="20",
        MODERATION_SWEEP_INTERVAL_S="2",
        MODERATION_CALLBACK_BACKOFF_BASE_S="1",
        MODERATION_CALLBACK_BACKOFF_CAP_S="4",
        MODERATION_CALLBACK_TIMEOUT_S="5",
        MODERATION_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


@contextlib.contextmanager
def running_stack(
    env: dict[str, str],
    logs: Path,
    workers: dict[str, str],
    web_workers: int = 2,
    concurrency: dict[str, int] | None = None,
) -> Iterator[Stack]:
    logs.mkdir(parents=True, exist_ok=True)
    stack = Stack(env, logs)
    try:
        stack.start_web(web_workers)
        for name, queues in workers.items():
            stack.start_worker(name, queues, (concurrency or {}).get(name, 2))
        stack.start_beat()
        stack.wait_ready()
        threading.Thread(target=stack.supervise, daemon=True).start()
        yield stack
    except BaseException:
        print(f"logs in {logs}\n{stack.tail()}")  # shown by pytest when the test fails
        raise
    finally:
        stack.stop()
