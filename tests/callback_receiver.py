"""A real HTTP server on loopback that receives signed callbacks, as a platform would."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from moderation import signing


@dataclass
class Receiver:
    secret: str
    fail_first: int = 0  # answer 503 to this many requests first (a platform that is down)
    received: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    calls: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        with self.lock:
            self.calls += 1
            if self.calls <= self.fail_first:
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


@contextmanager
def callback_receiver(secret: str, fail_first: int = 0) -> Iterator[Receiver]:
    receiver = Receiver(secret=secret, fail_first=fail_first)
    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.server_port}/callbacks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        thread.join(5)
