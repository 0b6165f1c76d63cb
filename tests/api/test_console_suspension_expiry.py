"""Suspensions end on their own: the beat task restores the blog and sends the platform a signed
``enforcement.restore_blog`` callback once the term has run out; indefinite suspensions never expire.
On SQLite and PostgreSQL, with the real ladder (policies/vn-circular-07-2008/enforcement.yaml)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from moderation.store.db import session_scope
from moderation.store.models import AuditEntry, Blog, Delivery
from moderation.store.workflow import Sanction
from tests.api.test_workflow_enforcement import category, remove, set_callback, submit
from tests.callback_receiver import callback_receiver
from tests.conftest import SignedClient
from workers.tasks import run_deliver
from workers.tasks_workflow import run_sanction_expiry

EXPIRY_CASES = [
    # (id, circumstances of the repeat, term in days or None for indefinite)
    ("one-month", {"mitigating": ["removed_voluntarily"]}, 30),
    ("three-months", {}, 90),
    ("indefinite", {"aggravating": ["organised"]}, None),
]


def _suspend(api: SignedClient, settings: Any, circ: dict[str, list[str]]) -> Sanction:
    api.post("/v1/blogs", {"id": "blog-1", "owner_id": "author-1", "name": "nhatky"})
    for i, c in enumerate([{}, circ]):  # a first violation (warning), then the repeat (suspension)
        remove(settings, api.creds.id, submit(api, f"p{i}"), [category(severity=1)], circumstances=c)
    with session_scope(settings.database_url) as session:
        sanction = session.scalars(select(Sanction).where(Sanction.kind == "suspend_blog")).one()
        session.expunge(sanction)
        return sanction


def _blog_status(settings: Any) -> str:
    with session_scope(settings.database_url) as session:
        return session.scalars(select(Blog.status).where(Blog.external_id == "blog-1")).one()


@pytest.mark.parametrize(("circ", "days"), [c[1:] for c in EXPIRY_CASES], ids=[c[0] for c in EXPIRY_CASES])
def test_suspension_expires_restores_blog_and_calls_back(
    app: Flask, api: SignedClient, settings: Any, queue: Any, circ: dict[str, list[str]], days: int | None
) -> None:
    rt = app.extensions["moderation"]
    with callback_receiver(api.creds.secret) as receiver:
        set_callback(settings, api.creds.id, receiver.url)
        sanction = _suspend(api, settings, circ)
        assert _blog_status(settings) == "suspended"
        start = sanction.starts_at
        if days is None:
            assert sanction.indefinite
            assert sanction.until is None
        else:
            assert sanction.until is not None
            assert abs((sanction.until - start) - dt.timedelta(days=days)) < dt.timedelta(seconds=1)
        before = (sanction.until or start + dt.timedelta(days=3650)) - dt.timedelta(minutes=1)
        after = (sanction.until or start + dt.timedelta(days=3650)) + dt.timedelta(minutes=1)
        assert run_sanction_expiry(rt, now=before) == []
        assert _blog_status(settings) == "suspended"
        enqueued = len(queue.delivered)
        restored = run_sanction_expiry(rt, now=after)
        if days is None:  # indefinite: still suspended ten years on
            assert restored == []
            assert _blog_status(settings) == "suspended"
            return
        assert len(restored) == 1
        assert queue.delivered[enqueued:] == restored  # enqueued by the commit, like every delivery
        assert _blog_status(settings) == "active"
        assert run_sanction_expiry(rt, now=after + dt.timedelta(hours=1)) == []  # once only
        assert run_deliver(rt, restored[0]) is None  # delivered, signature checked by the receiver
    assert receiver.bad_signatures == 0
    (callback,) = [r for r in receiver.received if r["event"] == "enforcement.restore_blog"]
    assert callback["action"]["target_id"] == "blog-1"
    assert callback["reason"] == "expired"
    with session_scope(settings.database_url) as session:
        lifted = session.get(Sanction, sanction.id)
        assert lifted is not None
        assert lifted.lifted_reason == "expired"
        assert session.get(Delivery, restored[0]) is not None
        actions = set(session.scalars(select(AuditEntry.action)))
        assert {"sanction.expire", "blog.status"} <= actions
