"""Console test helpers: users, a controllable clock, and a signed-in browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from gateway.console.users import NewUser, create_user
from gateway.core.accounts import User
from gateway.core.schema import utcnow
from gateway.core.states import Role
from tests.support.questions import answers

NEW_PASSWORD = "a long enough passphrase 42"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Clock:
    """The console's clock: starts now, moves only when told."""

    def __init__(self) -> None:
        self.now: datetime = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock()
    app.config["CONSOLE_CLOCK"] = clock
    return clock


def make_user(gw, role: Role | str, username: str | None = None) -> NewUser:  # type: ignore[no-untyped-def]
    role = Role(role)
    with gw.sessions() as session, session.begin():
        return create_user(session, gw.cipher, username or f"{role.value}_user", role.value)


def png(colour: str = "red") -> bytes:
    """A small real PNG, as a reporter's phone would send a photo."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF field on the page"
    return match.group(1)


class Browser:
    """A test client that signs in the way a person does: form, password, code."""

    def __init__(self, client: FlaskClient, clock: Clock) -> None:
        self.client, self.clock = client, clock
        self.token = ""

    def code(self, user: NewUser) -> str:
        return pyotp.TOTP(user.totp_secret).at(self.clock.now)

    def login(self, user: NewUser, password: str | None = None, code: str | None = None, **extra):  # type: ignore[no-untyped-def]
        self.clock.advance(seconds=31)  # a fresh TOTP step: a code is accepted once
        page = self.client.get("/console/login")
        form = {
            "csrf": csrf_of(page.get_data(as_text=True)),
            "username": user.username,
            "password": user.password if password is None else password,
            "code": self.code(user) if code is None else code,
            **extra,
        }
        return self.client.post("/console/login", data=form)

    def sign_in(self, user: NewUser) -> Browser:
        """Sign in and make the forced first password change."""
        response = self.login(user)
        assert response.status_code == 302, response.get_data(as_text=True)
        page = self.client.get("/console/password")
        self.token = csrf_of(page.get_data(as_text=True))
        changed = self.post(
            "/console/password",
            current=user.password,
            new=NEW_PASSWORD,
            repeat=NEW_PASSWORD,
        )
        assert changed.status_code == 302, changed.get_data(as_text=True)
        return self

    def get(self, path: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.get(path, **kwargs)

    def post(self, path: str, **form: str):  # type: ignore[no-untyped-def]
        return self.client.post(path, data={"csrf": self.token, **form})


@pytest.fixture
def browser(app: Flask, clock: Clock) -> Iterator[Browser]:
    yield Browser(app.test_client(), clock)


@pytest.fixture
def signed_in(app: Flask, gw, clock: Clock):  # type: ignore[no-untyped-def]
    """sign_in(role) -> a Browser signed in as a new user of that role (password changed)."""

    def _sign_in(role: Role | str, username: str | None = None) -> Browser:
        user = make_user(gw, role, username)
        with gw.sessions() as session, session.begin():  # the forced change has its own test
            session.execute(
                update(User)
                .where(User.username == user.username)
                .values(must_change_password=False)
            )
        browser = Browser(app.test_client(), clock)
        assert browser.login(user).status_code == 302
        browser.token = csrf_of(browser.get("/console/stats").get_data(as_text=True))
        return browser

    return _sign_in


class Phone:
    """A reporter's phone on SMS, talking to the real conversation engine."""

    NUMBER = "+447700900123"  # a number reserved for drama: no one's phone

    def __init__(self, gw) -> None:  # type: ignore[no-untyped-def]
        from tests.support.fake_channels import install_channel

        self.gw = gw
        self.inbox: list[str] = []
        self.sent = 0
        install_channel("consoletest", sender=self._deliver)

    def _deliver(self, settings, address: str, text: str, message_id: int) -> str:  # type: ignore[no-untyped-def]
        if address == self.NUMBER:
            self.inbox.append(text)
        return f"out-{message_id}"

    def send(self, text: str) -> None:
        from gateway.core.inbound import InboundMessage
        from gateway.intake import submit as intake
        from tests.support.jobs import run_jobs

        self.sent += 1
        message = InboundMessage(
            channel="sms",
            provider="consoletest",
            provider_message_id=f"console-{id(self)}-{self.sent}",
            sender=self.NUMBER,
            text=text,
        )
        intake.submit(self.gw, [message])
        run_jobs(self.gw)

    def report(self, statement: str, **chosen: str) -> tuple[str, str]:
        """Make a report by conversation; (case number, PIN) from the receipt.

        `chosen` answers questions by step name (tests/support/questions.py); the rest
        are skipped, so a change of the conversation's questions does not break callers.
        """
        self.send(statement)
        for answer in answers(**chosen):
            self.send(answer)
        match = re.search(r"(\d{4}-\d{6,}-\d)\D+(\d{6})", self.inbox[-1])
        assert match, self.inbox[-1]
        return match.group(1), match.group(2)


@pytest.fixture
def phone(gw) -> Iterator[Phone]:  # type: ignore[no-untyped-def]
    from tests.support.fake_channels import remove_channel

    yield Phone(gw)
    remove_channel("consoletest")
