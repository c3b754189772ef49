"""The text conversation: questions, skips, keywords, STATUS, STOP, time-out, two-way."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import select, update

from gateway.cases import mailbox
from gateway.conversation import engine
from gateway.conversation import texts as conversation
from gateway.conversation.texts import RECEIPT
from gateway.core import i18n
from gateway.core.inbound import InboundMessage
from gateway.core.models import Case, CaseEvent, Conversation, SenderPreference
from gateway.intake import submit as intake
from gateway.work.reporter import message_reporter
from gateway.work.sweeper import sweep
from tests.support.fake_channels import install_channel, remove_channel
from tests.support.jobs import run_jobs
from tests.support.languages import EASTERN_DIGITS
from tests.support.questions import all_but_last, answers

PHONE = "+243810000010"
_ids = count(1)


class Phone:
    """A reporter's phone: sends through the real intake, reads what the sender delivered."""

    def __init__(self, gw, number: str = PHONE, channel: str = "sms") -> None:  # type: ignore[no-untyped-def]
        self.gw, self.number, self.channel = gw, number, channel
        self.inbox: list[str] = []
        # Like Twilio's, its WhatsApp messages go out freely only within 24 hours.
        install_channel(
            "testsms", sender=self._deliver, session_windows={"whatsapp": timedelta(hours=24)}
        )

    def _deliver(self, settings, address: str, text: str, message_id: int) -> str:  # type: ignore[no-untyped-def]
        if address == self.number:
            self.inbox.append(text)
        return f"out-{message_id}"

    def send(self, text: str) -> list[str]:
        """Send one message and return the replies it got."""
        before = len(self.inbox)
        intake.submit(
            self.gw,
            [
                InboundMessage(
                    channel=self.channel,
                    provider="testsms",
                    provider_message_id=f"in-{next(_ids)}",
                    sender=self.number,
                    text=text,
                )
            ],
        )
        run_jobs(self.gw)
        return self.inbox[before:]


@pytest.fixture
def phone(gw) -> Iterator[Phone]:  # type: ignore[no-untyped-def]
    yield Phone(gw)
    remove_channel("testsms")


def receipt_parts(text: str) -> tuple[str, str]:
    match = re.search(r"(\d{4}-\d{6,}-\d)\D+(\d{6})", text)
    assert match, text
    return match.group(1), match.group(2)


def only_case(gw) -> Case:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalars(select(Case)).one()


def test_full_conversation_files_one_case_with_the_answers(gw, phone, tracker) -> None:  # type: ignore[no-untyped-def]
    assert phone.send("A soldier asked my sister for sex in exchange for food") == [
        conversation.ASK_AFFECTED
    ]
    assert phone.send("2") == [conversation.ASK_DANGER]
    assert phone.send("yes") == [conversation.ASK_WHERE_WHEN]
    assert phone.send("Near the river camp, last Tuesday") == [conversation.ASK_FOLLOW_UP]
    [receipt] = phone.send("1")
    number, pin = receipt_parts(receipt)
    assert "soldier" not in receipt and "river" not in receipt
    case = only_case(gw)
    # No question names what happened: the focal point categorises (finding 7).
    assert case.category is None and case.affected == "someone_else" and case.danger_now
    assert case.follow_up and case.reply_address_enc is not None and case.channel == "sms"
    [request] = tracker.requests
    assert request.body["case_number"] == number and request.body["urgency"]["danger_now"]
    assert request.body["location"] == "Near the river camp, last Tuesday"
    assert request.body["narrative"].startswith("A soldier asked")
    with gw.sessions() as session:
        conv = session.scalars(select(Conversation)).one()
        assert conv.state == "filed" and conv.open_key is None and conv.address_enc is None
        assert gw.cipher.decrypt_json(conv.answers_enc) == {}
    assert mailbox.check_status(gw, number, pin, client=None).status == "received"


