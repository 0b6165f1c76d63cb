"""Service-status announcements (Decree 64/2007 Art. 16): the seven-working-day rule, the store, ``GET /v1/status``,
the console banner and the ``moderation status`` command."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from flask import Flask

from moderation.cli.status import status as status_cli
from moderation.config import Settings, load_settings
from moderation.store import status as store
from moderation.store.base import utcnow
from moderation.store.db import session_scope
from moderation.workflow.calendar import VN_TZ, WorkingCalendar, local_date


def vn(text: str) -> dt.datetime:
    """A time in Vietnam: ``"2025-03-03 09:00"``."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


MON = vn("2025-03-03 09:00")  # an ordinary week; 7 working days later is Wednesday 2025-03-12

# (case, kind, now, starts_at, ends_at, expected_recovery, allow_late, error field or None, notice)
VALIDATION = [
    (
        "planned exactly 7 working days ahead",
        "planned",
        MON,
        "2025-03-12 22:00",
        "2025-03-13 02:00",
        None,
        False,
        None,
        7,
    ),
    ("planned a day too soon", "planned", MON, "2025-03-11 22:00", "2025-03-12 02:00", None, False, "starts_at", None),
    (
        "planned late but forced: recorded, flagged",
        "planned",
        MON,
        "2025-03-05 22:00",
        "2025-03-06 01:00",
        None,
        True,
        None,
        2,
    ),
    (
        "Tết holidays do not count",
        "planned",
        vn("2025-01-20 09:00"),
        "2025-02-04 22:00",
        "2025-02-05 01:00",
        None,
        False,
        "starts_at",
        None,
    ),
    (
        "after Tết it is enough",
        "planned",
        vn("2025-01-20 09:00"),
        "2025-02-05 22:00",
        "2025-02-06 01:00",
        None,
        False,
        None,
        7,
    ),
    (
        "30 April and 1 May do not count",
        "planned",
        vn("2025-04-25 09:00"),
        "2025-05-07 22:00",
        "2025-05-08 01:00",
        None,
        False,
        "starts_at",
        None,
    ),
    (
        "the announcement day does not count, late evening",
        "planned",
        vn("2025-03-03 23:30"),
        "2025-03-12 00:30",
        "2025-03-12 02:00",
        None,
        False,
        None,
        7,
    ),
    ("planned needs an end", "planned", MON, "2025-03-20 22:00", None, None, False, "ends_at", None),
    ("planned in the past", "planned", MON, "2025-03-01 22:00", "2025-03-02 01:00", None, True, "starts_at", None),
    ("end before start", "planned", MON, "2025-03-20 22:00", "2025-03-20 21:00", None, False, "ends_at", None),
    ("outage with recovery time", "unplanned", MON, "2025-03-03 08:50", None, "2025-03-03 11:00", False, None, None),
    (
        "outage without recovery time",
        "unplanned",
        MON,
        "2025-03-03 08:50",
        None,
        None,
        False,
        "expected_recovery",
        None,
    ),
    (
        "outage recovering before it started",
        "unplanned",
        MON,
        "2025-03-03 08:50",
        None,
        "2025-03-03 08:00",
        False,
        "expected_recovery",
        None,
    ),
    ("unknown kind", "scheduled", MON, "2025-03-20 22:00", "2025-03-21 01:00", None, False, "kind", None),
]


