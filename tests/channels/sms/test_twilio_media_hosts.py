"""Twilio MMS media: the account's credentials go only to TWILIO_API_BASE_URL (finding 3).

A second local server plays "another host" (another port is another
origin): the place a MediaUrl should never send credentials to, and the
pre-signed storage URL Twilio's media URL redirects to.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from gateway.core.models import MediaDownload
from tests.channels.sms.harness import Twilio, fixture
from tests.channels.sms.test_twilio import make_phone
from tests.support.jobs import run_jobs
from tests.support.providers import ProviderAPI
from tests.support.questions import answers
from tests.test_privacy import jpeg_with_gps

NUMBER = "+243810000131"
CASE_NUMBER = re.compile(r"\d{4}-\d{6,}-\d")
ANSWERS = answers(follow_up="2")  # skip every question, no follow-up


@pytest.fixture
def twilio(client) -> Twilio:  # type: ignore[no-untyped-def]
    return Twilio(client)


@pytest.fixture
def other_host() -> Iterator[ProviderAPI]:
    server = ProviderAPI().start()
    yield server
    server.stop()


def report_with_media(gw, twilio, provider_api, media_url: str) -> None:  # type: ignore[no-untyped-def]
    """An MMS (text and one photo) signed as Twilio signs it, then the questions skipped."""
    phone = make_phone(gw, twilio, provider_api, NUMBER)
    base = fixture("twilio", "sms_inbound")["params"]
    sid = "MM" + "3" * 32
    payload = {
        **base,
        "From": NUMBER,
        "Body": "Photo of the truck",
        "NumMedia": "1",
        "MediaUrl0": media_url,
        "MediaContentType0": "image/jpeg",
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
    }
    assert twilio.call(twilio.message_path, payload).status_code == 200
    run_jobs(gw)
    for answer in ANSWERS:
        phone.send(answer)
    receipt = phone.api.text_of(provider_api.sent(NUMBER)[-1])
    assert CASE_NUMBER.search(receipt), receipt


def test_media_on_another_host_is_not_fetched_and_the_report_is_filed(
    gw, twilio, provider_api, other_host, tracker
) -> None:  # type: ignore[no-untyped-def]
    other_host.public_media["/ME1"] = jpeg_with_gps()
    other_host.media["/media/ME1"] = jpeg_with_gps()
    report_with_media(gw, twilio, provider_api, other_host.url + "/media/ME1")
    assert other_host.calls == []  # no request at all, so no credentials
    [request] = [r for r in tracker.requests if r.answered == 201]
    assert request.body["attachments"] == [] and request.signature_ok
    with gw.sessions() as session:
        download = session.scalars(select(MediaDownload)).one()
        assert (download.state, download.last_error) == ("dead", "ForeignMediaUrl")


def test_twilios_redirect_is_followed_without_credentials(
    gw, twilio, provider_api, other_host, tracker
) -> None:  # type: ignore[no-untyped-def]
    provider_api.redirects["/media/ME2"] = other_host.url + "/signed/ME2?Signature=made-up"
    other_host.public_media["/signed/ME2"] = jpeg_with_gps()
    report_with_media(gw, twilio, provider_api, provider_api.url + "/media/ME2")
    [at_twilio] = [c for c in provider_api.calls if c.path == "/media/ME2"]
    assert at_twilio.headers.get("authorization", "").startswith("Basic ")
    assert at_twilio.status == 307
    [at_storage] = other_host.calls
    assert at_storage.path == "/signed/ME2" and "authorization" not in at_storage.headers
    [request] = [r for r in tracker.requests if r.answered == 201]
    [attachment] = request.body["attachments"]
    assert attachment["content_type"] == "image/jpeg"
