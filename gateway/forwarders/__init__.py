"""Forwarding targets: where every new case goes (FORWARDERS, default `webhook`).

Each target is one module with a class implementing `Forwarder.deliver`.
The outbox, retries, attempts log and dead-letter are shared (see jobs.py):
a target only says what became of one attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from ..config import ConfigError, Settings


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD = "dead"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    http_status: int | None = None
    error: str | None = None


class Forwarder(Protocol):
    name: str

    def deliver(self, kind: str, payload: dict[str, Any], idempotency_key: str) -> Result:
        """Send one case (kind `case`) or one event; never raise for a remote failure."""
        ...


def classify_http(status: int) -> Outcome:
    """Contract: 2xx or 409 delivered; 408, 429, 5xx retried; other 4xx dead."""
    if 200 <= status < 300 or status == 409:
        return Outcome.DELIVERED
    if status in (408, 429) or status >= 500:
        return Outcome.RETRY
    return Outcome.DEAD


def build(name: str, settings: Settings) -> Forwarder:
    if name == "webhook":
        from .webhook import WebhookForwarder

        return WebhookForwarder.from_settings(settings)
    raise ConfigError(f"FORWARDERS names an unknown target {name!r} (known: webhook)")


def validate(settings: Settings) -> list[str]:
    """One line per configuration problem of the configured targets."""
    problems = []
    for name in settings.forwarders:
        try:
            build(name, settings)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems
