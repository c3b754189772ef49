"""Long-running processes: the web server, the worker, and the demo that runs both."""

from __future__ import annotations

import errno
import logging
import os
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rq import Queue, SimpleWorker
from sqlalchemy import select

from gateway.channel_packages import load_channels
from gateway.core import embedded_redis, runtime
from gateway.core.accounts import User
from gateway.core.config import (
    DEMO_SETTINGS_FILE,
    ConfigError,
    Settings,
    data_directory,
    read_keys_file,
    write_keys_file,
)
from gateway.core.db import make_engine, make_sessionmaker
from gateway.core.embedded_redis import EmbeddedRedis
from gateway.core.privacy import Cipher
from gateway.core.runtime import QUEUE_NAMES, Gateway, redis_from_url
from gateway.core.states import Role
from gateway.forwarders import validate
from gateway.work.intake_relay import RelayThread, relay_all
from gateway.work.job_paths import migrate_queued_jobs
from gateway.work.scheduler import SchedulerThread, schedule_once
from gateway.work.spool import SpoolLoader
from gateway.work.sweeper import SweeperThread

if TYPE_CHECKING:
    from gateway.console.users import NewUser

# What only one kind of process uses is imported in the function that starts it: the worker
# never loads gunicorn, the console or Alembic (bench/README.md, memory).

log = logging.getLogger(__name__)


def _check_forwarders(settings: Settings) -> None:
    problems = validate(settings)
    if problems:
        raise ConfigError("; ".join(problems))


def _refuse_demo_settings(settings: Settings) -> None:
    """`serve` and `worker` never take a setting from a demo's `demo.env`.

    The demo hands its own processes every setting it made up in their
    environment; `demo.env` is for the commands run beside it. A demo killed
    before it could remove the file leaves a stand-in case tracker and SMS
    gateway behind, which a real deployment on the same data directory
    would otherwise use wherever its environment sets nothing.
    """
    made_up = read_keys_file(settings.data_dir, DEMO_SETTINGS_FILE)
    filled = sorted(name for name in made_up if name not in os.environ)
    if filled:
        raise ConfigError(
            f"{settings.data_dir / DEMO_SETTINGS_FILE} holds a demo's stand-in settings "
            f"({', '.join(filled)}): stop the demo that uses this data directory, "
            "or delete the file"
        )


def _embedded_redis(settings: Settings):  # type: ignore[no-untyped-def]
    if not settings.uses_embedded_redis:
        return None
    return EmbeddedRedis(settings.data_dir).start()


def _start_web_process_threads(worker) -> None:  # type: ignore[no-untyped-def]
    """gunicorn hook: the threads each web process runs beside its requests.

    The spool loader: the spool is on the web machine's disk, which a worker
    on another machine cannot see, so every web process loads its own once
    the database is back. The latency flusher: each web process counts its
    webhooks' answer times in memory and adds them to Redis once a second.
    """
    from gateway.intake.metrics import LatencyFlusher  # web processes only

    gateway = worker.wsgi.extensions["gateway"]
    SpoolLoader(
        gateway, interval=float(gateway.settings.get("GATEWAY_SPOOL_LOAD_SECONDS", "5"))
    ).start()
    LatencyFlusher(gateway).start()


def _flush_web_process_counts(_server, worker) -> None:  # type: ignore[no-untyped-def]
    """gunicorn hook, as a web process ends: its last second of latency counts."""
    from gateway.intake.metrics import flush

    flush(worker.wsgi.extensions["gateway"])


def _allow_long_request_lines() -> None:
    """Let gunicorn take request lines up to MAX_REQUEST_LINE (Kannel's longest SMS).

    gunicorn caps `limit_request_line` at its module constant (8190) and
    offers only 0 beyond it, which its Python parser reads without bound
    (and in quadratic time: 8 MB costs 5 s of a thread). Raising the cap to
    our own bound keeps a limit, answered 414 by gunicorn itself.
    """
    from gunicorn.http import message

    from gateway.web.request_limits import MAX_REQUEST_LINE

    if getattr(message, "MAX_REQUEST_LINE", 0) < MAX_REQUEST_LINE:
        message.MAX_REQUEST_LINE = MAX_REQUEST_LINE


def run_server(settings: Settings, host: str, port: int, workers: int, threads: int) -> int:
    """The web application under gunicorn (gthread workers)."""
    from gunicorn.app.base import BaseApplication

    from gateway.app import create_app
    from gateway.web.request_limits import MAX_REQUEST_LINE
    from gateway.web.server_log import ACCESS_LOG_FORMAT, PrivateLogger
    from gateway.web.server_worker import WORKER_CLASS

    _check_forwarders(settings)
    _refuse_demo_settings(settings)
    _allow_long_request_lines()
    embedded = _embedded_redis(settings)

    class GatewayServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)
            self.cfg.set("worker_class", WORKER_CLASS)  # gthread, quit once (server_worker.py)
            self.cfg.set("timeout", 60)
            self.cfg.set("graceful_timeout", 20)
            # The path only, never the query string or the client's address (server_log.py).
            self.cfg.set("accesslog", "-")
            self.cfg.set("access_log_format", ACCESS_LOG_FORMAT)
            self.cfg.set("logger_class", PrivateLogger)
            self.cfg.set("limit_request_line", MAX_REQUEST_LINE)
            self.cfg.set("umask", 0o077)
            self.cfg.set("forwarded_allow_ips", "127.0.0.1")
            self.cfg.set("post_worker_init", _start_web_process_threads)
            self.cfg.set("worker_exit", _flush_web_process_counts)
            if "control_socket_disable" in self.cfg.settings:
                # gunicorn >= 25.1 opens a control socket at one fixed path per
                # user: a second gateway (or a test) on the machine would take it
                # over or remove it. Nothing here uses it.
                self.cfg.set("control_socket_disable", True)

        def load(self):  # type: ignore[no-untyped-def]
            return create_app(settings)

    try:
        GatewayServer().run()
    finally:
        if embedded is not None:
            embedded.stop()
    return 0


