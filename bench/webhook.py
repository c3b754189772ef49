"""Webhook intake under gunicorn, and what a complete report costs in SMS segments.

Throughput and latency: BENCH_WEBHOOK_REQUESTS (default 8000) signed Twilio
SMS webhooks (each a new MessageSid, signed as Twilio signs them: verify
the signature, parse, one INSERT, one enqueue, empty TwiML) posted to the
real `complaint-gateway serve` (BENCH_WEBHOOK_WORKERS gunicorn processes,
default 2, of BENCH_WEBHOOK_THREADS gthread threads, default 8: serve's
defaults) by BENCH_WEBHOOK_CLIENTS client threads (default 16), each
request on a new connection (no keep-alive), as a provider's webhooks come.

Floor, in the same run, same clients, same form bodies and headers: a bare
Flask app in its own gunicorn process with the same settings
(bench/_bare_webhook.py) whose one route does one Redis write and answers
an empty `<Response/>`: the least a webhook that touches shared state can
cost. It shares nothing with the gateway's app, so the app-wide hooks the
gateway runs on every request count against the gateway, not the floor.
The two alternate in BENCH_WEBHOOK_ROUNDS rounds (default 4, the one that
goes first swapping each round), so a change in the machine's other load
during the run weighs on both alike. No worker runs meanwhile: this is the
webhook path alone. Each round stops at BENCH_TIMEOUT seconds (default
300) whatever it has done. Afterwards: every answer was 200, the gateway
stored one inbound event per request, the floor one Redis list item per
request.

Segments: one complete report by SMS (statement, the five questions
answered, the receipt) in each language that has a catalog, counting the
SMS segments of every message the gateway sends (gateway.conversation.segments),
against the number of messages (one segment each at best).

Run alone: `python -m bench webhook` (or `python -m bench.webhook`).
"""

from __future__ import annotations

import http.client
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from bench import Row
from bench import _services as services
from bench import _workers as workers
from bench._bare_webhook import FLOOR_KEY
from bench._processes import SERVE_THREADS, SERVE_WORKERS, free_port, spawn, wait_http
from bench._tracker import AcceptingTracker

REQUESTS = int(os.environ.get("BENCH_WEBHOOK_REQUESTS", "8000"))
CLIENTS = int(os.environ.get("BENCH_WEBHOOK_CLIENTS", "16"))
WORKERS = int(os.environ.get("BENCH_WEBHOOK_WORKERS", str(SERVE_WORKERS)))
THREADS = int(os.environ.get("BENCH_WEBHOOK_THREADS", str(SERVE_THREADS)))
ROUNDS = int(os.environ.get("BENCH_WEBHOOK_ROUNDS", "4"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
TOKEN = "bench-made-up-twilio-token"
ACCOUNT = "AC" + "0" * 30 + "99"
PUBLIC = "http://gateway.bench"
PATH = "/sms/twilio"


def _wait_up(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process, log)
    except RuntimeError:
        _stop(process)
        raise


def _stop(process: subprocess.Popen[bytes]) -> None:
    """gunicorn's graceful stop for the server's process group (SIGKILL after 15 s)."""
    workers.stop([process])


def _serve_gateway(backend: services.Backend, port: int) -> subprocess.Popen[bytes]:
    """The real `complaint-gateway serve`, as deployed, on this backend."""
    env = backend.env(
        PUBLIC_BASE_URL=PUBLIC,
        TWILIO_ACCOUNT_SID=ACCOUNT,
        TWILIO_AUTH_TOKEN=TOKEN,
        GATEWAY_DATA_DIR=str(backend.directory),
        # serve refuses to start without a forwarder; no worker runs, so it is never called.
        CASE_TRACKER_URL="http://127.0.0.1:9/bench-never-called",
        CASE_TRACKER_SECRET="bench-tracker-secret",
        FORWARDERS="webhook",
    )
    log = backend.directory / "webhook-gateway.log"
    command = [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(WORKERS), "--threads", str(THREADS)]
    command += ["--data-dir", str(backend.directory)]
    process = spawn(command, env, log)
    _wait_up(port, process, log)
    return process


def _serve_floor(backend: services.Backend, port: int) -> subprocess.Popen[bytes]:
    """The bare Flask app in its own gunicorn, with serve's settings."""
    log = backend.directory / "webhook-floor.log"
    command = [sys.executable, "-m", "bench._bare_webhook", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(WORKERS), "--threads", str(THREADS)]
    process = spawn(command, backend.env(), log)
    _wait_up(port, process, log)
    return process


def _params(n: int) -> dict[str, str]:
    sid = f"SM{n:032d}"
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": ACCOUNT,
        "From": f"+24381{n % 10_000_000:07d}",
        "To": "+243810009901",
        "Body": "HELP",
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


Bodies = list[tuple[bytes, dict[str, str]]]


def signed_bodies(count: int, first: int = 0) -> Bodies:
    """`count` Twilio SMS webhooks from number `first`, form-encoded and signed as Twilio does."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    bodies = []
    for n in range(first, first + count):
        params = _params(n)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": validator.compute_signature(f"{PUBLIC}{PATH}", params),
            "Connection": "close",
        }
        bodies.append((urlencode(params).encode(), headers))
    return bodies


class Load:
    """Requests posted in one or more rounds: how many, over how long, each one's latency."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall

    def percentile(self, p: int) -> float:
        if len(self.latencies) < 2:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100)[p - 1]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies)

    @property
    def p99(self) -> float:
        return self.percentile(99)

    @property
    def acknowledged(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)


