"""`complaint-gateway` (also `python -m gateway`): the one command line (contract)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from gateway.core.config import ConfigError, Settings, data_directory, generate_keys
from gateway.core.private_files import private_umask, tighten


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(data_dir=args.data_dir)


def _gateway(args: argparse.Namespace, need_redis: bool = False):  # type: ignore[no-untyped-def]
    from gateway.core import runtime
    from gateway.core.runtime import Gateway

    settings = _settings(args)
    if need_redis and settings.uses_embedded_redis:
        from gateway.core.embedded_redis import EmbeddedRedis

        args._embedded = EmbeddedRedis(settings.data_dir).start()
    return runtime.install(Gateway.from_settings(settings))


# --- commands ------------------------------------------------------------


def cmd_demo(args: argparse.Namespace) -> int:
    from gateway.processes import run_demo

    return run_demo(args.data_dir, args.port, args.host)


def cmd_serve(args: argparse.Namespace) -> int:
    from gateway.processes import run_server

    return run_server(_settings(args), args.host, args.port, args.workers, args.threads)


def cmd_worker(args: argparse.Namespace) -> int:
    from gateway.processes import run_worker

    return run_worker(_settings(args), burst=args.burst, sweeper=not args.no_sweeper)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from gateway.core.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    print("database is up to date")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    from gateway.console.users import UserError, create_user

    gw = _gateway(args)
    try:
        with gw.sessions() as session, session.begin():
            user = create_user(session, gw.cipher, args.username, args.role)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"user:            {user.username} ({user.role.value})")
    print(f"one-time password: {user.password}")
    print(f"TOTP secret:     {user.totp_secret}")
    print(f"TOTP URI:        {user.provisioning_uri()}")
    return 0


def _forwarding_state(states: list[str]) -> str:
    if not states:
        return "none"
    if "dead" in states:
        return "dead"
    if "pending" in states:
        return "pending"
    return "delivered"


def _case_summary(case: Any, prefix: str) -> dict[str, Any]:
    from gateway.cases.filing import display_number

    return {
        "case_number": display_number(case, prefix),
        "status": case.status,
        "channel": case.channel,
        "language": case.language,
        "category": case.category,
        "urgent": case.danger_now or case.child_involved,
        "danger_now": case.danger_now,
        "child_involved": case.child_involved,
        "follow_up": case.follow_up,
        "received_at": case.received_at.isoformat().replace("+00:00", "Z"),
        "forwarding": _forwarding_state([o.state for o in case.outbox]),
    }


def cmd_cases_list(args: argparse.Namespace) -> int:
    from sqlalchemy.orm import selectinload

    from gateway.core.models import Case

    gw = _gateway(args)
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
    from gateway.cases.filing import find_case

    gw = _gateway(args)
    with gw.sessions() as session:
        case = find_case(session, args.case_number, gw.settings.case_number_prefix)
        if case is None:
            print("error: no such case (check the number)", file=sys.stderr)
            return 1
        row = _case_summary(case, gw.settings.case_number_prefix)
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
    from gateway.cases.filing import find_case
    from gateway.core.models import OutboxEntry
    from gateway.work.jobs import retry_dead

    gw = _gateway(args, need_redis=True)
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
    from gateway.forwarders import build, test_delivery

    gw = _gateway(args)
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


def cmd_sweep(args: argparse.Namespace) -> int:
    from gateway.work.sweeper import sweep

    result = sweep(_gateway(args, need_redis=True))
    print(
        f"enqueued: {result.inbound} inbound, {result.forwarding} forwarding, "
        f"{result.outbound} outbound, {result.extra} other"
    )
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    from gateway.work.retention import purge

    counts = purge(_gateway(args))
    print(", ".join(f"{name}: {count}" for name, count in counts.items()))
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    from gateway.core.keys import rotate_all

    counts = rotate_all(_gateway(args))
    print(
        "re-encrypted under the first GATEWAY_DATA_KEY: "
        + ", ".join(f"{table} {count}" for table, count in counts.items())
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Walk the audit chain; exit 1 at the first entry changed, removed or inserted."""
    from sqlalchemy import func

    from gateway.cases.audit import Anchor, head, verify
    from gateway.core.models import AuditEntry

    try:
        anchor = Anchor.parse(args.anchor) if args.anchor else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    gw = _gateway(args)
    with gw.sessions() as session:
        whole, bad = verify(session, anchor)
        count = session.scalar(select(func.count()).select_from(AuditEntry))
        newest = head(session)
    if not whole:
        if anchor is not None and bad == anchor.id:
            print(
                f"audit log TAMPERED: entry {anchor.id} is gone or changed since it was anchored",
                file=sys.stderr,
            )
        else:
            print(f"audit log TAMPERED: the chain breaks at entry {bad}", file=sys.stderr)
        return 1
    print(f"audit log intact: {count} entries")
    if newest is not None:
        # Kept off this machine, the head lets the next run notice entries cut from the end.
        print(f"anchor: {newest}")
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    for name, value in generate_keys().items():
        print(f"{name}={value}")
    return 0


