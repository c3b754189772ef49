"""`referrals export`: referrals to assistance as CSV, nothing that identifies the reporter."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

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
    """Write the CSV to --output (made readable by this user only) or to standard output."""
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
                count = write(db, out, period, prefix, ACTOR)
        except OSError as exc:
            print(f"error: cannot write {target}: {exc.strerror}", file=sys.stderr)
            return 1
        print(f"{count} referral(s) written to {target}", file=sys.stderr)
        return 0
    with gw.sessions() as db, db.begin():
        count = write(db, sys.stdout, period, prefix, ACTOR)
    sys.stdout.flush()
    print(f"{count} referral(s)", file=sys.stderr)
    return 0
