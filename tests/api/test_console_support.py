"""Helpers the console tests share (a keyword classifier, items, users, a logged-in client) and their own checks."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from moderation.config import Settings
from moderation.domain import History, Item, Verdict
from moderation.services import review
from moderation.services.classification import classify_submission
from moderation.services.intake import submit_item, validate
from moderation.store.db import session_scope
from moderation.store.models import Decision, Platform

CITATION = {"instrument": "Thông tư 07/2008/TT-BTTTT", "article": "3", "clause": "1", "point": None}
# (keyword, category id, severity): what the keyword classifier flags for review.
KEYWORDS = (
    ("lừa đảo", "c07.s3_1.slander", 3),
    ("phá sản", "c07.s3_2.false_information", 3),
    ("súng", "c07.s3_1.prohibited_goods", 4),
)
PASSWORD = "correct horse battery"


@dataclass
class KeywordEvaluation:
    verdict: Verdict
    labels: list[str]
    packs: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return self.data

    def to_record(self) -> dict[str, Any]:
        return self.data


class KeywordClassifier:
    """Flag each keyword for review with evidence spans at its offsets in the original field text."""

    def classify(self, item: Item, history: History | None = None) -> KeywordEvaluation:
        categories = []
        for word, cat, severity in KEYWORDS:
            evidence = [
                {"field": name, "start": m.start(), "end": m.end(), "text": text[m.start() : m.end()]}
                for name, text in item.fields.items()
                for m in re.finditer(re.escape(word), text, re.IGNORECASE)
            ]
            if evidence:
                categories.append(
                    {
                        "id": cat,
                        "name_vi": f"Danh mục {cat}",
                        "name_en": f"Category {cat}",
                        "pack_id": "test-pack",
                        "pack_version": "v1",
                        "rule_id": f"{cat}.keyword",
                        "rules": [f"{cat}.keyword"],
                        "action": "review",
                        "mode": "enforce",
                        "score": 1.0,
                        "severity": severity,
                        "citation": CITATION,
                        "evidence": evidence,
                        "bracket": None,
                        "remedies": [],
                        "context": [],
                        "note": "",
                    }
                )
        verdict = Verdict.REVIEW if categories else Verdict.ALLOW
        data = {
            "verdict": verdict.value,
            "labels": [],
            "categories": categories,
            "packs": {"test-pack": "v1"},
            "signals": [],
        }
        return KeywordEvaluation(verdict, [], {"test-pack": "v1"}, data)


def make_item(
    settings: Settings,
    platform_id: str,
    body: str,
    *,
    post_id: str,
    author: str = "author-1",
    blog: str = "blog-1",
    title: str = "",
    age: dt.timedelta | None = None,
    signals: list[dict[str, Any]] | None = None,
) -> str:
    """Submit and classify one post; return its decision id (created ``age`` ago when given)."""
    payload: dict[str, Any] = {"id": post_id, "blog_id": blog, "author_id": author, "body": body}
    if title:
        payload["title"] = title
    with session_scope(settings.database_url) as session:
        platform = session.get(Platform, platform_id)
        assert platform is not None
        sub, _ = submit_item(session, platform, "post", validate("post", payload))
        session.flush()
        decision = classify_submission(session, sub.id, KeywordClassifier())
        assert decision is not None
        if age is not None:
            decision.created_at = dt.datetime.now(dt.UTC) - age
        if signals is not None:
            decision.evaluation = {**decision.evaluation, "signals": signals}
        return decision.id


def make_user(settings: Settings, username: str, role: str, *, totp: bool = False) -> str | None:
    with session_scope(settings.database_url) as session:
        _, secret = review.create_user(session, username, PASSWORD, role, totp=totp)
        return secret


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class Console:
    """A browser-like test client: keeps the session cookie and sends the page's CSRF token with each form."""

    def __init__(self, app: Flask) -> None:
        self.client: FlaskClient = app.test_client()
        self.token = ""

    def get(self, path: str, **kw: Any) -> Any:
        response = self.client.get(path, **kw)
        if 'name="csrf_token"' in response.text:
            self.token = csrf_of(response.text)
        return response

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kw: Any) -> Any:
        if not self.token:
            self.get("/console/login")
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.token)
        return self.client.post(path, data=form, **kw)

    def login(self, username: str, password: str = PASSWORD, totp: str = "") -> Any:
        self.get("/console/login")
        return self.post("/console/login", {"username": username, "password": password, "totp": totp})


def decision(settings: Settings, decision_id: str) -> Decision:
    with session_scope(settings.database_url) as session:
        from sqlalchemy import select

        found = session.scalars(select(Decision).where(Decision.id == decision_id)).one()
        session.expunge(found)
        return found


