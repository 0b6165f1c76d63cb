"""Tenant isolation: for every platform endpoint, platform B can neither read nor change platform A's objects.

``ATTACKS`` has one entry per ``(rule, method)`` of the app's URL map under ``/v1`` and ``/1.1``;
``test_every_platform_route_has_an_attack`` fails when a route is added without one, so a new endpoint cannot be
forgotten. Each attack is B aiming at A's real objects (ids, external ids, content); afterwards every row that
belongs to A (rows with A's ``platform_id`` and their child rows) must be exactly as before, and B's responses must
not carry A's ids. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Table, select

# Every model module, so that the metadata knows every table.
import moderation.store.console
import moderation.store.registries
import moderation.store.reports
import moderation.store.workflow  # noqa: F401
from moderation.config import Settings
from moderation.store.base import Base
from moderation.store.db import dispose_engines, get_engine
from moderation.store.models import Feedback
from moderation.web.runtime import RecordingQueue
from tests.conftest import fresh_database, make_settings
from tests.security.world import World, build_world


@dataclass
class Tenants:
    app: Flask
    settings: Settings
    a: World  # the owner
    b: World  # the intruder

    def snapshot(self, platform_id: str) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of ``platform_id``: rows with its platform_id, its platform row and their child rows."""
        tables = Base.metadata.sorted_tables
        owned: dict[str, set[Any]] = {}
        rows: dict[str, list[tuple[Any, ...]]] = {}
        with get_engine(self.settings.database_url).connect() as conn:
            for table in tables:  # parents come before children in sorted_tables
                query = _owned_rows(table, platform_id, owned)
                if query is None:
                    continue
                found = [tuple(r) for r in conn.execute(query)]
                rows[table.name] = sorted(found, key=repr)
                pk = list(table.primary_key.columns)
                if len(pk) == 1:
                    index = list(table.columns).index(pk[0])
                    owned[table.name] = {r[index] for r in found}
        return rows

    def secrets_of(self, world: World) -> set[str]:
        """What of A must never appear in B's responses: A's internal ids (any column), key and secret."""
        snapshot = self.snapshot(world.creds.id)
        values = {v for rows in snapshot.values() for row in rows for v in row if isinstance(v, str)}
        return {v for v in values if _INTERNAL_ID.match(v)} | {world.creds.key, world.creds.secret}


_INTERNAL_ID = re.compile(r"^[a-z]+_[0-9a-f]{32}$")  # moderation.store.base.new_id


def _owned_rows(table: Table, platform_id: str, owned: dict[str, set[Any]]) -> Any:
    if table.name == "platforms":
        return select(table).where(table.c.id == platform_id)
    if "platform_id" in table.c:
        return select(table).where(table.c.platform_id == platform_id)
    for fk in table.foreign_keys:
        parent = fk.column.table.name
        if parent in owned and parent != "platforms":
            return select(table).where(fk.parent.in_(owned[parent] or {"-"}))
    return None


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def tenants(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenants]:
    tmp = tmp_path_factory.mktemp("tenants")
    settings = make_settings(fresh_database(request, request.param, tmp), tmp, registries_refresh_s=3600)
    from moderation.web.app import create_app

    app = create_app(settings, queue=RecordingQueue())
    app.testing = True
    a = build_world(app, settings, "Platform A", prefix="a-")
    b = build_world(app, settings, "Platform B", prefix="b-")
    yield Tenants(app, settings, a, b)
    dispose_engines()


# --- the attacks: B aims at A's objects; each returns B's response for the leak check --------------------------


def _read(path_param: str, template: str) -> Callable[[Tenants], Any]:
    """B reads A's object by id: 404; A reads it: 200 (so the id is real)."""

    def attack(t: Tenants) -> Any:
        own = t.a.client.get(template.format(t.a.ids[path_param]))
        assert own.status_code == 200, own.get_data(as_text=True)[:300]
        response = t.b.client.get(template.format(t.a.ids[path_param]))
        assert response.status_code == 404, response.get_data(as_text=True)[:300]
        return response

    return attack


def _list_decisions(t: Tenants) -> Any:
    mine = {d["id"] for d in t.a.client.get("/v1/decisions?limit=1000").get_json()["decisions"]}
    assert t.a.ids["decision_id"] in mine
    response = t.b.client.get("/v1/decisions?limit=1000")
    assert response.status_code == 200
    theirs = {d["id"] for d in response.get_json()["decisions"]}
    assert theirs
    assert not theirs & mine
    return response


def _confirm(t: Tenants) -> Any:
    response = t.b.client.post(f"/v1/authority-requests/{t.a.ids['request_id']}/confirmations", {"targets": ["a-p1"]})
    assert response.status_code == 404, response.get_data(as_text=True)[:300]
    return response


