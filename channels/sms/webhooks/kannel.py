"""Kannel's webhooks: smsbox's get-url or post-url for incoming SMS, dlr-url for reports.

- sms-service `get-url` escapes (%p %P %a %t %i %I %c %C), `post-url` and
  its X-Kannel headers ("Kannel POST"), sendsms and dlr-url (%d): Kannel
  User's Guide, https://www.kannel.org/userguide.shtml
- The working configuration: docs/providers/kannel.md

`GET /sms/kannel?from=%p&to=%P&text=%a&ts=%t&smsc=%i&id=%I&key=SECRET`
(optionally `&coding=%c&charset=%C`, needed when smsbox's `mo-recode` is
off: the text then arrives as UCS-2 bytes). `POST /sms/kannel?key=SECRET&id=%I`
is smsbox's post-url (recommended): the text is the body, in the charset
of its Content-Type, the rest in headers (`X-Kannel-From`, sent when the
sms-service has `send-sender = true`, `X-Kannel-To`, `X-Kannel-Time`,
`X-Kannel-SMSC`, `X-Kannel-Coding`); nothing of the reporter is then in
a URL, and no request-line limit applies. Kannel's `%t` arrives as
`YYYY-MM-DD HH:MM:SS` although its guide says `HH:MM`; both and epoch
seconds are read, and a missing or unreadable time never loses a report.
Kannel gives each message a UUID (`%I`); when it gives none the id is
derived from sender, time and a hash of the text (see `derived_id`).
Operators' own messages come from names (`MTN`): taken as the sender id.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import replace
from urllib.parse import parse_qsl

from flask import Request

from channels.sms.common import parse_time, reply_address
from channels.sms.kannel import PROVIDER, UCS2
from gateway.core.inbound import InboundMessage
from gateway.core.runtime import Gateway
from gateway.intake.webhook_errors import (
    Forbidden,
    Ignored,
    Malformed,
    WebhookError,
    secret_matches,
)
from gateway.intake.webhooks import WebhookAdapter
from gateway.work.delivery import DeliveryStatus, record_status

log = logging.getLogger(__name__)

TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
# dlr-url's %d: the kind of report (Kannel's dlr-mask bits).
DLR_TYPES: dict[int, DeliveryStatus] = {
    1: DeliveryStatus.DELIVERED,  # delivered to the phone
    2: DeliveryStatus.FAILED,  # not delivered to the phone
    4: DeliveryStatus.SENT,  # queued on the SMSC
    8: DeliveryStatus.SENT,  # accepted by the SMSC
    16: DeliveryStatus.FAILED,  # rejected by the SMSC
}
# post-url's body: the longest SMS Kannel joins (255 parts) is at most 78,030 bytes of
# UTF-8 (39,015 GSM characters of 2 bytes); more is not an SMS (gateway/web/request_limits.py).
MAX_POST_BODY = 128 * 1024
_DLR_ID = re.compile(r"[0-9]{1,18}")  # an outbound message id (BIGINT)
_DLR_TYPE = re.compile(r"[0-9]{1,4}")


def query_bytes(req: Request) -> dict[str, bytes]:
    """The query's values as the bytes Kannel sent (UCS-2 text is not UTF-8)."""
    pairs = parse_qsl(
        req.query_string.decode("latin-1"), keep_blank_values=True, encoding="latin-1"
    )
    return {name: value.encode("latin-1") for name, value in pairs}


def _decode(raw: bytes, coding: str, charset: str) -> str:
    """A text in the charset Kannel names; odd bytes are replaced, never an error."""
    if coding == UCS2 and charset.lower() not in ("utf-8", "utf8"):
        charset = charset or "UTF-16BE"
    try:
        return raw.decode(charset or "utf-8", errors="replace")
    except (LookupError, ValueError):  # no such codec, or a name with a NUL in it
        return raw.decode("utf-8", errors="replace")


def derived_id(gw: Gateway, sender: str, ts: str, text: str) -> str:
    """A stable message id when Kannel gives no `%I`: keyed hash of sender, time and text.

    Keyed with the pseudonym key so the id (stored in clear for dedupe)
    reveals nothing of the number. Two identical texts from one phone with
    the same `%t` are then taken as one delivery: configure `%I`.
    """
    text_hash = hashlib.sha256(text.encode()).hexdigest()
    return "derived-" + gw.pseudonyms.digest("kannel-id", f"{sender}\x00{ts}\x00{text_hash}")


