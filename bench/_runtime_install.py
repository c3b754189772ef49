"""A production install of the gateway, for benchmarks that measure what is deployed.

The benchmarks run from the test environment (`.venv`, with the test extra),
where other tools pull in packages a production install does not have:
httpx, for one, imports rich and pygments for its command line whenever
they are installed (pip-audit, import-linter and schemathesis bring them).
Memory measured there counts some 3.5 MiB a process that no mission's
server carries. `runtime_python` gives the interpreter of a virtualenv with
the runtime alone (`pip install -e .`, what `make demo` installs), made
once under var/ and again when pyproject.toml changes; BENCH_RUNTIME_PYTHON
names another interpreter instead (`BENCH_RUNTIME_PYTHON=.venv/bin/python`
measures the test environment).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / "var" / "bench-runtime-venv"


def runtime_python() -> str:
    """The interpreter of a runtime-only install of this checkout (made on first use)."""
    chosen = os.environ.get("BENCH_RUNTIME_PYTHON")
    if chosen:
        return chosen
    python = VENV / "bin" / "python"
    stamp = VENV / ".pyproject-sha256"
    wanted = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return str(python)
    print(f"bench: installing the runtime alone into {VENV} (once)", flush=True)
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", "."],
        cwd=REPO,
        check=True,
    )
    stamp.write_text(wanted)
    return str(python)
