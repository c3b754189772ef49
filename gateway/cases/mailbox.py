"""The reporter's side, for every channel: file a report, check it, answer.

Channels call these functions and never open a database session or touch a
queue themselves. Each call is one transaction; jobs are enqueued after it
commits.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.cases import lookup
from gateway.cases.filing import (
    Receipt,
    add_event,
    display_number,
    enqueue_forwarding,
    file_report,
    reporter_view,
)
from gateway.cases.lookup import Answer
from gateway.cases.reports import NewReport
from gateway.core.models import Case, CaseEventKind, InboundEvent, utcnow
from gateway.core.runtime import Gateway

MAX_MESSAGE_LENGTH = 2000


@dataclass(frozen=True)
class Message:
    at: datetime
    direction: str  # "in": from the focal point to the reporter; "out": from the reporter
    text: str


@dataclass(frozen=True)
class StatusView:
    """What a reporter who gave the right number and PIN may see."""

    answer: Answer
    case_id: int | None = None
    case_number: str | None = None
    status: str | None = None
    messages: tuple[Message, ...] = ()
    can_reply: bool = False


def submit_report(
    gw: Gateway,
    report: NewReport,
    *,
    channel: str,
    provider: str | None = None,
    sender_pseudonym: str | None = None,
    reply_address: str | None = None,
    media: list[tuple[str, str, str | None]] | None = None,
) -> Receipt:
    """File a complete report now (web form, hotline) and start forwarding it.

    `media` lists files still at a provider (the hotline's recording), as
    for `cases.file_report`: the worker fetches them before forwarding.
    """
    with gw.sessions() as session, session.begin():
        receipt = file_report(
            session,
            gw,
            report,
            channel=channel,
            provider=provider,
            sender_pseudonym=sender_pseudonym,
            reply_address=reply_address,
            media=media,
        )
    # Redis away: the case is stored, and the sweeper will enqueue its forwarding.
    with contextlib.suppress(Exception):
        enqueue_forwarding(gw, receipt.case_id)
    return receipt


def _view(gw: Gateway, case: Case) -> StatusView:
    return StatusView(
        answer=Answer.FOUND,
        case_id=case.id,
        case_number=display_number(case, gw.settings.case_number_prefix),
        status=case.status,
        messages=tuple(Message(at, d, text) for at, d, text in reporter_view(gw, case)),
        can_reply=case.status != "closed",
    )


def check_status(
    gw: Gateway, typed_number: str, pin: str, client: str | None, channel: str = "web"
) -> StatusView:
    """Number + PIN → the case's status and messages, or WRONG / LOCKED.

    `channel` is where the reporter asks from (`web`, `voice`): each has its
    own waits after wrong PINs (see gateway.cases.lookup).
    """
    with gw.sessions() as session, session.begin():
        result = lookup.check(session, gw, typed_number, pin, client, channel=channel)
        if result.case is None:
            return StatusView(answer=result.answer)
        return _view(gw, result.case)


def view_case(gw: Gateway, case_id: int) -> StatusView | None:
    """The status view again, for a reporter already verified in this visit."""
    with gw.sessions() as session:
        case = session.get(Case, case_id)
        return _view(gw, case) if case is not None else None


def reply(gw: Gateway, case_id: int, text: str) -> bool:
    """Store the reporter's answer as a case event; False when the case is closed."""
    text = text.strip()[:MAX_MESSAGE_LENGTH]
    if not text:
        return False
    with gw.sessions() as session, session.begin():
        case = session.get(Case, case_id, with_for_update=True)
        if case is None or case.status == "closed":
            return False
        add_event(session, gw, case, CaseEventKind.MESSAGE_FROM_REPORTER, "reporter", body=text)
    return True


def message_reporter(gw: Gateway, case_id: int, text: str, actor: str) -> bool:
    """A focal point's (or the case tracker's) message to the reporter.

    It is always shown at the reporter's next status check. When the reporter
    agreed to follow-up on a text channel and did not send STOP, it also goes
    out through that channel to the address kept (encrypted) for this purpose.
    """
    from gateway.work.dispatch import queue_message
    from gateway.work.jobs import enqueue_outbound

    message_id = None
    with gw.sessions() as session, session.begin():
        case = session.get(Case, case_id)
        if case is None:
            return False
        event = add_event(session, gw, case, CaseEventKind.MESSAGE_TO_REPORTER, actor, body=text)
        if can_push(session, case):
            message_id = queue_message(
                session,
                gw,
                channel=case.channel,
                provider=str(case.provider),
                address=gw.cipher.decrypt(case.reply_address_enc).decode(),
                text=text,
                dedupe_key=f"case-message:{event.id}",
                case_id=case.id,
            )
    if message_id is not None:
        with contextlib.suppress(Exception):  # stored; the sweeper will enqueue it
            enqueue_outbound(gw, message_id)
    return True


# WhatsApp lets a business write freely only within 24 hours of the person's
# last message (its "customer service window"); later only pre-approved
# templates go out, and they could not carry a focal point's words.
SESSION_WINDOWS: dict[str, timedelta] = {"whatsapp": timedelta(hours=24)}


def can_push(session: Session, case: Case, now: datetime | None = None) -> bool:
    """Whether a message to this reporter also goes out through their channel now.

    Only when they agreed to follow-up on a text channel, the address is still
    kept (open case, within retention), they did not send STOP, and the
    channel's session window (WhatsApp) is still open. Otherwise a message
    waits for their next status check.
    """
    from gateway.conversation.engine import CHANNELS
    from gateway.core.models import SenderPreference

    pref = session.get(SenderPreference, case.sender_pseudonym) if case.sender_pseudonym else None
    allowed = bool(
        case.follow_up
        and case.reply_address_enc is not None
        and case.channel in CHANNELS
        and case.provider is not None
        and (pref is None or pref.stopped_at is None)
    )
    window = SESSION_WINDOWS.get(case.channel)
    if not allowed or window is None:
        return allowed
    last = last_message_from(session, case)
    return last is not None and (now or utcnow()) - last < window


def last_message_from(session: Session, case: Case) -> datetime | None:
    """When the reporter of `case` last wrote on the case's channel."""
    return session.scalar(
        select(func.max(InboundEvent.received_at)).where(
            InboundEvent.sender_pseudonym == case.sender_pseudonym,
            InboundEvent.channel == case.channel,
        )
    )