class TooLarge(WebhookError):
    """A post-url body longer than any SMS Kannel can join."""

    status = 413
    public = "too large"


class KannelWebhook(WebhookAdapter):
    provider = PROVIDER

    def verify(self, req: Request, gw: Gateway) -> None:
        if not secret_matches(req.args.get("key"), gw.settings.get("KANNEL_CALLBACK_KEY")):
            raise Forbidden()


def incoming(
    gw: Gateway,
    sender: str,
    text: str,
    ts: str,
    ours: str,
    smsc: str,
    given_id: str,
    sender_field: str = "from",
) -> InboundMessage:
    """One incoming SMS, the same whether Kannel sent it by get-url or post-url."""
    if not sender:
        raise Malformed(sender_field)
    message = InboundMessage(
        channel="sms",
        provider=PROVIDER,
        provider_message_id=given_id or derived_id(gw, sender, ts, text),
        sender=sender,
        text=text,
        recipient=ours or None,
        reply_to=reply_address(sender, ours or None, smsc=smsc or None),
    )
    received = parse_time(ts, TIME_FORMATS)
    return replace(message, received_at=received) if received else message


class KannelMessages(KannelWebhook):
    """`GET /sms/kannel`: smsbox's get-url for an incoming SMS."""

    endpoint = "sms_kannel"

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        args = query_bytes(req)

        def text_of(name: str) -> str:
            return args.get(name, b"").decode("utf-8", errors="replace").strip()

        if "text" not in args and "status" in args:
            raise Ignored()  # a delivery report sent to the message URL
        text = _decode(args.get("text", b""), text_of("coding"), text_of("charset"))
        return [
            incoming(
                gw,
                sender=text_of("from"),
                text=text,
                ts=text_of("ts"),
                ours=text_of("to"),
                smsc=text_of("smsc"),
                given_id=text_of("id"),
            )
        ]


class KannelPostedMessages(KannelWebhook):
    """`POST /sms/kannel?key=SECRET&id=%I`: smsbox's post-url, the text in the body."""

    endpoint = "sms_kannel_post"

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        if (req.content_length or 0) > MAX_POST_BODY:
            raise TooLarge()
        raw = req.stream.read(MAX_POST_BODY + 1)
        if len(raw) > MAX_POST_BODY:
            raise TooLarge()  # a chunked body without a length
        if "status" in req.args and "X-Kannel-From" not in req.headers:
            raise Ignored()  # a delivery report sent to the message URL

        def header(name: str) -> str:
            # Kannel sends header values as they are; latin-1 is how WSGI hands them over.
            value = req.headers.get(name, "")
            return value.encode("latin-1", errors="replace").decode("utf-8", "replace").strip()

        charset = req.mimetype_params.get("charset", "")
        text = _decode(raw, header("X-Kannel-Coding"), charset)
        return [
            incoming(
                gw,
                sender=header("X-Kannel-From"),
                text=text,
                ts=header("X-Kannel-Time"),
                ours=header("X-Kannel-To"),
                smsc=header("X-Kannel-SMSC"),
                given_id=req.args.get("id", "").strip(),
                sender_field="X-Kannel-From (set send-sender = true)",
            )
        ]


class KannelDelivery(KannelWebhook):
    """`GET /sms/kannel/dlr?id=…&status=%d&smsc=%i&key=SECRET`: a delivery report."""

    endpoint = "sms_kannel_dlr"

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        raw_id, raw_status = req.args.get("id", ""), req.args.get("status", "")
        # ASCII digits of a size our ids and Kannel's report types have ("²" is a digit to
        # str.isdigit but not to int(), and a 5,000-digit number is no id of ours).
        if not _DLR_ID.fullmatch(raw_id):
            raise Malformed("id")
        if not _DLR_TYPE.fullmatch(raw_status):
            raise Malformed("status")
        status = DLR_TYPES.get(int(raw_status))
        if status is None:
            log.info("kannel delivery report of an unknown type ignored")
            return []
        record_status(gw, PROVIDER, None, status, message_id=int(raw_id))
        return []


ROUTES = (
    ("/sms/kannel", ("GET",), KannelMessages()),
    ("/sms/kannel", ("POST",), KannelPostedMessages()),
    ("/sms/kannel/dlr", ("GET",), KannelDelivery()),
)
