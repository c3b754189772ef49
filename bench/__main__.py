"""`python -m bench [NAME …]`: run every benchmark (or those named), print and save the table."""

from __future__ import annotations

import argparse
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench import Row, discover, markdown_table

RESULTS = Path(__file__).parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmark modules to run (default: all)")
    args = parser.parse_args(argv)
    modules = discover()
    if args.names:
        known = {m.__name__.rsplit(".", 1)[-1]: m for m in modules}
        unknown = [n for n in args.names if n not in known]
        if unknown:
            parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(known)}")
        modules = [known[n] for n in args.names]
    rows: list[Row] = []
    failed = []
    for module in modules:
        name = module.__name__.rsplit(".", 1)[-1]
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            rows.extend(module.run())
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
        print(f"== {name} took {time.monotonic() - started:.0f}s", flush=True)
    now = datetime.now(UTC)
    header = (
        f"# Benchmarks, {now:%Y-%m-%d %H:%M} UTC\n\n"
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{_cpus()} CPU(s). Higher ratios are better; see bench/README.md.\n\n"
    )
    text = header + markdown_table(rows)
    if failed:
        text += f"\nFailed: {', '.join(failed)} (see the output above).\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{now:%Y%m%dT%H%M%SZ}.md").write_text(text)
    (RESULTS / "latest.md").write_text(text)
    print()
    print(text)
    return 1 if failed else 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
