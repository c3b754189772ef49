"""The JSON a case-tracking target receives (docs/case.schema.json)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from itsdangerous import URLSafeTimedSerializer

from gateway.cases import allegation
from gateway.cases.numbering import CaseNumber
from gateway.core.models import Case, CaseEvent
from gateway.core.runtime import Gateway

SCHEMA_VERSION = "1.0"
ATTACHMENT_LINK_DAYS = 7


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def attachment_signer(gw: Gateway) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(gw.settings.secret_key, salt="attachment-link")


def attachment_link(gw: Gateway, attachment_id: int, now: datetime) -> tuple[str, str]:
    """A signed link that expires, and when it does."""
    token = attachment_signer(gw).dumps(attachment_id)
    base = gw.settings.public_base_url or "http://localhost:8080"
    expires = now + timedelta(days=ATTACHMENT_LINK_DAYS)
    return f"{base}/attachments/{token}", _iso(expires)


def case_payload(gw: Gateway, case: Case, now: datetime) -> dict[str, Any]:
    content = gw.cipher.decrypt_json(case.report.content_enc)
    attachments = []
    for item in case.report.attachments:
        url, expires = attachment_link(gw, item.id, now)
        attachments.append(
            {
                "id": item.id,
                "content_type": item.content_type,
                "size": item.size,
                "sha256": item.sha256,
                "url": url,
                "expires_at": expires,
            }
        )
    payload = {
        "schema_version": SCHEMA_VERSION,
        "case_number": CaseNumber(case.year, case.sequence).display(),
        "received_at": _iso(case.received_at),
        "channel": case.channel,
        "language": case.language,
        "category": case.category,
        "urgency": {"danger_now": case.danger_now, "child_involved": case.child_involved},
        "affected": case.affected,
        "narrative": content.get("narrative") or "",
        "location": content.get("location"),
        "incident_time": content.get("incident_time"),
        "attachments": attachments,
        "reporter_contact": "via-gateway" if case.follow_up else "none",
        # added: the structured fields as the case holds them when sent (null: not asked)
        "allegation": allegation.of_case(case),
    }
    if case.received_via:  # a report a person received: how it reached them, never who
        payload["received_via"] = case.received_via
    return payload


def erased_payload(case: Case, event: CaseEvent) -> dict[str, Any]:
    """An administrator erased the case (gateway/cases/erasure.py): the tracker may do likewise."""
    return {
        "event": "case_erased",
        "case_number": CaseNumber(case.year, case.sequence).display(),
        "erased_at": _iso(event.created_at),
    }


def status_payload(case: Case, event: CaseEvent) -> dict[str, Any]:
    return {
        "event": "status_changed",
        "case_number": CaseNumber(case.year, case.sequence).display(),
        "status": event.status,
        "changed_at": _iso(event.created_at),
    }


def escalation_payload(case: Case, event: CaseEvent) -> dict[str, Any]:
    """The e-mail alert for an urgent case nobody opened (gateway/work/escalation.py).

    Number, urgency and how long it waited: never what the report says.
    """
    waited = event.created_at - case.received_at
    return {
        "event": "escalation",
        "case_number": CaseNumber(case.year, case.sequence).display(),
        "urgency": {
            "danger_now": case.danger_now,
            "child_involved": case.child_involved or case.victim_age_group == "minor",
        },
        "waited_hours": max(0, int(waited.total_seconds() // 3600)),
    }
