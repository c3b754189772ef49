"""A cap on failed sign-ins per client, whatever user names it tries.

The lockout in auth.py stops guessing one user's password; this stops one
client from walking through many user names. The client is the address the
app sees (after ProxyFix when GATEWAY_TRUSTED_PROXIES is set), kept only as
a keyed hash (the gateway's Pseudonymizer) in a Redis counter that expires
WINDOW_SECONDS after the first failure. Past MAX_FAILURES the sign-in form
answers 429 without checking any password, so a guesser gets no answer and
costs no Argon2 work until the window ends.

Behind Tor (GATEWAY_WEB_BEHIND_TOR=1) every visitor arrives from the local
tor daemon: one shared counter would let a stranger lock every focal point
out, so there is none and the per-user lockout alone holds. With Redis away
the same: sign-in stays open, the lockout in the database still counts.
"""

from __future__ import annotations

from flask import request

from ..runtime import Gateway

KEY_PREFIX = "complaint-gateway:console-signin-client:"
MAX_FAILURES = 20
WINDOW_SECONDS = 15 * 60


def _key(gw: Gateway) -> str | None:
    if gw.settings.get("GATEWAY_WEB_BEHIND_TOR") == "1" or not request.remote_addr:
        return None
    return KEY_PREFIX + gw.pseudonyms.digest("console-signin-client", request.remote_addr)


def wait_seconds(gw: Gateway) -> int:
    """Seconds before this client may try to sign in again; 0 when it may now."""
    key = _key(gw)
    if key is None:
        return 0
    try:
        pipe = gw.redis.pipeline()
        pipe.get(key)
        pipe.ttl(key)
        failures, ttl = pipe.execute()
    except Exception:  # noqa: BLE001 - Redis away: the per-user lockout still holds
        return 0
    if failures is None or int(failures) < MAX_FAILURES:
        return 0
    return max(int(ttl), 1)


def count_failure(gw: Gateway) -> bool:
    """Count one failed sign-in of this client; True when it is the one that hit the limit."""
    key = _key(gw)
    if key is None:
        return False
    try:
        pipe = gw.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_SECONDS, nx=True)
        failures = int(pipe.execute()[0])
    except Exception:  # noqa: BLE001 - Redis away: the per-user lockout still holds
        return False
    return failures == MAX_FAILURES