def test_every_question_can_be_skipped(gw, phone) -> None:  # type: ignore[no-untyped-def]
    phone.send("Something happened at the distribution")
    for _ in range(len(conversation.QUESTIONS) - 1):
        phone.send("0")
    [receipt] = phone.send("0")
    receipt_parts(receipt)
    case = only_case(gw)
    assert case.category is None and case.affected is None and not case.follow_up
    assert case.reply_address_enc is None


def test_parts_of_a_long_message_are_joined(gw, phone, tracker) -> None:  # type: ignore[no-untyped-def]
    phone.send("First part of a long message that the phone split,")
    assert phone.send("and the second part of it.") == []
    for answer in answers(affected="1", danger="2", follow_up="2"):
        phone.send(answer)
    assert tracker.requests[0].body["narrative"] == (
        "First part of a long message that the phone split, and the second part of it."
    )


def test_invalid_answers_are_asked_again_then_skipped(gw, phone) -> None:  # type: ignore[no-untyped-def]
    phone.send("statement")
    with gw.sessions() as session, session.begin():  # past the window for joined parts
        session.execute(
            update(Conversation).values(last_activity_at=datetime.now(UTC) - timedelta(minutes=5))
        )
    assert phone.send("maybe") == [conversation.INVALID_CHOICE]
    assert phone.send("7") == [conversation.INVALID_CHOICE]
    assert phone.send("what?") == [conversation.ASK_DANGER]


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("", conversation.HELP),
        ("HELP", conversation.HELP),
        ("help", conversation.HELP),
        ("STATUS", conversation.STATUS_USAGE),
        ("status 2026-000001-2 123456", conversation.STATUS_WRONG),
    ],
)
def test_keywords_and_empty_messages(gw, phone, text: str, reply: str) -> None:  # type: ignore[no-untyped-def]
    assert phone.send(text) == [reply]
    with gw.sessions() as session:
        assert session.scalars(select(Conversation)).first() is None


@pytest.mark.parametrize(
    ("keyword", "locale"),
    [("AIDE", "fr"), ("Ayuda", "es"), ("msaada", "sw"), ("مساعدة", "ar"), ("ajuda", "pt")],
)
def test_the_keyword_decides_the_language(gw, phone, keyword: str, locale: str) -> None:  # type: ignore[no-untyped-def]
    help_text = i18n.gettext(locale, conversation.HELP)
    assert help_text != conversation.HELP, f"{locale}: the help is not translated"
    assert phone.send(keyword) == [help_text]
    with gw.sessions() as session:
        pref = session.scalars(select(SenderPreference)).one()
        assert pref.language == locale
    phone.send("Ce qui est arrivé")
    with gw.sessions() as session:
        assert session.scalars(select(Conversation)).one().language == locale


def test_language_can_be_changed_at_any_time(gw, phone) -> None:  # type: ignore[no-untyped-def]
    phone.send("what happened")
    assert phone.send("LANGUAGE fr") == ["Nous vous écrirons en français."]
    with gw.sessions() as session:
        assert session.scalars(select(Conversation)).one().language == "fr"
    [choices] = phone.send("LANGUAGE")
    assert "fr" in choices and "en" in choices


# A whole conversation in each language: (REPORT keyword, statement, YES, where and when, STATUS).
CONVERSATIONS = {
    "en": (
        "report",
        "A guard asked me for sex for a food card",
        "yes",
        "At the camp gate, Monday",
        "status",
    ),
    "fr": (
        "signaler",
        "Un garde m'a demandé du sexe contre une carte",
        "oui",
        "Au portail, lundi",
        "statut",
    ),
    "ar": (
        "بلاغ",
        "طلب مني حارس الجنس مقابل بطاقة طعام",
        "نعم",
        "عند بوابة المخيم، يوم الاثنين",
        "حالة",
    ),
    "sw": (
        "ripoti",
        "Mlinzi aliniomba ngono kwa kadi ya chakula",
        "ndiyo",
        "Langoni, Jumatatu",
        "hali",
    ),
    "ln": (
        "lopoto",
        "Mokengeli asengaki ngai nzoto mpo na karte ya bilei",
        "iyo",
        "Na porte, mokolo ya yambo",
        "ezalela",
    ),
    "sg": ("mbeti", "Mbeni wabatango ahunda lango-sese na mbi", "iin", "Na yanga ti camp", "lege"),
    "es": (
        "reportar",
        "Un guardia me pidió sexo a cambio de una tarjeta",
        "si",
        "En la puerta, el lunes",
        "estado",
    ),
    "pt": (
        "relatar",
        "Um guarda pediu-me sexo em troca de um cartão",
        "sim",
        "No portão, segunda-feira",
        "situacao",
    ),
    "ht": (
        "rapo",
        "Yon gad mande m fè sèks pou yon kat manje",
        "wi",
        "Devan baryè kan an, lendi",
        "estati",
    ),
}


