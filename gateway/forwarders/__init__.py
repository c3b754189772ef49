"""Forwarding targets: where every new case goes (FORWARDERS, default `webhook`).

Each target is one module with a class implementing `Forwarder.deliver`
(gateway/forwarders/base.py); this module maps the names of FORWARDERS to them.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from gateway.cases import allegation
from gateway.cases.numbering import CaseNumber
from gateway.core.config import ConfigError, Settings
from gateway.forwarders.base import Delivery, Forwarder, Outcome, Result, classify_http
from gateway.forwarders.email import EmailForwarder
from gateway.forwarders.primero import PrimeroForwarder
from gateway.forwarders.webhook import WebhookForwarder

__all__ = ["Delivery", "Forwarder", "Outcome", "Result", "build", "classify_http", "validate"]

TARGETS = {
    "webhook": WebhookForwarder,
    "primero": PrimeroForwarder,
    "email": EmailForwarder,
}


def build(name: str, settings: Settings) -> Forwarder:
    """The forwarder for a FORWARDERS name, or ConfigError naming what is missing."""
    target = TARGETS.get(name)
    if target is None:
        known = ", ".join(TARGETS)
        raise ConfigError(f"FORWARDERS names an unknown target {name!r} (known: {known})")
    return target.from_settings(settings)


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
        "allegation": dict.fromkeys(allegation.FIELDS),
    }
    return Delivery("case", payload, f"{number}:test:{int(time.time())}", str(uuid.uuid4()))
