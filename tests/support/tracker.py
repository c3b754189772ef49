"""A local HTTP server that plays the case-tracking system in tests.

It verifies the gateway's signature the way a tracker would, validates the
body against docs/case.schema.json, keeps one case per Idempotency-Key
(answering 409 to a repeat, as the contract allows), and answers from a
script of status codes and delays so failures can be injected.

To catch a gateway in the middle of a forwarding, `hold` keeps the next
request waiting until `release` is set: "before" it is recorded (the
tracker never took it in) or "after" (it has the case, but the answer is
late, or lost if the caller dies). `arrived` is set when a request comes in.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema

from gateway.forwarders.webhook import verify

HOLD_LIMIT = 60.0  # seconds a held request waits at most, so no thread outlives a test run
SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "case.schema.json").read_text())


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    signature_ok: bool
    schema_error: str | None
    answered: int
    raw: bytes = b""  # the body as sent, to replay it byte for byte


@dataclass
class TrackerServer:
    secret: str
    requests: list[Received] = field(default_factory=list)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    script: list[int] = field(default_factory=list)  # status codes to answer first
    delay: float = 0.0
    hold: str | None = None  # "before" or "after" recording: hold the next request
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> TrackerServer:
        tracker = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with tracker.lock:
                    hold, tracker.hold = tracker.hold, None
                tracker.arrived.set()
                if hold == "before":
                    tracker.release.wait(HOLD_LIMIT)
                if tracker.delay:
                    time.sleep(tracker.delay)
                headers = {k.lower(): v for k, v in self.headers.items()}
                ok = verify(
                    tracker.secret,
                    headers.get("x-gateway-timestamp", ""),
                    raw,
                    headers.get("x-gateway-signature", ""),
                )
                body = json.loads(raw or b"{}")
                error = None
                if "event" not in body:
                    try:
                        jsonschema.validate(body, SCHEMA)
                    except jsonschema.ValidationError as exc:
                        error = exc.message
                with tracker.lock:
                    if not ok:
                        status = 403
                    elif tracker.script:
                        status = tracker.script.pop(0)
                    elif error:
                        status = 422
                    else:
                        key = headers.get("idempotency-key", "")
                        status = 409 if key in tracker.cases else 201
                        if status == 201:
                            tracker.cases[key] = body
                    tracker.requests.append(Received(headers, body, ok, error, status, raw))
                if hold == "after":
                    tracker.release.wait(HOLD_LIMIT)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the caller is gone (a test killed it): nobody to answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cases"

    def answers_for(self, key: str) -> list[int]:
        """The status codes answered to the requests with this Idempotency-Key, in order."""
        with self.lock:
            return [r.answered for r in self.requests if r.headers.get("idempotency-key") == key]

    def stop(self) -> None:
        self.release.set()  # no held request keeps waiting
        self.server.shutdown()
        self.server.server_close()
