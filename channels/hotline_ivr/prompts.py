"""What the hotline says, in each language: recorded audio first, text-to-speech after.

Every prompt has an id and an English text that goes through gettext. A
prompt is played from the recording an administrator uploaded in the
console (gateway/cases/voice_prompts.py), else from
`<audio dir>/<locale>/<id>.wav` (or `.mp3`) when that file exists:
Twilio's text-to-speech has no voice for Lingala, Sango, Swahili and many
other languages a mission needs, so recorded prompts are what makes the
line usable there. Without a recording, `<Say>` speaks the
translated text with a voice Twilio has for the language (`TTS_VOICES`),
and the English text with an English voice otherwise.

A file listed in `<locale>/placeholders.txt` was made by espeak-ng
(`complaint-gateway ivr prompts generate`): it is played only when Twilio
has no voice for the language, since Twilio's voices sound better.

- `<Play>`: https://www.twilio.com/docs/voice/twiml/play
- `<Say>` and its voices: https://www.twilio.com/docs/voice/twiml/say/text-speech
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path

from twilio.twiml import TwiML

from gateway.cases.voice_prompts import StoredPrompt
from gateway.core import i18n
from gateway.core.config import Settings
from gateway.core.i18n import _

AUDIO_EXTENSIONS = (".wav", ".mp3")
PLACEHOLDER_LIST = "placeholders.txt"
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(?:_[A-Za-z0-9]+)?$")
PROMPT_ID_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")

# Languages Twilio's <Say> speaks: (language attribute, voice attribute).
TTS_VOICES: dict[str, tuple[str, str]] = {
    "en": ("en-US", "Polly.Joanna"),
    "fr": ("fr-FR", "Polly.Celine"),
    "es": ("es-ES", "Polly.Lucia"),
    "pt": ("pt-BR", "Polly.Camila"),
    "ar": ("ar-XA", "Google.ar-XA-Standard-A"),
}

PROMPTS: dict[str, str] = {
    # Translators: hotline language menu, followed by a digit ("... press 2"). Name YOUR language.
    "language_option": _("For English, press"),
    "welcome": _(
        "This line is for reporting sexual exploitation and abuse by staff of the United "
        "Nations or of aid organisations. This call is anonymous. You do not need to give "
        "your name, and the people who handle reports do not see your phone number."
    ),
    "main_menu": _(
        "To make a report, press 1. To check a report you made before, press 2. "
        "To hear how reports are handled, press 3."
    ),
    "how_handled": _(
        "A trained person reads every report and decides how to help. Reports are kept "
        "confidential. After your report you get a case number and a PIN. With them you can "
        "call again to hear news about your report. Nobody will ask for your name."
    ),
    "category": _(
        "What happened? If someone asked for sex in exchange for money, food, work or help, "
        "press 1. If someone was sexually abused or attacked, press 2. "
        "For other wrong behaviour by staff, press 3."
    ),
    "danger": _("Is someone in danger right now? For yes, press 1. For no, press 2."),
    "record_intro": _(
        "After the beep, tell us what happened, in your own words: what, where and when. "
        "You have up to 3 minutes. Press the hash key when you have finished."
    ),
    "record_nothing": _("We did not hear anything."),
    "confirm": _("To keep what you said, press 1. To say it again, press 2."),
    # Translators: hotline, asked after the statement is kept (Case.personnel_category).
    "who": _(
        "Last question: who did it? A soldier, press 1. The police, press 2. Staff of the "
        "United Nations or of an aid organisation, press 3. Someone else, press 4. "
        "If you are not sure, press 0."
    ),
    "filed": _("Thank you. Your report has been received."),
    "urgent_noted": _("Your report is marked urgent and will be looked at first."),
    "case_number_is": _("Your case number is"),
    "pin_is": _("Your PIN is"),
    "keep_secret": _(
        "Write them down or remember them, and keep them secret. "
        "You need them to hear news about your report."
    ),
    "hear_again": _("To hear them again, press 1."),
    "connect_offer": _("To speak to someone now, press 2."),
    "connecting": _("Please wait. We are connecting you to someone who can help."),
    "connect_failed": _("Nobody could answer now."),
    # Help now (ASSISTANCE_FILE): discreet words, a call can be overheard; medical care first.
    # Translators: hotline main menu, said after its options 1 to 3.
    "help_option": _("For help now, press 4."),
    # Translators: hotline, said after the case number and PIN.
    "help_offer": _("For help now, press 3."),
    "help_care": _(
        "If you or someone close to you needs care, go to a health service as soon as you "
        "can, even if you feel well. Care in the first 3 days can prevent serious problems "
        "later."
    ),
    # Translators: hotline, followed by the name of a health service, then its own words.
    "help_call": _("You can call"),
    # Translators: hotline, followed by a phone number read digit by digit.
    "help_number_is": _("The number is"),
    # Translators: hotline, followed by the service's hours as written in its file ("24/7").
    "help_hours": _("Opening hours:"),
    "help_again": _("To hear this again, press 1."),
    # Translators: hotline, the "+" at the start of a phone number read aloud.
    "plus": _("plus"),
    "enter_case": _("Enter your case number, then press the hash key."),
    "enter_pin": _("Enter your PIN, then press the hash key."),
    "message_for_you": _("There is a message for you:"),
    # Translators: hotline, after a focal point's message was read on a status call.
    "answer_offer": _("To record an answer, press 1."),
    "answer_intro": _(
        "After the beep, say your answer. You have up to 2 minutes. "
        "Press the hash key when you have finished."
    ),
    "answer_added": _("Thank you. Your answer has been added to your report."),
    # The same words as the web status page, so a reporter hears what they would read.
    "status_wrong": _(
        "We could not open a report with this case number and PIN. Please check them."
    ),
    "status_locked": _("Too many tries. For your safety, please wait 30 minutes and try again."),
    "status_received": _("The team has your report. They will read it soon."),
    "status_under_review": _("The team is reading your report."),
    "status_in_progress": _("The team is working on your case."),
    "status_referred": _("The team gave your case to a service that can help."),
    "status_closed": _("The work on this case has ended."),
    "not_understood": _("Sorry, we did not get your answer."),
    "please_hold": _("Please hold."),
    "not_saved": _(
        "Sorry, we could not save your report just now. Please call again in a few minutes."
    ),
    "try_later": _("Sorry, something went wrong on our side. Please call again later."),
    "goodbye": _("Thank you for calling. Goodbye."),
    "goodbye_no_answer": _("We did not get an answer. Please call again when you can. Goodbye."),
}
DIGITS = {f"digit_{d}": str(d) for d in range(10)}
# Words many languages write as English does (French "plus"): a translation
# equal to the English text is taken as given, not as missing.
SAME_IN_MANY_LANGUAGES = frozenset({"plus"})
ENGLISH = TTS_VOICES[i18n.DEFAULT_LOCALE]


def all_prompt_ids() -> list[str]:
    """Every prompt a language needs, digits included (what `ivr prompts check` counts)."""
    return [*PROMPTS, *DIGITS]


def text(locale: str, prompt_id: str) -> str:
    """The prompt's words in `locale` (English where the catalog has no translation)."""
    if prompt_id in DIGITS:
        return DIGITS[prompt_id]
    return i18n.gettext(locale, PROMPTS[prompt_id])


