"""Africa's Talking: recorded callbacks, posted with the callback key as Africa's Talking would."""

from __future__ import annotations

import json

import pytest

from gateway.conversation import texts as conversation
from tests.channels.sms.harness import (
    AfricasTalking,
    Expect,
    Phone,
    count_events,
    fixture,
    outbound_messages,
    receipt_parts,
    run_case,
    with_auth_cases,
)
from tests.channels.sms.harness import Case as Row
from tests.support.jobs import run_jobs

TEXT = "A driver of the agency stopped me on the road"
CASES = with_auth_cases(
    [
        Row(
            "incoming sms",
            "incoming",
            expect=Expect(
                "sms",
                "+243810000201",
                TEXT,
                message_id="ec9adc86-51d5-4bc8-8eb0-d8ab0bb50201",
                received_year=2026,
            ),
        ),
        Row(
            "date with a space instead of T",
            "incoming_space_date",
            expect=Expect("sms", "+243810000201", TEXT, received_year=2026),
        ),
        Row(
            "unreadable date: kept, receive time stands in",
            "incoming_odd_date",
            expect=Expect("sms", "+243810000201", TEXT),
        ),
        Row("no date at all", "incoming", drop=("date",), expect=Expect("sms", "+243810000201")),
        Row(
            "operator's name as sender",
            "incoming_from_name",
            expect=Expect("sms", "MTN", "Your bundle expires today"),
        ),
        Row("empty text is stored", "incoming_empty_text", expect=Expect("sms", text="")),
        Row(
            "odd characters",
            "incoming",
            change={"text": "\x00\ufffd\u202e ok"},
            expect=Expect("sms", text="\x00\ufffd\u202e ok"),
        ),
        Row("delivery report sent to the message endpoint", "delivery_success", 200, 0),
        Row("missing id", "incoming", 400, 0, drop=("id",)),
        Row("missing from", "incoming", 400, 0, drop=("from",)),
        Row("a body that is not a form", "incoming", 403, 0, raw=b"\x00\xff{not a form"),
    ],
    "incoming",
)


@pytest.fixture
def at(client) -> AfricasTalking:  # type: ignore[no-untyped-def]
    return AfricasTalking(client)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_table(gw, at, case, caplog) -> None:  # type: ignore[no-untyped-def]
    run_case(gw, at, case, caplog)


def test_duplicate_delivery_is_one_event(gw, at) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        assert at.deliver(Row("sms", "incoming")).status_code == 200
    assert count_events(gw) == 1


def make_phone(gw, at, api, number: str = "+243810000211") -> Phone:  # type: ignore[no-untyped-def]
    base = fixture("africastalking", "incoming")["form"]

    def make(text: str, n: str) -> dict[str, str]:
        return {**base, "from": number, "text": text, "id": f"at-{n}"}

    return Phone(gw, at, api, make, number)


def test_full_conversation_status_stop_and_joined_parts(gw, at, provider_api, tracker) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, at, provider_api)
    assert phone.send("The first part of a long message that the phone split,") == [
        conversation.ASK_AFFECTED
    ]
    assert phone.send("and the second part of it.") == []  # joined to the statement
    for answer, question in (
        ("1", conversation.ASK_DANGER),
        ("no", conversation.ASK_WHERE_WHEN),
        ("0", conversation.ASK_FOLLOW_UP),
    ):
        assert phone.send(answer) == [question]
    [receipt] = phone.send("2")
    number, pin = receipt_parts(receipt)
    body = tracker.requests[0].body
    assert body["case_number"] == number
    assert body["narrative"] == (
        "The first part of a long message that the phone split, and the second part of it."
    )
    [status] = phone.send(f"STATUS {number} {pin}")
    assert number in status
    assert phone.send("STOP") == [conversation.STOPPED]
    for call in provider_api.sent(phone.address):
        assert call.form["from"] == "12345" and call.headers["apikey"]
        assert call.form["username"] == "sandbox"


def test_delivery_reports_are_recorded(gw, at, provider_api) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, at, provider_api)
    phone.send("HELP")
    [message] = outbound_messages(gw)
    report = {
        **fixture("africastalking", "delivery_success")["form"],
        "id": message.provider_message_id,
    }
    assert at.call(at.report_path, report).status_code == 200
    failed = {
        **fixture("africastalking", "delivery_failed")["form"],
        "id": message.provider_message_id,
    }
    assert at.call(at.report_path, failed).status_code == 200  # after a final status: ignored
    [message] = outbound_messages(gw)
    assert message.delivery_status == "delivered"
    assert at.call(at.report_path, report, auth="bad").status_code == 403
    assert at.call(at.report_path, {"status": "Success"}).status_code == 400
    assert count_events(gw) == 1


def test_failed_delivery_keeps_the_reason_code(gw, at, provider_api) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, at, provider_api, "+243810000212")
    phone.send("HELP")
    [message] = outbound_messages(gw)
    failed = {
        **fixture("africastalking", "delivery_failed")["form"],
        "id": message.provider_message_id,
    }
    assert at.call(at.report_path, failed).status_code == 200
    [message] = outbound_messages(gw)
    assert message.delivery_status == "failed" and "UserInBlackList" in message.last_error


def recipient(code: int, status: str) -> str:
    return json.dumps(
        {
            "SMSMessageData": {
                "Message": "Sent to 0/1",
                "Recipients": [
                    {
                        "statusCode": code,
                        "number": "+243810000213",
                        "status": status,
                        "cost": "0",
                        "messageId": "None",
                    }
                ],
            }
        }
    )


@pytest.mark.parametrize(
    ("answer", "state", "attempts"),
    [
        ((201, recipient(403, "InvalidPhoneNumber")), "dead", 1),
        ((201, recipient(406, "UserInBlacklist")), "dead", 1),
        ((201, recipient(405, "InsufficientBalance")), "done", 2),
        ((500, "Internal error"), "done", 2),
        ((400, "Invalid request"), "dead", 1),
    ],
)
def test_send_errors(gw, at, provider_api, answer, state, attempts) -> None:  # type: ignore[no-untyped-def]
    provider_api.script.append(answer)
    make_phone(gw, at, provider_api, "+243810000213").send("HELP")
    [message] = outbound_messages(gw)
    assert (message.state, message.attempts) == (state, attempts)


def test_an_operator_name_is_not_answered(gw, at, provider_api) -> None:  # type: ignore[no-untyped-def]
    at.deliver(Row("mtn", "incoming_from_name"))
    run_jobs(gw)
    [message] = outbound_messages(gw)
    assert message.state == "dead" and "name" in message.last_error
    assert provider_api.sent() == []


def test_binary_body_with_the_right_key_is_refused_not_an_error(gw, client) -> None:  # type: ignore[no-untyped-def]
    from tests.channels.sms.harness import AT_KEY

    for content_type in ("application/x-www-form-urlencoded", "application/octet-stream"):
        response = client.post(
            f"/sms/africastalking?key={AT_KEY}",
            data=b"\xff\x00%zz&&=\x80",
            content_type=content_type,
        )
        assert response.status_code == 400
    assert count_events(gw) == 0
