"""The Celery application, wired the Flask way (``celery_init_app``): tasks run inside the app context."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask
from kombu.entity import Exchange, Queue

from moderation.config import Settings

QUEUES = ("classify", "callbacks", "reports", "maintenance")
TASK_MODULES = ("workers.tasks", "workers.tasks_workflow", "workers.tasks_reports")


def make_celery(settings: Settings) -> Celery:
    """Create a Celery app for the configured broker (embedded SQLite transport by default, or Redis)."""
    celery = Celery("moderation", set_as_current=False)
    transport_options: dict[str, Any] = {}
    if settings.embedded_broker:
        # kombu's SQLAlchemy transport hands its options to create_engine; it polls once a second.
        settings.var_dir.mkdir(parents=True, exist_ok=True)
    else:
        # With acks_late a task held by a killed worker is redelivered after this; the sweep is the backstop.
        transport_options["visibility_timeout"] = 600
    celery.conf.update(
        broker_url=settings.celery_broker_url,
        result_backend=settings.celery_result_backend,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="classify",
        # One direct exchange and routing key per queue: a queue without its own would be bound to the default
        # exchange under the default key, and every task would then be copied into all four queues.
        task_queues=[
            Queue(name, Exchange(name, type="direct"), routing_key=name)  # type: ignore[no-untyped-call]
            for name in QUEUES
        ],
        task_routes={
            "moderation.classify": {"queue": "classify"},
            "moderation.deliver": {"queue": "callbacks"},
            "moderation.sweep": {"queue": "maintenance"},
            "moderation.authority_sla": {"queue": "maintenance"},
            "moderation.sanction_expiry": {"queue": "maintenance"},
            "moderation.reports.*": {"queue": "reports"},
        },
        beat_schedule={
            "sweep": {
                "task": "moderation.sweep",
                "schedule": float(settings.sweep_interval_s),
                "options": {"queue": "maintenance", "expires": float(settings.sweep_interval_s)},
            },
            # Authority requests past their deadline (Circular 07/2008 §5.4) raise alerts.
            "authority-sla": {
                "task": "moderation.authority_sla",
                "schedule": 300.0,
                "options": {"queue": "maintenance", "expires": 300.0},
            },
            # Suspensions whose term has run out: restore the blog, tell the platform (enforcement.restore_blog).
            "sanction-expiry": {
                "task": "moderation.sanction_expiry",
                "schedule": 300.0,
                "options": {"queue": "maintenance", "expires": 300.0},
            },
            # Draft the semiannual report when a period closes; remind 10 and 3 days before it is due.
            "reports-draft": {
                "task": "moderation.reports.draft_closed_periods",
                "schedule": 3600.0,
                "options": {"queue": "reports", "expires": 3600.0},
            },
            "reports-reminders": {
                "task": "moderation.reports.reminders",
                "schedule": 6 * 3600.0,
                "options": {"queue": "reports", "expires": 6 * 3600.0},
            },
        },
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    # On Redis, one redis.Redis client per kombu channel instead of one per command: in a worker that is each
    # delivery's unacked bookkeeping, its ack and every callback enqueued, not only the web's publishes.
    from moderation.web.broker import use_for

    use_for(celery)
    return celery


def celery_init_app(app: Flask, celery: Celery | None = None) -> Celery:
    """Attach Celery to a Flask app so every task runs inside its application context."""
    if celery is None:
        celery = make_celery(app.extensions["moderation"].settings)

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery.Task = FlaskTask
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
