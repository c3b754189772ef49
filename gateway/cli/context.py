"""What every command starts from: the settings and the shared services of its data dir."""

from __future__ import annotations

import argparse

from gateway.core import runtime
from gateway.core.config import Settings
from gateway.core.embedded_redis import EmbeddedRedis
from gateway.core.runtime import Gateway


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings for `--data-dir` (environment, `.env`, then what the data dir holds)."""
    return Settings.load(data_dir=args.data_dir)


def gateway_of(args: argparse.Namespace, need_redis: bool = False) -> Gateway:
    """The installed `Gateway`; `need_redis` starts the embedded Redis (main() stops it)."""
    settings = settings_of(args)
    if need_redis and settings.uses_embedded_redis:
        args._embedded = EmbeddedRedis(settings.data_dir).start()
    return runtime.install(Gateway.from_settings(settings))
