"""``moderation audit verify`` and ``export`` on JSON-lines input (the database path is the lead's wiring)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner

from moderation.cli.audit import audit
from moderation.workflow.audit import build_chain

T0 = dt.datetime(2025, 1, 27, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def chain_file(tmp_path):
    chain = build_chain(
        {
            "actor": "mod:a",
            "action": "decision.create",
            "object_type": "decision",
            "object_id": f"dec_{i}",
            "at": T0 + dt.timedelta(days=i),
        }
        for i in range(5)
    )
    path = tmp_path / "audit.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in chain))
    return path


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "audit.key"
    path.write_text("secret-key\n")
    return path


def test_verify_ok(chain_file):
    result = CliRunner().invoke(audit, ["verify", "--input", str(chain_file)])
    assert result.exit_code == 0, result.output
    assert "5 entries verified" in result.output


def test_verify_names_the_edited_entry(chain_file):
    lines = chain_file.read_text().splitlines()
    entry = json.loads(lines[3])
    entry["actor"] = "mod:mallory"
    lines[3] = json.dumps(entry)
    chain_file.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(audit, ["verify", "--input", str(chain_file), "--json"])
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert (report["problem"], report["index"], report["seq"]) == ("edited", 3, 4)


@pytest.mark.parametrize(
    ("bounds", "seqs"),
    [
        ([], [1, 2, 3, 4, 5]),  # no bounds: everything
        (["--from", "2025-01-28", "--to", "2025-01-30"], [2, 3]),  # dates are Vietnam midnights; --to exclusive
        (["--from", "2025-01-29T00:00:00Z"], [3, 4, 5]),  # an RFC 3339 lower bound
    ],
)
def test_export_then_verify_bundle(chain_file, key_file, tmp_path, bounds, seqs):
    out = tmp_path / "bundle"
    runner = CliRunner()
    result = runner.invoke(
        audit, ["export", "--input", str(chain_file), "--out", str(out), "--key-file", str(key_file), *bounds]
    )
    assert result.exit_code == 0, result.output
    lines = (out / "entries.jsonl").read_text().splitlines()
    assert [json.loads(x)["seq"] for x in lines] == seqs
    check = runner.invoke(audit, ["verify", "--bundle", str(out), "--key-file", str(key_file)])
    assert check.exit_code == 0, check.output


def test_export_key_from_environment(chain_file, tmp_path, monkeypatch):
    monkeypatch.setenv("MODERATION_AUDIT_KEY", "k")
    result = CliRunner().invoke(audit, ["export", "--input", str(chain_file), "--out", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output


def test_export_without_key_fails(chain_file, tmp_path, monkeypatch):
    monkeypatch.delenv("MODERATION_AUDIT_KEY", raising=False)
    result = CliRunner().invoke(audit, ["export", "--input", str(chain_file), "--out", str(tmp_path / "b")])
    assert result.exit_code != 0
    assert "MODERATION_AUDIT_KEY" in result.output


def test_export_refuses_a_broken_chain(chain_file, key_file, tmp_path):
    lines = chain_file.read_text().splitlines()
    chain_file.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    result = CliRunner().invoke(
        audit, ["export", "--input", str(chain_file), "--out", str(tmp_path / "b"), "--key-file", str(key_file)]
    )
    assert result.exit_code != 0
    assert "broken" in result.output


def test_bad_jsonl_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text("{not json}\n")
    result = CliRunner().invoke(audit, ["verify", "--input", str(path)])
    assert result.exit_code != 0
    assert "bad.jsonl:1" in result.output


def test_verify_reads_the_database(tmp_path):
    # The store path: rows of AuditEntry written from new_entry() verify through the CLI.
    from moderation.store.base import Base
    from moderation.store.db import get_engine, session_scope
    from moderation.store.models import AuditEntry
    from moderation.workflow.audit import parse_at

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    Base.metadata.create_all(get_engine(url), tables=[AuditEntry.__table__])  # type: ignore[list-item]
    chain = build_chain(
        {"actor": "mod:a", "action": "x", "object_type": "d", "object_id": str(i), "at": T0, "details": {"n": i}}
        for i in range(3)
    )
    with session_scope(url) as session:
        session.add_all(AuditEntry(**{**e, "at": parse_at(e["at"])}) for e in chain)
    result = CliRunner().invoke(audit, ["verify", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "3 entries verified" in result.output
