"""Feed parsers, the blocklist index, stored registries and the ``feeds``/``entities``/``works`` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from moderation.detect.feeds import BlocklistIndex, FeedProvenance, detect_format, parse_feed
from moderation.detect.identity import ProtectedEntity
from moderation.detect.works import Work
from moderation.store.base import Base
from moderation.store.registries import (
    list_feeds,
    load_registries,
    register_works,
    save_feed,
    upsert_entities,
)

PARSE_CASES = [
    pytest.param(
        "# comment\n0.0.0.0 a.vn b.vn\n127.0.0.1 localhost\n::1 ip6-localhost\n",
        "hosts",
        ["a.vn", "b.vn"],
        [],
        id="hosts-file",
    ),
    pytest.param(
        "A.VN\n*.b.vn\n||c.vn^\nd.vn,comment\n! adblock comment\n",
        "domains",
        ["a.vn", "b.vn", "c.vn", "d.vn"],
        [],
        id="domain-list-forms",
    ),
    pytest.param(
        "https://x.vn/a?utm_source=1\nhttp://y.vn/\nz.vn\n",
        "urls",
        ["y.vn", "z.vn"],
        ["x.vn/a"],
        id="url-list-root-is-host",
    ),
    pytest.param(
        "a.vn\nb.vn\napps.apple.com/us/app/x/id1\n",
        "domains",
        ["a.vn", "b.vn"],
        ["apps.apple.com/us/app/x/id1"],
        id="mixed-list",
    ),
    pytest.param("bộcôngan-xacminh.vn\n", "domains", ["xn--bcngan-xacminh-1ob0653j.vn"], [], id="idn-to-punycode"),
    pytest.param("a.vn\na.vn\n", "domains", ["a.vn"], [], id="duplicates-dropped"),
]


@pytest.mark.parametrize(("text", "fmt", "hosts", "urls"), PARSE_CASES)
def test_parse_feed(text: str, fmt: str, hosts: list[str], urls: list[str]) -> None:
    feed = parse_feed("f", text, source="inline")
    assert feed.provenance.format == fmt
    assert list(feed.domains) == hosts
    assert list(feed.urls) == urls
    assert feed.provenance.entry_count == len(hosts) + len(urls)
    assert len(feed.provenance.sha256) == 64


def test_rejected_lines_are_counted() -> None:
    feed = parse_feed("f", "good.vn\nbad host name\n", format="domains")
    assert feed.domains == ("good.vn",)
    assert feed.provenance.rejected == 1


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown feed format"):
        parse_feed("f", "a.vn", format="csv")


@pytest.mark.parametrize(
    ("lines", "fmt"),
    [(["0.0.0.0 a.vn"], "hosts"), (["https://a.vn/x"], "urls"), (["a.vn"], "domains"), ([], "domains")],
)
def test_detect_format(lines: list[str], fmt: str) -> None:
    assert detect_format(lines) == fmt


def test_index_masks_and_names() -> None:
    one = parse_feed("one", "a.vn\nb.vn\n")
    two = parse_feed("two", "b.vn\nc.vn\nhttps://d.vn/x\n", format="urls")
    index = BlocklistIndex.build([one, two])
    assert len(index) == 4  # b.vn is one key with two feed bits
    assert index.feeds_for_host("a.vn") == ("one",)
    assert index.feeds_for_host("b.vn") == ("one", "two")
    assert index.feeds_for_host("c.vn") == ("two",)
    assert index.feeds_for_url("d.vn/x") == ("two",)
    assert index.feeds_for_host("d.vn") == ()
    assert index.provenance("two") is not None
    assert BlocklistIndex().feeds_for_host("a.vn") == ()


@settings(max_examples=30, deadline=None)
@given(st.sets(st.from_regex(r"[a-z]{1,8}\.(vn|com|net)", fullmatch=True), min_size=1, max_size=200))
def test_index_has_no_false_negatives(hosts: set[str]) -> None:
    index = BlocklistIndex.build([parse_feed("f", "\n".join(sorted(hosts)))])
    assert all(index.feeds_for_host(h) == ("f",) for h in hosts)
    assert index.feeds_for_host("not-listed.example") == ()


def test_index_from_arrays_scales() -> None:
    rng = np.random.default_rng(1)
    keys = rng.integers(0, 2**63, size=50_000, dtype=np.uint64)
    masks = np.ones_like(keys)
    index = BlocklistIndex.from_arrays((FeedProvenance("f", "", "domains", "", 50_000),), keys, masks)
    assert len(index) == len(np.unique(keys))
    assert index.nbytes < 50_000 * 32


# --- storage and CLI ------------------------------------------------------------------------------------------

_TABLES = ("feeds", "feed_entries", "protected_entities", "works")


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    engine = create_engine(url)
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[t] for t in _TABLES])
    engine.dispose()
    yield url
    from moderation.store.db import dispose_engines

    dispose_engines()


def test_store_round_trip(db_url: str) -> None:
    engine = create_engine(db_url)
    with Session(engine) as session:
        save_feed(session, parse_feed("f", "a.vn\nhttps://b.vn/x\n", format="urls", licence="BSD-3-Clause"))
        save_feed(session, parse_feed("f", "c.vn\n"))  # re-import replaces
        upsert_entities(session, [ProtectedEntity("blog-1", "Góc nhỏ của An", "blog", platform_id="p1")])
        upsert_entities(session, [ProtectedEntity("blog-1", "Góc nhỏ của An (mới)", "blog", platform_id="p1")])
        register_works(session, [Work("w1", "T", "một hai ba bốn năm sáu bảy tám chín mười", "Báo X", "CC-BY")])
        session.commit()
    with Session(engine) as session:
        assert [f.name for f in list_feeds(session)] == ["f"]
        regs = load_registries(session, platform_id="p1", include_shipped_entities=False)
    engine.dispose()
    assert regs.blocklist.feeds_for_host("c.vn") == ("f",)
    assert regs.blocklist.feeds_for_host("a.vn") == ()
    assert [e.name for e in regs.entities.entities] == ["Góc nhỏ của An (mới)"]
    assert regs.works.works[0].id == "w1"
    assert len(regs.works.works[0].sketch) > 0


def test_cli_commands(db_url: str, tmp_path: Path) -> None:
    from moderation.cli.registries import entities, feeds, works

    feed = tmp_path / "feed.txt"
    feed.write_text("0.0.0.0 a.vn\n0.0.0.0 b.vn\n", encoding="utf-8")
    ents = tmp_path / "e.jsonl"
    ents.write_text(json.dumps({"id": "x", "name": "X", "kind": "brand", "domains": ["x.vn"]}) + "\n", encoding="utf-8")
    wks = tmp_path / "w.jsonl"
    wks.write_text(
        json.dumps({"id": "w", "title": "t", "body": "a b c d e f", "licence": "CC0"}) + "\n", encoding="utf-8"
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\nnot json\n', encoding="utf-8")
    runner = CliRunner()
    env = {"DATABASE_URL": db_url}

    result = runner.invoke(feeds, ["import", "demo", str(feed), "--licence", "MIT"], env=env)
    assert result.exit_code == 0, result.output
    assert "2 entries" in result.output
    result = runner.invoke(feeds, ["list", "--json"], env=env)
    assert json.loads(result.output)["name"] == "demo"
    assert runner.invoke(entities, ["add", "--jsonl", str(ents)], env=env).exit_code == 0
    assert runner.invoke(works, ["register", "--jsonl", str(wks)], env=env).exit_code == 0
    result = runner.invoke(entities, ["add", "--jsonl", str(bad)], env=env)
    assert result.exit_code != 0
    assert "bad.jsonl:1:1: missing name" in result.output
    result = runner.invoke(feeds, ["import", "x", "http://127.0.0.1:9/feed"], env=env)
    assert result.exit_code != 0
    assert "non-public" in result.output
