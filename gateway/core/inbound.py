"""The one message type every channel adapter produces.

Adapters parse a provider's wire format into `InboundMessage` and hand it to
`intake.submit`; nothing after intake imports from `channels/`. The sender's
address lives only in memory here: intake stores its pseudonym, and the
address itself only encrypted (for replies).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class MediaRef:
    """Where the worker can fetch a photo, voice note or recording later."""

    url: str
    content_type: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class InboundMessage:
    channel: str  # sms, whatsapp, telegram, voice, web
    provider: str  # twilio, africastalking, kannel, telegram, …
    provider_message_id: str
    sender: str  # address as the provider gave it; never stored in clear
    text: str = ""
    media: tuple[MediaRef, ...] = ()
    language_hint: str | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    recipient: str | None = None  # our number or short code, when the provider says
    # How to answer, as the channel's sender understands it (e.g. our number and theirs);
    # stored only encrypted. None: answer `sender`.
    reply_to: str | None = None
    extra: tuple[tuple[str, str], ...] = ()  # provider details a handler needs (no PII)

    def payload(self) -> dict[str, object]:
        """What is stored encrypted with the event row."""
        return {
            "sender": self.sender,
            "text": self.text,
            "media": [
                {"url": m.url, "content_type": m.content_type, "size": m.size} for m in self.media
            ],
            "recipient": self.recipient,
            "reply_to": self.reply_to or self.sender,
            "extra": dict(self.extra),
        }
