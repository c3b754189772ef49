"""The composition root of the channels: the one list of channel packages.

Each package describes itself with a `CHANNEL` (gateway.core.providers.Channel).
`load_channels` installs them once at start-up: the web application mounts
their web sides (`gateway.app`), the worker finds their senders, cleaners and
handlers, the command line their commands, all through
`gateway.core.providers.installed()`. Nothing here imports Flask: the worker
and the one-off commands import this module, and only a web process imports
a channel's web side.
"""

from __future__ import annotations

from types import ModuleType

import channels.hotline_ivr
import channels.sms
import channels.telegram
import channels.ussd
import channels.web_form
from gateway.core import providers
from gateway.core.providers import Registry

# The channel packages, each exposing `CHANNEL` (its web side, providers, commands, checks).
CHANNEL_PACKAGES: tuple[ModuleType, ...] = (
    channels.telegram,
    channels.sms,
    channels.web_form,
    channels.hotline_ivr,
    channels.ussd,
)


def load_channels() -> Registry:
    """Install every channel package's `CHANNEL` (again: installing twice changes nothing)."""
    return providers.install(package.CHANNEL for package in CHANNEL_PACKAGES)
