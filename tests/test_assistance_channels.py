"""Help for the person who reports, on every text channel and the web form (issue 19).

With ASSISTANCE_FILE set (tests/fixtures/assistance/services.yaml: a medical
service everywhere, a counselling centre in North, legal aid in South):
- SMS (through Africa's Talking's webhook and the local server playing its
  API) and Telegram (through the bot's webhook and the local Bot API): the
  receipt is followed by one message with the medical line; HELP lists the
  services by area, then the usage line; `HELP North` narrows to North; when
  someone needs help now, the help line comes before the next question and
  is not sent again after the receipt; a report filed after silence gets it too;
- the web receipt and status pages list the services, medical first, with
  the 72-hour message; first on the receipt when someone is in danger; the
  area the reporter typed narrows the list; within the page-weight budget;
- every message fits its segment budget and says nothing of what happened.
Without ASSISTANCE_FILE nothing changes (the conversation's own tests check
that in detail; here HELP and the receipt are checked once).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape
from sqlalchemy import select, update

from channels.web_form import help as web_help
from gateway.conversation import help_lines
from gateway.conversation import texts as conversation
from gateway.conversation.keywords import KEYWORDS, Command
from gateway.core import assistance, i18n
from gateway.core.models import Conversation, OutboundMessage
from gateway.work.sweeper import sweep
from tests.channels.sms.harness import AT_KEY, AfricasTalking, Phone, fixture, receipt_parts
from tests.channels.telegram.conftest import SECRET, TOKEN, USER, Reporter, texts
from tests.channels.web_form.conftest import receipt_of, send_report, set_raw
from tests.channels.web_form.nojs import Browser, forms, main_form
from tests.channels.web_form.test_pages import PAGE_LIMIT
from tests.support.jobs import run_jobs
from tests.support.providers import ProviderAPI
from tests.support.telegram_api import TelegramAPI
from tests.test_discreet_wording import indiscreet

FILE = Path(__file__).parent / "fixtures" / "assistance" / "services.yaml"
MEDICAL = "+000 555 0101"  # District Clinic, everywhere
NORTH = "+000 555 0102"  # Counselling Centre, North
SOUTH = "+000 555 0103"  # Legal Aid Desk, South
LOCALES = ["en", "fr", "ar"]
EMBEDDED = pytest.mark.parametrize("backend", ["embedded"], indirect=True)  # wording, not storage


@pytest.fixture
def env(
    env: dict[str, str], provider_api: ProviderAPI, telegram_api: TelegramAPI
) -> dict[str, str]:
    """Africa's Talking and the Bot API played by local servers; the directory configured."""
    return {
        **env,
        **provider_api.settings(),
        "AFRICASTALKING_CALLBACK_KEY": AT_KEY,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": telegram_api.url,
        "ASSISTANCE_FILE": str(FILE),
    }


@pytest.fixture
def browser(client) -> Browser:  # type: ignore[no-untyped-def]
    return Browser(client)


def directory() -> assistance.Directory:
    return assistance.parse(FILE.read_text(encoding="utf-8"), str(FILE))


def keyword(locale: str, command: Command) -> str:
    return KEYWORDS[locale][command][0].upper()


def sms_phone(gw, client, api: ProviderAPI, number: str) -> Phone:  # type: ignore[no-untyped-def]
    base = fixture("africastalking", "incoming")["form"]

    def make(text: str, n: str) -> dict[str, str]:
        return {**base, "from": number, "text": text, "id": f"help-{number}-{n}"}

    return Phone(gw, AfricasTalking(client), api, make, number)


def assert_sendable(locale: str, sent: list[str]) -> None:
    """Each message within its segment budget and discreet on a shared phone."""
    for text in sent:
        assert help_lines.fits(text), (locale, text)
        assert not indiscreet(locale, text), (locale, text, indiscreet(locale, text))


def help_keys(gw) -> list[str]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        keys = session.scalars(select(OutboundMessage.dedupe_key).order_by(OutboundMessage.id))
        return [k for k in keys if k.startswith("help:")]


# --- SMS ------------------------------------------------------------------------------------


