"""A local HTTP server that plays the case-tracking system in tests.

It verifies the gateway's signature the way a tracker would, validates the
body against docs/case.schema.json, keeps one case per Idempotency-Key
(answering 409 to a repeat, as the contract allows), and answers from a
script of status codes and delays so failures can be injected.
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

SCHEMA = json.loads((Path(__file__).parents[2] / "docs" / "case.schema.json").read_text())


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    signature_ok: bool
    schema_error: str | None
    answered: int


@dataclass
class TrackerServer:
    secret: str
    requests: list[Received] = field(default_factory=list)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    script: list[int] = field(default_factory=list)  # status codes to answer first
    delay: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> TrackerServer:
        tracker = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
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
                    tracker.requests.append(Received(headers, body, ok, error, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cases"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
