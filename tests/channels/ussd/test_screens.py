"""Every USSD screen fits Africa's Talking's 182 characters, in every locale, at its longest.

Like the SMS segment test: each screen is built the way the menu builds it,
with the longest values it can hold (a case number with a display prefix,
every status, the "not understood" line in front of a question).
"""

from __future__ import annotations

import pytest

from channels.ussd import menu
from gateway.conversation.texts import STATUS_NAMES
from gateway.core import i18n

LOCALES = i18n.available_locales()
LONGEST_NUMBER = "MISSION-2026-123456-7"  # CASE_NUMBER_PREFIX of 8 characters


def screens(locale: str) -> list[menu.Screen]:
    built = [menu.question(locale, step, invalid) for step in menu.QUESTIONS for invalid in (0, 1)]
    built.append(menu.receipt(locale, LONGEST_NUMBER, "123456"))
    built += [menu.status(locale, LONGEST_NUMBER, status, True) for status in STATUS_NAMES]
    for message in (menu.STATUS_WRONG, menu.STATUS_LOCKED, menu.ALREADY_FILED, menu.TRY_LATER):
        built.append(menu.ending(locale, message))
    return built


@pytest.mark.parametrize("locale", LOCALES)
def test_every_screen_fits_182_characters(locale: str) -> None:
    for screen in screens(locale):
        assert len(screen.body) <= menu.MAX_SCREEN, (locale, len(screen.body), screen.body)
        assert screen.body[:4] in ("CON ", "END ")


def test_the_language_menu_of_every_catalog_fits() -> None:
    for invalid in (False, True):
        body = menu.language_menu(LOCALES, invalid).body
        assert len(body) <= menu.MAX_SCREEN and body.count("\n") == len(LOCALES) - 1 + invalid


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != "en"])
def test_every_screen_is_translated(locale: str) -> None:
    english = {s.body for s in screens("en")}
    assert not english & {s.body for s in screens(locale)}, locale


def test_the_pin_is_grouped_for_reading() -> None:
    assert "PIN: 123 456" in menu.receipt("en", "2026-000001-5", "123456").text
