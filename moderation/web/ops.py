"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text

from moderation.store.models import Decision, Delivery, Submission
from moderation.web.auth import runtime

bp = Blueprint("ops", __name__)

REQUESTS = Counter("moderation_http_requests_total", "HTTP requests", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "moderation_http_request_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class RecordsCollector(Collector):
    """Gauges read from the database at scrape time, so they are right however many processes write."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        rt = self.app.extensions["moderation"]
        with rt.sessions() as session:
            subs = GaugeMetricFamily(
                "moderation_submissions", "Submissions by status (received+processing = queue depth)", labels=["status"]
            )
            for status, n in session.execute(select(Submission.status, func.count()).group_by(Submission.status)):
                subs.add_metric([status], n)
            yield subs
            decs = GaugeMetricFamily("moderation_decisions", "Decisions by verdict", labels=["verdict"])
            for verdict, n in session.execute(select(Decision.verdict, func.count()).group_by(Decision.verdict)):
                decs.add_metric([verdict], n)
            yield decs
            dels = GaugeMetricFamily("moderation_deliveries", "Callback deliveries by status", labels=["status"])
            for status, n in session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)):
                dels.add_metric([status], n)
            yield dels


def install_metrics(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _record(response: Response) -> Response:
        endpoint = request.endpoint or "unknown"
        REQUESTS.labels(request.method, endpoint, str(response.status_code)).inc()
        if hasattr(g, "started"):
            LATENCY.labels(endpoint).observe(time.perf_counter() - g.started)
        return response


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """Alive: the process answers. Says nothing about its dependencies."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready: the database and the broker are reachable."""
    checks: dict[str, Any] = {}
    ok = True
    try:
        with runtime().sessions() as session:
            session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
        ok = False
    broker_check = current_app.extensions.get("moderation.broker_check")
    if broker_check is not None:
        try:
            broker_check()
            checks["broker"] = "ok"
        except Exception as exc:
            checks["broker"] = f"error: {type(exc).__name__}"
            ok = False
    return jsonify({"status": "ok" if ok else "unavailable", "checks": checks}), 200 if ok else 503


@bp.get("/metrics")
def metrics() -> Response:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(RecordsCollector(current_app._get_current_object()))  # type: ignore[attr-defined]
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