# RQ blocks this long for the next job (its default worker_ttl, less 15 s); the worker's
# own Redis connection waits longer than that, so an idle worker reads no timeout (and
# logs no ERROR). Everything else keeps the short timeout of redis_from_url.
WORKER_TTL = 420
WORKER_SOCKET_TIMEOUT = WORKER_TTL + 30


def run_worker(settings: Settings, burst: bool = False, sweeper: bool = True) -> int:
    """An RQ worker on every gateway queue, with RQ's scheduler and the sweeper as threads.

    It takes jobs in QUEUE_NAMES' order, a report's later stages first, so a
    burst of new messages does not hold back the receipts of earlier reports.
    """
    _check_forwarders(settings)
    _refuse_demo_settings(settings)
    embedded = _embedded_redis(settings)
    thread = relay_thread = scheduler = None
    try:
        load_channels()
        gw = runtime.install(Gateway.from_settings(settings))
        try:
            migrate_queued_jobs(gw)  # jobs queued by the previous release, under old paths
        except Exception:  # noqa: BLE001 - a shortcut only: the sweeper re-enqueues their rows
            log.warning("queued jobs not moved to their new paths", exc_info=True)
        thread = SweeperThread(gw) if sweeper else None
        if thread:
            thread.start()
        try:
            relay_all(gw)  # what the web tier announced while no worker ran
        except Exception:  # noqa: BLE001 - the relay thread and the sweeper catch up
            log.warning("announced inbound events not relayed at start", exc_info=True)
        if not burst:
            relay_thread = RelayThread(gw)
            relay_thread.start()
        waiting = redis_from_url(
            settings.redis_url or embedded_redis.url(settings.data_dir),
            socket_timeout=WORKER_SOCKET_TIMEOUT,
        )
        queues = [Queue(name, connection=waiting) for name in QUEUE_NAMES]
        if burst:  # what is due now, once, as RQ's own burst worker does
            schedule_once(gw.redis, QUEUE_NAMES)
        else:
            scheduler = SchedulerThread(gw.redis, QUEUE_NAMES)
            scheduler.start()
        worker = SimpleWorker(queues, connection=waiting, worker_ttl=WORKER_TTL)
        worker.work(burst=burst, logging_level="WARNING")
    finally:
        if thread:
            thread.stop()
        if relay_thread:
            relay_thread.stop()
        if scheduler:
            scheduler.stop()
        if embedded is not None:
            embedded.stop()
    return 0


def demo_admin(settings: Settings) -> NewUser:
    """The demo's console user "admin", with a one-time password valid for this run.

    Made on the first run; a later run gives it a new one-time password and
    keeps its TOTP secret, so an authenticator set up once keeps working.
    """
    from gateway.console.users import create_user, reset_credentials

    engine = make_engine(settings.database_url)
    cipher = Cipher(settings.data_key)
    try:
        with make_sessionmaker(engine)() as session, session.begin():
            if session.scalars(select(User.id).where(User.username == "admin")).first():
                return reset_credentials(session, cipher, "admin", "demo", new_totp=False)
            return create_user(session, cipher, "admin", Role.ADMIN.value, actor="demo")
    finally:
        engine.dispose()


def listen_problem(host: str, port: int) -> str | None:
    """Why nothing could listen on `host:port` now (e.g. "Address already in use"), or None.

    Checked as gunicorn binds (SO_REUSEADDR), so a port in TIME_WAIT counts as free.
    """
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        return exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))
    return None


def command_line() -> str:
    """This command line as a shell can run it without an activated virtualenv."""
    invoked = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if invoked is not None and invoked.name == "complaint-gateway" and invoked.exists():
        return shlex.quote(str(invoked.absolute()))
    beside = Path(sys.executable).parent / "complaint-gateway"
    if beside.exists():
        return shlex.quote(str(beside))
    found = shutil.which("complaint-gateway")
    if found:
        return shlex.quote(str(Path(found).absolute()))
    return f"{shlex.quote(sys.executable)} -m gateway"


