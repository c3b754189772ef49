"""Kannel, the open-source SMS gateway: smsbox get-url in, sendsms out, dlr-url reports.

- sms-service `get-url` escapes (%p %P %a %t %i %I %c %C), sendsms and
  dlr-url (%d): Kannel User's Guide, https://www.kannel.org/userguide.shtml
- The working configuration: docs/providers/kannel.md

`GET /sms/kannel?from=%p&to=%P&text=%a&ts=%t&smsc=%i&id=%I&key=SECRET`
(optionally `&coding=%c&charset=%C`, needed when smsbox's `mo-recode` is
off: the text then arrives as UCS-2 bytes). Kannel's `%t` arrives as
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
from urllib.parse import parse_qsl, urlencode

import httpx
from flask import Request

from gateway.config import Settings
from gateway.delivery import DeliveryStatus, record_status
from gateway.inbound import InboundMessage
from gateway.outbound import PermanentSendError, register_sender
from gateway.runtime import Gateway
from gateway.webhooks import Forbidden, Ignored, Malformed, WebhookAdapter, secret_matches

from .common import (
    HTTP_TIMEOUT,
    can_receive_sms,
    measured,
    parse_reply_address,
    parse_time,
    reply_address,
)

log = logging.getLogger(__name__)

PROVIDER = "kannel"
service_name = "Kannel"
REQUIRED_SETTINGS = (
    "KANNEL_SENDSMS_URL",
    "KANNEL_USERNAME",
    "KANNEL_PASSWORD",
    "KANNEL_CALLBACK_KEY",
    "PUBLIC_BASE_URL",
)
SECRET_SETTINGS = ("KANNEL_PASSWORD", "KANNEL_CALLBACK_KEY")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M")
UCS2 = "2"  # Kannel's %c for a UCS-2 message

# dlr-url's %d: the kind of report (Kannel's dlr-mask bits).
DLR_TYPES: dict[int, DeliveryStatus] = {
    1: DeliveryStatus.DELIVERED,  # delivered to the phone
    2: DeliveryStatus.FAILED,  # not delivered to the phone
    4: DeliveryStatus.SENT,  # queued on the SMSC
    8: DeliveryStatus.SENT,  # accepted by the SMSC
    16: DeliveryStatus.FAILED,  # rejected by the SMSC
}
DLR_MASK = 1 | 2 | 8 | 16
RETRIED_HTTP = frozenset({401, 403, 408, 429})
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


class KannelWebhook(WebhookAdapter):
    provider = PROVIDER

    def verify(self, req: Request, gw: Gateway) -> None:
        if not secret_matches(req.args.get("key"), gw.settings.get("KANNEL_CALLBACK_KEY")):
            raise Forbidden()


class KannelMessages(KannelWebhook):
    """`GET /sms/kannel`: smsbox's get-url for an incoming SMS."""

    endpoint = "sms_kannel"

    def parse(self, req: Request, gw: Gateway) -> list[InboundMessage]:
        args = query_bytes(req)

        def text_of(name: str) -> str:
            return args.get(name, b"").decode("utf-8", errors="replace").strip()

        if "text" not in args and "status" in args:
            raise Ignored()  # a delivery report sent to the message URL
        sender = text_of("from")
        if not sender:
            raise Malformed("from")
        text = _decode(args.get("text", b""), text_of("coding"), text_of("charset"))
        ts = text_of("ts")
        ours = text_of("to") or None
        message = InboundMessage(
            channel="sms",
            provider=PROVIDER,
            provider_message_id=text_of("id") or derived_id(gw, sender, ts, text),
            sender=sender,
            text=text,
            recipient=ours,
            reply_to=reply_address(sender, ours, smsc=text_of("smsc") or None),
        )
        received = parse_time(ts, TIME_FORMATS)
        return [replace(message, received_at=received) if received else message]


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


def send(settings: Settings, address: str, text: str, message_id: int) -> str | None:
    """Hand one SMS to smsbox's sendsms; Kannel gives no message id (reports name ours).

    The text goes as UTF-8 with `coding=2` when it needs UCS-2 (Arabic, for
    one), so Kannel does not squeeze it into the GSM alphabet.

    Raises:
        PermanentSendError: Kannel refused the request for good, or the
            sender is a name that cannot be answered.
        httpx.HTTPError, RuntimeError: anything else; the worker retries.
    """
    reply = parse_reply_address(address)
    if not can_receive_sms(reply["to"]):
        raise PermanentSendError("kannel: the sender is a name, not a number")
    url = settings.get("KANNEL_SENDSMS_URL")
    if not url:
        raise RuntimeError("KANNEL_SENDSMS_URL must be set")
    segments = measured(PROVIDER, text, message_id)
    params = {
        "username": settings.get("KANNEL_USERNAME") or "",
        "password": settings.get("KANNEL_PASSWORD") or "",
        "to": reply["to"],
        "text": text,
        "charset": "UTF-8",
        "coding": UCS2 if segments.encoding == "UCS-2" else "0",
    }
    if reply.get("from"):
        params["from"] = reply["from"]
    if reply.get("smsc"):
        params["smsc"] = reply["smsc"]
    if settings.public_base_url and settings.get("KANNEL_CALLBACK_KEY"):
        params["dlr-mask"] = str(DLR_MASK)
        params["dlr-url"] = (
            f"{settings.public_base_url}/sms/kannel/dlr?"
            + urlencode({"id": message_id, "key": settings.get("KANNEL_CALLBACK_KEY")})
            + "&status=%d&smsc=%i"
        )
    response = httpx.get(url, params=params, timeout=HTTP_TIMEOUT)
    if response.status_code in (200, 202):
        return None
    if response.status_code >= 500 or response.status_code in RETRIED_HTTP:
        response.raise_for_status()
    raise PermanentSendError(f"kannel refused the message: HTTP {response.status_code}")


ROUTES = (
    ("/sms/kannel", ("GET",), KannelMessages()),
    ("/sms/kannel/dlr", ("GET",), KannelDelivery()),
)

register_sender(PROVIDER, send)
