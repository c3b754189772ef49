"""The text conversation shared by SMS, WhatsApp and Telegram (contract in DESIGN.md).

A first message that is not a keyword starts a report with its text as the
statement; then a few short questions, each answered with a digit and each
skippable with 0; the report is filed when the last is answered or after
INTAKE_TIMEOUT_SECONDS of silence, and the reporter gets one message with
the case number and PIN. Keywords (REPORT, STATUS, HELP, STOP, LANGUAGE) work
in every supported language at any time. A message from a sender with an
open case (a follow-up, an answer to the focal point) goes to that case, or
asks once whether it is new: gateway/conversation/follow_up.py.

The engine sees only stored inbound events and writes only rows; replies are
queued as outbound messages that the channel's sender delivers. Replies never
repeat what the report said.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.cases import lookup
from gateway.cases.filing import display_number, file_report
from gateway.cases.reports import Affected, Category, NewReport
from gateway.conversation import follow_up
from gateway.conversation.keywords import Command, Word, locale_named, parse_command, parse_word
from gateway.core import i18n
from gateway.core.i18n import _
from gateway.core.models import (
    Case,
    CaseEvent,
    CaseEventKind,
    Conversation,
    InboundEvent,
    SenderPreference,
    utcnow,
)
from gateway.core.runtime import Gateway
from gateway.work.dispatch import Effects, queue_message, receipt_text

log = logging.getLogger(__name__)

CHANNELS = ("sms", "whatsapp", "telegram")
JOIN_WINDOW = timedelta(seconds=60)  # parts of one long message arrive close together
MAX_INVALID = 2  # invalid answers to one question before it counts as skipped
RATE_LIMIT_PER_HOUR = 30

# Translators: SMS reply, one SMS; words in capitals are this language's keywords.
# Discreet: a shared phone shows it (docs/languages.md).
HELP = _(
    "Send us a message in your own words. Free, no name needed. "
    "To check: STATUS case PIN. To stop: STOP"
)
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
# Discreet: a shared phone shows it (docs/languages.md).
ASK_STATEMENT = _("Tell us what happened, in your own words. You do not need to give your name.")
# No question asks what kind of wrong it was: any answer would name it on the phone,
# so the focal point categorises (Case.category stays empty, "Not given" in the console).
# Translators: SMS question, one SMS; the reporter answers with the digits: keep them.
# Discreet: a shared phone shows it (docs/languages.md).
ASK_AFFECTED = _("Who is this about? 1 Me 2 Someone else. 0 skip")
# Translators: SMS question, one SMS; the reporter answers with the digits: keep them.
# Discreet: a shared phone shows it (docs/languages.md).
ASK_DANGER = _("Is it urgent: does someone need help now? 1 Yes 2 No. 0 skip")
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
# Discreet: a shared phone shows it (docs/languages.md).
ASK_WHERE_WHEN = _("Where and when did it happen? Send a short message, or 0 to skip.")
# Translators: SMS question, one SMS; the reporter answers with the digits: keep them.
# Discreet: a shared phone shows it (docs/languages.md).
ASK_FOLLOW_UP = _("May we write to you again on this number, with news or a question? 1 Yes 2 No")
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
# Discreet: a shared phone shows it (docs/languages.md).
INVALID_CHOICE = _("Please answer with one of the numbers, or 0 to skip.")
# Translators: SMS reply, one SMS; its last sentence is said the same way in every reply that
# ends an exchange. Discreet: a shared phone shows it (docs/languages.md).
STOPPED = _(
    "You will get no more messages from us. What you sent is kept. To write again, "
    "send a message. You can delete these messages."
)
# Translators: SMS reply, one SMS; words in capitals are this language's keywords.
# Discreet: a shared phone shows it (docs/languages.md).
STATUS_USAGE = _("To check, send: STATUS case-number PIN")
# Translators: SMS reply, one SMS; the last sentence as in STOP's answer.
# Discreet: a shared phone shows it (docs/languages.md).
STATUS_WRONG = _(
    "We did not find this case number and PIN. Check them and send again. "
    "You can delete these messages."
)
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
STATUS_LOCKED = _("Too many tries. Please wait 30 minutes, then try again.")
# Translators: SMS; %(status)s is one of the status names below; the last sentence as in
# STOP's answer. Discreet: a shared phone shows it (docs/languages.md).
STATUS_FOUND = _("Case %(case)s: %(status)s. You can delete these messages.")
# Translators: SMS; %(message)s is the focal point's own text; the last line as in STOP's
# answer. Discreet: a shared phone shows it (docs/languages.md).
STATUS_FOUND_MESSAGE = _(
    "Case %(case)s: %(status)s. Message: %(message)s\nYou can delete these messages."
)
# Translators: SMS reply, one SMS; the last sentence as in STOP's answer.
# Discreet: a shared phone shows it (docs/languages.md).
REPLY_ADDED = _("Thank you. Your answer was added to case %(case)s. You can delete these messages.")
# Translators: SMS; name YOUR language ("We will write to you in Swahili").
LANGUAGE_SET = _("We will write to you in English.")
# Translators: SMS reply, one SMS; words in capitals are this language's keywords.
LANGUAGE_CHOICES = _("Send LANGUAGE and one of: %(codes)s")
# Translators: SMS reply: one SMS (160 GSM letters, 70 with any other letter).
# Discreet: a shared phone shows it (docs/languages.md).
BUSY = _("We cannot take new messages right now. Please try again in one hour.")

STATUS_NAMES = {
    # Translators: a report's status, in "Case 2026-000123-4: <status>." by SMS.
    # Discreet: a shared phone shows it (docs/languages.md).
    "received": _("received"),
    "under_review": _("being looked at"),
    "in_progress": _("in progress"),
    "referred": _("passed to a service that can help"),
    "closed": _("closed"),
}

QUESTIONS: dict[str, str] = {
    "affected": ASK_AFFECTED,
    "danger": ASK_DANGER,
    "where_when": ASK_WHERE_WHEN,
    "follow_up": ASK_FOLLOW_UP,
}
ORDER = ["statement", *QUESTIONS, "done"]
CHOICES: dict[str, dict[str, Any]] = {
    "affected": {"1": Affected.SELF.value, "2": Affected.SOMEONE_ELSE.value},
    "danger": {"1": True, "2": False},
    "follow_up": {"1": True, "2": False},
}
YES_NO_STEPS = {"danger", "follow_up"}


@dataclass
class Turn:
    """One inbound message in context: what the engine needs to answer it."""

    session: Session
    gw: Gateway
    event: InboundEvent
    address: str
    text: str
    effects: Effects
    replies: int = 0

    def say(
        self, locale: str, message: str, /, case_id: int | None = None, **values: object
    ) -> None:
        """Queue one translated reply."""
        self.send(i18n.gettext(locale, message, **values), case_id)

    def send(self, text: str, case_id: int | None = None) -> None:
        """Queue one reply; its dedupe key makes a re-run of the job send nothing twice."""
        self.replies += 1
        message_id = queue_message(
            self.session,
            self.gw,
            channel=self.event.channel,
            provider=self.event.provider,
            address=self.address,
            text=text,
            dedupe_key=f"reply:{self.event.id}:{self.replies}",
            case_id=case_id,
        )
        if message_id is not None:
            self.effects.outbound.append(message_id)


def _preference(session: Session, pseudonym: str) -> SenderPreference:
    pref = session.get(SenderPreference, pseudonym)
    if pref is None:
        pref = SenderPreference(sender_pseudonym=pseudonym)
        session.add(pref)
    return pref


def _open_conversation(session: Session, event: InboundEvent) -> Conversation | None:
    return session.scalars(
        select(Conversation)
        .where(
            Conversation.open_key
            == Conversation.key_while_open(event.channel, event.sender_pseudonym)
        )
        .with_for_update()
    ).first()


def _default_locale(gw: Gateway) -> str:
    return i18n.configured_locales(gw.settings.locales)[0]


def handle(session: Session, gw: Gateway, event: InboundEvent, payload: dict[str, Any]) -> Effects:
    """The conversation's answer to one stored inbound message."""
    address = str(payload.get("reply_to") or payload["sender"])
    turn = Turn(session, gw, event, address, str(payload.get("text") or ""), Effects())
    text = turn.text.strip()
    pref = _preference(session, event.sender_pseudonym)
    conversation = _open_conversation(session, event)
    locale = (conversation.language if conversation else None) or pref.language
    offered = i18n.configured_locales(gw.settings.locales)
    if event.language_hint in offered and not locale:
        locale = event.language_hint
    locale = locale or _default_locale(gw)

    if _rate_limited(session, event):
        log.warning("inbound event %s dropped: sender over the hourly limit", event.id)
        return turn.effects

    extra = payload.get("extra") or {}
    command = parse_command(text)
    if command is not None:
        # A command chosen from a menu (Telegram's /status) was not said in a language.
        said = not extra.get("menu_command")
        if said and command.locale in offered and command.command is not Command.LANGUAGE:
            locale = command.locale
            pref.language = locale
            if conversation:
                conversation.language = locale
        return _command(turn, command.command, command.rest, locale, conversation, pref, offered)

    answering = extra.get("answers_step")  # a button press names the question it answers
    if answering is not None and (conversation is None or conversation.step != answering):
        _ask_again(turn, conversation, locale)  # a button of an old question: not an answer
        return turn.effects
    media = payload.get("media") or []
    if not text and not media:
        turn.say(locale, HELP)
        return turn.effects
    if conversation is not None and conversation.step == follow_up.WHICH_CASE:
        held = follow_up.answer_which(turn, conversation, text, media, locale)
        if held is not None:  # "No, it is new": what was held is a new report's statement
            _advance(turn, conversation, held, "statement")
        return turn.effects
    if conversation is not None:
        if not follow_up.answers_question(turn, conversation, text, media, locale, REPLY_ADDED):
            _answer(turn, conversation, text, media, locale)
        return turn.effects
    if follow_up.route(turn, text, media, locale, answered=REPLY_ADDED):  # a case's follow-up
        return turn.effects
    _start(turn, text, media, locale, pref)
    return turn.effects


