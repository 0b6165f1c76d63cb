"""Configuration in layers: defaults → optional file → environment variables.

Every setting has a default that works on one laptop (SQLite under ``var/``, Celery's SQLAlchemy transport on SQLite
as broker), so ``make run`` needs no server. Environment variables override: the documented names
(``DATABASE_URL``, ``CELERY_BROKER_URL``, ``SENTRY_DSN`` …) and, for every other setting, ``MODERATION_<NAME>``.
A file named by ``MODERATION_CONFIG`` (YAML, keys as below, lower case) sits between the two.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from moderation.detect import model_choice

REPO_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the message says which and how to fix it."""


def _default_var_dir() -> Path:
    return Path(os.environ.get("MODERATION_VAR_DIR", REPO_ROOT / "var"))


@dataclass(frozen=True)
class Settings:
    """All settings of the service. Names are the lower-case form of the environment variables."""

    database_url: str = ""
    celery_broker_url: str = ""
    celery_result_backend: str | None = None
    var_dir: Path = field(default_factory=_default_var_dir)
    policies_dir: Path = REPO_ROOT / "policies"
    secret_key: str = ""
    sentry_dsn: str | None = None
    sentry_environment: str = "development"
    # Intake limits.
    max_body_bytes: int = 1024 * 1024
    signature_tolerance_s: int = 300
    rate_limit_per_minute: int = 6000  # per platform and process; 0 turns it off
    platform_cache_s: float = 5.0  # platforms by API key cached per web process; a disable/rotation lags this; 0 off
    # Pipeline.
    registries_refresh_s: float = 10.0  # how stale feeds, entities, works and removed URLs may be in a worker
    stuck_after_s: int = 300  # a submission still received/processing after this is re-enqueued by the sweep
    sweep_interval_s: int = 60
    callback_timeout_s: float = 10.0
    callback_max_age_s: int = 48 * 3600  # retried with backoff for at least 24 h, given up after this
    callback_backoff_base_s: int = 30
    callback_backoff_cap_s: int = 3600
    log_level: str = "INFO"
    log_json: bool = True

    def __post_init__(self) -> None:
        var = Path(self.var_dir)
        object.__setattr__(self, "var_dir", var)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{var / 'moderation.db'}")
        if not self.celery_broker_url:
            object.__setattr__(self, "celery_broker_url", f"sqla+sqlite:///{var / 'broker.db'}")
        if not self.secret_key:
            object.__setattr__(self, "secret_key", _local_secret(var))
        if self.max_body_bytes <= 0:
            raise ConfigError("MODERATION_MAX_BODY_BYTES must be a positive number of bytes")

    @property
    def embedded_broker(self) -> bool:
        return self.celery_broker_url.startswith("sqla+")

    def redacted(self) -> dict[str, Any]:
        """Return the settings with secrets and credentials masked, for logs and ``/readyz``."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in {"secret_key", "sentry_dsn"} and value:
                value = "***"
            elif isinstance(value, str) and "://" in value:
                value = redact_url(value)
            out[f.name] = str(value) if isinstance(value, Path) else value
        return out


def redact_url(url: str) -> str:
    """Hide the password in a database or broker URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _local_secret(var: Path) -> str:
    """Keep a random per-installation secret under var/ so sessions survive restarts on a laptop."""
    path = var / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        import secrets

        var.mkdir(parents=True, exist_ok=True)
        value = secrets.token_hex(32)
        path.write_text(value)
        path.chmod(0o600)
        return value


# Documented environment names that do not carry the MODERATION_ prefix.
_PLAIN_ENV = {
    "database_url": "DATABASE_URL",
    "celery_broker_url": "CELERY_BROKER_URL",
    "celery_result_backend": "CELERY_RESULT_BACKEND",
    "sentry_dsn": "SENTRY_DSN",
    "secret_key": "SECRET_KEY",
}


def _coerce(name: str, raw: Any, kind: Any) -> Any:
    kind_s = str(kind)
    try:
        if "bool" in kind_s:
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if kind_s.startswith("int"):
            return int(raw)
        if kind_s.startswith("float"):
            return float(raw)
        if "Path" in kind_s:
            return Path(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot read {raw!r} as {kind_s}") from exc
    return raw if raw is None else str(raw)


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from defaults, the optional config file, the environment and explicit overrides."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    fields = {f.name: f for f in dataclasses.fields(Settings)}
    config_file = env.get("MODERATION_CONFIG")
    if config_file:
        try:
            data = yaml.safe_load(Path(config_file).read_text()) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"MODERATION_CONFIG={config_file}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"MODERATION_CONFIG={config_file}: expected a mapping of settings")
        unknown = set(data) - set(fields)
        if unknown:
            raise ConfigError(f"MODERATION_CONFIG={config_file}: unknown settings {sorted(unknown)}")
        values.update(data)
    for name in fields:
        for var in (_PLAIN_ENV.get(name), f"MODERATION_{name.upper()}"):
            if var and env.get(var):
                values[name] = env[var]
    values.update({k: v for k, v in overrides.items() if v is not None})
    coerced = {k: _coerce(k, v, fields[k].type) for k, v in values.items()}
    try:  # read by the offensive-language detector itself; checked here so a bad value stops the service at start
        model_choice.resolve(env=env)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    return Settings(**coerced)
