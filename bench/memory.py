"""Resident memory of one web process and one worker process, idle and after real reports.

`python -m bench memory`.

- **Web process**: `complaint-gateway serve --workers 1 --threads 8` (the
  gunicorn gthread worker that serves the app; its arbiter is not counted),
  measured once it answers /healthz ("idle") and again after
  BENCH_MEMORY_REPORTS reports went through it (default 1000): half by the
  web form (GET the form, POST it: the case, with its Argon2id PIN hash, is
  filed in the web process) and half as Africa's Talking SMS webhooks (the
  conversation's first message; the worker asks the first question, and
  the sweeper files the report after INTAKE_TIMEOUT_SECONDS of silence).
- **Worker process**: `complaint-gateway worker` (the RQ SimpleWorker
  process that runs the jobs, with RQ's scheduler, the sweeper and the
  intake relay as threads), measured idle and once every report has
  reached the tracker.
- **Floors**, in the same run: a bare Flask app (bench/_bare_flask.py)
  under the same gunicorn settings, after as many requests as the web
  process served; and a plain RQ SimpleWorker (bench/_workers.py noop)
  after three no-op jobs per report.

Both the gateway and its floors run from a production install (the
runtime alone, no test extra: bench/_runtime_install.py), since test tools
add libraries that other libraries import when present.

Memory is read from /proc/<pid>/smaps_rollup (Linux; no dependency): RSS
(resident pages, shared libraries included), PSS and USS (pages of this
process alone: what another process of the same kind would add). Lower is
better; the ratio is gateway / floor.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench import Row
from bench import _services as services
from bench import _workers as workers
from bench._deployment import gateway_env
from bench._processes import SERVE_THREADS, free_port, spawn, wait_http
from bench._runtime_install import runtime_python
from bench._tracker import AcceptingTracker

REPORTS = int(os.environ.get("BENCH_MEMORY_REPORTS", "1000"))
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "300"))
THREADS = SERVE_THREADS
AT_KEY = "bench-africastalking-callback-key"


@dataclass(frozen=True)
class Memory:
    """Memory of one process, in MiB."""

    rss: float
    pss: float
    uss: float


def measure(pid: int) -> Memory:
    """RSS, PSS and USS of `pid` from /proc/<pid>/smaps_rollup."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[-1] == "kB":
            fields[name] = float(parts[0]) / 1024
    private = fields.get("Private_Clean", 0.0) + fields.get("Private_Dirty", 0.0)
    return Memory(fields["Rss"], fields["Pss"], private)


def children(pid: int) -> list[int]:
    """The direct children of `pid`."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def _web_worker(server: subprocess.Popen[bytes]) -> int:
    """The one gunicorn worker process under the arbiter."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = children(server.pid)
        if len(found) == 1:
            return found[0]
        time.sleep(0.1)
    raise RuntimeError(f"expected one gunicorn worker under {server.pid}")


def _web_form_report(client: httpx.Client, n: int) -> None:
    from tests.channels.web_form.nojs import main_form

    page = client.get("/report?lang=en")
    form = main_form(page.text).fill(narrative=f"Memory benchmark report {n}: what happened.")
    form.choose("affected", "someone_else")
    data: dict[str, list[str]] = {}
    for key, value in form.data().items(multi=True):
        if isinstance(value, str):
            data.setdefault(key, []).append(value)
    answer = client.post("/report", data=data)
    if answer.status_code != 200 or 'p class="b"' not in answer.text:
        raise RuntimeError(f"web form report {n}: HTTP {answer.status_code}")