def _ask_again(turn: Turn, conversation: Conversation | None, locale: str) -> None:
    """Ask the question that is open now (or give the help when none is)."""
    if conversation is None:
        turn.say(locale, HELP)
    else:
        turn.say(locale, QUESTIONS.get(conversation.step, ASK_STATEMENT))


def _rate_limited(session: Session, event: InboundEvent) -> bool:
    recent = session.scalar(
        select(func.count())
        .select_from(InboundEvent)
        .where(
            InboundEvent.sender_pseudonym == event.sender_pseudonym,
            InboundEvent.created_at > utcnow() - timedelta(hours=1),
            InboundEvent.id < event.id,
        )
    )
    return (recent or 0) >= RATE_LIMIT_PER_HOUR


def _command(
    turn: Turn,
    command: Command,
    rest: str,
    locale: str,
    conversation: Conversation | None,
    pref: SenderPreference,
    offered: list[str],
) -> Effects:
    if command is Command.HELP:
        turn.say(locale, HELP)
    elif command is Command.STOP:
        _stop(turn, conversation, pref)
        turn.say(locale, STOPPED)
    elif command is Command.STATUS:
        _status(turn, rest, locale)
    elif command is Command.LANGUAGE:
        chosen = locale_named(rest, offered) if rest else None
        if chosen is None:
            turn.say(locale, LANGUAGE_CHOICES, codes=" ".join(offered))
        else:
            pref.language = chosen
            if conversation:
                conversation.language = chosen
            turn.say(chosen, LANGUAGE_SET)
    elif command is Command.REPORT:
        if conversation is not None:
            _file(turn, conversation)
        if rest:
            _start(turn, rest, [], locale, pref)
        else:
            _start(turn, "", [], locale, pref, ask_statement=True)
    return turn.effects


