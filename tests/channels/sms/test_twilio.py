"""Twilio Messaging (SMS and WhatsApp): recorded payloads, signed as Twilio signs them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from gateway.conversation import texts as conversation
from gateway.core.models import Case, MediaDownload, OutboundMessage, ProviderCleanup
from gateway.core.schema import utcnow
from gateway.work import cleanup, reporter
from tests.channels.sms.harness import (
    PUBLIC_BASE_URL,
    Expect,
    Phone,
    Twilio,
    count_events,
    fixture,
    outbound_messages,
    receipt_parts,
    run_case,
    with_auth_cases,
)
from tests.channels.sms.harness import Case as Row
from tests.support import providers
from tests.support.jobs import run_jobs
from tests.support.questions import answers
from tests.test_privacy import jpeg_with_gps

SMS_SID = "SM11111111111111111111111111111101"
CASES = with_auth_cases(
    [
        Row(
            "sms",
            "sms_inbound",
            expect=Expect(
                "sms",
                "+243810000101",
                "A soldier at the checkpoint asked for sex in exchange for passing",
                message_id=SMS_SID,
            ),
        ),
        Row(
            "a long sms Twilio joined from two segments",
            "sms_inbound_two_segments",
            expect=Expect("sms", "+243810000101", message_id="SM11111111111111111111111111111102"),
        ),
        Row(
            "arabic sms",
            "sms_arabic",
            expect=Expect("sms", "+243810000105", "طلب مني جندي المال مقابل الطعام"),
        ),
        Row(
            "empty text is stored (the conversation answers with help)",
            "sms_empty_body",
            expect=Expect("sms", "+243810000101", ""),
        ),
        Row(
            "odd characters in the text",
            "sms_inbound",
            change={"Body": "\x00\x01 \ufffd\U0001f600 ok"},
            expect=Expect("sms", text="\x00\x01 \ufffd\U0001f600 ok"),
        ),
        Row(
            "SmsSid when MessageSid is missing",
            "sms_inbound",
            drop=("MessageSid", "SmsMessageSid"),
            expect=Expect("sms", message_id=SMS_SID),
        ),
        Row(
            "whatsapp",
            "whatsapp_inbound",
            expect=Expect(
                "whatsapp", "+243810000102", "Someone from the mission came to our shelter"
            ),
        ),
        Row(
            "whatsapp photo without text",
            "whatsapp_media_only",
            expect=Expect("whatsapp", "+243810000102", "", media=1),
        ),
        Row(
            "whatsapp business-scoped id without a phone",
            "whatsapp_bsuid_only",
            expect=Expect("whatsapp", "whatsapp:US.13491208655302741918"),
        ),
        Row(
            "whatsapp business-scoped id with the phone in WaId",
            "whatsapp_bsuid_with_phone",
            expect=Expect("whatsapp", "+243810000104"),
        ),
        Row("status callback sent to the message endpoint", "status_delivered", 200, 0),
        Row(
            "whatsapp failure callback on the message endpoint",
            "status_whatsapp_failed_63016",
            200,
            0,
        ),
        Row(
            "missing MessageSid",
            "sms_inbound",
            400,
            0,
            drop=("MessageSid", "SmsMessageSid", "SmsSid"),
        ),
        Row("missing From", "sms_inbound", 400, 0, drop=("From",)),
        Row("a body that is not a form", "sms_inbound", 403, 0, raw=b"\xff\xfe\x00binary\x80"),
    ],
    "sms_inbound",
)


@pytest.fixture
def twilio(client) -> Twilio:  # type: ignore[no-untyped-def]
    return Twilio(client)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_table(gw, twilio, case, caplog) -> None:  # type: ignore[no-untyped-def]
    run_case(gw, twilio, case, caplog)


def test_answer_is_empty_twiml_at_once(gw, twilio) -> None:  # type: ignore[no-untyped-def]
    response = twilio.deliver(Row("sms", "sms_inbound"))
    assert response.mimetype == "text/xml"
    assert response.get_data(as_text=True).endswith("<Response />")
    assert twilio.deliver(Row("bad", "sms_inbound", auth="bad")).status_code == 403


def test_signature_uses_the_public_url_not_the_request_host(gw, twilio) -> None:  # type: ignore[no-untyped-def]
    payload = twilio.payload(Row("sms", "sms_inbound"))
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(providers.TWILIO_TOKEN)
    forged = validator.compute_signature("http://evil.test/sms/twilio", payload)
    response = twilio.client.post(
        "/sms/twilio",
        data=payload,
        headers={
            "X-Twilio-Signature": forged,
            "Host": "evil.test",
            "X-Forwarded-Host": "evil.test",
        },
    )
    assert response.status_code == 403 and count_events(gw) == 0
    signed = validator.compute_signature(PUBLIC_BASE_URL + "/sms/twilio?x=1", payload)
    response = twilio.client.post(
        "/sms/twilio?x=1", data=payload, headers={"X-Twilio-Signature": signed}
    )
    assert response.status_code == 200 and count_events(gw) == 1


def test_a_repeated_parameter_is_signed_with_every_value(gw, twilio) -> None:  # type: ignore[no-untyped-def]
    """Twilio signs each value of a repeated key (sorted); dropping one breaks the signature."""
    from urllib.parse import urlencode

    from twilio.request_validator import RequestValidator
    from werkzeug.datastructures import MultiDict

    payload = twilio.payload(Row("sms", "sms_inbound"))
    pairs = [*payload.items(), ("Extra", "b"), ("Extra", "a")]
    validator = RequestValidator(providers.TWILIO_TOKEN)
    signed = validator.compute_signature(PUBLIC_BASE_URL + "/sms/twilio", MultiDict(pairs))
    one_value = validator.compute_signature(PUBLIC_BASE_URL + "/sms/twilio", MultiDict(pairs[:-1]))
    form = "application/x-www-form-urlencoded"
    for signature, status in ((one_value, 403), (signed, 200)):
        response = twilio.client.post(
            "/sms/twilio",
            data=urlencode(pairs),
            content_type=form,
            headers={"X-Twilio-Signature": signature},
        )
        assert response.status_code == status
    assert count_events(gw) == 1


def test_duplicate_delivery_is_one_event(gw, twilio) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3):
        assert twilio.deliver(Row("sms", "sms_inbound")).status_code == 200
    assert count_events(gw) == 1


def make_phone(gw, twilio, api, number: str = "+243810000111", whatsapp: bool = False) -> Phone:  # type: ignore[no-untyped-def]
    base = fixture("twilio", "whatsapp_inbound" if whatsapp else "sms_inbound")["params"]
    address = f"whatsapp:{number}" if whatsapp else number

    def make(text: str, n: str) -> dict[str, str]:
        sid = f"SM{n:0>32}"
        return {
            **base,
            "From": address,
            "WaId": number.lstrip("+"),
            "Body": text,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
        }

    return Phone(gw, twilio, api, make, address)


def test_full_conversation_status_and_stop(gw, twilio, provider_api, tracker) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, twilio, provider_api)
    assert phone.send("A man from the agency asked my sister for sex for food") == [
        conversation.ASK_AFFECTED
    ]
    assert phone.send("2") == [conversation.ASK_DANGER]
    assert phone.send("yes") == [conversation.ASK_WHERE_WHEN]
    assert phone.send("At the market, last week") == [conversation.ASK_FOLLOW_UP]
    [receipt] = phone.send("1")
    number, pin = receipt_parts(receipt)
    assert tracker.requests[0].body["case_number"] == number
    assert tracker.requests[0].body["channel"] == "sms"
    [status] = phone.send(f"STATUS {number} {pin}")
    assert number in status and "received" in status
    assert phone.send("STOP") == [conversation.STOPPED]
    sent = provider_api.sent(phone.address)
    assert all(call.form["From"] == "+243810009901" for call in sent)
    assert all(
        call.form["StatusCallback"] == PUBLIC_BASE_URL + "/sms/twilio/status" for call in sent
    )
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.reply_address_enc is None  # STOP forgot it


def test_whatsapp_conversation_answers_on_whatsapp(gw, twilio, provider_api) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, twilio, provider_api, "+243810000112", whatsapp=True)
    assert phone.send("Something happened at the clinic") == [conversation.ASK_AFFECTED]
    [call] = provider_api.sent(phone.address)
    assert call.form["To"] == "whatsapp:+243810000112"
    assert call.form["From"] == "whatsapp:+243810009902"


def test_status_callback_records_delivery_and_deletes_twilios_copy(
    gw, twilio, provider_api
) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, twilio, provider_api)
    phone.send("HELP")
    [message] = outbound_messages(gw)
    assert message.delivery_status is None and message.provider_message_id
    # The incoming message was deleted at Twilio once processed; the reply waits for its report.
    [delete] = [c.path for c in provider_api.calls if c.method == "DELETE"]
    assert delete.startswith(f"/2010-04-01/Accounts/{providers.TWILIO_SID}/Messages/SM")
    assert message.provider_message_id not in delete
    status = {
        **fixture("twilio", "status_sent")["params"],
        "MessageSid": message.provider_message_id,
    }
    assert twilio.call("/sms/twilio/status", status).status_code == 200
    status["MessageStatus"] = status["SmsStatus"] = "delivered"
    assert twilio.call("/sms/twilio/status", status).status_code == 200
    status["MessageStatus"] = status["SmsStatus"] = "sent"  # late and out of order
    assert twilio.call("/sms/twilio/status", status).status_code == 200
    [message] = outbound_messages(gw)
    assert message.delivery_status == "delivered"
    run_jobs(gw)
    deleted = {c.path.rsplit("/", 1)[1] for c in provider_api.calls if c.method == "DELETE"}
    assert f"{message.provider_message_id}.json" in deleted
    assert count_events(gw) == 1  # the callbacks stored nothing


def test_status_callback_is_signed_and_well_formed(gw, twilio) -> None:  # type: ignore[no-untyped-def]
    status = fixture("twilio", "status_delivered")["params"]
    assert twilio.call("/sms/twilio/status", status, auth="bad").status_code == 403
    assert twilio.call("/sms/twilio/status", status, auth="missing").status_code == 403
    missing = {k: v for k, v in status.items() if k not in ("MessageStatus", "SmsStatus")}
    assert twilio.call("/sms/twilio/status", missing).status_code == 400
    assert twilio.call("/sms/twilio/status", status).status_code == 200  # unknown sid: nothing


def test_whatsapp_window_failure_is_recorded(gw, twilio, provider_api) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, twilio, provider_api, "+243810000113", whatsapp=True)
    phone.send("HELP")
    [message] = outbound_messages(gw)
    status = {
        **fixture("twilio", "status_whatsapp_failed_63016")["params"],
        "MessageSid": message.provider_message_id,
    }
    assert twilio.call("/sms/twilio/status", status).status_code == 200
    [message] = outbound_messages(gw)
    assert message.delivery_status == "failed" and "63016" in message.last_error


@pytest.mark.parametrize(
    ("answer", "state", "attempts"),
    [
        ((400, {"code": 63016, "message": "outside window", "status": 400}), "dead", 1),
        ((400, {"code": 21211, "message": "invalid To", "status": 400}), "dead", 1),
        ((503, {"code": 20500, "status": 503}), "done", 2),
        ((429, {"code": 20429, "status": 429}), "done", 2),
        ((401, {"code": 20003, "status": 401}), "done", 2),
    ],
)
def test_send_errors(gw, twilio, provider_api, answer, state, attempts) -> None:  # type: ignore[no-untyped-def]
    provider_api.script.append((answer[0], json.dumps(answer[1])))
    phone = make_phone(gw, twilio, provider_api, "+243810000114", whatsapp=True)
    phone.send("HELP")
    [message] = outbound_messages(gw)
    assert (message.state, message.attempts) == (state, attempts)
    if answer[1]["code"] == 63016:
        assert "63016" in message.last_error


def test_a_message_in_progress_is_redacted_then_deleted_later(gw, twilio, provider_api) -> None:  # type: ignore[no-untyped-def]
    provider_api.script.append((409, json.dumps({"code": 20009, "status": 409})))
    twilio.deliver(Row("sms", "sms_inbound", change={"Body": "HELP"}))
    provider_api.script.insert(0, (201, json.dumps({"sid": "SMreply", "status": "queued"})))
    run_jobs(gw)
    redactions = [
        c
        for c in provider_api.calls
        if c.method == "POST" and c.path.endswith(f"/Messages/{SMS_SID}.json")
    ]
    assert [c.form for c in redactions] == [{"Body": ""}]
    with gw.sessions() as session, session.begin():
        row = session.scalars(
            select(ProviderCleanup).where(ProviderCleanup.provider_message_id == SMS_SID)
        ).one()
        assert row.state == "pending" and row.last_error == "not yet deletable"
        row.next_attempt_at = utcnow() - timedelta(seconds=1)  # the retry is due
        row_id = row.id
    cleanup.enqueue(gw, row_id)
    run_jobs(gw)
    with gw.sessions() as session:
        assert session.get(ProviderCleanup, row_id).state == "done"


def test_media_is_deleted_only_after_it_was_fetched(gw, twilio, provider_api, tracker) -> None:  # type: ignore[no-untyped-def]
    provider_api.media["/media/ME1"] = jpeg_with_gps()
    media = Row(
        "photo", "whatsapp_media_only", change={"MediaUrl0": provider_api.url + "/media/ME1"}
    )
    twilio.deliver(media)
    run_jobs(gw)
    media_sid = twilio.payload(media)["MessageSid"]
    assert not [c for c in provider_api.calls if c.method == "DELETE" and media_sid in c.path]
    phone = make_phone(gw, twilio, provider_api, "+243810000102", whatsapp=True)
    for answer in answers(follow_up="2"):
        phone.send(answer)
    with gw.sessions() as session, session.begin():
        assert session.scalars(select(MediaDownload)).one().state == "done"
        # The media wait is over: look again now rather than in MEDIA_WAIT.
        session.execute(update(ProviderCleanup).values(next_attempt_at=utcnow()))
        waiting = session.scalars(
            select(ProviderCleanup.id).where(ProviderCleanup.provider_message_id == media_sid)
        ).all()
    for row_id in waiting:
        cleanup.enqueue(gw, row_id)
    run_jobs(gw)
    assert [c for c in provider_api.calls if c.method == "DELETE" and media_sid in c.path]
    [request] = tracker.requests
    assert request.body["attachments"][0]["content_type"] == "image/jpeg"


def test_focal_point_message_reaches_the_reporter(gw, twilio, provider_api) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, twilio, provider_api, "+243810000115")
    phone.send("report text")
    for answer in answers(follow_up="1"):  # follow-up agreed
        phone.send(answer)
    with gw.sessions() as session:
        case_id = session.scalars(select(Case)).one().id
    reporter.message_reporter(gw, case_id, "Please call the hotline.", "focal")
    run_jobs(gw)
    assert provider_api.text_of(provider_api.sent(phone.address)[-1]) == "Please call the hotline."
    with gw.sessions() as session:
        pushed = session.scalars(
            select(OutboundMessage).order_by(OutboundMessage.id.desc())
        ).first()
        assert pushed.state == "done"


def test_bytes_that_are_not_utf8_are_kept_not_an_error(gw, twilio) -> None:  # type: ignore[no-untyped-def]
    from twilio.request_validator import RequestValidator

    params = twilio.payload(Row("sms", "sms_inbound"))
    decoded = {**params, "Body": "caf%FF"}  # werkzeug keeps an undecodable escape as it came
    signature = RequestValidator(providers.TWILIO_TOKEN).compute_signature(
        PUBLIC_BASE_URL + "/sms/twilio", decoded
    )
    from urllib.parse import urlencode

    body = urlencode({k: v for k, v in params.items() if k != "Body"})
    response = twilio.client.post(
        "/sms/twilio",
        data=body.encode() + b"&Body=caf%FF",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 200 and count_events(gw) == 1
