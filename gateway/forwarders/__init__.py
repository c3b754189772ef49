"""Forwarding targets: where every new case goes (FORWARDERS, default `webhook`).

Each target is one module with a class implementing `Forwarder.deliver`.
The outbox, retries, attempts log and dead-letter are shared (see jobs.py):
a target only says what became of one attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from gateway.core.config import ConfigError, Settings


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


def build(name: str, settings: Settings) -> Forwarder:
    """The forwarder for a FORWARDERS name, or ConfigError naming what is missing."""
    if name == "webhook":
        from gateway.forwarders.webhook import WebhookForwarder

        return WebhookForwarder.from_settings(settings)
    if name == "primero":
        from gateway.forwarders.primero import PrimeroForwarder

        return PrimeroForwarder.from_settings(settings)
    if name == "email":
        from gateway.forwarders.email import EmailForwarder

        return EmailForwarder.from_settings(settings)
    raise ConfigError(
        f"FORWARDERS names an unknown target {name!r} (known: webhook, primero, email)"
    )


def validate(settings: Settings) -> list[str]:
    """One line per configuration problem of the configured targets."""
    problems = []
    for name in settings.forwarders:
        try:
            build(name, settings)
        except ConfigError as exc:
            problems.append(str(exc))
    return problems


TEST_NARRATIVE = "TEST: a connectivity check from the complaint gateway, not a real report."


def test_delivery() -> Delivery:
    """A clearly marked test case, valid against docs/case.schema.json."""
    import time
    import uuid

    from gateway.cases.numbering import CaseNumber

    number = CaseNumber(2000, 0).display()  # year 2000, sequence 0: never a real case
    payload: dict[str, Any] = {
        "schema_version": "1.0",
        "case_number": number,
        "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "channel": "web",
        "language": "en",
        "category": None,
        "urgency": {"danger_now": False, "child_involved": False},
        "affected": None,
        "narrative": TEST_NARRATIVE,
        "location": None,
        "incident_time": None,
        "attachments": [],
        "reporter_contact": "none",
    }
    return Delivery("case", payload, f"{number}:test:{int(time.time())}", str(uuid.uuid4()))
