"""Africa's Talking SMS webhooks: incoming messages and delivery reports.

Form-encoded POSTs to the callback URLs set in the dashboard:
https://developers.africastalking.com/docs/sms/notifications

Africa's Talking does not sign its callbacks: the callback URL carries a
shared secret (`?key=AFRICASTALKING_CALLBACK_KEY`), compared in constant
time.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from flask import Request

from channels.sms.africastalking import PROVIDER
from channels.sms.common import parse_time, reply_address
from gateway.core.inbound import InboundMessage
from gateway.core.runtime import Gateway
from gateway.intake.webhook_errors import Forbidden, Ignored, Malformed, secret_matches
from gateway.intake.webhooks import WebhookAdapter
from gateway.work.delivery import DeliveryStatus, record_status

log = logging.getLogger(__name__)

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


ROUTES = (
    ("/sms/africastalking", ("POST",), AfricasTalkingMessages()),
    ("/sms/africastalking/delivery", ("POST",), AfricasTalkingDelivery()),
)
