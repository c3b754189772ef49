"""Fixtures of the hotline's tests: Twilio settings, its Recording API played locally, a phone."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.channels.hotline_ivr.phone import ACCOUNT_SID, AUTH_TOKEN, Phone
from tests.channels.hotline_ivr.twilio_api import TwilioRecordingsAPI

LOCALES = ("en", "fr", "ar", "sw")


@pytest.fixture
def twilio_api() -> Iterator[TwilioRecordingsAPI]:
    server = TwilioRecordingsAPI().start()
    yield server
    server.stop()


@pytest.fixture
def audio_dir(tmp_path):  # type: ignore[no-untyped-def]
    """An empty prompt directory: text-to-speech for every prompt unless a test adds files."""
    path = tmp_path / "audio"
    path.mkdir()
    return path


@pytest.fixture
def env(env: dict[str, str], twilio_api: TwilioRecordingsAPI, audio_dir) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        **env,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": twilio_api.base_url,
        "GATEWAY_LOCALES": ",".join(LOCALES),
        "IVR_AUDIO_DIR": str(audio_dir),
    }


@pytest.fixture
def phone(client) -> Callable[..., Phone]:  # type: ignore[no-untyped-def]
    """A new call from a phone: `phone()` or `phone(caller="+243…")`."""

    def make(**kwargs: str) -> Phone:
        return Phone(client, **kwargs)

    return make
