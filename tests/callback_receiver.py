"""A real HTTP server on loopback that receives signed callbacks, as a platform would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from moderation import signing


@dataclass
class Receiver:
    secret: str
    fail_first: int = 0  # answer 503 to this many requests first (a platform that is down)
    down: bool = False  # answer 503 while set (a platform down for as long as a test says)
    received: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0  # requests answered 503
    bad_signatures: int = 0
    calls: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        with self.lock:
            self.calls += 1
            if self.down or self.calls <= self.fail_first:
                self.refused += 1
                return Response("down", status=503)(environ, start_response)
            try:
                signing.verify(
                    self.secret,
                    request.headers.get(signing.TIMESTAMP_HEADER),
                    request.headers.get(signing.SIGNATURE_HEADER),
                    body,
                    tolerance_s=300,
                )
            except signing.SignatureError:
                self.bad_signatures += 1
                return Response("bad signature", status=401)(environ, start_response)
            self.received.append(json.loads(body))
        return Response("ok")(environ, start_response)

    def unique_deliveries(self) -> set[str]:
        return {r["delivery_id"] for r in self.received}

    def delivery_counts(self) -> dict[str, int]:
        """How many times each delivery was accepted (an idempotent receiver counts duplicates)."""
        counts: dict[str, int] = {}
        with self.lock:
            for r in self.received:
                counts[r["delivery_id"]] = counts.get(r["delivery_id"], 0) + 1
        return counts


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        """Thousands of callbacks: no access log."""


@contextmanager
def callback_receiver(secret: str, fail_first: int = 0, *, access_log: bool = True) -> Iterator[Receiver]:
    receiver = Receiver(secret=secret, fail_first=fail_first)
    handler = WSGIRequestHandler if access_log else _QuietHandler
    server = make_server("127.0.0.1", 0, receiver, threaded=True, request_handler=handler)
    receiver.url = f"http://127.0.0.1:{server.server_port}/callbacks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        thread.join(5)
