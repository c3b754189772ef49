"""The reporter's side, for every channel: check a case, read it, answer.

Channels call these functions and never open a database session themselves.
Each call is one transaction. Filing a report and writing to a reporter
start jobs too, so they live in the work layer (`gateway.work.reporter`);
`can_push` here says whether a message may go out through their channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.cases import lookup
from gateway.cases.filing import add_event, display_number, reporter_view
from gateway.cases.in_person import SMS_CHANNEL
from gateway.cases.lookup import Answer
from gateway.cases.reports import IN_PERSON
from gateway.core.models import Case, InboundEvent, SenderPreference
from gateway.core.providers import installed
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import CaseEventKind, CaseStatus

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


def _view(gw: Gateway, case: Case) -> StatusView:
    return StatusView(
        answer=Answer.FOUND,
        case_id=case.id,
        case_number=display_number(case, gw.settings.case_number_prefix),
        status=case.status,
        messages=tuple(Message(at, d, text) for at, d, text in reporter_view(gw, case)),
        can_reply=case.status != CaseStatus.CLOSED.value,
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
        if case is None or case.status == CaseStatus.CLOSED.value:
            return False
        add_event(session, gw, case, CaseEventKind.MESSAGE_FROM_REPORTER, "reporter", body=text)
    return True


def can_push(session: Session, case: Case, now: datetime | None = None) -> bool:
    """Whether a message to this reporter also goes out through their channel now.

    Only when they agreed to follow-up on a text channel, the address is still
    kept (open case, within retention), they did not send STOP, and the
    channel's session window is still open (WhatsApp lets a business write
    freely only within 24 hours of the person's last message; later only
    pre-approved templates go out, and they could not carry a focal point's
    words: the provider declares it). Otherwise a message waits for their
    next status check.
    """
    pref = session.get(SenderPreference, case.sender_pseudonym) if case.sender_pseudonym else None
    channel = reply_channel(case)
    allowed = bool(
        case.follow_up
        and case.reply_address_enc is not None
        and channel in installed().conversation_channels()
        and case.provider is not None
        and (pref is None or pref.stopped_at is None)
    )
    window = installed().session_window(str(case.provider), channel)
    if not allowed or window is None:
        return allowed
    last = last_message_from(session, case)
    return last is not None and (now or utcnow()) - last < window


def reply_channel(case: Case) -> str:
    """The channel a message to this case's reporter goes out on.

    A report a person received (`in_person`) can be answered only by SMS,
    to the number the complainant chose to give (gateway.cases.in_person).
    """
    return SMS_CHANNEL if case.channel == IN_PERSON else case.channel


def last_message_from(session: Session, case: Case) -> datetime | None:
    """When the reporter of `case` last wrote on the case's channel."""
    return session.scalar(
        select(func.max(InboundEvent.received_at)).where(
            InboundEvent.sender_pseudonym == case.sender_pseudonym,
            InboundEvent.channel == case.channel,
        )
    )
