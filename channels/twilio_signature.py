"""Twilio's request signature, checked one way for every Twilio webhook (SMS, WhatsApp, voice).

Twilio signs each request with HMAC-SHA1 of the URL it called plus the
sorted POST parameters, keyed with the account's auth token, and sends it
in `X-Twilio-Signature`
(https://www.twilio.com/docs/usage/security#validating-requests).
The URL is rebuilt from PUBLIC_BASE_URL and the request's path and query,
never from the request's own host or `X-Forwarded-*` headers: behind a
proxy those differ from what Twilio called, and anyone can forge them.
The twilio library's `RequestValidator` computes the signature. Its
`validate` always computes it twice, for the URL with and without the
default port (Twilio's own servers vary); here the URL as configured is
tried first and the other form only when that one does not match, so a
genuine request costs one HMAC. Both comparisons are in constant time.
The form is handed to the library as `_FormValues`, which answers its
`getall`: given werkzeug's form itself, the library looks for `getall`,
fails, and falls back to `getlist` for every parameter, an exception each
(a twentieth of a webhook's work, bench/README.md).
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from urllib.parse import urlparse

from flask import Request
from twilio.request_validator import RequestValidator, add_port, remove_port
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.core.config import Settings

SIGNATURE_HEADER = "X-Twilio-Signature"


class _FormValues:
    """A form as `RequestValidator` reads one: its keys, and `getall` for a key's values."""

    __slots__ = ("_form",)

    def __init__(self, form: MultiDict[str, str]) -> None:
        self._form = form

    def __iter__(self) -> Iterator[str]:
        return iter(self._form)

    def __bool__(self) -> bool:
        return bool(self._form)

    def getall(self, key: str) -> list[str]:
        return self._form.getlist(key)


def public_url(req: Request, settings: Settings) -> str | None:
    """The URL Twilio called, as configured: PUBLIC_BASE_URL + path + query."""
    base = settings.public_base_url
    if not base:
        return None
    query = req.query_string.decode("latin-1")
    return f"{base}{req.path}" + (f"?{query}" if query else "")


def signature_valid(req: Request, settings: Settings) -> bool:
    """True when the request carries a valid Twilio signature for our public URL.

    False, never an exception, when the auth token or PUBLIC_BASE_URL is not
    set, the header is missing, or the body is not a form.

    Raises:
        RequestEntityTooLarge: the body is over the limit (413): too big to
            verify, and too big to take in whatever its signature.
    """
    token = settings.get("TWILIO_AUTH_TOKEN")
    url = public_url(req, settings)
    signature = req.headers.get(SIGNATURE_HEADER)
    if not token or not url or not signature:
        return False
    try:
        params = _FormValues(req.form) if req.method == "POST" else {}
    except RequestEntityTooLarge:
        raise
    except Exception:  # noqa: BLE001 - an unparsable body cannot carry a valid signature
        return False
    validator = RequestValidator(token)
    given = signature.encode()
    if hmac.compare_digest(validator.compute_signature(url, params).encode(), given):
        return True
    parsed = urlparse(url)
    other = remove_port(parsed) if parsed.port else add_port(parsed)
    return hmac.compare_digest(validator.compute_signature(other, params).encode(), given)
