"""``moderation serve | worker | beat | run``: the service's processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from moderation.config import Settings, load_settings, redact_url

DEMO_PLATFORM = "Demo blog platform"


def _gunicorn_argv(
    settings: Settings,
    host: str,
    port: int,
    workers: int,
    *,
    threads: int = 4,
    worker_class: str = "gthread",
    access_log: bool = True,
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        worker_class,
        "--threads",
        str(threads),
        *(["--access-logfile", "-"] if access_log else []),
        "--graceful-timeout",
        "10",
        "--forwarded-allow-ips",
        # The proxies whose X-Forwarded-* headers are believed (gunicorn's own variable; loopback by default).
        os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        "moderation.web.app:create_app(configure_logs=True)",
    ]


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes")
@click.option("--threads", default=4, show_default=True, type=int, help="threads per worker (gthread)")
@click.option(
    "--worker-class", default="gthread", show_default=True, type=click.Choice(["gthread", "sync"]), help="gunicorn"
)
@click.option("--access-log/--no-access-log", default=True, show_default=True, help="one line per request on stdout")
def serve(*, host: str, port: int, workers: int, threads: int, worker_class: str, access_log: bool) -> None:
    """Run the HTTP service under gunicorn."""
    settings = load_settings()
    _prometheus_dir(settings)
    argv = _gunicorn_argv(
        settings, host, port, workers, threads=threads, worker_class=worker_class, access_log=access_log
    )
    os.execv(sys.executable, argv)  # noqa: S606 - our own interpreter


def _prometheus_dir(settings: Settings) -> None:
    # Several gunicorn processes share their metrics through files in this directory.
    path = Path(os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(settings.var_dir / "prometheus")))
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()


@click.command()
@click.option("--concurrency", "-c", default=2, show_default=True, type=int)
@click.option("--queues", "-Q", default="classify,callbacks,reports,maintenance", show_default=True)
@click.option("--pool", default="prefork", show_default=True)
@click.option("--loglevel", default="INFO", show_default=True)
def worker(concurrency: int, queues: str, pool: str, loglevel: str) -> None:
    """Run a Celery worker."""
    from workers.worker import build

    build().worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            f"--queues={queues}",
            f"--pool={pool}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
        ]
    )


@click.command()
@click.option("--loglevel", default="INFO", show_default=True)
def beat(loglevel: str) -> None:
    """Run Celery beat (the periodic sweep and report schedule).

    Only the beat holding the single-instance lock schedules (workers/beat_lock.py); a second one stands by.
    """
    from workers.worker import build

    settings = load_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file there
    schedule = settings.var_dir / "celerybeat-schedule"
    scheduler = "workers.beat_lock:LockedScheduler"
    build().start(["beat", f"--loglevel={loglevel}", f"--schedule={schedule}", f"--scheduler={scheduler}"])


def ensure_demo_platform(settings: Settings) -> dict[str, Any]:
    """Create the demo platform once; return its key and secret."""
    from sqlalchemy import select

    from moderation.services.intake import create_platform
    from moderation.store.db import session_scope
    from moderation.store.models import Platform

    with session_scope(settings.database_url) as session:
        platform = session.scalars(select(Platform).where(Platform.name == DEMO_PLATFORM)).first()
        if platform is None:
            platform, _ = create_platform(session, DEMO_PLATFORM, is_test=True)
        return {"id": platform.id, "key": platform.key, "secret": platform.secret}


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=lambda: int(os.environ.get("PORT", "8000")), show_default="$PORT or 8000", type=int)
def run(host: str, port: int) -> None:
    """Migrate, create the demo platform, and run web + worker + beat until Ctrl-C."""
    from moderation.store.db import upgrade

    settings = load_settings()
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    demo = ensure_demo_platform(settings)
    from moderation.services.review import ensure_demo_users, seed_demo_items

    users = ensure_demo_users(settings.database_url)
    seed_demo_items(settings.database_url, demo["id"])
    _prometheus_dir(settings)
    env = dict(os.environ)
    procs: list[subprocess.Popen[bytes]] = []
    me = [sys.executable, "-m", "moderation.cli"]
    commands = {
        "web": _gunicorn_argv(settings, host, port, 2),
        "worker": [*me, "worker", "--concurrency", "2"],
        "beat": [*me, "beat"],
    }
    for argv in commands.values():
        procs.append(subprocess.Popen(argv, env=env))  # noqa: S603 - our own commands
    url = f"http://{host}:{port}"
    click.echo(
        "\n"
        f"  Moderation service running at {url}\n"
        f"  database: {redact_url(settings.database_url)}\n"
        f"  broker:   {redact_url(settings.celery_broker_url)}\n"
        f"  API docs: {url}/docs   OpenAPI: {url}/openapi.json   health: {url}/readyz\n"
        f"  demo platform key:    {demo['key']}\n"
        f"  demo platform secret: {demo['secret']}\n"
        f"  moderators' console: {url}/console/   public rules: {url}/rules\n"
        + "".join(f"    {u['role']:<20} {u['username']} / {u['password'] or '(changed)'}\n" for u in users)
        + "  Ctrl-C stops everything.\n",
        err=True,
    )
    stopping = False

    def stop(*_: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping:
            for name, proc in zip(commands, procs, strict=True):
                if proc.poll() is not None:
                    click.echo(f"{name} exited with {proc.returncode}; stopping", err=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
