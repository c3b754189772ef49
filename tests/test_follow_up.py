"""A reporter's follow-up after filing reaches their case (issue 16, finding 9).

End to end through the real endpoints: Twilio's SMS and WhatsApp webhook
signed as Twilio signs it, Telegram's webhook with its secret header; the
worker's jobs run in-process; the focal point writes from the console; what
the gateway sends is read from the local servers that play the providers'
APIs. Each test runs on PostgreSQL + Redis and on the embedded default.
"""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from gateway.conversation import follow_up
from gateway.conversation import texts as conversation
from gateway.core import i18n
from gateway.core.accounts import User
from gateway.core.models import Attachment, Case, CaseEvent, Conversation, Report
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import CaseEventKind, Role
from gateway.work.sweeper import sweep
from tests.channels.sms.harness import Twilio, fixture
from tests.channels.telegram.conftest import SECRET, TOKEN
from tests.channels.telegram.conftest import Reporter as TelegramReporter
from tests.console.conftest import Browser, Clock, csrf_of, make_user, png
from tests.support.jobs import run_jobs
from tests.support.providers import ProviderAPI
from tests.support.telegram_api import TelegramAPI

STATEMENT = "A man at the distribution point asked me for money"
REMEMBERED = "I remembered: it was on Friday evening"
QUESTION = "Thank you. Do you know his name or where he works?"
FREE_ANSWER = "Reply with one of the numbers: he works at the water point"
SECOND_QUESTION = "Was it the same man as before? Send 1 for yes, 2 for no."
CASE_NUMBER = re.compile(r"\d{4}-\d{6,}-\d")
RECEIPT = re.compile(r"(\d{4}-\d{6,}-\d)\D+(\d{6})")
FIRST_QUESTION = conversation.QUESTIONS[conversation.ORDER[1]]
_sids = count(1)


class Texting:
    """A reporter on one channel: sends through the real webhook, reads what the bot sent."""

    def __init__(self, send: Any, received: Any) -> None:
        self._send, self.received = send, received

    def send(self, text: str, **fields: str) -> list[str]:
        before = len(self.received())
        self._send(text, **fields)
        return self.received()[before:]

    def file(self, consent: bool) -> tuple[str, str]:
        """Make a report, skipping every question; (case number, PIN) from the receipt."""
        self.send(STATEMENT)
        for _question in list(conversation.QUESTIONS)[:-1]:  # the last asks for consent
            self.send("0")
        replies = self.send("1" if consent else "2")
        found = [m for m in (RECEIPT.search(text) for text in replies) if m]
        assert found, replies
        return found[0].group(1), found[0].group(2)


def twilio_reporter(gw: Gateway, client: FlaskClient, api: ProviderAPI, channel: str) -> Texting:
    number = "+243810000161" if channel == "sms" else "+243810000162"
    address = number if channel == "sms" else f"whatsapp:{number}"
    base = fixture("twilio", "sms_inbound" if channel == "sms" else "whatsapp_inbound")["params"]
    twilio = Twilio(client)

    def send(text: str, **fields: str) -> None:
        sid = f"SM{next(_sids) + 900:0>32}"
        payload = {**base, "From": address, "WaId": number[1:], "Body": text, "MessageSid": sid}
        payload.update(SmsMessageSid=sid, SmsSid=sid, **fields)
        assert twilio.call(twilio.message_path, payload).status_code == 200
        run_jobs(gw)

    return Texting(send, lambda: [api.text_of(call) for call in api.sent(address)])


def telegram_reporter(gw: Gateway, client: FlaskClient, api: TelegramAPI) -> Texting:
    reporter = TelegramReporter(client, gw, api)
    return Texting(reporter.send, lambda: [m["text"] for m in api.sent(reporter.chat_id)])


@pytest.fixture
def env(
    env: dict[str, str], provider_api: ProviderAPI, telegram_api: TelegramAPI
) -> dict[str, str]:
    """Twilio and Telegram pointed at the local servers."""
    return {
        **env,
        **provider_api.settings(),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": telegram_api.url,
    }


@pytest.fixture
def focal(app, gw) -> Browser:  # type: ignore[no-untyped-def]
    """A focal point signed in to the console."""
    user = make_user(gw, Role.FOCAL_POINT, "focal_follow_up")
    with gw.sessions() as session, session.begin():
        session.execute(
            update(User).where(User.username == user.username).values(must_change_password=False)
        )
    clock = Clock()
    app.config["CONSOLE_CLOCK"] = clock  # the codes the browser computes are the server's
    browser = Browser(app.test_client(), clock)
    assert browser.login(user).status_code == 302
    browser.token = csrf_of(browser.get("/console/stats").get_data(as_text=True))
    return browser


