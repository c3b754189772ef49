"""`intake import FILE`: a batch of paper or community-network forms, each row filed once.

Prints one line per row: its number in the file, then the case number and
PIN to hand back to the complainant, "already imported as …", or what is
wrong with it (never what it says). Exits 1 when any row failed, so a
script notices; the rows that were fine are filed either way.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from pathlib import Path

from gateway.cases import audit
from gateway.cases.intake_import import ImportError_, import_row, read_rows
from gateway.cases.reports import ReceivedVia
from gateway.cli.context import gateway_of
from gateway.core.i18n import configured_locales
from gateway.work.effects import enqueue_forwarding


def add_intake_commands(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:  # type: ignore[type-arg]
    """Register `intake import` (docs/intake.md)."""
    intake = sub.add_parser("intake", help="reports a person received").add_subparsers(
        dest="intake_command", required=True
    )
    p = intake.add_parser(
        "import",
        parents=[common],
        help="file the rows of a CSV or KoboToolbox/ODK export, each once; prints numbers and PINs",
    )
    p.set_defaults(func=cmd_intake_import)
    p.add_argument("file", type=Path)
    p.add_argument(
        "--received-via",
        default=ReceivedVia.PAPER.value,
        choices=[r.value for r in ReceivedVia],
        help="for rows without a received_via column (default paper)",
    )
    p.add_argument("--language", help="for rows without a language column (default: the first)")
    p.add_argument("--by", help="who received or typed the forms (default: the system user)")


def cmd_intake_import(args: argparse.Namespace) -> int:
    gw = gateway_of(args)
    locales = configured_locales(gw.settings.locales)
    language = args.language or locales[0]
    if language not in locales:
        print(f"error: --language must be one of: {', '.join(locales)}", file=sys.stderr)
        return 2
    try:
        rows = read_rows(args.file)
    except (ImportError_, OSError) as exc:
        print(f"error: {args.file.name}: {exc}", file=sys.stderr)
        return 2
    actor = f"cli:{(args.by or getpass.getuser()).strip()[:50]}"
    via = ReceivedVia(args.received_via)
    filed = already = failed = 0
    for row in rows:
        outcome, case_id = import_row(
            gw, row, actor=actor, language=language, locales=locales, via=via
        )
        if outcome.error:
            failed += 1
            print(f"row {outcome.row}: not imported: {outcome.error}")
        elif outcome.already:
            already += 1
            print(f"row {outcome.row}: already imported as {outcome.case_number}")
        else:
            filed += 1
            print(f"row {outcome.row}: case {outcome.case_number} PIN {outcome.pin}")
        if case_id is not None:
            with contextlib.suppress(Exception):  # stored; the sweeper enqueues it
                enqueue_forwarding(gw, case_id)
    with gw.sessions() as session, session.begin():
        detail: dict[str, object] = {"filed": filed, "already": already, "failed": failed}
        audit.record(session, actor, "intake.import", None, detail)
    print(f"filed {filed}, already imported {already}, not imported {failed}")
    return 1 if failed else 0