@pytest.mark.parametrize(
    ("kind", "now", "starts", "ends", "recovery", "allow_late", "error", "notice"),
    [pytest.param(*case[1:], id=case[0]) for case in VALIDATION],
)
def test_seven_working_days_rule(
    kind: str,
    now: dt.datetime,
    starts: str,
    ends: str | None,
    recovery: str | None,
    allow_late: bool,
    error: str | None,
    notice: int | None,
) -> None:
    args: dict[str, Any] = {
        "now": now,
        "allow_late": allow_late,
        "components": ["api"],
    }
    call = (kind, vn(starts), vn(ends) if ends else None, vn(recovery) if recovery else None, "Bảo trì hệ thống")
    if error is None:
        assert store.validate_announcement(*call, **args) == notice
    else:
        with pytest.raises(store.AnnouncementError) as info:
            store.validate_announcement(*call, **args)
        assert info.value.field == error


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("message_vi", "  ", "message_vi"),
        ("components", ["api", "database-room"], "components"),
        ("starts_at", dt.datetime(2025, 3, 20, 22), "starts_at"),  # naive
    ],
)
def test_malformed_announcements_are_refused(field: str, value: Any, error: str) -> None:
    args: dict[str, Any] = {
        "kind": "planned",
        "starts_at": vn("2025-03-20 22:00"),
        "ends_at": vn("2025-03-21 01:00"),
        "expected_recovery": None,
        "message_vi": "Bảo trì",
        "now": MON,
        "components": ["api"],
    }
    args[field] = value
    with pytest.raises(store.AnnouncementError) as info:
        store.validate_announcement(**args)
    assert info.value.field == error


def _seed(url: str) -> dict[str, str]:
    """An outage under way, maintenance next week, maintenance in two months, a cancelled one, an ended outage."""
    with session_scope(url) as s:
        ids = {
            "outage": store.announce(
                s,
                "unplanned",
                message_vi="Mất kết nối",
                message_en="Outage",
                starts_at=MON,
                expected_recovery=MON + dt.timedelta(hours=2),
                components=["api", "callbacks"],
                now=MON,
            ).id,
            "soon": store.announce(
                s,
                "planned",
                message_vi="Nâng cấp CSDL",
                starts_at=vn("2025-03-12 22:00"),
                ends_at=vn("2025-03-13 01:00"),
                now=MON - dt.timedelta(days=1),
            ).id,
            "far": store.announce(
                s,
                "planned",
                message_vi="Chuyển trung tâm dữ liệu",
                starts_at=vn("2025-05-05 22:00"),
                ends_at=vn("2025-05-06 03:00"),
                now=MON - dt.timedelta(days=1),
            ).id,
            "cancelled": store.announce(
                s,
                "planned",
                message_vi="Huỷ",
                starts_at=vn("2025-03-20 22:00"),
                ends_at=vn("2025-03-21 01:00"),
                now=MON - dt.timedelta(days=1),
            ).id,
            "over": store.announce(
                s,
                "unplanned",
                message_vi="Đã xong",
                starts_at=MON - dt.timedelta(hours=5),
                expected_recovery=MON - dt.timedelta(hours=4),
                now=MON - dt.timedelta(hours=5),
            ).id,
        }
        store.cancel(s, ids["cancelled"], now=MON)
        store.end(s, ids["over"], now=MON - dt.timedelta(hours=4))
    return ids


# (moment, ids in force, ids upcoming within 60 days)
TIMELINE = [
    (MON + dt.timedelta(minutes=1), ["outage"], ["soon"]),
    (vn("2025-03-12 23:00"), ["outage", "soon"], ["far"]),  # the outage was never ended
    (vn("2025-03-13 02:00"), ["outage"], ["far"]),
]


@pytest.mark.parametrize(("moment", "current", "upcoming"), TIMELINE)
def test_current_and_upcoming(settings: Settings, moment: dt.datetime, current: list[str], upcoming: list[str]) -> None:
    ids = _seed(settings.database_url)
    with session_scope(settings.database_url) as s:
        cur, up = store.current_and_upcoming(s, moment)
    names = {v: k for k, v in ids.items()}
    assert [names[a.id] for a in cur] == current
    assert [names[a.id] for a in up] == upcoming


@pytest.mark.parametrize(
    ("action", "target", "error"),
    [
        ("end", "soon", "id"),  # not started yet: cancel it instead
        ("end", "cancelled", "id"),
        ("cancel", "ann_missing", "id"),
        ("update_recovery_before_start", "outage", "expected_recovery"),
    ],
)
def test_lifecycle_errors(settings: Settings, action: str, target: str, error: str) -> None:
    ids = _seed(settings.database_url)
    ann_id = ids.get(target, target)
    calls = {
        "end": lambda s: store.end(s, ann_id, now=MON + dt.timedelta(hours=1)),
        "cancel": lambda s: store.cancel(s, ann_id),
        "update_recovery_before_start": lambda s: store.update(
            s, ann_id, expected_recovery=MON - dt.timedelta(hours=1)
        ),
    }
    with session_scope(settings.database_url) as s, pytest.raises(store.AnnouncementError) as info:
        calls[action](s)
    assert info.value.field == error


