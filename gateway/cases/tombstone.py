"""Purging a case's content and leaving its tombstone.

After the retention period (gateway/work/retention.py) or when an
administrator erases a case (gateway/cases/erasure.py), what the reporter
said and everything written about it goes; the `Case` row stays as the
tombstone: number, dates, status, channel, language, the structured fields
(category, urgency, allegation fields) and the outcome.

What goes, in the caller's transaction:

- the report's content (statement, place, time, answers): an empty object;
- its attachments (rows deleted) and the downloads' originals and URLs;
  a download still pending is given up, so no file arrives later;
- the text of the case's events (messages both ways, notes, reasons of
  status changes); a triage's fixed values and an assignment stay;
- referral notes; the case's messages to the reporter (text and address;
  one not yet sent is given up);
- the reply address and the case's sender pseudonym; the conversations
  that took the report and the raw messages linked to the case (emptied).

The pseudonym as a trace of the sender ("deleted when no open case needs
it"): when the sender has no other open case and no open conversation, the
raw messages of that pseudonym are emptied and unlinked from it, its closed
conversations are deleted, and its preference row is deleted, unless it
records a STOP: a STOP is kept, since forgetting it would let the gateway
text a person who asked it not to. While another open case of the sender
exists, only what belongs to the purged case goes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session

from gateway.core.models import (
    Attachment,
    Case,
    CaseEvent,
    Conversation,
    InboundEvent,
    MediaDownload,
    OutboundMessage,
    Referral,
    Report,
    SenderPreference,
)
from gateway.core.privacy import Cipher
from gateway.core.states import CaseEventKind, CaseStatus, ConversationState, WorkState

# Event kinds whose body is fixed values written by the gateway, not anyone's words.
KEPT_BODIES = (CaseEventKind.TRIAGED.value, CaseEventKind.ASSIGNED.value)
GIVEN_UP = "the case's content was purged"


def purge_case_content(session: Session, cipher: Cipher, case: Case, now: datetime) -> None:
    """Remove the case's content (see the module's docstring); the row stays as the tombstone.

    Idempotent: a case purged already is purged again to the same result.
    """
    empty, blank = cipher.encrypt_json({}), cipher.encrypt(b"")
    report = session.scalars(select(Report).where(Report.case_id == case.id)).first()
    session.execute(
        update(MediaDownload)
        .where(MediaDownload.case_id == case.id)
        .values(data_enc=None, url_enc=blank, attachment_id=None)
    )
    session.execute(
        update(MediaDownload)
        .where(MediaDownload.case_id == case.id, MediaDownload.state == WorkState.PENDING.value)
        .values(state=WorkState.DEAD.value, last_error=GIVEN_UP, locked_until=None)
    )
    if report is not None:
        report.content_enc = empty
        session.execute(delete(Attachment).where(Attachment.report_id == report.id))
    session.execute(
        update(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind.not_in(KEPT_BODIES))
        .values(body_enc=None)
    )
    session.execute(update(Referral).where(Referral.case_id == case.id).values(note_enc=None))
    session.execute(
        update(OutboundMessage)
        .where(OutboundMessage.case_id == case.id)
        .values(body_enc=blank, address_enc=blank)
    )
    session.execute(
        update(OutboundMessage)
        .where(
            OutboundMessage.case_id == case.id,
            OutboundMessage.state == WorkState.PENDING.value,
        )
        .values(state=WorkState.DEAD.value, last_error=GIVEN_UP, locked_until=None)
    )
    session.execute(
        delete(Conversation).where(
            Conversation.case_id == case.id,
            Conversation.state != ConversationState.OPEN.value,
        )
    )
    session.execute(
        update(InboundEvent)
        .where(InboundEvent.case_id == case.id, InboundEvent.state != WorkState.PENDING.value)
        .values(payload_enc=empty)
    )
    pseudonym = case.sender_pseudonym
    case.sender_pseudonym = None
    case.reply_address_enc = None
    case.purged_at = case.purged_at or now
    case.content_purged_at = case.content_purged_at or now
    session.flush()
    if pseudonym and not still_needed(session, pseudonym):
        forget_pseudonym(session, pseudonym, empty)


def still_needed(session: Session, pseudonym: str) -> bool:
    """Whether an open case or an open conversation of this sender still needs the pseudonym."""
    open_case = exists().where(
        Case.sender_pseudonym == pseudonym,
        Case.status != CaseStatus.CLOSED.value,
        Case.content_purged_at.is_(None),
    )
    open_conversation = exists().where(
        Conversation.sender_pseudonym == pseudonym,
        Conversation.state == ConversationState.OPEN.value,
    )
    return bool(session.scalar(select(open_case | open_conversation)))


def forget_pseudonym(session: Session, pseudonym: str, empty: bytes) -> None:
    """The sender's traces kept by pseudonym, except a STOP (see the module's docstring).

    Raw messages keep their row (a late redelivery must still be recognised
    as a duplicate) with an empty payload and no pseudonym; one still being
    processed is left alone.
    """
    session.execute(
        update(InboundEvent)
        .where(
            InboundEvent.sender_pseudonym == pseudonym,
            InboundEvent.state != WorkState.PENDING.value,
        )
        .values(payload_enc=empty, sender_pseudonym="")
    )
    session.execute(
        delete(Conversation).where(
            Conversation.sender_pseudonym == pseudonym,
            Conversation.state != ConversationState.OPEN.value,
        )
    )
    session.execute(
        delete(SenderPreference).where(
            SenderPreference.sender_pseudonym == pseudonym,
            SenderPreference.stopped_at.is_(None),
        )
    )
