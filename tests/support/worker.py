"""Real `complaint-gateway worker` processes for tests that kill them.

`start_worker` runs `python -m gateway worker` in its own process group, so
`kill` can take it down with SIGKILL, with every thread and child it has,
as a power cut or the OOM killer would. With `hooked=True` it runs
`python -m tests.support.worker` instead: the same command line
(`gateway.cli.main`) with the test channels registered, because a worker
only knows the handlers its process imported:

- `oneshot` (tests/support/oneshot.py): every message is a whole report;
- `pausing`: the same, but the first attempt at an event stops after the
  case is written and before the transaction commits, touches
  GATEWAY_TEST_PAUSE_FILE, and sleeps, waiting to be killed;
- a sender for provider `testsms` that appends each message id to
  GATEWAY_TEST_SENT_FILE, so a test can count the receipts sent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

REPO = Path(__file__).parents[2]
LEASE_SECONDS = 3
PAUSE_SECONDS = 120.0


def worker_env(env: Mapping[str, str], data_dir: Path, **extra: str) -> dict[str, str]:
    """The test's gateway environment with short leases and a sweep every second."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(data_dir)),
        "PYTHONPATH": str(REPO),
        **env,
        "GATEWAY_JOB_LEASE_SECONDS": str(LEASE_SECONDS),
        "SWEEP_INTERVAL_SECONDS": "1",
        "GATEWAY_TEST_SENT_FILE": str(data_dir / "sent.log"),
        **extra,
    }


def start_worker(
    env: Mapping[str, str], data_dir: Path, hooked: bool = False, **extra: str
) -> subprocess.Popen[bytes]:
    """A worker process (and its process group) with its output in data_dir/worker.log."""
    module = "tests.support.worker" if hooked else "gateway"
    log = (data_dir / "worker.log").open("ab")
    try:
        return subprocess.Popen(
            [sys.executable, "-m", module, "worker", "--data-dir", str(data_dir)],
            env=worker_env(env, data_dir, **extra),
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    finally:
        log.close()


def kill(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL the process and everything in its group; no clean-up runs."""
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def log_tail(data_dir: Path, lines: int = 40) -> str:
    path = data_dir / "worker.log"
    if not path.exists():
        return "(no worker log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(check: Callable[[], bool], timeout: float, what: str, data_dir: Path) -> None:
    """Poll `check` until it holds; fail naming `what`, with the worker's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n--- worker log ---\n{log_tail(data_dir)}")


def _install_test_channels() -> None:
    from sqlalchemy.orm import Session

    from gateway.core.effects import Effects
    from gateway.core.models import InboundEvent
    from gateway.core.providers import Channel, installed
    from gateway.core.runtime import Gateway
    from tests.support import oneshot
    from tests.support.fake_channels import install_channel

    def pausing(
        session: Session, gw: Gateway, event: InboundEvent, payload: dict[str, object]
    ) -> Effects:
        effects = oneshot.file_each_message(session, gw, event, payload)
        if event.attempts == 1:
            session.flush()  # the case is written, not committed
            Path(os.environ["GATEWAY_TEST_PAUSE_FILE"]).touch()
            time.sleep(PAUSE_SECONDS)
        return effects

    def record_send(settings: object, address: str, text: str, message_id: int) -> str:
        with open(os.environ["GATEWAY_TEST_SENT_FILE"], "a") as fh:
            fh.write(f"{message_id}\n")
        return f"test-{message_id}"

    # Installed before the worker starts: its own start-up adds the real channels beside them.
    installed().add(Channel(name="pausing", handlers={"pausing": pausing}))
    install_channel("testsms", sender=record_send)


if __name__ == "__main__":
    from gateway.cli import main

    _install_test_channels()
    sys.exit(main(sys.argv[1:]))
