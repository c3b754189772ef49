"""PostgreSQL and Redis servers of a test's own, which it may stop, kill and start again.

The shared PostgreSQL and Redis of the other tests must never be stopped, so
a fault test runs its gateway on servers it starts itself:

- `PrivatePostgres`: a cluster made with `initdb` in a temporary directory,
  started with `pg_ctl` on a free port of 127.0.0.1 (trust authentication,
  fsync off: it lives as long as the test). PostgreSQL refuses to run as
  root, so when the test runs as root the server runs as the `postgres`
  user through `runuser`. `postgres_binaries()` is None when the server
  binaries (/usr/lib/postgresql/*/bin) are not installed.
- `PrivateRedis`: the gateway's own embedded Redis (a redis-server on a Unix
  socket, keeping nothing on disk), which `kill` stops with SIGKILL: started
  again, it is empty, as a Redis restarted without persistence is.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from gateway.core.embedded_redis import EmbeddedRedis


def postgres_binaries() -> Path | None:
    """The newest installed PostgreSQL server's bin directory, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    return Path(found[-1]).parent if found else None


def _version(path: str) -> int:
    digits = Path(path).parents[1].name
    return int(digits) if digits.isdigit() else 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivatePostgres:
    """One PostgreSQL cluster for one test: `init()`, `start()`, `stop()`, `cleanup()`."""

    def __init__(self) -> None:
        binaries = postgres_binaries()
        if binaries is None:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = binaries
        # Under /tmp, not pytest's tmp_path: the postgres user must be able to reach it.
        self.directory = Path(tempfile.mkdtemp(prefix="cg-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{self.log_tail()}")

    def init(self) -> PrivatePostgres:
        if self.as_postgres:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        return self

    def start(self) -> PrivatePostgres:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory}"
            " -c fsync=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` ends sessions cleanly, `immediate` is a crash."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def log_tail(self, lines: int = 30) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def cleanup(self) -> None:
        if self.running():
            with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class PrivateRedis:
    """A Redis for one test that can be killed (losing everything) and started again."""

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="cg-redis-"))
        self.server: EmbeddedRedis | None = None

    @property
    def url(self) -> str:
        return EmbeddedRedis(self.directory).url

    def start(self) -> PrivateRedis:
        self.server = EmbeddedRedis(self.directory).start()
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: nothing is saved."""
        if self.server is not None and self.server.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.server.process.send_signal(signal.SIGKILL)
            self.server.process.wait(timeout=10)
        self.server = None

    def cleanup(self) -> None:
        self.kill()
        shutil.rmtree(self.directory, ignore_errors=True)