def default_audio_dir() -> Path:
    return Path(str(resources.files("i18n"))) / "audio"


def audio_dir(settings: Settings) -> Path:
    """IVR_AUDIO_DIR, else the `i18n/audio` directory shipped with the code."""
    configured = settings.get("IVR_AUDIO_DIR")
    return Path(configured) if configured else default_audio_dir()


def audio_file(settings: Settings, locale: str, prompt_id: str) -> Path | None:
    """The recorded file of a prompt, or None."""
    if not LOCALE_PATTERN.match(locale) or not PROMPT_ID_PATTERN.match(prompt_id):
        return None
    for extension in AUDIO_EXTENSIONS:
        path = audio_dir(settings) / locale / f"{prompt_id}{extension}"
        if path.is_file():
            return path
    return None


def placeholders(directory: Path, locale: str) -> set[str]:
    """Prompt ids of `locale` whose files are machine-made placeholders."""
    path = directory / locale / PLACEHOLDER_LIST
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return set()
    return set(_read_list(path, stamp))


@lru_cache(maxsize=64)
def _read_list(path: Path, stamp: int) -> tuple[str, ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def voice_of(locale: str) -> tuple[str, str] | None:
    return TTS_VOICES.get(locale.split("_")[0].lower())


class Speaker:
    """Renders prompts for one call's language into TwiML (a response or a `<Gather>`)."""

    def __init__(
        self, settings: Settings, locale: str, uploaded: Mapping[str, StoredPrompt] | None = None
    ) -> None:
        self.settings = settings
        self.locale = locale
        self.base = (settings.public_base_url or "").rstrip("/")
        self.uploaded = uploaded or {}  # this language's recordings uploaded in the console

    def audio_url(self, prompt_id: str) -> str | None:
        """An uploaded recording (its version in the URL: a new upload is a new URL), or a file."""
        stored = self.uploaded.get(prompt_id)
        if stored is not None:
            return (
                f"{self.base}/ivr/audio/{self.locale}/{prompt_id}{stored.extension}"
                f"?v={stored.version}"
            )
        path = audio_file(self.settings, self.locale, prompt_id)
        if path is None:
            return None
        if prompt_id in placeholders(path.parent.parent, self.locale) and voice_of(self.locale):
            return None  # Twilio's own voice sounds better than espeak-ng
        return f"{self.base}/ivr/audio/{self.locale}/{path.name}"

    def prompt(self, parent: TwiML, prompt_id: str) -> None:
        """Play the prompt's file, or speak it (see the module docstring for the order)."""
        url = self.audio_url(prompt_id)
        if url is not None:
            parent.play(url)
            return
        if prompt_id in DIGITS:
            self.say(parent, DIGITS[prompt_id])
            return
        english = PROMPTS[prompt_id]
        translated = text(self.locale, prompt_id)
        voice = voice_of(self.locale)
        if voice is not None and (
            translated != english
            or self.locale == i18n.DEFAULT_LOCALE
            or prompt_id in SAME_IN_MANY_LANGUAGES
        ):
            parent.say(translated, language=voice[0], voice=voice[1])
        else:
            # No voice for the language, or no translation: English words in an English voice.
            parent.say(self.english_text(prompt_id), language=ENGLISH[0], voice=ENGLISH[1])

    def english_text(self, prompt_id: str) -> str:
        if prompt_id == "language_option":  # name the language, or every option says "English"
            return f"For {i18n.display_name(self.locale)}, press"
        return PROMPTS[prompt_id]

    def say(self, parent: TwiML, words: str) -> None:
        """Text-to-speech of free text (a digit, a focal point's message) in the best voice."""
        voice = voice_of(self.locale) or ENGLISH
        parent.say(words, language=voice[0], voice=voice[1])

    def digits(self, parent: TwiML, digits: str, pause: int = 1) -> None:
        """Digit by digit, slowly: a pause after each digit, a longer one at a separator.

        Case numbers and PINs, and a help line's phone number ("+" said as a word).
        """
        for ch in digits:
            if ch.isdigit():
                self.prompt(parent, f"digit_{ch}")
                parent.pause(length=pause)
            elif ch == "+":  # a help line's international prefix
                self.prompt(parent, "plus")
            elif ch in "-. ":
                parent.pause(length=pause)
