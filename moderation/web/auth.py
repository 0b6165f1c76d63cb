"""Platform authentication for the API: key + HMAC signature over the raw body, and per-platform rate limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from sqlalchemy import select

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


def authenticate_platform(key: str | None, *, signed: bool = True) -> Platform:
    """Find the active platform for ``key`` and check the request's signature against its secret."""
    if not key:
        raise ApiError(401, "missing_key", f"the {signing.KEY_HEADER} header is required")
    session = g.db
    platform: Platform | None = session.scalars(select(Platform).where(Platform.key == key)).one_or_none()
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
    """Require a signed request from a known platform; the platform is ``g.platform``."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate_platform(request.headers.get(signing.KEY_HEADER))
        return view(*args, **kwargs)

    return cast(F, wrapper)
