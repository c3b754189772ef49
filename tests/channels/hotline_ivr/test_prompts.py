"""Recorded prompts per language: played when they exist, generated and checked by the CLI."""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import pytest

from channels.hotline_ivr import prompt_files, prompts
from gateway import cli
from gateway.core import i18n
from tests.channels.hotline_ivr.conftest import LOCALES
from tests.channels.hotline_ivr.twilio_api import wav_bytes

WAV = wav_bytes(0.2)


def put(audio_dir: Path, locale: str, *prompt_ids: str, placeholder: bool = False) -> None:
    for prompt_id in prompt_ids:
        (audio_dir / locale).mkdir(parents=True, exist_ok=True)
        (audio_dir / locale / f"{prompt_id}.wav").write_bytes(WAV)
    if placeholder:
        (audio_dir / locale / prompts.PLACEHOLDER_LIST).write_text("\n".join(prompt_ids) + "\n")


def test_recorded_prompts_and_digits_are_played_where_they_exist(gw, phone, audio_dir) -> None:  # type: ignore[no-untyped-def]
    put(audio_dir, "sw", "language_option", "welcome", "main_menu", "digit_4")
    p = phone().dial()
    base = "http://gateway.test/ivr/audio/sw/"
    assert p.played() == [base + "language_option.wav", base + "digit_4.wav"]
    p.press("4")
    assert p.played() == [base + "welcome.wav", base + "main_menu.wav"]


def test_a_placeholder_is_played_only_where_twilio_has_no_voice(gw, phone, audio_dir) -> None:  # type: ignore[no-untyped-def]
    put(audio_dir, "sw", "language_option", placeholder=True)
    put(audio_dir, "fr", "language_option", placeholder=True)
    p = phone().dial()
    assert p.played() == ["http://gateway.test/ivr/audio/sw/language_option.wav"]


def test_the_audio_route_serves_prompt_files_and_nothing_else(client, audio_dir) -> None:  # type: ignore[no-untyped-def]
    put(audio_dir, "ar", "welcome")
    (audio_dir / "secret.wav").write_bytes(WAV)
    response = client.get("/ivr/audio/ar/welcome.wav")
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert response.data == WAV
    for path in (
        "/ivr/audio/ar/welcome.mp3",
        "/ivr/audio/ar/missing.wav",
        "/ivr/audio/ar/..%2Fsecret.wav",
        "/ivr/audio/..%2F/secret.wav",
        "/ivr/audio/ar/placeholders.txt",
    ):
        assert client.get(path, follow_redirects=True).status_code == 404, path


def test_untranslated_prompts_are_said_in_english_by_an_english_voice(gw, phone) -> None:  # type: ignore[no-untyped-def]
    """Swahili has no Twilio voice; French has one, but not for words left in English."""
    p = phone().dial().press("4")
    assert {h.language for h in p.heard if h.kind == "say"} == {"en-US"}
    assert prompts.PROMPTS["welcome"] in p.said()