def write_demo_settings(directory: Path, settings: dict[str, str]) -> Path:
    """The settings this demo run made up, for commands run beside it (mode 0600).

    `forwarders test --data-dir …` then reaches the demo's stand-in tracker with
    its secret; Settings.load reads the file for that data dir, under the
    environment. The demo removes it when it stops.
    """
    path = directory / DEMO_SETTINGS_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write("# Made by the running complaint-gateway demo; removed when it stops. Secret.\n")
        for name, value in settings.items():
            fh.write(f"{name}={value}\n")
    return path


def run_demo(data_dir: str | None, port: int, host: str) -> int:
    """Database, embedded Redis, web server, worker and sweeper; Ctrl-C stops all."""
    problem = listen_problem(host, port)
    if problem is not None:
        print(
            f"error: cannot listen on {host}:{port} ({problem}); choose another port"
            " with --port or PORT",
            file=sys.stderr,
        )
        return 1
    directory = data_directory(data_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    env = dict(os.environ)
    keys = write_keys_file(directory)
    for name, value in keys.items():
        env.setdefault(name, value)
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"  # noqa: S104
    env.setdefault("PUBLIC_BASE_URL", base)
    if not env.get("CASE_TRACKER_URL") and "webhook" in env.get("FORWARDERS", "webhook"):
        env["CASE_TRACKER_URL"] = f"{base}/_demo/tracker"
        env["CASE_TRACKER_SECRET"] = secrets.token_urlsafe(24)
        # The stand-in tracker sends no callbacks: a separate secret nobody holds.
        env["CASE_TRACKER_CALLBACK_SECRET"] = secrets.token_urlsafe(24)
        env["GATEWAY_DEMO_TRACKER"] = "1"
    if env.get("GATEWAY_DEMO_TRACKER") == "1":
        # The demo phone (/demo/sms) writes through the real Kannel endpoint; its answers
        # come back to the demo's stand-in for smsbox's sendsms unless a Kannel is set.
        env.setdefault("KANNEL_CALLBACK_KEY", secrets.token_urlsafe(24))
        # The demo USSD menu (/demo/ussd) calls the real Africa's Talking USSD endpoint.
        env.setdefault("AFRICASTALKING_CALLBACK_KEY", secrets.token_urlsafe(24))
        if not env.get("KANNEL_SENDSMS_URL"):
            env["KANNEL_SENDSMS_URL"] = f"{base}/demo/sms/sendsms"
            env["KANNEL_USERNAME"] = "demo"
            env["KANNEL_PASSWORD"] = secrets.token_urlsafe(24)
        if not env.get("TWILIO_AUTH_TOKEN"):
            # The demo call (/demo/ivr) signs its requests with this token; its recordings
            # go to the stand-in for Twilio's Recordings API that the hotline serves.
            env["TWILIO_AUTH_TOKEN"] = secrets.token_urlsafe(24)
            env["TWILIO_ACCOUNT_SID"] = "AC" + secrets.token_hex(16)
            env["TWILIO_API_BASE_URL"] = f"{base}/demo/twilio-api"
    env.setdefault("SWEEP_INTERVAL_SECONDS", "10")
    made_up = {
        name: value
        for name, value in env.items()
        if name not in keys and os.environ.get(name) != value
    }
    settings = Settings.load(environ=env, data_dir=directory)
    _check_forwarders(settings)
    stopping = False

    def _stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    # From here on a Ctrl-C or SIGTERM stops what was started, in order.
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    redis = None
    children: list[subprocess.Popen[bytes]] = []
    code = 0
    demo_settings = None
    try:
        demo_settings = write_demo_settings(directory, made_up)
        if settings.uses_embedded_redis:
            redis = EmbeddedRedis(directory).start()
            env["REDIS_URL"] = redis.url
        from gateway.core.migrate import upgrade

        upgrade(settings.database_url)
        admin = demo_admin(settings)
        command = [sys.executable, "-m", "gateway"]
        serve = ["serve", "--host", host, "--port", str(port), "--workers", "2"]
        for args in (["worker"], serve):
            if not stopping:
                children.append(
                    subprocess.Popen([*command, *args, "--data-dir", str(directory)], env=env)
                )
        phone = ""
        if env.get("GATEWAY_DEMO_TRACKER") == "1":
            phone = (
                f"\n  SMS phone:     {base}/demo/sms\n  USSD menu:     {base}/demo/ussd"
                f"\n  Hotline call:  {base}/demo/ivr"
            )
        print(
            f"""
Complaint gateway demo is running (data in {directory}).
  Web form:      {base}/report
  Status check:  {base}/status
  Health:        {base}/healthz
  Metrics:       {base}/metrics
  Case tracker:  {settings.case_tracker_url}{phone}
  Console:       {base}/console/
    user {admin.username}, one-time password {admin.password}
    TOTP secret {admin.totp_secret} (add it to an authenticator app)
List cases with:  {command_line()} cases list --data-dir {shlex.quote(str(directory))}
Press Ctrl-C to stop.
""",
            flush=True,
        )
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    print(
                        f"a gateway process exited with code {child.returncode}; stopping",
                        file=sys.stderr,
                    )
                    stopping, code = True, 1
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if redis is not None:
            redis.stop()
        if demo_settings is not None:
            demo_settings.unlink(missing_ok=True)
        print("stopped", flush=True)
    return code
