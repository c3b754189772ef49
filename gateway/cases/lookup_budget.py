"""The failure budget of status look-ups per channel, and its Prometheus figures.

The per-case delays of gateway.cases.lookup bound the guesses on one case number;
they do not bound guesses spread over many numbers, and case numbers are
sequential. This module bounds the total: the failed look-ups of the last
hour are counted per channel (a Redis sorted set of times, nothing else),
and once a channel has GATEWAY_STATUS_FAILURE_BUDGET of them it slows down:
one look-up is checked every 3600/budget seconds and every other one gets
the "too many tries" answer unchecked, until the hour holds fewer failures.
A warning without personal data is logged once an hour while a channel is
over its budget, and `/metrics` shows the counters (see docs/deployment.md,
"Health and metrics", for the alert rule; docs/threat-model.md for the
arithmetic behind the default).

Channels have a budget each, so guessing on the web (cheap, and anonymous
behind Tor) does not slow down the SMS or voice reporter. When Redis is
away there is no budget: the per-case delays in the database still hold.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import secrets
import string
import time
from collections.abc import Iterator
from enum import StrEnum
from typing import TYPE_CHECKING

from gateway.core.runtime import Gateway

if TYPE_CHECKING:
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

WINDOW_SECONDS = 3600
KEY = "complaint-gateway:lookup:"
RECENT = KEY + "recent-failures:"  # per channel: sorted set of failure times
SLOT = KEY + "slowdown-slot:"  # per channel: taken by the one look-up checked now
WARNED = KEY + "over-budget-logged:"  # per channel: the hourly warning was logged
COUNTS = KEY + "counts"  # hash: "failures:<channel>", "refused:<channel>:<reason>"
log = logging.getLogger(__name__)


class Refusal(StrEnum):
    """Why a look-up was answered "too many tries" without being checked."""

    CASE = "case"  # the case number's delay on this channel
    CLIENT = "client"  # this client's attempts across case numbers
    BUDGET = "budget"  # the channel is over its failure budget


def _label(channel: str) -> str:
    """Channel names come from the code; anything else is one label, not a new series."""
    return channel if re.fullmatch(r"[a-z_]{1,16}", channel) else "other"


def slowdown_interval(budget: int) -> float:
    """Seconds between two checked look-ups of a channel over its budget."""
    return WINDOW_SECONDS / budget


def recent_failures(gw: Gateway, channel: str) -> int:
    """Failed look-ups of the last hour on `channel`."""
    key = RECENT + _label(channel)
    pipe = gw.redis.pipeline()
    pipe.zremrangebyscore(key, "-inf", time.time() - WINDOW_SECONDS)
    pipe.zcard(key)
    return int(pipe.execute()[1])


def admit(gw: Gateway, channel: str) -> bool:
    """Whether this look-up may be checked now; False only for a channel over its budget."""
    budget = gw.settings.status_failure_budget
    try:
        if recent_failures(gw, channel) < budget:
            return True
        interval_ms = math.ceil(slowdown_interval(budget) * 1000)
        return bool(gw.redis.set(SLOT + _label(channel), b"1", nx=True, px=interval_ms))
    except Exception:  # noqa: BLE001 - Redis away: the per-case delays still hold
        return True


def _member() -> str:
    """A unique member for the sorted set: letters only, so it never looks like a PIN."""
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(16))


def record_failure(gw: Gateway, channel: str) -> None:
    """Count one failed look-up (wrong PIN or unknown number) against the channel's budget."""
    label, budget, now = _label(channel), gw.settings.status_failure_budget, time.time()
    try:
        pipe = gw.redis.pipeline()
        pipe.zadd(RECENT + label, {_member(): now})
        pipe.zremrangebyscore(RECENT + label, "-inf", now - WINDOW_SECONDS)
        pipe.zcard(RECENT + label)
        pipe.expire(RECENT + label, WINDOW_SECONDS)
        pipe.hincrby(COUNTS, f"failures:{label}", 1)
        failures = int(pipe.execute()[2])
        if failures >= budget and gw.redis.set(WARNED + label, b"1", nx=True, ex=WINDOW_SECONDS):
            log.warning(
                "status look-ups on %s: %d failures in the last hour, over the budget of %d;"
                " checking one look-up every %.0f s until it falls below",
                label,
                failures,
                budget,
                slowdown_interval(budget),
            )
    except Exception:  # noqa: BLE001,S110 - a counter must never fail a look-up
        pass


def record_refusal(gw: Gateway, channel: str, reason: Refusal) -> None:
    """Count one look-up answered "too many tries" without a check."""
    with contextlib.suppress(Exception):  # a counter must never fail a look-up
        gw.redis.hincrby(COUNTS, f"refused:{_label(channel)}:{reason.value}", 1)


def families(gw: Gateway) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
    """The look-up figures for /metrics: per channel, never a case number."""
    from prometheus_client.core import (  # noqa: PLC0415 - /metrics only, never in the worker
        CounterMetricFamily,
        GaugeMetricFamily,
    )

    failures = CounterMetricFamily(
        "gateway_status_lookup_failures",
        "Status look-ups that failed (wrong PIN or unknown case number)",
        labels=["channel"],
    )
    refused = CounterMetricFamily(
        "gateway_status_lookups_refused",
        "Status look-ups answered 'too many tries' without being checked",
        labels=["channel", "reason"],
    )
    slowed = GaugeMetricFamily(
        "gateway_status_lookup_slowdown",
        "1 while the channel is over its failure budget and checks one look-up at a time",
        labels=["channel"],
    )
    channels = set()
    for field, value in gw.redis.hgetall(COUNTS).items():
        kind, _, rest = field.decode().partition(":")
        if kind == "failures":
            failures.add_metric([rest], int(value))
            channels.add(rest)
        elif kind == "refused":
            channel, _, reason = rest.partition(":")
            refused.add_metric([channel, reason], int(value))
            channels.add(channel)
    budget = gw.settings.status_failure_budget
    for channel in sorted(channels):
        slowed.add_metric([channel], 1 if recent_failures(gw, channel) >= budget else 0)
    yield failures
    yield refused
    yield slowed
