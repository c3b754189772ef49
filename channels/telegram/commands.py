"""`complaint-gateway telegram poll` and `telegram set-webhook`: the bot's two commands.

`add_commands` is this channel's `Channel.add_commands`: the command line
(gateway/cli/parser.py) calls it with its sub-command parsers and the options every
command takes; each command gets the parsed arguments and returns the exit
code (a `ConfigError` becomes the command line's exit code 2).
"""

from __future__ import annotations

import argparse
from typing import Any

from gateway.core import runtime
from gateway.core.config import Settings


def cmd_telegram_poll(args: argparse.Namespace) -> int:
    """Take updates by long polling; the embedded Redis, if used, runs meanwhile."""
    from .polling import run_polling  # noqa: PLC0415 - python-telegram-bot, for this command only

    gw, embedded = runtime.open_for_command(Settings.load(data_dir=args.data_dir), need_redis=True)
    try:
        stored = run_polling(gw, cycles=args.cycles, timeout=args.timeout)
    finally:
        if embedded is not None:
            embedded.stop()
    print(f"{stored} Telegram message(s) stored")
    return 0


def cmd_telegram_set_webhook(args: argparse.Namespace) -> int:
    from .polling import set_webhook  # noqa: PLC0415 - python-telegram-bot, for this command only

    print(f"webhook set: {set_webhook(Settings.load(data_dir=args.data_dir))}")
    return 0


def add_commands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """`telegram poll` and `telegram set-webhook` under `subparsers`."""
    telegram = subparsers.add_parser("telegram", help="the Telegram bot").add_subparsers(
        dest="telegram_command", required=True
    )
    poll = telegram.add_parser(
        "poll", parents=[common], help="take updates by long polling (no public URL)"
    )
    poll.set_defaults(func=cmd_telegram_poll)
    poll.add_argument("--cycles", type=int, default=None, help="stop after this many getUpdates")
    poll.add_argument("--timeout", type=int, default=50, help="seconds each getUpdates waits")
    webhook = telegram.add_parser(
        "set-webhook", parents=[common], help="register PUBLIC_BASE_URL/telegram/webhook"
    )
    webhook.set_defaults(func=cmd_telegram_set_webhook)
