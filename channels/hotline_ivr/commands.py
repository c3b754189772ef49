"""`complaint-gateway ivr prompts generate|check|script`: the hotline's recorded prompts.

`add_commands` is this channel's `Channel.add_commands` (see
channels/telegram/commands.py): the command line calls it with its
sub-command parsers and the options every command takes.
"""

from __future__ import annotations

import argparse
from typing import Any

from .prompt_files import main as prompts_main

PROMPT_COMMANDS = (
    ("generate", "placeholder prompts made with espeak-ng, listed as placeholders"),
    ("check", "missing and placeholder prompts per language; exit 1 when any is missing"),
    ("script", "write each language's recording script (prompt ids and words)"),
)


def cmd_ivr_prompts(args: argparse.Namespace) -> int:
    return prompts_main(args.prompts_command, args.locale, getattr(args, "force", False))


def add_commands(subparsers: Any, common: argparse.ArgumentParser) -> None:
    """`ivr prompts generate|check|script` under `subparsers`."""
    ivr = subparsers.add_parser("ivr", help="the voice hotline").add_subparsers(
        dest="ivr_command", required=True
    )
    ivr_prompts = ivr.add_parser("prompts", help="its recorded prompts").add_subparsers(
        dest="prompts_command", required=True
    )
    for name, help_text in PROMPT_COMMANDS:
        command = ivr_prompts.add_parser(name, parents=[common], help=help_text)
        command.set_defaults(func=cmd_ivr_prompts)
        command.add_argument("--locale", action="append", help="this locale only (repeatable)")
        if name == "generate":
            command.add_argument("--force", action="store_true", help="make placeholders again")
