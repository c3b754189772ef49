"""Keywords of the text conversation, in every supported language.

A keyword is recognised case- and accent-insensitively, only as the whole
message (or, for STATUS, REPORT and LANGUAGE, as its first word), so a
report that happens to begin with "Stop" is still a report. The language
of the keyword becomes the conversation's language.

Lists for Swahili, Lingala, Sango and Haitian Creole were written without a
native speaker: `complaint-gateway i18n review-list` lists them with the
catalog's strings to review (docs/languages.md). The English words and the
digits work in every language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from gateway.core.i18n import display_name


class Command(StrEnum):
    REPORT = "report"
    STATUS = "status"
    HELP = "help"
    STOP = "stop"
    LANGUAGE = "language"


class Word(StrEnum):
    YES = "yes"
    NO = "no"
    SKIP = "skip"


KEYWORDS: dict[str, dict[Command | Word, tuple[str, ...]]] = {
    "en": {
        Command.REPORT: ("report", "complaint"),
        Command.STATUS: ("status", "check"),
        Command.HELP: ("help", "info"),
        Command.STOP: ("stop", "unsubscribe", "cancel", "end", "quit"),
        Command.LANGUAGE: ("language", "lang"),
        Word.YES: ("yes", "y"),
        Word.NO: ("no", "n"),
        Word.SKIP: ("skip",),
    },
    "fr": {
        Command.REPORT: ("signaler", "plainte", "rapport", "signalement"),
        Command.STATUS: ("statut", "etat", "suivi"),
        Command.HELP: ("aide",),
        Command.STOP: ("arret", "arreter", "fin"),
        Command.LANGUAGE: ("langue",),
        Word.YES: ("oui", "o"),
        Word.NO: ("non",),
        Word.SKIP: ("passer", "sauter"),
    },
    "es": {
        Command.REPORT: ("denuncia", "denunciar", "reportar", "queja"),
        Command.STATUS: ("estado", "consulta"),
        Command.HELP: ("ayuda",),
        Command.STOP: ("alto", "parar", "basta", "baja"),
        Command.LANGUAGE: ("idioma",),
        Word.YES: ("si",),
        Word.NO: ("no",),
        Word.SKIP: ("saltar", "omitir"),
    },
    "pt": {
        Command.REPORT: ("denuncia", "denunciar", "relatar", "queixa"),
        Command.STATUS: ("situacao", "consultar"),
        Command.HELP: ("ajuda",),
        Command.STOP: ("parar", "pare", "sair"),
        Command.LANGUAGE: ("lingua",),
        Word.YES: ("sim", "s"),
        Word.NO: ("nao",),
        Word.SKIP: ("pular", "saltar"),
    },
    "ar": {
        Command.REPORT: ("بلاغ", "ابلاغ", "شكوى"),
        Command.STATUS: ("حالة", "الحالة"),
        Command.HELP: ("مساعدة",),
        Command.STOP: ("توقف", "ايقاف", "الغاء"),
        Command.LANGUAGE: ("لغة", "اللغة"),
        Word.YES: ("نعم",),
        Word.NO: ("لا",),
        Word.SKIP: ("تخطي", "تجاوز"),
    },
    "sw": {
        Command.REPORT: ("ripoti", "shtaka", "lalamiko"),
        Command.STATUS: ("hali",),
        Command.HELP: ("msaada",),
        Command.STOP: ("acha", "simama", "sitisha"),
        Command.LANGUAGE: ("lugha",),
        Word.YES: ("ndiyo", "ndio"),
        Word.NO: ("hapana",),
        Word.SKIP: ("ruka",),
    },
    "ln": {
        Command.REPORT: ("lopoto", "kofunda"),
        Command.STATUS: ("ezalela",),
        Command.HELP: ("lisalisi",),
        Command.STOP: ("tika", "kotika"),
        Command.LANGUAGE: ("monoko",),
        Word.YES: ("iyo", "ee"),
        Word.NO: ("te", "ate"),
        Word.SKIP: ("leka",),
    },
    "sg": {
        Command.REPORT: ("fa", "mbeti"),
        Command.STATUS: ("lege",),
        Command.HELP: ("mungo",),
        Command.STOP: ("kanga", "luti"),
        Command.LANGUAGE: ("yanga",),
        Word.YES: ("iin", "ii"),
        Word.NO: ("ein", "pepe"),
        Word.SKIP: ("hon",),
    },
    "ht": {
        Command.REPORT: ("rapo", "denonse", "plent"),
        Command.STATUS: ("estati", "sitiyasyon"),
        Command.HELP: ("ed", "ede"),
        Command.STOP: ("kanpe", "rete", "fini"),
        Command.LANGUAGE: ("lang",),
        Word.YES: ("wi",),
        Word.NO: ("non",),
        Word.SKIP: ("sote", "pase"),
    },
}
NEEDS_REVIEW = frozenset({"sw", "ln", "sg", "ht"})  # written without a native speaker
# English keywords and STOP work whatever the language (operators' own opt-out words).
UNIVERSAL_LOCALE = "en"


def normalise(text: str) -> str:
    """Lower case, accents and Arabic diacritics removed, punctuation dropped."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("أ", "ا").replace("إ", "ا").replace("آ", "ا")
    return re.sub(r"[^\w\s]", " ", stripped).strip()