def _stop(turn: Turn, conversation: Conversation | None, pref: SenderPreference) -> None:
    """Forget the conversation and every stored way to reach this sender, at once."""
    if conversation is not None:
        follow_up.keep(turn.session, turn.gw, conversation, turn.effects)  # a held follow-up
        conversation.state = "stopped"
        conversation.open_key = None
        conversation.answers_enc = turn.gw.cipher.encrypt_json({})
        conversation.address_enc = None
    turn.session.execute(
        update(Case)
        .where(Case.sender_pseudonym == turn.event.sender_pseudonym)
        .values(reply_address_enc=None, follow_up=False)
    )
    pref.stopped_at = utcnow()


def _status(turn: Turn, rest: str, locale: str) -> None:
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


def _start(
    turn: Turn,
    text: str,
    media: list[Any],
    locale: str,
    pref: SenderPreference,
    ask_statement: bool = False,
) -> None:
    open_count = turn.session.scalar(
        select(func.count()).select_from(Conversation).where(Conversation.state == "open")
    )
    limit = int(turn.gw.settings.get("GATEWAY_MAX_OPEN_CONVERSATIONS", "5000") or 5000)
    if (open_count or 0) >= limit:
        turn.say(locale, BUSY)
        return
    pref.stopped_at = None  # writing again is choosing to hear from us again
    conversation = Conversation(
        channel=turn.event.channel,
        provider=turn.event.provider,
        sender_pseudonym=turn.event.sender_pseudonym,
        open_key=Conversation.key_while_open(turn.event.channel, turn.event.sender_pseudonym),
        state="open",
        step="statement" if ask_statement else ORDER[1],
        language=locale,
        answers_enc=turn.gw.cipher.encrypt_json({"statement": text, "media": media}),
        address_enc=turn.gw.cipher.encrypt(turn.address.encode()),
        last_activity_at=utcnow(),
    )
    try:
        with turn.session.begin_nested():
            turn.session.add(conversation)
    except IntegrityError:
        raise RuntimeError("conversation opened concurrently; the job will be retried") from None
    turn.say(locale, ASK_STATEMENT if ask_statement else QUESTIONS[ORDER[1]])


