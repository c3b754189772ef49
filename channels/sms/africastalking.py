"""Africa's Talking SMS: sending (incoming messages and reports: `webhooks/africastalking.py`).

- Sending: https://developers.africastalking.com/docs/sms/sending/bulk
  (`POST /version1/messaging`, `apiKey` header, JSON answer)

Its API offers no way to delete a message: what it keeps is listed in
docs/providers/africastalking.md.
"""

from __future__ import annotations

import logging

import httpx

from gateway.core import tls
from gateway.core.config import Settings
from gateway.core.providers import Provider
from gateway.work.outbound import PermanentSendError

from .common import HTTP_TIMEOUT, can_receive_sms, measured, parse_reply_address

log = logging.getLogger(__name__)

PROVIDER = "africastalking"
DEFAULT_API_BASE_URL = "https://api.africastalking.com"

# Per-recipient `statusCode` of the send API's answer.
ACCEPTED_CODES = frozenset({100, 101, 102})  # Processed, Sent, Queued
RETRIED_CODES = frozenset({401, 405, 500, 501, 502})  # RiskHold, InsufficientBalance, errors
RETRIED_HTTP = frozenset({401, 403, 408, 429})


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


DESCRIPTOR = Provider(
    name=PROVIDER,
    label="Africa's Talking SMS",
    routes=("/sms/africastalking", "/sms/africastalking/delivery"),  # webhooks/
    sender=send,
    required_settings=(
        "AFRICASTALKING_USERNAME",
        "AFRICASTALKING_API_KEY",
        "AFRICASTALKING_CALLBACK_KEY",
    ),
    secret_settings=("AFRICASTALKING_API_KEY", "AFRICASTALKING_CALLBACK_KEY"),
    optional_settings=("AFRICASTALKING_API_BASE_URL",),
)