def _status_app(app: Flask) -> Flask:
    app.config["STATUS_CACHE_SECONDS"] = 0
    return app


def _schema(app: Flask, name: str) -> dict[str, Any]:
    doc = app.test_client().get("/openapi.json").get_json()
    return {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}


def _announce_now(url: str, kind: str, **kw: Any) -> str:
    now = utcnow()
    with session_scope(url) as s:
        if kind == "unplanned":
            return store.announce(
                s, kind, message_vi="Sự cố", message_en="Incident", expected_recovery=now + dt.timedelta(hours=1), **kw
            ).id
        row = store.announce(
            s,
            kind,
            message_vi="Bảo trì",
            message_en="Maintenance",
            starts_at=now - dt.timedelta(minutes=5),
            ends_at=now + dt.timedelta(hours=1),
            now=now - dt.timedelta(days=30),
            **kw,
        )
        return row.id


@pytest.mark.parametrize(
    ("announced", "overall"),
    [
        ([], "operational"),
        (["planned"], "maintenance"),
        (["unplanned"], "outage"),
        (["planned", "unplanned"], "outage"),
    ],
)
def test_status_endpoint_is_public_and_matches_its_schema(
    app: Flask, settings: Settings, announced: list[str], overall: str
) -> None:
    _status_app(app)
    for kind in announced:
        _announce_now(settings.database_url, kind)
    response = app.test_client().get("/v1/status")  # no signature: the page is public
    assert response.status_code == 200
    body = response.get_json()
    jsonschema.validate(body, _schema(app, "ServiceStatus"))
    assert body["status"] == overall
    assert sorted(a["kind"] for a in body["current"]) == sorted(announced)
    assert body["components"]["database"] == "operational"
    assert "max-age" in response.headers["Cache-Control"]


def test_status_is_documented_as_public(app: Flask) -> None:
    doc = app.test_client().get("/openapi.json").get_json()
    operation = doc["paths"]["/v1/status"]["get"]
    assert operation["security"] == []
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("ServiceStatus")


def test_status_answers_when_the_database_is_down(tmp_path: Any) -> None:
    from moderation.web.app import create_app
    from moderation.web.runtime import RecordingQueue

    settings = load_settings(
        env={},
        database_url="postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=1",
        var_dir=tmp_path / "var",
        secret_key="k",
        log_json=False,
    )
    app = _status_app(create_app(settings, queue=RecordingQueue()))
    response = app.test_client().get("/v1/status")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "outage"
    assert body["components"]["database"] == "outage"


def test_stuck_submissions_show_as_degraded_classification(app: Flask, settings: Settings, api: Any) -> None:
    from moderation.store.models import Submission

    _status_app(app)
    assert api.post("/v1/posts", {"id": "p", "blog_id": "b", "author_id": "a", "body": "Xin chào"}).status_code == 202
    with session_scope(settings.database_url) as s:
        for sub in s.query(Submission):
            sub.updated_at = utcnow() - dt.timedelta(hours=1)
    body = app.test_client().get("/v1/status").get_json()
    assert body["components"]["classification"] == "degraded"
    assert body["status"] == "degraded"


@pytest.mark.parametrize(("lang", "text"), [("vi", "Đang diễn ra: Sự cố"), ("en", "In progress: Incident")])
def test_console_pages_carry_the_banner(app: Flask, settings: Settings, lang: str, text: str) -> None:
    _status_app(app)
    client = app.test_client()
    assert "status-banner" not in client.get("/console/login").get_data(as_text=True)
    _announce_now(settings.database_url, "unplanned")
    with client.session_transaction() as session:
        session["lang"] = lang
    html = client.get("/console/login").get_data(as_text=True)
    assert 'data-testid="status-banner"' in html
    assert text in html


