"""The Twilio account the gateway calls: its REST API root and its credentials.

One place for SMS/WhatsApp (`channels/sms/twilio.py`) and the hotline
(`channels/hotline_ivr/`), so both send the account's credentials to the
same origin only: TWILIO_API_BASE_URL (tests point it at a local server),
by default Twilio's own.
"""

from __future__ import annotations

from gateway.core.config import Settings
from gateway.core.provider_fetch import ProviderOrigin

DEFAULT_API_BASE_URL = "https://api.twilio.com"


def api_base(settings: Settings) -> str:
    """The REST API root, without a trailing slash."""
    return (settings.get("TWILIO_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/")


def account(settings: Settings) -> tuple[str, tuple[str, str]]:
    """(the account's API URL, (SID, auth token)).

    Raises:
        RuntimeError: TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN is not set.
    """
    sid, token = settings.get("TWILIO_ACCOUNT_SID"), settings.get("TWILIO_AUTH_TOKEN")
    if not sid or not token:
        raise RuntimeError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set")
    return f"{api_base(settings)}/2010-04-01/Accounts/{sid}", (sid, token)


def api_origin(settings: Settings) -> ProviderOrigin:
    """Where media and recordings may be fetched with the account's credentials."""
    _, auth = account(settings)
    return ProviderOrigin(api_base(settings), auth)