def cmd_telegram_poll(args: argparse.Namespace) -> int:
    from channels.telegram.polling import run_polling

    stored = run_polling(_gateway(args, need_redis=True), cycles=args.cycles, timeout=args.timeout)
    print(f"{stored} Telegram message(s) stored")
    return 0


def cmd_telegram_set_webhook(args: argparse.Namespace) -> int:
    from channels.telegram.polling import set_webhook

    print(f"webhook set: {set_webhook(_settings(args))}")
    return 0


def cmd_i18n_review_list(args: argparse.Namespace) -> int:
    from gateway.conversation.keywords import KEYWORDS, NEEDS_REVIEW
    from gateway.core.i18n import review_list

    for locale, msgids in review_list([args.locale] if args.locale else None).items():
        words = KEYWORDS.get(locale, {}) if locale in NEEDS_REVIEW else {}
        print(f"{locale}: {len(msgids)} to review" + (", and the keywords" if words else ""))
        for msgid in msgids:
            print("  " + msgid.replace("\n", " "))
        if words:
            listed = "; ".join(f"{meaning}: {', '.join(said)}" for meaning, said in words.items())
            print(f"  keywords (gateway/conversation/keywords.py): {listed}")
    return 0


def cmd_ivr_prompts(args: argparse.Namespace) -> int:
    from channels.hotline_ivr.prompt_files import main as prompts_main

    return prompts_main(args.prompts_command, args.locale, getattr(args, "force", False))


# --- parser --------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
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

    p = add("demo", cmd_demo, "the whole gateway on one machine")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1")
    p = add("serve", cmd_serve, "the web application under gunicorn")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", type=int, default=4)
    p = add("worker", cmd_worker, "an RQ worker for all queues, with scheduler and sweeper")
    p.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    p.add_argument("--no-sweeper", action="store_true")

    db = sub.add_parser("db", help="database").add_subparsers(dest="db_command", required=True)
    add("upgrade", cmd_db_upgrade, "apply migrations", db)

    users = sub.add_parser("users", help="console users").add_subparsers(
        dest="users_command", required=True
    )
    p = add("create", cmd_users_create, "make a console user", users)
    p.add_argument("--role", required=True, choices=["admin", "focal_point", "viewer"])
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

    fwd = sub.add_parser("forwarding", help="forwarding to the case tracker").add_subparsers(
        dest="forwarding_command", required=True
    )
    p = add("retry", cmd_forwarding_retry, "queue dead-lettered forwardings again", fwd)
    p.add_argument("case_number", nargs="?")

    targets = sub.add_parser("forwarders", help="case-tracking targets").add_subparsers(
        dest="forwarders_command", required=True
    )
    add("test", cmd_forwarders_test, "send a marked test case to every configured target", targets)

    add("sweep", cmd_sweep, "enqueue unfinished work once (the worker does it every interval)")
    add("purge", cmd_purge, "remove what the retention period no longer allows to keep")
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

    telegram = sub.add_parser("telegram", help="the Telegram bot").add_subparsers(
        dest="telegram_command", required=True
    )
    p = add("poll", cmd_telegram_poll, "take updates by long polling (no public URL)", telegram)
    p.add_argument("--cycles", type=int, default=None, help="stop after this many getUpdates")
    p.add_argument("--timeout", type=int, default=50, help="seconds each getUpdates waits")
    add(
        "set-webhook",
        cmd_telegram_set_webhook,
        "register PUBLIC_BASE_URL/telegram/webhook",
        telegram,
    )
    i18n = sub.add_parser("i18n", help="translations").add_subparsers(
        dest="i18n_command", required=True
    )
    p = add("review-list", cmd_i18n_review_list, "translations marked # needs-review", i18n)
    p.add_argument("--locale", help="one locale (default: every catalog)")

    ivr = sub.add_parser("ivr", help="the voice hotline").add_subparsers(
        dest="ivr_command", required=True
    )
    ivr_prompts = ivr.add_parser("prompts", help="its recorded prompts").add_subparsers(
        dest="prompts_command", required=True
    )
    for name, help_text in (
        ("generate", "placeholder prompts made with espeak-ng, listed as placeholders"),
        ("check", "missing and placeholder prompts per language; exit 1 when any is missing"),
        ("script", "write each language's recording script (prompt ids and words)"),
    ):
        p = add(name, cmd_ivr_prompts, help_text, ivr_prompts)
        p.add_argument("--locale", action="append", help="this locale only (repeatable)")
        if name == "generate":
            p.add_argument("--force", action="store_true", help="make placeholders again")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    import logging

    from gateway.core.privacy import install_log_redaction

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
