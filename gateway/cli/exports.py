"""`cases export --format mts-csv`: every case for headquarters, no person in it (docs/exports.md).

Run on the server by its operator, who can read the database anyway: every
case is exported, restricted ones included (the `restricted` column says
which). The export is audited like the console's, actor `command-line`.
"""

from __future__ import annotations

import argparse

from gateway.cases import mts_export
from gateway.cli.referrals import write_csv

FORMATS = (mts_export.FORMAT,)


def cmd_cases_export(args: argparse.Namespace) -> int:
    return write_csv(args, mts_export.write, "case(s)")
