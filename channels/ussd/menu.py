"""The USSD menu: what each input of a session means, and every screen's words.

A USSD session is a series of screens on the reporter's phone; the
aggregator sends every input of the session so far, joined by `*`, with
each request. Up to the screen where the reporter types what happened,
every input is one keypad choice, so the session's place in the menu is
read from those inputs alone (`walk`) and nothing is stored. What is typed
from there on may itself contain `*`: it is read against what the session
already stored (channels/ussd/session.py).

    language ─▶ 1 report ─▶ category ─▶ danger ─▶ SMS receipt if cut? ─▶ statement
                                                   ◀─ 1 add more ── more ◀─┘
                                                   └─ 2 finish ─▶ who did it ─▶ END: case
                                                                  number and PIN
             2 check  ─▶ case number ─▶ PIN ─▶ END: the status in a few words

Every screen, with "CON " or "END ", is at most 182 characters in every
locale (tests/channels/ussd/test_screens.py); nothing on it repeats the
report. Consent to an SMS is asked before the statement: a session cut
after it is filed by the silence rule, and the receipt can only reach the
reporter by SMS. "Who did it" (Case.personnel_category) comes last, after
the statement: 0 is "not sure" (stored as "unknown"), and a session cut
there is filed without it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from gateway.cases.allegation import WHO_KEYS
from gateway.cases.reports import Category
from gateway.conversation.texts import STATUS_NAMES
from gateway.core import i18n
from gateway.core.i18n import _

MAX_SCREEN = 182  # characters, "CON "/"END " included: Africa's Talking's limit
SEPARATOR = "*"


class Step(StrEnum):
    LANGUAGE = "language"
    MENU = "menu"
    CATEGORY = "category"
    DANGER = "danger"
    CONSENT = "consent"
    STATEMENT = "statement"
    MORE_OR_FINISH = "more_or_finish"
    MORE = "more"
    WHO = "who"
    CASE_NUMBER = "case_number"
    PIN = "pin"


# Translators: USSD screens (a phone's menu, at most 182 characters with the
# line breaks). Keep the numbers and the line breaks as they are.
MAIN_MENU = _("1 Report something that happened\n2 Check a report")
ASK_CATEGORY = _(
    "What is it about?\n1 Sexual exploitation\n2 Sexual abuse\n3 Other misconduct\n0 Skip"
)
ASK_DANGER = _("Is someone in danger now?\n1 Yes\n2 No\n0 Skip")
ASK_CONSENT = _(
    "If this session is cut, may we send your case number by SMS? "
    "An SMS stays on the phone.\n1 Yes\n2 No"
)
ASK_STATEMENT = _("Type what happened, in your own words. No name is needed.")
MORE_OR_FINISH = _("Received.\n1 Add more\n2 Finish and get a case number")
ASK_MORE = _("Type the rest:")
# Translators: USSD screen, at most 182 characters; keep the numbers and the line breaks.
ASK_WHO = _(
    "Last question: who did it?\n1 A soldier\n2 Police\n3 UN or aid worker\n"
    "4 Someone else\n0 Not sure"
)
RECEIPT = _(
    "Thank you. Case number: %(case)s\nPIN: %(pin)s\n"
    "Write them down and keep them secret: with them you can check the report here."
)
ASK_CASE_NUMBER = _("Type the case number:")
ASK_PIN = _("Type the PIN:")
STATUS = _("Case %(case)s: %(status)s.")
MESSAGE_WAITING = _("A message is waiting for you: check on the web or by SMS.")
STATUS_WRONG = _("Case number or PIN not recognised. Please check them and try again.")
STATUS_LOCKED = _("Too many tries. Please wait 30 minutes, then try again.")
NOT_UNDERSTOOD = _("Not understood.")
ALREADY_FILED = _("Your report was received. Its case number and PIN were on the last screen.")
TRY_LATER = _("Sorry, this service cannot answer now. Please try again later.")

QUESTIONS = {
    Step.MENU: MAIN_MENU,
    Step.CATEGORY: ASK_CATEGORY,
    Step.DANGER: ASK_DANGER,
    Step.CONSENT: ASK_CONSENT,
    Step.STATEMENT: ASK_STATEMENT,
    Step.MORE_OR_FINISH: MORE_OR_FINISH,
    Step.MORE: ASK_MORE,
    Step.WHO: ASK_WHO,
    Step.CASE_NUMBER: ASK_CASE_NUMBER,
    Step.PIN: ASK_PIN,
}
CATEGORIES = {
    "1": Category.SEXUAL_EXPLOITATION.value,
    "2": Category.SEXUAL_ABUSE.value,
    "3": Category.OTHER_MISCONDUCT.value,
    "0": None,
}
DANGER = {"1": True, "2": False, "0": None}
WHO_FIELD = "personnel_category"  # gateway.cases.allegation
WHO = WHO_KEYS
CONSENT = {"1": True, "2": False}
NEXT = {Step.CATEGORY: Step.DANGER, Step.DANGER: Step.CONSENT, Step.CONSENT: Step.STATEMENT}
CHOICES: dict[Step, tuple[str, dict[str, Any]]] = {
    Step.CATEGORY: ("category", CATEGORIES),
    Step.DANGER: ("danger", DANGER),
    Step.CONSENT: ("follow_up", CONSENT),
}


@dataclass(frozen=True)
class Screen:
    text: str
    end: bool = False

    @property
    def body(self) -> str:
        return ("END " if self.end else "CON ") + self.text


@dataclass
class Walk:
    """Where a session stands after the inputs read so far."""

    step: Step
    language: str
    answers: dict[str, Any] = field(default_factory=dict)
    typed: str | None = None  # what was typed at the statement, case number or PIN screen
    number: str = ""  # the case number typed, on the way to the PIN
    invalid: bool = False  # the last input was not one of the choices


def walk(text: str, locales: list[str]) -> Walk:
    """Read a session's inputs up to the first free-text answer (statement or PIN)."""
    inputs = text.split(SEPARATOR) if text else []
    state = Walk(Step.LANGUAGE if len(locales) > 1 else Step.MENU, locales[0])
    for index, raw in enumerate(inputs):
        value = raw.strip()
        state.invalid = False
        if state.step is Step.LANGUAGE:
            chosen = int(value) - 1 if value.isdigit() and value.isascii() else -1
            if 0 <= chosen < len(locales):
                state.language, state.step = locales[chosen], Step.MENU
            else:
                state.invalid = True
        elif state.step is Step.MENU:
            routes = {"1": Step.CATEGORY, "2": Step.CASE_NUMBER}
            state.invalid = value not in routes
            state.step = routes.get(value, state.step)
        elif state.step in CHOICES:
            name, options = CHOICES[state.step]
            if value in options:
                state.answers[name] = options[value]
                state.step = NEXT[state.step]
            else:
                state.invalid = True
        elif state.step is Step.STATEMENT:
            # Everything from here on is the statement and what follows it: the
            # session's stored draft says where each later input starts.
            state.typed = SEPARATOR.join(inputs[index:])
            return state
        elif state.step is Step.CASE_NUMBER:
            if value:
                state.number, state.step = value, Step.PIN
            else:
                state.invalid = True
        elif state.step is Step.PIN:
            state.typed = value
            return state
    return state