@pytest.mark.parametrize("locale", list(CONVERSATIONS))
def test_a_whole_conversation_in_each_language(gw, phone, tracker, locale: str) -> None:  # type: ignore[no-untyped-def]
    """The keyword sets the language; every reply, the receipt and the status answer
    are the catalog's text in that language (not English), with Western digits."""
    report, statement, yes, where, status = CONVERSATIONS[locale]

    def said(message: str, **values: str) -> str:
        text = i18n.gettext(locale, message, **values)
        english = i18n.gettext("en", message, **values)
        assert locale == "en" or text != english, f"{locale}: still in English: {text}"
        return text

    assert phone.send(f"{report} {statement}") == [said(conversation.ASK_AFFECTED)]
    assert phone.send("1") == [said(conversation.ASK_DANGER)]
    assert phone.send(yes) == [said(conversation.ASK_WHERE_WHEN)]
    assert phone.send(where) == [said(conversation.ASK_FOLLOW_UP)]
    [receipt] = phone.send("1")
    number, pin = receipt_parts(receipt)
    assert receipt == said(RECEIPT, case=number, pin=pin)
    assert not EASTERN_DIGITS.search(receipt)
    received = said(conversation.STATUS_NAMES["received"])
    assert phone.send(f"{status} {number} {pin}") == [
        said(conversation.STATUS_FOUND, case=number, status=received)
    ]
    case = only_case(gw)
    assert case.language == locale and case.danger_now and case.affected == "self"
    assert case.category is None and case.follow_up
    [request] = tracker.requests
    assert request.body["language"] == locale and request.body["narrative"] == statement
    assert request.body["location"] == where


def test_status_round_trip_with_focal_point_message(gw, phone) -> None:  # type: ignore[no-untyped-def]
    phone.send("report text")
    before, last = all_but_last(follow_up="2")
    for answer in before:
        phone.send(answer)
    number, pin = receipt_parts(phone.send(last)[0])
    [status] = phone.send(f"STATUS {number} {pin}")
    assert number in status and "received" in status
    case = only_case(gw)
    assert message_reporter(gw, case.id, "Please call the hotline.", "focal")
    run_jobs(gw)
    assert phone.inbox[-1] != "Please call the hotline."  # no follow-up agreed: not pushed
    [status] = phone.send(f"status {number.replace('-', ' ')} {pin}")
    assert "Please call the hotline." in status
    [wrong] = phone.send(f"STATUS {number} {'000000' if pin != '000000' else '111111'}")
    assert wrong == conversation.STATUS_WRONG


def test_two_way_exchange_with_consent(gw, phone) -> None:  # type: ignore[no-untyped-def]
    phone.send("report text")
    before, last = all_but_last(follow_up="1")
    for answer in before:
        phone.send(answer)
    number, _ = receipt_parts(phone.send(last)[0])
    case = only_case(gw)
    message_reporter(gw, case.id, "Can you tell us which camp?", "focal")
    run_jobs(gw)
    assert phone.inbox[-1] == "Can you tell us which camp?"
    [ack] = phone.send("The camp by the airport")
    assert number in ack
    view = mailbox.view_case(gw, case.id)
    assert [(m.direction, m.text) for m in view.messages][-1] == ("out", "The camp by the airport")
    with gw.sessions() as session:
        assert (
            session.scalars(select(Conversation).where(Conversation.state == "open")).first()
            is None
        )


