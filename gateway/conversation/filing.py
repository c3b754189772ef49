"""A conversation becomes a case: what it holds filed as a report, its receipt written.

Called by the engine when the last question is answered or REPORT starts
another report, and by the silence job (gateway.work.silence) after
INTAKE_TIMEOUT_SECONDS. Filing only writes rows: the caller records the
new case and the receipt in its Effects and sends the receipt.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from gateway.cases import allegation
from gateway.cases.filing import Receipt, file_report
from gateway.cases.reports import Affected, Category, NewReport
from gateway.conversation import follow_up
from gateway.conversation.texts import receipt_text
from gateway.core.models import Conversation
from gateway.core.runtime import Gateway
from gateway.core.states import ConversationState


@dataclass(frozen=True)
class Filed:
    """A filed conversation: its case, the receipt to send, and where to (None: nowhere)."""

    case_id: int
    receipt: str
    address: str | None
    numbers: Receipt  # for a channel that shows them at once (USSD's last screen)


def file_conversation(session: Session, gw: Gateway, conversation: Conversation) -> Filed | None:
    """Turn an open conversation into a case; None when it holds nothing to file."""
    if follow_up.keep(session, gw, conversation) is not None:
        return None  # a follow-up held for "which case?" went to its case
    answers = gw.cipher.decrypt_json(conversation.answers_enc)
    address = (
        gw.cipher.decrypt(conversation.address_enc).decode() if conversation.address_enc else None
    )
    conversation.open_key = None
    conversation.answers_enc = gw.cipher.encrypt_json({})
    conversation.address_enc = None
    statement = str(answers.get("statement") or "").strip()
    if not statement and not answers.get("media"):
        conversation.state = (
            ConversationState.ABANDONED.value
        )  # REPORT and then silence: nothing to file
        return None
    category = answers.get("category")
    affected = answers.get("affected")
    where_when = answers.get("where_when")
    report = NewReport(
        narrative=statement,
        language=conversation.language,
        category=Category(category) if category else None,
        affected=Affected(affected) if affected else None,
        danger_now=answers.get("danger"),
        location=where_when,
        incident_time=where_when,
        follow_up=bool(answers.get("follow_up")),
        allegation={name: answers[name] for name in allegation.FIELDS if name in answers},
    )
    receipt = file_report(
        session,
        gw,
        report,
        channel=conversation.channel,
        provider=conversation.provider,
        received_at=conversation.created_at,
        sender_pseudonym=conversation.sender_pseudonym,
        reply_address=address,
        media=[
            (conversation.provider, str(m["url"]), m.get("content_type"))
            for m in answers.get("media") or []
        ],
    )
    conversation.state = ConversationState.FILED.value
    conversation.case_id = receipt.case_id
    return Filed(receipt.case_id, receipt_text(conversation.language, receipt), address, receipt)
