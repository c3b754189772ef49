"""Translations for every channel, read from the gettext catalogs in `i18n/`.

Catalogs are parsed with Babel straight from the `.po` files, so there is no
compile step to forget; fuzzy entries are skipped (the reporter sees the
English text rather than a guess), as gettext's compiler would do.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path

from babel import Locale, UnknownLocaleError, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DEFAULT_LOCALE = "en"
DOMAIN = "messages"
# Each shipped catalog's language named in itself, and the right-to-left ones: all the language
# picker and the LANGUAGE keyword need of CLDR. Babel gives them only by loading a locale's
# whole CLDR data and keeping it for the life of the process: some 10 MiB in every web process
# and worker for nine names (bench/README.md, memory). tests/test_i18n_names.py holds this
# table to Babel's answers; a locale not in it is asked of Babel.
NATIVE_NAMES = {
    "en": "English",
    "ar": "العربية",
    "es": "Español",
    "fr": "Français",
    "ht": "Kreyòl Ayisyen",
    "ln": "Lingála",
    "pt": "Português",
    "sg": "Sängö",
    "sw": "Kiswahili",
}
RTL_LOCALES = frozenset({"ar"})


def catalog_dir() -> Path:
    return Path(str(resources.files("i18n")))


def available_locales() -> list[str]:
    """Locales that have a catalog, English first."""
    found = sorted(p.parent.parent.name for p in catalog_dir().glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return [DEFAULT_LOCALE] + [loc for loc in found if loc != DEFAULT_LOCALE]


def configured_locales(configured: tuple[str, ...]) -> list[str]:
    """GATEWAY_LOCALES in its order (the first the default), else all catalogs."""
    if not configured:
        return available_locales()
    known = set(available_locales())
    return [loc for loc in configured if loc in known] or [DEFAULT_LOCALE]


@lru_cache(maxsize=64)
def translations(locale: str) -> NullTranslations:
    path = catalog_dir() / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


def gettext(locale: str, message: str, /, **values: object) -> str:
    """`message` in `locale`, with %(name)s placeholders filled from `values`."""
    text = translations(locale).gettext(message)
    return text % values if values else text


def ngettext(locale: str, singular: str, plural: str, n: int, /, **values: object) -> str:
    text = translations(locale).ngettext(singular, plural, n)
    return text % {"num": n, **values}


def is_rtl(locale: str) -> bool:
    """Whether `locale` is written right to left."""
    if locale in NATIVE_NAMES:
        return locale in RTL_LOCALES
    return babel_is_rtl(locale)


def babel_is_rtl(locale: str) -> bool:
    """`is_rtl` from CLDR (which loads the locale's whole data)."""
    try:
        return Locale.parse(locale).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError):
        return False


def display_name(locale: str) -> str:
    """The language's name in itself (what a reporter recognises)."""
    if locale in NATIVE_NAMES:
        return NATIVE_NAMES[locale]
    return babel_display_name(locale)


def babel_display_name(locale: str) -> str:
    """`display_name` from CLDR (which loads the locale's whole data)."""
    try:
        name = Locale.parse(locale).get_display_name(locale) or locale
    except (UnknownLocaleError, ValueError):
        return locale
    return name[:1].upper() + name[1:]


# CLDR has no month names for Haitian Creole (it prints "M11"); Haitian
# documents write dates the French way, so dates there follow fr_HT.
DATE_LOCALES = {"ht": "fr_HT"}


@lru_cache(maxsize=64)
def _cldr(locale: str) -> Locale:
    try:
        return Locale.parse(DATE_LOCALES.get(locale, locale))
    except (UnknownLocaleError, ValueError):
        return Locale.parse(DEFAULT_LOCALE)


def _utc(value: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without a zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def format_date(locale: str, value: date) -> str:
    """A date as readers of `locale` write it ("28 nov. 2026"), in Western digits."""
    if isinstance(value, datetime):
        value = _utc(value).date()
    return dates.format_date(value, "medium", locale=_cldr(locale))


def format_datetime(locale: str, value: datetime) -> str:
    """Date and 24-hour time in UTC ("28 nov. 2026 04:08"): for focal points' tables."""
    moment = _utc(value)
    clock = dates.format_time(moment, "HH:mm", tzinfo=UTC, locale=_cldr(locale))
    return f"{format_date(locale, moment)} {clock}"


def format_day(locale: str, value: date) -> str:
    """Day and month only ("28 nov."), for chart labels."""
    return dates.format_skeleton("MMMd", value, locale=_cldr(locale))


def format_number(locale: str, value: float) -> str:
    """A count or a measure with the locale's separators, always in Western digits."""
    return numbers.format_decimal(value, locale=_cldr(locale), numbering_system="latn")


def _(message: str) -> str:
    """Mark a string for extraction without translating it yet."""
    return message


REVIEW_MARK = "needs-review"


def review_list(locales: list[str] | None = None) -> dict[str, list[str]]:
    """Per locale, the msgids whose translation is marked `# needs-review`.

    Translations written without a native speaker carry that translator
    comment (never the fuzzy flag, which would hide them from reporters);
    this is the list to hand to a reviewer.
    """
    result: dict[str, list[str]] = {}
    for locale in locales or available_locales():
        path = catalog_dir() / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not path.exists():
            continue
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        result[locale] = [
            message.id if isinstance(message.id, str) else message.id[0]
            for message in catalog
            if message.id and REVIEW_MARK in (c.strip() for c in message.user_comments)
        ]
    return result
