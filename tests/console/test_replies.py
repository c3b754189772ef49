"""A focal point's reply reaches the reporter where the reporter is.

Through the web form's /status page (the reporter types case number and
PIN), and by SMS: a reporter who wrote in through Twilio gets the reply as
an SMS, sent to the provider's API played by a local server.
"""

from __future__ import annotations

import re

import pytest

from gateway.core.states import Role
from tests.channels.sms.harness import Twilio, fixture
from tests.channels.web_form.conftest import receipt_of, send_report
from tests.channels.web_form.nojs import Browser as NoJsBrowser
from tests.channels.web_form.nojs import main_form
from tests.support.jobs import run_jobs
from tests.support.providers import ProviderAPI
from tests.support.questions import answers

REPLY = "Thank you. Can you come to the health centre on Tuesday?"
REPORTER = "+243810000131"  # a made-up number in the tests' range


@pytest.fixture
def env(env: dict[str, str], provider_api: ProviderAPI) -> dict[str, str]:
    """The gateway's environment with Twilio pointed at the local server."""
    return {**env, **provider_api.settings()}


def test_a_reply_is_on_the_web_status_page(gw, client, signed_in) -> None:  # type: ignore[no-untyped-def]
    reporter = NoJsBrowser(client)
    sent = send_report(reporter, narrative="The cook at the base touched my daughter")
    number, pin = receipt_of(sent.get_data(as_text=True))
    focal = signed_in(Role.FOCAL_POINT)
    page = focal.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "waits for their next status check" in page, "a web reporter cannot be pushed to"
    assert focal.post(f"/console/cases/{number}/message", message=REPLY).status_code == 302
    run_jobs(gw)

    form = main_form(reporter.get("/status").get_data(as_text=True)).fill(number=number, pin=pin)
    status = reporter.submit(form).get_data(as_text=True)
    assert "From the team" in status
    assert f'<div dir="auto">{REPLY}</div>' in status
    assert "The cook at the base" not in status, "the status page never repeats the report"


def test_a_reply_goes_out_by_sms_to_a_twilio_reporter(gw, client, signed_in, provider_api) -> None:  # type: ignore[no-untyped-def]
    twilio = Twilio(client)
    base = fixture("twilio", "sms_inbound")["params"]
    said = (
        "The guard at the gate asked me for sex",
        *answers(affected="1", danger="2", follow_up="1"),
    )
    for n, text in enumerate(said):
        sid = f"SM{n + 700:0>32}"
        payload = {**base, "From": REPORTER, "Body": text, "MessageSid": sid}
        payload.update(SmsMessageSid=sid, SmsSid=sid)
        assert twilio.call(twilio.message_path, payload).status_code == 200
        run_jobs(gw)
    receipt = provider_api.text_of(provider_api.sent(REPORTER)[-1])
    match = re.search(r"\d{4}-\d{6,}-\d", receipt)
    assert match, receipt
    number = match.group(0)
    before = len(provider_api.sent(REPORTER))

    focal = signed_in(Role.FOCAL_POINT)
    page = focal.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "messages also go out by SMS" in page and REPORTER[1:] not in page
    assert focal.post(f"/console/cases/{number}/message", message=REPLY).status_code == 302
    run_jobs(gw)

    [call] = provider_api.sent(REPORTER)[before:]
    assert provider_api.text_of(call) == REPLY
    assert call.form["From"] == base["To"], "from the number the reporter wrote to"
    html = focal.get(f"/console/cases/{number}").get_data(as_text=True)
    assert "sent through the channel" in html and REPORTER[1:] not in html
