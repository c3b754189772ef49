"""The administrator's one-off commands: database, users, keys, audit, sweep, purge, i18n."""

from __future__ import annotations

import argparse
import sys

from sqlalchemy import func, select

from gateway.cases.audit import Anchor, head, verify
from gateway.cli.context import gateway_of, settings_of
from gateway.conversation.keywords import KEYWORDS, NEEDS_REVIEW
from gateway.core.accounts import AuditEntry
from gateway.core.config import generate_keys
from gateway.core.i18n import review_list
from gateway.core.keys import rotate_all
from gateway.work.retention import purge
from gateway.work.sweeper import sweep


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    # Alembic and Mako (some 10 MiB) only for this command, not in `serve` and `worker`.
    from gateway.core.migrate import upgrade

    upgrade(settings_of(args).database_url)
    print("database is up to date")
    return 0


def cmd_users_create(args: argparse.Namespace) -> int:
    # The console (its views, pyotp, segno) only for this command, not in `worker`.
    from gateway.console.users import UserError, create_user

    gw = gateway_of(args)
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


def cmd_sweep(args: argparse.Namespace) -> int:
    result = sweep(gateway_of(args, need_redis=True))
    print(
        f"enqueued: {result.inbound} inbound, {result.forwarding} forwarding, "
        f"{result.outbound} outbound, {result.extra} other"
    )
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    counts = purge(gateway_of(args))
    print(", ".join(f"{name}: {count}" for name, count in counts.items()))
    return 0


def cmd_keys_generate(args: argparse.Namespace) -> int:
    for name, value in generate_keys().items():
        print(f"{name}={value}")
    return 0


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    counts = rotate_all(gateway_of(args))
    print(
        "re-encrypted under the first GATEWAY_DATA_KEY: "
        + ", ".join(f"{table} {count}" for table, count in counts.items())
    )
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Walk the audit chain; exit 1 at the first entry changed, removed or inserted."""
    try:
        anchor = Anchor.parse(args.anchor) if args.anchor else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    gw = gateway_of(args)
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


def cmd_i18n_review_list(args: argparse.Namespace) -> int:
    for locale, msgids in review_list([args.locale] if args.locale else None).items():
        words = KEYWORDS.get(locale, {}) if locale in NEEDS_REVIEW else {}
        print(f"{locale}: {len(msgids)} to review" + (", and the keywords" if words else ""))
        for msgid in msgids:
            print("  " + msgid.replace("\n", " "))
        if words:
            listed = "; ".join(f"{meaning}: {', '.join(said)}" for meaning, said in words.items())
            print(f"  keywords (gateway/conversation/keywords.py): {listed}")
    return 0
