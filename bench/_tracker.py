"""A case tracker that accepts: 201 for a new Idempotency-Key, 409 for a repeat, nothing else.

It does not check signatures or the schema (tests/support/tracker.py does):
the benchmark measures the gateway, so the tracker must cost as little as
it can. It counts distinct keys, says when it has seen a given number, and
notes when each key first arrived (`time.perf_counter()`, the clock of the
benchmark's own process, which the tracker runs in).
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AcceptingTracker:
    """Local HTTP server on 127.0.0.1; `url` is what CASE_TRACKER_URL gets."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.arrived: dict[str, float] = {}
        self.repeats = 0
        self.lock = threading.Lock()
        self.target = 0
        self.reached = threading.Event()
        tracker = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = time.perf_counter()
                key = self.headers.get("Idempotency-Key", "")
                with tracker.lock:
                    new = key not in tracker.keys
                    if new:
                        tracker.keys.add(key)
                        tracker.arrived[key] = now
                        if tracker.target and len(tracker.keys) >= tracker.target:
                            tracker.reached.set()
                    else:
                        tracker.repeats += 1
                self.send_response(201 if new else 409)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AcceptingTracker:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/cases"

    def expect(self, count: int) -> None:
        """Set `reached` once `count` distinct cases have arrived."""
        with self.lock:
            self.target = count
            if len(self.keys) >= count:
                self.reached.set()
