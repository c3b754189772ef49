"""A malformed ASSISTANCE_FILE stops `serve`, `worker` and `demo` before they start anything.

The real command (`python -m gateway …`, as deployed), in a clean
environment: exit code 2, one line on stderr naming the file and the line
at fault, no traceback, nothing listening (gunicorn's workers would
otherwise fail to boot one by one, and the demo would print its URLs first).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.support.served import base_env

BAD = """\
services:
  - name: District Clinic
    kind: medical
    phone: "+000 555 0101"
  - name: Night Desk
    kind: doctor
    phone: "+000 555 0104"
"""
COMMANDS = {
    "serve": ["serve", "--port", "0"],
    "worker": ["worker"],
    "demo": ["demo", "--port", "0"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_malformed_file_stops_start_up_in_one_line(tmp_path: Path, command: str) -> None:
    path = tmp_path / "services.yaml"
    path.write_text(BAD, encoding="utf-8")
    env = base_env(
        ASSISTANCE_FILE=str(path),
        GATEWAY_SECRET_KEY="made-up-secret-key-startup-0123456789",
        GATEWAY_DATA_KEY=Fernet.generate_key().decode(),
        GATEWAY_PSEUDONYM_KEY="made-up-pseudonym-key-startup-0123",
        FORWARDERS="webhook",
        CASE_TRACKER_URL="http://127.0.0.1:9/cases",
        CASE_TRACKER_SECRET="made-up-tracker-secret-startup",
    )
    if command == "demo":  # the demo makes its own keys and tracker
        env = base_env(ASSISTANCE_FILE=str(path))
    args = [*COMMANDS[command], "--data-dir", str(tmp_path / "var")]
    done = subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "gateway", *args],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        check=False,
    )
    stderr = done.stderr.decode()
    assert done.returncode == 2, (done.returncode, stderr[-2000:])
    assert stderr.strip().splitlines() == [
        f"configuration error: {path} line 6: kind 'doctor' is not one of "
        "medical, psychosocial, safety, shelter, legal"
    ], stderr[-2000:]
    assert b"Traceback" not in done.stdout + done.stderr
    assert b"http://" not in done.stdout, "nothing was started or announced"
