"""`retention report` and `cases erase`: what the purge will remove, and erasing one case now.

Neither prints anything a report said: case numbers, dates and counts.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import json
import sys

from gateway.cases.erasure import MAX_REASON, AlreadyErased, clean_reason, erase_case
from gateway.cases.filing import find_case
from gateway.cases.retention_schedule import schedule
from gateway.cli.context import gateway_of
from gateway.core.schema import utcnow
from gateway.work.forwarding import enqueue_outbox


def cmd_retention_report(args: argparse.Namespace) -> int:
    gw = gateway_of(args)
    now = utcnow()
    with gw.sessions() as session:
        report = schedule(session, gw.settings.retention_days, gw.settings.case_number_prefix)
    if args.json:
        print(json.dumps(report.as_json(now), indent=2))
        return 0
    print(
        f"closed cases keep their statements, messages and attachments for "
        f"{report.retention_days} days after closing (RETENTION_DAYS); the sweeper purges them"
    )
    print(f"already purged: {report.purged} (erased by an administrator: {report.erased})")
    print(f"open cases (a purge date once closed): {report.open_cases}")
    print(f"due now (the next sweep): {report.due_now(now)}")
    if report.waiting_to_forward:
        print(
            f"closed but not yet received by a target, kept until they are: "
            f"{report.waiting_to_forward} (complaint-gateway forwarding retry)"
        )
    by_month = report.by_month()
    print("to be purged, by month:" if by_month else "to be purged: none")
    for month, count in by_month.items():
        print(f"  {month}: {count}")
    for number, closed, at in report.due:
        print(f"  {number:<18} closed {closed:%Y-%m-%d}  purged from {at:%Y-%m-%d %H:%M} UTC")
    return 0


def cmd_cases_erase(args: argparse.Namespace) -> int:
    reason = clean_reason(args.reason)
    if reason is None:
        print(f"error: --reason is required (at most {MAX_REASON} characters)", file=sys.stderr)
        return 2
    gw = gateway_of(args, need_redis=True)
    actor = f"cli:{(args.by or getpass.getuser()).strip()[:50]}"
    try:
        with gw.sessions() as session, session.begin():
            case = find_case(session, args.case_number, gw.settings.case_number_prefix)
            if case is None:
                print("error: no such case (check the number)", file=sys.stderr)
                return 1
            erased = erase_case(session, gw, case, actor, reason, utcnow())
    except AlreadyErased:
        print("error: this case was erased already; nothing changed", file=sys.stderr)
        return 1
    for outbox_id in erased.outbox_ids:
        with contextlib.suppress(Exception):  # stored; the sweeper enqueues it otherwise
            enqueue_outbox(gw, outbox_id)
    told = "the case tracker will be told" if erased.outbox_ids else "no case tracker had it"
    print(f"case {args.case_number} erased: content removed, case closed; {told}")
    return 0