def test_stop_forgets_the_conversation_and_the_reply_address(gw, phone) -> None:  # type: ignore[no-untyped-def]
    phone.send("first report")
    for answer in answers(follow_up="1"):
        phone.send(answer)
    phone.send("REPORT second report in progress")  # after filing, REPORT starts a new one
    assert phone.send("STOP") == [conversation.STOPPED]
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.reply_address_enc is None and not case.follow_up
        stopped = session.scalars(select(Conversation).where(Conversation.state == "stopped")).one()
        assert stopped.address_enc is None and stopped.open_key is None
    before = len(phone.inbox)
    message_reporter(gw, case.id, "Are you safe?", "focal")
    run_jobs(gw)
    assert len(phone.inbox) == before, "a number that sent STOP is not messaged again"


def test_silence_files_the_report_with_what_it_has(gw, phone, tracker) -> None:  # type: ignore[no-untyped-def]
    phone.send("He came to our shelter at night")
    phone.send("2")
    assert sweep(gw).extra == 0
    with gw.sessions() as session, session.begin():
        session.execute(
            update(Conversation).values(last_activity_at=datetime.now(UTC) - timedelta(hours=1))
        )
    assert sweep(gw).extra == 1
    run_jobs(gw)
    number, _ = receipt_parts(phone.inbox[-1])
    case = only_case(gw)
    assert case.affected == "someone_else" and case.reply_address_enc is None
    assert tracker.requests[0].body["case_number"] == number
    sweep(gw)
    run_jobs(gw)
    assert len(tracker.requests) == 1 and len(phone.inbox) == 3


def test_report_keyword_then_silence_files_nothing(gw, phone) -> None:  # type: ignore[no-untyped-def]
    assert phone.send("REPORT") == [conversation.ASK_STATEMENT]
    with gw.sessions() as session, session.begin():
        session.execute(
            update(Conversation).values(last_activity_at=datetime.now(UTC) - timedelta(hours=1))
        )
    sweep(gw)
    run_jobs(gw)
    with gw.sessions() as session:
        assert session.scalars(select(Case)).first() is None
        assert session.scalars(select(Conversation)).one().state == "abandoned"


def test_report_keyword_with_text_starts_a_report(gw, phone) -> None:  # type: ignore[no-untyped-def]
    assert phone.send("REPORT a man at the market") == [conversation.ASK_AFFECTED]
    with gw.sessions() as session:
        conv = session.scalars(select(Conversation)).one()
        assert gw.cipher.decrypt_json(conv.answers_enc)["statement"] == "a man at the market"


def test_sender_over_the_hourly_limit_is_not_answered(gw, phone) -> None:  # type: ignore[no-untyped-def]
    for _ in range(engine.RATE_LIMIT_PER_HOUR):
        phone.send("HELP")
    assert phone.send("HELP") == []


def test_conversations_of_two_phones_do_not_mix(gw, phone) -> None:  # type: ignore[no-untyped-def]
    other = Phone(gw, "+243810000011")
    phone.send("report of phone one")
    other.send("report of phone two")
    with gw.sessions() as session:
        assert session.scalars(select(Conversation).where(Conversation.state == "open")).all()
        pseudonyms = {c.sender_pseudonym for c in session.scalars(select(Conversation))}
    assert len(pseudonyms) == 2 and PHONE not in str(pseudonyms)


def test_no_case_event_holds_the_statement_in_clear(gw, phone) -> None:  # type: ignore[no-untyped-def]
    phone.send("Lieutenant Marchetti took her phone")
    for answer in answers(follow_up="1"):
        phone.send(answer)
    with gw.sessions() as session:
        for event in session.scalars(select(CaseEvent)):
            assert event.body_enc is None or b"Marchetti" not in event.body_enc
