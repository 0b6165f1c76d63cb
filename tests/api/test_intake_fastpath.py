"""The intake fast path, on SQLite and PostgreSQL: the one-statement idempotent insert and the platform cache."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from moderation.store.db import session_scope
from moderation.store.models import Platform
from moderation.web.auth import PlatformCache, PlatformSnapshot
from tests.conftest import PlatformCreds, SignedClient, post_payload, recorded_statements


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def statements(settings: Any) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs while the test does."""
    with recorded_statements(settings.database_url) as seen:
        yield seen


def _touching_submissions(seen: list[str]) -> list[str]:
    return [s.split(" ", 1)[0] for s in seen if "SUBMISSIONS" in s or s.startswith(("SAVEPOINT", "RELEASE"))]


def test_a_new_post_is_one_statement_and_a_repeat_finds_the_first(api: SignedClient, statements: list[str]) -> None:
    api.post("/v1/posts", post_payload(id="warm"))  # the platform is read (and cached) here
    statements.clear()
    first = api.post("/v1/posts", post_payload())
    assert first.status_code == 202
    assert _touching_submissions(statements) == ["INSERT"]
    assert "ON CONFLICT" in next(s for s in statements if s.startswith("INSERT"))
    assert not any("FROM PLATFORMS" in s for s in statements)  # the cached platform
    statements.clear()
    again = api.post("/v1/posts", post_payload())
    assert again.status_code == 200
    assert again.get_json()["submission_id"] == first.get_json()["submission_id"]
    assert _touching_submissions(statements) == ["INSERT", "SELECT"]


def _disable(row: Platform) -> None:
    row.active = False


def _rotate(row: Platform) -> None:
    row.secret = "rotated-secret-" + "x" * 30


CHANGES = [
    # (id, change made by another process, status within the TTL, status after it)
    ("disabled", _disable, 202, 403),
    ("secret-rotated", _rotate, 202, 401),
]


@pytest.mark.parametrize(("change", "within", "after"), [c[1:] for c in CHANGES], ids=[c[0] for c in CHANGES])
def test_a_change_from_another_process_takes_effect_within_the_ttl(
    app: Flask, settings: Any, platform: PlatformCreds, change: Any, within: int, after: int
) -> None:
    clock = Clock()
    app.extensions["moderation.platforms"] = PlatformCache(5.0, clock=clock)
    api = SignedClient(app.test_client(), platform)
    assert api.post("/v1/posts", post_payload(id="p0")).status_code == 202
    with session_scope(settings.database_url) as session:  # not the app's sessions: as the CLI would
        row = session.get(Platform, platform.id)
        assert row is not None
        change(row)
    clock.now += 4.9
    assert api.post("/v1/posts", post_payload(id="p1")).status_code == within
    clock.now += 0.2
    assert api.post("/v1/posts", post_payload(id="p2")).status_code == after


@pytest.mark.parametrize("through", ["app-sessions", "ttl-zero"])
def test_a_change_takes_effect_at_once(app: Flask, settings: Any, platform: PlatformCreds, through: str) -> None:
    rt = app.extensions["moderation"]
    cache = PlatformCache(0.0 if through == "ttl-zero" else 5.0, clock=Clock())
    cache.watch(rt.sessions)
    app.extensions["moderation.platforms"] = cache
    api = SignedClient(app.test_client(), platform)
    assert api.post("/v1/posts", post_payload(id="p0")).status_code == 202
    maker = rt.sessions if through == "app-sessions" else None
    if maker is not None:  # the console's way: a commit through the app's own sessions empties the cache
        with maker() as session:
            _disable(session.get(Platform, platform.id))
            session.commit()
    else:
        with session_scope(settings.database_url) as session:
            _disable(session.get(Platform, platform.id))
    response = api.post("/v1/posts", post_payload(id="p1"))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "platform_disabled"


def test_the_snapshot_does_not_show_the_secret() -> None:
    snap = PlatformSnapshot("plt_1", "P", "pk_1", "very-secret", None, False, True)
    assert "very-secret" not in repr(snap)


