"""Load the detector registries (feeds, protected entities, works) from the database for the classifier.

``moderation scan`` and the service use this same loader, so a batch scan sees the same registries as the webhook.
The URLs of content this service removed are passed in as "known unlawful" links (Circular 07/2008 §3.1: a direct
link to unlawful information is itself prohibited).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from moderation.store.models import Decision, Submission

log = logging.getLogger(__name__)


def _store() -> Any:
    try:
        return importlib.import_module("moderation.store.registries")
    except ModuleNotFoundError:
        return None


def removed_urls(session: Session) -> list[str]:
    """URLs of submissions whose decision in force is a removal."""
    rows = session.scalars(
        select(Submission.url)
        .join(Decision, Decision.submission_id == Submission.id)
        .where(Decision.verdict == "remove", Decision.superseded_by_id.is_(None), Submission.url.is_not(None))
    )
    return [url for url in rows if url]


def registries_version(session: Session) -> str:
    """A cheap fingerprint that changes whenever a registry or the set of removed URLs changes."""
    store = _store()
    parts: list[Any] = []
    if store is not None:
        for model, stamp in ((store.Feed, "imported_at"), (store.ProtectedEntity, None), (store.Work, None)):
            query = select(func.count(), func.max(getattr(model, stamp))) if stamp else select(func.count())
            parts.append(tuple(session.execute(query.select_from(model)).one()))
    parts.append(session.scalar(select(func.count()).select_from(Decision).where(Decision.verdict == "remove")))
    return repr(parts)


def load_registries(session: Session) -> Any:
    store = _store()
    if store is None:
        return None
    return store.load_registries(session, known_unlawful_urls=removed_urls(session))


def registries_loader(sessions: sessionmaker[Session]) -> Callable[[], tuple[Any, str]]:
    """Return a function giving ``(registries, version)``, rebuilding only when the version changed."""
    cache: dict[str, Any] = {}

    def load() -> tuple[Any, str]:
        with sessions() as session:
            version = registries_version(session)
            if cache.get("version") != version:
                cache["registries"] = load_registries(session)
                cache["version"] = version
        return cache["registries"], version

    return load
