"""Cases filed for a test as the gateway files them, without a channel in between."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from gateway.cases.filing import Receipt
from gateway.cases.reports import NewReport
from gateway.core.models import Case
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.work.reporter import submit_report


def by_sms(gw: Gateway, narrative: str, language: str, address: str) -> tuple[Receipt, str]:
    """A case filed by SMS with a reply address and a pseudonym, as a conversation files it."""
    pseudonym = gw.pseudonyms.pseudonym("sms", address)
    report = NewReport(narrative=narrative, language=language, follow_up=True)
    receipt = submit_report(
        gw,
        report,
        channel="sms",
        provider="twilio",
        sender_pseudonym=pseudonym,
        reply_address=address,
    )
    return receipt, pseudonym


def received_hours_ago(
    gw: Gateway, hours_ago: float = 0, narrative: str = "x", **report: object
) -> tuple[int, str]:
    """A report filed by the web form, received `hours_ago`; (case id, number)."""
    receipt = submit_report(
        gw, NewReport(narrative=narrative, language="en", **report), channel="web"
    )
    with gw.sessions() as session, session.begin():
        session.execute(
            update(Case)
            .where(Case.id == receipt.case_id)
            .values(received_at=utcnow() - timedelta(hours=hours_ago))
        )
    return receipt.case_id, receipt.case_number
