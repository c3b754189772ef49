"""`demo`, `serve` and `worker`: the commands that run until stopped."""

from __future__ import annotations

import argparse
import os
import sys

from dotenv import dotenv_values

from gateway.cli.context import settings_of
from gateway.core import assistance
from gateway.processes import run_demo, run_server, run_worker

DEFAULT_PORT = 8080


def port_of(args: argparse.Namespace) -> int | None:
    """`--port`, else the PORT environment variable, else 8080; None (said why) if PORT is bad."""
    if args.port is not None:
        return int(args.port)
    value = os.environ.get("PORT", "").strip()
    if not value:
        return DEFAULT_PORT
    if value.isdigit() and 0 < int(value) < 65536:
        return int(value)
    print(f"error: PORT must be a port number (1-65535), got {value!r}", file=sys.stderr)
    return None


def cmd_demo(args: argparse.Namespace) -> int:
    port = port_of(args)
    if port is None:
        return 2
    # A wrong ASSISTANCE_FILE stops the demo here, in one line, before it starts anything.
    dotenv = dotenv_values(".env") if os.path.exists(".env") else {}
    assistance.check_file(os.environ.get(assistance.SETTING) or dotenv.get(assistance.SETTING))
    return run_demo(args.data_dir, port, args.host)


def cmd_serve(args: argparse.Namespace) -> int:
    port = port_of(args)
    if port is None:
        return 2
    settings = settings_of(args)
    assistance.directory(settings)  # checked before gunicorn starts (its workers would loop)
    return run_server(settings, args.host, port, args.workers, args.threads)


def cmd_worker(args: argparse.Namespace) -> int:
    return run_worker(settings_of(args), burst=args.burst, sweeper=not args.no_sweeper)
