"""`cases`, `forwarding`, `forwarders`: what was filed and where it went, no personal data."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gateway.cases import allegation
from gateway.cases.filing import display_number, find_case
from gateway.cases.forwarding_state import forwarding_summary
from gateway.cli.context import gateway_of
from gateway.core.config import ConfigError
from gateway.core.models import Case, OutboxEntry
from gateway.forwarders import build, test_delivery
from gateway.work.forwarding import ESCALATION, retry_dead


def _case_summary(case: Any, prefix: str) -> dict[str, Any]:
    return {
        "case_number": display_number(case, prefix),
        "status": case.status,
        "channel": case.channel,
        "received_via": case.received_via,  # how a report taken in person reached its receiver
        "language": case.language,
        "category": case.category,
        "urgent": case.danger_now or case.child_involved,
        "danger_now": case.danger_now,
        "child_involved": case.child_involved,
        "follow_up": case.follow_up,
        "received_at": case.received_at.isoformat().replace("+00:00", "Z"),
        # What reached the case tracker: an escalation alert to the duty officer is not forwarding.
        "forwarding": forwarding_summary([o.state for o in case.outbox if o.kind != ESCALATION]),
        # A tombstone (gateway/cases/tombstone.py): content gone, the row stays listed.
        "content_purged_at": _iso(case.content_purged_at),
        "erased": case.erased_at is not None,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def cmd_cases_list(args: argparse.Namespace) -> int:
    gw = gateway_of(args)
    prefix = gw.settings.case_number_prefix
    with gw.sessions() as session:
        cases = session.scalars(
            select(Case)
            .options(selectinload(Case.outbox))
            .order_by(Case.received_at.desc(), Case.id.desc())
            .limit(args.limit)
        ).all()
        rows = [_case_summary(c, prefix) for c in cases]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no cases")
    for row in rows:
        flags = "URGENT " if row["urgent"] else ""
        print(
            f"{row['case_number']:<18} {row['received_at']:<22} {row['channel']:<10} "
            f"{row['language']:<4} {row['status']:<13} {flags}forwarding={row['forwarding']}"
        )
    return 0


def cmd_cases_show(args: argparse.Namespace) -> int:
    gw = gateway_of(args)
    with gw.sessions() as session:
        case = find_case(session, args.case_number, gw.settings.case_number_prefix)
        if case is None:
            print("error: no such case (check the number)", file=sys.stderr)
            return 1
        row = _case_summary(case, gw.settings.case_number_prefix)
        row["allegation"] = allegation.of_case(case)  # codes; null where not asked
        row["events"] = [
            {
                "kind": e.kind,
                "status": e.status,
                "actor": e.actor,
                "at": e.created_at.isoformat().replace("+00:00", "Z"),
            }
            for e in case.events
        ]
        row["forwarding_targets"] = [
            {
                "target": o.target,
                "kind": o.kind,
                "state": o.state,
                "attempts": o.attempts,
                "last_error": o.last_error,
            }
            for o in case.outbox
        ]
    if args.json:
        print(json.dumps(row, indent=2))
    else:
        for key, value in row.items():
            print(f"{key}: {value}")
    return 0


def cmd_forwarding_retry(args: argparse.Namespace) -> int:
    gw = gateway_of(args, need_redis=True)
    ids = None
    if args.case_number:
        with gw.sessions() as session:
            case = find_case(session, args.case_number, gw.settings.case_number_prefix)
            if case is None:
                print("error: no such case", file=sys.stderr)
                return 1
            ids = list(
                session.scalars(select(OutboxEntry.id).where(OutboxEntry.case_id == case.id))
            )
    retried = retry_dead(gw, ids)
    print(f"{len(retried)} dead-lettered forwarding(s) queued again")
    return 0


def cmd_forwarders_test(args: argparse.Namespace) -> int:
    gw = gateway_of(args)
    failures = 0
    for name in gw.settings.forwarders:
        try:
            result = build(name, gw.settings).deliver(test_delivery())
        except ConfigError as exc:
            print(f"{name}: configuration error: {exc}")
            failures += 1
            continue
        status = f" (HTTP {result.http_status})" if result.http_status else ""
        print(
            f"{name}: {result.outcome.value}{status}{': ' + result.error if result.error else ''}"
        )
        failures += result.outcome.value != "delivered"
    return 1 if failures else 0
