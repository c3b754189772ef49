"""The text conversation shared by SMS, WhatsApp and Telegram (contract in docs/contract.md).

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

from gateway.cases.outgoing import queue_message
from gateway.conversation import follow_up, help_lines, language_guess, status
from gateway.conversation.filing import file_conversation
from gateway.conversation.keywords import (
    Command,
    Parsed,
    Word,
    help_with_rest,
    locale_named,
    parse_command,
    parse_word,
)
from gateway.conversation.texts import (
    ASK_STATEMENT,
    BUSY,
    CHOICES,
    HELP,
    INVALID_CHOICE,
    LANGUAGE_CHOICES,
    LANGUAGE_SET,
    ORDER,
    QUESTIONS,
    REPLY_ADDED,
    STOPPED,
    YES_NO_STEPS,
)
from gateway.core import assistance, i18n
from gateway.core.effects import Effects
from gateway.core.models import Case, Conversation, InboundEvent, SenderPreference
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import ConversationState

log = logging.getLogger(__name__)

JOIN_WINDOW = timedelta(seconds=60)  # parts of one long message arrive close together
MAX_INVALID = 2  # invalid answers to one question before it counts as skipped
RATE_LIMIT_PER_HOUR = 30


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

    def help_line(
        self, locale: str, key: str, case_id: int | None = None, where: str | None = None
    ) -> None:
        """Queue the one help message (gateway.conversation.help_lines) once per `key`."""
        message_id = help_lines.queue_first(
            self.session,
            self.gw,
            channel=self.event.channel,
            provider=self.event.provider,
            address=self.address,
            locale=locale,
            dedupe_key=key,
            case_id=case_id,
            where=where,
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
    command = parse_command(text) or _help_for_area(gw, text)
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
    greeted = None if media else language_guess.greeting(text)
    if conversation is not None and conversation.step == "statement" and greeted:
        # "Hello" again while asked what happened: still not a report, maybe another language.
        conversation.language = greeted if greeted in offered else conversation.language
        turn.say(conversation.language, ASK_STATEMENT)
        return turn.effects
    if conversation is not None:
        if not follow_up.answers_question(turn, conversation, text, media, locale, REPLY_ADDED):
            _answer(turn, conversation, text, media, locale)
        return turn.effects
    if follow_up.route(turn, text, media, locale, answered=REPLY_ADDED):  # a case's follow-up
        return turn.effects
    # A greeting opens a report in its language, like a keyword. Otherwise the first message's
    # language, when it is clearly one we offer, is the report's, unless the sender chose one
    # (a keyword, LANGUAGE, Telegram's own setting): a guess never overrides a choice, and is
    # not remembered as one.
    if greeted in offered:
        locale = pref.language = greeted
    elif not greeted and pref.language is None and event.language_hint not in offered:
        written_in = language_guess.guess(text, offered)
        locale = written_in if written_in in offered else locale
    if greeted:
        _start(turn, "", [], locale, pref, ask_statement=True)
    else:
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
        _help(turn, locale, rest)
    elif command is Command.STOP:
        _stop(turn, conversation, pref)
        turn.say(locale, STOPPED)
    elif command is Command.STATUS:
        status.answer(turn, rest, locale)
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


def _help_for_area(gw: Gateway, text: str) -> Parsed | None:
    """HELP and a place of the services directory ("HELP North"); None for anything else."""
    asked = help_with_rest(text)
    if asked is None:
        return None
    if help_lines.area_named(assistance.offered(gw.settings, "HELP"), asked.rest) is None:
        return None
    return asked


def _help(turn: Turn, locale: str, area: str) -> None:
    """The services (every area, or the one named), then the usage line HELP always gave."""
    found = assistance.offered(turn.gw.settings, "HELP")
    for text in help_lines.help_messages(found, locale, help_lines.area_named(found, area)):
        turn.send(text)
    turn.say(locale, HELP)


def _stop(turn: Turn, conversation: Conversation | None, pref: SenderPreference) -> None:
    """Forget the conversation and every stored way to reach this sender, at once."""
    if conversation is not None:
        follow_up.keep(turn.session, turn.gw, conversation, turn.effects)  # a held follow-up
        conversation.state = ConversationState.STOPPED.value
        conversation.open_key = None
        conversation.answers_enc = turn.gw.cipher.encrypt_json({})
        conversation.address_enc = None
    turn.session.execute(
        update(Case)
        .where(Case.sender_pseudonym == turn.event.sender_pseudonym)
        .values(reply_address_enc=None, follow_up=False)
    )
    pref.stopped_at = utcnow()


def _start(
    turn: Turn,
    text: str,
    media: list[Any],
    locale: str,
    pref: SenderPreference,
    ask_statement: bool = False,
) -> None:
    open_count = turn.session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.state == ConversationState.OPEN.value)
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
        state=ConversationState.OPEN.value,
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
    if step == "danger" and value is True:  # help first, before the next question
        turn.help_line(locale, help_lines.danger_key(conversation.id))
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
    where = turn.gw.cipher.decrypt_json(conversation.answers_enc).get("where_when")
    filed = file_conversation(turn.session, turn.gw, conversation)
    if filed is not None:
        turn.effects.new_cases.append(filed.case_id)
        turn.send(filed.receipt, case_id=filed.case_id)
        if not help_lines.given_during(turn.session, conversation.id):
            key = help_lines.receipt_key(filed.case_id)
            turn.help_line(conversation.language, key, filed.case_id, where)