@EMBEDDED
@pytest.mark.parametrize("locale", LOCALES)
def test_sms_help_and_the_line_after_the_receipt(gw, client, provider_api, locale: str) -> None:  # type: ignore[no-untyped-def]
    phone = sms_phone(gw, client, provider_api, f"+24381000{LOCALES.index(locale)}201")
    usage = i18n.gettext(locale, conversation.HELP)
    listed = phone.send(keyword(locale, Command.HELP))
    assert listed[-1] == usage and len(listed) >= 2, listed
    assert listed[:-1] == help_lines.help_messages(directory(), locale)
    everything = "\n".join(listed)
    assert all(number in everything for number in (MEDICAL, NORTH, SOUTH)), everything
    assert everything.index(MEDICAL) < everything.index(NORTH), "medical first"
    north = phone.send(f"{keyword(locale, Command.HELP)} north")
    assert north[-1] == usage
    assert MEDICAL in north[0] and NORTH in "\n".join(north) and SOUTH not in "\n".join(north)

    assert phone.send("The guard at the gate took my food card.") == [
        i18n.gettext(locale, conversation.ASK_AFFECTED)
    ]
    phone.send("1")
    assert phone.send("2") == [i18n.gettext(locale, conversation.ASK_WHERE_WHEN)]  # no danger
    phone.send("At the gate, Monday")
    receipt, line = phone.send("1")
    receipt_parts(receipt)
    assert line == help_lines.first_message(directory(), locale)
    assert MEDICAL in line and "District Clinic" in line
    assert_sendable(locale, [*listed, *north, line])


def test_danger_gets_the_help_line_before_the_next_question_once(gw, client, provider_api) -> None:  # type: ignore[no-untyped-def]
    """On both backends: help first, then the question; not again after the receipt."""
    phone = sms_phone(gw, client, provider_api, "+243810009301")
    phone.send("Someone is waiting outside our house every night.")
    phone.send("2")
    line, question = phone.send("1")  # yes: someone needs help now
    assert MEDICAL in line and question == conversation.ASK_WHERE_WHEN
    phone.send("0")
    [receipt] = phone.send("2")
    receipt_parts(receipt)
    with gw.sessions() as session:
        conversation_id = session.scalars(select(Conversation.id)).one()
        # A retried job stores nothing twice: the key is taken.
        again = help_lines.queue_first(
            session,
            gw,
            channel="sms",
            provider="africastalking",
            address="+243810009301",
            locale="en",
            dedupe_key=help_lines.danger_key(conversation_id),
        )
    assert again is None
    assert help_keys(gw) == [help_lines.danger_key(conversation_id)]


@EMBEDDED
def test_the_area_said_in_the_report_picks_its_services(gw, client, provider_api) -> None:  # type: ignore[no-untyped-def]
    gw.settings = dataclasses.replace(
        gw.settings, raw={**gw.settings.raw, "ASSISTANCE_FILE": str(only_areas(gw))}
    )
    phone = sms_phone(gw, client, provider_api, "+243810009302")
    phone.send("A man at the market keeps following me.")
    phone.send("1")
    phone.send("2")
    phone.send("At the market in the south, last week")
    _receipt, line = phone.send("1")
    assert SOUTH in line and NORTH not in line, line


def only_areas(gw) -> Path:  # type: ignore[no-untyped-def]
    """A directory without an everywhere service: the area decides the first line."""
    path = Path(gw.settings.data_dir) / "areas.yaml"
    text = FILE.read_text(encoding="utf-8")
    kept = "services:\n" + text.split("  - name: District Clinic")[0].split("services:\n")[1]
    kept += "  - name: Legal Aid Desk\n" + text.split("  - name: Legal Aid Desk\n")[1]
    path.write_text(kept, encoding="utf-8")
    return path


@EMBEDDED
def test_a_report_filed_after_silence_gets_the_line_too(gw, client, provider_api) -> None:  # type: ignore[no-untyped-def]
    phone = sms_phone(gw, client, provider_api, "+243810009303")
    phone.send("He came to the distribution again.")
    phone.send("2")
    with gw.sessions() as session, session.begin():
        session.execute(
            update(Conversation).values(last_activity_at=datetime.now(UTC) - timedelta(hours=1))
        )
    sweep(gw)
    run_jobs(gw)
    sent = [provider_api.text_of(call) for call in provider_api.sent("+243810009303")]
    receipt_parts(sent[-2])
    assert MEDICAL in sent[-1]
    sweep(gw)
    run_jobs(gw)
    assert len(provider_api.sent("+243810009303")) == len(sent)


@EMBEDDED
def test_without_a_directory_nothing_changes(gw, client, provider_api) -> None:  # type: ignore[no-untyped-def]
    set_raw(gw, ASSISTANCE_FILE="")
    phone = sms_phone(gw, client, provider_api, "+243810009304")
    assert phone.send("HELP") == [conversation.HELP]
    phone.send("HELP North")  # no directory: ordinary words, a report
    for answer in ("1", "2", "0"):
        phone.send(answer)
    [receipt] = phone.send("2")
    receipt_parts(receipt)
    assert help_keys(gw) == []