def test_concurrent_identical_requests_record_one_submission(settings: Any, platform: PlatformCreds) -> None:
    """The second insert waits for the first transaction; once it commits, the second finds its row (not new)."""
    import threading

    from moderation.services import intake
    from moderation.store.db import session_factory

    sessions = session_factory(settings.database_url)
    ref = PlatformSnapshot(platform.id, "P", platform.key, platform.secret, None, False, True)
    first = sessions()
    second = sessions()
    try:
        mine, created = intake.submit_item(first, ref, "post", post_payload())
        assert created
        result: list[tuple[Any, bool]] = []
        racer = threading.Thread(target=lambda: result.append(intake.submit_item(second, ref, "post", post_payload())))
        racer.start()
        racer.join(0.3)  # blocked on the first transaction's row (or, on SQLite, its write lock)
        first.commit()
        racer.join(30)
        ((theirs, created_again),) = result
        assert (theirs.id, created_again) == (mine.id, False)
        second.commit()
    finally:
        first.close()
        second.close()


@pytest.fixture
def pg_commands(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The transaction commands psycopg sends (BEGIN, COMMIT, ROLLBACK); none are sent in autocommit."""
    from psycopg import _connection_base

    sent: list[str] = []
    cls: Any = _connection_base.BaseConnection
    original = cls._exec_command

    def recording(self: Any, command: Any, *args: Any, **kwargs: Any) -> Any:
        raw = command if isinstance(command, bytes | str) else command.as_string(self)
        sent.append((raw.decode() if isinstance(raw, bytes) else raw).split()[0].upper())
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(cls, "_exec_command", recording)
    return sent


AUTOCOMMIT = [
    # (request, status, in a transaction (BEGIN ... COMMIT) or in autocommit (none), rows stored)
    ("new post", "/v1/posts", 202, False, 1),  # one round trip: the INSERT commits itself
    ("repeat", "/v1/posts", 200, False, 1),
    ("sync", "/v1/posts?sync=1", 202, True, 1),  # classified in the same transaction, committed as a whole
    ("rejected", "/v1/posts", 422, False, 0),  # nothing reaches the database
]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # psycopg's commands: PostgreSQL only
@pytest.mark.parametrize(
    ("path", "status", "transaction", "rows"), [c[1:] for c in AUTOCOMMIT], ids=[c[0] for c in AUTOCOMMIT]
)
def test_a_post_is_stored_in_autocommit_unless_classified_inline(
    app: Flask,
    settings: Any,
    platform: PlatformCreds,
    pg_commands: list[str],
    path: str,
    status: int,
    transaction: bool,
    rows: int,
) -> None:
    from sqlalchemy import func, select

    from moderation.store.models import Submission

    api = SignedClient(app.test_client(), platform)
    payload = post_payload(id="p1") if status != 422 else {"id": "p1"}
    assert api.post("/v1/posts", post_payload(id="warm")).status_code == 202  # the platform is read (and cached)
    if status == 200:
        assert api.post(path, payload).status_code == 202
    pg_commands.clear()
    response = api.post(path, payload)
    assert response.status_code == status, response.get_json()
    if transaction:
        assert (pg_commands[0], pg_commands[-1]) == ("BEGIN", "COMMIT"), pg_commands
    else:
        assert pg_commands == []
    with session_scope(settings.database_url) as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == rows + 1  # and the warm-up's


@pytest.mark.parametrize(
    ("path", "cookie_session"), [("/v1/posts", False), ("/1.1/comment-check", False), ("/console/login", True)]
)
def test_the_platform_apis_skip_the_cookie_session(app: Flask, path: str, cookie_session: bool) -> None:
    from flask.sessions import NullSession

    with app.test_request_context(path, method="POST"):
        from flask import session

        assert isinstance(session._get_current_object(), NullSession) is not cookie_session  # type: ignore[attr-defined]
