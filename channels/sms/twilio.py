"""Twilio Programmable Messaging: SMS and WhatsApp, in and out.

- Incoming messages: https://www.twilio.com/docs/messaging/guides/webhook-request
- Status callbacks: https://www.twilio.com/docs/messaging/guides/track-outbound-message-status
- Sending, deleting, redacting: https://www.twilio.com/docs/messaging/api/message-resource
- Signatures: https://www.twilio.com/docs/usage/security (channels/twilio_signature.py)

WhatsApp messages arrive on the same webhook with `whatsapp:` addresses.
Free-form replies on WhatsApp are allowed only within 24 hours of the
reporter's last message; outside that window Twilio refuses them with
error 63016, which the sender treats as permanent (docs/providers/twilio.md).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
from flask import Request, Response
from twilio.twiml.messaging_response import MessagingResponse

from channels.twilio_account import account, api_origin
from channels.twilio_signature import signature_valid
from gateway.core import tls
from gateway.core.config import Settings
from gateway.core.inbound import InboundMessage, MediaRef
from gateway.core.privacy import normalise_address
from gateway.core.providers import Provider
from gateway.core.runtime import Gateway
from gateway.intake.submit import Submitted
from gateway.intake.webhooks import Forbidden, Ignored, Malformed, WebhookAdapter
from gateway.work.delivery import DeliveryStatus, record_status
from gateway.work.outbound import PermanentSendError

from .common import HTTP_TIMEOUT, measured, parse_reply_address, reply_address, route_paths

log = logging.getLogger(__name__)

PROVIDER = "twilio"
body_maxlen = 1600  # Twilio's limit for one message body, in characters
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
# Twilio error codes (https://www.twilio.com/docs/api/errors).
OUTSIDE_WHATSAPP_WINDOW = 63016
NOT_YET_DELETABLE = 20009
RETRIED_HTTP = frozenset({401, 403, 408, 429})  # credentials being fixed, throttling
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


# --- the REST API, used by the worker ---------------------------------------


def _error_code(response: httpx.Response) -> int | None:
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def send(settings: Settings, address: str, text: str, message_id: int) -> str:
    """Send one message through the REST API; the provider's MessageSid.

    Raises:
        PermanentSendError: Twilio refused this message for good (a bad
            number, a number that sent STOP to Twilio, WhatsApp's 24-hour
            window closed: 63016).
        httpx.HTTPError, RuntimeError: anything else; the worker retries.
    """
    reply = parse_reply_address(address)
    ours = reply.get("from")
    if not ours:
        raise PermanentSendError("twilio: no number to send from in the reply address")
    account_url, auth = account(settings)
    measured(PROVIDER, text, message_id)
    data = {"To": reply["to"], "From": ours, "Body": text}
    if settings.public_base_url:
        data["StatusCallback"] = f"{settings.public_base_url}/sms/twilio/status"
    response = httpx.post(
        f"{account_url}/Messages.json",
        data=data,
        auth=auth,
        timeout=HTTP_TIMEOUT,
        verify=tls.context(),
    )
    if response.status_code in (200, 201):
        sid = response.json().get("sid")
        if not isinstance(sid, str) or not sid:
            raise RuntimeError("twilio answered without a message sid")
        return sid
    code = _error_code(response)
    if code == OUTSIDE_WHATSAPP_WINDOW:
        raise PermanentSendError("twilio 63016: outside the WhatsApp 24-hour window")
    if response.status_code >= 500 or response.status_code in RETRIED_HTTP:
        response.raise_for_status()
    raise PermanentSendError(f"twilio refused the message: HTTP {response.status_code} code {code}")


def delete_message(settings: Settings, message_sid: str) -> bool:
    """Delete Twilio's copy of a message (body, media, record); False while still in progress.

    A message Twilio has not finished with cannot be deleted (error 20009):
    its body is redacted at once (POST Body="") and the deletion is tried
    again later.
    """
    account_url, auth = account(settings)
    url = f"{account_url}/Messages/{message_sid}.json"
    response = httpx.delete(url, auth=auth, timeout=HTTP_TIMEOUT, verify=tls.context())
    if response.status_code in (200, 204, 404):
        return True
    if _error_code(response) == NOT_YET_DELETABLE or response.status_code == 409:
        try:
            httpx.post(
                url, data={"Body": ""}, auth=auth, timeout=HTTP_TIMEOUT, verify=tls.context()
            )
        except httpx.HTTPError:
            log.info("twilio redaction of a message in progress failed; retried later")
        return False
    response.raise_for_status()
    return False


def fetch_media(settings: Settings, url: str, limit: int) -> bytes:
    """A reporter's photo or voice note (media_fetch's fetcher for provider "twilio").

    Twilio's media URLs need the account's credentials and redirect to a
    short-lived pre-signed URL; `ProviderOrigin` sends the credentials only to
    TWILIO_API_BASE_URL's origin and follows the redirect without them
    (https://www.twilio.com/docs/messaging/api/media-resource).
    """
    return api_origin(settings).fetch(url, limit)


ROUTES = (
    ("/sms/twilio", ("POST",), TwilioMessages()),
    ("/sms/twilio/status", ("POST",), TwilioStatus()),
)

DESCRIPTOR = Provider(
    name=PROVIDER,
    label="Twilio Messaging",
    routes=route_paths(ROUTES),
    sender=send,
    cleaner=delete_message,
    media_fetcher=fetch_media,
    required_settings=("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL"),
    secret_settings=("TWILIO_AUTH_TOKEN",),
    optional_settings=("TWILIO_API_BASE_URL",),
    # Free-form WhatsApp messages only within 24 hours of the reporter's last one
    # (Twilio error 63016 outside it): https://www.twilio.com/docs/whatsapp/key-concepts
    session_windows={"whatsapp": timedelta(hours=24)},
)
