"""Starting the processes a benchmark measures: a free port, a process group, its answer."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`command` in its own process group (stopped as a whole), output appended to `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            env=env,
            cwd=log.parent,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_http(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until `url` answers 200; RuntimeError if the process exits or 60 s pass."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the server exited; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within 60 s; see {log}")


# `complaint-gateway serve`'s defaults (gateway/cli/parser.py), which the benchmarks
# run the gateway and its floors with (tests/test_bench_imports.py checks them).
SERVE_WORKERS = 2
SERVE_THREADS = 8


def serve_gateway(
    env: dict[str, str],
    data_dir: Path,
    log: Path,
    workers: int = SERVE_WORKERS,
    threads: int = SERVE_THREADS,
) -> tuple[subprocess.Popen[bytes], str]:
    """The real `complaint-gateway serve` on a free port, once it answers; and its base URL."""
    port = free_port()
    command = [sys.executable, "-m", "gateway", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--workers", str(workers), "--threads", str(threads)]
    command += ["--data-dir", str(data_dir)]
    server = spawn(command, env, log)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/healthz", server, log)
    return server, base
