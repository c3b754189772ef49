"""The language of a conversation's first message, guessed offline, and greetings.

A reporter writing in Swahili should be asked the questions in Swahili at
once, not after `LANGUAGE sw`. Nothing is sent anywhere: the guess is made
here from word lists, the same way the keywords are recognised.

Why word lists and not a language-identification library: the libraries
that run offline were measured on the nine languages (docs/languages.md,
"Guessing the language"). py3langid holds about 93 MiB once its model is
loaded and lingua about 137 MiB (12 MiB in its low-accuracy mode, which
calls "Hello" French and "Habari" Spanish); neither knows Lingala or Sango,
and both take Haitian Creole for Spanish or Swahili. A worker has 100 MiB
in all (bench/README.md, memory). The lists below are the short function
words each language uses in almost every sentence, plus the catalogs'
keywords (gateway/conversation/keywords.py), so a guess is made only from
words that belong to one language more than the others.

- `greeting(text)`: the locale whose greeting the whole message is
  ("Habari", "Bonjour!", "Salam"), else None. A greeting is not a report:
  the conversation starts in that language and asks what happened.
- `guess(text, offered)`: the locale the message is clearly written in,
  else None (too short, or two languages equally likely); Arabic by its
  script.

The lists for Swahili, Lingala, Sango and Haitian Creole were written
without a native speaker, like the keywords: `i18n review-list` shows them.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from gateway.conversation.keywords import KEYWORDS, normalise

GREETINGS: dict[str, tuple[str, ...]] = {
    "en": ("hello", "hi", "hey", "good morning", "good afternoon", "good evening", "hello there"),
    "fr": ("bonjour", "bonsoir", "salut", "allo", "bonjour madame", "bonjour monsieur"),
    "es": ("hola", "buenos dias", "buenas tardes", "buenas noches", "buenas"),
    "pt": ("ola", "oi", "bom dia", "boa tarde", "boa noite"),
    "ar": (
        "مرحبا",
        "اهلا",
        "السلام عليكم",
        "سلام",
        "صباح الخير",
        "مساء الخير",
        "salam",
        "salaam",
        "assalamu alaikum",
        "salam alaikum",
    ),
    "sw": ("habari", "jambo", "hujambo", "mambo", "shikamoo", "habari yako", "habari gani"),
    "ln": ("mbote", "mbote na yo", "mbote na bino", "sango nini"),
    "sg": ("bara ala", "bara mo", "bara", "balao", "bara ala kue"),
    "ht": ("bonjou", "bonswa", "sak pase", "sa k pase", "alo", "bonjou mesye", "bonjou madanm"),
}
# Words nearly every sentence of the language has, and few of the others (normalised: lower
# case, no accents). A word in several lists counts for each, divided among them.
FUNCTION_WORDS: dict[str, str] = {
    "en": (
        "the and was he she me my i is it they with for at on this that to of him her his "
        "we you did not asked came told said because when there from "
    ),
    "fr": (
        "le la les des et une est il elle je moi mon ma qui pas dans avec pour au du ce "
        "cette nous vous ils m j l d qu ai suis etait mes sur parce "
    ),
    "es": (
        "el la los las y una es que me mi con por para del yo ella pero muy fue estaba "
        "nos su porque cuando pidio dijo hay esta unos "
    ),
    "pt": (
        "o os as e um uma que me meu minha com por para em do da nao ele ela eu foi "
        "estava nos mas muito pediu disse quando porque isso no na "
    ),
    "sw": (
        "na ya wa kwa ni mimi yeye jana kwenye hii huyo sana kwamba lakini alinipa "
        "alikuja alinipiga aliniambia pesa mtu askari leo usiku nyumbani kuna hakuna "
        "yangu wangu zangu nilikuwa alisema katika baada kabla "
    ),
    "ln": (
        "ngai ye bango na ya oyo mpe azali moto mwasi mobali lobi esika ba nazali asalaki "
        "ayaki alobaki mbongo soda ndako kasi mingi bato nini wapi lelo butu mwana "
    ),
    "sg": (
        "mbi mo lo ala ti so ayeke pepe zo wali koli la kodro ye aga ague asara atene "
        "nginza bi da gi nde tongana mingi molenge lakwe na "
    ),
    "ht": (
        "mwen li yo nan ak pou te sa ki pa m ou gen yon le kote lakay lajan sòlda solda "
        "ye vini mande di konn fe paske anpil moun kounye "
    ),
}
ARABIC = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
MIN_SCORE = 2.0  # at least two words' worth of evidence
MIN_LEAD = 2.0  # and twice the next language's


@lru_cache(maxsize=1)
def _greetings() -> dict[str, str]:
    found = {}
    for locale, phrases in GREETINGS.items():
        for phrase in phrases:
            found[normalise(phrase)] = locale
    return found


@lru_cache(maxsize=1)
def _weights() -> dict[str, dict[str, float]]:
    """word → {locale: weight}; a word shared by n languages weighs 1/n in each."""
    owners: dict[str, set[str]] = {}
    for locale, words in FUNCTION_WORDS.items():
        for word in words.split():
            owners.setdefault(normalise(word), set()).add(locale)
    for locale, meanings in KEYWORDS.items():
        for words in meanings.values():
            for word in words:
                if len(word) > 2:  # "n", "o", "y": too short to tell anything
                    owners.setdefault(normalise(word), set()).add(locale)
    return {word: {loc: 1 / len(locs) for loc in locs} for word, locs in owners.items()}


def greeting(text: str) -> str | None:
    """The locale whose greeting the whole message is, else None."""
    cleaned = " ".join(normalise(text).split())
    return _greetings().get(cleaned) if cleaned else None


def guess(text: str, offered: list[str]) -> str | None:
    """The one offered locale `text` is clearly written in, else None."""
    arabic, latin = len(ARABIC.findall(text)), len(LATIN.findall(text))
    if arabic > latin:
        return "ar" if "ar" in offered else None
    scores: Counter[str] = Counter()
    weights = _weights()
    for word in normalise(text).split():
        for locale, weight in weights.get(word, {}).items():
            if locale in offered:
                scores[locale] += weight
    ranked = scores.most_common(2)
    if not ranked or ranked[0][1] < MIN_SCORE:
        return None
    if len(ranked) > 1 and ranked[0][1] < MIN_LEAD * ranked[1][1]:
        return None
    return ranked[0][0]
