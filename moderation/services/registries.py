"""Load the detector registries (feeds, protected entities, works) from the database for the classifier.

``moderation scan`` and the service use this same loader, so a batch scan sees the same registries as the webhook.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)


def registries_loader(sessions: sessionmaker[Session]) -> Callable[[], tuple[Any, str]]:
    """Return a function giving ``(registries, version)``; the version changes when any registry changes."""

    def load() -> tuple[Any, str]:
        try:
            store = importlib.import_module("moderation.store.registries")
        except ModuleNotFoundError:
            return None, ""
        with sessions() as session:
            version = str(store.registries_version(session))
            return store.load_registries(session), version

    return load
