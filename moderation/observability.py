"""Structured JSON logs with secrets stripped, and Sentry when ``SENTRY_DSN`` is set."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Mapping
from typing import Any

# Keys whose values never reach a log line or an error report.
SECRET_KEYS = re.compile(
    r"(secret|password|passwd|token|signature|authorization|cookie|api_key|^key$|csrf|totp|dsn)", re.IGNORECASE
)
# Values that look like our own credentials, wherever they appear in a message; and PostgreSQL's DETAIL lines,
# which quote row values ("Failing row contains (…)", "Key (id)=(…) already exists") into error messages.
SECRET_VALUES = re.compile(r"(v1=[0-9a-f]{64}|pk_[0-9a-f]{24}|(?<=://)[^:/@\s]+:[^@/\s]+(?=@)|(?<=DETAIL:)[^\n]+)")

_STANDARD_ATTRS = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


def scrub(value: Any, depth: int = 0) -> Any:
    """Return ``value`` with secret-looking keys masked and credential-looking strings replaced."""
    if depth > 6:
        return "…"
    if isinstance(value, dict):
        return {k: ("***" if SECRET_KEYS.search(str(k)) else scrub(v, depth + 1)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v, depth + 1) for v in value]
    if isinstance(value, str):
        return SECRET_VALUES.sub("***", value)
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(scrub(out), ensure_ascii=False, default=str)


class ScrubFilter(logging.Filter):
    """Scrub plain-text log lines too (when JSON logging is off)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(str(record.msg))
        if isinstance(record.args, Mapping):  # logger.info("%(name)s", {...}), as Celery logs its tasks
            record.args = scrub(dict(record.args))
        elif record.args:
            record.args = tuple(scrub(a) if isinstance(a, str | dict) else a for a in record.args)
        return True


def configure_logging(level: str = "INFO", json_logs: bool = True) -> None:
    """Send the root logger to stderr, as JSON lines by default."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ScrubFilter())
    handler.setFormatter(
        JsonFormatter() if json_logs else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def init_sentry(dsn: str | None, environment: str, *, celery: bool = False) -> bool:
    """Start sentry-sdk with the Flask (and Celery) integrations; return whether it was started."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration

    integrations: list[Any] = [FlaskIntegration()]
    if celery:
        from sentry_sdk.integrations.celery import CeleryIntegration

        integrations.append(CeleryIntegration())

    def before_send(event: Any, _hint: Any) -> Any:
        return scrub(event)

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=integrations,
        send_default_pii=False,
        before_send=before_send,
        traces_sample_rate=0.0,
    )
    return True
