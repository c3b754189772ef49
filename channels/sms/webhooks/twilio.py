"""Twilio Programmable Messaging's webhooks: incoming SMS and WhatsApp, status callbacks.

- Incoming messages: https://www.twilio.com/docs/messaging/guides/webhook-request
- Status callbacks: https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
- Signatures: https://www.twilio.com/docs/usage/security (channels/twilio_signature.py)

WhatsApp messages arrive on the same webhook with `whatsapp:` addresses.
"""

from __future__ import annotations

import logging

from flask import Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from channels.sms.common import reply_address
from channels.sms.twilio import PROVIDER
from channels.twilio_signature import signature_valid
from gateway.core.inbound import InboundMessage, MediaRef
from gateway.core.privacy import normalise_address
from gateway.core.runtime import Gateway
from gateway.intake.submit import Submitted
from gateway.intake.webhook_errors import Forbidden, Ignored, Malformed
from gateway.intake.webhooks import WebhookAdapter
from gateway.work.delivery import DeliveryStatus, record_status

log = logging.getLogger(__name__)

MAX_MEDIA = 10  # Twilio sends at most ten media per message
# Statuses an incoming message has; any other on the message endpoint is a status callback.
INBOUND_STATUSES = frozenset({"received", "receiving"})
STATUSES: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}
# Twilio would send any message in the TwiML itself: the answer stays empty, replies go
# out later through the REST API. Built once; the same bytes answer every request.
EMPTY_TWIML = str(MessagingResponse())


class TwilioWebhook(WebhookAdapter):
    """Base of the Twilio endpoints: the signature check and the empty TwiML answer."""

    provider = PROVIDER

    def verify(self, req: Request, gw: Gateway) -> None:
        if not signature_valid(req, gw.settings):
            raise Forbidden()

    def acknowledge(self, submitted: list[Submitted]) -> Response:
        return Response(EMPTY_TWIML, status=200, mimetype="text/xml")


def _sender_identity(sender: str, wa_id: str | None) -> str:
    """What the pseudonym is computed from: the E.164 number when there is one.

    WhatsApp may give a business-scoped user id (`whatsapp:US.1234…`) in
    `From`, with or without the phone in `WaId`; without a phone the id is
    used as given.
    """
    number = normalise_address(sender)
    if number.startswith("+"):
        return number
    if wa_id and wa_id.strip().isdigit():
        number = normalise_address("+" + wa_id.strip())
        if number.startswith("+"):
            return number
    return sender.strip()


def _media(form: dict[str, str] | object) -> tuple[MediaRef, ...]:
    get = form.get  # type: ignore[attr-defined]
    try:
        count = int(get("NumMedia") or 0)
    except ValueError:
        count = MAX_MEDIA
    refs = []
    for index in range(min(max(count, 0), MAX_MEDIA)):
        url = get(f"MediaUrl{index}")
        if url:
            refs.append(MediaRef(url, get(f"MediaContentType{index}") or None))
    return tuple(refs)


class TwilioMessages(TwilioWebhook):
    """`POST /sms/twilio`: an incoming SMS or WhatsApp message."""

    endpoint = "sms_twilio"

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        form = req.form
        status = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
        if status and status not in INBOUND_STATUSES:
            raise Ignored()  # a status callback sent to the message URL
        sid = form.get("MessageSid") or form.get("SmsMessageSid") or form.get("SmsSid")
        sender = (form.get("From") or "").strip()
        if not sid:
            raise Malformed("MessageSid")
        if not sender:
            raise Malformed("From")
        ours = (form.get("To") or "").strip() or None
        channel = "whatsapp" if sender.lower().startswith("whatsapp:") else "sms"
        return [
            InboundMessage(
                channel=channel,
                provider=PROVIDER,
                provider_message_id=sid,
                sender=_sender_identity(sender, form.get("WaId")),
                text=form.get("Body") or "",
                media=_media(form),
                recipient=ours,
                reply_to=reply_address(sender, ours),
            )
        ]


class TwilioStatus(TwilioWebhook):
    """`POST /sms/twilio/status`: the StatusCallback of every message the gateway sends."""

    endpoint = "sms_twilio_status"

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        form = req.form
        sid = form.get("MessageSid") or form.get("SmsSid")
        word = (form.get("MessageStatus") or form.get("SmsStatus") or "").strip().lower()
        if not sid:
            raise Malformed("MessageSid")
        if not word:
            raise Malformed("MessageStatus")
        status = STATUSES.get(word)
        if status is None:
            log.info("twilio status callback with an unknown status ignored")
            return []
        record_status(gw, PROVIDER, sid, status, error=form.get("ErrorCode") or None)
        return []


ROUTES = (
    ("/sms/twilio", ("POST",), TwilioMessages()),
    ("/sms/twilio/status", ("POST",), TwilioStatus()),
)
