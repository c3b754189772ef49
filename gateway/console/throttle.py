"""Limits on failed sign-ins that no stranger can turn into a colleague's lockout.

Two limits, both on the client (the address the app sees, after ProxyFix
when GATEWAY_TRUSTED_PROXIES is set), both kept only as keyed hashes (the
gateway's Pseudonymizer) in Redis counters that expire:

- per client, across user names: past MAX_FAILURES failures within
  WINDOW_SECONDS of the first one, the sign-in form answers 429 without
  checking any password, so a guesser walking through names gets no answer
  and costs no Argon2 work until the window ends;
- per (user name as typed, client): after FREE_FAILURES failures, each
  further failure makes this name wait on this client before its next
  check, 2, 4, 8 ... seconds up to MAX_WAIT_SECONDS. Attempts during the
  wait are answered 429 unchecked and do not lengthen it. Known and unknown
  names are treated alike, and a wait holds only on the client that failed:
  the same user signs in from anywhere else at once.

Neither limit is on the account itself, so failures from one place never
lock its owner out elsewhere (auth.py holds an account only after wrong
codes given with its right password). Behind Tor (GATEWAY_WEB_BEHIND_TOR=1)
every visitor arrives from the local tor daemon, and the console answers
404 there anyway; there are no client limits then. With Redis away the
same: sign-in stays open (the reasoning is in docs/threat-model.md,
finding 13).
"""

from __future__ import annotations

import contextlib
import math

from flask import request

from gateway.core.runtime import Gateway

KEY_PREFIX = "complaint-gateway:console-signin-client:"
MAX_FAILURES = 20
WINDOW_SECONDS = 15 * 60
PAIR_PREFIX = "complaint-gateway:console-signin-wait:"
FREE_FAILURES = 3
MAX_WAIT_SECONDS = 15 * 60
PAIR_MEMORY_SECONDS = 24 * 3600  # a name's failures on a client are forgotten a day after the last


def _unlimited(gw: Gateway) -> bool:
    """No per-client limits: behind Tor every client has one address, or there is none."""
    return gw.settings.get("GATEWAY_WEB_BEHIND_TOR") == "1" or not request.remote_addr


def _key(gw: Gateway) -> str | None:
    if _unlimited(gw):
        return None
    return KEY_PREFIX + gw.pseudonyms.digest("console-signin-client", request.remote_addr)


def _pair_key(gw: Gateway, username: str) -> str | None:
    if _unlimited(gw):
        return None
    pair = f"{request.remote_addr}\n{username}"
    return PAIR_PREFIX + gw.pseudonyms.digest("console-signin-pair", pair)


def wait_for(failures: int) -> int:
    """Seconds a name waits on a client after its `failures`-th failure there."""
    if failures <= FREE_FAILURES:
        return 0
    return min(2 ** (failures - FREE_FAILURES), MAX_WAIT_SECONDS)


def pair_wait_seconds(gw: Gateway, username: str, now: float) -> int:
    """Seconds before `username` may be tried again from this client; 0 when now."""
    key = _pair_key(gw, username)
    if key is None:
        return 0
    try:
        until = gw.redis.hget(key, "until")
    except Exception:  # noqa: BLE001 - Redis away: the client may try
        return 0
    return max(math.ceil(round(float(until) - now, 3)), 0) if until else 0


def count_pair_failure(gw: Gateway, username: str, now: float) -> None:
    """Count a failure of `username` from this client and start its wait."""
    key = _pair_key(gw, username)
    if key is None:
        return
    try:
        failures = int(gw.redis.hincrby(key, "failures", 1))
        pipe = gw.redis.pipeline()
        pipe.hset(key, "until", f"{now + wait_for(failures):.3f}")
        pipe.expire(key, PAIR_MEMORY_SECONDS)
        pipe.execute()
    except Exception:  # noqa: BLE001,S110 - Redis away: no wait, the other limits hold
        pass


def clear_pair(gw: Gateway, username: str) -> None:
    """Forget a name's failures on this client once it signed in."""
    key = _pair_key(gw, username)
    if key is not None:
        with contextlib.suppress(Exception):
            gw.redis.delete(key)


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
    except Exception:  # noqa: BLE001 - Redis away: no client limit (docs/threat-model.md, 13)
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
    except Exception:  # noqa: BLE001 - Redis away: no client limit (docs/threat-model.md, 13)
        return False
    return failures == MAX_FAILURES
