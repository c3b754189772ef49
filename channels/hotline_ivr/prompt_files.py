"""`complaint-gateway ivr prompts generate|check|script`: the hotline's audio per language.

`generate` makes placeholder prompts with espeak-ng (Debian package
`espeak-ng`) for every configured language it speaks: 8 kHz mono 16-bit
WAV, named `<prompt id>.wav`, listed in `<locale>/placeholders.txt` so that
everyone can see they are machine-made and wait for a real voice. It never
overwrites a file that is not listed there (a real recording), and makes
nothing for a prompt that has no translation yet (English words in a
Swahili voice help no one). `check` lists, per configured language, the
prompts without a file and the placeholders; it exits 1 when a configured
language lacks any; a recording uploaded in the console (the
`voice_prompts` table of the database DATABASE_URL names) counts as
recorded. `script` writes `<locale>/script.txt`, the catalog of
prompt ids with the words to record for each, taken from the gettext
catalog (what a speaker reads in the studio). docs/ivr-prompts.md tells how
to record real prompts.
"""

from __future__ import annotations

import array
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from gateway.cases.voice_prompts import recorded_in
from gateway.core import i18n
from gateway.core.config import Settings, data_directory
from gateway.core.providers import PromptLine

from . import prompts

TARGET_RATE = 8000
ESPEAK = "espeak-ng"
ESPEAK_SPEED = "140"  # words per minute; espeak's 175 is too fast on a phone line


class PromptToolError(Exception):
    """One line for the administrator (espeak-ng missing, a file not writable)."""


@dataclass
class LocaleReport:
    locale: str
    missing: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    made: list[str] = field(default_factory=list)
    untranslated: list[str] = field(default_factory=list)
    uploaded: list[str] = field(default_factory=list)


def configured(env: Mapping[str, str]) -> tuple[list[str], Path]:
    """The configured locales and the audio directory, read without the gateway's keys."""
    locales = tuple(x.strip() for x in env.get("GATEWAY_LOCALES", "").split(",") if x.strip())
    audio = env.get("IVR_AUDIO_DIR") or str(prompts.default_audio_dir())
    return i18n.configured_locales(locales), Path(audio)


def espeak_voices() -> set[str]:
    """The language codes espeak-ng speaks (lower case, `pt-br` style)."""
    if shutil.which(ESPEAK) is None:
        raise PromptToolError("espeak-ng is not installed (Debian: apt-get install espeak-ng)")
    listing = subprocess.run([ESPEAK, "--voices"], capture_output=True, text=True, check=True)
    return {line.split()[1].lower() for line in listing.stdout.splitlines()[1:] if line.split()}


def espeak_voice(locale: str, voices: set[str]) -> str | None:
    wanted = locale.replace("_", "-").lower()
    for candidate in (wanted, wanted.split("-")[0]):
        if candidate in voices:
            return candidate
    return None


def to_8khz(samples: array.array, rate: int) -> array.array:  # type: ignore[type-arg]
    """Down-sample 16-bit mono audio by averaging each output sample's window.

    A box filter as wide as the step removes most of what would fold back
    above 4 kHz; good enough for a placeholder voice on a phone line.
    """
    step = rate / TARGET_RATE
    out = array.array("h")
    position = 0.0
    while position < len(samples):
        start, end = int(position), max(int(position + step), int(position) + 1)
        window = samples[start:end]
        out.append(int(sum(window) / len(window)))
        position += step
    return out


