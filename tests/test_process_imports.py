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
# What a worker loads: the command line, the channels as installed, and every job's module.
WORKER = (
    "import pkgutil, importlib, gateway.cli, gateway.cli.running, gateway.processes, gateway.work\n"
    "gateway.processes.load_channels()\n"
    "for found in pkgutil.iter_modules(gateway.work.__path__, 'gateway.work.'):\n"
    "    importlib.import_module(found.name)\n"
)
# The web framework (a channel's web side is imported by web processes only), Pillow
# (the first picture cleaned loads it) and prometheus_client (the /metrics page).
WEB_OR_ON_DEMAND = ("flask", "werkzeug", "jinja2", "PIL", "prometheus_client")


def loaded(setup: str, libraries: tuple[str, ...]) -> list[str]:
    """Which of `libraries` are in sys.modules of a fresh interpreter after running `setup`."""
    code = f"import sys\n{setup}print(' '.join(n for n in {libraries!r} if n in sys.modules))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return run.stdout.split()


def loaded_after(imports: str) -> list[str]:
    """The one-off libraries in sys.modules of a fresh interpreter after `import <imports>`."""
    return loaded(f"import {imports}\n", ONE_OFF)


def test_serve_and_worker_modules_leave_one_off_libraries_unloaded() -> None:
    assert loaded_after(LOADED_BY_EVERY_PROCESS) == []


def test_the_check_sees_a_library_that_is_loaded() -> None:
    """The same check names openpyxl once something imports it: it can fail."""
    assert loaded_after(f"openpyxl, {LOADED_BY_EVERY_PROCESS}") == ["openpyxl"]


def worker_loaded(before: str = "") -> list[str]:
    """The web and on-demand libraries in sys.modules of a fresh interpreter set up as a worker."""
    return loaded(before + WORKER, WEB_OR_ON_DEMAND)


def test_a_worker_loads_no_web_framework_and_no_picture_library() -> None:
    """Some 7 MiB of every worker (issue 18's memory goal): the channels' web sides stay out."""
    assert worker_loaded() == []


def test_the_worker_check_sees_flask_once_a_web_side_is_imported() -> None:
    assert worker_loaded("import channels.sms.web\n")[:3] == ["flask", "werkzeug", "jinja2"]
