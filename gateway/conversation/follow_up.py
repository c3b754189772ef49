"""A reporter's message after filing reaches their case (the text conversation's follow-ups).

A reporter on a basic phone does not know that a report was "filed": they
remember something and write again, or they answer the focal point's
question in their own words. What they write must reach the case, and no
reply may be taken for an answer to a question of the intake menu. Rules,
for every text channel (SMS, WhatsApp, Telegram), by the sender's pseudonym
(keyed HMAC; no address is looked up or kept for this):

- A keyword (REPORT, STATUS, HELP, STOP, LANGUAGE) keeps its meaning: REPORT
  is how a reporter starts a new report on purpose. (No reply names it: the
  word would tell a shared phone's next reader what the thread is about.)
- The focal point's question is answered by the next message, whatever it
  says (a digit, "yes", free text): it goes to the case asked about when
  the question is the last message of that case and less than
  `REPLY_WINDOW` old. This holds in the middle of a new report too, when
  the question reached the phone after the reporter's last message there.
- Otherwise a message is added to the sender's latest open case when that
  case's last exchange (filing, a message either way) is less than
  `ADD_WINDOW` old: someone who writes again within a day is, nearly
  always, going on with what they said; the acknowledgement names the case.
- An open case older than that: one short question, "Is this about case X?
  1 Yes 2 No, it is new". The text waits, encrypted, in a conversation row
  (`WHICH_CASE`); "2" or "no" makes it the statement of a new report;
  anything else, STOP, REPORT, or silence (INTAKE_TIMEOUT_SECONDS) adds it to
  the case. It is never dropped.
- No open case (closed, purged, none): a new report, as before.

A reporter who did not agree to follow-up is treated the same: the case
already carries their pseudonym, so nothing new links them; they get the
acknowledgement of the message they just sent, and nothing else is sent
to them (the focal point's messages wait for their status check).

Additions are case events (`message_from_reporter`): the console's case
page and the reporter's status check show them, as they show replies
typed on /status. They are not forwarded to the case tracker (no reply
is, today). Media sent as a follow-up is fetched and attached to the case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.cases.filing import add_event, display_number
from gateway.cases.media import type_hint
from gateway.conversation.keywords import Word, parse_word
from gateway.core.effects import Effects
from gateway.core.i18n import _
from gateway.core.models import (
    Case,
    CaseEvent,
    Conversation,
    InboundEvent,
    MediaDownload,
    OutboundMessage,
)
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import CaseEventKind, CaseStatus, ConversationState

ADD_WINDOW = timedelta(days=1)  # after the last exchange, a message is an addition
REPLY_WINDOW = timedelta(days=14)  # after a focal point's question, a message is its answer
MAX_CASES = 20  # a sender's open cases looked at, newest first
WHICH_CASE = "which_case"  # the step of a conversation holding a message until 1 or 2
ADDED_STATE = ConversationState.ADDED.value  # a WHICH_CASE conversation whose text went to the case

# Translators: SMS, one SMS (160 GSM letters, 70 with any other letter); %(case)s is
# digits; the last sentence as in STOP's answer.
# Discreet: a shared phone shows it (docs/languages.md).
ADDED = _("Thank you. We added this to case %(case)s. You can delete these messages.")
# Translators: SMS question, one SMS; the reporter answers with the digits: keep them.
# Discreet: a shared phone shows it (docs/languages.md).
ASK_WHICH_CASE = _("Is this about case %(case)s? 1 Yes 2 No, it is new")


class Turn(Protocol):
    """What the follow-up rules need of the conversation's turn (conversation.Turn)."""

    session: Session
    gw: Gateway
    event: InboundEvent
    address: str
    effects: Effects

    def say(
        self, locale: str, message: str, /, case_id: int | None = None, **values: object
    ) -> None: ...


@dataclass(frozen=True)
class _Exchange:
    case: Case
    last_at: datetime  # filing, or the last message either way
    question_at: datetime | None  # the focal point's message, when it is the case's last


