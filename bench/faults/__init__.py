"""Fault runs too long for the test suite: each one a module with `run() -> str`.

`python -m bench.faults [NAME …]` runs them (all by default) and exits
non-zero when any fails. A run raises `FaultFailed` (or any exception) when
what it checks does not hold, and returns a one-line summary when it does.
Unlike the benchmarks they assert: a fault run is a test that takes minutes.
The fault tests that fit in the suite are tests/test_faults_*.py and
tests/test_worker_crash.py; see bench/README.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

__all__ = ["FaultFailed", "discover"]


class FaultFailed(AssertionError):
    """What a fault run checks did not hold."""


def discover() -> list[ModuleType]:
    """Every fault run of the package, by name; helpers start with `_`."""
    import bench.faults

    modules = []
    for info in sorted(pkgutil.iter_modules(bench.faults.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.faults.{info.name}")
        if callable(getattr(module, "run", None)):
            modules.append(module)
    return modules
