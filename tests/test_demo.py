"""`complaint-gateway demo` from a clean environment: up, a report forwarded, Ctrl-C, gone.

The demo is what an administrator tries first, with nothing configured:
it must generate its keys, start its own Redis, serve, forward a report to
its stand-in tracker, and on SIGINT exit 0 leaving no process behind.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from gateway.cases.reports import NewReport
from gateway.core import embedded_redis
from gateway.core.config import Settings
from gateway.core.runtime import Gateway
from gateway.work.reporter import submit_report

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _clean_env() -> dict[str, str]:
    """No DATABASE_URL, REDIS_URL or keys: what a first-time administrator has."""
    return {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}


def _leftovers(data_dir: Path) -> list[str]:
    """Processes whose command line names the demo's data dir or Redis socket."""
    found = []
    for pattern in {str(data_dir), str(embedded_redis.socket_path(data_dir))}:
        result = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True)
        found += [
            line for line in result.stdout.splitlines() if not line.startswith(f"{os.getpid()} ")
        ]
    return found


def _until(check, timeout: float, what: str, log: Path):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.25)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-40:])
    raise AssertionError(f"timed out waiting for {what}\n--- demo output ---\n{tail}")


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5, trust_env=False)
    except httpx.HTTPError:
        return None


def _cases(data_dir: Path) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "gateway", "cases", "list", "--json", "--data-dir", str(data_dir)],
        env=_clean_env(),
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def test_demo_on_PORT_serves_forwards_and_stops_cleanly_on_sigint(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "demo.log"
    with log.open("wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "gateway", "demo", "--data-dir", str(data_dir)],
            env=_clean_env() | {"PORT": str(port)},  # as `PORT=… make demo` passes it
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        health = _until(
            lambda: (r := _get(f"{base}/healthz")) is not None and r.status_code == 200 and r,
            60,
            "GET /healthz to answer 200",
            log,
        )
        assert health.json() == {"status": "ok", "failed": []}
        metrics = httpx.get(f"{base}/metrics", timeout=10, trust_env=False)
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert "# TYPE gateway_reports_total counter" in metrics.text
        assert 'gateway_queue_depth{queue="forwarding"}' in metrics.text

        banner = log.read_text(errors="replace")
        assert f"  Case tracker:  {base}/_demo/tracker" in banner

        # The settings the demo made up are there for commands beside it, for this user only.
        settings_file = data_dir / "demo.env"
        assert settings_file.stat().st_mode & 0o777 == 0o600
        made_up = dict(
            line.split("=", 1) for line in settings_file.read_text().splitlines() if "=" in line
        )
        assert made_up["CASE_TRACKER_URL"] == f"{base}/_demo/tracker"
        assert made_up["CASE_TRACKER_SECRET"] not in banner

        # The banner's command runs as printed, in a shell without the virtualenv.
        [listed] = [line for line in banner.splitlines() if line.startswith("List cases with:")]
        command = shlex.split(listed.removeprefix("List cases with:"))
        assert Path(command[0]).is_absolute()
        result = subprocess.run(
            command,
            env={"PATH": NO_VENV_PATH, "HOME": os.environ.get("HOME", "/")},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "no cases"

        # `forwarders test` against the running demo reaches its stand-in tracker …
        result = subprocess.run(
            [command[0], "forwarders", "test", "--data-dir", str(data_dir)],
            env={"PATH": NO_VENV_PATH, "HOME": os.environ.get("HOME", "/")},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == "webhook: delivered (HTTP 204)"
        assert made_up["CASE_TRACKER_SECRET"] not in result.stdout + result.stderr

        # … and the banner's "Case tracker" link shows a browser what it received.
        page = httpx.get(f"{base}/_demo/tracker", timeout=10, trust_env=False)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "2000-" in page.text  # the marked test case's number (year 2000)
        assert "TEST" not in page.text  # nothing the report says
        assert "<script" not in page.text

        # File the way the web form does; the demo's worker forwards it.
        assert (data_dir / "keys.env").exists()
        gw = Gateway.from_settings(Settings.load(environ={}, data_dir=data_dir))
        try:
            receipt = submit_report(
                gw, NewReport(narrative="A guard at the clinic", language="en"), channel="web"
            )
        finally:
            gw.close()
        row = _until(
            lambda: next(
                (
                    c
                    for c in _cases(data_dir)
                    if c["case_number"] == receipt.case_number and c["forwarding"] == "delivered"
                ),
                None,
            ),
            60,
            "the case to be listed as delivered",
            log,
        )
        assert row["channel"] == "web" and row["status"] == "received"

        # Ctrl-C in a terminal signals the whole foreground process group.
        os.killpg(demo.pid, signal.SIGINT)
        assert demo.wait(timeout=30) == 0
        # Every web worker stopped by itself: none hung on the second quit signal
        # (gateway/web/server_worker.py) until gunicorn killed it.
        assert "was sent SIGKILL" not in log.read_text(errors="replace")
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        deadline = time.monotonic() + 5
        while (left := _leftovers(data_dir)) and time.monotonic() < deadline:
            time.sleep(0.2)
        for line in left:
            os.kill(int(line.split()[0]), signal.SIGKILL)
    assert left == [], "processes left running after the demo exited"
    assert not embedded_redis.is_running(data_dir), "the embedded Redis still answers"
    assert not (data_dir / "demo.env").exists(), "the demo's settings outlived it"
    output = log.read_text(errors="replace")
    assert "stopped" in output
    assert " ERROR " not in output
    assert "Traceback" not in output, "a process failed while stopping"


# --- what a new user tripped over: the port, the banner's commands, the tracker link,
# `forwarders test` beside the demo ---

NO_VENV_PATH = "/usr/bin:/bin"  # a shell where the virtualenv was never activated


@pytest.mark.parametrize("how", ["--port", "PORT"])
def test_demo_on_a_taken_port_says_so_in_one_line_before_any_banner(
    how: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = _clean_env() | ({"PORT": port} if how == "PORT" else {})
        flags = ["--port", port] if how == "--port" else []
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "demo", *flags, "--data-dir", str(tmp_path / "v")],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stdout == ""  # no "running" banner
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}") and "PORT" in line
    assert not (tmp_path / "v").exists()
