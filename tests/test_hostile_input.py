"""Hostile input at every public endpoint: random, huge, binary and malformed requests.

Each property sends what hypothesis makes of one endpoint's input, signed
or keyed the way the provider does (so the parser, not the signature check,
gets the junk), and checks what the contract promises:

- never a 5xx, and only the statuses the endpoint documents
  (docs/openapi.yaml);
- a refused request (4xx) leaves every table as it was;
- an accepted provider message is exactly one inbound event and nothing
  else; an accepted web report is exactly one complete case;
- a forged signature or a wrong key is 403 and changes nothing.

The gateway's jobs are not run: what is checked is what the web process
does before it answers.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET  # noqa: S405 - TwiML from the app under test
from collections.abc import Callable
from itertools import count
from typing import Any
from urllib.parse import parse_qsl, quote_from_bytes, urlencode

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from gateway.core.models import Case, CaseEvent, InboundEvent, OutboxEntry, Report
from gateway.core.schema import Base
from gateway.web.request_limits import MAX_REQUEST_LINE

PUBLIC_BASE_URL = "http://gateway.test"  # tests/conftest.py
TWILIO_SID = "AC" + "0" * 30 + "55"
TWILIO_TOKEN = "made-up-hostile-twilio-token"
AT_KEY = "made-up-hostile-at-key"
KANNEL_KEY = "made-up-hostile-kannel-key"
TELEGRAM_SECRET = "made-up-hostile-telegram-secret"
NOWHERE = "http://127.0.0.1:9"  # nothing listens: a job that ran would fail, not reach out

# Examples per property: 30 keeps the whole suite within its time on two
# cores; GATEWAY_FUZZ_EXAMPLES raises it for a longer hunt.
EXAMPLES = int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "30"))

HOSTILE = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
_unique = count(1)


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """Every channel configured, every provider API pointed at a closed local port."""
    return {
        **env,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_API_BASE_URL": NOWHERE,
        "AFRICASTALKING_USERNAME": "sandbox",
        "AFRICASTALKING_API_KEY": "made-up-hostile-at-api-key",
        "AFRICASTALKING_CALLBACK_KEY": AT_KEY,
        "AFRICASTALKING_API_BASE_URL": NOWHERE,
        "KANNEL_SENDSMS_URL": NOWHERE + "/cgi-bin/sendsms",
        "KANNEL_USERNAME": "gateway",
        "KANNEL_PASSWORD": "made-up-hostile-kannel-password",
        "KANNEL_CALLBACK_KEY": KANNEL_KEY,
        "TELEGRAM_BOT_TOKEN": "123456:HOSTILE-TOKEN",
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": NOWHERE,
        "GATEWAY_LOCALES": "en,fr,ar",
        "GATEWAY_WEB_REPORTS_PER_HOUR": "100000",
    }


# --- what the database holds ---------------------------------------------------


def count_rows(gw) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return {
            table.name: int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


def changed(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in after if after[name] != before[name]}


def assert_cases_complete(gw) -> None:  # type: ignore[no-untyped-def]
    """Every case has its report, a forwarding entry and its `filed` event: no partial case."""
    with gw.sessions() as session:
        for case_id in session.scalars(select(Case.id)):
            reports = session.scalar(select(func.count()).where(Report.case_id == case_id))
            outbox = session.scalar(select(func.count()).where(OutboxEntry.case_id == case_id))
            events = session.scalar(select(func.count()).where(CaseEvent.case_id == case_id))
            assert (reports, bool(outbox), bool(events)) == (1, True, True), case_id


def check_answer(response: Any, allowed: set[int], before: dict[str, int], gw: Any) -> dict:  # type: ignore[type-arg]
    """The contract for every request: a documented status, and a refusal changes nothing."""
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.status_code in allowed, response.status_code
    delta = changed(before, count_rows(gw))
    if response.status_code >= 400:
        assert delta == {}, (response.status_code, delta)
    return delta


def assert_one_event_or_none(delta: dict[str, int]) -> None:
    assert delta in ({}, {"inbound_events": 1}), delta


# --- what hypothesis makes -------------------------------------------------------

# Any character a form or a query can carry (lone surrogates cannot be encoded at all).
chars = st.characters(blacklist_categories=("Cs",))
junk = st.text(chars, max_size=60)
huge = st.integers(1_000, 300_000).map(lambda n: "\u0645" * (n // 2) if n % 2 else "9" * n)
value = st.one_of(
    junk,
    huge,
    st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True),
    st.sampled_from(["", " ", "\x00", "null", "-1", "1e309", "received", "whatsapp:", "tg:1"]),
)


def optional_fields(names: list[str]) -> st.SearchStrategy[dict[str, str]]:
    """Some of the provider's own field names with junk values, and some junk names."""
    known = st.dictionaries(st.sampled_from(names), value, max_size=len(names))
    extra = st.dictionaries(junk, value, max_size=3)
    return st.builds(lambda a, b: {**b, **a}, known, extra)


