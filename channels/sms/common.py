"""What the SMS providers' modules share: reply addresses, segment counts, odd input.

Nothing here knows a provider's wire format; each provider module keeps
its own knowledge (field names, status words, error codes) as data.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from gateway.conversation.segments import Segments, measure

log = logging.getLogger(__name__)

HTTP_TIMEOUT = 20.0  # seconds; a provider slower than this is retried by the worker
_PHONE_LIKE = re.compile(r"\+?\d{3,15}")


def reply_address(to: str, sender: str | None, **extra: str | None) -> str:
    """The opaque reply address kept (encrypted) with an inbound message.

    `to` is the reporter's address as the provider gave it, `sender` the
    number or short code the reporter wrote to, so the answer comes from
    the same place.
    """
    parts = {"to": to, "from": sender or None, **extra}
    return json.dumps({k: v for k, v in parts.items() if v}, separators=(",", ":"))


def parse_reply_address(address: str) -> dict[str, str]:
    """Undo `reply_address`; a bare address (no JSON) is taken as `to`."""
    try:
        value = json.loads(address)
    except ValueError:
        return {"to": address}
    if isinstance(value, dict) and isinstance(value.get("to"), str):
        return {str(k): str(v) for k, v in value.items() if v is not None}
    return {"to": address}


def can_receive_sms(address: str) -> bool:
    """A number or short code; operators' names (`MTN`) cannot be answered."""
    return bool(_PHONE_LIKE.fullmatch(re.sub(r"[\s\-().]", "", address)))


def measured(provider: str, text: str, message_id: int) -> Segments:
    """Count the segments of an outgoing text and log the count, never the text."""
    segments = measure(text)
    log.info(
        "%s outbound %s: %s segment(s), %s",
        provider,
        message_id,
        segments.count,
        segments.encoding,
    )
    return segments


def parse_time(value: str | None, formats: tuple[str, ...] = ()) -> datetime | None:
    """A provider's timestamp in UTC, or None when it is missing or unreadable.

    Accepts ISO 8601 (with `Z`, an offset, or none: taken as UTC), the given
    strptime formats, and epoch seconds. Callers let the gateway's own
    receive time stand in for None: an odd date never loses a report.
    """
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d{9,11}(\.\d+)?", value):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except (OverflowError, OSError, ValueError):
            return None
    parsed = None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        for fmt in formats:
            try:
                parsed = datetime.strptime(value, fmt)  # noqa: DTZ007 - zone set below
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
