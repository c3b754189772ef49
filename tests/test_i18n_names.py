"""The table of language names and directions in gateway/core/i18n.py says what CLDR says.

The table exists so that no process loads every locale's CLDR data for nine
names (bench/README.md, memory); it must not drift from Babel, and every
shipped catalog must be in it.
"""

from __future__ import annotations

import pytest

from gateway.core import i18n

LOCALES = i18n.available_locales()


@pytest.mark.parametrize("locale", LOCALES)
def test_every_catalog_is_in_the_table(locale: str) -> None:
    assert locale in i18n.NATIVE_NAMES


@pytest.mark.parametrize("locale", sorted(i18n.NATIVE_NAMES))
def test_the_table_says_what_cldr_says(locale: str) -> None:
    assert i18n.display_name(locale) == i18n.babel_display_name(locale)
    assert i18n.is_rtl(locale) == i18n.babel_is_rtl(locale)


def test_a_locale_outside_the_table_is_asked_of_cldr() -> None:
    assert "de" not in i18n.NATIVE_NAMES
    assert i18n.display_name("de") == "Deutsch"
    assert i18n.is_rtl("fa") is True
    assert i18n.display_name("not-a-locale") == "not-a-locale"