def ask(gw: Gateway, focal: Browser, number: str, text: str) -> None:
    """The focal point writes to the reporter from the case page."""
    assert focal.post(f"/console/cases/{number}/message", message=text).status_code == 302
    run_jobs(gw)


def t(message: str, **values: object) -> str:
    return i18n.gettext("en", message, **values)


def from_reporter(gw: Gateway) -> dict[str, list[str]]:
    """Every addition from a reporter, by case number."""
    found: dict[str, list[str]] = {}
    with gw.sessions() as session:
        for case in session.scalars(select(Case).order_by(Case.id)):
            found[case.case_number] = [
                gw.cipher.decrypt(e.body_enc).decode()
                for e in case.events
                if e.kind == CaseEventKind.MESSAGE_FROM_REPORTER.value and e.body_enc
            ]
    return found


def digits(number: str) -> str:
    return number.replace("-", "")


def open_conversations(gw: Gateway) -> list[Conversation]:
    with gw.sessions() as session:
        return list(session.scalars(select(Conversation).where(Conversation.state == "open")))


def age_case(gw: Gateway, number: str, days: int) -> None:
    """Make the case's last exchange with the reporter `days` old."""
    then = utcnow() - timedelta(days=days)
    with gw.sessions() as session, session.begin():
        case_id = session.scalars(select(Case.id).where(Case.case_number == digits(number))).one()
        session.execute(update(Case).where(Case.id == case_id).values(created_at=then))
        session.execute(
            update(CaseEvent).where(CaseEvent.case_id == case_id).values(created_at=then)
        )


@pytest.fixture(params=["sms", "whatsapp", "telegram"])
def reporter(request, gw, client, provider_api, telegram_api) -> Texting:  # type: ignore[no-untyped-def]
    if request.param == "telegram":
        return telegram_reporter(gw, client, telegram_api)
    return twilio_reporter(gw, client, provider_api, request.param)


def test_the_issue_scenario_every_text_reaches_the_case(gw, reporter, focal, tracker) -> None:  # type: ignore[no-untyped-def]
    """File; "I remembered…"; the focal point asks twice; free text, then a digit."""
    number, _pin = reporter.file(consent=True)
    [ack] = reporter.send(REMEMBERED)
    assert ack == t(follow_up.ADDED, case=number)
    assert open_conversations(gw) == [], "a follow-up does not start a new report"

    ask(gw, focal, number, QUESTION)
    assert reporter.received()[-1] == QUESTION
    assert reporter.send(FREE_ANSWER) == [t(conversation.REPLY_ADDED, case=number)]
    ask(gw, focal, number, SECOND_QUESTION)
    assert reporter.send("1") == [t(conversation.REPLY_ADDED, case=number)]

    assert from_reporter(gw) == {digits(number): [REMEMBERED, FREE_ANSWER, "1"]}
    page = focal.get(f"/console/cases/{number}").get_data(as_text=True)
    for text in (REMEMBERED, FREE_ANSWER):
        assert text in page
    assert open_conversations(gw) == []
    cases = [r for r in tracker.requests if "narrative" in r.body]
    assert [r.body["case_number"] for r in cases] == [number]


def test_a_reporter_who_did_not_consent_loses_nothing_and_gets_only_answers(
    gw, client, provider_api, telegram_api, focal
) -> None:  # type: ignore[no-untyped-def]
    """No address kept: each message is answered once, nothing else is pushed."""
    reporter = twilio_reporter(gw, client, provider_api, "sms")
    number, pin = reporter.file(consent=False)
    with gw.sessions() as session:
        assert session.scalars(select(Case)).one().reply_address_enc is None
    sent_before = len(reporter.received())
    assert reporter.send(REMEMBERED) == [t(follow_up.ADDED, case=number)]
    ask(gw, focal, number, QUESTION)
    [status] = reporter.send(f"STATUS {number} {pin}")
    assert QUESTION in status, "the question waits for the status check"
    assert reporter.send(FREE_ANSWER) == [t(conversation.REPLY_ADDED, case=number)]
    assert reporter.send("2") == [t(follow_up.ADDED, case=number)]
    assert len(reporter.received()) - sent_before == 4, "one answer per message, nothing pushed"
    assert from_reporter(gw) == {digits(number): [REMEMBERED, FREE_ANSWER, "2"]}


def test_an_answer_to_the_focal_point_during_a_new_report_goes_to_the_case(
    gw, client, provider_api, telegram_api, focal
) -> None:  # type: ignore[no-untyped-def]
    """The question asked last is the one answered: a digit too."""
    reporter = twilio_reporter(gw, client, provider_api, "sms")
    number, _ = reporter.file(consent=True)
    assert reporter.send("REPORT another matter at the market") == [t(FIRST_QUESTION)]
    ask(gw, focal, number, SECOND_QUESTION)
    assert reporter.send("1") == [t(conversation.REPLY_ADDED, case=number)]
    assert from_reporter(gw) == {digits(number): ["1"]}
    [open_one] = open_conversations(gw)
    assert open_one.step == conversation.ORDER[1], "the new report's question is still open"
    assert reporter.send("2") == [t(conversation.QUESTIONS[conversation.ORDER[2]])]


