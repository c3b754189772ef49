"""The gateway's real processes for tests: `serve` (gunicorn), `worker`, `demo`, reached over HTTP.

- `Process.start` runs `python -m gateway ARGS` in its own process group,
  its stdout and stderr in two files (so a test can read everything it
  wrote), and `stop` ends the group with SIGTERM, then SIGKILL.
- `wait_healthy` polls `/healthz` until it answers 200.
- `HttpClient` is the part of Flask's test client that the helpers in
  tests/ use (`get`, `post`, and responses with `status_code`,
  `get_data`, `mimetype`), over real HTTP to a served gateway, from a
  source address of its own (127.0.0.77 by default), so the helpers that
  play Twilio, Africa's Talking, Kannel, Telegram, a browser or a caller
  drive a deployed gateway as they drive the app in-process.
- `fresh_pg_schema` makes a migrated PostgreSQL schema of its own for a
  module (dropped at the end).

The processes import the gateway from this checkout; GATEWAY_TEST_PYTHONPATH
points them at another (an older commit's tree, to see a test fail there).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text
from werkzeug.datastructures import MultiDict

from gateway.core.migrate import upgrade

REPO = Path(__file__).parents[2]
CLIENT_ADDRESS = "127.0.0.77"  # a loopback address no other part of a test uses
PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg:///test")


def base_env(**extra: str) -> dict[str, str]:
    """PATH, HOME and the repository on PYTHONPATH: what a process needs, and nothing else."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env["PYTHONPATH"] = os.environ.get("GATEWAY_TEST_PYTHONPATH", str(REPO))
    env.update(extra)
    return env


@dataclass
class Process:
    """One `python -m gateway …` process group and the files its output went to."""

    name: str
    popen: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path

    @classmethod
    def start(
        cls, name: str, args: list[str], env: Mapping[str, str], logs: Path, cwd: Path
    ) -> Process:
        out, err = logs / f"{name}.stdout", logs / f"{name}.stderr"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            popen = subprocess.Popen(
                [sys.executable, "-m", "gateway", *args],
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
        return cls(name, popen, out, err)

    def output(self) -> bytes:
        return self.stdout.read_bytes() + b"\n" + self.stderr.read_bytes()

    def tail(self, lines: int = 30) -> str:
        text = self.output().decode(errors="replace")
        return f"--- {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM to the group (as Ctrl-C or systemd would), SIGKILL after `timeout`."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            return self.popen.wait()


def wait_until(what: str, check: Any, processes: list[Process], timeout: float = 60) -> Any:
    """Poll `check` until it returns something true; fail with the processes' output."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        for process in processes:
            if process.popen.poll() is not None:
                raise AssertionError(f"{process.name} exited\n{process.tail()}")
        time.sleep(0.1)
    tails = "\n".join(p.tail() for p in processes)
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


def wait_healthy(base_url: str, processes: list[Process], timeout: float = 60) -> None:
    def healthy() -> bool:
        try:
            return httpx.get(f"{base_url}/healthz", timeout=2, trust_env=False).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(f"{base_url}/healthz to answer 200", healthy, processes, timeout)


class Response:
    """What the helpers read of a Flask test response, from an httpx one."""

    def __init__(self, response: httpx.Response) -> None:
        self.raw = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.mimetype = response.headers.get("content-type", "").split(";")[0].strip()

    def get_data(self, as_text: bool = False) -> Any:
        return self.raw.text if as_text else self.raw.content

    @property
    def json(self) -> Any:
        return self.raw.json()


class HttpClient:
    """`get` and `post` like Flask's test client, over HTTP, from CLIENT_ADDRESS."""

    def __init__(self, base_url: str, source: str = CLIENT_ADDRESS) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            transport=httpx.HTTPTransport(local_address=source),
            trust_env=False,
            timeout=30,
        )
        self.headers: dict[str, str] = {}  # sent with every request (X-Forwarded-For)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> Response:
        return Response(self.http.get(path, headers={**self.headers, **(headers or {})}))

    def post(
        self,
        path: str,
        data: Any = None,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> Response:
        sent = {**self.headers, **(headers or {})}
        if content_type and not content_type.startswith("multipart/"):
            sent["Content-Type"] = content_type
        if isinstance(data, str | bytes):
            return Response(self.http.post(path, content=data, headers=sent))
        form: dict[str, list[str]] = {}
        files: list[tuple[str, tuple[str, bytes]]] = []
        items = data.items(multi=True) if isinstance(data, MultiDict) else (data or {}).items()
        for name, value in items:
            if isinstance(value, tuple):  # (file object, file name)
                files.append((name, (value[1], value[0].read())))
            else:
                form.setdefault(name, []).append(str(value))
        return Response(self.http.post(path, data=form, files=files or None, headers=sent))

    def close(self) -> None:
        self.http.close()


@contextlib.contextmanager
def fresh_pg_schema() -> Iterator[str]:
    """A migrated schema of its own in the test database (the URL selects it); dropped after."""
    schema = f"cg_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"
    url = f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    try:
        upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
