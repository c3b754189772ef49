"""What every command starts from: the settings and the shared services of its data dir."""

from __future__ import annotations

import argparse

from gateway.core import runtime
from gateway.core.config import Settings
from gateway.core.runtime import Gateway


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings for `--data-dir` (environment, `.env`, then what the data dir holds)."""
    return Settings.load(data_dir=args.data_dir)


def gateway_of(args: argparse.Namespace, need_redis: bool = False) -> Gateway:
    """The installed `Gateway`; `need_redis` starts the embedded Redis (main() stops it)."""
    gw, args._embedded = runtime.open_for_command(settings_of(args), need_redis)
    return gw