@pytest.fixture
def prompt_env(monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    """The CLI reads GATEWAY_LOCALES and IVR_AUDIO_DIR from the environment (no keys needed)."""
    directory = tmp_path / "prompts"
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.setenv("GATEWAY_LOCALES", ",".join(LOCALES))
    monkeypatch.setenv("IVR_AUDIO_DIR", str(directory))
    return directory


def test_check_lists_missing_prompts_and_placeholders_per_language(prompt_env, capsys) -> None:  # type: ignore[no-untyped-def]
    for locale in LOCALES:
        put(prompt_env, locale, *prompts.all_prompt_ids())
    put(prompt_env, "sw", "welcome", "digit_1", placeholder=True)
    assert cli.main(["ivr", "prompts", "check"]) == 0
    lines = capsys.readouterr().out.splitlines()
    total = len(prompts.all_prompt_ids())
    assert f"en: {total}/{total} prompt(s)" in lines
    assert f"sw: {total}/{total} prompt(s); placeholders: welcome, digit_1" in lines
    (prompt_env / "fr" / "confirm.wav").unlink()
    assert cli.main(["ivr", "prompts", "check"]) == 1
    out = capsys.readouterr().out
    assert f"fr: {total - 1}/{total} prompt(s); missing: confirm" in out.splitlines()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_generate_makes_listed_8khz_placeholders_and_keeps_real_recordings(
    prompt_env, capsys
) -> None:  # type: ignore[no-untyped-def]
    put(prompt_env, "sw", "digit_7")  # a real recording: never overwritten
    assert cli.main(["ivr", "prompts", "generate", "--locale", "sw"]) == 0
    out = capsys.readouterr().out
    made = sorted(p.stem for p in (prompt_env / "sw").glob("*.wav"))
    assert made == sorted(prompts.all_prompt_ids())
    assert (prompt_env / "sw" / "digit_7.wav").read_bytes() == WAV
    listed = prompts.placeholders(prompt_env, "sw")
    assert listed == set(prompts.all_prompt_ids()) - {"digit_7"}
    with wave.open(str(prompt_env / "sw" / "goodbye.wav")) as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() > 8000  # more than a second of speech
    assert out.strip() == f"sw: {len(listed)} placeholder(s) made"
    capsys.readouterr()
    assert cli.main(["ivr", "prompts", "generate", "--locale", "sw"]) == 0
    assert capsys.readouterr().out.startswith("sw: 0 placeholder(s) made")


def test_generate_without_espeak_fails_with_one_clear_line(
    prompt_env, capsys, monkeypatch, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert cli.main(["ivr", "prompts", "generate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: espeak-ng is not installed (Debian: apt-get install espeak-ng)"
    assert not prompt_env.exists()


def test_downsampling_keeps_the_length_in_time() -> None:
    import array

    samples = array.array("h", [1000] * 22050)
    out = prompt_files.to_8khz(samples, 22050)
    assert abs(len(out) - 8000) <= 1 and set(out) == {1000}


def test_each_language_has_a_current_recording_script() -> None:
    """i18n/audio/<locale>/script.txt is the catalog of prompt ids with the words to record."""
    for locale in i18n.available_locales():
        path = prompts.default_audio_dir() / locale / prompt_files.SCRIPT
        assert path.is_file(), f"run `complaint-gateway ivr prompts script` ({locale})"
        committed = path.read_text(encoding="utf-8")
        assert committed == prompt_files.script(locale), (
            f"{path} is out of date with the catalog: run `complaint-gateway ivr prompts script`"
        )
        ids = [line.split("\t")[0] for line in committed.splitlines() if not line.startswith("#")]
        assert ids == prompts.all_prompt_ids()


def test_the_script_marks_what_a_native_speaker_has_not_checked(prompt_env, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["ivr", "prompts", "script", "--locale", "sw", "--locale", "en"]) == 0
    swahili = (prompt_env / "sw" / prompt_files.SCRIPT).read_text(encoding="utf-8")
    english = (prompt_env / "en" / prompt_files.SCRIPT).read_text(encoding="utf-8")
    assert "danger\t[needs review] " in swahili and "digit_7\t7\n" in swahili
    prompt_lines = [line for line in english.splitlines() if not line.startswith("#")]
    assert "danger\tIs someone in danger right now? For yes, press 1. For no, press 2." in (
        prompt_lines
    )
    assert not [line for line in prompt_lines if "[" in line]


def test_check_lists_the_help_prompts_as_missing_where_a_language_has_recordings(
    prompt_env, capsys
) -> None:  # type: ignore[no-untyped-def]
    """Recordings made before "help now" existed: its prompts are listed, and said by TTS."""
    new = ["help_option", "help_offer", "help_care", "help_call", "help_number_is"]
    new += ["help_hours", "help_again", "plus"]
    older = [p for p in prompts.all_prompt_ids() if p not in new]
    for locale in LOCALES:
        put(prompt_env, locale, *older)
    assert cli.main(["ivr", "prompts", "check"]) == 1
    lines = capsys.readouterr().out.splitlines()
    total = len(prompts.all_prompt_ids())
    for locale in LOCALES:
        assert f"{locale}: {len(older)}/{total} prompt(s); missing: {', '.join(new)}" in lines
