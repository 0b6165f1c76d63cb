"""The classify worker's parent warms the classifier before its pool forks, closes its connections, then freezes
its heap (``moderation.heap.freeze_long_lived``): order and failure handling, with the real function's collaborators
recorded instead of run (freezing the test process would keep its garbage for good)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import moderation.heap
import moderation.store.db
import workers.worker


class _App:
    def __init__(self, classify: Any) -> None:
        classifier = SimpleNamespace(classify=classify)
        self.extensions = {"moderation": SimpleNamespace(classifiers=SimpleNamespace(get=lambda: classifier))}

    def app_context(self) -> Any:
        import contextlib

        return contextlib.nullcontext()


def _ok(item: Any, history: Any) -> None:
    return None


def _fails(item: Any, history: Any) -> None:
    raise RuntimeError("database away")


@pytest.mark.parametrize(
    ("classify", "queues", "expected"),
    [
        (_ok, None, ["dispose(close=True)", "freeze"]),  # no sender: a classify worker
        (_ok, {"classify"}, ["dispose(close=True)", "freeze"]),
        (_ok, {"classify", "callbacks"}, ["dispose(close=True)", "freeze"]),
        (_fails, {"classify"}, ["dispose(close=True)"]),  # not warm: nothing worth freezing; still no shared conn
        (_ok, {"callbacks"}, []),  # not a classify worker: no classifier built, nothing frozen
    ],
)
def test_warm_closes_connections_then_freezes(
    monkeypatch: pytest.MonkeyPatch, classify: Any, queues: set[str] | None, expected: list[str]
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(moderation.store.db, "dispose_engines", lambda close: calls.append(f"dispose(close={close})"))
    monkeypatch.setattr(moderation.heap, "freeze_long_lived", lambda: calls.append("freeze"))
    celery = SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(consume_from=queues)))
    sender = None if queues is None else SimpleNamespace(app=celery)  # the worker of this Celery app
    workers.worker._warm_classifier(_App(classify), celery, sender)
    assert calls == expected


def test_a_worker_of_another_app_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(moderation.store.db, "dispose_engines", lambda close: calls.append("dispose"))
    monkeypatch.setattr(moderation.heap, "freeze_long_lived", lambda: calls.append("freeze"))
    other = SimpleNamespace(app=SimpleNamespace())
    workers.worker._warm_classifier(_App(_ok), SimpleNamespace(), other)
    assert calls == []
