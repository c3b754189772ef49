"""gateway.conversation.prompts:

The engine's own messages recognised, in every catalog, with their options.
"""

from __future__ import annotations

import pytest

from gateway.cases.filing import Receipt
from gateway.conversation import texts as conversation
from gateway.conversation.prompts import SKIP, PromptKind, prompt_of
from gateway.conversation.texts import receipt_text
from gateway.core import i18n

LOCALES = i18n.available_locales()
OPTION_VALUES = {
    "statement": [],
    "affected": ["1", "2", "0"],
    "danger": ["1", "2", "0"],
    "where_when": ["0"],
    "follow_up": ["1", "2"],
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("step", list(OPTION_VALUES))
def test_every_question_is_recognised_in_every_language(locale: str, step: str) -> None:
    asked = conversation.QUESTIONS.get(step, conversation.ASK_STATEMENT)
    text = i18n.gettext(locale, asked)
    prompt = prompt_of(text)
    assert prompt is not None and prompt.kind is PromptKind.QUESTION and prompt.step == step
    values = [o.value for o in prompt.options]
    # A translation must keep the digits; the skip button is offered where the text offers 0.
    assert [v for v in values if v != "0"] == [v for v in OPTION_VALUES[step] if v != "0"]
    assert ("0" in values) == ("0" in OPTION_VALUES[step])
    skip = [o.label for o in prompt.options if o.value == "0"]
    assert skip in ([], [i18n.gettext(prompt.locale, SKIP)])


def test_option_labels_are_the_questions_own_words() -> None:
    prompt = prompt_of(conversation.ASK_AFFECTED)
    assert prompt is not None and prompt.locale == "en"
    assert [(o.value, o.label) for o in prompt.options] == [
        ("1", "Me"),
        ("2", "Someone else"),
        ("0", "Skip"),
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_receipt_is_recognised_in_every_language(locale: str) -> None:
    text = receipt_text(locale, Receipt(case_id=1, case_number="2026-000123-4", pin="123456"))
    prompt = prompt_of(text)
    assert prompt is not None and prompt.kind is PromptKind.RECEIPT


def test_the_language_list_offers_the_known_locales() -> None:
    text = i18n.gettext("en", conversation.LANGUAGE_CHOICES, codes=" ".join([*LOCALES, "xx"]))
    prompt = prompt_of(text)
    assert prompt is not None and prompt.kind is PromptKind.LANGUAGE
    assert [o.value for o in prompt.options] == LOCALES
    assert [o.label for o in prompt.options] == [i18n.display_name(c) for c in LOCALES]


@pytest.mark.parametrize(
    "text",
    [
        conversation.HELP,
        conversation.STOPPED,
        "Please call the hotline on 1 2 3.",
        "Case 2026-000123-4: received.",
        "",
    ],
)
def test_other_messages_get_no_buttons(text: str) -> None:
    assert prompt_of(text) is None
