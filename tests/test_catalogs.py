"""The gettext catalogs: complete, nothing fuzzy, placeholders and plural forms right.

Every catalog must carry every msgid of i18n/messages.pot (`make i18n-extract`,
then `make i18n-update`); English may leave msgstr empty (the msgid is the
text). Translations written without a native speaker carry the translator
comment `# needs-review` (never the fuzzy flag, which would hide them);
`complaint-gateway i18n review-list` lists them.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import cache

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from gateway import cli, i18n
from gateway.cases import Receipt
from gateway.handlers import receipt_text
from gateway.sms_length import measure

LOCALES = ["en", "fr", "ar", "sw", "ln", "sg", "es", "pt", "ht"]
WITHOUT_NATIVE_SPEAKER = {"sw", "ln", "sg", "ht"}
TRANSLATED = [loc for loc in LOCALES if loc != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|%%")


@cache
def catalog(locale: str) -> Catalog:
    with (i18n.catalog_dir() / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


@cache
def template() -> Catalog:
    with (i18n.catalog_dir() / "messages.pot").open("rb") as fh:
        return read_po(fh)


def messages(cat: Catalog) -> list[Message]:
    return [m for m in cat if m.id]


def forms(message: Message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def names(text: str) -> Counter[str]:
    return Counter(m.group(1) for m in PLACEHOLDER.finditer(text) if m.group(1))


def test_every_locale_has_a_catalog_english_first() -> None:
    assert i18n.available_locales()[0] == "en"
    assert set(LOCALES) <= set(i18n.available_locales())


@pytest.mark.parametrize("locale", LOCALES)
def test_every_msgid_of_the_template_is_translated(locale: str) -> None:
    cat = catalog(locale)
    missing, empty = [], []
    for message in messages(template()):
        found = cat.get(message.id)
        if found is None:
            missing.append(message.id)
        elif locale != "en" and not all(forms(found)):
            empty.append(message.id)
    assert not missing, f"{locale}: not in the catalog (make i18n-update): {missing[:5]}"
    assert not empty, f"{locale}: no translation: {empty[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_fuzzy_entries(locale: str) -> None:
    cat = catalog(locale)
    assert not cat.fuzzy, f"{locale}: the header is marked fuzzy"
    fuzzy = [m.id for m in messages(cat) if m.fuzzy]
    assert not fuzzy, f"{locale}: fuzzy entries are never shown: {fuzzy[:5]}"


@pytest.mark.parametrize("locale", TRANSLATED)
def test_placeholders_are_the_same_in_msgid_and_msgstr(locale: str) -> None:
    for message in messages(catalog(locale)):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = names(ids[0])
        for text in forms(message):
            # A lone % breaks formatting (Jinja's newstyle gettext always formats).
            assert "%" not in PLACEHOLDER.sub("", text), (locale, message.id, text)
            if len(ids) == 1:
                assert names(text) == wanted, (locale, message.id, text)
            else:  # a plural form may leave the count out ("one message")
                allowed = set(wanted) | set(names(ids[1]))
                assert set(names(text)) <= allowed, (locale, message.id, text)
                assert set(wanted) - {"num"} <= set(names(text)), (locale, message.id, text)


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_forms_count_per_language(locale: str) -> None:
    cat = catalog(locale)
    expected = get_plural(locale).num_plurals
    assert cat.num_plurals == expected
    if locale == "ar":
        assert expected == 6
    plurals = [m for m in messages(cat) if m.pluralizable]
    assert plurals, "the form has at least one plural message"
    for message in plurals:
        assert len(forms(message)) == expected, (locale, message.id)
        if locale != "en":
            assert all(forms(message)), (locale, message.id)


@pytest.mark.parametrize("locale", TRANSLATED)
def test_translations_are_loaded(locale: str) -> None:
    assert i18n.gettext(locale, "What happened?") != "What happened?"
    assert i18n.ngettext(locale, "%(num)d message", "%(num)d messages", 2)


@pytest.mark.parametrize("locale", sorted(WITHOUT_NATIVE_SPEAKER))
def test_translations_without_a_native_speaker_are_marked_for_review(locale: str) -> None:
    unmarked = [m.id for m in messages(catalog(locale)) if i18n.REVIEW_MARK not in m.user_comments]
    assert not unmarked, f"{locale}: translated without review mark: {unmarked[:5]}"
    listed = i18n.review_list([locale])[locale]
    assert len(listed) == len(messages(catalog(locale)))


def test_review_list_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["i18n", "review-list", "--locale", "ht"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"ht: {len(messages(catalog('ht')))} to review")
    assert "  What happened?" in out


@pytest.mark.parametrize("locale", LOCALES)
def test_the_sms_receipt_fits_one_segment_where_the_alphabet_allows(locale: str) -> None:
    text = receipt_text(locale, Receipt(1, "2026-123456-7", "123456"))
    assert "2026-123456-7" in text and "123456" in text
    segments = measure(text)
    assert segments.count <= (1 if segments.encoding == "GSM-7" else 2), text
    if locale != "ar":  # Arabic script needs UCS-2: two segments at most
        assert segments.encoding == "GSM-7", f"{locale}: a character outside GSM-7 in {text!r}"
