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
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from gateway import cli
from gateway.cases.filing import Receipt
from gateway.conversation import follow_up, keywords
from gateway.conversation import texts as conversation
from gateway.conversation.segments import measure
from gateway.conversation.texts import receipt_text
from gateway.core import i18n

LOCALES = ["en", "fr", "ar", "sw", "ln", "sg", "es", "pt", "ht"]
WITHOUT_NATIVE_SPEAKER = {"sw", "ln", "sg", "ht"}
TRANSLATED = [loc for loc in LOCALES if loc != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdifr]|%%")
ROOT = Path(__file__).parents[1]
EASTERN_DIGITS = re.compile("[\u0660-\u0669\u06f0-\u06f9]")


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


def test_arabic_is_the_right_to_left_language() -> None:
    """The pages' dir attribute comes from CLDR (the pages' own tests check the HTML)."""
    assert [loc for loc in LOCALES if i18n.is_rtl(loc)] == ["ar"]
    assert i18n.is_rtl("fa") and i18n.is_rtl("he") and not i18n.is_rtl("xx")


def test_the_template_has_every_string_of_the_source_and_no_other() -> None:
    """A string added or changed in code or a template without `make i18n-extract`
    fails here, before a reporter sees it in English. Extraction as the Makefile
    runs it: babel.cfg's mapping and `-k gettext:2`."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, filename="babel.cfg")
    keywords = {**DEFAULT_KEYWORDS, "gettext": (2,)}
    found = {
        msgid
        for _file, _line, msgid, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=keywords
        )
    }
    known = {m.id for m in messages(template())}
    assert {"Queue", "Check your report", "What happened?"} <= found, (
        "the console, web form and IVR"
    )
    new = sorted(map(str, found - known))
    assert not new, f"not in i18n/messages.pot (make i18n-extract, i18n-update, translate): {new}"
    gone = sorted(map(str, known - found))
    assert not gone, f"in i18n/messages.pot but no longer in the source (make i18n-extract): {gone}"


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
    assert out.startswith(f"ht: {len(messages(catalog('ht')))} to review, and the keywords")
    assert "  What happened?" in out
    assert (
        "  keywords (gateway/conversation/keywords.py): report: rapo, denonse, plent; status:"
        in out
    )
    assert cli.main(["i18n", "review-list", "--locale", "fr"]) == 0
    assert "keywords" not in capsys.readouterr().out  # French keywords are not listed


def test_every_locale_without_a_native_speaker_has_its_keywords_listed_for_review() -> None:
    assert WITHOUT_NATIVE_SPEAKER <= keywords.NEEDS_REVIEW
    assert set(LOCALES) <= set(keywords.KEYWORDS), "every language has its keywords"


# Sample values as a real reply carries them.
SAMPLE = {
    "case": "2026-123456-7",
    "pin": "246810",
    "codes": ", ".join(LOCALES),
    "message": "Please call the hotline.",
}
# (locale or "*", name): (segments allowed or None for any, why). All else: one segment.
LONGER_SMS = {
    ("*", "STATUS_FOUND_MESSAGE"): (None, "carries the focal point's own message"),
    ("ar", "HELP"): (2, "Arabic script is sent as UCS-2, 70 characters a segment; three commands"),
    ("ar", "STOPPED"): (2, "Arabic script is sent as UCS-2; what is kept, coming back, delete"),
    ("ar", "RECEIPT"): (2, "Arabic script is sent as UCS-2; case number and PIN twice"),
}


def sms_texts(locale: str) -> dict[str, str]:
    """Every text the conversation sends (SMS, WhatsApp, Telegram), filled in as sent.

    Found by looking, not by a list: every upper-case string constant of
    gateway.conversation.texts and gateway.conversation.follow_up that is a msgid (a reply added
    there is checked at once), the STATUS answer with each status name, and
    the receipt.
    """
    known = {m.id for m in messages(template())}
    names = {k: i18n.gettext(locale, v) for k, v in conversation.STATUS_NAMES.items()}
    values = {**SAMPLE, "status": max(names.values(), key=len)}
    texts = {
        name: i18n.gettext(locale, value, **values)
        for module in (conversation, follow_up)  # follow_up: what a follow-up is answered
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and value in known
    }
    for status, name in names.items():
        texts[f"STATUS_FOUND:{status}"] = i18n.gettext(
            locale, conversation.STATUS_FOUND, case=SAMPLE["case"], status=name
        )
    texts["RECEIPT"] = receipt_text(locale, Receipt(1, SAMPLE["case"], SAMPLE["pin"]))
    return texts


def test_the_sms_texts_are_found() -> None:
    names = set(sms_texts("en"))
    assert {"HELP", "ASK_AFFECTED", "STATUS_WRONG", "RECEIPT", "STATUS_FOUND:referred"} <= names
    assert len(names) > 20


@pytest.mark.parametrize("locale", LOCALES)
def test_every_sms_text_fits_one_segment_or_is_listed_with_a_reason(locale: str) -> None:
    too_long = {}
    for name, text in sms_texts(locale).items():
        assert "%(" not in text, (locale, name, text)
        allowed, _why = LONGER_SMS.get((locale, name)) or LONGER_SMS.get(("*", name)) or (1, "")
        segments = measure(text)
        if allowed is not None and segments.count > allowed:
            too_long[name] = f"{segments.count} x {segments.encoding}: {text}"
    assert not too_long, f"{locale}: shorten, or list in LONGER_SMS with a reason: {too_long}"


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != "ar"])
def test_sms_texts_use_the_gsm_alphabet_where_the_script_allows(locale: str) -> None:
    """One character outside GSM-7 halves a segment (70 instead of 160): a
    text that fits today breaks at the next edit. French keeps its cedilla in
    two short texts ("français", "reçu"): both stay well inside 70."""
    for name, text in sms_texts(locale).items():
        if name in ("STATUS_FOUND_MESSAGE", "LANGUAGE_SET", "STATUS_FOUND:received"):
            continue
        assert measure(text).encoding == "GSM-7", (locale, name, text)


@pytest.mark.parametrize("locale", LOCALES)
def test_case_numbers_and_pins_stay_in_western_digits(locale: str) -> None:
    """A keypad has Western digits: the receipt and every reply keep them, also in Arabic."""
    receipt = receipt_text(locale, Receipt(1, SAMPLE["case"], SAMPLE["pin"]))
    assert receipt.count(SAMPLE["case"]) == 2 and receipt.count(SAMPLE["pin"]) == 2, receipt
    for name, text in sms_texts(locale).items():
        assert not EASTERN_DIGITS.search(text), (locale, name, text)


WHEN = datetime(2026, 11, 28, 4, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "day", "moment"),
    [
        ("en", "Nov 28, 2026", "Nov 28, 2026 04:08"),
        ("fr", "28 nov. 2026", "28 nov. 2026 04:08"),
        ("es", "28 nov 2026", "28 nov 2026 04:08"),
        ("pt", "28 de nov. de 2026", "28 de nov. de 2026 04:08"),
        ("sw", "28 Nov 2026", "28 Nov 2026 04:08"),
        ("ht", "28 nov. 2026", "28 nov. 2026 04:08"),  # CLDR has no Creole months: fr_HT
        ("ar", "28\u200f/11\u200f/2026", "28\u200f/11\u200f/2026 04:08"),
    ],
)
def test_dates_are_written_the_way_each_language_writes_them(
    locale: str, day: str, moment: str
) -> None:
    assert i18n.format_date(locale, WHEN) == day
    assert i18n.format_datetime(locale, WHEN) == moment


@pytest.mark.parametrize("locale", LOCALES)
def test_dates_and_numbers_use_western_digits_and_no_placeholder_months(locale: str) -> None:
    """Arabic pages show 28/11/2026 and 1,234.5, not ٢٨/١١/٢٠٢٦: the
    digits a reporter types on a keypad. No locale shows CLDR's "M11"."""
    texts = [
        i18n.format_date(locale, WHEN),
        i18n.format_datetime(locale, WHEN.replace(tzinfo=None)),  # as SQLite returns it
        i18n.format_day(locale, date(2026, 3, 2)),
        i18n.format_number(locale, 1234.5),
    ]
    for text in texts:
        assert not EASTERN_DIGITS.search(text), (locale, text)
        assert not re.search(r"\bM\d", text), (locale, text)
    assert "2026" in texts[0] and "04:08" in texts[1]
    assert re.fullmatch(r"1\D?234\D5", texts[3]), texts[3]


def test_a_locale_without_cldr_data_falls_back_to_english_dates() -> None:
    assert i18n.format_date("xx", WHEN) == i18n.format_date("en", WHEN)