# --- Telegram ---------------------------------------------------------------------------------


@EMBEDDED
@pytest.mark.parametrize("locale", LOCALES)
def test_telegram_receipt_is_followed_by_the_line(gw, client, telegram_api, locale: str) -> None:  # type: ignore[no-untyped-def]
    chat_id = 880000300 + LOCALES.index(locale)
    user = {**USER, "id": chat_id, "username": f"help_{chat_id}", "language_code": locale}
    reporter = Reporter(client, gw, telegram_api, user)
    reporter.send("The driver asked me to come to his house for the food card.")
    reporter.choose("1")
    if locale == "ar":  # someone needs help now: the line first, then the question
        line, question = texts(reporter.choose("1"))
        assert MEDICAL in line and question == i18n.gettext(locale, conversation.ASK_WHERE_WHEN)
    else:
        reporter.choose("2")
    reporter.send("0")
    answered = texts(reporter.choose("1"))
    receipt_parts(answered[0])
    if locale == "ar":
        assert len(answered) == 1, answered
    else:
        assert answered[1] == help_lines.first_message(directory(), locale), answered
    listed = texts(reporter.send(keyword(locale, Command.HELP)))
    assert MEDICAL in listed[0] and listed[-1] == i18n.gettext(locale, conversation.HELP)
    assert_sendable(locale, [*answered[1:], *listed])
    # The receipt's "delete these messages" button takes the help lines away too.
    receipt = telegram_api.sent(chat_id)[-len(listed) - len(answered)]
    assert receipt["text"] == answered[0]
    held = [bot_text(m) for m in telegram_api.chat(chat_id).values()]
    assert len([text for text in held if MEDICAL in text]) >= 2, held
    reporter.press("forget", on=receipt)
    left = [bot_text(m) for m in telegram_api.chat(chat_id).values()]
    assert not [text for text in left if MEDICAL in text], left


def bot_text(held: dict[str, Any]) -> str:
    """The text of a message the local Bot API holds in a chat ("" for the reporter's)."""
    return str((held.get("message") or {}).get("text") or "")


# --- web form ---------------------------------------------------------------------------------


def shown_in(html: str, text: str) -> bool:
    return str(escape(text)) in html


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("danger", ["no", "yes"])
def test_web_receipt_shows_the_medical_line(gw, browser, locale: str, danger: str) -> None:  # type: ignore[no-untyped-def]
    response = send_report(browser, locale, narrative="what happened", danger=danger)
    html = response.get_data(as_text=True)
    receipt_of(html)
    assert len(response.data) < PAGE_LIMIT, (locale, len(response.data))
    assert shown_in(html, i18n.gettext(locale, web_help.URGENT)), html
    assert all(number in html for number in (MEDICAL, NORTH, SOUTH))
    assert html.index(MEDICAL) < html.index(NORTH) < html.index(SOUTH), "medical first"
    assert 'href="tel:+0005550101"' in html
    help_at, number_at = html.index('class="hl"'), html.index('class="b"')
    assert (help_at < number_at) is (danger == "yes"), "help first when someone is in danger"
    # The language chosen on the receipt page keeps the order.
    other = "fr" if locale != "fr" else "en"
    again = browser.submit(forms(html)[0], press=("lang", other)).get_data(as_text=True)
    assert receipt_of(again) == receipt_of(html)
    assert shown_in(again, i18n.gettext(other, web_help.URGENT))
    assert (again.index('class="hl"') < again.index('class="b"')) is (danger == "yes")


@EMBEDDED
def test_web_area_typed_in_the_form_narrows_the_list(gw, browser) -> None:  # type: ignore[no-untyped-def]
    html = send_report(
        browser, "en", narrative="what happened", location="Near the well in North"
    ).get_data(as_text=True)
    assert MEDICAL in html and NORTH in html and SOUTH not in html
    assert "Near the well" not in html.split('class="hl"')[1], "the place is not echoed"


@EMBEDDED
def test_web_status_page_shows_the_services(gw, browser) -> None:  # type: ignore[no-untyped-def]
    number, pin = receipt_of(send_report(browser, "fr", narrative="x").get_data(as_text=True))
    form = main_form(browser.get("/status?lang=fr").get_data(as_text=True))
    found = browser.submit(form.fill(number=number, pin=pin))
    html = found.get_data(as_text=True)
    assert MEDICAL in html and shown_in(html, i18n.gettext("fr", web_help.URGENT))
    assert len(found.data) < PAGE_LIMIT


