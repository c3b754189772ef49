"""`backup create DIR` and `backup restore DIR`: the passphrase, and one line for every refusal.

The passphrase is never an argument (argv is visible to every user of the
machine in `ps`): it comes from `--passphrase-file PATH`, from standard
input (`--passphrase-file -`, or whenever standard input is not a terminal),
or else is asked for at the terminal, twice for `create`.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Any

from gateway.cli.context import settings_of
from gateway.core.backup_file import BackupError, check_passphrase
from gateway.core.config import data_directory

STDIN = "-"


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0].rstrip("\r")


def read_passphrase(args: argparse.Namespace, confirm: bool) -> str:
    """The passphrase from the file, standard input or the terminal; checked for length."""
    where = args.passphrase_file
    if where and where != STDIN:
        try:
            passphrase = _first_line(Path(where).read_text())
        except OSError as exc:
            raise BackupError(f"cannot read the passphrase file: {exc.strerror}") from None
    elif where == STDIN or not sys.stdin.isatty():
        passphrase = _first_line(sys.stdin.read())
    else:
        passphrase = getpass.getpass("backup passphrase: ")
        check_passphrase(passphrase)
        if confirm and getpass.getpass("the same again: ") != passphrase:
            raise BackupError("the two passphrases differ")
    check_passphrase(passphrase)
    return passphrase


def cmd_backup_create(args: argparse.Namespace) -> int:
    from gateway.work.backup import create

    try:
        passphrase = read_passphrase(args, confirm=True)
        made = create(settings_of(args), Path(args.directory), passphrase, args.keys_only)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"backup written: {made.path} ({made.kind}, {made.members} members)")
    if made.cases is not None:
        print(f"cases: {made.cases}")
    print("keep the passphrase apart from the backup: without it the backup cannot be read")
    return 0


def cmd_backup_restore(args: argparse.Namespace) -> int:
    from gateway.work.restore import restore

    env = {**_dotenv(), **os.environ}
    data_dir = data_directory(args.data_dir, env)
    try:
        passphrase = read_passphrase(args, confirm=False)
        done = restore(Path(args.directory), data_dir, passphrase, env)
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"restored into {data_dir}: {done.files} files ({done.kind})")
    if done.cases is not None:
        print(f"cases: {done.cases}; database at revision {done.revision}")
    else:
        print("no database in this backup: restore PostgreSQL with pg_restore")
    return 0


def _dotenv() -> dict[str, str]:
    """`.env` of the working directory, as Settings.load reads it (no keys are needed yet)."""
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(".env").items() if v is not None}


def add_backup_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """`backup create` and `backup restore` (docs/deployment.md, "Backups")."""
    backup = sub.add_parser("backup", help="sealed backups of the embedded gateway")
    commands = backup.add_subparsers(dest="backup_command", required=True)
    for name, func, text in (
        ("create", cmd_backup_create, "seal a consistent copy of the data into DIR"),
        ("restore", cmd_backup_restore, "restore the backup in DIR into an empty --data-dir"),
    ):
        p = commands.add_parser(name, parents=[common], help=text)
        p.set_defaults(func=func)
        p.add_argument("directory", metavar="DIR")
        p.add_argument(
            "--passphrase-file",
            metavar="PATH",
            help="read the passphrase from this file's first line ('-': standard input)",
        )
        if name == "create":
            p.add_argument(
                "--keys-only",
                action="store_true",
                help="without the database (PostgreSQL: back it up with pg_dump)",
            )