def test_an_older_case_asks_once_and_keeps_the_text_whatever_the_answer(
    gw, client, provider_api, telegram_api
) -> None:  # type: ignore[no-untyped-def]
    reporter = twilio_reporter(gw, client, provider_api, "sms")
    number, _ = reporter.file(consent=True)
    which = t(follow_up.ASK_WHICH_CASE, case=number)

    age_case(gw, number, follow_up.ADD_WINDOW.days + 1)
    assert reporter.send("He came back yesterday") == [which]
    assert reporter.send("1") == [t(follow_up.ADDED, case=number)]

    age_case(gw, number, follow_up.ADD_WINDOW.days + 1)
    assert reporter.send("Something else entirely") == [which]
    assert reporter.send("2") == [t(FIRST_QUESTION)]
    [new] = open_conversations(gw)
    assert gw.cipher.decrypt_json(new.answers_enc)["statement"] == "Something else entirely"
    reporter.send("STOP")

    age_case(gw, number, follow_up.ADD_WINDOW.days + 1)
    assert reporter.send("A third thing") == [which]
    sent = len(reporter.received())
    with gw.sessions() as session, session.begin():  # the reporter says nothing more
        session.execute(update(Conversation).values(last_activity_at=utcnow() - timedelta(hours=2)))
    sweep(gw)
    run_jobs(gw)
    assert len(reporter.received()) == sent, "silence: no message"

    age_case(gw, number, follow_up.ADD_WINDOW.days + 1)
    assert reporter.send("A fourth thing") == [which]
    assert reporter.send("STOP") == [t(conversation.STOPPED)]

    expected = ["He came back yesterday", "A third thing", "A fourth thing"]
    assert from_reporter(gw) == {digits(number): expected}


@pytest.mark.parametrize(
    ("make", "reply"),
    [
        ("HELP", conversation.HELP),
        ("REPORT a different matter", FIRST_QUESTION),
    ],
)
def test_keywords_keep_their_meaning_after_filing(
    gw, client, provider_api, telegram_api, make: str, reply: str
) -> None:  # type: ignore[no-untyped-def]
    reporter = twilio_reporter(gw, client, provider_api, "sms")
    number, pin = reporter.file(consent=True)
    assert reporter.send(make) == [t(reply)]
    [status] = reporter.send(f"STATUS {number} {pin}")
    assert number in status
    assert from_reporter(gw) == {digits(number): []}


def test_a_closed_case_takes_no_additions(gw, client, provider_api, telegram_api) -> None:  # type: ignore[no-untyped-def]
    reporter = twilio_reporter(gw, client, provider_api, "sms")
    number, _ = reporter.file(consent=True)
    with gw.sessions() as session, session.begin():
        session.execute(update(Case).values(status="closed"))
    assert reporter.send("A new matter") == [t(FIRST_QUESTION)]
    assert from_reporter(gw) == {digits(number): []}


def test_a_case_closed_while_asking_makes_the_held_text_a_new_report(
    gw, client, provider_api, telegram_api
) -> None:  # type: ignore[no-untyped-def]
    reporter = twilio_reporter(gw, client, provider_api, "sms")
    number, _ = reporter.file(consent=True)
    age_case(gw, number, 2)
    assert reporter.send("He came back yesterday") == [t(follow_up.ASK_WHICH_CASE, case=number)]
    with gw.sessions() as session, session.begin():
        session.execute(update(Case).values(status="closed"))
    assert reporter.send("1") == [t(FIRST_QUESTION)]
    [new] = open_conversations(gw)
    assert gw.cipher.decrypt_json(new.answers_enc)["statement"] == "He came back yesterday"


def test_a_photo_sent_after_filing_is_attached_to_the_case(
    gw, client, provider_api, telegram_api
) -> None:  # type: ignore[no-untyped-def]
    reporter = twilio_reporter(gw, client, provider_api, "whatsapp")
    number, _ = reporter.file(consent=True)
    provider_api.media["/media/MEFOLLOW1"] = png()
    photo = {
        "NumMedia": "1",
        "MediaUrl0": provider_api.url + "/media/MEFOLLOW1",
        "MediaContentType0": "image/png",
    }
    assert reporter.send("", **photo) == [t(follow_up.ADDED, case=number)]
    run_jobs(gw)
    with gw.sessions() as session:
        attached = session.scalars(
            select(Attachment).join(Report).join(Case).where(Case.case_number == digits(number))
        ).all()
        assert [a.content_type for a in attached] == ["image/png"]
    assert open_conversations(gw) == []
