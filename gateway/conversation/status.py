"""The answer to STATUS <case number> <PIN>, by text message.

The look-up (and its throttle against guessing) is gateway.cases.lookup;
this says what was found: the status's translated name and, when the focal
point wrote to the reporter, their latest message. A wrong pair and an
unknown case get the same answer.
"""

from __future__ import annotations

from sqlalchemy import select

from gateway.cases import lookup
from gateway.cases.filing import display_number
from gateway.conversation.follow_up import Turn
from gateway.conversation.texts import (
    STATUS_FOUND,
    STATUS_FOUND_MESSAGE,
    STATUS_LOCKED,
    STATUS_NAMES,
    STATUS_USAGE,
    STATUS_WRONG,
)
from gateway.core import i18n
from gateway.core.models import Case, CaseEvent
from gateway.core.states import CaseEventKind


def answer(turn: Turn, rest: str, locale: str) -> None:
    """Answer STATUS <case number> <PIN>: the status, and the focal point's last message."""
    digits = [part for part in rest.replace(",", " ").split() if part]
    if len(digits) < 2:
        turn.say(locale, STATUS_USAGE)
        return
    number, pin = " ".join(digits[:-1]), digits[-1]
    result = lookup.check(
        turn.session,
        turn.gw,
        number,
        pin,
        client=turn.event.sender_pseudonym,
        channel=turn.event.channel,
    )
    if result.answer is lookup.Answer.LOCKED:
        turn.say(locale, STATUS_LOCKED)
        return
    if result.case is None:
        turn.say(locale, STATUS_WRONG)
        return
    case = result.case
    status = i18n.gettext(locale, STATUS_NAMES.get(case.status, case.status))
    number_text = display_number(case, turn.gw.settings.case_number_prefix)
    latest = _latest_message_to_reporter(turn, case)
    if latest:
        turn.say(locale, STATUS_FOUND_MESSAGE, case=number_text, status=status, message=latest)
    else:
        turn.say(locale, STATUS_FOUND, case=number_text, status=status)


def _latest_message_to_reporter(turn: Turn, case: Case) -> str | None:
    event = turn.session.scalars(
        select(CaseEvent)
        .where(
            CaseEvent.case_id == case.id,
            CaseEvent.kind == CaseEventKind.MESSAGE_TO_REPORTER.value,
        )
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()
    if event is None or event.body_enc is None:
        return None
    return turn.gw.cipher.decrypt(event.body_enc).decode()
