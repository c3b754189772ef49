"""After whole flows on every channel, nothing identifies the reporter or says what they reported.

Each flow goes in through the channel's real HTTP endpoint (signed or keyed
as the provider does it), the worker's jobs run in-process, and what the
gateway sends out reaches local servers that play the providers
(tests/support/, tests/channels/hotline_ivr/twilio_api.py) and the case
tracker. Then phone numbers, chat ids, names, IP addresses and the words of
the report are looked for in:

- every log record, at DEBUG;
- every Redis key and value, RQ's jobs and their arguments unpacked;
- every column of every table that is not an encrypted (binary) one.
"""

from __future__ import annotations

import logging
import pickle  # noqa: S403 - RQ's own job data, written by this test's gateway
import re
import zlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from sqlalchemy import LargeBinary, select

from gateway.cases.filing import find_case
from gateway.core.inbound import InboundMessage
from gateway.core.schema import Base
from gateway.intake import submit as intake
from gateway.work.reporter import message_reporter
from tests.channels.hotline_ivr import phone as ivr_phone
from tests.channels.hotline_ivr.twilio_api import TwilioRecordingsAPI
from tests.channels.sms import harness
from tests.channels.telegram.conftest import SECRET as TELEGRAM_SECRET
from tests.channels.telegram.conftest import TOKEN as TELEGRAM_TOKEN
from tests.channels.telegram.conftest import Reporter
from tests.channels.web_form.conftest import receipt_of, send_report
from tests.channels.web_form.nojs import Browser, main_form
from tests.support.fake_channels import fake_channel
from tests.support.jobs import run_jobs
from tests.support.questions import all_but_last

PHONE = "+243810000040"
STATEMENT = "Captain Okonkwo took money for food"
PLACE = "behind the Zanzibar market"
FOCAL_MESSAGE = "We will call the hotline back."
REPLY = "Sergeant Mbeki came again on Friday"
IP = "198.51.100.77"
# The SMS conversation: statement, then the answers to its questions, then a place.
CONVERSATION = [STATEMENT, "1", "2", "1", PLACE, "1"]


def number_forms(number: str) -> list[str]:
    """How a number may be written: E.164, without +, national (without the country code)."""
    digits = number.lstrip("+")
    return [number, digits, digits[3:]]


def haystacks(gw, caplog) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        "logs": "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records),
        "redis": redis_dump(gw),
        "database": clear_columns_dump(gw),
    }


def assert_nothing_in_clear(gw, caplog, secrets: list[str]) -> None:  # type: ignore[no-untyped-def]
    found = haystacks(gw, caplog)
    assert found["redis"], "Redis holds the gateway's keys: the search searched something"
    for where, text in found.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} found in {where}"


def redis_dump(gw) -> str:  # type: ignore[no-untyped-def]
    parts = []
    for key in gw.redis.scan_iter("*"):
        parts.append(repr(key))
        kind = gw.redis.type(key).decode()
        if kind == "string":
            parts.append(repr(gw.redis.get(key)))
        elif kind == "hash":
            values = gw.redis.hgetall(key)
            parts.append(repr(values))
            if key.startswith(b"rq:job:") and b"data" in values:
                parts.append(job_data(values[b"data"]))
        elif kind == "list":
            parts.append(repr(gw.redis.lrange(key, 0, -1)))
        elif kind == "set":
            parts.append(repr(gw.redis.smembers(key)))
        elif kind == "zset":
            parts.append(repr(gw.redis.zrange(key, 0, -1)))
        elif kind == "stream":
            parts.append(repr(gw.redis.xrange(key)))
    return "\n".join(parts)


def job_data(data: bytes) -> str:
    """An RQ job's function, arguments and keyword arguments (stored zlib'd and pickled)."""
    raw = zlib.decompress(data)
    return raw.decode("latin-1") + repr(pickle.loads(raw))  # noqa: S301


