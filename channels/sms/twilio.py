"""Twilio Programmable Messaging: SMS and WhatsApp out, and what Twilio keeps deleted.

What Twilio posts to the gateway is read in `webhooks/twilio.py`.

- Sending, deleting, redacting: https://www.twilio.com/docs/messaging/api/message-resource

Free-form replies on WhatsApp are allowed only within 24 hours of the
reporter's last message; outside that window Twilio refuses them with
error 63016, which the sender treats as permanent (docs/providers/twilio.md).
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx

from channels.twilio_account import account, api_origin
from gateway.core import tls
from gateway.core.config import Settings
from gateway.core.providers import Provider
from gateway.work.outbound import PermanentSendError

from .common import HTTP_TIMEOUT, measured, parse_reply_address

log = logging.getLogger(__name__)

PROVIDER = "twilio"

# Twilio error codes (https://www.twilio.com/docs/api/errors).
OUTSIDE_WHATSAPP_WINDOW = 63016
NOT_YET_DELETABLE = 20009
RETRIED_HTTP = frozenset({401, 403, 408, 429})  # credentials being fixed, throttling


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


DESCRIPTOR = Provider(
    name=PROVIDER,
    label="Twilio Messaging",
    routes=("/sms/twilio", "/sms/twilio/status"),  # webhooks/twilio.py
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
