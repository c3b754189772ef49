"""Finding 12: guessing PINs locks nobody out, and the guesses are bounded in total.

An attacker guesses on the web (from one address, or behind Tor from
many); the reporter who holds the right PIN checks by SMS (a signed Twilio
webhook), by phone (the hotline, walked as Twilio walks it) or on the web
from another address. Time passes by moving the stored waits back (the
database's `locked_until`) and by deleting the Redis slot whose TTL would
have run out: nothing sleeps.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.hotline_ivr import prompts
from gateway.cases.filing import Receipt, file_report
from gateway.cases.reports import NewReport
from gateway.core.config import Settings
from gateway.core.models import LookupThrottle
from gateway.core.runtime import Gateway
from tests.channels.hotline_ivr.phone import Phone as VoicePhone
from tests.channels.sms.harness import Phone as SmsPhone
from tests.channels.sms.harness import Twilio, fixture
from tests.channels.web_form.nojs import Browser, main_form
from tests.support import providers

ATTACKER = "203.0.113.66"
REPORTER = "198.51.100.23"
REPORTER_PHONE = "+243810000131"
# docs/threat-model.md, finding 12: five failures are free, then 1, 2, 4 … 30 minutes.
WAIT_AFTER = {5: timedelta(minutes=1), 6: timedelta(minutes=2)}
SLOT_KEY = "complaint-gateway:lookup:slowdown-slot:web"


@pytest.fixture
def env(env: dict[str, str], provider_api: providers.ProviderAPI, tmp_path: Path) -> dict[str, str]:
    audio = tmp_path / "audio"  # empty: the hotline speaks every prompt by text-to-speech
    audio.mkdir()
    return {**env, **provider_api.settings(), "IVR_AUDIO_DIR": str(audio)}


@pytest.fixture
def receipt(gw: Gateway) -> Receipt:
    with gw.sessions() as session, session.begin():
        return file_report(session, gw, NewReport(narrative="x", language="en"), channel="web")


def wrong_pin(pin: str) -> str:
    return "000000" if pin != "000000" else "111111"


def web(app, address: str) -> Browser:  # type: ignore[no-untyped-def]
    """A browser at its own address (the app sees it as remote_addr)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Browser(client)


def look_up(browser: Browser, number: str, pin: str) -> tuple[int, str]:
    form = main_form(browser.get("/status").get_data(as_text=True)).fill(number=number, pin=pin)
    response = browser.submit(form)
    return response.status_code, response.get_data(as_text=True)


def by_sms(gw: Gateway, client, api: providers.ProviderAPI, number: str, pin: str) -> str:  # type: ignore[no-untyped-def]
    base = fixture("twilio", "sms_inbound")["params"]

    def make(text: str, n: str) -> dict[str, str]:
        sid = f"SM{n:0>32}"
        return {**base, "From": REPORTER_PHONE, "Body": text, "MessageSid": sid, "SmsSid": sid}

    phone = SmsPhone(gw, Twilio(client), api, make, REPORTER_PHONE)
    [reply] = phone.send(f"STATUS {number} {pin}")
    return reply


def by_voice(client, number: str, pin: str) -> list[str]:  # type: ignore[no-untyped-def]
    digits = re.sub(r"\D", "", number)
    call = VoicePhone(client, caller=REPORTER_PHONE, token=providers.TWILIO_TOKEN)
    return call.dial().press("1").press("2").press(digits + "#").press(pin + "#").said()


def advance(gw: Gateway, delta: timedelta) -> None:
    """Let `delta` pass for the waits kept in the database."""
    with gw.sessions() as session, session.begin():
        for row in session.scalars(select(LookupThrottle)):
            row.window_start -= delta
            if row.locked_until is not None:
                row.locked_until -= delta


def same_page(html: str, number: str) -> str:
    """The page without what differs by design: the typed number and the form's token."""
    return re.sub(r'name="token" value="[^"]+"', "", html.replace(number, "NUMBER"))


