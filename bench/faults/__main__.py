"""`python -m bench.faults [NAME …]`: run the fault runs (all, or those named)."""

from __future__ import annotations

import argparse
import signal
import sys
import time
import traceback

from bench.faults import discover


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("names", nargs="*", help="fault runs to run (default: all)")
    args = parser.parse_args(argv)
    # A SIGTERM ends the run through the `finally` blocks that stop its processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    modules = {m.__name__.rsplit(".", 1)[-1]: m for m in discover()}
    unknown = [n for n in args.names if n not in modules]
    if unknown:
        parser.error(f"unknown fault run(s) {', '.join(unknown)}; known: {', '.join(modules)}")
    results = []
    for name in args.names or list(modules):
        print(f"== {name}", flush=True)
        started = time.monotonic()
        try:
            summary, ok = modules[name].run(), True
        except Exception as exc:  # noqa: BLE001 - report every run, then fail
            traceback.print_exc()
            summary, ok = f"FAILED: {exc}", False
        took = time.monotonic() - started
        print(f"== {name}: {'passed' if ok else 'FAILED'} in {took:.0f}s", flush=True)
        results.append((name, ok, summary, took))
    print()
    for name, ok, summary, took in results:
        print(f"{'ok    ' if ok else 'FAILED'} {name} ({took:.0f}s): {summary}")
    return 0 if all(ok for _, ok, _, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