def _index() -> dict[str, list[tuple[str, Command | Word]]]:
    table: dict[str, list[tuple[str, Command | Word]]] = {}
    for locale, words in KEYWORDS.items():
        for meaning, spellings in words.items():
            for spelling in spellings:
                table.setdefault(normalise(spelling), []).append((locale, meaning))
    return table


_INDEX = _index()


@dataclass(frozen=True)
class Parsed:
    command: Command
    locale: str | None  # None: the word is shared by several languages
    rest: str  # what follows the keyword (STATUS's case number and PIN, REPORT's text)


def _meanings(word: str) -> list[tuple[str, Command | Word]]:
    return _INDEX.get(normalise(word), [])


def _locale_of(matches: list[tuple[str, Command | Word]], meaning: Command | Word) -> str | None:
    locales = {loc for loc, m in matches if m == meaning}
    return locales.pop() if len(locales) == 1 else None


def _mostly_digits(text: str) -> bool:
    """STATUS takes a case number and PIN: "check the man at the gate" is a report."""
    alnum = [ch for ch in text if ch.isalnum()]
    digits = sum(ch.isdigit() for ch in alnum)
    return digits >= 4 and digits * 2 >= len(alnum)


def parse_command(text: str) -> Parsed | None:
    """The keyword command a message is, or None for ordinary text."""
    stripped = text.strip()
    if not stripped:
        return None
    first, _, rest = stripped.partition(" ")
    if len(first) > 1 and not first.isdigit():
        first_norm = normalise(first)
        if not first_norm:
            return None
        for match in _meanings(first_norm):
            meaning = match[1]
            if isinstance(meaning, Command):
                whole = not rest.strip()
                takes_rest = meaning in (Command.REPORT, Command.LANGUAGE) or (
                    meaning is Command.STATUS and _mostly_digits(rest)
                )
                if whole or takes_rest:
                    return Parsed(meaning, _locale_of(_meanings(first_norm), meaning), rest.strip())
    return None


def parse_word(text: str) -> tuple[Word, str | None] | None:
    """YES, NO or SKIP (with the language it was said in), or None."""
    matches = [(loc, m) for loc, m in _meanings(text.strip()) if isinstance(m, Word)]
    if not matches:
        return None
    meaning = matches[0][1]
    return meaning, _locale_of(matches, meaning)  # type: ignore[return-value]


def locale_named(text: str, offered: list[str]) -> str | None:
    """The locale a reporter names by code ("fr") or by its own name ("Kiswahili")."""
    wanted = normalise(text)
    for locale in offered:
        if wanted in (locale, normalise(display_name(locale))):
            return locale
    return None


def help_with_rest(text: str) -> Parsed | None:
    """HELP followed by more words ("HELP North"), which parse_command leaves as text.

    The caller decides: only a place the services directory knows makes it
    a HELP command; anything else stays what it was (a report's words).
    """
    first, _, rest = text.strip().partition(" ")
    if not rest.strip() or len(first) < 2:
        return None
    matches = _meanings(first)
    if not any(meaning is Command.HELP for _loc, meaning in matches):
        return None
    return Parsed(Command.HELP, _locale_of(matches, Command.HELP), rest.strip())