@EMBEDDED
@pytest.mark.parametrize("locale", i18n.available_locales())
def test_a_full_directory_stays_within_the_page_budget(gw, browser, locale: str) -> None:  # type: ignore[no-untyped-def]
    """Twenty services with every field at its longest in letters of two bytes (Arabic
    script), on the receipt and status pages of every language."""
    path = Path(gw.settings.data_dir) / "full.yaml"
    longest = "ع" * assistance.MAX_TEXT
    entries = [
        f"  - name: {'م' * assistance.MAX_NAME}\n    kind: medical\n"
        f'    phone: "+{"1" * 24}"\n    hours: {"ح" * assistance.MAX_FIELD}\n'
        f"    text:\n      {locale}: {longest}\n"
        for _ in range(20)
    ]
    path.write_text("services:\n" + "".join(entries), encoding="utf-8")
    set_raw(gw, ASSISTANCE_FILE=str(path))
    response = send_report(browser, locale, narrative="x", danger="yes")
    assert response.status_code == 200
    assert len(response.data) < PAGE_LIMIT, len(response.data)
    assert response.get_data(as_text=True).count('href="tel:') == web_help.MAX_SHOWN
    number, pin = receipt_of(response.get_data(as_text=True))
    form = main_form(browser.get(f"/status?lang={locale}").get_data(as_text=True))
    found = browser.submit(form.fill(number=number, pin=pin))
    assert found.status_code == 200 and len(found.data) < PAGE_LIMIT, len(found.data)


@EMBEDDED
def test_web_without_a_directory_shows_no_help_block(gw, browser) -> None:  # type: ignore[no-untyped-def]
    set_raw(gw, ASSISTANCE_FILE="")
    html = send_report(browser, "en", narrative="x", danger="yes").get_data(as_text=True)
    receipt_of(html)
    assert 'class="hl"' not in html and MEDICAL not in html


def test_area_all_means_everywhere() -> None:
    """docs/contract.md's example: `area: all` serves every area, like no area."""
    found = assistance.parse(
        "services:\n  - name: Clinic\n    kind: medical\n    area: All\n    phone: '+1 555'\n"
    )
    assert found.areas() == [] and [s.name for s in found.matching("North")] == ["Clinic"]


@EMBEDDED
def test_a_file_broken_while_running_loses_no_report(gw, client, browser, provider_api) -> None:  # type: ignore[no-untyped-def]
    """Start-up refuses a bad file; one edited badly later leaves out the help, nothing else."""
    path = Path(gw.settings.data_dir) / "broken.yaml"
    path.write_text("services:\n  - name: Clinic\n    kind: doctor\n", encoding="utf-8")
    set_raw(gw, ASSISTANCE_FILE=str(path))
    response = send_report(browser, "en", narrative="x", danger="yes")
    assert response.status_code == 200 and 'class="hl"' not in response.get_data(as_text=True)
    receipt_of(response.get_data(as_text=True))
    phone = sms_phone(gw, client, provider_api, "+243810009305")
    assert phone.send("HELP") == [conversation.HELP]
    phone.send("Something happened at the market.")
    for answer in ("1", "1", "0"):
        phone.send(answer)
    [receipt] = phone.send("2")
    receipt_parts(receipt)


@pytest.mark.parametrize("locale", ["en", "fr", "es", "pt", "ar", "sw", "ln", "sg", "ht"])
def test_a_long_directory_by_sms_stays_short(locale: str) -> None:
    """Thirty services with long names and accents in six areas: HELP is at most
    MAX_MESSAGES messages, each within budget and discreet, and ends with how to
    narrow it to one area; the one line after the receipt keeps the phone number."""
    entries = [
        f"  - name: Hôpital {'Saint-Éloi ' * 4}{n}\n    kind: {kind}\n    area: Zône {n % 6}\n"
        f'    phone: "+236 {n:04d} {"9" * 12}"\n    hours: "Lundi-Vendredi 7h30-16h30, samedi"\n'
        for n, kind in zip(range(30), ["medical", "legal", "shelter"] * 10, strict=True)
    ]
    found = assistance.parse("services:\n" + "".join(entries))
    listed = help_lines.help_messages(found, locale)
    assert 1 < len(listed) <= help_lines.MAX_MESSAGES
    hint = i18n.gettext(locale, help_lines.AREAS_HINT).split("%(")[0]
    assert listed[-1].splitlines()[-1].startswith(hint), listed[-1]
    area = help_lines.area_in(found, "near the market of zone 3, Monday")  # accents or not
    assert area == "Zône 3"
    line = help_lines.first_message(found, locale, area)
    assert line is not None and found.first("Zône 3").phone in line
    assert_sendable(locale, [*listed, line])
    assert all(help_lines.gsm_fold(line) == line for line in listed)