def _post(port: int, body: bytes, headers: dict[str, str]) -> int:
    """One request on its own new connection, closed afterwards; the status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", PATH, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def _load(port: int, bodies: Bodies, into: Load | None = None) -> Load:
    """Post every body once from CLIENTS threads; the wall time and latencies, added to `into`."""
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    todo = iter(bodies)
    deadline = time.monotonic() + TIMEOUT

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                item = next(todo, None)
            if item is None:
                return
            body, headers = item
            started = time.perf_counter()
            try:
                status = _post(port, body, headers)
            except (OSError, http.client.HTTPException):
                status = 0  # no answer: counted as a failure, never as stored
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses.append(status)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    into = into or Load()
    into.wall += wall
    into.latencies.extend(latencies)
    for status in statuses:
        into.statuses[status] = into.statuses.get(status, 0) + 1
    return into


def webhook(backend: services.Backend) -> list[Row]:
    """Gateway and bare floor, each in its own gunicorn, loaded in alternating rounds."""
    import redis as redis_lib

    bodies = signed_bodies(REQUESTS)
    warm_up = signed_bodies(max(50, REQUESTS // 10), first=REQUESTS)
    gateway_port, floor_port = free_port(), free_port()
    servers = []
    try:
        servers.append(_serve_gateway(backend, gateway_port))
        servers.append(_serve_floor(backend, floor_port))
        redis = redis_lib.Redis.from_url(backend.redis_url)
        redis.delete(FLOOR_KEY)
        floor_warm = _load(floor_port, warm_up)  # warm both up: checked, not timed
        hook_warm = _load(gateway_port, warm_up)
        floor, hook = Load(), Load()
        for n in range(ROUNDS):
            share = bodies[n::ROUNDS]
            order = [(floor_port, floor), (gateway_port, hook)]
            for port, load in order if n % 2 == 0 else reversed(order):
                _load(port, share, into=load)
        floor_stored = int(redis.llen(FLOOR_KEY))
        redis.delete(FLOOR_KEY)
        redis.close()
    finally:
        for server in servers:
            _stop(server)
    for name, load, warm in (("gateway", hook, hook_warm), ("floor", floor, floor_warm)):
        for part in (warm, load):
            if set(part.statuses) != {200}:
                raise RuntimeError(f"{name}: answers by status {part.statuses}, not all 200")
        if len(load.latencies) != REQUESTS:
            raise RuntimeError(f"{name}: {len(load.latencies)} of {REQUESTS} posted in time")
    floor_answered = floor_warm.acknowledged + floor.acknowledged
    if floor_stored != floor_answered:
        raise RuntimeError(f"floor: {floor_stored} Redis writes for {floor_answered} answers")
    _check_stored(backend, hook_warm.acknowledged + hook.acknowledged)
    setup = (
        f"gunicorn {WORKERS} x {THREADS} gthread each side, {CLIENTS} clients,"
        f" new connection per request, {ROUNDS} rounds"
    )
    print(
        f"webhook: {backend.name}: gateway {hook.rate:.0f}/s p50 {hook.p50 * 1000:.1f} ms"
        f" p99 {hook.p99 * 1000:.1f} ms; bare floor {floor.rate:.0f}/s"
        f" p50 {floor.p50 * 1000:.1f} ms p99 {floor.p99 * 1000:.1f} ms;"
        f" ratio {hook.rate / floor.rate:.2f}, p99 {hook.p99 / floor.p99:.1f}x the floor's",
        flush=True,
    )
    return [
        Row(
            "webhook",
            backend.name,
            "signed Twilio SMS webhooks/s",
            hook.rate,
            "bare Flask + 1 Redis write, requests/s",
            floor.rate,
            f"{setup}; checked: all 200, one stored event / Redis write each",
        ),
        Row(
            "webhook",
            backend.name,
            "webhook p50 latency, ms",
            hook.p50 * 1000,
            "bare floor p50 latency, ms",
            floor.p50 * 1000,
            "lower is better; ratio = times the floor",
        ),
        Row(
            "webhook",
            backend.name,
            "webhook p99 latency, ms",
            hook.p99 * 1000,
            "bare floor p99 latency, ms",
            floor.p99 * 1000,
            "lower is better; ratio = times the floor",
        ),
    ]


def _check_stored(backend: services.Backend, expected: int) -> None:
    from sqlalchemy import create_engine, func, select

    from gateway.core.models import InboundEvent

    engine = create_engine(backend.database_url)
    with engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(InboundEvent)).scalar_one()
        distinct = conn.execute(
            select(func.count(func.distinct(InboundEvent.provider_message_id)))
        ).scalar_one()
    engine.dispose()
    if stored != expected or distinct != expected:
        raise RuntimeError(
            f"{stored} inbound events ({distinct} distinct) stored for {expected} webhooks"
        )


# --- segments per complete report -------------------------------------------------


def segments_per_report(backend: services.Backend) -> list[Row]:
    """One complete SMS report per language, counting the segments of what is sent."""
    # The filing job forwards the case itself (gateway.work.effects.carry_on): to a tracker.
    with AcceptingTracker() as tracker:
        return _segments(backend, tracker.url)


def _segments(backend: services.Backend, tracker_url: str) -> list[Row]:
    from rq import SimpleWorker

    from gateway.channel_packages import load_channels
    from gateway.conversation.segments import measure
    from gateway.core import i18n, runtime
    from gateway.core.config import Settings
    from gateway.core.inbound import InboundMessage
    from gateway.core.providers import Channel, Provider, installed
    from gateway.core.runtime import Gateway
    from gateway.intake import submit as intake
    from gateway.work.intake_relay import relay_all

    sent: list[str] = []

    def capture(settings, address, text, message_id):  # type: ignore[no-untyped-def]
        sent.append(text)
        return None

    load_channels()  # the conversation's channels
    installed().add(Channel(name="bench-sms", providers=(Provider("bench-sms", sender=capture),)))
    env = backend.env(
        CASE_TRACKER_URL=tracker_url,
        CASE_TRACKER_SECRET="bench-tracker-secret",
        FORWARDERS="webhook",
    )
    settings = Settings.from_mapping(env, backend.directory)
    gw = runtime.install(Gateway.from_settings(settings))
    rows = []
    try:
        for number, locale in enumerate(i18n.available_locales()):

            def say(text: str, n: list[int] = [0], locale=locale, number=number) -> None:  # noqa: B006
                n[0] += 1
                intake.submit(
                    gw,
                    [
                        InboundMessage(
                            channel="sms",
                            provider="bench-sms",
                            provider_message_id=f"seg-{locale}-{n[0]}",
                            sender=f"+2438100{number:05d}",
                            text=text,
                        )
                    ],
                )
                queues = [gw.queue("intake"), gw.queue("outbound")]
                for _ in range(10):
                    relay_all(gw)  # the announced message becomes its intake job
                    if not any(q.count for q in queues):
                        break
                    SimpleWorker(queues, connection=gw.redis).work(
                        burst=True, logging_level="ERROR"
                    )

            say(f"LANGUAGE {locale}")
            sent.clear()
            for text in ("Statement of what happened", "1", "3", "1", "At the market", "1"):
                say(text)
            if len(sent) < 6:
                raise RuntimeError(f"{locale}: {len(sent)} messages sent for a whole report")
            segments = sum(measure(text).count for text in sent)
            encodings = sorted({measure(text).encoding for text in sent})
            rows.append(
                Row(
                    "webhook",
                    backend.name,
                    f"SMS segments per complete report, {locale}",
                    segments,
                    "messages sent (1 segment each at best)",
                    len(sent),
                    f"{'/'.join(encodings)}; lower is better, 1.0: every message fits one SMS",
                )
            )
    finally:
        runtime.uninstall()
        gw.close()
        installed().remove("bench-sms")
    return rows


def run() -> list[Row]:
    rows: list[Row] = []
    for kind, skipped in services.kinds():
        if skipped:
            print(f"webhook: {kind} skipped: {skipped}", flush=True)
            continue
        with services.backend(kind) as backend:
            rows.extend(webhook(backend))
    with services.backend("embedded") as backend:
        rows.extend(segments_per_report(backend))
    return rows


if __name__ == "__main__":
    from bench import markdown_table

    print(markdown_table(run()))
