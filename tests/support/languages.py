"""What a page in one language still shows in English, and digits a keypad lacks."""

from __future__ import annotations

import html
import re
from functools import cache

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from gateway.core import i18n

EASTERN_DIGITS = re.compile("[\u0660-\u0669\u06f0-\u06f9]")
_HIDDEN = re.compile(r"<(style|script)\b.*?</\1>", re.S)
_TAG = re.compile(r"<[^>]+>")
SHORTEST = 12  # shorter msgids ("Case", "Link") also occur inside other words and names


@cache
def _catalog(locale: str) -> Catalog:
    with (i18n.catalog_dir() / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def visible_text(page: str) -> str:
    """The text a reader sees: tags, style and script removed, entities decoded."""
    return html.unescape(_TAG.sub("\n", _HIDDEN.sub("", page)))


def left_in_english(page: str, locale: str, source: str) -> list[str]:
    """msgids from `source` (a path prefix) shown untranslated on a page in `locale`.

    Only strings whose translation differs from the English and that are long
    enough not to occur by chance; a placeholder string is matched by its
    longest fixed part.
    """
    text = visible_text(page)
    left = []
    for message in _catalog(locale):
        if not message.id or not isinstance(message.id, str) or not message.string:
            continue
        if message.string == message.id:
            continue
        if not any(path.startswith(source) for path, _line in message.locations):
            continue
        fixed = max(re.split(r"%\(\w+\)[sdifr]", message.id), key=len).strip()
        if len(fixed) >= SHORTEST and fixed in text and fixed not in message.string:
            left.append(message.id)
    return left
