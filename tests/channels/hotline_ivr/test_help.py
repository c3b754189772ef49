"""Help now on the hotline (ASSISTANCE_FILE): the medical line, read digit by digit.

Whole calls walked the way Twilio walks the TwiML, signed as Twilio signs
them (phone.py). The directory is tests/fixtures/assistance/services.yaml:
its first medical service is "District Clinic", +000 555 0101, 24/7.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from channels.hotline_ivr import prompts
from gateway.core.models import Case
from tests.channels.hotline_ivr.conftest import LOCALES
from tests.channels.hotline_ivr.phone import HOTLINE, Phone
from tests.channels.hotline_ivr.test_calls import receipt_heard
from tests.channels.hotline_ivr.test_prompts import put

SERVICES = Path(__file__).parents[2] / "fixtures" / "assistance" / "services.yaml"
CLINIC = "District Clinic"
CLINIC_TEXT = {"en": "Free and confidential care.", "fr": "Soins gratuits et confidentiels."}
CLINIC_TEXT["ar"] = "رعاية مجانية وسرية."
CLINIC_DIGITS = "0005550101"
STAFFED = "+243810001111"
HELP_LOCALES = ["en", "fr", "ar"]


@pytest.fixture
def services(tmp_path: Path) -> Path:
    """A copy of the sample directory, which a test may change while the gateway runs."""
    path = tmp_path / "services.yaml"
    shutil.copy(SERVICES, path)
    return path


@pytest.fixture
def env(env: dict[str, str], services: Path) -> dict[str, str]:
    return {**env, "ASSISTANCE_FILE": str(services), "IVR_URGENT_DIAL_NUMBER": STAFFED}


def words(locale: str, prompt_id: str) -> str:
    return prompts.text(locale, prompt_id)


def choose(p: Phone, locale: str) -> Phone:
    return p.dial().press(str(LOCALES.index(locale) + 1))


def assert_help_heard(p: Phone, locale: str) -> None:
    """Care first, the clinic's name and words, its number twice, slowly, and its hours."""
    said = p.said()
    assert said.index(words(locale, "help_care")) < said.index(CLINIC)
    assert CLINIC_TEXT[locale] in said and "24/7" in said
    assert said.count(words(locale, "plus")) == 2
    assert said.count(words(locale, "help_number_is")) == 2
    assert p.digits_heard() == CLINIC_DIGITS * 2
    kinds = [h.kind for h in p.heard]
    digits = [i for i, h in enumerate(p.heard) if h.kind == "say" and h.value in "0123456789"]
    assert all(kinds[i + 1] == "pause" for i in digits)
    voice = prompts.TTS_VOICES[locale][0]
    assert {h.language for h in p.heard if h.kind == "say"} == {voice}  # translated, all of it


@pytest.mark.parametrize("locale", HELP_LOCALES)
def test_the_main_menu_offers_help_now_and_reads_the_medical_line(gw, phone, locale) -> None:  # type: ignore[no-untyped-def]
    p = choose(phone(), locale)
    said = p.said()
    assert said.index(words(locale, "main_menu")) < said.index(words(locale, "help_option"))
    p.press("4")
    assert_help_heard(p, locale)
    assert p.said()[-1] == words(locale, "help_again")
    p.press("1")  # hear it again
    assert_help_heard(p, locale)
    p.keep_silent()  # then back to the main menu, whose keys still work
    assert words(locale, "main_menu") in p.said() and p.digits_heard() == ""
    p.press("3")
    assert words(locale, "how_handled") in p.said()


@pytest.mark.parametrize("locale", HELP_LOCALES)
def test_after_the_receipt_3_reads_the_medical_line(gw, twilio_api, phone, locale) -> None:  # type: ignore[no-untyped-def]
    p = choose(phone(), locale).press("1").press("2").press("2")
    p.speak(twilio_api.new_recording()).press("1").press("0")  # kept; who did it: not sure
    number, pin = receipt_heard(p)
    said = p.said()
    assert words(locale, "help_care") not in said  # nobody said they were in danger
    assert said.index(words(locale, "hear_again")) < said.index(words(locale, "help_offer"))
    assert words(locale, "connect_offer") not in said
    p.press("3")
    assert_help_heard(p, locale)
    p.press("2")  # not "hear again": back to the receipt's menu
    assert words(locale, "hear_again") in p.said()
    p.press("1")
    assert receipt_heard(p) == (number, pin)


def test_someone_in_danger_hears_the_help_line_before_the_next_question(
    gw, twilio_api, phone
) -> None:  # type: ignore[no-untyped-def]
    p = choose(phone(), "en").press("1").press("2")
    assert words("en", "danger") in p.said()
    p.press("1")
    said = p.said()
    assert said.index(words("en", "help_care")) < said.index(words("en", "record_intro"))
    assert p.digits_heard() == CLINIC_DIGITS * 2
    assert p.waiting is not None and p.waiting.tag == "Record"
    p.speak(twilio_api.new_recording()).press("1")
    receipt_heard(p)
    said = p.said()
    assert said.index(words("en", "connect_offer")) < said.index(words("en", "help_offer"))
    p.press("3")  # help again, then the transfer still works
    assert_help_heard(p, "en")
    p.keep_silent()
    assert words("en", "connect_offer") in p.said()
    p.press("2")
    dial = p.waiting
    assert dial is not None and dial.tag == "Dial" and dial.findtext("Number") == STAFFED
    assert dial.get("callerId") == HOTLINE
    with gw.sessions() as session:
        assert session.scalars(select(Case)).one().danger_now is True


def test_no_help_unasked_when_nobody_is_in_danger(gw, phone) -> None:  # type: ignore[no-untyped-def]
    p = choose(phone(), "en").press("1").press("3").press("2")
    assert words("en", "help_care") not in p.said() and words("en", "record_intro") in p.said()
    p = choose(phone(), "en").press("5")  # not a menu key
    assert words("en", "not_understood") in p.said() and words("en", "help_care") not in p.said()


def test_recorded_help_prompts_are_played_and_missing_ones_spoken(gw, phone, audio_dir) -> None:  # type: ignore[no-untyped-def]
    put(audio_dir, "sw", "help_care", "digit_5")
    p = choose(phone(), "sw").press("4")
    base = "http://gateway.test/ivr/audio/sw/"
    assert p.played()[0] == base + "help_care.wav"
    assert p.played().count(base + "digit_5.wav") == 6  # 000 555 0101, twice
    assert words("sw", "help_number_is") not in p.said()  # no Swahili voice: English words
    assert prompts.PROMPTS["help_number_is"] in p.said() and CLINIC in p.said()


def test_a_help_file_broken_after_start_up_leaves_the_menu_as_it_was(
    gw, phone, services, caplog
) -> None:  # type: ignore[no-untyped-def]
    services.write_text("services:\n  - name: Clinic\n    kind: dentist\n    phone: '1'\n")
    p = choose(phone(), "en")
    assert "help services not read" in caplog.text and "line 3" in caplog.text
    assert words("en", "help_option") not in p.said()
    p.press("4")
    assert words("en", "not_understood") in p.said()