def twilio_sign(path: str, params: Any, token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_BASE_URL + path, params)


def post_twilio(client, path: str, form: dict[str, str], token: str = TWILIO_TOKEN):  # type: ignore[no-untyped-def]
    headers = {"X-Twilio-Signature": twilio_sign(path, form, token)}
    return client.post(path, data=form, headers=headers)


def form_as_read(body: bytes) -> MultiDict[str, str]:
    """The form werkzeug reads from a body: empty when it is not UTF-8 (formparser.py)."""
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return MultiDict()
    return MultiDict(parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"))


def post_twilio_raw(client, path: str, body: bytes):  # type: ignore[no-untyped-def]
    """A body that may not even be a form, signed over what the gateway will read from it."""
    params = form_as_read(body)
    headers = {"X-Twilio-Signature": twilio_sign(path, params)}
    return client.post(
        path, data=body, headers=headers, content_type="application/x-www-form-urlencoded"
    )


# --- SMS and WhatsApp: Twilio ------------------------------------------------------

TWILIO_FIELDS = [
    "MessageSid",
    "SmsSid",
    "SmsMessageSid",
    "AccountSid",
    "From",
    "To",
    "Body",
    "NumMedia",
    "MediaUrl0",
    "MediaContentType0",
    "MediaUrl9",
    "WaId",
    "ProfileName",
    "MessageStatus",
    "SmsStatus",
    "ErrorCode",
    "FromCountry",
    "NumSegments",
]
WEBHOOK_STATUSES = {200, 400, 403, 413}


@HOSTILE
@given(form=optional_fields(TWILIO_FIELDS))
def test_twilio_message_webhook_takes_any_signed_form(client, gw, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    before = count_rows(gw)
    response = post_twilio(client, "/sms/twilio", form)
    assert_one_event_or_none(check_answer(response, WEBHOOK_STATUSES - {403}, before, gw))


@HOSTILE
@given(form=optional_fields(TWILIO_FIELDS), sender=value, text=value)
def test_a_signed_twilio_message_is_one_event_whatever_else_it_carries(
    client, gw, form: dict[str, str], sender: str, text: str
) -> None:  # type: ignore[no-untyped-def]
    for name in ("MessageStatus", "SmsStatus", "SmsSid", "SmsMessageSid"):
        form.pop(name, None)
    sender = sender.strip() or "+243810000001"
    form.update(MessageSid=f"SM{next(_unique):032x}", From=sender, Body=text)
    before = count_rows(gw)
    response = post_twilio(client, "/sms/twilio", form)
    assert check_answer(response, {200, 413}, before, gw) in ({"inbound_events": 1}, {})
    if response.status_code == 200:
        assert changed(before, count_rows(gw)) == {"inbound_events": 1}
        with gw.sessions() as session:
            event = session.scalars(select(InboundEvent).order_by(InboundEvent.id.desc())).first()
        assert gw.cipher.decrypt_json(event.payload_enc)["text"] == text


@HOSTILE
@given(body=st.one_of(st.binary(max_size=2_000), junk.map(str.encode)))
def test_twilio_endpoints_take_any_signed_body(client, gw, body: bytes) -> None:  # type: ignore[no-untyped-def]
    for path in ("/sms/twilio", "/sms/twilio/status", "/ivr/twilio/status"):
        before = count_rows(gw)
        response = post_twilio_raw(client, path, body)
        delta = check_answer(response, WEBHOOK_STATUSES, before, gw)
        if path == "/sms/twilio":
            assert_one_event_or_none(delta)
        else:
            assert delta == {}


@HOSTILE
@given(form=optional_fields(TWILIO_FIELDS), token=st.sampled_from(["", "not-the-token", None]))
def test_a_forged_twilio_request_is_refused_and_changes_nothing(
    client, gw, form: dict[str, str], token: str | None
) -> None:  # type: ignore[no-untyped-def]
    form.setdefault("MessageSid", f"SM{next(_unique):032x}")
    form.setdefault("From", "+243810000002")
    for path in ("/sms/twilio", "/sms/twilio/status", "/ivr/twilio/voice", "/ivr/twilio/status"):
        before = count_rows(gw)
        headers = {} if token is None else {"X-Twilio-Signature": twilio_sign(path, form, token)}
        response = client.post(path, data=form, headers=headers)
        assert response.status_code == 403
        assert changed(before, count_rows(gw)) == {}


@HOSTILE
@given(form=optional_fields(["MessageSid", "SmsSid", "MessageStatus", "SmsStatus", "ErrorCode"]))
def test_twilio_status_callbacks_take_any_signed_form(client, gw, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    before = count_rows(gw)
    response = post_twilio(client, "/sms/twilio/status", form)
    assert check_answer(response, WEBHOOK_STATUSES - {403}, before, gw) == {}


@pytest.mark.parametrize(
    "content_type",
    ["image/" + "x" * 300, "image/jpeg\x00", "\u0635\u0648\u0631\u0629/jpeg", ""],
    ids=["long", "nul", "arabic", "empty"],
)
def test_a_media_type_the_provider_made_up_never_stops_the_report(
    client, gw, content_type: str
) -> None:  # type: ignore[no-untyped-def]
    """The worker files the conversation's report whatever type the provider named."""
    from tests.support.jobs import run_jobs

    sender = "+243810000007"
    for n, text in enumerate(["Captain took money", "1", "2", "1", "at the market", "1"]):
        form = {"MessageSid": f"SM{next(_unique):032x}", "From": sender, "To": "+2438100099"}
        form["Body"] = text
        if n == 0:
            form.update(
                NumMedia="1", MediaUrl0=NOWHERE + "/media/1", MediaContentType0=content_type
            )
        assert post_twilio(client, "/sms/twilio", form).status_code == 200
        run_jobs(gw)
    with gw.sessions() as session:
        states = set(session.scalars(select(InboundEvent.state)))
        assert session.scalar(select(func.count()).select_from(Case)) == 1
    assert states == {"done"}
    assert_cases_complete(gw)


@settings(HOSTILE, max_examples=15)  # each example runs the worker's jobs
@given(
    texts=st.lists(
        st.one_of(value, st.sampled_from(["1", "2", "STATUS 1 2", "LANGUAGE \x00"])),
        min_size=1,
        max_size=6,
    )
)
def test_the_worker_takes_any_conversation_without_failing(client, gw, texts: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Whatever a reporter types, every message is processed (none fails or is dead-lettered)."""
    from tests.support.jobs import run_jobs

    sender = f"+24381{next(_unique):07d}"
    for text in texts:
        form = {"MessageSid": f"SM{next(_unique):032x}", "From": sender, "Body": text}
        assert post_twilio(client, "/sms/twilio", form).status_code in (200, 413)
        run_jobs(gw)
    with gw.sessions() as session:
        failed = session.scalars(select(InboundEvent).where(InboundEvent.state != "done")).all()
        assert [(e.state, e.last_error) for e in failed] == []
    assert_cases_complete(gw)


# --- SMS: Africa's Talking -----------------------------------------------------------

AT_FIELDS = ["id", "from", "to", "text", "date", "linkId", "networkCode", "status", "phoneNumber"]


@HOSTILE
@given(
    form=optional_fields(AT_FIELDS),
    raw=st.one_of(st.none(), st.binary(max_size=2_000)),
)
def test_africastalking_callbacks_take_any_form_with_the_key(
    client, gw, form: dict[str, str], raw: bytes | None
) -> None:  # type: ignore[no-untyped-def]
    for path in ("/sms/africastalking", "/sms/africastalking/delivery"):
        before = count_rows(gw)
        if raw is None:
            response = client.post(f"{path}?key={AT_KEY}", data=form)
        else:
            response = client.post(
                f"{path}?key={AT_KEY}", data=raw, content_type="application/x-www-form-urlencoded"
            )
        delta = check_answer(response, WEBHOOK_STATUSES - {403}, before, gw)
        if path == "/sms/africastalking":
            assert_one_event_or_none(delta)
        else:
            assert delta == {}
        response = client.post(f"{path}?key=not-{AT_KEY}", data=form)
        assert response.status_code == 403


@HOSTILE
@given(sender=value, text=value, date=value)
def test_an_africastalking_message_is_one_event_whatever_its_fields(
    client, gw, sender: str, text: str, date: str
) -> None:  # type: ignore[no-untyped-def]
    form = {"id": f"ATXid_{next(_unique)}", "from": sender.strip() or "MTN", "text": text}
    form["date"] = date
    before = count_rows(gw)
    response = client.post(f"/sms/africastalking?key={AT_KEY}", data=form)
    check_answer(response, {200, 413}, before, gw)
    if response.status_code == 200:
        assert changed(before, count_rows(gw)) == {"inbound_events": 1}


# --- SMS: Kannel ------------------------------------------------------------------------

KANNEL_FIELDS = ["from", "to", "text", "ts", "smsc", "id", "coding", "charset", "status"]
raw_values = st.one_of(st.binary(max_size=200), value.map(lambda v: v.encode("utf-8")))


@HOSTILE
@given(
    fields=st.dictionaries(st.sampled_from(KANNEL_FIELDS), raw_values, max_size=9),
    extra=st.dictionaries(st.binary(max_size=10), st.binary(max_size=40), max_size=3),
)
@example(fields={"from": b"+243810000004", "id": b"\x00"}, extra={})
@example(fields={"from": b"\x1c"}, extra={})  # blank to str.strip, not to bytes.strip
@example(fields={"from": b"+243810000004"}, extra={b"from": b""})
@example(fields={"from": b"+243810000004", "charset": b"\x00"}, extra={})
@example(fields={"from": b"+243810000004", "charset": b"rot13", "coding": b"2"}, extra={})
@example(fields={"id": b"9" * 4302, "status": b"1"}, extra={})
@example(fields={"id": "\u00b2".encode(), "status": b"1"}, extra={})
@example(fields={"id": b"99999999999999999999", "status": b"1"}, extra={})
def test_kannel_get_urls_take_any_query_with_the_key(
    client, gw, fields: dict[str, bytes], extra: dict[bytes, bytes]
) -> None:  # type: ignore[no-untyped-def]
    pairs = [(k.encode(), v) for k, v in fields.items()] + list(extra.items())
    query = "&".join(f"{quote_from_bytes(k)}={quote_from_bytes(v)}" for k, v in pairs)
    for path in ("/sms/kannel", "/sms/kannel/dlr"):
        before = count_rows(gw)
        response = client.get(f"{path}?{query}&key={KANNEL_KEY}")
        # 414: a request target longer than Kannel's longest SMS (gateway/web/request_limits.py).
        delta = check_answer(response, WEBHOOK_STATUSES - {403} | {414}, before, gw)
        if path == "/sms/kannel":
            assert_one_event_or_none(delta)
            # The last "from" is the one read, decoded and stripped as the view does it.
            sender = dict(pairs).get(b"from", b"")
            if sender.decode("utf-8", "replace").strip() and b"\x00" not in sender:
                assert response.status_code in (200, 413, 414)
        else:
            assert delta == {}
        # A request target over the bound is refused for its size before any key is read.
        forged = client.get(f"{path}?{query}&key=wrong").status_code
        assert forged == (414 if response.status_code == 414 else 403)


@pytest.mark.parametrize(
    ("first", "second", "events"),
    [
        ("\x00", "\x00", 1),  # PostgreSQL text cannot hold a NUL: stored as a digest
        ("id\x00a", "id\x00b", 2),
        ("a" * 200 + "1", "a" * 200 + "1", 1),  # longer than the column: a digest, not cut
        ("a" * 200 + "1", "a" * 200 + "2", 2),  # a shared prefix does not make them one
    ],
    ids=["nul", "nul-differs", "long", "long-differs"],
)
def test_odd_message_ids_are_stored_and_recognised_on_redelivery(
    client, gw, first: str, second: str, events: int
) -> None:  # type: ignore[no-untyped-def]
    before = count_rows(gw)
    for message_id in (first, second):
        query = urlencode({"from": "+243810000003", "text": "x", "id": message_id})
        assert client.get(f"/sms/kannel?{query}&key={KANNEL_KEY}").status_code == 200
    assert changed(before, count_rows(gw)) == {"inbound_events": events}


# --- Telegram ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.text(chars, max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=15,
)
any_int = st.one_of(st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 2**63, 2**31]))
loose = st.one_of(json_values, any_int, st.text(chars, max_size=40))
user = st.fixed_dictionaries(
    {"id": any_int},
    optional={
        "is_bot": loose,
        "first_name": loose,
        "username": loose,
        "language_code": st.one_of(st.text(chars, max_size=40), loose),
    },
)
chat = st.fixed_dictionaries(
    {"id": any_int, "type": st.one_of(st.just("private"), st.text(max_size=10), loose)},
    optional={"first_name": loose, "username": loose},
)
message = st.fixed_dictionaries(
    {"message_id": any_int, "chat": st.one_of(chat, loose)},
    optional={
        "from": st.one_of(user, loose),
        "date": st.one_of(any_int, loose),
        "text": st.one_of(st.text(chars, max_size=200), huge, loose),
        "caption": loose,
        "entities": st.one_of(
            st.lists(
                st.fixed_dictionaries(
                    {"type": st.sampled_from(["bot_command", "url"]), "offset": any_int},
                    optional={"length": any_int},
                ),
                max_size=2,
            ),
            loose,
        ),
        "photo": st.one_of(st.lists(json_values, max_size=2), loose),
        "voice": loose,
        "document": loose,
        "location": loose,
        "contact": loose,
    },
)
callback = st.fixed_dictionaries(
    {"id": loose, "from": st.one_of(user, loose), "chat_instance": loose},
    optional={"message": st.one_of(message, loose), "data": loose},
)
update = st.fixed_dictionaries(
    {"update_id": st.one_of(any_int, loose)},
    optional={
        "message": st.one_of(message, loose),
        "edited_message": st.one_of(message, loose),
        "callback_query": st.one_of(callback, loose),
        "my_chat_member": loose,
    },
)


@HOSTILE
@given(
    body=st.one_of(
        update.map(lambda u: json.dumps(u).encode()),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=2_000),
    )
)
def test_telegram_webhook_takes_any_body_with_the_secret(client, gw, body: bytes) -> None:  # type: ignore[no-untyped-def]
    before = count_rows(gw)
    response = client.post(
        "/telegram/webhook",
        data=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        content_type="application/json",
    )
    assert_one_event_or_none(check_answer(response, WEBHOOK_STATUSES - {403}, before, gw))
    forged = client.post("/telegram/webhook", data=body, content_type="application/json")
    assert forged.status_code == 403
    assert changed(before, count_rows(gw)) in ({}, {"inbound_events": 1})


@HOSTILE
@given(text=st.one_of(st.text(chars, max_size=300), huge), sender=user, date=any_int)
@example(text="hi", sender={"id": 1, "language_code": 5}, date=1767225600)
@example(text="hi", sender={"id": 1, "language_code": "x" * 40}, date=1767225600)
@example(text="hi", sender={"id": 1}, date=2**63)
@example(text="hi", sender={"id": 1}, date=-(2**40))
def test_a_private_telegram_message_is_one_event_whatever_its_fields(
    client, gw, text: str, sender: dict[str, Any], date: int
) -> None:  # type: ignore[no-untyped-def]
    chat_id = sender["id"]
    body = {
        "update_id": next(_unique),
        "message": {
            "message_id": 1,
            "from": sender,
            "chat": {"id": chat_id, "type": "private"},
            "date": date,
            "text": text,
        },
    }
    before = count_rows(gw)
    response = client.post(
        "/telegram/webhook",
        data=json.dumps(body),
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
        content_type="application/json",
    )
    check_answer(response, {200, 400}, before, gw)
    if response.status_code == 200:
        assert changed(before, count_rows(gw)) == {"inbound_events": 1}


# --- the hotline -----------------------------------------------------------------------

IVR_STEPS = [
    "voice",
    "language",
    "menu",
    "category",
    "danger",
    "recorded",
    "confirm",
    "file",
    "receipt",
    "dialed",
    "help",
    "case-number",
    "pin",
]
IVR_ARGS = ["l", "c", "d", "r", "n", "k", "t", "a"]
IVR_FIELDS = [
    "CallSid",
    "AccountSid",
    "From",
    "To",
    "Digits",
    "CallStatus",
    "RecordingUrl",
    "RecordingSid",
    "RecordingStatus",
    "RecordingDuration",
    "DialCallStatus",
]
ivr_arg = st.one_of(
    value,
    st.sampled_from(["1", "2", "http://[", "https://api.twilio.com/x", "fr", "ar"]),
)
ivr_form_value = st.one_of(
    value,
    st.sampled_from(["completed", "hangup", "absent", "1", "2", "#", "http://[::1"]),
    st.just("CA" + "a" * 32),
    st.just(NOWHERE + "/2010-04-01/Accounts/x/Recordings/RE" + "b" * 32),
)


@HOSTILE
@given(
    step=st.one_of(st.sampled_from(IVR_STEPS), st.text(min_size=1, max_size=20)),
    args=st.dictionaries(st.sampled_from(IVR_ARGS), ivr_arg, max_size=8),
    form=st.dictionaries(st.sampled_from(IVR_FIELDS), ivr_form_value, max_size=11),
)
@example(step="menu", args={"r": "http://["}, form={})
@example(step="/voice", args={}, form={})  # "//voice": a 404, not a 308 to a real step
@example(step="confirm", args={"t": "\u00b2"}, form={"Digits": "2"})
@example(step="language", args={}, form={"Digits": "\u00b2"})
@example(step="recorded", args={}, form={"CallSid": "CA" + "a" * 32, "RecordingUrl": "http://[::1"})
def test_hotline_steps_take_any_signed_request(
    client, gw, step: str, args: dict[str, str], form: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    path = "/ivr/twilio/" + quote_from_bytes(step.encode(), safe="")
    target = path + (f"?{urlencode(args)}" if args else "")
    before = count_rows(gw)
    response = post_twilio(client, target, form)
    # 414 only for a target longer than the gateway's bound (gateway/web/request_limits.py).
    too_long = {414} if len(target) > MAX_REQUEST_LINE else set()
    check_answer(response, {200, 400, 404, 405, 413} | too_long, before, gw)
    if response.status_code == 200:
        assert response.mimetype == "text/xml"
        assert ET.fromstring(response.get_data()).tag == "Response"  # noqa: S314
    assert_cases_complete(gw)


@HOSTILE
@given(form=st.dictionaries(st.sampled_from(IVR_FIELDS), ivr_form_value, max_size=11))
def test_hotline_status_callbacks_take_any_signed_form(client, gw, form: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    before = count_rows(gw)
    response = post_twilio(client, "/ivr/twilio/status", form)
    delta = check_answer(response, {200, 400, 413}, before, gw)
    assert set(delta) <= {"provider_cleanups", *_case_tables()}
    assert_cases_complete(gw)


def test_a_recording_url_that_does_not_parse_never_breaks_the_call(client, gw) -> None:  # type: ignore[no-untyped-def]
    """A RecordingUrl Twilio would never send, signed: the call and its callbacks still answer."""
    call = {"CallSid": "CA" + "c" * 32, "From": "+243810000005", "To": "+243810009999"}
    recorded = {**call, "RecordingUrl": "http://[::1", "RecordingSid": "RE" + "d" * 32}
    assert post_twilio(client, "/ivr/twilio/recorded?l=en&c=1&d=2", recorded).status_code == 200
    absent = {**recorded, "RecordingStatus": "absent"}
    assert post_twilio(client, "/ivr/twilio/status", absent).status_code == 200
    ended = {**call, "CallStatus": "completed"}
    assert post_twilio(client, "/ivr/twilio/status", ended).status_code == 200
    assert_cases_complete(gw)


def _case_tables() -> set[str]:
    """What filing a case (a statement left by a caller who hung up) may write."""
    return {
        "cases",
        "reports",
        "case_events",
        "outbox",
        "media_downloads",
        "case_number_counters",
        "attachments",
        "daily_counts_stale",  # the day the statistics count again
    }


# --- the web form ---------------------------------------------------------------------------

REPORT_FIELDS = ["narrative", "location", "when", "category", "affected", "danger", "follow_up"]
TOKEN = re.compile(r'name="token" value="([^"]+)"')


def form_token(client, path: str) -> str:  # type: ignore[no-untyped-def]
    page = client.get(path).get_data(as_text=True)
    found = TOKEN.search(page)
    assert found, page[:300]
    return found.group(1)


files = st.lists(
    st.tuples(
        st.one_of(
            st.binary(max_size=3_000),
            st.sampled_from([b"%PDF-1.4\n%\xe2\xe3\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40]),
        ),
        st.text(chars, max_size=20),
    ),
    max_size=3,
)


@HOSTILE
@given(
    fields=optional_fields(REPORT_FIELDS),
    attached=files,
    with_token=st.booleans(),
    honeypot=st.booleans(),
    headers=st.sampled_from(
        [
            {},
            {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
            {"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"},
            {"Origin": "http://[bad"},
        ]
    ),
)
def test_the_report_form_takes_any_post(
    client,
    gw,
    fields: dict[str, str],
    attached: list[tuple[bytes, str]],
    with_token: bool,
    honeypot: bool,
    headers: dict[str, str],
) -> None:  # type: ignore[no-untyped-def]
    import io

    data: dict[str, Any] = dict(fields)
    if with_token:
        data["token"] = form_token(client, "/report")
    if honeypot:
        data["website2"] = "http://spam.example"
    if attached:
        data["files"] = [(io.BytesIO(content), name) for content, name in attached]
    before = count_rows(gw)
    response = client.post("/report", data=data, headers=headers, content_type=None)
    delta = check_answer(response, {200, 400, 403, 413, 415, 429}, before, gw)
    if response.status_code == 200 and delta:
        assert delta.get("cases") == 1 and delta.get("reports") == 1, delta
    if not with_token or honeypot:
        assert delta == {}
    assert_cases_complete(gw)


@HOSTILE
@given(
    fields=optional_fields(["number", "pin", "draft", "do", "case", "text", "token"]),
    with_token=st.booleans(),
)
def test_the_status_page_takes_any_post(
    client, gw, fields: dict[str, str], with_token: bool
) -> None:  # type: ignore[no-untyped-def]
    if with_token:
        fields["token"] = form_token(client, "/status")
    before = count_rows(gw)
    response = client.post("/status", data=fields)
    delta = check_answer(response, {200, 400, 403, 413, 429}, before, gw)
    assert set(delta) <= {"lookup_throttle"}, delta


@pytest.fixture
def case_token(client, gw) -> str:  # type: ignore[no-untyped-def]
    """The status page's token of a real case, as a reporter who typed number and PIN has it."""
    from gateway.cases.reports import NewReport
    from gateway.work.reporter import submit_report

    receipt = submit_report(gw, NewReport(narrative="n", language="en"), channel="web")
    page = client.post(
        "/status",
        data={
            "token": form_token(client, "/status"),
            "number": receipt.case_number,
            "pin": receipt.pin,
        },
    ).get_data(as_text=True)
    found = re.search(r'name="case" value="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1)


@HOSTILE
@given(text=st.one_of(value, huge))
def test_a_reply_on_the_status_page_is_one_message_or_refused(
    client, gw, case_token: str, text: str
) -> None:  # type: ignore[no-untyped-def]
    before = count_rows(gw)
    response = client.post(
        "/status",
        data={"do": "reply", "case": case_token, "text": text},
        environ_base={"REMOTE_ADDR": f"192.0.2.{next(_unique) % 250}"},  # under the reply limit
    )
    delta = check_answer(response, {200, 400, 413, 429}, before, gw)
    if response.status_code == 200:
        assert delta and set(delta) <= {"case_events", "outbound_messages"}, delta


# --- the console's sign-in ---------------------------------------------------------------------


@settings(HOSTILE, max_examples=25)  # each refusal costs an Argon2 hash, on purpose
@example(fields={"username": "\x00", "password": "x"}, with_csrf=True)
@given(
    fields=optional_fields(["username", "password", "code", "next", "csrf"]),
    with_csrf=st.booleans(),
)
def test_the_console_sign_in_takes_any_post(
    client, gw, fields: dict[str, str], with_csrf: bool
) -> None:  # type: ignore[no-untyped-def]
    if with_csrf:
        page = client.get("/console/login").get_data(as_text=True)
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found, page[:300]
        fields["csrf"] = found.group(1)
    before = count_rows(gw)
    address = f"192.0.2.{next(_unique) % 250}"  # under the per-client limit, mostly
    response = client.post("/console/login", data=fields, environ_base={"REMOTE_ADDR": address})
    assert response.status_code < 500
    assert response.status_code in {400, 401, 413, 429}
    delta = changed(before, count_rows(gw))
    if response.status_code == 401:  # the failed sign-in is audited (and a throttle), nothing else
        assert set(delta) == {"audit_log"} and delta["audit_log"] in (1, 2), delta
    else:
        assert delta == {}


# --- oversize -----------------------------------------------------------------------------------

OVERSIZE_TARGETS: list[tuple[str, str, Callable[[str], dict[str, str]]]] = [
    ("POST", "/sms/twilio", lambda path: {"X-Twilio-Signature": "x"}),
    ("POST", "/sms/twilio/status", lambda path: {"X-Twilio-Signature": "x"}),
    ("POST", f"/sms/africastalking?key={AT_KEY}", lambda path: {}),
    ("POST", f"/sms/africastalking/delivery?key={AT_KEY}", lambda path: {}),
    (
        "POST",
        "/telegram/webhook",
        lambda path: {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    ),
    ("POST", "/ivr/twilio/voice", lambda path: {"X-Twilio-Signature": "x"}),
    ("POST", "/ivr/twilio/status", lambda path: {"X-Twilio-Signature": "x"}),
    ("POST", "/tracker/callback", lambda path: {}),
    ("POST", "/report", lambda path: {}),
    ("POST", "/status", lambda path: {}),
    ("POST", "/console/login", lambda path: {}),
]


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    OVERSIZE_TARGETS,
    ids=[t[1].split("?")[0] for t in OVERSIZE_TARGETS],
)
def test_a_body_over_the_limit_is_413_and_changes_nothing(
    client, gw, method: str, path: str, headers: Callable[[str], dict[str, str]]
) -> None:  # type: ignore[no-untyped-def]
    limit = client.application.config["MAX_CONTENT_LENGTH"]
    body = b"Body=" + b"x" * (limit + 1)
    before = count_rows(gw)
    response = client.open(
        path,
        method=method,
        data=body,
        headers=headers(path),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert changed(before, count_rows(gw)) == {}
