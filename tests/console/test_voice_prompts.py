"""The hotline's prompts page: administrators upload, listen to, delete recordings per language."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from channels.hotline_ivr import prompt_files
from gateway.cases import voice_prompts
from gateway.core.accounts import AuditEntry
from gateway.core.models import VoicePrompt
from gateway.core.states import Role
from tests.channels.hotline_ivr.twilio_api import wav_bytes
from tests.console.conftest import png
from tests.support.media_samples import mp3_with_id3, secrets_in, wav_with_info

PAGE = "/console/voice-prompts/sw"


def upload(browser, locale: str, prompt_id: str, data: bytes, name: str = "take1.wav", **extra):  # type: ignore[no-untyped-def]
    form = {"csrf": browser.token, "recording": (io.BytesIO(data), name), **extra}
    return browser.client.post(
        f"/console/voice-prompts/{locale}/{prompt_id}",
        data=form,
        content_type="multipart/form-data",
    )


def stored(gw) -> list[tuple[str, str, str]]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        rows = db.execute(select(VoicePrompt.locale, VoicePrompt.name, VoicePrompt.content_type))
        return sorted(tuple(r) for r in rows)


def audit_actions(gw) -> list[str]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_admin_sees_the_words_to_say_and_the_progress_per_language(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN)
    total = len(prompt_files.script_lines("sw"))
    overview = admin.get("/console/voice-prompts").get_data(as_text=True)
    assert "/console/voice-prompts/sg" in overview and f"0 / {total}" in overview
    assert "Hotline prompts" in admin.get("/console/stats").get_data(as_text=True)
    page = admin.get(PAGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    words = dict(prompt_files.script_lines("sw"))["danger"]
    assert words.replace('"', "&#34;") in html or words in html
    assert f"Recorded: 0 / {total}" in html and "<audio" not in html and "<script" not in html
    assert html.count('enctype="multipart/form-data"') == total


def test_an_upload_is_cleaned_listed_served_audited_and_deleted(gw, signed_in, client) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN, "recorder")
    response = upload(admin, "sw", "welcome", wav_with_info())
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "ok=welcome#welcome"
    )
    html = admin.get(PAGE).get_data(as_text=True)
    total = len(prompt_files.script_lines("sw"))
    assert f"Recorded: 1 / {total}" in html and "recorder" in html
    listen = re.search(r'<audio controls preload="none" src="([^"]+)"', html).group(1)
    assert listen.startswith("/ivr/audio/sw/welcome.wav?v=")
    served = client.get(listen)
    assert served.status_code == 200 and served.mimetype == "audio/wav"
    assert served.data[:4] == b"RIFF" and not secrets_in(served.data), "metadata removed"
    assert "max-age" in served.headers["Cache-Control"]
    assert client.get("/ivr/audio/sw/welcome.wav").headers["Cache-Control"] == "no-cache"
    assert upload(admin, "sw", "goodbye", mp3_with_id3(), "take.wav").status_code == 302
    mp3 = client.get(voice_prompts_url(gw, "sw", "goodbye"))
    assert mp3.mimetype == "audio/mpeg" and not secrets_in(mp3.data)
    assert stored(gw) == [("sw", "goodbye", "audio/mpeg"), ("sw", "welcome", "audio/wav")]
    deleted = admin.post(f"{PAGE}/welcome/delete")
    assert deleted.status_code == 302
    assert stored(gw) == [("sw", "goodbye", "audio/mpeg")]
    assert client.get(listen).status_code == 404, "no file either: nothing to play"
    actions = [a for a in audit_actions(gw) if a.startswith("voice_prompt.")]
    assert actions == ["voice_prompt.upload", "voice_prompt.upload", "voice_prompt.delete"]


def voice_prompts_url(gw, locale: str, prompt_id: str) -> str:  # type: ignore[no-untyped-def]
    found = voice_prompts.listing(gw)[locale][prompt_id]
    return f"/ivr/audio/{locale}/{prompt_id}{found.extension}?v={found.version}"


BIG_WAV = wav_bytes(0.1)[:44] + bytes(voice_prompts.MAX_BYTES)


@pytest.mark.parametrize(
    ("label", "data", "name", "status", "words"),
    [
        ("a picture named .wav", png(), "welcome.wav", 400, "not a WAV or MP3"),
        (
            "text named .mp3",
            b"ID4 this is not audio at all",
            "welcome.mp3",
            400,
            "not a WAV or MP3",
        ),
        ("a RIFF without sound", b"RIFF\x04\x00\x00\x00WAVE", "x.wav", 400, "not a WAV or MP3"),
        ("MPEG sync bytes, no frame", b"\xff\xfb" + b"nonsense", "x.mp3", 400, "not a WAV or MP3"),
        ("over the limit", BIG_WAV, "long.wav", 413, "larger than 2 MiB"),
        ("empty", b"", "x.wav", 400, "Choose a recording file first"),
    ],
)
def test_a_refused_upload_says_why_and_changes_nothing(
    gw, signed_in, label, data, name, status, words
) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN)
    before = audit_actions(gw)
    response = upload(admin, "sw", "welcome", data, name)
    assert response.status_code == status, label
    assert words in response.get_data(as_text=True), label
    assert stored(gw) == [] and audit_actions(gw) == before, label


def test_without_csrf_or_for_an_unknown_prompt_nothing_is_stored(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN)
    no_csrf = admin.client.post(
        f"{PAGE}/welcome",
        data={"recording": (io.BytesIO(wav_bytes(0.1)), "a.wav")},
        content_type="multipart/form-data",
    )
    assert no_csrf.status_code == 400
    assert upload(admin, "sw", "no_such_prompt", wav_bytes(0.1)).status_code == 404
    assert upload(admin, "xx", "welcome", wav_bytes(0.1)).status_code == 404
    assert admin.get("/console/voice-prompts/xx").status_code == 404
    assert stored(gw) == []


@pytest.mark.parametrize("role", [Role.FOCAL_POINT, Role.VIEWER, Role.INTAKE])
def test_only_administrators_open_the_page_or_upload(gw, signed_in, role) -> None:  # type: ignore[no-untyped-def]
    user = signed_in(role)
    assert user.get("/console/voice-prompts").status_code == 403
    assert user.get(PAGE).status_code == 403
    assert upload(user, "sw", "welcome", wav_bytes(0.1)).status_code == 403
    assert user.post(f"{PAGE}/welcome/delete").status_code == 403
    assert stored(gw) == []
    with gw.sessions() as db:
        assert db.scalar(select(func.count()).select_from(VoicePrompt)) == 0