def test_guessing_on_the_web_does_not_lock_the_reporter_out(
    gw, app, client, provider_api, receipt
) -> None:  # type: ignore[no-untyped-def]
    attacker = web(app, ATTACKER)
    number, pin = receipt.case_number, receipt.pin
    codes = [look_up(attacker, number, wrong_pin(pin))[0] for _ in range(6)]
    assert codes == [200] * 5 + [429]  # five failures, then the number waits on the web
    # By SMS (a signed Twilio webhook) and by phone: at once.
    assert number in by_sms(gw, client, provider_api, number, pin)
    assert prompts.PROMPTS["status_received"] in by_voice(client, number, pin)
    # On the web from another address: after the documented wait.
    browser = web(app, REPORTER)
    assert look_up(browser, number, pin)[0] == 429  # the wait holds for every address
    advance(gw, WAIT_AFTER[5])
    status, page = look_up(browser, number, pin)
    assert status == 200 and number in page


def test_a_guesser_who_keeps_going_waits_longer_and_the_right_pin_still_works(
    gw, app, receipt
) -> None:  # type: ignore[no-untyped-def]
    attacker, browser = web(app, ATTACKER), web(app, REPORTER)
    number, pin = receipt.case_number, receipt.pin
    for _ in range(5):
        look_up(attacker, number, wrong_pin(pin))
    # Tries during the wait are not checked and do not make it longer.
    assert [look_up(attacker, number, pin)[0] for _ in range(3)] == [429] * 3
    advance(gw, WAIT_AFTER[5])
    assert look_up(attacker, number, wrong_pin(pin))[0] == 200  # checked: a sixth failure
    advance(gw, WAIT_AFTER[5])
    assert look_up(browser, number, pin)[0] == 429  # the wait has doubled
    advance(gw, WAIT_AFTER[6] - WAIT_AFTER[5])
    status, page = look_up(browser, number, pin)
    assert status == 200 and number in page


def test_over_budget_the_channel_slows_down_says_so_and_counts(
    gw, app, client, provider_api, receipt, env, tmp_path, caplog
) -> None:  # type: ignore[no-untyped-def]
    gw.settings = Settings.from_mapping({**env, "GATEWAY_STATUS_FAILURE_BUDGET": "3"}, tmp_path)
    caplog.set_level("INFO")
    number, pin = receipt.case_number, receipt.pin
    unknown = [f"2020-00077{i}-0" for i in range(4)]
    # Failures spread over numbers and addresses, as a guesser behind Tor would.
    for i in range(3):
        assert look_up(web(app, f"192.0.2.{i + 1}"), unknown[i], "123456")[0] == 200
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gateway_status_lookup_failures_total{channel="web"} 3.0' in metrics
    assert 'gateway_status_lookup_slowdown{channel="web"} 1.0' in metrics
    warnings = [r.getMessage() for r in caplog.records if "over the budget" in r.getMessage()]
    assert len(warnings) == 1 and "web" in warnings[0]

    # Over budget: one look-up is checked per interval, the others wait, unchecked.
    assert look_up(web(app, "192.0.2.10"), number, pin)[0] == 200
    refused = look_up(web(app, "192.0.2.11"), number, pin)
    refused_unknown = look_up(web(app, "192.0.2.12"), unknown[3], pin)
    assert refused[0] == refused_unknown[0] == 429
    assert same_page(refused[1], number) == same_page(refused_unknown[1], unknown[3])
    # Other channels have their own budget: the SMS reporter is not slowed down.
    assert number in by_sms(gw, client, provider_api, number, pin)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'gateway_status_lookups_refused_total{channel="web",reason="budget"} 2.0' in metrics
    assert 'gateway_status_lookup_failures_total{channel="sms"}' not in metrics

    gw.redis.delete(SLOT_KEY)  # the interval is over
    assert look_up(web(app, "192.0.2.13"), number, pin)[0] == 200
    everything = caplog.text + metrics
    for secret in (number, re.sub(r"\D", "", number), pin, "192.0.2.", *unknown):
        assert secret not in everything
