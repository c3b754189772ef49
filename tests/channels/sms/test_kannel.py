"""Kannel: smsbox get-url requests as recorded from a real Kannel, and its dlr-url reports.

The end-to-end run against a real bearerbox and smsbox is test_kannel_real.py.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select

from gateway.conversation import texts as conversation
from gateway.core.models import Case
from gateway.web.request_limits import MAX_REQUEST_LINE
from gateway.work.reporter import message_reporter
from tests.channels.sms.harness import (
    KANNEL_KEY,
    Expect,
    Kannel,
    Phone,
    count_events,
    events,
    outbound_messages,
    receipt_parts,
    run_case,
    with_auth_cases,
)
from tests.channels.sms.harness import Case as Row
from tests.support.jobs import run_jobs
from tests.support.questions import answers

# The plain text message, the same in the get-url and the post-url tables.
TEXT = Row(
    "text",
    "mo_text",
    expect=Expect(
        "sms",
        "+243810000301",
        "The camp guard took my phone",
        message_id="9ed14ab7-c580-405f-b0f2-bfc16b760301",
        received_year=2026,
    ),
)

CASES = with_auth_cases(
    [
        TEXT,
        Row(
            "arabic as UCS-2 bytes (mo-recode off)",
            "mo_ucs2_raw",
            expect=Expect("sms", "+243810000302", "مل A"),
        ),
        Row(
            "arabic recoded to UTF-8 (mo-recode on)",
            "mo_ucs2_recoded",
            expect=Expect("sms", "+243810000303", "مل"),
        ),
        Row(
            "ts as the guide says (HH:MM)",
            "mo_ts_guide_format",
            expect=Expect("sms", "+243810000304", received_year=2026),
        ),
        Row("ts in epoch seconds", "mo_ts_epoch", expect=Expect("sms", received_year=2026)),
        Row("unreadable ts: kept", "mo_ts_unreadable", expect=Expect("sms", "+243810000306")),
        Row("no ts at all", "mo_text", drop=("ts",), expect=Expect("sms", "+243810000301")),
        Row(
            "no message id: a stable one is derived",
            "mo_no_id",
            expect=Expect("sms", "+243810000307", "hello without id"),
        ),
        Row(
            "operator's name as sender",
            "mo_from_name",
            expect=Expect("sms", "MTN", "Your bundle expires today"),
        ),
        Row("8-bit binary message", "mo_binary", expect=Expect("sms", "+243810000309")),
        Row("empty text is stored", "mo_empty_text", expect=Expect("sms", text="")),
        Row(
            "unknown charset",
            "mo_text",
            change={"charset": "x-no-such"},
            expect=Expect("sms", text="The camp guard took my phone"),
        ),
        Row("delivery report sent to the message endpoint", "dlr_delivered", 200, 0),
        Row("missing from", "mo_text", 400, 0, drop=("from",)),
    ],
    "mo_text",
)


@pytest.fixture
def kannel(client) -> Kannel:  # type: ignore[no-untyped-def]
    return Kannel(client)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_table(gw, kannel, case, caplog) -> None:  # type: ignore[no-untyped-def]
    run_case(gw, kannel, case, caplog)


def test_duplicates_are_one_event_with_or_without_kannels_id(gw, kannel) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):
        assert kannel.deliver(Row("id", "mo_text")).status_code == 200
        assert kannel.deliver(Row("no id", "mo_no_id")).status_code == 200
    assert count_events(gw) == 2
    derived = events(gw)[-1].provider_message_id
    assert derived.startswith("derived-") and "243810000307" not in derived


def make_phone(gw, kannel, api, number: str = "+243810000311") -> Phone:  # type: ignore[no-untyped-def]
    base = kannel.payload(Row("mo", "mo_text"))

    def make(text: str, n: str) -> dict[str, str]:
        return {**base, "from": number, "text": text, "id": f"kannel-{n}"}

    return Phone(gw, kannel, api, make, number)


def test_full_conversation_with_delivery_reports(gw, kannel, provider_api, tracker) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, kannel, provider_api)
    assert phone.send("The guard at the gate asked me for money and sex") == [
        conversation.ASK_AFFECTED
    ]
    for answer in ("1", "2", "0"):
        phone.send(answer)
    [receipt] = phone.send("1")
    number, pin = receipt_parts(receipt)
    assert tracker.requests[0].body["case_number"] == number
    [status] = phone.send(f"STATUS {number} {pin}")
    assert number in status
    sent = provider_api.sent(phone.address)
    assert {call.query["from"] for call in sent} == {"1234"}
    assert {call.query["smsc"] for call in sent} == {"FAKE"}
    assert {call.query["coding"] for call in sent} == {"0"}
    dlr = sent[-1].query["dlr-url"]
    assert dlr.startswith("http://gateway.test/sms/kannel/dlr?") and dlr.endswith(
        "&status=%d&smsc=%i"
    )
    message_id = outbound_messages(gw)[-1].id
    for kind in ("dlr_smsc_accepted", "dlr_delivered"):
        query = {**kannel.payload(Row(kind, kind)), "id": str(message_id)}
        assert kannel.call(kannel.report_path, query).status_code == 200
    assert outbound_messages(gw)[-1].delivery_status == "delivered"
    assert phone.send("STOP") == [conversation.STOPPED]


def test_delivery_report_checks(gw, kannel) -> None:  # type: ignore[no-untyped-def]
    query = kannel.payload(Row("dlr", "dlr_failed"))
    assert kannel.call(kannel.report_path, query, auth="bad").status_code == 403
    assert kannel.call(kannel.report_path, query, auth="missing").status_code == 403
    assert kannel.call(kannel.report_path, {**query, "id": "x"}).status_code == 400
    assert kannel.call(kannel.report_path, {**query, "status": "%d"}).status_code == 400
    assert kannel.call(kannel.report_path, {**query, "status": "64"}).status_code == 200
    assert kannel.call(kannel.report_path, {**query, "id": "999"}).status_code == 200
    assert count_events(gw) == 0


def test_arabic_goes_out_as_ucs2(gw, kannel, provider_api) -> None:  # type: ignore[no-untyped-def]
    phone = make_phone(gw, kannel, provider_api, "+243810000312")
    query = {**kannel.payload(Row("ar", "mo_ucs2_raw")), "from": phone.address, "id": "ar-1"}
    assert kannel.call(kannel.message_path, query).status_code == 200
    run_jobs(gw)
    for answer in answers(follow_up="1"):
        phone.send(answer)
    with gw.sessions() as session:
        case_id = session.scalars(select(Case)).one().id
    message_reporter(gw, case_id, "نرجو الاتصال بالخط الساخن", "focal")
    run_jobs(gw)
    last = provider_api.sent(phone.address)[-1]
    assert last.query["text"] == "نرجو الاتصال بالخط الساخن"
    assert (last.query["coding"], last.query["charset"]) == ("2", "UTF-8")


def test_send_refusals(gw, kannel, provider_api) -> None:  # type: ignore[no-untyped-def]
    provider_api.script.append((503, "Temporal failure, try again later."))
    make_phone(gw, kannel, provider_api, "+243810000313").send("HELP")
    provider_api.script.append((400, "Bad request"))
    make_phone(gw, kannel, provider_api, "+243810000314").send("HELP")
    states = [(m.state, m.attempts) for m in outbound_messages(gw)]
    assert states == [("done", 2), ("dead", 1)]


def test_wrong_sendsms_credentials_are_retried_not_lost(gw, kannel, provider_api) -> None:  # type: ignore[no-untyped-def]
    provider_api.script.append((403, "Authorization failed for sendsms"))
    make_phone(gw, kannel, provider_api, "+243810000315").send("HELP")
    [message] = outbound_messages(gw)
    assert (message.state, message.attempts) == ("done", 2)


def test_no_demo_phone_outside_the_demo(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/demo/sms").status_code == 404
    assert client.get("/demo/sms/sendsms?username=x&password=y").status_code == 404


# --- post-url: the same messages as smsbox POSTs them ------------------------------------------

# smsbox's post-url (gw/smsbox.c, TRANSTYPE_POST_URL): the text is the body, its charset in
# the Content-Type (UTF-16BE for UCS-2 with mo-recode off), the rest in X-Kannel headers;
# Kannel's message id only where the post-url names it (`&id=%I`).
POST_HEADERS = {
    "from": "X-Kannel-From",
    "to": "X-Kannel-To",
    "ts": "X-Kannel-Time",
    "smsc": "X-Kannel-SMSC",
    "coding": "X-Kannel-Coding",
}


class KannelPost(Kannel):
    """Kannel's post-url: the recorded get-url messages, sent the way smsbox POSTs them."""

    def call(self, path: str, payload: dict[str, str], auth: str = "good") -> Any:
        key = {"good": KANNEL_KEY, "bad": "not-the-key", "missing": None}[auth]
        query = {name: payload[name] for name in ("id", "status") if payload.get(name)}
        if key is not None:
            query["key"] = key
        headers = {
            header: payload[name] for name, header in POST_HEADERS.items() if name in payload
        }
        charset = payload.get("charset") or "UTF-8"
        # The harness keeps Kannel's bytes as latin-1 characters: the body is those bytes.
        body = payload.get("text", "").encode("latin-1")
        return self.client.post(
            f"{path}?{urlencode(query)}",
            data=body,
            headers=headers,
            content_type=f'text/plain; charset="{charset}"',
        )