HIGHLIGHT_CASES = [
    # (text, spans, expected segments) — offsets index the original text, marks never split a character
    ("abc", [], [("abc", None)]),
    (
        "ông A lừa đảo",
        [{"field": "body", "start": 6, "end": 13, "category": "x"}],
        [("ông A ", None), ("lừa đảo", ["x"])],
    ),
    # overlapping spans merge into one mark carrying both categories
    (
        "abcdef",
        [
            {"field": "body", "start": 1, "end": 3, "category": "x"},
            {"field": "body", "start": 2, "end": 5, "category": "y"},
        ],
        [("a", None), ("bcde", ["x", "y"]), ("f", None)],
    ),
    # spans of another field are ignored
    ("abc", [{"field": "title", "start": 0, "end": 2}], [("abc", None)]),
    # offsets past the end are clipped, empty spans dropped
    (
        "abc",
        [{"field": "body", "start": 2, "end": 99, "category": "x"}, {"field": "body", "start": 1, "end": 1}],
        [("ab", None), ("c", ["x"])],
    ),
]


@pytest.mark.parametrize(("text", "spans", "expected"), HIGHLIGHT_CASES)
def test_highlight_cuts_text_at_evidence_offsets(text: str, spans: list[dict[str, Any]], expected: list[Any]) -> None:
    assert review.highlight(text, spans, "body").segments == expected


def test_content_key_ignores_case_spacing_and_unicode_form() -> None:
    import unicodedata

    a = review.content_key({"body": "Thằng  chủ tịch LỪA ĐẢO"})
    b = review.content_key({"body": unicodedata.normalize("NFD", "thằng chủ tịch lừa đảo ")})
    assert a == b
    assert a != review.content_key({"body": "thằng chủ tịch lừa"})


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [
        ("moderator", "review", True),
        ("moderator", "appeals", False),
        ("moderator", "audit", False),
        ("senior_moderator", "appeals", True),
        ("senior_moderator", "escalated", True),
        ("compliance_officer", "review", False),
        ("compliance_officer", "authority", True),
        ("compliance_officer", "audit", True),
        ("admin", "users", True),
        ("admin", "review", True),
        (None, "review", False),
        ("moderator", "no-such-permission", False),
    ],
)
def test_permissions_by_role(role: str | None, permission: str, allowed: bool) -> None:
    assert review.can(role, permission) is allowed


@pytest.mark.parametrize(
    ("args", "stdin", "exit_code", "output"),
    [
        (["--username", "cli.mod", "--role", "moderator", "--password-stdin"], "a long password\n", 0, "created"),
        (
            ["--username", "cli.mod", "--role", "moderator", "--password-stdin", "--totp"],
            "a long password\n",
            0,
            "TOTP secret",
        ),
        (["--username", "cli.mod", "--role", "moderator", "--password-stdin"], "short\n", 1, "at least"),
        (["--username", "cli.mod", "--role", "king", "--password-stdin"], "a long password\n", 2, "Invalid value"),
    ],
)
def test_cli_users_create(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, *, args: list[str], stdin: str, exit_code: int, output: str
) -> None:
    from click.testing import CliRunner

    from moderation.cli.users import users

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("MODERATION_VAR_DIR", str(settings.var_dir))
    result = CliRunner().invoke(users, ["create", *args], input=stdin)
    assert result.exit_code == exit_code, result.output
    assert output in result.output
    assert "a long password" not in result.output


def test_demo_users_and_items_are_idempotent(settings: Settings, platform: Any) -> None:
    first = review.ensure_demo_users(settings.database_url)
    assert first == review.ensure_demo_users(settings.database_url)
    assert {u["role"] for u in first} == set(review.ROLES)
    ids = review.seed_demo_items(settings.database_url, platform.id)
    assert ids == review.seed_demo_items(settings.database_url, platform.id)
    with session_scope(settings.database_url) as session:
        assert review.review_queue(session).total >= 1


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_console_string_is_translated_and_compiled(lang: str) -> None:
    """Each message the templates and views use has a translation in the catalog, and the .mo is compiled from it."""
    from pathlib import Path

    from babel.messages.extract import extract_from_dir
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    root = Path(review.__file__).resolve().parents[1] / "web" / "console"
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None}
    method_map = [("**.py", "python"), ("templates/**.html", "jinja2")]
    used = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(root), method_map, keywords=keywords, comment_tags=()
    ):
        used.add(message[0] if isinstance(message, tuple) else message)
    catalog_dir = root / "translations" / lang / "LC_MESSAGES"
    with (catalog_dir / "console.po").open("rb") as f:
        po = read_po(f, locale=lang)
    with (catalog_dir / "console.mo").open("rb") as f:
        mo = read_mo(f)
    untranslated = sorted(m for m in used if not (po.get(m) and po.get(m).string))
    assert untranslated == []

    def text(message: Any) -> Any:
        return tuple(message.string) if isinstance(message.string, list | tuple) else message.string

    stale = sorted(m for m in used if not (mo.get(m) and text(mo.get(m)) == text(po.get(m))))
    assert stale == [], "run pybabel compile (docs/console.md, Translations)"
