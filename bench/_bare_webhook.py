"""The webhook benchmark's floor: a bare Flask app, in its own gunicorn, doing one Redis write.

`python -m bench._bare_webhook --port PORT [--workers N] [--threads N]`
serves `POST /sms/twilio` with the gunicorn settings `complaint-gateway
serve` uses (gateway/processes.py `run_server`: gthread workers, the same
timeouts, an access log line per request on stdout, the same umask and
forwarded-IPs setting, no control socket). Each request does one Redis
write (LPUSH of a small value on REDIS_URL) and answers as Twilio expects,
200 with an empty `<Response/>`. It reads no form, checks no signature and
imports nothing of the gateway: the least a webhook that touches shared
state can cost under that server. What the gateway adds to it (its
app-wide hooks, the signature, the INSERT, the enqueue, the gateway's own
access logger) is what the ratio measures.

`GET /healthz` answers 200 without touching Redis, so the benchmark knows
when the server is up.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

import redis as redis_lib
from flask import Flask, Response
from gunicorn.app.base import BaseApplication

from bench._processes import SERVE_THREADS, SERVE_WORKERS

FLOOR_KEY = "complaint-gateway:bench:bare-webhook"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# The gateway's access log format (gateway/web/server_log.py), copied, not imported.
ACCESS_LOG_FORMAT = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def create_app(redis_url: str) -> Flask:
    """The floor's app: one route that writes to Redis, one that says it is up."""
    app = Flask(__name__)
    connection = redis_lib.Redis.from_url(redis_url)

    @app.post("/sms/twilio")
    def sms() -> Response:
        connection.lpush(FLOOR_KEY, b"1")
        return Response(EMPTY_TWIML, status=200, content_type="text/xml; charset=utf-8")

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    return app


class BareServer(BaseApplication):  # type: ignore[misc]
    """gunicorn with the settings of the gateway's `serve` and the bare app."""

    def __init__(self, host: str, port: int, workers: int, threads: int, redis_url: str) -> None:
        self.options: dict[str, Any] = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "timeout": 60,
            "graceful_timeout": 20,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "umask": 0o077,
            "forwarded_allow_ips": "127.0.0.1",
        }
        self.redis_url = redis_url
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)
        if "control_socket_disable" in self.cfg.settings:
            self.cfg.set("control_socket_disable", True)

    def load(self) -> Flask:
        return create_app(self.redis_url)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench._bare_webhook")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=SERVE_WORKERS)
    parser.add_argument("--threads", type=int, default=SERVE_THREADS)
    args = parser.parse_args(argv)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    BareServer(args.host, args.port, args.workers, args.threads, redis_url).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
