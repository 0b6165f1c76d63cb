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

from moderation.store.models import Blog, Decision, Submission

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


def blog_entities(session: Session) -> list[Any]:
    """Every active registered blog as a protected entity of its platform (a new blog must not copy its name)."""
    from moderation.detect.identity import ProtectedEntity

    out = []
    for blog in session.scalars(select(Blog).where(Blog.status == "active")):
        names = [n for n in (blog.display_name, blog.name) if n]
        if not names:
            continue
        out.append(
            ProtectedEntity(
                id=blog.external_id,
                name=names[0],
                kind="blog",
                handles=(blog.name,) if blog.name else (),
                platform_id=blog.platform_id,
                aliases=tuple(names[1:]),
                source="blog registry",
            )
        )
    return out


def registries_version(session: Session) -> str:
    """A cheap fingerprint that changes whenever a registry, the blog registry or the removed URLs change."""
    store = _store()
    parts: list[Any] = []
    if store is not None:
        stamps = (
            (store.Feed, store.Feed.imported_at),
            (store.ProtectedEntity, store.ProtectedEntity.updated_at),
            (store.Work, store.Work.registered_at),
        )
        for model, stamp in stamps:
            parts.append(tuple(session.execute(select(func.count(), func.max(stamp)).select_from(model)).one()))
    parts.append(tuple(session.execute(select(func.count(), func.max(Blog.updated_at))).one()))
    parts.append(session.scalar(select(func.count()).select_from(Decision).where(Decision.verdict == "remove")))
    return repr(parts)


def load_registries(session: Session) -> Any:
    store = _store()
    if store is None:
        return None
    from moderation.detect.registries import Registries, load_shipped_entities

    return Registries.build(
        feeds=store.load_feeds(session),
        entities=[*load_shipped_entities(), *store.load_entities(session), *blog_entities(session)],
        works=store.load_work_sketches(session),
        known_unlawful_urls=removed_urls(session),
    )


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