def _open_cases(session: Session, event: InboundEvent) -> list[_Exchange]:
    """The sender's open cases on this channel with their last exchange, newest first."""
    cases = list(
        session.scalars(
            select(Case)
            .where(
                Case.sender_pseudonym == event.sender_pseudonym,
                Case.channel == event.channel,
                Case.status != CaseStatus.CLOSED.value,
                Case.purged_at.is_(None),
            )
            .order_by(Case.id.desc())
            .limit(MAX_CASES)
        )
    )
    if not cases:
        return []
    kinds = (CaseEventKind.MESSAGE_TO_REPORTER.value, CaseEventKind.MESSAGE_FROM_REPORTER.value)
    latest: dict[tuple[int, str], tuple[int, datetime]] = {
        (case_id, kind): (last_id, last_at)
        for case_id, kind, last_id, last_at in session.execute(
            select(
                CaseEvent.case_id,
                CaseEvent.kind,
                func.max(CaseEvent.id),
                func.max(CaseEvent.created_at),
            )
            .where(CaseEvent.case_id.in_([c.id for c in cases]), CaseEvent.kind.in_(kinds))
            .group_by(CaseEvent.case_id, CaseEvent.kind)
        )
    }
    found = []
    for case in cases:
        to = latest.get((case.id, kinds[0]))
        back = latest.get((case.id, kinds[1]))
        times = [case.created_at] + [row[1] for row in (to, back) if row]
        asked = to is not None and (back is None or to[0] > back[0])
        found.append(_Exchange(case, max(times), to[1] if asked and to else None))
    return found


def route(turn: Turn, text: str, media: list[Any], locale: str, answered: str) -> bool:
    """A message with no report in progress: add it to a case, or ask which; False: new report.

    `answered` is the acknowledgement of an answer to a focal point's question.
    """
    exchanges = _open_cases(turn.session, turn.event)
    if not exchanges:
        return False
    now = utcnow()
    questions = [e for e in exchanges if e.question_at and now - e.question_at < REPLY_WINDOW]
    if questions:
        case = max(questions, key=lambda e: e.question_at or now).case
        _add(turn, case, text, media)
        turn.say(locale, answered, case_id=case.id, case=_number(turn.gw, case))
        return True
    latest = max(exchanges, key=lambda e: e.last_at)
    if now - latest.last_at < ADD_WINDOW:
        _add(turn, latest.case, text, media)
        turn.say(locale, ADDED, case_id=latest.case.id, case=_number(turn.gw, latest.case))
        return True
    _hold(turn, latest.case, text, media, locale)
    turn.say(locale, ASK_WHICH_CASE, case_id=latest.case.id, case=_number(turn.gw, latest.case))
    return True


def answers_question(
    turn: Turn, conversation: Conversation, text: str, media: list[Any], locale: str, answered: str
) -> bool:
    """During a new report: a focal point's question that reached the phone since the
    reporter's last message there is what this message answers."""
    asked = turn.session.scalars(
        select(Case)
        .join(OutboundMessage, OutboundMessage.case_id == Case.id)
        .where(
            Case.sender_pseudonym == turn.event.sender_pseudonym,
            Case.channel == turn.event.channel,
            Case.status != CaseStatus.CLOSED.value,
            OutboundMessage.dedupe_key.like("case-message:%"),
            OutboundMessage.created_at > conversation.last_activity_at,
        )
        .order_by(OutboundMessage.id.desc())
        .limit(1)
    ).first()
    if asked is None:
        return False
    _add(turn, asked, text, media)
    conversation.last_activity_at = utcnow()  # the next message continues the report
    turn.say(locale, answered, case_id=asked.id, case=_number(turn.gw, asked))
    return True


