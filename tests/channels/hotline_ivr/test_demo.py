"""`/demo/ivr`: a whole call in the browser, through the real, signed endpoints."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.core.models import Case, MediaDownload
from tests.channels.hotline_ivr.phone import ACCOUNT_SID, AUTH_TOKEN, PUBLIC_BASE_URL
from tests.channels.hotline_ivr.twilio_api import wav_bytes

SERVICES = Path(__file__).parents[2] / "fixtures" / "assistance" / "services.yaml"
DIGIT = re.compile(r"<p>(\d)</p>")
HIDDEN = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')


@pytest.fixture
def env(env: dict[str, str], request) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        **env,
        "GATEWAY_DEMO_TRACKER": "1",
        "TWILIO_API_BASE_URL": f"{PUBLIC_BASE_URL}/demo/twilio-api",
        **getattr(request, "param", {}),  # a test's own settings (indirect parametrization)
    }


def hidden(page: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in HIDDEN.findall(page):
        if name != "op":
            fields.setdefault(name, value.replace("&amp;", "&"))
    return fields


def post(client, page: str, op: str, **extra) -> str:  # type: ignore[no-untyped-def]
    response = client.post("/demo/ivr", data={**hidden(page), "op": op, **extra})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_report_call_in_the_browser(gw, client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/demo/ivr").get_data(as_text=True)
    assert "Call the hotline" in page and "<script" not in page
    page = post(client, page, "call")
    assert "For English, press" in page and page.count('name="key"') == 12
    for key in ("1", "1", "2", "2"):
        page = post(client, page, "key", key=key)
    assert 'type="file"' in page
    audio = wav_bytes(1.0)
    page = post(client, page, "record", statement=(io.BytesIO(audio), "statement.wav"))
    assert "To keep what you said, press 1" in page
    page = post(client, page, "key", key="1")
    assert "Last question: who did it?" in page
    page = post(client, page, "key", key="2")
    assert "Your case number is" in page and "Your PIN is" in page
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        download = session.scalars(select(MediaDownload)).one()
        url = gw.cipher.decrypt(download.url_enc).decode()
    assert (case.channel, case.personnel_category) == ("voice", "police")
    assert url.startswith(f"{PUBLIC_BASE_URL}/demo/twilio-api/2010-04-01/Accounts/{ACCOUNT_SID}/")
    # The stand-in Recording API serves it with the account's credentials only, then deletes it.
    path = url[len(PUBLIC_BASE_URL) :]
    auth = {
        "Authorization": "Basic "
        + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    }
    assert client.get(path).status_code == 401
    fetched = client.get(path, headers=auth)
    assert fetched.status_code == 200 and fetched.data == audio
    assert client.delete(path + ".json", headers=auth).status_code == 204
    assert client.get(path, headers=auth).status_code == 404
    page = post(client, page, "silence")
    page = post(client, page, "silence")
    assert "The call has ended." in page


@pytest.mark.parametrize("env", [{"ASSISTANCE_FILE": str(SERVICES)}], indirect=True)
def test_the_demo_call_offers_help_now_with_a_help_directory(gw, client) -> None:  # type: ignore[no-untyped-def]
    page = post(client, client.get("/demo/ivr").get_data(as_text=True), "call")
    page = post(client, page, "key", key="1")  # English
    assert "To make a report, press 1." in page and "For help now, press 4." in page
    page = post(client, page, "key", key="4")
    assert "District Clinic" in page and "Free and confidential care." in page
    assert "".join(DIGIT.findall(page)) == "0005550101" * 2  # +000 555 0101, twice
    assert "To hear this again, press 1." in page
    page = post(client, page, "silence")
    assert "For help now, press 4." in page and "District Clinic" not in page


def test_a_file_that_is_not_audio_is_refused(gw, client) -> None:  # type: ignore[no-untyped-def]
    page = post(client, client.get("/demo/ivr").get_data(as_text=True), "call")
    for key in ("1", "1", "3", "2"):
        page = post(client, page, "key", key=key)
    page = post(client, page, "record", statement=(io.BytesIO(b"MZ not audio"), "x.exe"))
    assert "Choose an audio file" in page and 'type="file"' in page
    with gw.sessions() as session:
        assert session.scalars(select(Case)).all() == []


def test_a_forged_demo_post_is_refused(gw, client) -> None:  # type: ignore[no-untyped-def]
    client.get("/demo/ivr")
    response = client.post("/demo/ivr", data={"op": "call", "csrf": "guess"})
    assert response.status_code == 400


def test_the_demo_exists_only_in_demo_mode(gw) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from gateway.app import create_app
    from gateway.core.config import Settings

    raw = {**gw.settings.raw, "GATEWAY_DEMO_TRACKER": ""}
    plain = create_app(
        gateway=dataclasses.replace(gw, settings=Settings.from_mapping(raw, gw.settings.data_dir))
    ).test_client()
    assert plain.get("/demo/ivr").status_code == 404
    assert plain.get("/demo/twilio-api/2010-04-01/Accounts/AC1/Recordings/RE1").status_code == 404
