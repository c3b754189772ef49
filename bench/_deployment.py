"""The deployment both burst benchmarks drive: real workers and `serve`, a tracker, a backend.

`bench/burst.py` (receipts in a burst) and `bench/faults/burst.py` (a burst
with redeliveries) start the same thing: N `complaint-gateway worker`
processes and one `serve`, on a clean backend, with Africa's Talking
pointed at a local stand-in of its API and forwarding to an accepting
tracker; then they wait until every worker listens. Only the PIN's hash
differs (`BENCH_CHEAP_PIN_HASH`).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _services as services
from bench import _workers as workers
from bench._processes import serve_gateway
from bench._tracker import AcceptingTracker
from tests.support.providers import AT_API_KEY, AT_USERNAME


@dataclass(frozen=True)
class Deployment:
    gw: Any  # gateway.core.runtime.Gateway, installed for this process (imported lazily)
    base: str  # the served gateway's URL
    tracker: AcceptingTracker
    log: Path  # the workers' output


def gateway_env(
    backend: Any, tracker_url: str, api_url: str, callback_key: str, **extra: str
) -> dict[str, str]:
    """A benchmark gateway's settings: the local tracker, Africa's Talking's stand-in, a
    sweep every second; `extra` adds or replaces (bench/memory.py uses it too)."""
    return backend.env(
        **{
            "CASE_TRACKER_URL": tracker_url,
            "CASE_TRACKER_SECRET": "bench-tracker-secret",
            "FORWARDERS": "webhook",
            "AFRICASTALKING_USERNAME": AT_USERNAME,
            "AFRICASTALKING_API_KEY": AT_API_KEY,
            "AFRICASTALKING_CALLBACK_KEY": callback_key,
            "AFRICASTALKING_API_BASE_URL": api_url,
            "SWEEP_INTERVAL_SECONDS": "1",
            **extra,
        }
    )


@contextmanager
def deployed(
    backend: services.Backend,
    api_url: str,
    worker_count: int,
    callback_key: str,
    cheap_pin_hash: bool,
) -> Iterator[Deployment]:
    """Start it all, yield it once every worker listens, stop it all on the way out."""
    from gateway.core import runtime
    from gateway.core.config import Settings
    from gateway.core.runtime import Gateway

    processes: list[subprocess.Popen[bytes]] = []
    try:
        with AcceptingTracker() as tracker:
            env = gateway_env(
                backend,
                tracker.url,
                api_url,
                callback_key,
                INTAKE_TIMEOUT_SECONDS="1",
                BENCH_CHEAP_PIN_HASH="1" if cheap_pin_hash else "0",
            )
            log = backend.directory / "burst-workers.log"
            args = ["gateway", "--data-dir", str(backend.directory)]
            processes.extend(workers.start(args, env, log) for _ in range(worker_count))
            server, base = serve_gateway(
                env, backend.directory, backend.directory / "burst-web.log"
            )
            processes.append(server)
            gw = runtime.install(
                Gateway.from_settings(Settings.from_mapping(env, backend.directory))
            )
            try:
                workers.wait_registered(gw.queue("intake"), worker_count)
                yield Deployment(gw, base, tracker, log)
            finally:
                runtime.uninstall()
                gw.close()
    finally:
        workers.stop(processes)
