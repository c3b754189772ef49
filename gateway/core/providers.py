"""What each channel and provider brings to the gateway, declared once.

A channel package (under `channels/`) describes itself with one `Channel`:
the module of its web side, the providers it speaks to (`Provider`: how to send, delete
the provider's copies, fetch media; which settings hold its secrets), the
channel names the shared text conversation serves, a handler of its own
where it needs one, its command-line commands and its start-up checks. The
composition root (`gateway.channel_packages.load_channels`) collects them
once at start-up with `install`; the worker, the console and the start-up
warnings read them here. Nothing in `gateway/` names a provider.

A channel's web side (its blueprint: webhooks, pages, demo simulators) is
named, not imported: only a web process imports it (`gateway.app`), so a
worker, which sends and cleans through the same descriptors, never loads
Flask (bench/README.md, memory).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from gateway.core.config import Settings
from gateway.core.effects import Effects
from gateway.core.models import InboundEvent

if TYPE_CHECKING:  # a type only: runtime imports this module's neighbours, not this one
    from gateway.core.runtime import Gateway

# (settings, address, text, message id) -> the provider's id for the message
Sender = Callable[[Settings, str, str, int], str | None]
# (settings, provider message id) -> True when the provider's copy is gone,
# False when it cannot be deleted yet (still in progress): try again later.
Cleaner = Callable[[Settings, str], bool]
# (settings, url, size limit in bytes) -> the file's bytes
Fetcher = Callable[[Settings, str, int], bytes]
# media url -> the provider's id of its own copy of the file, to delete once stored
CopyId = Callable[[str], str | None]
# (session, gateway, stored event, decrypted payload) -> what to start after commit
Handler = Callable[[Session, "Gateway", InboundEvent, dict[str, Any]], Effects]
# (the `complaint-gateway` sub-command parsers, the options every command takes)
AddCommands = Callable[[Any, argparse.ArgumentParser], None]
# settings -> warnings to log at start-up (a secret missing, an endpoint that refuses all)
Check = Callable[[Settings], list[str]]


@dataclass(frozen=True)
class PromptLine:
    """One recorded prompt a channel needs in a language, as the console's prompts page lists it."""

    prompt_id: str
    words: str  # what to say: the recording script's line
    file_url: str | None = None  # the packaged recording's path on this gateway, if any
    placeholder: bool = False  # that file was made by a machine (espeak-ng), not a person


# (settings, locale) -> every prompt of the language, in the order the channel plays them
PromptCatalog = Callable[[Settings, str], list[PromptLine]]


@dataclass(frozen=True)
class Provider:
    """One outside service a channel talks to (Twilio, Africa's Talking, Kannel, Telegram)."""

    name: str  # as stored with every message: inbound_events.provider, outbound_messages.provider
    label: str = ""  # for people: the console's settings page
    routes: tuple[str, ...] = ()  # the gateway's paths this provider calls
    sender: Sender | None = None
    cleaner: Cleaner | None = None
    media_fetcher: Fetcher | None = None
    media_copy_id: CopyId | None = None
    required_settings: tuple[str, ...] = ()  # without them its endpoints refuse everything
    secret_settings: tuple[str, ...] = ()  # shown only as "set" / "not set"
    optional_settings: tuple[str, ...] = ()  # shown with their value too (an API base URL)
    # Per channel it carries: how long after the person's last message we may still write
    # freely (WhatsApp's customer service window); no entry, no limit.
    session_windows: Mapping[str, timedelta] = field(default_factory=dict)


@dataclass(frozen=True)
class Channel:
    """A channel package: what it mounts, which providers it brings, what it adds."""

    name: str
    # The module that defines the channel's Flask `blueprint`, imported by web processes only.
    web: str | None = None
    providers: tuple[Provider, ...] = ()
    conversation_channels: tuple[str, ...] = ()  # channel names the text conversation serves
    handlers: Mapping[str, Handler] = field(default_factory=dict)  # its own, by channel name
    add_commands: AddCommands | None = None
    checks: tuple[Check, ...] = ()
    voice_prompts: PromptCatalog | None = None  # the recorded prompts it plays (the hotline)


class Registry:
    """Every installed channel and provider, looked up by name."""

    def __init__(self, channels: Iterable[Channel] = ()) -> None:
        self._channels: dict[str, Channel] = {}
        for channel in channels:
            self.add(channel)

    def add(self, channel: Channel) -> None:
        """Install `channel`, replacing one of the same name.

        Two channels may not declare the same provider name: every stored
        message names its provider, and a look-up must find one sender, one
        cleaner and one session window for it.
        """
        for other in self._channels.values():
            if other.name == channel.name:
                continue
            shared = {p.name for p in other.providers} & {p.name for p in channel.providers}
            if shared:
                raise ValueError(
                    f"channels {other.name!r} and {channel.name!r} both declare "
                    f"provider {sorted(shared)[0]!r}"
                )
        self._channels[channel.name] = channel

    def remove(self, name: str) -> None:
        self._channels.pop(name, None)

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(self._channels.values())

    @property
    def providers(self) -> tuple[Provider, ...]:
        return tuple(p for channel in self._channels.values() for p in channel.providers)

    def provider(self, name: str) -> Provider | None:
        for provider in self.providers:
            if provider.name == name:
                return provider
        return None

    def sender(self, provider: str) -> Sender | None:
        found = self.provider(provider)
        return found.sender if found else None

    def cleaner(self, provider: str) -> Cleaner | None:
        found = self.provider(provider)
        return found.cleaner if found else None

    def media_fetcher(self, provider: str) -> Fetcher | None:
        found = self.provider(provider)
        return found.media_fetcher if found else None

    def media_copy_id(self, provider: str) -> CopyId | None:
        found = self.provider(provider)
        return found.media_copy_id if found else None

    def handler(self, channel: str) -> Handler | None:
        """A channel's own handler; None for the conversation's channels and unknown ones."""
        for package in self._channels.values():
            if channel in package.handlers:
                return package.handlers[channel]
        return None

    def voice_prompts(self) -> PromptCatalog | None:
        """The catalog of recorded prompts of the channel that plays them, if one is installed."""
        for package in self._channels.values():
            if package.voice_prompts is not None:
                return package.voice_prompts
        return None

    def conversation_channels(self) -> frozenset[str]:
        return frozenset(
            c for package in self._channels.values() for c in package.conversation_channels
        )

    def session_window(self, provider: str, channel: str) -> timedelta | None:
        found = self.provider(provider)
        return found.session_windows.get(channel) if found else None

    def warnings(self, settings: Settings) -> list[tuple[str, str]]:
        """Every channel's start-up warnings for these settings: (channel name, warning)."""
        return [
            (package.name, line)
            for package in self._channels.values()
            for check in package.checks
            for line in check(settings)
        ]


def missing_settings(providers: tuple[Provider, ...], consequence: str) -> Check:
    """A start-up check: one warning per provider missing a setting it needs, and what follows."""

    def check(settings: Settings) -> list[str]:
        warnings = []
        for provider in providers:
            missing = [name for name in provider.required_settings if not settings.get(name)]
            if missing:
                warnings.append(
                    f"{provider.label} is not fully configured "
                    f"({', '.join(missing)} not set): {consequence}"
                )
        return warnings

    return check


_installed = Registry()


def install(channels: Iterable[Channel]) -> Registry:
    """Add the channels to the registry (the composition root, once at start-up)."""
    for channel in channels:
        _installed.add(channel)
    return _installed


def installed() -> Registry:
    """The registry the composition root filled."""
    return _installed
