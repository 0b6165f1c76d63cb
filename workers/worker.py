"""The worker entry point: ``celery -A workers.worker worker`` (or ``moderation worker``)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery

from moderation.web.runtime import CeleryQueue

log = logging.getLogger(__name__)


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

    _connect_signals(app, celery)

    return celery


def _dispose_after_fork(**_: object) -> None:
    # A forked pool process must not reuse the parent's database connections.
    from moderation.store.db import dispose_engines

    dispose_engines(close=False)


def _warm_classifier(app: Any, celery: Celery, sender: Any = None, **_: object) -> None:
    """Build the classifier in the parent of a classify worker, before its pool forks.

    Every pool process then starts with it (copy-on-write) instead of building its own: a pool process killed
    (OOM, SIGKILL) is replaced in milliseconds, not seconds. A failure here (database away) is not fatal: each
    process builds it on first use.
    """
    if sender is not None and getattr(sender, "app", None) is not celery:
        return  # a worker of another Celery app in this process
    queues = getattr(getattr(getattr(sender, "app", None), "amqp", None), "queues", None)
    consumed = set(getattr(queues, "consume_from", None) or {}) if queues is not None else {"classify"}
    if "classify" not in consumed:
        return
    from moderation import _ext

    if not_built := _ext.missing():
        log.warning(
            "compiled extensions not built (no C compiler at install?): %s; classification runs its slower "
            "pure-Python code (reinstall with gcc: make install)",
            ", ".join(not_built),
        )
    warm = False
    try:
        from moderation.domain import History, Item, ItemKind

        with app.app_context():
            classifier = app.extensions["moderation"].classifiers.get()
            # The first classification loads what the detectors load lazily (seconds); do it once, here.
            classifier.classify(
                Item(ItemKind.POST, {"title": "Chào", "body": "Xin chào https://example.vn"}), History()
            )
        warm = True
    except Exception:
        log.warning("classifier not built before fork; each pool process will build its own", exc_info=True)
    finally:
        from moderation.store.db import dispose_engines

        dispose_engines(close=True)  # no connection of the parent's may be shared by its children
    if warm:
        # After the connections are closed, so none of them is frozen with the rest. Frozen objects are not walked
        # by the collector of the pool processes either, so its passes no longer touch (and copy) the shared pages.
        from moderation.heap import freeze_long_lived

        freeze_long_lived()


def _connect_signals(app: Any, celery: Celery) -> None:
    from functools import partial

    from celery.signals import worker_init, worker_process_init

    worker_process_init.connect(_dispose_after_fork, weak=False)
    worker_init.connect(partial(_warm_classifier, app, celery), weak=False)
