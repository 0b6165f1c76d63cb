"""Persistence: SQLAlchemy models, sessions and the queries the services need."""

from __future__ import annotations

import importlib

# Modules that define tables; importing them registers the tables on Base.metadata.
MODEL_MODULES = (
    "moderation.store.models",
    "moderation.store.registries",
    "moderation.store.workflow",
    "moderation.store.console",
    "moderation.store.reports",
    "moderation.store.status",
)


def all_models() -> None:
    """Import every module that defines tables (those not written yet are skipped)."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