def synthesize(text: str, voice: str, target: Path) -> None:
    """Speak `text` with espeak-ng into `target` as 8 kHz mono 16-bit WAV."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp) / "raw.wav"
        subprocess.run(
            [ESPEAK, "-v", voice, "-s", ESPEAK_SPEED, "-w", str(raw), text],
            check=True,
            capture_output=True,
        )
        with wave.open(str(raw)) as source:
            if source.getsampwidth() != 2 or source.getnchannels() != 1:
                raise PromptToolError("espeak-ng wrote audio in an unexpected format")
            samples = array.array("h", source.readframes(source.getnframes()))
            if sys.byteorder == "big":
                samples.byteswap()
            rate = source.getframerate()
    resampled = to_8khz(samples, rate) if rate != TARGET_RATE else samples
    if sys.byteorder == "big":
        resampled.byteswap()
    target.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(target), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(TARGET_RATE)
        out.writeframes(resampled.tobytes())


def _file(directory: Path, locale: str, prompt_id: str) -> Path | None:
    for extension in prompts.AUDIO_EXTENSIONS:
        path = directory / locale / f"{prompt_id}{extension}"
        if path.is_file():
            return path
    return None


def _words(locale: str, prompt_id: str) -> str | None:
    """What to synthesize, or None when the catalog has no translation of the prompt."""
    if prompt_id in prompts.DIGITS:
        return prompts.DIGITS[prompt_id]
    words = prompts.text(locale, prompt_id)
    if (
        locale != i18n.DEFAULT_LOCALE
        and words == prompts.PROMPTS[prompt_id]
        and prompt_id not in prompts.SAME_IN_MANY_LANGUAGES
    ):
        return None
    return words


def generate(locales: list[str], directory: Path, force: bool = False) -> list[LocaleReport]:
    """Placeholder files for every prompt without a real recording, where espeak-ng can."""
    voices = espeak_voices()
    reports = []
    for locale in locales:
        report = LocaleReport(locale)
        reports.append(report)
        voice = espeak_voice(locale, voices)
        if voice is None:
            report.missing = [
                p for p in prompts.all_prompt_ids() if not _file(directory, locale, p)
            ]
            continue
        listed = prompts.placeholders(directory, locale)
        for prompt_id in prompts.all_prompt_ids():
            existing = _file(directory, locale, prompt_id)
            if existing is not None and (prompt_id not in listed or not force):
                continue  # a real recording, or a placeholder already made
            words = _words(locale, prompt_id)
            if words is None:
                report.untranslated.append(prompt_id)
                continue
            synthesize(words, voice, directory / locale / f"{prompt_id}.wav")
            listed.add(prompt_id)
            report.made.append(prompt_id)
        if report.made:
            _write_list(directory, locale, listed)
    return reports


def _write_list(directory: Path, locale: str, listed: set[str]) -> None:
    path = directory / locale / prompts.PLACEHOLDER_LIST
    header = "# Made by `complaint-gateway ivr prompts generate` (espeak-ng); record real ones.\n"
    path.write_text(header + "".join(f"{p}\n" for p in sorted(listed)), encoding="utf-8")


SCRIPT = "script.txt"


def script(locale: str) -> str:
    """The recording script of `locale`: one line per prompt id, tab, the words."""
    lines = [
        f"# What to record for the hotline in '{locale}': one file per line, named <id>.wav",
        "# (8 kHz mono) or <id>.mp3, in this directory. Made from the gettext catalog by",
        "# `complaint-gateway ivr prompts script`; do not edit: change the catalog.",
        "# [not translated] means the catalog has no translation yet; [needs review]",
        "# that no native speaker has checked the translation.",
    ]
    lines += [f"{prompt_id}\t{words}" for prompt_id, words in script_lines(locale)]
    return "\n".join(lines) + "\n"


def script_lines(locale: str) -> list[tuple[str, str]]:
    """(prompt id, the words to record) of every prompt, as `script.txt` and the console show."""
    review = set(i18n.review_list([locale]).get(locale, []))
    lines = []
    for prompt_id in prompts.all_prompt_ids():
        words = _words(locale, prompt_id)
        if words is None:
            words = "[not translated] " + prompts.PROMPTS[prompt_id]
        elif prompt_id in prompts.PROMPTS and prompts.PROMPTS[prompt_id] in review:
            words = "[needs review] " + words
        lines.append((prompt_id, " ".join(words.split())))
    return lines


def catalog(settings: Settings, locale: str) -> list[PromptLine]:
    """The channel's `voice_prompts`: each prompt's words and packaged file, for the console."""
    listed = prompts.placeholders(prompts.audio_dir(settings), locale)
    out = []
    for prompt_id, words in script_lines(locale):
        path = prompts.audio_file(settings, locale, prompt_id)
        url = f"/ivr/audio/{locale}/{path.name}" if path is not None else None
        placeholder = path is not None and prompt_id in listed
        out.append(PromptLine(prompt_id, words, file_url=url, placeholder=placeholder))
    return out


def write_scripts(locales: list[str], directory: Path) -> list[LocaleReport]:
    reports = []
    for locale in locales:
        path = directory / locale / SCRIPT
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(script(locale), encoding="utf-8")
        reports.append(LocaleReport(locale))
    return reports


def check(
    locales: list[str], directory: Path, uploaded: Mapping[str, set[str]] | None = None
) -> list[LocaleReport]:
    """Per language, the prompts with neither an uploaded recording nor a file, and placeholders."""
    reports = []
    for locale in locales:
        listed = prompts.placeholders(directory, locale)
        report = LocaleReport(locale)
        in_console = (uploaded or {}).get(locale, set())
        for prompt_id in prompts.all_prompt_ids():
            if prompt_id in in_console:
                report.uploaded.append(prompt_id)
            elif _file(directory, locale, prompt_id) is None:
                report.missing.append(prompt_id)
            elif prompt_id in listed:
                report.placeholders.append(prompt_id)
        reports.append(report)
    return reports


def database_url(env: Mapping[str, str]) -> str:
    """DATABASE_URL as the gateway reads it (gateway.core.config), without needing its keys."""
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{data_directory(None, env) / 'gateway.db'}"
    for old in ("postgres://", "postgresql://"):
        if url.startswith(old):
            return "postgresql+psycopg://" + url[len(old) :]
    return url


def main(command: str, only: list[str] | None = None, force: bool = False) -> int:
    """The CLI's `ivr prompts generate|check`; one line per language."""
    env = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    env.update(os.environ)
    locales, directory = configured(env)
    if only:
        locales = only
    try:
        if command == "generate":
            reports = generate(locales, directory, force)
        elif command == "script":
            reports = write_scripts(locales, directory)
        else:
            uploaded = recorded_in(database_url(env))
            if uploaded is None:
                print("note: no database to read uploaded prompts from", file=sys.stderr)
            reports = check(locales, directory, uploaded)
    except (PromptToolError, subprocess.CalledProcessError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = len(prompts.all_prompt_ids())
    for r in reports:
        if command == "script":
            line = f"{r.locale}: {directory / r.locale / SCRIPT}"
        elif command == "generate":
            line = f"{r.locale}: {len(r.made)} placeholder(s) made"
            if r.untranslated:
                line += f", {len(r.untranslated)} not translated yet"
            if r.missing:
                line += f", espeak-ng does not speak it ({len(r.missing)} prompt(s) missing)"
        else:
            line = f"{r.locale}: {total - len(r.missing)}/{total} prompt(s)"
            if r.missing:
                line += f"; missing: {', '.join(r.missing)}"
            if r.placeholders:
                line += f"; placeholders: {', '.join(r.placeholders)}"
            if r.uploaded:
                line += f"; uploaded in the console: {len(r.uploaded)}"
        print(line)
    if command == "check":
        return 1 if any(r.missing for r in reports) else 0
    return 0
