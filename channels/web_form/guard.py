"""The form's protections, all without cookies.

- CSRF: a signed, time-limited token in a hidden field (one salt per form),
  and cross-site POSTs refused when the browser says so (`Sec-Fetch-Site`)
  or sends an `Origin` of another host. `Origin: null` is not a mismatch:
  browsers send it for same-origin posts from a page whose referrer policy
  is `no-referrer`, which is ours.
- The verified case between the status page and the reply: a signed token
  that lives 15 minutes, in a hidden field.
- Rate limits per client under keyed hashes with a TTL: Redis never sees
  an address (behind Tor there is none: see `client_address`). When Redis
  is away the form stays open: a report matters more than a flood.
- One submission, one case: the token's nonce keys the receipt for a few
  minutes, so a double tap or a resent form on a bad link shows the same
  case number and PIN instead of filing the report twice.
- Headers: no caching anywhere, and a Content-Security-Policy that allows
  only the one inline style.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Response, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from gateway.cases.filing import Receipt
from gateway.core.runtime import Gateway

from .pages import CSS_HASH

FORM_TOKEN_MAX_AGE = 4 * 3600  # a frightened person may write slowly
CASE_TOKEN_MAX_AGE = 15 * 60
RECEIPT_TOKEN_MAX_AGE = 15 * 60
RECEIPT_KEEP_SECONDS = 10 * 60
KEY_PREFIX = "complaint-gateway:web:"
log = logging.getLogger(__name__)

CSP = "; ".join(
    [
        "default-src 'none'",
        f"style-src 'sha256-{CSS_HASH}'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)


class TokenExpired(Exception):
    """The token was ours but is too old."""


class TokenInvalid(Exception):
    """The token is missing or was not made by this gateway."""


def _serializer(gw: Gateway, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(gw.settings.secret_key, salt=f"web-form:{salt}")


def make_token(gw: Gateway, salt: str, **values: object) -> str:
    """A signed token for one form (salt) carrying `values` and a fresh nonce."""
    return _serializer(gw, salt).dumps({"n": secrets.token_urlsafe(12), **values})


def read_token(gw: Gateway, salt: str, token: str | None, max_age: int) -> dict[str, object]:
    """The values of a token made by `make_token` with the same salt.

    Raises:
        TokenExpired: ours, but older than `max_age` seconds.
        TokenInvalid: missing, forged, or made for another form.
    """
    if not token:
        raise TokenInvalid
    try:
        values = _serializer(gw, salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise TokenExpired from None
    except BadSignature:
        raise TokenInvalid from None
    if not isinstance(values, dict):
        raise TokenInvalid
    return values


def _allowed_hosts(gw: Gateway) -> set[str]:
    hosts = {request.host.lower()}
    if gw.settings.public_base_url:
        hosts.add(urlsplit(gw.settings.public_base_url).netloc.lower())
    return hosts


def cross_site(gw: Gateway) -> bool:
    """True when the browser tells us this POST comes from another site."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("Origin", "").strip()
    if not origin or origin == "null":
        return False
    try:
        host = urlsplit(origin).netloc.lower()
    except ValueError:  # not a URL at all (`http://[`): no browser sends that for our page
        return True
    return host not in _allowed_hosts(gw)


def client_address(gw: Gateway) -> str | None:
    """The client as the app sees it (after ProxyFix), used only through a keyed hash.

    None behind Tor (GATEWAY_WEB_BEHIND_TOR=1): every onion visitor arrives
    from the local tor daemon, so an address would make one bucket that a
    single visitor could fill to lock everyone out of status look-ups.
    """
    if gw.settings.get("GATEWAY_WEB_BEHIND_TOR") == "1":
        return None
    return request.remote_addr or None


@dataclass(frozen=True)
class Limit:
    purpose: str
    attempts: int
    window_seconds: int


def over_limit(gw: Gateway, limit: Limit, client: str | None) -> bool:
    """Count one attempt; True when the client went past the limit in the window.

    Without a client address (behind Tor) all visitors share one bucket, so
    GATEWAY_WEB_REPORTS_PER_HOUR should be set higher on that process.
    """
    who = client or "shared"
    key = KEY_PREFIX + limit.purpose + ":" + gw.pseudonyms.digest(limit.purpose, who)
    try:
        pipe = gw.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, limit.window_seconds, nx=True)
        count = int(pipe.execute()[0])
    except Exception:  # noqa: BLE001 - Redis away: keep the form open
        return False
    return count > limit.attempts


def _submission_key(gw: Gateway, nonce: str) -> str:
    return KEY_PREFIX + "submission:" + gw.pseudonyms.digest("web-submission", nonce)


def claim_submission(gw: Gateway, nonce: str, wait_seconds: float = 8.0) -> Receipt | bool:
    """The receipt of this form's earlier submission, or True when this one may file.

    A concurrent submission of the same form is waited for; if it does not
    finish in time (its process died), this one files: a duplicate case is
    better than a lost report.
    """
    key = _submission_key(gw, nonce)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            if gw.redis.set(key, b"filing", nx=True, ex=RECEIPT_KEEP_SECONDS):
                return True
            stored = gw.redis.get(key)
            if stored and stored != b"filing":
                values = json.loads(gw.cipher.decrypt(stored))
                return Receipt(int(values["id"]), str(values["number"]), str(values["pin"]))
            if time.monotonic() > deadline:
                return True
            time.sleep(0.25)
    except Exception:  # noqa: BLE001 - Redis away: file it
        return True


def remember_submission(gw: Gateway, nonce: str, receipt: Receipt | None) -> None:
    """Keep the receipt (encrypted) for a resent form; None releases the claim."""
    key = _submission_key(gw, nonce)
    try:
        if receipt is None:
            gw.redis.delete(key)
            return
        value = {"id": receipt.case_id, "number": receipt.case_number, "pin": receipt.pin}
        gw.redis.set(key, gw.cipher.encrypt(json.dumps(value).encode()), ex=RECEIPT_KEEP_SECONDS)
    except Exception as exc:  # noqa: BLE001 - the case is filed; only the dedupe is lost
        log.warning("web submission not remembered: %s", type(exc).__name__)


def secure_headers(response: Response) -> Response:
    """No caching, no cookies, nothing but our own style."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.pop("Set-Cookie", None)
    return response
