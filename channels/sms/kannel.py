"""Kannel, the open-source SMS gateway: sending through smsbox's sendsms.

What smsbox posts (get-url, post-url, dlr-url) is read in `webhooks/kannel.py`.

- sendsms and dlr-url (%d): Kannel User's Guide, https://www.kannel.org/userguide.shtml
- The working configuration: docs/providers/kannel.md
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import httpx

from gateway.core import tls
from gateway.core.config import Settings
from gateway.core.providers import Provider
from gateway.work.outbound import PermanentSendError

from .common import HTTP_TIMEOUT, can_receive_sms, measured, parse_reply_address

log = logging.getLogger(__name__)

PROVIDER = "kannel"
UCS2 = "2"  # Kannel's %c for a UCS-2 message

DLR_MASK = 1 | 2 | 8 | 16  # delivered, not delivered, accepted, rejected (webhooks/kannel.py)
RETRIED_HTTP = frozenset({401, 403, 408, 429})


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
    response = httpx.get(url, params=params, timeout=HTTP_TIMEOUT, verify=tls.context())
    if response.status_code in (200, 202):
        return None
    if response.status_code >= 500 or response.status_code in RETRIED_HTTP:
        response.raise_for_status()
    raise PermanentSendError(f"kannel refused the message: HTTP {response.status_code}")


DESCRIPTOR = Provider(
    name=PROVIDER,
    label="Kannel",
    routes=("/sms/kannel", "/sms/kannel/dlr"),  # webhooks/kannel.py
    sender=send,
    required_settings=(
        "KANNEL_SENDSMS_URL",
        "KANNEL_USERNAME",
        "KANNEL_PASSWORD",
        "KANNEL_CALLBACK_KEY",
        "PUBLIC_BASE_URL",
    ),
    secret_settings=("KANNEL_PASSWORD", "KANNEL_CALLBACK_KEY"),
)
