"""Benchmarks: each figure is measured against a floor taken in the same run.

A throughput alone says little (the machine, the disk, the other load); a
ratio to what the same machine does with no gateway work in it says how
much the gateway costs. Every benchmark module in this package (a module
whose name does not start with `_`) exposes `run() -> list[Row]`;
`python -m bench` finds them all, runs them, prints one Markdown table and
writes it to bench/results/. See bench/README.md.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

__all__ = ["Row", "discover", "markdown_table"]


@dataclass(frozen=True)
class Row:
    """One measured figure and the floor it is compared with.

    Args:
        benchmark: the module's name, e.g. "pipeline".
        backend: what it ran on, e.g. "PostgreSQL + Redis".
        measured: what `value` counts, e.g. "reports/s, intake to tracker".
        value: the figure (higher is better, or say so in `note`).
        floor_name: what `floor` counts, e.g. "RQ no-op jobs/s".
        floor: the floor measured in the same run, on the same services.
        note: anything a reader needs to read the ratio right.
    """

    benchmark: str
    backend: str
    measured: str
    value: float
    floor_name: str
    floor: float
    note: str = ""

    @property
    def ratio(self) -> float:
        return self.value / self.floor if self.floor else float("nan")


def discover() -> list[ModuleType]:
    """Every benchmark module of the package, by name; helpers start with `_`."""
    import bench

    modules = []
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "run", None)):
            modules.append(module)
    return modules


def _number(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.3f}"


def markdown_table(rows: Iterable[Row]) -> str:
    """The rows as one GitHub-flavoured Markdown table."""
    lines = [
        "| benchmark | backend | measured | value | floor | floor value | ratio | note |",
        "|---|---|---|---:|---|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.benchmark} | {row.backend} | {row.measured} | {_number(row.value)} | "
            f"{row.floor_name} | {_number(row.floor)} | {_number(row.ratio)} | {row.note} |"
        )
    return "\n".join(lines) + "\n"