def clear_columns_dump(gw) -> str:  # type: ignore[no-untyped-def]
    parts = []
    with gw.sessions() as session:
        for table in Base.metadata.sorted_tables:
            columns = [c for c in table.columns if not isinstance(c.type, LargeBinary)]
            for row in session.execute(select(*columns)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def message_the_reporter(gw, tracker) -> int:  # type: ignore[no-untyped-def]
    """The focal point writes to the reporter of the one case; the case id."""
    assert len(tracker.cases) == 1, tracker.cases
    with gw.sessions() as session:
        case_id = find_case(session, next(iter(tracker.cases))).id
    assert message_reporter(gw, case_id, FOCAL_MESSAGE, "focal")
    run_jobs(gw)
    return case_id


# --- the servers that play the providers, and the gateway's settings for them ---------------


@pytest.fixture
def voice_api() -> Iterator[TwilioRecordingsAPI]:
    server = TwilioRecordingsAPI().start()
    yield server
    server.stop()


@pytest.fixture
def twilio(request: pytest.FixtureRequest) -> str:
    """Which Twilio the local server plays: "messaging" (SMS, WhatsApp) or "voice"."""
    return str(getattr(request, "param", "messaging"))


@pytest.fixture
def env(env, twilio, provider_api, telegram_api, voice_api) -> dict[str, str]:  # type: ignore[no-untyped-def]
    settings = {
        **env,
        **provider_api.settings(),
        "AFRICASTALKING_CALLBACK_KEY": harness.AT_KEY,
        "KANNEL_CALLBACK_KEY": harness.KANNEL_KEY,
        "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
        "TELEGRAM_API_BASE_URL": telegram_api.url,
        "GATEWAY_LOCALES": "en,fr",
    }
    if twilio == "voice":
        settings.update(
            TWILIO_ACCOUNT_SID=ivr_phone.ACCOUNT_SID,
            TWILIO_AUTH_TOKEN=ivr_phone.AUTH_TOKEN,
            TWILIO_API_BASE_URL=voice_api.base_url,
        )
    return settings


@pytest.fixture
def logs(caplog):  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    return caplog


# --- the core pipeline, without a provider ---------------------------------------------------


@pytest.fixture
def phone_sender():  # type: ignore[no-untyped-def]
    with fake_channel("testsms", sender=lambda settings, address, text, mid: f"x{mid}"):
        yield


def test_a_whole_sms_conversation_leaves_nothing_in_clear(
    gw, tracker, logs, phone_sender, client
) -> None:  # type: ignore[no-untyped-def]
    for n, text in enumerate(CONVERSATION):
        message = InboundMessage(
            channel="sms",
            provider="testsms",
            provider_message_id=f"leak-{n}",
            sender=PHONE,
            text=text,
        )
        intake.submit(gw, [message])
        run_jobs(gw)
    message_the_reporter(gw, tracker)
    client.get("/healthz", environ_base={"REMOTE_ADDR": IP})
    client.get("/metrics", environ_base={"REMOTE_ADDR": IP})
    assert_nothing_in_clear(gw, logs, [*number_forms(PHONE), "Captain Okonkwo", PLACE, IP])


# --- SMS and WhatsApp through the providers' webhooks -----------------------------------------


def twilio_form(sender: str, text: str, n: int) -> dict[str, str]:
    whatsapp = sender.startswith("whatsapp:")
    ours = "whatsapp:+14155550100" if whatsapp else "+243810009998"
    form = {
        "MessageSid": f"SM{n:032x}",
        "AccountSid": harness.providers.TWILIO_SID,
        "From": sender,
        "To": ours,
        "Body": text,
        "NumMedia": "0",
        "SmsStatus": "received",
    }
    if whatsapp:
        form.update(ProfileName="Neema Kiberiti", WaId=sender.removeprefix("whatsapp:+"))
    return form


def africastalking_form(sender: str, text: str, n: int) -> dict[str, str]:
    return {
        "id": f"ATXid_leak{n}",
        "from": sender,
        "to": "12345",
        "text": text,
        "date": "2026-03-01 10:00:00",
        "linkId": f"link-{n}",
    }


def kannel_query(sender: str, text: str, n: int) -> dict[str, str]:
    return {
        "from": sender,
        "to": "1234",
        "text": text,
        "ts": "2026-03-01 10:00:00",
        "smsc": "FAKE",
        "id": f"kannel-leak-{n}",
    }


SMS_FLOWS = [
    ("whatsapp", harness.Twilio, twilio_form, "whatsapp:+243810000078", "+243810000078"),
    ("twilio-sms", harness.Twilio, twilio_form, "+243810000081", "+243810000081"),
    ("africastalking", harness.AfricasTalking, africastalking_form, "+243810000079", None),
    ("kannel", harness.Kannel, kannel_query, "+243810000080", None),
]


@pytest.mark.parametrize(
    ("label", "provider", "make", "sender", "number"), SMS_FLOWS, ids=[f[0] for f in SMS_FLOWS]
)
def test_a_provider_conversation_leaves_nothing_in_clear(
    gw, client, tracker, provider_api, logs, label, provider, make, sender, number
) -> None:  # type: ignore[no-untyped-def]
    channel = provider(client)
    number = number or sender
    for n, text in enumerate(CONVERSATION):
        response = channel.call(channel.message_path, make(sender, text, n))
        assert response.status_code == 200, response.get_data(as_text=True)
        run_jobs(gw)
    message_the_reporter(gw, tracker)
    texts = [provider_api.text_of(call) for call in provider_api.sent()]
    assert len(texts) >= 2 and any(FOCAL_MESSAGE in t for t in texts), texts  # it went out
    secrets = [*number_forms(number), "Captain Okonkwo", PLACE, FOCAL_MESSAGE]
    if label == "whatsapp":
        secrets.append("Neema Kiberiti")  # WhatsApp's ProfileName is never kept
    assert_nothing_in_clear(gw, logs, secrets)


# --- Telegram ----------------------------------------------------------------------------------

TELEGRAM_USER = {
    "id": 7700000042,
    "is_bot": False,
    "first_name": "Zawadikazi",
    "last_name": "Mwangaza",
    "username": "zawadi_hidden_77",
    "language_code": "en",
}


def test_a_telegram_conversation_leaves_nothing_in_clear(
    gw, client, tracker, telegram_api, logs
) -> None:  # type: ignore[no-untyped-def]
    reporter = Reporter(client, gw, telegram_api, user=TELEGRAM_USER)
    reporter.send("/start")
    reporter.send(STATEMENT)
    before, last = all_but_last(affected="2", danger="1", follow_up="1")
    for answer in before:
        reporter.choose(answer)
    [receipt] = reporter.choose(last)
    assert re.search(r"\d{4}-\d{6}-\d", receipt["text"])
    message_the_reporter(gw, tracker)
    assert any(FOCAL_MESSAGE in m["text"] for m in telegram_api.sent(reporter.chat_id))
    reporter.send(REPLY)
    secrets = [
        str(TELEGRAM_USER["id"]),
        "Zawadikazi",
        "Mwangaza",
        "zawadi_hidden_77",
        "Captain Okonkwo",
        "Sergeant Mbeki",
        TELEGRAM_TOKEN,
    ]
    assert_nothing_in_clear(gw, logs, secrets)


# --- the hotline -------------------------------------------------------------------------------


@pytest.mark.parametrize("twilio", ["voice"], indirect=True)
def test_a_hotline_call_and_a_status_call_leave_nothing_in_clear(
    gw, client, tracker, voice_api, logs, twilio
) -> None:  # type: ignore[no-untyped-def]
    caller = "+243810000077"
    call = ivr_phone.Phone(client, caller=caller).dial()
    call.press("1").press("1").press("1").press("2")  # English, report, category, no danger
    call.speak(voice_api.new_recording()).press("1").press("2")  # keep it; who: police
    once = call.digits_heard()[: len(call.digits_heard()) // 2]  # read twice
    number, pin = once[:-6], once[-6:]
    assert call.hang_up() == 200
    run_jobs(gw)
    assert len(tracker.cases) == 1 and voice_api.deleted() != []  # fetched, then deleted there
    check = ivr_phone.Phone(client, caller=caller).dial()
    check.press("1").press("2").press(number + "#").press(pin + "#")  # check the report
    assert check.said() or check.played()
    assert check.hang_up() == 200
    run_jobs(gw)
    found = haystacks(gw, logs)
    for where, text in found.items():
        for secret in number_forms(caller):
            assert secret not in text, f"{secret!r} found in {where}"
        for sid in (call.call_sid, check.call_sid):
            if where == "database":  # kept only to delete the call's record at Twilio
                assert all(
                    line.startswith("(") and "twilio-voice-call" in line
                    for line in text.splitlines()
                    if sid in line
                ), f"{sid} outside provider_cleanups"
            else:
                assert sid not in text, f"{sid!r} found in {where}"


# --- the web form ---------------------------------------------------------------------------------


@pytest.mark.parametrize("via", ["remote_addr", "x_forwarded_for"])
def test_the_web_form_report_status_and_reply_leave_nothing_in_clear(
    gw, app, client, tracker, logs, via
) -> None:  # type: ignore[no-untyped-def]
    if via == "x_forwarded_for":  # behind one trusted proxy, the address is in the header
        import dataclasses

        from gateway.app import create_app

        gw.settings = dataclasses.replace(
            gw.settings, raw={**gw.settings.raw, "GATEWAY_TRUSTED_PROXIES": "1"}
        )
        client = create_app(gateway=gw).test_client()
        client.environ_base.update(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=IP)
    else:
        client.environ_base["REMOTE_ADDR"] = IP
    browser = Browser(client)
    page = send_report(browser, narrative=STATEMENT, location=PLACE, follow_up="yes")
    number, pin = receipt_of(page.get_data(as_text=True))
    run_jobs(gw)
    message_the_reporter(gw, tracker)
    lookup = main_form(browser.get("/status").get_data(as_text=True)).fill(number=number, pin=pin)
    found = browser.submit(lookup).get_data(as_text=True)
    assert FOCAL_MESSAGE in found
    answer = browser.submit(main_form(found).fill(text=REPLY))
    assert "Your message was sent" in answer.get_data(as_text=True)
    run_jobs(gw)
    secrets = [IP, "Captain Okonkwo", PLACE, "Sergeant Mbeki", FOCAL_MESSAGE]
    assert_nothing_in_clear(gw, logs, secrets)


# --- secrets ----------------------------------------------------------------------------------


@pytest.fixture
def debug_logs(caplog):  # type: ignore[no-untyped-def]
    """DEBUG from the start, so that the gateway's and the app's start-up are captured too."""
    caplog.set_level(logging.DEBUG)
    return caplog


def test_no_secret_setting_reaches_the_logs(
    debug_logs, env, tmp_path, provider_api, telegram_api
) -> None:  # type: ignore[no-untyped-def]
    """Start-up, webhooks (taken and refused), sends, a forward and failing forwards, at DEBUG."""
    import base64

    from gateway.app import create_app
    from gateway.core import runtime
    from gateway.core.config import Settings
    from gateway.core.runtime import Gateway
    from gateway.forwarders import primero as primero_module
    from tests.forwarders.test_primero import PrimeroServer
    from tests.support.tracker import TrackerServer

    secrets = {
        "GATEWAY_SECRET_KEY": "made-up-flask-secret-key-31415926",
        "GATEWAY_DATA_KEY": base64.urlsafe_b64encode(b"made-up-data-key-fernet-27182818").decode(),
        "GATEWAY_PSEUDONYM_KEY": "made-up-pseudonym-key-16180339",
        "CASE_TRACKER_SECRET": "made-up-tracker-secret-14142135",
        "PRIMERO_PASSWORD": "made-up-primero-password-1732",
        "SMTP_URL": "smtp://alerts:made-up-smtp-password-2236@127.0.0.1:9",
        **harness.CHANNEL_SECRETS,
    }
    tracker = TrackerServer(secret=secrets["CASE_TRACKER_SECRET"]).start()
    primero = PrimeroServer(password=secrets["PRIMERO_PASSWORD"]).start()
    primero_module._TOKENS.clear()
    settings = Settings.from_mapping(
        {
            **env,
            **secrets,
            "CASE_TRACKER_URL": tracker.url,
            "FORWARDERS": "webhook,primero",
            "PRIMERO_URL": primero.url,
            "PRIMERO_USERNAME": primero.user,
            "ALERT_EMAIL_FROM": "gateway@example.org",
            "ALERT_EMAIL_TO": "focal@example.org",
        },
        tmp_path,
    )
    gw = runtime.install(Gateway.from_settings(settings))
    try:
        client = create_app(gateway=gw).test_client()  # start-up
        providers_ = (harness.Twilio, harness.AfricasTalking, harness.Kannel)
        makers = (twilio_form, africastalking_form, kannel_query)
        provider_api.script = [(500, "down")]  # the first send fails and is retried later
        for n, (provider, make) in enumerate(zip(providers_, makers, strict=True)):
            channel = provider(client)
            payload = make(f"+24381000009{n}", STATEMENT, 100 + n)
            assert channel.call(channel.message_path, payload).status_code == 200
            assert channel.call(channel.message_path, payload, auth="bad").status_code == 403
        reporter = Reporter(client, gw, telegram_api, user=TELEGRAM_USER)
        assert reporter.post(reporter.message(text=STATEMENT)) == 200
        tracker.script = [500, 503]  # the case tracker fails twice, then takes the case
        primero.script = [500]
        page = send_report(Browser(client), narrative=STATEMENT)
        assert page.status_code == 200
        run_jobs(gw, rounds=20)
        assert [r.answered for r in tracker.requests][:2] == [500, 503]
        assert len(tracker.cases) == 1 and len(primero.cases) == 1
        assert [c.status for c in provider_api.calls][0] == 500 and len(provider_api.sent()) >= 2
        assert telegram_api.sent(reporter.chat_id)
    finally:
        runtime.uninstall()
        gw.close()
        tracker.stop()
        primero.httpd.shutdown()
    records = debug_logs.get_records("setup") + debug_logs.get_records("call")
    assert records, "the logs were captured"
    text = "\n".join(r.getMessage() + (r.exc_text or "") for r in records)
    for name, value in secrets.items():
        shown = urlsplit(value).password if name == "SMTP_URL" else value
        assert shown and shown not in text, f"{name} found in the logs"