POST_CASES = with_auth_cases(
    [
        TEXT,
        Row(
            "arabic as UTF-16BE (mo-recode off)",
            "mo_ucs2_raw",
            expect=Expect("sms", "+243810000302", "مل A"),
        ),
        Row("arabic recoded to UTF-8", "mo_ucs2_recoded", expect=Expect("sms", text="مل")),
        Row(
            "no id in the post-url: a stable one is derived",
            "mo_no_id",
            expect=Expect("sms", "+243810000307", "hello without id"),
        ),
        Row("operator's name as sender", "mo_from_name", expect=Expect("sms", "MTN")),
        Row("unreadable time: kept", "mo_ts_unreadable", expect=Expect("sms", "+243810000306")),
        Row("no X-Kannel-From (send-sender off)", "mo_text", 400, 0, drop=("from",)),
        Row("a body longer than any SMS", "mo_text", 413, 0, change={"text": "A" * 200_000}),
        Row("delivery report sent to the message endpoint", "dlr_delivered", 200, 0),
    ],
    "mo_text",
)


@pytest.mark.parametrize("case", POST_CASES, ids=str)
def test_post_url_table(gw, client, case, caplog) -> None:  # type: ignore[no-untyped-def]
    run_case(gw, KannelPost(client), case, caplog)


def test_post_url_and_get_url_of_one_message_are_one_event(gw, client, kannel) -> None:  # type: ignore[no-untyped-def]
    """Kannel moved from get-url to post-url during a retry: still one message."""
    assert KannelPost(client).deliver(Row("post", "mo_text")).status_code == 200
    assert kannel.deliver(Row("get", "mo_text")).status_code == 200
    assert count_events(gw) == 1


def test_the_longest_sms_fits_the_request_line_and_longer_is_414(gw, kannel) -> None:  # type: ignore[no-untyped-def]
    """255 parts of GSM text with é: 234,090 bytes in `%a`, under the bound; over it: 414."""
    longest = "é" * (255 * 153)
    query = {**kannel.payload(Row("long", "mo_text")), "text": longest.encode().decode("latin-1")}
    response = kannel.call(kannel.message_path, query)
    assert response.status_code == 200 and count_events(gw) == 1
    assert events(gw)[-1].provider_message_id == "9ed14ab7-c580-405f-b0f2-bfc16b760301"
    over = {**query, "id": "over", "text": "A" * MAX_REQUEST_LINE}
    assert kannel.call(kannel.message_path, over).status_code == 414
    assert count_events(gw) == 1
