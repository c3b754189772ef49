"""The architecture of docs/architecture.md, read statically from the source (no import, no timing).

Dependencies point one way, nothing imports inside a function except the composition root,
modules stay small, and every Markdown file the code and docs cite exists. `lint-imports`
(the contracts in pyproject.toml's [tool.importlinter]) checks the layers themselves; these
tests add what it does not: cycles inside one layer, function-level imports, sizes, citations.
Each failure lists every offender with the file and line to change.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("gateway", "channels")

# The composition root: the only modules that import channels/ and wire the layers together,
# and the only ones that may import inside a function (to start quickly).
COMPOSITION_ROOT = (
    "gateway.__main__",
    "gateway.cli",
    "gateway.processes",
    "gateway.app",
    "gateway.channel_packages",
)

LINE_LIMIT = 450  # hard limit; aim for ~400

NOQA_LAZY_IMPORT = re.compile(r"#\s*noqa:[\w\s,]*\bPLC0415\b", re.IGNORECASE)

# Markdown files that must no longer be cited, and what replaced them.
RETIRED_DOCS = {"DESIGN.md": "docs/contract.md"}

# Markdown paths that appear in the source but are written at run time, not cited:
# (citing file, path as written).
WRITTEN_NOT_CITED = {
    ("bench/__main__.py", "latest.md"),
    ("bench/README.md", "bench/results/latest.md"),
}

CITING_SUFFIXES = (".py", ".md", ".html", ".toml")
CITING_NAMES = ("Makefile",)
SKIPPED_DIRECTORIES = {"__pycache__", "node_modules", "var", "test-artifacts", "build", "dist"}

MD_PATH = re.compile(r"(?<![\w./<>{}*-])((?:\.\.?/)*(?:[\w-]+/)*[\w.-]*\w\.md)\b")
URL = re.compile(r"\w+://\S+")


@dataclass(frozen=True)
class Import:
    """One import statement of a gateway/ or channels/ module, resolved to a module of ours."""

    source: str
    target: str
    path: Path
    line: int
    in_function: bool
    type_checking: bool

    def where(self) -> str:
        kind = " (in a function)" if self.in_function else ""
        kind += " (under TYPE_CHECKING)" if self.type_checking else ""
        return f"{self.path.relative_to(ROOT)}:{self.line} {self.source} -> {self.target}{kind}"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of gateway/ and channels/, by dotted name."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "__pycache__" not in path.parts:
                found[_module_name(path)] = path
    return found


def is_composition_root(module: str) -> bool:
    return any(module == root or module.startswith(root + ".") for root in COMPOSITION_ROOT)


def _known(name: str) -> str | None:
    """The longest prefix of a dotted name that is one of our modules."""
    known = modules()
    while name:
        if name in known:
            return name
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return None


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> Iterator[str]:
    if isinstance(node, ast.Import):
        for alias in node.names:
            if target := _known(alias.name):
                yield target
        return
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        imported_from = ".".join(base + ([node.module] if node.module else []))
    else:
        imported_from = node.module or ""
    for alias in node.names:
        if target := _known(f"{imported_from}.{alias.name}") or _known(imported_from):
            yield target


def _is_type_checking(test: ast.expr) -> bool:
    return "TYPE_CHECKING" in ast.unparse(test)


@dataclass(frozen=True)
class Statement:
    """One import statement anywhere in a module of gateway/ or channels/."""

    module: str
    path: Path
    node: ast.Import | ast.ImportFrom
    in_function: bool
    type_checking: bool
    text: str  # the statement's first line, where ruff reads a noqa directive


_NESTING = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef


def _walk(
    node: ast.AST, module: str, path: Path, lines: list[str], in_function: bool, guarded: bool
) -> Iterator[Statement]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield Statement(module, path, child, in_function, guarded, lines[child.lineno - 1])
        yield from _walk(
            child,
            module,
            path,
            lines,
            in_function or isinstance(child, _NESTING),
            guarded or (isinstance(child, ast.If) and _is_type_checking(child.test)),
        )


@cache
def statements() -> tuple[Statement, ...]:
    """Every import statement: top level, inside functions or classes, under TYPE_CHECKING."""
    found: list[Statement] = []
    for module, path in modules().items():
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=str(path))
        found += _walk(tree, module, path, source.splitlines(), False, False)
    return tuple(found)


@cache
def imports() -> tuple[Import, ...]:
    """Every import between our modules, resolved to the module it names."""
    found: list[Import] = []
    for statement in statements():
        is_package = statement.path.name == "__init__.py"
        for target in _targets(statement.node, statement.module, is_package):
            if target != statement.module:
                found.append(
                    Import(
                        source=statement.module,
                        target=target,
                        path=statement.path,
                        line=statement.node.lineno,
                        in_function=statement.in_function,
                        type_checking=statement.type_checking,
                    )
                )
    return tuple(dict.fromkeys(found))  # one per statement and target


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def test_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {module: set() for module in modules()}
    for edge in imports():
        graph[edge.source].add(edge.target)
    cycles = [component for component in _strongly_connected(graph) if len(component) > 1]
    report = []
    for component in cycles:
        members = set(component)
        report.append(f"cycle among {', '.join(component)}:")
        report += [
            f"    {edge.where()}"
            for edge in imports()
            if edge.source in members and edge.target in members
        ]
    assert not cycles, (
        "Import cycles (imports inside functions and under TYPE_CHECKING counted). Break each by "
        "moving the shared piece down a layer, or by passing it in from the caller:\n"
        + "\n".join(report)
    )


def test_only_the_composition_root_imports_channels() -> None:
    offenders = [
        edge.where()
        for edge in imports()
        if edge.source.startswith("gateway")
        and not is_composition_root(edge.source)
        and edge.target.split(".")[0] == "channels"
    ]
    assert not offenders, (
        f"Only the composition root ({', '.join(COMPOSITION_ROOT)}) imports channels/; "
        "gateway/ reaches a channel through the provider registry (gateway.core.providers):\n"
        + "\n".join(offenders)
    )


def test_modules_are_small() -> None:
    too_long = []
    for path in modules().values():
        count = len(path.read_text(encoding="utf-8").splitlines())
        if count > LINE_LIMIT:
            too_long.append(f"{path.relative_to(ROOT)}: {count} lines")
    assert not too_long, (
        f"Modules over {LINE_LIMIT} lines (aim for ~400): split each by responsibility:\n"
        + "\n".join(too_long)
    )


def test_no_import_inside_a_function() -> None:
    offenders = []
    for statement in statements():
        if not statement.in_function or is_composition_root(statement.module):
            continue
        where = f"{statement.path.relative_to(ROOT)}:{statement.node.lineno}"
        code = ast.unparse(statement.node)
        marked = NOQA_LAZY_IMPORT.search(statement.text)
        if marked is None:
            offenders.append(f"{where}: {code}")
            continue
        reason = NOQA_LAZY_IMPORT.sub("", statement.text[statement.text.index("#") :])
        if len(re.findall(r"[A-Za-z]{2,}", reason)) < 2:
            offenders.append(f"{where}: {code} (marked `# noqa: PLC0415` without saying why)")
    assert not offenders, (
        "Imports inside functions outside the composition root hide dependencies (and hid the "
        "old cycles). Move each to the top of its module; if the import is a heavy optional "
        "dependency loaded on demand, keep it and write `# noqa: PLC0415 <why>` on its line:\n"
        + "\n".join(offenders)
    )


def test_lint_imports_contracts_hold() -> None:
    lint_imports = Path(sys.executable).parent / "lint-imports"
    assert lint_imports.exists(), (
        f"{lint_imports} is missing: install the test extra (`pip install -e '.[test]'`, "
        "which `make test` does)"
    )
    result = subprocess.run(
        [str(lint_imports), "--no-logo", "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        "lint-imports: a contract of [tool.importlinter] in pyproject.toml is broken. Each "
        "listed import points up a layer (docs/architecture.md); move the code it needs down, "
        "or pass it in from above:\n" + result.stdout + result.stderr
    )


def citing_files() -> Iterator[Path]:
    """The code and docs that may cite a Markdown file (not virtualenvs, caches, outputs)."""
    this_file = Path(__file__).resolve()
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = sorted(
            name
            for name in subdirectories
            if not name.startswith(".") and name not in SKIPPED_DIRECTORIES
        )
        for name in sorted(files):
            path = Path(directory) / name
            if path != this_file and (name.endswith(CITING_SUFFIXES) or name in CITING_NAMES):
                yield path


def test_cited_markdown_files_exist() -> None:
    problems = []
    for path in citing_files():
        citing = path.relative_to(ROOT).as_posix()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            earlier_directories: list[Path] = []
            for cited in MD_PATH.findall(URL.sub("", line)):
                where = f"{citing}:{number}: {cited}"
                if cited in RETIRED_DOCS:
                    problems.append(f"{where} is gone: cite {RETIRED_DOCS[cited]}")
                    continue
                if (citing, cited) in WRITTEN_NOT_CITED:
                    continue
                candidates = [path.parent / cited, ROOT / cited]
                # "docs/providers/twilio.md, africastalking.md": a bare name sits next to
                # the path cited before it on the same line.
                candidates += [directory / cited for directory in earlier_directories]
                if not any(candidate.is_file() for candidate in candidates):
                    problems.append(
                        f"{where} does not exist (looked next to {citing} and at the "
                        "repository root): fix the path or write the file"
                    )
                if "/" in cited:
                    earlier_directories.append((ROOT / cited).parent)
                    earlier_directories.append((path.parent / cited).parent)
    assert not problems, "Markdown files cited but missing:\n" + "\n".join(problems)
