"""The request-signing scheme shared by intake (platform → us) and callbacks (us → platform).

``X-Moderation-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`` with
``X-Moderation-Timestamp: <unix seconds>``. Several ``v1=`` values separated by commas are accepted, so a platform
can sign with an old and a new secret while rotating.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

KEY_HEADER = "X-Moderation-Key"
TIMESTAMP_HEADER = "X-Moderation-Timestamp"
SIGNATURE_HEADER = "X-Moderation-Signature"
SCHEME = "v1"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """Return the signature header value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"{SCHEME}={mac}"


def signed_headers(key: str | None, secret: str, body: bytes, now: float | None = None) -> dict[str, str]:
    """Return the headers that authenticate ``body`` (key omitted for callbacks, where the platform knows us)."""
    ts = str(int(time.time() if now is None else now))
    headers = {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(secret, ts, body)}
    if key is not None:
        headers[KEY_HEADER] = key
    return headers


@dataclass(frozen=True)
class SignatureError(Exception):
    code: str
    message: str


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    tolerance_s: int,
    now: float | None = None,
) -> None:
    """Raise ``SignatureError`` unless the signature is valid and the timestamp within ``tolerance_s`` of now."""
    if not timestamp or not signature:
        raise SignatureError("missing_signature", f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("bad_timestamp", f"{TIMESTAMP_HEADER} must be unix seconds") from None
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance_s:
        raise SignatureError("stale_timestamp", f"timestamp is more than {tolerance_s} s away from now")
    expected = sign(secret, timestamp, body).encode()
    candidates = [part.strip() for part in signature.split(",") if part.strip().startswith(f"{SCHEME}=")]
    # Compare against every candidate without short-circuiting, in constant time each.
    ok = False
    for candidate in candidates:
        ok |= hmac.compare_digest(candidate.encode(), expected)
    if not ok:
        raise SignatureError("bad_signature", "signature does not match the body and timestamp")
