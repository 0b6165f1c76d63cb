"""The append-only, hash-chained audit trail and the signed bundle an inspector verifies offline.

An entry is a plain dict with the columns of ``moderation.store.models.AuditEntry``::

    {"seq": 7, "at": "2025-01-27T03:00:00.000000Z", "actor": "mod:alice", "action": "decision.create",
     "object_type": "decision", "object_id": "dec_…", "platform_id": "plt_…" | None, "details": {…},
     "prev_hash": "<64 hex>", "hash": "<64 hex>"}

``hash = sha256(canonical_json(entry without "hash"))`` where the JSON includes ``prev_hash``, the previous entry's
hash (``GENESIS`` for the first). Canonical JSON: keys sorted, no whitespace (``","`` and ``":"``), UTF-8 without
``\\u`` escapes, ``at`` as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC. Editing, deleting or reordering any entry breaks
the chain at that entry, which :func:`verify_chain` names.

A bundle is a directory with ``entries.jsonl`` (one canonical entry per line), ``manifest.json`` (canonical; the
SHA-256 of ``entries.jsonl``, the range, the anchor and head hashes) and ``manifest.sig`` (HMAC-SHA256 of the
manifest bytes in hex, or an Ed25519 signature in hex when ``cryptography`` is installed and a private key given).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
BUNDLE_FORMAT = "moderation-audit-bundle/1"
ENTRIES_FILE = "entries.jsonl"
MANIFEST_FILE = "manifest.json"
SIGNATURE_FILE = "manifest.sig"
HASHED_FIELDS = ("seq", "at", "actor", "action", "object_type", "object_id", "platform_id", "details", "prev_hash")
REDACTED = "[redacted]"

# A details key is secret when one of its words is one of these (``api_key``, ``X-Moderation-Signature``,
# ``set-cookie``, ``accessToken``); words rather than substrings, so ``monkey`` or ``keyboard`` stay.
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "secret",
        "token",
        "key",
        "signature",
        "authorization",
        "cookie",
        "otp",
        "credential",
        "credentials",
        "dsn",
    }
)
# Keys that contain a secret word but are identifiers the inspector needs.
NOT_SECRET = frozenset({"dedupe_key", "idempotency_key", "key_id", "public_key"})
_WORD_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _is_secret_key(name: str) -> bool:
    lowered = name.lower()
    if lowered in NOT_SECRET:
        return False
    words = _WORD_SPLIT.split(_CAMEL.sub("_", name).lower())
    return any(word in SECRET_WORDS for word in words)


def strip_secrets(value: Any) -> Any:
    """Return a copy of ``value`` with the values of secret-looking keys replaced by ``"[redacted]"``, at any depth."""
    if isinstance(value, Mapping):
        return {str(k): (REDACTED if _is_secret_key(str(k)) else strip_secrets(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strip_secrets(v) for v in value]
    return value


def format_at(value: dt.datetime | str) -> str:
    """Return the canonical UTC form of a timestamp (``2025-01-27T03:00:00.000000Z``)."""
    moment = parse_at(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError("naive datetime in an audit entry")
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_at(value: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset) into an aware datetime."""
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a zone: {value!r}")
    return moment


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` canonically: sorted keys, no whitespace, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def canonical_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """Return the entry in canonical form (every column, ``at`` formatted), ``hash`` included when present."""
    out = {name: entry.get(name) for name in HASHED_FIELDS}
    out["at"] = format_at(entry["at"])
    out["details"] = dict(entry.get("details") or {})
    if "hash" in entry:
        out["hash"] = entry["hash"]
    return out


def entry_hash(entry: Mapping[str, Any]) -> str:
    """Return the SHA-256 (hex) of the canonical entry without its ``hash``, including ``prev_hash``."""
    body = canonical_entry(entry)
    body.pop("hash", None)
    return hashlib.sha256(canonical_json(body)).hexdigest()


def new_entry(
    previous: Mapping[str, Any] | None,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    at: dt.datetime,
    details: Mapping[str, Any] | None = None,
    platform_id: str | None = None,
) -> dict[str, Any]:
    """Build the next entry after ``previous`` (``None`` for the first), secrets stripped and hash computed.

    The caller stores it; two writers must serialise on the chain head (a row lock or the unique ``seq``).
    """
    entry: dict[str, Any] = {
        "seq": 1 if previous is None else int(previous["seq"]) + 1,
        "at": format_at(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "platform_id": platform_id,
        "details": strip_secrets(dict(details or {})),
        "prev_hash": GENESIS if previous is None else str(previous["hash"]),
    }
    entry["hash"] = entry_hash(entry)
    return entry


def build_chain(
    records: Iterable[Mapping[str, Any]], previous: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Chain ``records`` (dicts of ``new_entry``'s keyword arguments) after ``previous``."""
    out: list[dict[str, Any]] = []
    for record in records:
        entry = new_entry(out[-1] if out else previous, **record)
        out.append(entry)
    return out


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of checking a chain; ``index`` is the position in the list given, ``seq`` the entry's number."""

    ok: bool
    count: int
    problem: str | None = None  # edited | deleted | reordered | truncated | malformed
    index: int | None = None
    seq: int | None = None
    message: str = ""
    head_hash: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "count": self.count,
            "problem": self.problem,
            "index": self.index,
            "seq": self.seq,
            "message": self.message,
            "head_hash": self.head_hash,
        }


def verify_chain(
    entries: Iterable[Mapping[str, Any]],
    *,
    anchor_seq: int = 0,
    anchor_hash: str = GENESIS,
    expected_head: tuple[int, str] | None = None,
) -> VerifyResult:
    """Check a chain and name the first entry that was edited, deleted or reordered.

    ``anchor_seq``/``anchor_hash`` describe the entry just before the first one given (the genesis by default; for
    an exported range, the manifest's anchor). ``expected_head`` (last seq and hash, from a signed manifest or the
    stored head) also catches the deletion of the last entries, which the chain alone cannot show.
    """
    items = list(entries)
    prev_seq, prev_hash = anchor_seq, anchor_hash
    seqs: list[int | None] = []
    for entry in items:
        seq = entry.get("seq")
        seqs.append(seq if isinstance(seq, int) and not isinstance(seq, bool) else None)
    for index, entry in enumerate(items):
        seq = seqs[index]
        if seq is None:
            return VerifyResult(False, len(items), "malformed", index, None, f"entry #{index} has no integer seq")
        expected = prev_seq + 1
        if seq != expected:
            if seq < expected or expected in seqs[index + 1 :]:
                return VerifyResult(
                    False,
                    len(items),
                    "reordered",
                    index,
                    seq,
                    f"entry #{index} has seq {seq} where seq {expected} was expected: entries were reordered",
                )
            return VerifyResult(
                False,
                len(items),
                "deleted",
                index,
                seq,
                f"seq {expected}"
                + (f"–{seq - 1}" if seq - 1 > expected else "")
                + f" missing before seq {seq}: entries were deleted",
            )
        try:
            computed = entry_hash(entry)
        except (KeyError, TypeError, ValueError) as exc:
            return VerifyResult(False, len(items), "malformed", index, seq, f"seq {seq} cannot be read: {exc}")
        if computed != entry.get("hash"):
            return VerifyResult(
                False, len(items), "edited", index, seq, f"seq {seq}: content does not match its hash: entry was edited"
            )
        if entry.get("prev_hash") != prev_hash:
            # The entry is self-consistent but links elsewhere: the previous one was rewritten and re-hashed.
            return VerifyResult(
                False,
                len(items),
                "edited",
                index,
                seq,
                f"seq {seq}: prev_hash does not match the hash of seq {prev_seq}: the chain was rewritten before it",
            )
        prev_seq, prev_hash = seq, computed
    if expected_head is not None and (prev_seq, prev_hash) != tuple(expected_head):
        head_seq = expected_head[0]
        problem = "truncated" if head_seq > prev_seq else "edited"
        return VerifyResult(
            False,
            len(items),
            problem,
            len(items),
            prev_seq,
            f"the chain ends at seq {prev_seq} but the head is seq {head_seq}: "
            + ("entries were deleted at the end" if problem == "truncated" else "the head does not match"),
        )
    return VerifyResult(
        True, len(items), head_hash=prev_hash, seq=prev_seq if items else None, message=f"{len(items)} entries verified"
    )


# --- Bundles ---------------------------------------------------------------------------------------------------


class BundleError(ValueError):
    """A bundle could not be written or does not verify."""


def ed25519_available() -> bool:
    """Return whether the ``cryptography`` package (needed for Ed25519 bundles) is installed."""
    import importlib.util

    return importlib.util.find_spec("cryptography") is not None


def _sign(algorithm: str, key: bytes, message: bytes) -> str:
    if algorithm == "hmac-sha256":
        return hmac.new(key, message, hashlib.sha256).hexdigest()
    if algorithm == "ed25519":
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        private = load_pem_private_key(key, password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise BundleError("the key is not an Ed25519 private key (PEM, PKCS#8)")
        return private.sign(message).hex()
    raise BundleError(f"unknown signature algorithm {algorithm!r}")


def _check_signature(algorithm: str, key: bytes, message: bytes, signature: str) -> bool:
    if algorithm == "hmac-sha256":
        return hmac.compare_digest(hmac.new(key, message, hashlib.sha256).hexdigest(), signature.strip())
    if algorithm == "ed25519":
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        from cryptography.hazmat.primitives.serialization import load_pem_public_key

        public = load_pem_public_key(key)
        if not isinstance(public, Ed25519PublicKey):
            raise BundleError("the key is not an Ed25519 public key (PEM)")
        try:
            public.verify(bytes.fromhex(signature.strip()), message)
        except (InvalidSignature, ValueError):
            return False
        return True
    raise BundleError(f"unknown signature algorithm {algorithm!r}")


def export_bundle(
    entries: Iterable[Mapping[str, Any]],
    key: bytes,
    out_dir: str | Path,
    *,
    algorithm: str = "hmac-sha256",
    created_at: dt.datetime,
    period: tuple[str | None, str | None] = (None, None),
    key_id: str | None = None,
) -> dict[str, Any]:
    """Write a signed bundle of ``entries`` (a contiguous range of the chain) to ``out_dir``; return the manifest.

    The chain is verified first: a bundle is never signed over a broken chain.
    """
    items = [canonical_entry(e) for e in entries]
    anchor_seq = int(items[0]["seq"]) - 1 if items else 0
    anchor_hash = str(items[0]["prev_hash"]) if items else GENESIS
    result = verify_chain(items, anchor_seq=anchor_seq, anchor_hash=anchor_hash)
    if not result.ok:
        raise BundleError(f"refusing to export a broken chain: {result.message}")
    lines = b"".join(canonical_json(e) + b"\n" for e in items)
    manifest: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "created_at": format_at(created_at),
        "period": {"from": period[0], "to": period[1]},
        "count": len(items),
        "first_seq": items[0]["seq"] if items else None,
        "last_seq": items[-1]["seq"] if items else None,
        "anchor": {"seq": anchor_seq, "hash": anchor_hash},
        "head": {"seq": result.seq if items else anchor_seq, "hash": result.head_hash},
        "entries_file": ENTRIES_FILE,
        "entries_sha256": hashlib.sha256(lines).hexdigest(),
        "hash_algorithm": "sha256 over canonical JSON of the entry without 'hash', including 'prev_hash'",
        "signature_algorithm": algorithm,
        "key_id": key_id,
    }
    manifest_bytes = canonical_json(manifest)
    signature = _sign(algorithm, key, manifest_bytes)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / ENTRIES_FILE).write_bytes(lines)
    (out / MANIFEST_FILE).write_bytes(manifest_bytes)
    (out / SIGNATURE_FILE).write_text(signature + "\n", encoding="ascii")
    return manifest


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read entries from a JSON-lines file (blank lines skipped)."""
    out: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BundleError(f"{path}:{number}: not JSON: {exc.msg}") from None
            if not isinstance(value, dict):
                raise BundleError(f"{path}:{number}: expected a JSON object")
            out.append(value)
    return out


def verify_bundle(bundle_dir: str | Path, key: bytes) -> VerifyResult:
    """Verify a bundle: the manifest's signature, the entries file's digest, then the chain against the manifest.

    ``key`` is the HMAC key, or the Ed25519 public key (PEM) for an Ed25519 bundle.
    """
    root = Path(bundle_dir)
    try:
        manifest_bytes = (root / MANIFEST_FILE).read_bytes()
        signature = (root / SIGNATURE_FILE).read_text(encoding="ascii")
        lines = (root / ENTRIES_FILE).read_bytes()
    except OSError as exc:
        return VerifyResult(False, 0, "malformed", message=f"bundle incomplete: {exc}")
    try:
        manifest = json.loads(manifest_bytes)
    except json.JSONDecodeError:
        return VerifyResult(False, 0, "malformed", message="manifest.json is not JSON")
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        return VerifyResult(False, 0, "malformed", message=f"manifest.json is not a {BUNDLE_FORMAT} manifest")
    if not _check_signature(str(manifest.get("signature_algorithm")), key, manifest_bytes, signature):
        return VerifyResult(False, 0, "signature", message="manifest signature does not verify (wrong key or edited)")
    if hashlib.sha256(lines).hexdigest() != manifest.get("entries_sha256"):
        result_prefix = "entries.jsonl does not match the manifest digest; "
    else:
        result_prefix = ""
    entries = read_jsonl(root / ENTRIES_FILE)
    anchor, head = manifest["anchor"], manifest["head"]
    result = verify_chain(
        entries,
        anchor_seq=int(anchor["seq"]),
        anchor_hash=str(anchor["hash"]),
        expected_head=(int(head["seq"]), str(head["hash"] if head["hash"] is not None else anchor["hash"])),
    )
    if result.ok and result_prefix:
        # Same entries, different bytes (re-serialised): the chain is intact but the file is not the signed one.
        return VerifyResult(False, result.count, "edited", message=result_prefix + "the chain itself verifies")
    if not result.ok:
        return VerifyResult(
            False, result.count, result.problem, result.index, result.seq, result_prefix + result.message
        )
    return result


def entries_in_period(
    entries: Sequence[Mapping[str, Any]], start: dt.datetime | None, end: dt.datetime | None
) -> list[Mapping[str, Any]]:
    """Return the contiguous run of entries with ``start <= at < end`` (by seq; the chain stays verifiable)."""
    picked = [
        e
        for e in entries
        if (start is None or parse_at(format_at(e["at"])) >= start)
        and (end is None or parse_at(format_at(e["at"])) < end)
    ]
    if not picked:
        return []
    # Keep everything between the first and last picked seq so the range has no holes (clock skew between writers).
    lo, hi = picked[0]["seq"], picked[-1]["seq"]
    return [e for e in entries if lo <= e["seq"] <= hi]
