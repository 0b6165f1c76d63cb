"""The sweep against a broker backlog: work that is only waiting in the queue is not re-enqueued; of what looks
stuck, at most as many as the queue cannot hold are sent again, the oldest first."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from moderation.web.runtime import RecordingQueue
from tests.conftest import SignedClient, post_payload
from workers.tasks import run_sweep


@dataclasses.dataclass
class BackloggedQueue(RecordingQueue):
    waiting: dict[str, int | None] = dataclasses.field(default_factory=dict)

    def backlog(self, queue: str) -> int | None:
        return self.waiting.get(queue)


@pytest.mark.parametrize(
    ("waiting", "resent"),
    [
        (None, 5),  # the broker cannot tell: every stuck submission is re-enqueued
        (0, 5),
        (2, 3),
        (5, 0),  # all of them may still be in the queue
        (500, 0),
    ],
)
def test_sweep_resends_only_what_the_backlog_cannot_hold(
    api: SignedClient, app: Any, settings: Any, waiting: int | None, resent: int
) -> None:
    ids = [api.post("/v1/posts", post_payload(id=f"post-{i}")).get_json()["submission_id"] for i in range(5)]
    queue = BackloggedQueue(waiting={"classify": waiting})
    rt = dataclasses.replace(app.extensions["moderation"], queue=queue)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=settings.stuck_after_s + 1)
    assert run_sweep(rt, now=later)["submissions"] == resent
    assert queue.classified == ids[:resent], "the oldest first"