def _answer(
    turn: Turn, conversation: Conversation, text: str, media: list[Any], locale: str
) -> None:
    gw = turn.gw
    answers = gw.cipher.decrypt_json(conversation.answers_enc)
    answers.setdefault("media", []).extend(media)
    step = conversation.step
    now = utcnow()
    joined_part = now - conversation.last_activity_at < JOIN_WINDOW
    conversation.last_activity_at = now
    if step == "statement":
        answers["statement"] = text
        _advance(turn, conversation, answers, "statement")
        return
    if step == "where_when":
        if text.strip() not in ("0", ""):
            answers["where_when"] = text.strip()
        _advance(turn, conversation, answers, step)
        return
    if step not in ORDER:  # a question no longer asked (category, before an upgrade)
        _advance(turn, conversation, answers, "statement")
        return
    value = _choice(step, text)
    if value is _INVALID:
        if step == ORDER[1] and joined_part and not conversation.retries:
            # The rest of a long statement that the phone sent in parts.
            answers["statement"] = (answers.get("statement", "") + " " + text).strip()
            conversation.answers_enc = gw.cipher.encrypt_json(answers)
            return
        conversation.retries += 1
        if conversation.retries > MAX_INVALID:
            _advance(turn, conversation, answers, step)
        else:
            conversation.answers_enc = gw.cipher.encrypt_json(answers)
            turn.say(locale, INVALID_CHOICE)
        return
    if value is not _SKIP:
        answers[step] = value
    _advance(turn, conversation, answers, step)


_INVALID, _SKIP = object(), object()


def _choice(step: str, text: str) -> Any:
    cleaned = text.strip().rstrip(".").strip()
    if cleaned == "0":
        return _SKIP
    if cleaned in CHOICES[step]:
        return CHOICES[step][cleaned]
    word = parse_word(cleaned)
    if word is not None:
        meaning = word[0]
        if meaning is Word.SKIP:
            return _SKIP
        if step in YES_NO_STEPS:
            return meaning is Word.YES
    return _INVALID


def _advance(turn: Turn, conversation: Conversation, answers: dict[str, Any], step: str) -> None:
    nxt = ORDER[ORDER.index(step) + 1]
    conversation.retries = 0
    conversation.answers_enc = turn.gw.cipher.encrypt_json(answers)
    if nxt == "done":
        _file(turn, conversation)
        return
    conversation.step = nxt
    turn.say(conversation.language, QUESTIONS[nxt])


def _file(turn: Turn, conversation: Conversation) -> None:
    """File what the conversation has; the receipt answers the message that ended it."""
    filed = file_conversation(turn.session, turn.gw, conversation)
    if filed is not None:
        turn.effects.new_cases.append(filed.case_id)
        turn.send(filed.receipt, case_id=filed.case_id)


@dataclass(frozen=True)
class Filed:
    case_id: int
    receipt: str
    address: str | None


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
        conversation.state = "abandoned"  # REPORT and then silence: nothing to file
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
    conversation.state = "filed"
    conversation.case_id = receipt.case_id
    return Filed(receipt.case_id, receipt_text(conversation.language, receipt), address)


def file_if_silent(conversation_id: int) -> str:
    """RQ job: file a conversation that has been silent for INTAKE_TIMEOUT_SECONDS."""
    from gateway.core.runtime import current

    gw = current()
    cutoff = utcnow() - timedelta(seconds=gw.settings.intake_timeout_seconds)
    effects = Effects()
    with gw.sessions() as session, session.begin():
        conversation = session.get(Conversation, conversation_id, with_for_update=True)
        if conversation is None or conversation.state != "open":
            return "skipped"
        if conversation.last_activity_at > cutoff:
            return "active"
        filed = file_conversation(session, gw, conversation)
        if filed is None:
            return "abandoned"
        effects.new_cases.append(filed.case_id)
        if filed.address:
            message_id = queue_message(
                session,
                gw,
                channel=conversation.channel,
                provider=conversation.provider,
                address=filed.address,
                text=filed.receipt,
                dedupe_key=f"receipt:{filed.case_id}",
                case_id=filed.case_id,
            )
            if message_id is not None:
                effects.outbound.append(message_id)
    effects.run(gw)
    log.info("conversation %s filed after silence", conversation_id)
    return "filed"


def enqueue_silent(gw: Gateway) -> int:
    """Sweeper task: enqueue the filing of every conversation silent too long."""
    from gateway.work import claims as work

    cutoff = utcnow() - timedelta(seconds=gw.settings.intake_timeout_seconds)
    with gw.sessions() as session:
        ids = list(
            session.scalars(
                select(Conversation.id)
                .where(Conversation.state == "open", Conversation.last_activity_at <= cutoff)
                .limit(1000)
            )
        )
    for conversation_id in ids:
        work.enqueue(gw, "intake", file_if_silent, "conversation-timeout", conversation_id)
    return len(ids)
