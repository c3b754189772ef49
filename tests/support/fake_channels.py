"""Installing a made-up channel and provider for a test, and removing it after.

The worker finds senders, cleaners, fetchers and handlers in the registry
the channels declare themselves in (`gateway.core.providers.installed()`);
a test that plays a provider adds a `Channel` of its own there, named like
its provider, and removes it when done.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta

from gateway.core.providers import (
    Channel,
    Cleaner,
    CopyId,
    Fetcher,
    Handler,
    Provider,
    Sender,
    installed,
)


def install_channel(
    name: str,
    *,
    sender: Sender | None = None,
    cleaner: Cleaner | None = None,
    media_fetcher: Fetcher | None = None,
    media_copy_id: CopyId | None = None,
    handlers: Mapping[str, Handler] | None = None,
    session_windows: Mapping[str, timedelta] | None = None,
) -> Channel:
    """Add channel `name` with one provider of the same name (replacing an earlier one)."""
    provider = Provider(
        name=name,
        sender=sender,
        cleaner=cleaner,
        media_fetcher=media_fetcher,
        media_copy_id=media_copy_id,
        session_windows=dict(session_windows or {}),
    )
    channel = Channel(name=name, providers=(provider,), handlers=dict(handlers or {}))
    installed().add(channel)
    return channel


def remove_channel(name: str) -> None:
    installed().remove(name)


@contextmanager
def fake_channel(name: str, **parts: object) -> Iterator[Channel]:
    """`install_channel` for the `with` block only."""
    channel = install_channel(name, **parts)  # type: ignore[arg-type]
    try:
        yield channel
    finally:
        remove_channel(name)
