"""Platform authentication for the API: key + HMAC signature over the raw body, and per-platform rate limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from moderation import signing
from moderation.errors import ApiError
from moderation.store.models import Platform
from moderation.web.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])


class TokenBucket:
    """Per-platform request budget, refilled continuously (per process; in front of N processes, N budgets)."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, per_minute / 6.0)  # bursts of ten seconds' worth
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token; return 0 when allowed, else seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._state.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / self.rate


def runtime() -> Runtime:
    return cast(Runtime, current_app.extensions["moderation"])


@dataclass(frozen=True, slots=True)
class PlatformSnapshot:
    """What a request needs of its platform, read once and shared between requests (never an ORM object).

    ``g.platform`` is one of these; services take anything with an ``id`` (they look the rest up in their session).
    """

    id: str
    name: str
    key: str
    secret: str = field(repr=False)  # never in logs
    callback_url: str | None
    is_test: bool
    active: bool

    @classmethod
    def of(cls, platform: Platform) -> PlatformSnapshot:
        return cls(
            id=platform.id,
            name=platform.name,
            key=platform.key,
            secret=platform.secret,
            callback_url=platform.callback_url,
            is_test=platform.is_test,
            active=platform.active,
        )


class PlatformCache:
    """Platforms by API key, kept for ``ttl_s`` seconds per process (``MODERATION_PLATFORM_CACHE_S``; 0 = off).

    Saves a database round trip on every signed request. A platform disabled or a secret rotated by another process
    (another gunicorn worker's console request, a script) takes effect here within ``ttl_s``; a change committed
    through this process's own sessions empties the cache at once. Unknown keys are not cached (they would be a way
    to fill it).
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._entries: dict[str, tuple[PlatformSnapshot, float]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, key: str) -> PlatformSnapshot | None:
        if self.ttl_s > 0:
            entry = self._entries.get(key)
            if entry is not None and self.clock() < entry[1]:
                return entry[0]
        platform = session.scalars(select(Platform).where(Platform.key == key)).one_or_none()
        if platform is None:
            return None
        snapshot = PlatformSnapshot.of(platform)
        if self.ttl_s > 0:
            with self._lock:
                self._entries[key] = (snapshot, self.clock() + self.ttl_s)
        return snapshot

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def watch(self, sessions: sessionmaker[Session]) -> None:
        """Empty the cache after any transaction of ``sessions`` that changed a platform commits."""
        flag = "moderation.platforms_changed"

        @event.listens_for(sessions, "after_flush")
        def _note(session: Session, _context: Any) -> None:
            changed = (*session.new, *session.dirty, *session.deleted)
            if any(isinstance(obj, Platform) for obj in changed):
                session.info[flag] = True

        @event.listens_for(sessions, "after_commit")
        def _clear(session: Session) -> None:
            if session.info.pop(flag, False):
                self.clear()

        @event.listens_for(sessions, "after_rollback")
        def _forget(session: Session) -> None:
            session.info.pop(flag, None)


_CACHE = "moderation.platforms"
_cache_lock = threading.Lock()


def platform_cache() -> PlatformCache:
    """The app's platform cache, made (and hooked to the app's sessions) on first use."""
    cache: PlatformCache | None = current_app.extensions.get(_CACHE)
    if cache is None:
        with _cache_lock:
            cache = current_app.extensions.get(_CACHE)
            if cache is None:
                rt = runtime()
                cache = PlatformCache(rt.settings.platform_cache_s)
                cache.watch(rt.sessions)
                current_app.extensions[_CACHE] = cache
    return cache


def authenticate_platform(key: str | None, *, signed: bool = True) -> PlatformSnapshot:
    """Find the active platform for ``key`` and check the request's signature against its secret."""
    if not key:
        raise ApiError(401, "missing_key", f"the {signing.KEY_HEADER} header is required")
    platform = platform_cache().get(g.db, key)
    if platform is None:
        # Spend the same time as a real check so unknown keys cannot be told apart by timing.
        signing.sign("x" * 43, "0", request.get_data(cache=True))
        raise ApiError(401, "unknown_key", "no platform has this key")
    if not platform.active:
        raise ApiError(403, "platform_disabled", "this platform is disabled")
    if signed:
        try:
            signing.verify(
                platform.secret,
                request.headers.get(signing.TIMESTAMP_HEADER),
                request.headers.get(signing.SIGNATURE_HEADER),
                request.get_data(cache=True),
                tolerance_s=runtime().settings.signature_tolerance_s,
            )
        except signing.SignatureError as exc:
            raise ApiError(401, exc.code, exc.message) from None
    limiter: TokenBucket | None = current_app.extensions.get("moderation.ratelimit")
    if limiter is not None:
        wait = limiter.take(platform.id)
        if wait:
            raise ApiError(
                429,
                "rate_limited",
                "too many requests for this platform",
                headers={"Retry-After": str(max(1, round(wait)))},
            )
    g.platform = platform
    return platform


def platform_required(view: F) -> F:
    """Require a signed request from a known platform; the platform is ``g.platform`` (a ``PlatformSnapshot``)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate_platform(request.headers.get(signing.KEY_HEADER))
        return view(*args, **kwargs)

    return cast(F, wrapper)
