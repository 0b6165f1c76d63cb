"""The worker entry point: ``celery -A workers.worker worker`` (or ``moderation worker``)."""

from __future__ import annotations

from celery import Celery

from moderation.web.runtime import CeleryQueue


def build() -> Celery:
    from moderation.config import load_settings
    from moderation.observability import configure_logging, init_sentry
    from moderation.web.app import create_app
    from workers.celery_app import celery_init_app, make_celery

    settings = load_settings()
    configure_logging(settings.log_level, settings.log_json)
    init_sentry(settings.sentry_dsn, settings.sentry_environment, celery=True)
    celery = make_celery(settings)
    app = create_app(settings, queue=CeleryQueue(celery))
    celery_init_app(app, celery)
    import importlib

    from workers.celery_app import TASK_MODULES

    for name in TASK_MODULES:  # importing registers the tasks
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise

    _connect_signals()

    return celery


def _dispose_after_fork(**_: object) -> None:
    # A forked pool process must not reuse the parent's database connections.
    from moderation.store.db import dispose_engines

    dispose_engines(close=False)


def _connect_signals() -> None:
    from celery.signals import worker_process_init

    worker_process_init.connect(_dispose_after_fork, weak=False)
