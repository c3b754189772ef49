"""The benchmarks import what exists: they run outside the suite, where a rename goes unseen.

Most of `bench/` imports the gateway inside functions (a benchmark loads
only what it measures), where nothing but a run would find a name that has
moved. This reads every `from … import …` of every benchmark module, at any
depth, and looks each name up.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

BENCH = Path(__file__).parents[1] / "bench"
OURS = ("gateway", "channels", "bench")


def _imports() -> list[tuple[str, int, str, str]]:
    found = []
    for path in sorted(BENCH.rglob("*.py")):
        where = path.relative_to(BENCH.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.ImportFrom) or node.level or not node.module:
                continue
            if node.module.split(".")[0] in OURS:
                found += [(where, node.lineno, node.module, alias.name) for alias in node.names]
    return found


IMPORTS = _imports()


def test_the_benchmarks_import_the_gateway() -> None:
    assert len(IMPORTS) > 20  # the walk finds the imports inside functions too


@pytest.mark.parametrize(("path", "line", "module", "name"), IMPORTS)
def test_each_name_a_benchmark_imports_exists(path: str, line: int, module: str, name: str) -> None:
    imported = importlib.import_module(module)
    if not hasattr(imported, name):
        importlib.import_module(f"{module}.{name}")  # a submodule: raises if there is none


def test_the_benchmarks_run_serve_with_its_own_defaults() -> None:
    """A benchmark of the gateway under other settings than serve's measures another server."""
    from bench._processes import SERVE_THREADS, SERVE_WORKERS
    from gateway.cli.parser import build_parser

    serve = build_parser().parse_args(["serve"])
    assert (serve.workers, serve.threads) == (SERVE_WORKERS, SERVE_THREADS)
