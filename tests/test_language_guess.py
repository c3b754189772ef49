"""The first message's language, guessed offline from word lists; greetings are not reports.

Table-driven: realistic first messages in each of the nine languages (made
up for these tests), the locale they must give, and messages too short or
too mixed to tell, which must give none rather than a wrong language.
"""

from __future__ import annotations

import pytest

from gateway.conversation.language_guess import GREETINGS, greeting, guess
from gateway.core.i18n import available_locales

ALL = available_locales()

FIRST_MESSAGES = [
    ("en", "A soldier at the checkpoint asked me for sex in exchange for food"),
    ("en", "The driver of the white truck touched my daughter and told her to be quiet"),
    ("fr", "Un soldat m'a demandé de l'argent pour me laisser passer au marché"),
    ("fr", "Le chauffeur de la mission est venu chez moi avec des cadeaux pour ma fille"),
    ("es", "Un soldado me pidió dinero y después me tocó en el mercado"),
    ("es", "El conductor de la misión vino a mi casa por la noche"),
    ("pt", "Um soldado pediu dinheiro e depois me tocou no mercado"),
    ("pt", "O motorista da missão veio à minha casa com presentes para a minha filha"),
    ("ar", "طلب مني جندي المال مقابل الطعام عند نقطة التفتيش"),
    ("sw", "Askari alinipiga jana usiku karibu na nyumbani kwangu"),
    ("sw", "Mtu wa misheni aliniambia nimpe pesa ili apate kunisaidia"),
    ("ln", "Soda moko ayaki na ndako na ngai lobi butu mpe asalaki ngai mabe"),
    ("ln", "Moto ya misio alobaki na ngai ete apesa ngai mbongo soki nandimi"),
    ("sg", "Mbeni turugu aga na kodro ti mbi na bi so ahon, lo sara ye ti sioni na mbi"),
    ("sg", "Zo ti mission ni atene na mbi so lo yeke fa nginza na mbi tongana mbi ye"),
    ("ht", "Yon sòlda te mande m lajan pou li kite m pase nan mache a"),
    ("ht", "Chofè misyon an te vini lakay mwen ak kado pou pitit fi mwen"),
]


@pytest.mark.parametrize(("locale", "text"), FIRST_MESSAGES)
def test_a_first_message_gives_its_language(locale: str, text: str) -> None:
    assert guess(text, ALL) == locale


@pytest.mark.parametrize(
    "text", ["", "ok", "1", "Hello", "STATUS 2026-000001-5 123456", "la la la"]
)
def test_too_little_to_tell_gives_no_language(text: str) -> None:
    assert guess(text, ALL) is None


def test_only_the_offered_languages_are_guessed() -> None:
    text = "Askari alinipiga jana usiku karibu na nyumbani kwangu"
    assert guess(text, ["en", "fr"]) is None
    assert guess("طلب مني جندي المال", ["en"]) is None


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("Hello", "en"),
        ("hello!", "en"),
        ("Good morning", "en"),
        ("Bonjour", "fr"),
        ("Bonsoir !", "fr"),
        ("Hola", "es"),
        ("Olá", "pt"),
        ("Salam", "ar"),
        ("السلام عليكم", "ar"),
        ("Habari", "sw"),
        ("Jambo", "sw"),
        ("Mbote", "ln"),
        ("Bara ala", "sg"),
        ("Bonjou", "ht"),
        ("Sak pase?", "ht"),
    ],
)
def test_a_greeting_names_its_language(text: str, locale: str) -> None:
    assert greeting(text) == locale


@pytest.mark.parametrize(
    "text",
    ["Hello, a soldier asked me for money", "Habari, askari alinipiga jana", "", "STOP", "1"],
)
def test_a_message_that_says_more_than_hello_is_not_a_greeting(text: str) -> None:
    assert greeting(text) is None


def test_every_language_has_greetings_and_no_greeting_is_in_two_languages() -> None:
    assert set(GREETINGS) == set(ALL)
    seen: dict[str, str] = {}
    for locale, phrases in GREETINGS.items():
        for phrase in phrases:
            assert greeting(phrase) == locale, (phrase, seen.get(phrase))
