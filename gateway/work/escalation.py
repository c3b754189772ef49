"""Escalation: an urgent case nobody opened within ESCALATION_HOURS alerts by e-mail, once.

Run by the sweeper. An open case is urgent when someone is in danger now, a
child is affected or the victims' age group is "minor"; it is escalated when
no console user has opened it (`first_opened_at`) ESCALATION_HOURS after it
was received. Each case is escalated in one transaction: `escalated_at` set
by a conditional UPDATE (so two sweepers can never both escalate it), an
"escalated" case event, an outbox row of kind "escalation" for the `email`
target and the audit entry. The alert then goes out like any forwarding:
retried while the mail server is away, sent once (gateway/forwarders/email.py).
It says the case number, the urgency flags, how long it waited and the
console link, never what the report says.

Without SMTP_URL, ALERT_EMAIL_FROM and ALERT_EMAIL_TO the case is escalated
all the same (the queue marks it) and one line without case details says
that no alert could be sent. Cases received more than LOOKBACK before they
became due are left alone: after an upgrade, cases older than that were
never marked opened, and the sweeper's look stays within a bounded range of
the escalation index.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.cases import audit, waiting
from gateway.cases.filing import add_event
from gateway.core.config import ConfigError
from gateway.core.models import Case, OutboxEntry
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import CaseEventKind
from gateway.forwarders.email import EmailForwarder
from gateway.work.forwarding import ESCALATION, enqueue_outbox

log = logging.getLogger(__name__)
TARGET = "email"
LOOKBACK = timedelta(days=7)
BATCH = 100


def alerts_configured(gw: Gateway) -> bool:
    """Whether an e-mail alert can be sent (the `email` target's settings are complete)."""
    try:
        EmailForwarder.from_settings(gw.settings)
    except ConfigError:
        return False
    return True


def _due(session: Session, gw: Gateway) -> list[int]:
    due = utcnow() - timedelta(hours=gw.settings.escalation_hours)
    return list(
        session.scalars(
            select(Case.id)
            .where(
                Case.first_opened_at.is_(None),
                Case.escalated_at.is_(None),
                Case.received_at < due,
                Case.received_at >= due - LOOKBACK,
                Case.erased_at.is_(None),
                waiting.OPEN,
                waiting.URGENT,
            )
            .order_by(Case.received_at)
            .limit(BATCH)
        )
    )


def _escalate_one(gw: Gateway, case_id: int, alert: bool) -> tuple[bool, int | None]:
    """Escalate one case unless opened or escalated meanwhile: (escalated, alert's outbox id)."""
    with gw.sessions() as session, session.begin():
        now = utcnow()
        claimed = session.execute(
            update(Case)
            .where(Case.id == case_id, Case.escalated_at.is_(None), Case.first_opened_at.is_(None))
            .values(escalated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        if not claimed:
            return False, None  # opened meanwhile, or another sweeper was first
        case = session.get(Case, case_id)
        assert case is not None
        event = add_event(session, gw, case, CaseEventKind.ESCALATED, "system")
        entry = None
        if alert:
            entry = OutboxEntry(case_id=case.id, target=TARGET, kind=ESCALATION, event_id=event.id)
            session.add(entry)
            session.flush()
        hours = int((now - case.received_at).total_seconds() // 3600)
        detail: dict[str, object] = {"hours": hours, "alert": TARGET if alert else "none"}
        audit.record(session, "system", "case.escalate", case.case_number, detail)
        return True, entry.id if entry is not None else None


def escalate(gw: Gateway) -> int:
    """Escalate the urgent cases nobody opened in time; how many were escalated."""
    with gw.sessions() as session:
        ids = _due(session, gw)
    if not ids:
        return 0
    alert = alerts_configured(gw)
    escalated = 0
    for case_id in ids:
        done, outbox_id = _escalate_one(gw, case_id, alert)
        escalated += done
        if outbox_id is not None:
            with contextlib.suppress(Exception):  # stored: the next sweep enqueues it
                enqueue_outbox(gw, outbox_id)
    if escalated and not alert:
        log.warning(
            "%s urgent case(s) not opened in time; no e-mail alert sent"
            " (SMTP_URL, ALERT_EMAIL_FROM, ALERT_EMAIL_TO missing or invalid)",
            escalated,
        )
    return escalated
