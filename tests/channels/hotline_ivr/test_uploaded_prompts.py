"""Uploaded prompts: the hotline plays them at once; `ivr prompts check` counts them."""

from __future__ import annotations

import io
from urllib.parse import urlsplit

import pytest
import redis

from channels.hotline_ivr import prompts
from gateway import cli
from gateway.cases import voice_prompts
from gateway.core.states import Role
from tests.channels.hotline_ivr.test_prompts import put
from tests.channels.hotline_ivr.twilio_api import wav_bytes
from tests.console.conftest import clock, signed_in  # noqa: F401 - the console's fixtures

SANGO = wav_bytes(0.3, tone=700)
LOCALES = ("en", "sg")  # Sango is option 2; Twilio has no voice for it


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "GATEWAY_LOCALES": ",".join(LOCALES)}


@pytest.fixture
def admin(request):  # type: ignore[no-untyped-def]
    """An administrator signed in to the console (tests/console/conftest.py)."""
    return request.getfixturevalue("signed_in")(Role.ADMIN)


def upload(admin, locale: str, prompt_id: str, data: bytes) -> None:  # type: ignore[no-untyped-def]
    response = admin.client.post(
        f"/console/voice-prompts/{locale}/{prompt_id}",
        data={"csrf": admin.token, "recording": (io.BytesIO(data), "take.wav")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def test_a_prompt_uploaded_in_the_console_for_sango_is_what_the_hotline_plays(
    gw,
    phone,
    admin,
    client,
) -> None:  # type: ignore[no-untyped-def]
    """The issue's check: upload in the console, then a Sango call plays it; its URL serves it."""
    before = phone().dial().press("2")
    assert not before.played(), "nothing recorded yet: text-to-speech"
    upload(admin, "sg", "welcome", SANGO)
    call = phone().dial()
    assert call.played() == [], "the language menu has no Sango recording yet"
    call.press("2")
    (played,) = [url for url in call.played() if "/sg/welcome" in url]
    assert played.startswith("http://gateway.test/ivr/audio/sg/welcome.wav?v=")
    parts = urlsplit(played)
    served = client.get(f"{parts.path}?{parts.query}")
    assert served.status_code == 200 and served.mimetype == "audio/wav"
    assert served.data == SANGO
    assert [url for url in call.played() if "/sg/" in url] == [played], "only what was uploaded"

    upload(admin, "sg", "welcome", wav_bytes(0.4, tone=900))  # a better take
    again = phone().dial().press("2")
    (replaced,) = [url for url in again.played() if "/sg/welcome" in url]
    assert replaced != played, "a new recording is a new URL: no cache plays the old one"
    assert client.get(replaced.removeprefix("http://gateway.test")).data != SANGO


def test_an_upload_wins_over_the_file_and_its_deletion_brings_the_file_back(
    gw,
    phone,
    admin,
    audio_dir,
) -> None:  # type: ignore[no-untyped-def]
    put(audio_dir, "sg", "language_option")
    file_url = "http://gateway.test/ivr/audio/sg/language_option.wav"
    assert phone().dial().played() == [file_url]
    upload(admin, "sg", "language_option", SANGO)
    (uploaded,) = phone().dial().played()
    assert uploaded.startswith(file_url + "?v=")
    response = admin.client.post(
        "/console/voice-prompts/sg/language_option/delete", data={"csrf": admin.token}
    )
    assert response.status_code == 302
    assert phone().dial().played() == [file_url]


def test_the_hotline_plays_uploads_without_redis(gw, phone, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Redis gone: the list is read from the database, and the call goes on."""
    voice_prompts.put(gw, "sg", "language_option", SANGO, "test")
    working, gw.redis = gw.redis, redis.Redis(unix_socket_path=str(tmp_path / "none.sock"))
    working.close()
    (played,) = phone().dial().played()
    assert played.startswith("http://gateway.test/ivr/audio/sg/language_option.wav?v=")


def test_check_counts_the_recordings_uploaded_in_the_console(
    gw, env, audio_dir, monkeypatch, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_LOCALES", "sg")
    monkeypatch.setenv("IVR_AUDIO_DIR", str(audio_dir))
    monkeypatch.setenv("DATABASE_URL", env["DATABASE_URL"])
    total = len(prompts.all_prompt_ids())
    ids = prompts.all_prompt_ids()
    put(audio_dir, "sg", *ids[1:])
    assert cli.main(["ivr", "prompts", "check"]) == 1
    assert f"sg: {total - 1}/{total} prompt(s); missing: {ids[0]}" in capsys.readouterr().out
    voice_prompts.put(gw, "sg", ids[0], SANGO, "test")
    assert cli.main(["ivr", "prompts", "check"]) == 0
    out = capsys.readouterr().out
    assert f"sg: {total}/{total} prompt(s); uploaded in the console: 1" in out.splitlines()
