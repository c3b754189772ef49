"""Messages to reporters: sent by the worker through the provider they came from.

Each channel's provider declares its sender (`gateway.core.providers`); the
job calls it with the decrypted address and text, retries a provider that
is away, and gives up on one that refuses for good. The gateway knows no
provider's API: that stays in `channels/`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from gateway.core.config import Settings
from gateway.core.models import OutboundMessage
from gateway.core.providers import installed
from gateway.core.runtime import Gateway, current
from gateway.core.schema import utcnow
from gateway.core.states import WorkState
from gateway.work import claims, cleanup

log = logging.getLogger(__name__)


class PermanentSendError(Exception):
    """The provider refused the message for good (bad number, blocked): do not retry."""


def send(settings: Settings, provider: str, address: str, text: str, message_id: int) -> str | None:
    """Send through `provider`'s declared sender; its id for the message."""
    sender = installed().sender(provider)
    if sender is None:
        raise PermanentSendError(f"no sender registered for provider {provider!r}")
    return sender(settings, address, text, message_id)


def enqueue_outbound(gw: Gateway, message_id: int, at: datetime | None = None) -> None:
    claims.enqueue(gw, "outbound", send_outbound, "outbound", message_id, at=at)


def send_outbound(message_id: int) -> str:
    """Send one message to a reporter through the provider it came from."""
    gw = current()
    with gw.sessions() as session, session.begin():
        if not claims.claim(
            session, OutboundMessage, message_id, gw.settings.job_lease_seconds, due=True
        ):
            return "skipped"
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        provider, attempt = message.provider, message.attempts
        address = gw.cipher.decrypt(message.address_enc).decode()
        body = gw.cipher.decrypt(message.body_enc).decode()
    error, provider_id, permanent, cleanup_id = None, None, False, None
    try:
        provider_id = send(gw.settings, provider, address, body, message_id)
    except PermanentSendError as exc:
        error, permanent = str(exc)[:500], True
    except Exception as exc:  # noqa: BLE001 - provider down: retry later
        error = type(exc).__name__
    next_at = None
    with gw.sessions() as session, session.begin():
        message = session.get(OutboundMessage, message_id)
        assert message is not None
        message.locked_until = None
        message.last_error = error
        if error is None:
            message.state = WorkState.DONE.value
            message.sent_at = utcnow()
            message.provider_message_id = provider_id
            # Sent: the text (it may hold a PIN) and the address are no longer needed.
            message.body_enc = gw.cipher.encrypt(b"")
            message.address_enc = gw.cipher.encrypt(b"")
            # The provider's copy goes once it reports delivery, or after the fallback.
            cleanup_id = cleanup.schedule(
                session, provider, provider_id, delay=cleanup.FALLBACK_DELAY
            )
        else:
            delay = (
                None if permanent else claims.retry_delay(gw.settings.forward_retry_delays, attempt)
            )
            if delay is None:
                message.state = WorkState.DEAD.value
            else:
                next_at = utcnow() + timedelta(seconds=delay)
                message.next_attempt_at = next_at
    if next_at is not None:
        enqueue_outbound(gw, message_id, at=next_at)
    if cleanup_id is not None:
        cleanup.enqueue(gw, cleanup_id, at=utcnow() + cleanup.FALLBACK_DELAY)
    log.info(
        "outbound %s attempt %s: %s", message_id, attempt, "sent" if error is None else "failed"
    )
    return "sent" if error is None else "failed"
