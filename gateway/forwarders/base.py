"""What every forwarding target shares: one delivery in, one outcome out.

A target module (webhook, primero, email) implements `Forwarder.deliver`;
the outbox, retries, attempt log and dead-letter are the worker's
(gateway.work): a target only says what became of one attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    http_status: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One piece of work for a target: a case (`kind` "case") or a status event."""

    kind: str
    payload: dict[str, Any]
    idempotency_key: str
    external_id: str  # a UUID made once per case, for targets that take a client id


class Forwarder(Protocol):
    name: str

    def deliver(self, delivery: Delivery) -> Result:
        """Send one delivery; never raise for a remote failure."""
        ...


def classify_http(status: int) -> Outcome:
    """Contract: 2xx or 409 delivered; 408, 429, 5xx retried; other 4xx dead."""
    if 200 <= status < 300 or status == 409:
        return Outcome.DELIVERED
    if status in (408, 429) or status >= 500:
        return Outcome.RETRY
    return Outcome.DEAD
