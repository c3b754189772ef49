"""The command line's sub-commands and flags (docs/contract.md), each bound to its function."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.channel_packages import load_channels
from gateway.cli.backup import add_backup_commands
from gateway.cli.cases import (
    cmd_cases_list,
    cmd_cases_show,
    cmd_forwarders_test,
    cmd_forwarding_retry,
)
from gateway.cli.exports import FORMATS, cmd_cases_export
from gateway.cli.intake import add_intake_commands
from gateway.cli.maintenance import (
    cmd_audit_verify,
    cmd_db_upgrade,
    cmd_i18n_review_list,
    cmd_keys_generate,
    cmd_keys_rotate,
    cmd_purge,
    cmd_sweep,
    cmd_users_create,
)
from gateway.cli.referrals import cmd_referrals_export, day
from gateway.cli.retention import cmd_cases_erase, cmd_retention_report
from gateway.cli.running import cmd_demo, cmd_serve, cmd_worker


def build_parser() -> argparse.ArgumentParser:
    """Every sub-command, the channels' included; `--data-dir` is accepted before or after."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=argparse.SUPPRESS,
        help="SQLite database, generated keys and embedded Redis (default ./var)",
    )
    parser = argparse.ArgumentParser(
        prog="complaint-gateway",
        parents=[common],
        description="Anonymous multi-channel complaint gateway",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Any, help_text: str, parent: Any = sub) -> argparse.ArgumentParser:
        p = parent.add_parser(name, parents=[common], help=help_text)
        p.set_defaults(func=func)
        return p

    # --port: None here means "PORT from the environment, else 8080" (running.port_of).
    p = add("demo", cmd_demo, "the whole gateway on one machine")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--host", default="127.0.0.1")
    p = add("serve", cmd_serve, "the web application under gunicorn")
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--workers", type=int, default=2)
    # Eight: a webhook's thread mostly waits for the database, and the threads that
    # store at once share one commit (bench/README.md, webhook: 4 took fewer a second).
    p.add_argument("--threads", type=int, default=8)
    p = add("worker", cmd_worker, "an RQ worker for all queues, with scheduler and sweeper")
    p.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    p.add_argument("--no-sweeper", action="store_true")

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    add("upgrade", cmd_db_upgrade, "apply migrations", db)

    users = sub.add_parser("users", help="console users").add_subparsers(
        dest="users_command", required=True
    )
    p = add("create", cmd_users_create, "make a console user", users)
    p.add_argument("--role", required=True, choices=["admin", "focal_point", "viewer", "intake"])
    p.add_argument("username")

    cases = sub.add_parser("cases", help="cases").add_subparsers(
        dest="cases_command", required=True
    )
    p = add("list", cmd_cases_list, "cases, newest first, without personal data", cases)
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=1000)
    p = add("show", cmd_cases_show, "one case", cases)
    p.add_argument("case_number")
    p.add_argument("--json", action="store_true")
    p = add("erase", cmd_cases_erase, "erase one case now: content removed, audited", cases)
    p.add_argument("case_number")
    p.add_argument("--reason", required=True, help="why (audited; no names, no report content)")
    p.add_argument("--by", help="the administrator doing it (default: the system user)")
    p = add("export", cmd_cases_export, "CSV for headquarters, nothing identifying", cases)
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--since", type=day, required=True, help="YYYY-MM-DD: received on or after")
    p.add_argument("--until", type=day, default=None, help="YYYY-MM-DD: received on or before")
    p.add_argument("--output", help="write to this file (default: standard output)")

    referrals = sub.add_parser("referrals", help="referrals to assistance").add_subparsers(
        dest="referrals_command", required=True
    )
    p = add("export", cmd_referrals_export, "CSV, nothing identifying the reporter", referrals)
    p.add_argument("--since", type=day, required=True, help="YYYY-MM-DD: changed on or after")
    p.add_argument("--until", type=day, default=None, help="YYYY-MM-DD: changed on or before")
    p.add_argument("--output", help="write to this file (default: standard output)")

    fwd = sub.add_parser("forwarding", help="forwarding to the case tracker").add_subparsers(
        dest="forwarding_command", required=True
    )
    p = add("retry", cmd_forwarding_retry, "queue dead-lettered forwardings again", fwd)
    p.add_argument("case_number", nargs="?")

    targets = sub.add_parser("forwarders", help="case-tracking targets").add_subparsers(
        dest="forwarders_command", required=True
    )
    add("test", cmd_forwarders_test, "send a marked test case to every configured target", targets)

    add_intake_commands(sub, common)
    add_backup_commands(sub, common)

    add("sweep", cmd_sweep, "enqueue unfinished work once (the worker does it every interval)")
    add("purge", cmd_purge, "remove what the retention period no longer allows to keep")
    retention = sub.add_parser("retention", help="retention of closed cases").add_subparsers(
        dest="retention_command", required=True
    )
    p = add("report", cmd_retention_report, "what the sweeper will purge, and when", retention)
    p.add_argument("--json", action="store_true")
    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    p = add("verify", cmd_audit_verify, "check that no audit entry was changed or removed", audit)
    p.add_argument(
        "--anchor", help="ID:HASH printed by an earlier run: that entry must still be there"
    )
    keys = sub.add_parser("keys", help="keys").add_subparsers(dest="keys_command", required=True)
    add("generate", cmd_keys_generate, "print fresh random keys for .env", keys)
    add("rotate", cmd_keys_rotate, "re-encrypt stored data under the first data key", keys)

    i18n = sub.add_parser("i18n", help="translations").add_subparsers(
        dest="i18n_command", required=True
    )
    p = add("review-list", cmd_i18n_review_list, "translations marked # needs-review", i18n)
    p.add_argument("--locale", help="one locale (default: every catalog)")
    # Each installed channel adds its own (`telegram poll`, `ivr prompts …`), after ours.
    for channel in load_channels().channels:
        if channel.add_commands:
            channel.add_commands(sub, common)
    return parser