def _sms_report(client: httpx.Client, n: int) -> None:
    form = {
        "from": f"+24381{n:07d}",
        "to": "12345",
        "text": f"Memory benchmark SMS {n}: what happened and where.",
        "id": f"ATXid_bench_memory_{n}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }
    answer = client.post(f"/sms/africastalking?key={AT_KEY}", data=form)
    if answer.status_code != 200:
        raise RuntimeError(f"SMS report {n}: HTTP {answer.status_code}")


def gateway_memory(backend: services.Backend, python: str) -> tuple[dict[str, Memory], int, str]:
    """(figures by name, requests the web process served, what the check found)."""
    import redis as redis_lib
    from rq import Queue

    from tests.support.providers import ProviderAPI

    api = ProviderAPI().start()
    figures: dict[str, Memory] = {}
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with AcceptingTracker() as tracker:
            env = gateway_env(
                backend,
                tracker.url,
                api.url,
                AT_KEY,
                GATEWAY_WEB_REPORTS_PER_HOUR="1000000",
                INTAKE_TIMEOUT_SECONDS="2",
            )
            port = free_port()
            directory = str(backend.directory)
            gateway = [python, "-m", "gateway"]
            serve = ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
            serve += ["--threads", str(THREADS), "--data-dir", directory]
            log = backend.directory / "memory-gateway.log"
            server = spawn([*gateway, *serve], env, log)
            processes.append(server)
            worker = spawn([*gateway, "worker", "--data-dir", directory], env, log)
            processes.append(worker)
            base = f"http://127.0.0.1:{port}"
            wait_http(f"{base}/healthz", server, log)
            connection = redis_lib.Redis.from_url(backend.redis_url)
            workers.wait_registered(Queue("intake", connection=connection), 1)
            web_pid = _web_worker(server)
            time.sleep(2)
            figures["web idle"] = measure(web_pid)
            figures["worker idle"] = measure(worker.pid)
            tracker.expect(REPORTS)
            requests = 0
            with httpx.Client(base_url=base, timeout=60) as client:
                for n in range(REPORTS):
                    if n % 2:
                        _sms_report(client, n)
                        requests += 1
                    else:
                        _web_form_report(client, n)
                        requests += 2
            if not tracker.reached.wait(TIMEOUT):
                raise RuntimeError(
                    f"{len(tracker.keys)} of {REPORTS} cases reached the tracker; see {log}"
                )
            time.sleep(2)
            figures["web after"] = measure(web_pid)
            figures["worker after"] = measure(worker.pid)
            check = f"{len(tracker.keys)} cases at the tracker, {tracker.repeats} repeats"
            connection.close()
    finally:
        workers.stop(processes)
        api.stop()
    return figures, requests, check


def floor_memory(backend: services.Backend, requests: int, python: str) -> dict[str, Memory]:
    """The bare Flask app and the no-op RQ worker, idle and after the same amount of work."""
    import redis as redis_lib
    from rq import Queue

    from gateway.work.claims import JOB_OPTIONS

    figures: dict[str, Memory] = {}
    processes: list[subprocess.Popen[bytes]] = []
    log = backend.directory / "memory-floor.log"
    try:
        port = free_port()
        command = [python, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
        command += ["--workers", "1", "--threads", str(THREADS), "--worker-class", "gthread"]
        command += ["--timeout", "60", "--no-control-socket", "--log-level", "warning"]
        server = spawn([*command, "bench._bare_flask:app"], backend.env(), log)
        processes.append(server)
        wait_http(f"http://127.0.0.1:{port}/", server, log)
        noop = workers.start(["noop", backend.redis_url], backend.env(), log, python)
        processes.append(noop)
        connection = redis_lib.Redis.from_url(backend.redis_url)
        queue = Queue(workers.NOOP_QUEUE, connection=connection)
        workers.wait_registered(queue, 1)
        web_pid = _web_worker(server)
        time.sleep(2)
        figures["web idle"] = measure(web_pid)
        figures["worker idle"] = measure(noop.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            for _ in range(requests):
                client.get("/").raise_for_status()
        jobs = 3 * REPORTS
        for _ in range(jobs):
            queue.enqueue(workers.noop, **JOB_OPTIONS)
        deadline = time.monotonic() + TIMEOUT
        while queue.finished_job_registry.count < jobs:
            if time.monotonic() > deadline:
                raise RuntimeError(f"no-op jobs unfinished after {TIMEOUT:.0f}s; see {log}")
            time.sleep(0.05)
        time.sleep(2)
        figures["web after"] = measure(web_pid)
        figures["worker after"] = measure(noop.pid)
        connection.close()
    finally:
        workers.stop(processes)
    return figures


def detail_table(name: str, gateway: dict[str, Memory], floor: dict[str, Memory]) -> str:
    """RSS, PSS and USS of every process measured, in MiB."""
    lines = [
        f"{name}: memory in MiB",
        "| process | RSS | PSS | USS | floor RSS | floor PSS | floor USS |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key, mine in gateway.items():
        base = floor.get(key)
        cells = [f"{mine.rss:.1f}", f"{mine.pss:.1f}", f"{mine.uss:.1f}"]
        cells += [f"{v:.1f}" for v in (base.rss, base.pss, base.uss)] if base else ["", "", ""]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def run() -> list[Row]:
    """Web and worker memory against their floors, on every backend that answers."""
    if not Path("/proc/self/smaps_rollup").exists():
        print("memory: skipped: /proc/<pid>/smaps_rollup is not available (Linux only)")
        return []
    python = runtime_python()
    print(f"memory: gateway and floors run by {python}", flush=True)
    rows = []
    labels = {
        "web idle": ("web process RSS MiB, idle", "bare Flask, same gunicorn, idle"),
        "web after": (
            f"web process RSS MiB, after {REPORTS} reports",
            "bare Flask, after as many requests",
        ),
        "worker idle": ("worker RSS MiB, idle", "RQ SimpleWorker no-op, idle"),
        "worker after": (
            f"worker RSS MiB, after {REPORTS} reports",
            f"RQ SimpleWorker after {3 * REPORTS} no-op jobs",
        ),
    }
    for kind, skipped in services.kinds():
        if skipped:
            print(f"memory: {kind} skipped: {skipped}", flush=True)
            continue
        with services.backend(kind) as backend:
            print(f"memory: {backend.name}: gateway, {REPORTS} reports", flush=True)
            gateway, requests, check = gateway_memory(backend, python)
            print(f"memory: {backend.name}: floors", flush=True)
            floor = floor_memory(backend, requests, python)
        print(detail_table(backend.name, gateway, floor), flush=True)
        for key, (measured, floor_name) in labels.items():
            mine, base = gateway[key], floor[key]
            note = f"USS {mine.uss:.0f} vs {base.uss:.0f} MiB; lower is better"
            if key == "worker after":
                note += f"; {check}"
            rows.append(Row("memory", backend.name, measured, mine.rss, floor_name, base.rss, note))
    return rows


if __name__ == "__main__":
    from bench import markdown_table

    print(markdown_table(run()))
