"""A new report's language from its first message, and greetings that are not reports (issue 21).

Through the shared conversation (a test SMS channel, tests/test_conversation.py's
phone): the first message in Swahili gets the questions in Swahili, in French in
French; "Hello", "Bonjour", "Habari", "Salam" open a report in their language
and ask what happened, without becoming its statement.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.conversation import texts as conversation
from gateway.core import i18n
from gateway.core.models import Case, Conversation, SenderPreference
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import ConversationState
from gateway.work.sweeper import sweep
from tests.support.jobs import run_jobs
from tests.test_conversation import Phone
from tests.test_conversation import phone as phone  # noqa: F401 - the fixture

FIRST = [
    ("sw", "Askari alinipiga jana usiku karibu na nyumbani kwangu"),
    ("fr", "Un soldat m'a demandé de l'argent pour me laisser passer au marché"),
    ("es", "Un soldado me pidió dinero y después me tocó en el mercado"),
    ("ht", "Yon sòlda te mande m lajan pou li kite m pase nan mache a"),
    ("en", "A soldier at the checkpoint asked me for sex in exchange for food"),
]


def conversations(gw: Gateway) -> list[Conversation]:
    with gw.sessions() as session:
        return list(session.scalars(select(Conversation)).all())


@pytest.mark.parametrize(("locale", "text"), FIRST)
def test_the_first_message_picks_the_language(
    gw: Gateway, phone: Phone, locale: str, text: str
) -> None:
    assert phone.send(text) == [i18n.gettext(locale, conversation.ASK_AFFECTED)]
    (opened,) = conversations(gw)
    assert opened.language == locale
    with gw.sessions() as session:  # a guess is not remembered as the sender's choice
        assert session.get(SenderPreference, opened.sender_pseudonym).language is None


@pytest.mark.parametrize(
    ("greeting", "locale"),
    [("Hello", "en"), ("Bonjour", "fr"), ("Habari", "sw"), ("Salam", "ar")],
)
def test_a_greeting_asks_what_happened_and_files_nothing(
    gw: Gateway, phone: Phone, greeting: str, locale: str
) -> None:
    assert phone.send(greeting) == [i18n.gettext(locale, conversation.ASK_STATEMENT)]
    (opened,) = conversations(gw)
    assert opened.language == locale and opened.step == "statement"
    answers = gw.cipher.decrypt_json(opened.answers_enc)
    assert not answers.get("statement")
    with gw.sessions() as session:
        assert session.scalars(select(Case)).all() == []


def test_a_greeting_then_the_report_makes_one_report_with_the_report_as_statement(
    gw: Gateway, phone: Phone
) -> None:
    phone.send("Hello")
    assert phone.send("Habari") == [i18n.gettext("sw", conversation.ASK_STATEMENT)]
    statement = "Askari alinipiga jana usiku karibu na nyumbani kwangu"
    assert phone.send(statement) == [i18n.gettext("sw", conversation.ASK_AFFECTED)]
    (opened,) = conversations(gw)
    assert gw.cipher.decrypt_json(opened.answers_enc)["statement"] == statement


def test_a_greeting_alone_then_silence_files_nothing(gw: Gateway, phone: Phone) -> None:
    phone.send("Bonjour")
    past = utcnow() - timedelta(seconds=gw.settings.intake_timeout_seconds + 5)
    with gw.sessions() as session, session.begin():
        session.execute(update(Conversation).values(last_activity_at=past))
    sweep(gw)
    run_jobs(gw)
    (closed,) = conversations(gw)
    assert closed.state == ConversationState.ABANDONED.value
    with gw.sessions() as session:
        assert session.scalars(select(Case)).all() == []


def test_a_chosen_language_is_kept_over_a_guess(gw: Gateway, phone: Phone) -> None:
    assert phone.send("LANGUAGE sw")
    phone.send("Un soldat m'a demandé de l'argent pour me laisser passer au marché")
    (opened,) = conversations(gw)
    assert opened.language == "sw"


def test_a_short_first_message_keeps_the_default_language(gw: Gateway, phone: Phone) -> None:
    phone.send("ok 12")
    (opened,) = conversations(gw)
    assert opened.language == "en"
