"""A report by Telegram, end to end: updates in, questions with buttons, the receipt out.

The Bot API is the local server of tests.support.telegram_api; nothing of
the gateway or python-telegram-bot is patched.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from channels.telegram.messages import FORGET_BUTTON, FORGET_HINT, FORGOTTEN
from gateway.cases import mailbox
from gateway.cases.outgoing import queue_message
from gateway.conversation import texts as conversation
from gateway.core import i18n
from gateway.core.models import Case, Conversation, OutboundMessage, SenderPreference
from gateway.work.outbound import enqueue_outbound
from gateway.work.reporter import message_reporter
from gateway.work.sweeper import sweep
from tests.channels.telegram.conftest import CHAT_ID, buttons_of, texts
from tests.support.jobs import run_jobs

STATEMENT = "A soldier at the checkpoint asked my sister for sex in exchange for food."


def receipt_parts(text: str) -> tuple[str, str]:
    match = re.search(r"(\d{4}-\d{6,}-\d)\D+(\d{6})", text)
    assert match, text
    return match.group(1), match.group(2)


def labels(message) -> list[str]:  # type: ignore[no-untyped-def]
    return [button["text"] for row in buttons_of(message) for button in row]


def only_case(gw) -> Case:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalars(select(Case)).one()


def file_a_report(reporter, follow_up: str = "1") -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """Statement, skip every question by button, answer follow-up; the case number and PIN."""
    reporter.send(STATEMENT)
    for _ in range(len(conversation.QUESTIONS) - 1):
        reporter.choose("0")
    [receipt] = reporter.choose(follow_up)
    return receipt_parts(receipt["text"])


def test_a_report_by_buttons_end_to_end(reporter, gw, tracker, telegram_api) -> None:  # type: ignore[no-untyped-def]
    [help_text] = reporter.send("/start")
    assert help_text["text"] == conversation.HELP and not buttons_of(help_text)

    [affected] = reporter.send(STATEMENT)
    assert affected["text"] == conversation.ASK_AFFECTED
    assert labels(affected) == ["1 Me", "2 Someone else", "Skip"]
    assert texts(reporter.choose("2")) == [conversation.ASK_DANGER]
    [where] = reporter.choose("1")
    assert where["text"] == conversation.ASK_WHERE_WHEN and labels(where) == ["Skip"]
    [follow_up] = reporter.send("Near the river camp, last Tuesday")
    assert labels(follow_up) == ["1 Yes", "2 No"]
    [receipt] = reporter.choose("1")

    number, pin = receipt_parts(receipt["text"])
    assert receipt["text"].endswith(FORGET_HINT) and "soldier" not in receipt["text"]
    assert buttons_of(receipt) == [[{"text": FORGET_BUTTON, "callback_data": "forget"}]]
    presses = 3
    answered = telegram_api.calls_to("answerCallbackQuery")
    assert len(answered) == presses and all("text" not in a for a in answered)
    # A question answered by a button loses its buttons; one answered in words keeps
    # them (a late press there is asked again, see the old-button test).
    assert len(telegram_api.calls_to("editMessageReplyMarkup")) == presses
    with_buttons = [
        m["message"]["text"]
        for m in telegram_api.chat(CHAT_ID).values()
        if m["by"] == "bot" and m["message"].get("reply_markup")
    ]
    assert with_buttons == [conversation.ASK_WHERE_WHEN, receipt["text"]]

    case = only_case(gw)
    assert (case.channel, case.provider, case.language) == ("telegram", "telegram", "en")
    # No question names what happened: the focal point categorises (finding 7).
    assert case.category is None and case.affected == "someone_else" and case.danger_now
    assert case.follow_up and case.reply_address_enc is not None
    [request] = tracker.requests
    assert request.schema_error is None and request.body["case_number"] == number
    assert request.body["narrative"] == STATEMENT
    assert mailbox.check_status(gw, number, pin, client=None).status == "received"


def test_status_round_trip_and_two_way_messages(reporter, gw, telegram_api) -> None:  # type: ignore[no-untyped-def]
    number, pin = file_a_report(reporter, follow_up="1")
    [status] = reporter.send(f"/status {number} {pin}")
    assert status["text"] == conversation.STATUS_FOUND % {"case": number, "status": "received"}

    case = only_case(gw)
    assert message_reporter(gw, case.id, "Can you tell us which camp?", "focal")
    run_jobs(gw)
    assert telegram_api.sent(CHAT_ID)[-1]["text"] == "Can you tell us which camp?"
    [ack] = reporter.send("The camp by the airport")
    assert number in ack["text"]
    view = mailbox.view_case(gw, case.id)
    assert [(m.direction, m.text) for m in view.messages] == [
        ("in", "Can you tell us which camp?"),
        ("out", "The camp by the airport"),
    ]
    [status] = reporter.send(f"STATUS {number} {pin}")
    assert "Can you tell us which camp?" in status["text"]


def test_stop_forgets_the_reporter(reporter, gw, telegram_api) -> None:  # type: ignore[no-untyped-def]
    file_a_report(reporter, follow_up="1")
    reporter.send("/report Another thing happened yesterday")  # after filing: a new one on purpose
    assert texts(reporter.send("/stop")) == [conversation.STOPPED]
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.reply_address_enc is None and not case.follow_up
        stopped = session.scalars(select(Conversation).where(Conversation.state == "stopped")).one()
        assert stopped.address_enc is None
    before = len(telegram_api.sent(CHAT_ID))
    message_reporter(gw, case.id, "Are you safe?", "focal")
    run_jobs(gw)
    assert len(telegram_api.sent(CHAT_ID)) == before


def test_a_button_of_an_old_question_is_not_an_answer(reporter, gw) -> None:  # type: ignore[no-untyped-def]
    [affected] = reporter.send(STATEMENT)
    reporter.choose("2")
    # The first question again (its buttons were taken off, but an old client may show them).
    assert texts(reporter.press("a:affected:1", on=affected)) == [conversation.ASK_DANGER]
    for answer in ("1", "0"):
        reporter.choose(answer)
    [receipt] = reporter.choose("2")
    receipt_parts(receipt["text"])
    case = only_case(gw)
    assert case.affected == "someone_else" and case.danger_now
    # After the report is filed, an old button starts nothing.
    assert texts(reporter.press("a:affected:1", on=affected)) == [conversation.HELP]
    with gw.sessions() as session:
        assert session.scalars(select(Conversation).where(Conversation.state == "open")).all() == []


@pytest.mark.parametrize("data", ["something-else", ""])
def test_a_button_that_is_not_ours_gets_the_help(reporter, gw, data: str) -> None:  # type: ignore[no-untyped-def]
    reporter.send("/help")
    assert texts(reporter.press(data)) == [conversation.HELP]


def test_the_delete_button_empties_the_chat(reporter, gw, telegram_api) -> None:  # type: ignore[no-untyped-def]
    reporter.send(STATEMENT)
    reporter.send("0")  # typed, not pressed: the reporter's own message in the chat
    for answer in ("0", "0", "2"):
        reporter.choose(answer)
    held = telegram_api.chat(CHAT_ID).values()
    assert sorted(m["by"] for m in held) == ["bot"] * 5 + ["user"] * 2
    sent_before = len(telegram_api.sent())
    assert reporter.press("forget") == []
    assert telegram_api.chat(CHAT_ID) == {}
    assert len(telegram_api.sent()) == sent_before, "deleting sends nothing new"
    popup = telegram_api.calls_to("answerCallbackQuery")[-1]
    assert popup["text"] == FORGOTTEN and popup["show_alert"] is True
    assert all(len(call["message_ids"]) <= 100 for call in telegram_api.calls_to("deleteMessages"))


def test_the_receipt_after_silence_has_the_delete_button_too(reporter, gw, tracker) -> None:  # type: ignore[no-untyped-def]
    reporter.send(STATEMENT)
    with gw.sessions() as session, session.begin():
        session.execute(
            update(Conversation).values(last_activity_at=datetime.now(UTC) - timedelta(hours=1))
        )
    sweep(gw)
    run_jobs(gw)
    receipt = reporter.api.sent(CHAT_ID)[-1]
    receipt_parts(receipt["text"])
    assert buttons_of(receipt) == [[{"text": FORGET_BUTTON, "callback_data": "forget"}]]
    assert len(tracker.requests) == 1


def test_language_list_has_buttons(reporter, gw) -> None:  # type: ignore[no-untyped-def]
    [choices] = reporter.send("/language")
    offered = i18n.configured_locales(gw.settings.locales)
    assert labels(choices) == [i18n.display_name(code) for code in offered]
    [done] = reporter.press(f"lang:{offered[0]}")
    assert done["text"] == i18n.gettext(offered[0], conversation.LANGUAGE_SET)


def test_a_menu_command_does_not_change_the_language(reporter, gw) -> None:  # type: ignore[no-untyped-def]
    if "fr" not in i18n.available_locales():
        pytest.skip("no French catalog in i18n/ yet")
    reporter.send("/language fr")
    reporter.send("/help")
    with gw.sessions() as session:
        assert session.scalars(select(SenderPreference)).one().language == "fr"


def test_a_blocked_bot_is_not_retried(reporter, gw, telegram_api) -> None:  # type: ignore[no-untyped-def]
    telegram_api.blocked.add(CHAT_ID)
    reporter.send("/help")
    with gw.sessions() as session:
        message = session.scalars(select(OutboundMessage)).one()
        assert message.state == "dead" and message.attempts == 1
        assert message.last_error == "telegram: the reporter blocked the bot or left"
    assert len(telegram_api.calls_to("sendMessage")) == 1


def test_a_long_message_is_sent_in_parts(reporter, gw, telegram_api) -> None:  # type: ignore[no-untyped-def]
    file_a_report(reporter, follow_up="1")
    long = "Please read this carefully. " * 200  # 5600 characters: over sendMessage's 4096
    message_reporter(gw, only_case(gw).id, long, "focal")
    run_jobs(gw)
    first, second = telegram_api.sent(CHAT_ID)[-2:]
    assert len(first["text"]) == 4096 and first["text"] + second["text"] == long


def test_a_message_to_an_address_that_is_not_telegrams_is_not_retried(gw, telegram_api) -> None:  # type: ignore[no-untyped-def]
    with gw.sessions() as session, session.begin():
        message_id = queue_message(
            session,
            gw,
            channel="telegram",
            provider="telegram",
            address="+243810000010",
            text="hello",
            dedupe_key="test:not-an-address",
        )
    enqueue_outbound(gw, message_id)
    run_jobs(gw)
    with gw.sessions() as session:
        message = session.get(OutboundMessage, message_id)
        assert message.state == "dead" and message.attempts == 1
    assert telegram_api.calls_to("sendMessage") == []