def _planned_window(days: int) -> tuple[str, str]:
    start_day = WorkingCalendar().add_working_days(local_date(utcnow()), days)
    start = dt.datetime.combine(start_day, dt.time(22), tzinfo=VN_TZ)
    return start.isoformat(), (start + dt.timedelta(hours=3)).isoformat()


# (case, arguments, exit code, text in the output)
CLI_ANNOUNCE = [
    (
        "outage",
        [
            "--kind",
            "unplanned",
            "--expected-recovery",
            "2099-01-01T00:00:00+07:00",
            "--message-vi",
            "Sự cố",
            "--component",
            "api",
        ],
        0,
        "ann_",
    ),
    ("outage without recovery", ["--kind", "unplanned", "--message-vi", "Sự cố"], 1, "expected_recovery:"),
    (
        "planned on time",
        ["--kind", "planned", "--starts-at", "{start8}", "--ends-at", "{end8}", "--message-vi", "Bảo trì"],
        0,
        "ann_",
    ),
    (
        "planned too late",
        ["--kind", "planned", "--starts-at", "{start3}", "--ends-at", "{end3}", "--message-vi", "Gấp"],
        1,
        "at least 7 working days",
    ),
    (
        "planned too late, forced",
        ["--kind", "planned", "--starts-at", "{start3}", "--ends-at", "{end3}", "--message-vi", "Gấp", "--allow-late"],
        0,
        "late notice",
    ),
    (
        "naive time",
        [
            "--kind",
            "planned",
            "--starts-at",
            "2099-01-01T00:00",
            "--ends-at",
            "2099-01-02T00:00+07:00",
            "--message-vi",
            "x",
        ],
        2,
        "needs an offset",
    ),
    (
        "unknown component",
        [
            "--kind",
            "unplanned",
            "--expected-recovery",
            "2099-01-01T00:00:00Z",
            "--message-vi",
            "x",
            "--component",
            "moon",
        ],
        1,
        "components:",
    ),
]


@pytest.mark.parametrize(("args", "code", "text"), [pytest.param(*c[1:], id=c[0]) for c in CLI_ANNOUNCE])
def test_cli_announce(settings: Settings, args: list[str], code: int, text: str) -> None:
    start8, end8 = _planned_window(8)
    start3, end3 = _planned_window(3)
    values = {"start8": start8, "end8": end8, "start3": start3, "end3": end3}
    runner = CliRunner(env={"DATABASE_URL": settings.database_url})
    result = runner.invoke(status_cli, ["announce", *(a.format(**values) for a in args)])
    assert result.exit_code == code, result.output
    assert text in result.output


def test_cli_list_update_end_cancel(settings: Settings) -> None:
    runner = CliRunner(env={"DATABASE_URL": settings.database_url})
    start, end = _planned_window(8)

    def run(*args: str) -> str:
        result = runner.invoke(status_cli, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    outage = run(
        "announce", "--kind", "unplanned", "--expected-recovery", "2099-01-01T00:00:00Z", "--message-vi", "Sự cố"
    ).strip()
    planned = run(
        "announce", "--kind", "planned", "--starts-at", start, "--ends-at", end, "--message-vi", "Bảo trì"
    ).strip()
    run("update", outage, "--expected-recovery", "2099-01-02T00:00:00Z", "--message-en", "Incident")
    doc = json.loads(run("list", "--json"))
    assert [a["id"] for a in doc["current"]] == [outage]
    assert doc["current"][0]["expected_recovery"] == "2099-01-02T00:00:00Z"
    assert doc["current"][0]["message_en"] == "Incident"
    assert [a["id"] for a in doc["upcoming"]] == [planned]
    assert doc["upcoming"][0]["notice_working_days"] >= 8
    assert f"current\t{outage}" in run("list")
    assert run("end", outage) == f"ended {outage}\n"
    assert runner.invoke(status_cli, ["end", planned]).exit_code == 1  # not started: cancel it
    run("cancel", planned)
    assert json.loads(run("list", "--json")) == {"current": [], "upcoming": []}