def question(locale: str, step: Step, invalid: bool = False) -> Screen:
    """The screen that asks for `step`'s input; the language menu lists the locales."""
    text = i18n.gettext(locale, QUESTIONS[step]) if step in QUESTIONS else ""
    if invalid:
        text = f"{i18n.gettext(locale, NOT_UNDERSTOOD)}\n{text}"
    return Screen(text)


def language_menu(locales: list[str], invalid: bool = False) -> Screen:
    lines = [f"{n} {i18n.display_name(loc)}" for n, loc in enumerate(locales, start=1)]
    if invalid:
        lines.insert(0, "?")
    return Screen("\n".join(lines))


def receipt(locale: str, case_number: str, pin: str) -> Screen:
    grouped = " ".join(pin[i : i + 3] for i in range(0, len(pin), 3))
    return Screen(i18n.gettext(locale, RECEIPT, case=case_number, pin=grouped), end=True)


def status(locale: str, case_number: str, status_value: str, message_waiting: bool) -> Screen:
    name = i18n.gettext(locale, STATUS_NAMES.get(status_value, STATUS_NAMES["received"]))
    text = i18n.gettext(locale, STATUS, case=case_number, status=name)
    if message_waiting:
        text += "\n" + i18n.gettext(locale, MESSAGE_WAITING)
    return Screen(text, end=True)


def ending(locale: str, message: str) -> Screen:
    return Screen(i18n.gettext(locale, message), end=True)
