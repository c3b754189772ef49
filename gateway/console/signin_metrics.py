"""Console sign-in figures for /metrics, kept in Redis so every web process adds to one.

No label holds a user name or an address: the figures say how much guessing
goes on, never at whom. They also show that every checked sign-in costs the
same (one password check and one code check each, whatever the outcome), and
they feed the alert on failed sign-ins in docs/deployment.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum

from prometheus_client.core import CounterMetricFamily

from gateway.core.runtime import Gateway

COUNTS = "complaint-gateway:console-signin:counts"


class Refusal(StrEnum):
    """Why a sign-in was answered 429 without being checked."""

    CLIENT = "client"  # this client failed too often, across user names
    WAIT = "wait"  # this user name from this client must wait after its failures


def _add(gw: Gateway, **fields: int) -> None:
    try:
        pipe = gw.redis.pipeline(transaction=False)
        for name, amount in fields.items():
            pipe.hincrby(COUNTS, name, amount)
        pipe.execute()
    except Exception:  # noqa: BLE001,S110 - a counter must never fail a sign-in
        pass


def checked(gw: Gateway, failed: bool, held: bool = False) -> None:
    """One sign-in checked: a password verified, a code checked, and its outcome."""
    _add(gw, password_checks=1, code_checks=1, failures=int(failed), holds=int(held))


def refused(gw: Gateway, reason: Refusal) -> None:
    """One sign-in answered 429 unchecked."""
    _add(gw, **{f"refused_{reason.value}": 1})


def families(gw: Gateway) -> Iterator[CounterMetricFamily]:
    raw = {k.decode(): int(v) for k, v in gw.redis.hgetall(COUNTS).items()}
    checks = CounterMetricFamily(
        "gateway_console_signin_checks",
        "Password (Argon2) and code (TOTP) checks made by console sign-in",
        labels=["factor"],
    )
    checks.add_metric(["password"], raw.get("password_checks", 0))
    checks.add_metric(["code"], raw.get("code_checks", 0))
    yield checks
    yield CounterMetricFamily(
        "gateway_console_signin_failures",
        "Console sign-ins checked and refused (unknown user, wrong password or code, held)",
        value=raw.get("failures", 0),
    )
    refusals = CounterMetricFamily(
        "gateway_console_signin_refused",
        "Console sign-ins answered 429 without a check",
        labels=["reason"],
    )
    for reason in Refusal:
        refusals.add_metric([reason.value], raw.get(f"refused_{reason.value}", 0))
    yield refusals
    yield CounterMetricFamily(
        "gateway_console_signin_holds",
        "Accounts held after wrong codes given with the right password",
        value=raw.get("holds", 0),
    )
