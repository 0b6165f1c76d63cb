"""The hash-chained audit trail: secrets stripped, any single edit/delete/swap found at the right entry, bundles."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moderation.workflow import audit
from moderation.workflow.audit import (
    GENESIS,
    BundleError,
    build_chain,
    entry_hash,
    export_bundle,
    new_entry,
    strip_secrets,
    verify_bundle,
    verify_chain,
)

T0 = dt.datetime(2025, 1, 27, 3, 0, tzinfo=dt.UTC)
KEY = b"inspector-shared-key"


def make_chain(n: int) -> list[dict[str, Any]]:
    return build_chain(
        {
            "actor": f"mod:{i % 3}",
            "action": "decision.create",
            "object_type": "decision",
            "object_id": f"dec_{i}",
            "at": T0 + dt.timedelta(minutes=i),
            "details": {"n": i, "note": "Gỡ bài viết"},
        }
        for i in range(n)
    )


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ({"password": "x", "note": "ok"}, {"password": "[redacted]", "note": "ok"}),  # plain secret
        ({"X-Moderation-Signature": "v1=ab"}, {"X-Moderation-Signature": "[redacted]"}),  # header names
        ({"apiKey": "k", "accessToken": "t"}, {"apiKey": "[redacted]", "accessToken": "[redacted]"}),  # camelCase
        ({"headers": {"Cookie": "s=1", "Accept": "x"}}, {"headers": {"Cookie": "[redacted]", "Accept": "x"}}),  # nested
        ({"items": [{"client_secret": "s"}]}, {"items": [{"client_secret": "[redacted]"}]}),  # inside lists
        ({"monkey": 1, "keyboard": 2}, {"monkey": 1, "keyboard": 2}),  # words, not substrings
        ({"dedupe_key": "sub_1"}, {"dedupe_key": "sub_1"}),  # identifiers the inspector needs stay
        ({"Authorization": "Bearer x"}, {"Authorization": "[redacted]"}),  # case-insensitive
    ],
)
def test_strip_secrets(details, expected):
    assert strip_secrets(details) == expected


def test_new_entry_links_and_strips():
    first = new_entry(None, actor="a", action="x", object_type="t", object_id="1", at=T0, details={"token": "s"})
    second = new_entry(first, actor="a", action="y", object_type="t", object_id="1", at=T0)
    assert first["seq"] == 1
    assert first["prev_hash"] == GENESIS
    assert first["details"] == {"token": "[redacted]"}
    assert second["prev_hash"] == first["hash"]
    assert second["seq"] == 2
    assert entry_hash(second) == second["hash"]


def test_hash_ignores_timestamp_spelling():
    # The same instant written with an offset or a Z (as databases return it) hashes the same.
    entry = make_chain(1)[0]
    same = dict(entry, at="2025-01-27T10:00:00+07:00")
    assert entry_hash(same) == entry["hash"]


def test_intact_chain_verifies():
    chain = make_chain(5)
    result = verify_chain(chain, expected_head=(5, chain[-1]["hash"]))
    assert result.ok
    assert result.count == 5
    assert result.head_hash == chain[-1]["hash"]


def test_empty_chain_verifies():
    assert verify_chain([]).ok


def _edit(chain: list[dict[str, Any]], i: int, field: str) -> list[dict[str, Any]]:
    entry = dict(chain[i])
    if field == "details":
        entry["details"] = {**entry["details"], "n": -1}
    elif field == "at":
        entry["at"] = "2030-01-01T00:00:00.000000Z"
    elif field == "seq":
        entry["seq"] = entry["seq"] + 1000
    else:
        entry[field] = "tampered" if field not in {"hash", "prev_hash"} else "f" * 64
    chain[i] = entry
    return chain


@pytest.mark.parametrize(
    ("mutate", "problem", "index"),
    [
        (lambda c: _edit(c, 2, "actor"), "edited", 2),  # who decided was changed
        (lambda c: _edit(c, 0, "details"), "edited", 0),  # the first entry is covered too
        (lambda c: _edit(c, 4, "hash"), "edited", 4),  # the last entry's own hash rewritten
        (lambda c: _edit(c, 3, "prev_hash"), "edited", 3),  # the link rewritten
        (lambda c: c[:2] + c[3:], "deleted", 2),  # a middle entry removed: gap at the next position
        (lambda c: c[1:], "deleted", 0),  # the first entry removed: the chain must start at seq 1
        (lambda c: [c[0], c[2], c[1], c[3], c[4]], "reordered", 1),  # two entries swapped
        (lambda c: [*c[:3], c[2], *c[3:]], "reordered", 3),  # an entry duplicated
    ],
)
def test_tampering_is_found_at_the_entry(mutate, problem, index):
    result = verify_chain(mutate(make_chain(5)))
    assert not result.ok
    assert (result.problem, result.index) == (problem, index), result.message


def test_rewritten_and_rehashed_entry_is_caught_by_the_next_link():
    chain = make_chain(4)
    forged = dict(chain[1], actor="mod:someone-else")
    forged["hash"] = entry_hash(forged)
    chain[1] = forged
    result = verify_chain(chain)
    assert (result.ok, result.problem, result.index) == (False, "edited", 2)
    assert "seq 2" in result.message


def test_truncation_needs_the_head():
    chain = make_chain(4)
    assert verify_chain(chain[:3]).ok  # the chain alone cannot show a cut end
    result = verify_chain(chain[:3], expected_head=(4, chain[3]["hash"]))
    assert (result.ok, result.problem) == (False, "truncated")


def test_malformed_entry():
    result = verify_chain([{"seq": "1"}])
    assert (result.ok, result.problem) == (False, "malformed")


MUTATIONS = st.sampled_from(["edit", "delete", "swap"])
FIELDS = st.sampled_from(["actor", "action", "object_id", "details", "at", "hash", "prev_hash", "platform_id"])


@settings(max_examples=150, deadline=None)
@given(n=st.integers(min_value=2, max_value=12), data=st.data(), kind=MUTATIONS, field=FIELDS)
def test_any_single_change_is_found_at_the_right_index(n, data, kind, field):
    chain = make_chain(n)
    head = (chain[-1]["seq"], chain[-1]["hash"])
    if kind == "edit":
        i = data.draw(st.integers(0, n - 1))
        _edit(chain, i, field)
        expected = ("edited", i)
    elif kind == "delete":
        i = data.draw(st.integers(0, n - 1))
        del chain[i]
        # Deleting the last entry leaves a valid prefix: only the signed head shows it.
        expected = ("truncated", n - 1) if i == n - 1 else ("deleted", i)
    else:
        i = data.draw(st.integers(0, n - 2))
        chain[i], chain[i + 1] = chain[i + 1], chain[i]
        expected = ("reordered", i)
    result = verify_chain(chain, expected_head=head)
    assert not result.ok
    assert (result.problem, result.index) == expected, result.message


def test_bundle_round_trip(tmp_path):
    chain = make_chain(6)
    manifest = export_bundle(chain[2:5], KEY, tmp_path, created_at=T0, period=("a", "b"), key_id="k1")
    assert manifest["first_seq"] == 3
    assert manifest["anchor"] == {"seq": 2, "hash": chain[1]["hash"]}
    result = verify_bundle(tmp_path, KEY)
    assert result.ok, result.message
    assert result.count == 3


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda p: (p / "manifest.sig").write_text("00" * 32), "signature"),  # forged signature
        (
            lambda p: (p / "manifest.json").write_bytes(
                (p / "manifest.json").read_bytes().replace(b'"count":3', b'"count":4')
            ),
            "signature",
        ),  # manifest edited
        (
            lambda p: (p / "entries.jsonl").write_text(
                "\n".join((p / "entries.jsonl").read_text().splitlines()[:2]) + "\n"
            ),
            "truncated",
        ),  # last line dropped
        (
            lambda p: (p / "entries.jsonl").write_text((p / "entries.jsonl").read_text().replace("mod:", "MOD:", 1)),
            "edited",
        ),  # a line edited
        (lambda p: (p / "manifest.sig").unlink(), "malformed"),  # incomplete bundle
    ],
)
def test_bundle_tampering(tmp_path, tamper, problem):
    export_bundle(make_chain(3), KEY, tmp_path, created_at=T0)
    tamper(tmp_path)
    result = verify_bundle(tmp_path, KEY)
    assert (result.ok, result.problem) == (False, problem), result.message


def test_bundle_wrong_key(tmp_path):
    export_bundle(make_chain(2), KEY, tmp_path, created_at=T0)
    assert verify_bundle(tmp_path, b"other").problem == "signature"


def test_reserialised_entries_are_reported(tmp_path):
    # Same entries, different bytes: the chain holds but the file is not the signed one.
    export_bundle(make_chain(2), KEY, tmp_path, created_at=T0)
    lines = (tmp_path / "entries.jsonl").read_text().splitlines()
    (tmp_path / "entries.jsonl").write_text(
        "\n".join(json.dumps(json.loads(x), indent=1).replace("\n", "") for x in lines) + "\n"
    )
    result = verify_bundle(tmp_path, KEY)
    assert (result.ok, result.problem) == (False, "edited")
    assert "digest" in result.message


def test_broken_chain_is_not_exported(tmp_path):
    chain = make_chain(3)
    _edit(chain, 1, "actor")
    with pytest.raises(BundleError, match="broken chain"):
        export_bundle(chain, KEY, tmp_path, created_at=T0)


def test_ed25519_bundle(tmp_path):
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    export_bundle(make_chain(3), pem, tmp_path, created_at=T0, algorithm="ed25519")
    assert verify_bundle(tmp_path, public).ok
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert verify_bundle(tmp_path, other).problem == "signature"
    assert audit.ed25519_available()


def test_entries_in_period_keeps_a_contiguous_range():
    chain = make_chain(6)
    picked = audit.entries_in_period(chain, T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=4))
    assert [e["seq"] for e in picked] == [2, 3, 4]
    assert audit.entries_in_period(chain, T0 + dt.timedelta(days=1), None) == []
