"""What a message to a reporter asks for, so that a channel with buttons can offer them.

The conversation engine writes plain text that works on any phone ("Who is
this about? 1 Me 2 Someone else. 0 skip"), and a sender receives only
that text (`outbound.Sender`). A channel that can show buttons (Telegram's
inline keyboards; WhatsApp's interactive messages could do the same) asks
`prompt_of(text)` what the text is: one of the engine's questions with its
options, the receipt, or the list of languages. The engine's own messages
are recognised in every catalog, so nothing new is stored with a message
and the engine stays one plain-text conversation for every channel.

A button answers with what the reporter would have typed (`Option.value`)
plus the question it belongs to (`InboundMessage.extra["answers_step"]`),
so a press on an old question is recognised (see conversation.handle).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from gateway.conversation.texts import (
    ASK_STATEMENT,
    CHOICES,
    LANGUAGE_CHOICES,
    QUESTIONS,
    RECEIPT,
)
from gateway.core import i18n
from gateway.core.i18n import _

# Translators: a button that skips a question; one or two words.
SKIP = _("Skip")
SKIP_VALUE = "0"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


class PromptKind(StrEnum):
    QUESTION = "question"  # a question of the conversation, maybe with options
    RECEIPT = "receipt"  # the one message with the case number and PIN
    LANGUAGE = "language"  # the list of languages a reporter may choose


@dataclass(frozen=True)
class Option:
    value: str  # what the reporter would type: "1", "0", a locale code
    label: str  # what a button shows, in the message's language


@dataclass(frozen=True)
class Prompt:
    kind: PromptKind
    locale: str  # the language the message is in
    step: str | None = None  # the conversation step a QUESTION asks for
    options: tuple[Option, ...] = ()


def prompt_of(text: str) -> Prompt | None:
    """What `text` is, if it is one of the engine's questions, the receipt or the language list.

    Returns None for any other message (help, status answers, a focal
    point's message): those get no buttons.
    """
    table = _table(tuple(i18n.available_locales()))
    question = table.questions.get(text)
    if question is not None:
        locale, step = question
        return Prompt(PromptKind.QUESTION, locale, step, _options(step, text, locale))
    for locale, pattern in table.receipts:
        if pattern.fullmatch(text):
            return Prompt(PromptKind.RECEIPT, locale)
    for locale, pattern in table.languages:
        match = pattern.fullmatch(text)
        if match:
            codes = [code for code in match.group("codes").split() if code in table.locales]
            options = tuple(Option(code, i18n.display_name(code)) for code in codes)
            return Prompt(PromptKind.LANGUAGE, locale, options=options)
    return None


@dataclass(frozen=True)
class _Table:
    locales: frozenset[str]
    questions: dict[str, tuple[str, str]]  # translated text -> (locale, step)
    receipts: list[tuple[str, re.Pattern[str]]]
    languages: list[tuple[str, re.Pattern[str]]]


def _pattern(template: str, group: str | None = None) -> re.Pattern[str]:
    """A translated template as a regular expression; `group` names one placeholder."""
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[last : match.start()]))
        named = match.group(1) == group
        parts.append(f"(?P<{group}>.+?)" if named else ".+?")
        last = match.end()
    parts.append(re.escape(template[last:]))
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=4)
def _table(locales: tuple[str, ...]) -> _Table:
    questions: dict[str, tuple[str, str]] = {}
    receipts, languages = [], []
    for locale in locales:  # English first: an untranslated message counts as English
        asked = {"statement": ASK_STATEMENT, **QUESTIONS}
        for step, message in asked.items():
            questions.setdefault(i18n.gettext(locale, message), (locale, step))
        receipts.append((locale, _pattern(i18n.gettext(locale, RECEIPT))))
        languages.append((locale, _pattern(i18n.gettext(locale, LANGUAGE_CHOICES), "codes")))
    return _Table(frozenset(locales), questions, receipts, languages)


def _standalone(value: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\d){re.escape(value)}(?!\d)")


def _options(step: str, text: str, locale: str) -> tuple[Option, ...]:
    """The choices a question offers, labelled with the words the question gives them."""
    values = list(CHOICES.get(step, {}))
    positions, start = [], 0
    for value in values:
        match = _standalone(value).search(text, start)
        if match is None:
            positions = []
            break
        positions.append(match)
        start = match.end()
    skip = _standalone(SKIP_VALUE).search(text, start if positions else 0)
    labels: dict[str, str] = {}
    for index, match in enumerate(positions):
        if index + 1 < len(positions):
            end = positions[index + 1].start()
        else:
            end = skip.start() if skip else len(text)
        labels[match.group(0)] = text[match.end() : end].strip(" .,;:")
    options = [Option(value, labels.get(value) or value) for value in values]
    if skip is not None:
        options.append(Option(SKIP_VALUE, i18n.gettext(locale, SKIP)))
    return tuple(options)