def _submit(kind: str) -> Callable[[Tenants], Any]:
    """B sends a new revision of A's item id: B gets an item of its own; A's stays as it was."""

    def attack(t: Tenants) -> Any:
        external = "a-p1" if kind == "posts" else "a-c1"
        body = {
            "id": external,
            "revision": 2,
            "blog_id": "a-blog-1",
            "author_id": "a-author-1",
            "body": "Sửa lại bài viết",
            "post_id": "a-p1",
        }
        response = t.b.client.post(f"/v1/{kind}?sync=1", body)
        assert response.status_code == 202, response.get_data(as_text=True)[:300]
        assert t.a.client.get(f"/v1/submissions/{response.get_json()['submission_id']}").status_code == 404
        return response

    return attack


def _register(kind: str, body: dict[str, Any]) -> Callable[[Tenants], Any]:
    """B registers an object under A's id: a new object of B's (201 created), A's untouched."""

    def attack(t: Tenants) -> Any:
        response = t.b.client.post(f"/v1/{kind}", body)
        assert response.status_code == 201, response.get_data(as_text=True)[:300]
        if kind != "blogs":  # B removes its own copy again, so the read attacks below find nothing of B's
            assert t.b.client.request("DELETE", f"/v1/{kind}/{body['id']}").status_code == 204
        return response

    return attack


def _list(kind: str, own_id: str) -> Callable[[Tenants], Any]:
    """B's listing has B's objects and none of A's."""

    def attack(t: Tenants) -> Any:
        assert {i["id"] for i in t.a.client.get(f"/v1/{kind}").get_json()["items"]} == {f"a-{own_id}"}
        response = t.b.client.get(f"/v1/{kind}")
        assert response.status_code == 200
        assert {i["id"] for i in response.get_json()["items"]} == {f"b-{own_id}"}
        return response

    return attack


def _delete(path_param: str, template: str) -> Callable[[Tenants], Any]:
    def attack(t: Tenants) -> Any:
        response = t.b.client.request("DELETE", template.format(t.a.ids[path_param]))
        assert response.status_code == 404, response.get_data(as_text=True)[:300]
        return response

    return attack


def _appeal(t: Tenants) -> Any:
    response = t.b.client.post(
        "/v1/appeals",
        {
            "decision_id": t.a.ids["decision_id"],
            "appellant_id": "a-author-1",
            "grounds": "Kháng nghị thay cho người khác",
        },
    )
    assert response.status_code in (404, 422), response.get_data(as_text=True)[:300]
    return response


def _notice(t: Tenants) -> Any:
    response = t.b.client.post(
        "/v1/notices",
        {
            "notifier": {"name": "Kẻ xâm nhập", "capacity": "user"},
            "targets": ["a-p1"],
            "category": "slander",
            "explanation": "Báo cáo bài của nền tảng khác",
            "good_faith": True,
        },
    )
    assert response.status_code in (201, 404, 422), response.get_data(as_text=True)[:300]
    return response


def _authority(t: Tenants) -> Any:
    response = t.b.client.post(
        "/v1/authority-requests",
        {
            "issuing_body": "Bộ Thông tin và Truyền thông",
            "document_number": "999/BTTTT",
            "document_date": dt.date.today().isoformat(),
            "targets": ["a-p1"],
            "legal_basis": {"instrument": "Thông tư 07/2008/TT-BTTTT", "article": "5", "clause": "4"},
        },
    )
    assert response.status_code in (201, 404, 422), response.get_data(as_text=True)[:300]
    return response


def _report(path: str) -> Callable[[Tenants], Any]:
    """B's report is the same before and after A's activity, and is not A's stored report."""

    def attack(t: Tenants) -> Any:
        today = dt.date.today()
        query = (
            f"?from={today.replace(day=1).isoformat()}&to={today.isoformat()}"
            if path == "adhoc"
            else f"?year={today.year}&half={1 if today.month <= 6 else 2}"
        )
        before = t.b.client.get(f"/v1/reports/{path}{query}")
        assert before.status_code == 200, before.get_data(as_text=True)[:300]
        extra = t.a.client.post(
            "/v1/posts?sync=1",
            {
                "id": f"a-report-{path}",
                "blog_id": "a-blog-1",
                "author_id": "a-author-1",
                "body": "Bán ma túy đá giá rẻ",
            },
        )
        assert extra.status_code == 202
        after = t.b.client.get(f"/v1/reports/{path}{query}")
        assert after.headers["X-Report-Sha256"] == before.headers["X-Report-Sha256"]
        assert after.headers["X-Report-Id"] != t.a.ids["report_id"]
        return after

    return attack


def _public_status(t: Tenants) -> Any:
    response = t.b.client.get("/v1/status")
    assert response.status_code == 200
    return response


def _verify_key(t: Tenants) -> Any:
    response = t.b.client.client.post("/1.1/verify-key", data={"key": t.b.creds.key, "blog": "https://b.vn"})
    assert response.get_data(as_text=True) == "valid"
    return response


def _comment_check(t: Tenants) -> Any:
    """B sends exactly the comment A sent (same derived item id): B's own submission, not A's decision."""
    form = {**t.a.akismet_form(), "api_key": t.b.creds.key}
    response = t.b.client.client.post("/1.1/comment-check", data=form)
    assert response.status_code == 200
    return response


