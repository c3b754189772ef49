"""`complaint-gateway` (also `python -m gateway`): the one command line (contract).

parser.py names the sub-commands and their flags (the channels add their own);
cases.py, maintenance.py and running.py hold what they do; context.py the settings
and services they share.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence

from gateway.cli.parser import build_parser
from gateway.core.config import ConfigError, data_directory
from gateway.core.privacy import install_log_redaction
from gateway.core.private_files import private_umask, tighten

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; its exit code (2 for a configuration error, said in one line)."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # pikepdf (the PDF cleaner) says at import that its logger bridge is ready: noise on
    # every command's stderr, before a one-line error. Its warnings still show.
    logging.getLogger("pikepdf").setLevel(logging.WARNING)
    install_log_redaction()
    args = build_parser().parse_args(argv)
    if not hasattr(args, "data_dir"):
        args.data_dir = None
    # What a command creates is for this user alone (private_files.py); the hotline's
    # prompts are the exception: they go to i18n/ and are served to every caller.
    previous = private_umask() if args.command != "ivr" else None
    if previous is not None:
        tighten(data_directory(args.data_dir))
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    finally:
        embedded = getattr(args, "_embedded", None)
        if embedded is not None:
            embedded.stop()
        if previous is not None:
            os.umask(previous)  # called in-process (tests), leave the caller's umask as it was


if __name__ == "__main__":
    sys.exit(main())