def answer_which(
    turn: Turn, conversation: Conversation, text: str, media: list[Any], locale: str
) -> dict[str, Any] | None:
    """The answer to "Is this about case X?"; the answers of a new report, or None.

    Anything but "2" or "no": the message held, and this one unless it is
    "1" or "yes", go to the case. "2" or "no" (or the case closed meanwhile):
    what was held becomes the statement of a new report, whose answers are
    returned; the caller asks the report's first question.
    """
    gw = turn.gw
    held = gw.cipher.decrypt_json(conversation.answers_enc)
    held.setdefault("media", []).extend(media)
    choice = _yes_no(text)
    if choice is not False:
        if choice is None and text:
            held["statement"] = (str(held.get("statement") or "") + "\n" + text).strip()
        conversation.answers_enc = gw.cipher.encrypt_json(held)
        case = keep(turn.session, gw, conversation, turn.effects)
        if case is not None:
            turn.say(locale, ADDED, case_id=case.id, case=_number(gw, case))
            return None
    conversation.step = "statement"  # given; the caller moves on to the first question
    conversation.case_id = None
    conversation.retries = 0
    conversation.answers_enc = gw.cipher.encrypt_json(held)
    conversation.address_enc = gw.cipher.encrypt(turn.address.encode())
    conversation.last_activity_at = utcnow()
    return held


def keep(
    session: Session, gw: Gateway, conversation: Conversation, effects: Effects | None = None
) -> Case | None:
    """Add a held message to the case it was asked about; None if it is not a WHICH_CASE
    conversation or that case was closed meanwhile (then it is filed as a new report)."""
    if conversation.step != WHICH_CASE or conversation.case_id is None:
        return None
    case = session.get(Case, conversation.case_id, with_for_update=True)
    if case is None or case.status == CaseStatus.CLOSED.value or case.purged_at is not None:
        return None
    held = gw.cipher.decrypt_json(conversation.answers_enc)
    media = held.get("media") or []
    _store(session, gw, case, conversation.provider, held.get("statement") or "", media)
    if media and effects is not None:
        effects.media_cases.append(case.id)
    conversation.state = ADDED_STATE
    conversation.open_key = None
    conversation.answers_enc = gw.cipher.encrypt_json({})
    conversation.address_enc = None
    return case


def _hold(turn: Turn, case: Case, text: str, media: list[Any], locale: str) -> None:
    """Keep the message (encrypted) until the reporter says which case it is about."""
    event = turn.event
    conversation = Conversation(
        channel=event.channel,
        provider=event.provider,
        sender_pseudonym=event.sender_pseudonym,
        open_key=Conversation.key_while_open(event.channel, event.sender_pseudonym),
        state=ConversationState.OPEN.value,
        step=WHICH_CASE,
        language=locale,
        answers_enc=turn.gw.cipher.encrypt_json({"statement": text, "media": list(media)}),
        address_enc=None,  # nothing to send on silence: no address kept
        last_activity_at=utcnow(),
        case_id=case.id,
    )
    try:
        with turn.session.begin_nested():
            turn.session.add(conversation)
    except IntegrityError:
        raise RuntimeError("conversation opened concurrently; the job will be retried") from None


def _add(turn: Turn, case: Case, text: str, media: list[Any]) -> None:
    _store(turn.session, turn.gw, case, turn.event.provider, text, media)
    if media:
        turn.effects.media_cases.append(case.id)


def _store(
    session: Session, gw: Gateway, case: Case, provider: str, text: str, media: list[Any]
) -> None:
    """One event with the reporter's words; media fetched by the worker onto the case."""
    add_event(session, gw, case, CaseEventKind.MESSAGE_FROM_REPORTER, "reporter", body=text)
    for item in media:
        session.add(
            MediaDownload(
                case_id=case.id,
                provider=provider,
                url_enc=gw.cipher.encrypt(str(item["url"]).encode()),
                content_type_hint=type_hint(item.get("content_type")),
            )
        )
    session.flush()


def _yes_no(text: str) -> bool | None:
    cleaned = text.strip().rstrip(".").strip()
    if cleaned.isdigit() and int(cleaned) in (1, 2):  # int() reads Arabic-Indic digits too
        return int(cleaned) == 1
    word = parse_word(cleaned) if cleaned else None
    if word is not None and word[0] in (Word.YES, Word.NO):
        return word[0] is Word.YES
    return None


def _number(gw: Gateway, case: Case) -> str:
    return display_number(case, gw.settings.case_number_prefix)
