"""`referrals export`: referrals to assistance as CSV, nothing that identifies the reporter.

Also the CSV writing both exports share (`write_csv`; `cases export` in exports.py).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TextIO

from sqlalchemy.orm import Session

from gateway.cases.referral_export import Period, write
from gateway.cases.referrals import ReferralError, parse_date
from gateway.cli.context import gateway_of

ACTOR = "command-line"  # who the audit trail names for an export run on the server


def day(text: str) -> date:
    """An argparse type: YYYY-MM-DD, with a one-line error otherwise."""
    try:
        found = parse_date("date", text, required=True)
    except ReferralError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None
    assert found is not None
    return found


def cmd_referrals_export(args: argparse.Namespace) -> int:
    return write_csv(args, write, "referral(s)")


Writer = Callable[[Session, TextIO, Period, str, str], int]


def write_csv(args: argparse.Namespace, writer: Writer, noun: str) -> int:
    """An export's CSV to --output (made readable by this user only) or to standard output.

    Shared by `referrals export` and `cases export`; `writer` writes the rows
    and audits the export in the same transaction, and returns their count.
    """
    if args.until is not None and args.until < args.since:
        print("error: --until is before --since", file=sys.stderr)
        return 2
    period = Period(args.since, args.until)
    gw = gateway_of(args)
    prefix = gw.settings.case_number_prefix
    if args.output:
        target = Path(args.output)
        try:
            with (
                gw.sessions() as db,
                db.begin(),
                target.open("w", encoding="utf-8", newline="") as out,
            ):
                count = writer(db, out, period, prefix, ACTOR)
        except OSError as exc:
            print(f"error: cannot write {target}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"{count} {noun} written to {target}", file=sys.stderr)
        return 0
    with gw.sessions() as db, db.begin():
        count = writer(db, sys.stdout, period, prefix, ACTOR)
    sys.stdout.flush()
    print(f"{count} {noun}", file=sys.stderr)
    return 0
