"""Africa's Talking SMS: incoming messages, delivery reports, sending.

- Incoming messages and delivery reports (form-encoded POSTs to callback
  URLs set in the dashboard): https://developers.africastalking.com/docs/sms/notifications
- Sending: https://developers.africastalking.com/docs/sms/sending/bulk
  (`POST /version1/messaging`, `apiKey` header, JSON answer)

Africa's Talking does not sign its callbacks: the callback URL carries a
shared secret (`?key=AFRICASTALKING_CALLBACK_KEY`), compared in constant
time. Its API offers no way to delete a message: what it keeps is listed in
docs/providers/africastalking.md.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import httpx
from flask import Request

from gateway.core import tls
from gateway.core.config import Settings
from gateway.core.inbound import InboundMessage
from gateway.core.providers import Provider
from gateway.core.runtime import Gateway
from gateway.intake.webhooks import Forbidden, Ignored, Malformed, WebhookAdapter, secret_matches
from gateway.work.delivery import DeliveryStatus, record_status
from gateway.work.outbound import PermanentSendError

from .common import (
    HTTP_TIMEOUT,
    can_receive_sms,
    measured,
    parse_reply_address,
    parse_time,
    reply_address,
    route_paths,
)

log = logging.getLogger(__name__)

PROVIDER = "africastalking"
DEFAULT_API_BASE_URL = "https://api.africastalking.com"
DATE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%SZ", "%d/%m/%Y %H:%M:%S")

# Delivery report `status` values.
STATUSES: dict[str, DeliveryStatus] = {
    "Sent": DeliveryStatus.SENT,
    "Submitted": DeliveryStatus.SENT,
    "Buffered": DeliveryStatus.SENT,
    "Success": DeliveryStatus.DELIVERED,
    "Rejected": DeliveryStatus.FAILED,
    "Failed": DeliveryStatus.FAILED,
    "Expired": DeliveryStatus.FAILED,
}
# Per-recipient `statusCode` of the send API's answer.
ACCEPTED_CODES = frozenset({100, 101, 102})  # Processed, Sent, Queued
RETRIED_CODES = frozenset({401, 405, 500, 501, 502})  # RiskHold, InsufficientBalance, errors
RETRIED_HTTP = frozenset({401, 403, 408, 429})


class AfricasTalkingWebhook(WebhookAdapter):
    provider = PROVIDER

    def verify(self, req: Request, gw: Gateway) -> None:
        if not secret_matches(req.args.get("key"), gw.settings.get("AFRICASTALKING_CALLBACK_KEY")):
            raise Forbidden()


class AfricasTalkingMessages(AfricasTalkingWebhook):
    """`POST /sms/africastalking?key=SECRET`: an incoming SMS."""

    endpoint = "sms_africastalking"

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        form = req.form
        if "from" not in form and ("status" in form or "phoneNumber" in form):
            raise Ignored()  # a delivery report sent to the message URL
        message_id = (form.get("id") or "").strip()
        sender = (form.get("from") or "").strip()
        if not message_id:
            raise Malformed("id")
        if not sender:
            raise Malformed("from")
        ours = (form.get("to") or "").strip() or None
        received = parse_time(form.get("date"), DATE_FORMATS)
        message = InboundMessage(
            channel="sms",
            provider=PROVIDER,
            provider_message_id=message_id,
            sender=sender,
            text=form.get("text") or "",
            recipient=ours,
            reply_to=reply_address(sender, ours),
        )
        # An unreadable date never loses a report: the gateway's receive time stands in.
        return [replace(message, received_at=received) if received else message]


class AfricasTalkingDelivery(AfricasTalkingWebhook):
    """`POST /sms/africastalking/delivery?key=SECRET`: a delivery report."""

    endpoint = "sms_africastalking_delivery"

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        form = req.form
        message_id = (form.get("id") or "").strip()
        word = (form.get("status") or "").strip()
        if not message_id:
            raise Malformed("id")
        if not word:
            raise Malformed("status")
        status = STATUSES.get(word)
        if status is None:
            log.info("africastalking delivery report with an unknown status ignored")
            return []
        record_status(gw, PROVIDER, message_id, status, error=form.get("failureReason") or None)
        return []


def send(settings: Settings, address: str, text: str, message_id: int) -> str | None:
    """Send one SMS through the messaging API; Africa's Talking's messageId.

    Raises:
        PermanentSendError: refused for good (invalid number, blacklisted,
            do-not-disturb, a sender name that cannot be answered).
        httpx.HTTPError, RuntimeError: anything else; the worker retries.
    """
    reply = parse_reply_address(address)
    if not can_receive_sms(reply["to"]):
        raise PermanentSendError("africastalking: the sender is a name, not a number")
    username, api_key = (
        settings.get("AFRICASTALKING_USERNAME"),
        settings.get("AFRICASTALKING_API_KEY"),
    )
    if not username or not api_key:
        raise RuntimeError("AFRICASTALKING_USERNAME and AFRICASTALKING_API_KEY must be set")
    base = (settings.get("AFRICASTALKING_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/")
    measured(PROVIDER, text, message_id)
    data = {"username": username, "to": reply["to"], "message": text}
    if reply.get("from"):
        data["from"] = reply["from"]
    response = httpx.post(
        f"{base}/version1/messaging",
        data=data,
        headers={"apiKey": api_key, "Accept": "application/json"},
        timeout=HTTP_TIMEOUT,
        verify=tls.context(),
    )
    if response.status_code >= 500 or response.status_code in RETRIED_HTTP:
        response.raise_for_status()
    if response.status_code >= 400:
        raise PermanentSendError(f"africastalking refused the message: HTTP {response.status_code}")
    try:
        recipient = response.json()["SMSMessageData"]["Recipients"][0]
        code = int(recipient.get("statusCode"))
    except (ValueError, KeyError, IndexError, TypeError):
        raise RuntimeError("africastalking answered without a recipient status") from None
    if code in ACCEPTED_CODES:
        return str(recipient.get("messageId") or "") or None
    if code in RETRIED_CODES:
        raise RuntimeError(f"africastalking status {code}; retried")
    raise PermanentSendError(f"africastalking refused the message: status {code}")


ROUTES = (
    ("/sms/africastalking", ("POST",), AfricasTalkingMessages()),
    ("/sms/africastalking/delivery", ("POST",), AfricasTalkingDelivery()),
)

DESCRIPTOR = Provider(
    name=PROVIDER,
    label="Africa's Talking SMS",
    routes=route_paths(ROUTES),
    sender=send,
    required_settings=(
        "AFRICASTALKING_USERNAME",
        "AFRICASTALKING_API_KEY",
        "AFRICASTALKING_CALLBACK_KEY",
    ),
    secret_settings=("AFRICASTALKING_API_KEY", "AFRICASTALKING_CALLBACK_KEY"),
    optional_settings=("AFRICASTALKING_API_BASE_URL",),
)