def _feedback(kind: str) -> Callable[[Tenants], Any]:
    """B reports A's comment as spam/ham: the feedback is B's and points at none of A's items."""

    def attack(t: Tenants) -> Any:
        form = {**t.a.akismet_form(), "api_key": t.b.creds.key}
        response = t.b.client.client.post(f"/1.1/submit-{kind}", data=form)
        assert response.status_code == 200
        a_subs = {row[0] for row in t.snapshot(t.a.creds.id)["submissions"]}
        with get_engine(t.settings.database_url).connect() as conn:
            pointed = set(conn.execute(select(Feedback.submission_id).where(Feedback.platform_id == t.b.creds.id)))
        assert not {p[0] for p in pointed} & a_subs
        return response

    return attack


ATTACKS: dict[tuple[str, str], Callable[[Tenants], Any]] = {
    ("/v1/submissions/<submission_id>", "GET"): _read("submission_id", "/v1/submissions/{}"),
    ("/v1/decisions", "GET"): _list_decisions,
    ("/v1/decisions/<decision_id>/statement", "GET"): _read("decision_id", "/v1/decisions/{}/statement"),
    ("/v1/appeals/<appeal_id>", "GET"): _read("appeal_id", "/v1/appeals/{}"),
    ("/v1/notices/<notice_id>", "GET"): _read("notice_id", "/v1/notices/{}"),
    ("/v1/authority-requests/<request_id>", "GET"): _read("request_id", "/v1/authority-requests/{}"),
    ("/v1/reports/<report_id>", "GET"): _read("report_id", "/v1/reports/{}"),
    ("/v1/authority-requests/<request_id>/confirmations", "POST"): _confirm,
    ("/v1/posts", "POST"): _submit("posts"),
    ("/v1/comments", "POST"): _submit("comments"),
    ("/v1/blogs", "POST"): _register(
        "blogs", {"id": "a-blog-1", "owner_id": "b-owner", "name": "Chiếm blog", "status": "suspended"}
    ),
    ("/v1/works", "POST"): _register("works", {"id": "a-work-1", "title": "Chiếm", "body": "Nội dung khác " * 20}),
    ("/v1/works", "GET"): _list("works", "work-1"),
    ("/v1/entities", "GET"): _list("entities", "entity-1"),
    ("/v1/works/<work_id>", "GET"): _read("work_id", "/v1/works/{}"),
    ("/v1/entities/<entity_id>", "GET"): _read("entity_id", "/v1/entities/{}"),
    ("/v1/works/<work_id>", "DELETE"): _delete("work_id", "/v1/works/{}"),
    ("/v1/entities/<entity_id>", "DELETE"): _delete("entity_id", "/v1/entities/{}"),
    ("/v1/entities", "POST"): _register("entities", {"id": "a-entity-1", "name": "Chiếm", "kind": "brand"}),
    ("/v1/appeals", "POST"): _appeal,
    ("/v1/notices", "POST"): _notice,
    ("/v1/authority-requests", "POST"): _authority,
    ("/v1/reports/semiannual", "GET"): _report("semiannual"),
    ("/v1/reports/adhoc", "GET"): _report("adhoc"),
    ("/v1/status", "GET"): _public_status,  # public: no platform's objects in it
    ("/1.1/verify-key", "POST"): _verify_key,
    ("/1.1/comment-check", "POST"): _comment_check,
    ("/1.1/submit-spam", "POST"): _feedback("spam"),
    ("/1.1/submit-ham", "POST"): _feedback("ham"),
}

# Attacks after which A's rows may legitimately change because A itself acted (the report attack posts as A).
_A_ACTS = {("/v1/reports/semiannual", "GET"), ("/v1/reports/adhoc", "GET")}


def platform_routes(app: Flask) -> set[tuple[str, str]]:
    return {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(("/v1/", "/1.1/"))
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }


def test_every_platform_route_has_an_attack(tenants: Tenants) -> None:
    routes = platform_routes(tenants.app)
    missing = sorted(routes - set(ATTACKS))
    assert not missing, f"add these routes to ATTACKS in {__file__}: {missing}"
    assert not sorted(set(ATTACKS) - routes), "ATTACKS names routes that no longer exist"


@pytest.mark.parametrize("route", sorted(ATTACKS), ids=[f"{m} {r}" for r, m in sorted(ATTACKS)])
def test_platform_b_cannot_read_or_change_platform_a(tenants: Tenants, route: tuple[str, str]) -> None:
    before = tenants.snapshot(tenants.a.creds.id)
    secrets = tenants.secrets_of(tenants.a)
    response = ATTACKS[route](tenants)
    text = response.get_data(as_text=True)
    leaked = sorted(i for i in secrets if i in text)
    assert not leaked, f"B's response carries A's ids {leaked}: {text[:500]}"
    if route not in _A_ACTS:
        after = tenants.snapshot(tenants.a.creds.id)
        changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
        assert not changed, f"A's rows changed in {changed}"
