"""The local spool: where a webhook's message waits when the database is down.

Some providers do not retry (or give up quickly), so a message refused with a
5xx while PostgreSQL restarts could be lost. Instead, the web process writes
the message to `<data dir>/spool/`, encrypted with the data key and fsynced,
answers the provider 2xx, and a loader (a thread in every web process, and
every sweep) moves spooled messages into the database once it answers. The
file name is a hash of the provider's message id, so a redelivery while the
database is down is one file, and the database's unique constraint makes a
message loaded twice one event.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

from gateway.core.inbound import InboundMessage, MediaRef
from gateway.core.privacy import InvalidToken
from gateway.core.runtime import Gateway
from gateway.work.inbound import store_and_announce

log = logging.getLogger(__name__)
SUFFIX = ".msg"
BAD_SUFFIX = ".unreadable"
CLAIMED_SUFFIX = ".claimed"
# A claim older than this belongs to a loader that died between taking the file
# and storing it; the file is put back so that another loader stores it.
STALE_CLAIM_SECONDS = 300.0


def spool_dir(gw: Gateway) -> Path:
    return spool_directory(gw.settings.get("GATEWAY_SPOOL_DIR"), gw.settings.data_dir)


def spool_directory(configured: str | None, data_dir: Path) -> Path:
    """GATEWAY_SPOOL_DIR, else `<data dir>/spool` (also for a restore, before any settings)."""
    return Path(configured or data_dir / "spool")


def _encode(message: InboundMessage) -> dict[str, object]:
    return {
        "channel": message.channel,
        "provider": message.provider,
        "provider_message_id": message.provider_message_id,
        "sender": message.sender,
        "text": message.text,
        "media": [[m.url, m.content_type, m.size] for m in message.media],
        "language_hint": message.language_hint,
        "received_at": message.received_at.isoformat(),
        "recipient": message.recipient,
        "reply_to": message.reply_to,
        "extra": [list(pair) for pair in message.extra],
    }


def _decode(data: dict[str, object]) -> InboundMessage:
    media = tuple(MediaRef(str(u), t, s) for u, t, s in data.get("media") or [])  # type: ignore[misc,union-attr]
    return InboundMessage(
        channel=str(data["channel"]),
        provider=str(data["provider"]),
        provider_message_id=str(data["provider_message_id"]),
        sender=str(data["sender"]),
        text=str(data.get("text") or ""),
        media=media,
        language_hint=data.get("language_hint"),  # type: ignore[arg-type]
        received_at=datetime.fromisoformat(str(data["received_at"])),
        recipient=data.get("recipient"),  # type: ignore[arg-type]
        reply_to=data.get("reply_to"),  # type: ignore[arg-type]
        extra=tuple(tuple(pair) for pair in data.get("extra") or []),  # type: ignore[misc,union-attr]
    )


def write(gw: Gateway, messages: list[InboundMessage]) -> int:
    """Write messages durably; returns how many files were written."""
    directory = spool_dir(gw)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    if directory.stat().st_mode & 0o077:  # made by an older version, or by hand
        os.chmod(directory, 0o700)
    for message in messages:
        name = hashlib.sha256(
            f"{message.provider}:{message.provider_message_id}".encode()
        ).hexdigest()[:40]
        final = directory / f"{name}{SUFFIX}"
        temporary = directory / f".{name}.{uuid.uuid4().hex}.tmp"
        token = gw.cipher.encrypt(json.dumps(_encode(message)).encode())
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, token)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, final)
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    log.warning("database unavailable: %s message(s) spooled to disk", len(messages))
    return len(messages)


def pending(gw: Gateway) -> int:
    """Messages waiting in the spool, claimed ones included."""
    directory = spool_dir(gw)
    if not directory.exists():
        return 0
    return len(list(directory.glob(f"*{SUFFIX}"))) + len(
        list(directory.glob(f".*{CLAIMED_SUFFIX}"))
    )


def release_stale_claims(gw: Gateway, older_than: float = STALE_CLAIM_SECONDS) -> int:
    """Put back files claimed by a loader that died before storing them."""
    directory = spool_dir(gw)
    if not directory.exists():
        return 0
    released = 0
    now = time.time()
    for claimed in directory.glob(f".*{CLAIMED_SUFFIX}"):
        try:
            if now - claimed.stat().st_mtime < older_than:
                continue
            name = claimed.name.removeprefix(".").split(".", 1)[0]
            os.rename(claimed, directory / f"{name}{SUFFIX}")
        except FileNotFoundError:
            continue  # another loader released or stored it meanwhile
        released += 1
        log.warning("a spooled message claimed by a stopped loader is queued again")
    return released


def load(gw: Gateway) -> int:
    """Move spooled messages into the database; returns how many were loaded."""
    directory = spool_dir(gw)
    if not directory.exists():
        return 0
    release_stale_claims(gw)
    loaded = 0
    for path in sorted(directory.glob(f"*{SUFFIX}")):
        claimed = path.with_name(
            f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}{CLAIMED_SUFFIX}"
        )
        try:
            os.rename(path, claimed)  # atomic: one loader per file
        except FileNotFoundError:
            continue
        os.utime(claimed)  # the claim's age, for release_stale_claims
        try:
            message = _decode(json.loads(gw.cipher.decrypt(claimed.read_bytes())))
        except (InvalidToken, ValueError, KeyError, TypeError):
            # Not readable with the current keys: set aside for a person, never deleted.
            os.rename(claimed, path.with_suffix(BAD_SUFFIX))
            log.error("a spooled message cannot be read; kept as %s", path.stem + BAD_SUFFIX)
            continue
        try:
            results = store_and_announce(gw, [message])
        except Exception:  # noqa: BLE001 - the database is still down: keep the file
            os.rename(claimed, path)
            log.warning("spooled message not loaded yet; will retry")
            break
        if results:
            claimed.unlink()
            loaded += 1
    if loaded:
        log.info("%s spooled message(s) loaded into the database", loaded)
    return loaded


class SpoolLoader(threading.Thread):
    """In each web process: load the spool every few seconds while it has files."""

    def __init__(self, gw: Gateway, interval: float = 5.0) -> None:
        super().__init__(name="spool-loader", daemon=True)
        self.gw, self.interval = gw, interval
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            try:
                if pending(self.gw):
                    load(self.gw)
            except Exception:  # noqa: BLE001
                log.warning("spool loader pass failed", exc_info=True)
