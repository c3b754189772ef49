"""The shared runner of the SMS providers' tables.

Each provider module declares a table of `Case`s over its recorded
payloads (tests/fixtures/<provider>/); `run_case` posts one the way the
provider would (signed, or with the callback key), checks the answer, the
rows it stored, the normalised message, and that no secret, number or text
reached the logs. `with_auth_cases` adds the bad-signature and
missing-signature cases to every table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from gateway.core.models import InboundEvent, OutboundMessage
from gateway.core.runtime import Gateway
from tests.channels.telegram.conftest import SECRET as TELEGRAM_SECRET
from tests.channels.telegram.conftest import TOKEN as TELEGRAM_TOKEN
from tests.support import providers
from tests.support.jobs import run_jobs

FIXTURES = Path(__file__).parents[2] / "fixtures"
PUBLIC_BASE_URL = "http://gateway.test"  # tests/conftest.py's PUBLIC_BASE_URL
AT_KEY = "made-up-africastalking-callback-key"
KANNEL_KEY = "made-up-kannel-callback-key"
SECRETS = (
    providers.TWILIO_TOKEN,
    providers.AT_API_KEY,
    providers.KANNEL_PASSWORD,
    AT_KEY,
    KANNEL_KEY,
)
# Every channel's secret setting, as the gateway is configured with them.
CHANNEL_SECRETS = {
    "TWILIO_AUTH_TOKEN": providers.TWILIO_TOKEN,
    "AFRICASTALKING_API_KEY": providers.AT_API_KEY,
    "AFRICASTALKING_CALLBACK_KEY": AT_KEY,
    "KANNEL_PASSWORD": providers.KANNEL_PASSWORD,
    "KANNEL_CALLBACK_KEY": KANNEL_KEY,
    "TELEGRAM_BOT_TOKEN": TELEGRAM_TOKEN,
    "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
}


def fixture(provider: str, name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / provider / f"{name}.json").read_text())


@dataclass(frozen=True)
class Expect:
    """The normalised message a payload must become (only the fields given are compared)."""

    channel: str = "sms"
    sender: str | None = None  # what the pseudonym is computed from
    text: str | None = None
    media: int = 0
    message_id: str | None = None
    received_year: int | None = None  # the provider's date was used (None: not checked)


@dataclass(frozen=True)
class Case:
    label: str
    fixture: str
    status: int = 200
    stored: int = 1  # inbound events after the request
    expect: Expect | None = None
    drop: tuple[str, ...] = ()  # fields removed from the payload
    change: dict[str, str] = field(default_factory=dict)  # fields replaced
    auth: str = "good"  # good, bad, missing
    raw: bytes | None = None  # a body that is not a form at all

    def __str__(self) -> str:
        return self.label


def with_auth_cases(cases: list[Case], message_fixture: str) -> list[Case]:
    """Every table also proves that a forged or unsigned request changes nothing."""
    return [
        *cases,
        Case("bad signature or key", message_fixture, 403, 0, auth="bad"),
        Case("missing signature or key", message_fixture, 403, 0, auth="missing"),
    ]


class Provider:
    """How one provider calls the gateway; subclasses know the wire format."""

    name = ""
    message_path = ""
    report_path = ""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def payload(self, case: Case) -> dict[str, str]:
        raise NotImplementedError

    def call(self, path: str, payload: dict[str, str], auth: str = "good") -> Any:
        raise NotImplementedError

    def deliver(self, case: Case) -> Any:
        return self.call(self.message_path, self.payload(case), case.auth)

    def numbers(self, case: Case) -> list[str]:
        """Phone numbers in the payload: none may reach a log."""
        return [v for v in self.payload(case).values() if re.search(r"\d{9,}", v or "")]


def _mutate(data: dict[str, str], case: Case) -> dict[str, str]:
    data = {k: v for k, v in data.items() if k not in case.drop}
    data.update(case.change)
    return data


class Twilio(Provider):
    name = "twilio"
    message_path = "/sms/twilio"
    report_path = "/sms/twilio/status"

    def payload(self, case: Case) -> dict[str, str]:
        return _mutate(fixture("twilio", case.fixture)["params"], case)

    def call(self, path: str, payload: dict[str, str], auth: str = "good") -> Any:
        headers = {}
        if auth != "missing":
            token = providers.TWILIO_TOKEN if auth == "good" else "not-the-token"
            validator = RequestValidator(token)
            headers["X-Twilio-Signature"] = validator.compute_signature(
                PUBLIC_BASE_URL + path, payload
            )
        return self.client.post(path, data=payload, headers=headers)


class AfricasTalking(Provider):
    name = "africastalking"
    message_path = "/sms/africastalking"
    report_path = "/sms/africastalking/delivery"

    def payload(self, case: Case) -> dict[str, str]:
        return _mutate(fixture("africastalking", case.fixture)["form"], case)

    def call(self, path: str, payload: dict[str, str], auth: str = "good") -> Any:
        query = {"good": f"?key={AT_KEY}", "bad": "?key=not-the-key", "missing": ""}[auth]
        return self.client.post(path + query, data=payload)


class Kannel(Provider):
    name = "kannel"
    message_path = "/sms/kannel"
    report_path = "/sms/kannel/dlr"

    def payload(self, case: Case) -> dict[str, str]:
        from urllib.parse import parse_qsl

        raw = fixture("kannel", case.fixture)["query"]
        pairs = parse_qsl(raw, keep_blank_values=True, encoding="latin-1")
        return _mutate(dict(pairs), case)

    def call(self, path: str, payload: dict[str, str], auth: str = "good") -> Any:
        key = {"good": KANNEL_KEY, "bad": "not-the-key", "missing": None}[auth]
        query = dict(payload) if key is None else {**payload, "key": key}
        # latin-1 keeps the bytes Kannel sent (UCS-2 text is not UTF-8).
        return self.client.get(f"{path}?{urlencode(query, encoding='latin-1')}")


PROVIDERS: dict[str, type[Provider]] = {
    "twilio": Twilio,
    "africastalking": AfricasTalking,
    "kannel": Kannel,
}


def events(gw: Gateway) -> list[InboundEvent]:
    with gw.sessions() as session:
        return list(session.scalars(select(InboundEvent).order_by(InboundEvent.id)))


def count_events(gw: Gateway) -> int:
    with gw.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(InboundEvent)) or 0)


def run_case(gw: Gateway, provider: Provider, case: Case, caplog: pytest.LogCaptureFixture) -> None:
    """Post one case and check everything the contract says about it."""
    caplog.set_level("DEBUG")
    before = count_events(gw)
    if case.raw is not None:
        response = provider.client.post(
            provider.message_path, data=case.raw, content_type="application/octet-stream"
        )
    else:
        response = provider.deliver(case)
    assert response.status_code == case.status, response.get_data(as_text=True)
    assert count_events(gw) - before == case.stored
    if case.expect is not None:
        event = events(gw)[-1]
        payload = gw.cipher.decrypt_json(event.payload_enc)
        expect = case.expect
        assert event.channel == expect.channel and event.provider == provider.name
        if expect.sender is not None:
            assert event.sender_pseudonym == gw.pseudonyms.pseudonym(expect.channel, expect.sender)
        if expect.text is not None:
            assert payload["text"] == expect.text
        assert len(payload["media"]) == expect.media
        if expect.message_id is not None:
            assert event.provider_message_id == expect.message_id
        if expect.received_year is not None:
            assert event.received_at.year == expect.received_year
        assert event.sender_pseudonym not in (expect.sender, payload["sender"])
    assert_clean_logs(caplog, [*SECRETS, *provider.numbers(case)])


def assert_clean_logs(caplog: pytest.LogCaptureFixture, forbidden: list[str]) -> None:
    text = caplog.text
    for value in forbidden:
        digits = re.sub(r"\D", "", value)
        assert value not in text
        if len(digits) >= 9:
            assert digits not in text  # nor the number without its +


class Phone:
    """A reporter's phone on one provider: writes through the webhook, reads what was sent.

    Outbound messages are read from the local server that plays the
    provider's API, so they went through the provider module's sender.
    """

    _ids = count(1)

    def __init__(
        self,
        gw: Gateway,
        provider: Provider,
        api: providers.ProviderAPI,
        make: Callable[[str, str], dict[str, str]],
        address: str,
    ) -> None:
        self.gw, self.provider, self.api, self.make, self.address = gw, provider, api, make, address

    def send(self, text: str) -> list[str]:
        """Send one message and return the texts it got back."""
        before = len(self.api.sent(self.address))
        payload = self.make(text, f"{next(self._ids):08d}")
        response = self.provider.call(self.provider.message_path, payload)
        assert response.status_code == 200
        run_jobs(self.gw)
        return [self.api.text_of(call) for call in self.api.sent(self.address)[before:]]


def outbound_messages(gw: Gateway) -> list[OutboundMessage]:
    with gw.sessions() as session:
        return list(session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def receipt_parts(text: str) -> tuple[str, str]:
    match = re.search(r"(\d{4}-\d{6,}-\d)\D+(\d{6})", text)
    assert match, text
    return match.group(1), match.group(2)


def all_fixtures() -> Iterator[tuple[str, str]]:
    for directory in sorted(FIXTURES.iterdir()):
        if directory.name in PROVIDERS:
            for path in sorted(directory.glob("*.json")):
                yield directory.name, path.stem
