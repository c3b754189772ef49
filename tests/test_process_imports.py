"""What `serve` and `worker` load: the heavy libraries of one-off commands stay out.

Every process starts from the same command line (`gateway.cli` builds every
sub-command's parser), so a module-level import in a one-off command's code
lands in every web and worker process: openpyxl alone was 14 MiB of each
(issue 18's memory goal). One-off commands import these where they run.
"""

from __future__ import annotations

import subprocess
import sys

# The libraries of `db upgrade` (Alembic, Mako), `intake import` (openpyxl)
# and the case PDF (fpdf2, loaded by the console's export view on demand).
ONE_OFF = ("alembic", "mako", "openpyxl", "fpdf")
LOADED_BY_EVERY_PROCESS = "gateway.cli, gateway.cli.running, gateway.processes, gateway.app"


def loaded_after(imports: str) -> list[str]:
    """The one-off libraries in sys.modules of a fresh interpreter after `import <imports>`."""
    code = (
        f"import sys, {imports}\n"
        f"print(' '.join(name for name in {ONE_OFF!r} if name in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return run.stdout.split()


def test_serve_and_worker_modules_leave_one_off_libraries_unloaded() -> None:
    assert loaded_after(LOADED_BY_EVERY_PROCESS) == []


def test_the_check_sees_a_library_that_is_loaded() -> None:
    """The same check names openpyxl once something imports it: it can fail."""
    assert loaded_after(f"openpyxl, {LOADED_BY_EVERY_PROCESS}") == ["openpyxl"]
