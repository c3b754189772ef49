"""Discreet wording: nothing the gateway sends to a reporter's phone or chat says what was reported.

A reporter's phone is often shared, sometimes with the person they report
about (docs/contract.md, "Discreet wording"; docs/threat-model.md). The words no
outbound text may contain are data, one list per language, in
i18n/discreet-words/ (with the inflections and SMS spellings). Checked here:

- every msgid that can go out by SMS, WhatsApp or Telegram, and its msgstr
  in every catalog (found by where it is defined and by its translator
  comment, so a new reply is checked at once);
- what really goes out, read back from the local servers that play the
  providers: a whole SMS conversation through Africa's Talking's webhook in
  every language, and a whole Telegram conversation through the bot's
  webhook (texts, button labels and pop-ups) in three;
- a conversation left at the retired category question goes on;
- the messages that end an exchange (receipt, STOP, status answers) tell the
  reporter they can delete the thread.
"""

from __future__ import annotations

import re
from functools import cache

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po
from sqlalchemy import select, update

from gateway.cases.filing import Receipt
from gateway.conversation import texts as conversation
from gateway.conversation.keywords import KEYWORDS, Command, Word, normalise
from gateway.conversation.texts import RECEIPT, receipt_text
from gateway.core import i18n
from gateway.core.models import Case, Conversation
from gateway.work.reporter import message_reporter
from tests.channels.sms.harness import AT_KEY, AfricasTalking, Phone, fixture, receipt_parts
from tests.channels.telegram.conftest import SECRET, TOKEN, USER, Reporter, buttons_of
from tests.support.jobs import run_jobs
from tests.support.providers import ProviderAPI
from tests.support.telegram_api import TelegramAPI

LOCALES = ["en", "fr", "ar", "es", "pt", "sw", "ln", "sg", "ht"]
WORDS_DIR = i18n.catalog_dir() / "discreet-words"
# Where the texts sent to a reporter's phone or chat are defined; any other
# entry whose translator comment names a text channel is one too.
OUTBOUND_SOURCES = (
    "gateway/conversation/texts.py",
    "gateway/conversation/engine.py",
    "gateway/work/dispatch.py",
    "gateway/conversation/prompts.py",
    "channels/telegram/",
)
OUTBOUND_COMMENT = re.compile(r"\b(SMS|WhatsApp|Telegram)\b")
# The last message of an exchange says the thread can be deleted.
ENDINGS = ("STOPPED", "STATUS_FOUND", "STATUS_FOUND_MESSAGE", "STATUS_WRONG", "REPLY_ADDED")
DELETE_HINT = "You can delete these messages."


def _pattern(entry: str) -> re.Pattern[str]:
    """`word` whole, `word*` as a prefix, `*word*` anywhere in a word; words in order."""
    parts = []
    for token in entry.split():
        core = normalise(token.strip("*"))
        before = r"\w*" if token.startswith("*") else r"(?<!\w)"
        after = r"\w*" if token.endswith("*") else r"(?!\w)"
        parts.append(before + re.escape(core) + after)
    return re.compile(r"\s+".join(parts))


@cache
def forbidden(locale: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    entries = []
    for name in ("all.txt", f"{locale}.txt"):
        for line in (WORDS_DIR / name).read_text(encoding="utf-8").splitlines():
            entry = line.split("#", 1)[0].strip()
            if entry:
                entries.append((entry, _pattern(entry)))
    return tuple(entries)


def indiscreet(locale: str, text: str) -> list[str]:
    """The listed words `text` contains, in `locale` (placeholders left out)."""
    plain = normalise(re.sub(r"%\(\w+\)s", " ", text))
    return [entry for entry, pattern in forbidden(locale) if pattern.search(plain)]


@cache
def catalog(locale: str) -> Catalog:
    with (i18n.catalog_dir() / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def goes_out(message: Message) -> bool:
    """Whether an entry is (part of) a text sent to a reporter's phone or chat."""
    places = [path for path, _line in message.locations]
    comments = " ".join(message.auto_comments)
    return any(p.startswith(OUTBOUND_SOURCES) for p in places) or bool(
        OUTBOUND_COMMENT.search(comments)
    )


def outbound_entries(locale: str) -> list[Message]:
    return [m for m in catalog(locale) if m.id and goes_out(m)]


def strings(message: Message) -> list[str]:
    values = message.string if isinstance(message.string, tuple) else (message.string,)
    return [v for v in values if v]


def test_every_language_has_a_list_and_the_lists_catch_the_words() -> None:
    for locale in LOCALES:
        assert (WORDS_DIR / f"{locale}.txt").is_file(), f"{locale}: no list of discreet words"
    assert indiscreet("en", "What happened? 1 Sex for money 2 Sexual abuse") == ["sex*", "abus*"]
    assert indiscreet("en", "Who was harmed? 3 A child") == ["child*", "harm*"]
    assert indiscreet("fr", "Abus ou VIOLENCE sexuelle, un enfant") == [
        "sex*",
        "abus*",
        "viol*",
        "enfant*",
    ]
    assert indiscreet("ar", "اعتداء أو عنف جنسي") == ["*جنس*", "*اعتدا*", "*عنف*"]
    assert indiscreet("en", "To report abuse to the UN mission MINUSCA")[:1] == ["MINUSCA"]
    assert indiscreet("fr", "un message, une personne") == []  # "un" is not the UN in French
    assert indiscreet("en", "Thank you. Write to us in your own words.") == []


def test_the_check_finds_the_texts_that_go_out() -> None:
    found = {m.id for m in outbound_entries("en")}
    assert {conversation.HELP, conversation.ASK_AFFECTED, RECEIPT} <= found
    assert "Delete these messages" in found  # a Telegram button
    assert "What happened?" not in found  # the web form's heading


@pytest.mark.parametrize("locale", LOCALES)
def test_no_text_that_goes_out_names_what_was_reported(locale: str) -> None:
    """English msgids and each catalog's translations, against that language's list."""
    leaks = {}
    for message in outbound_entries(locale):
        msgids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text, words_of in [
            *((m, "en") for m in msgids),
            *((s, locale) for s in strings(message)),
        ]:
            words = indiscreet(words_of, text)
            if words:
                leaks[text] = words
    assert not leaks, f"{locale}: these texts reach a reporter's phone: {leaks}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_end_of_an_exchange_says_the_thread_can_be_deleted(locale: str) -> None:
    """The receipt, STOP's answer and the status answers tell the reporter they can
    delete the messages; the sentence is the same in all of them (one translation)."""
    hints = set()
    for name in ENDINGS:
        english = getattr(conversation, name)
        assert DELETE_HINT in english, name
        hints.add(_delete_hint(locale, english))
    receipt = receipt_text(locale, Receipt(1, "2026-000123-4", "123456"))
    assert DELETE_HINT in RECEIPT
    assert any(hint in receipt for hint in hints), receipt
    assert len(hints) == 1, f"{locale}: say it the same way every time: {hints}"


def _delete_hint(locale: str, english: str) -> str:
    """The translation's last sentence, which says it (STATUS_FOUND_MESSAGE: its last line)."""
    text = i18n.gettext(locale, english)
    last = text.splitlines()[-1] if "\n" in text else text
    sentences = re.split(r"(?<=[.!?۔؟])\s+", last.strip())
    return sentences[-1]


# --- what really goes out, through the real endpoints --------------------------------------

FOCAL_MESSAGE = "Please call us when you can."
TELEGRAM_LOCALES = ["en", "ar", "sw"]


@pytest.fixture
def env(
    env: dict[str, str], provider_api: ProviderAPI, telegram_api: TelegramAPI
) -> dict[str, str]:
    """Africa's Talking and the Telegram Bot API played by local servers."""
    return {
        **env,
        **provider_api.settings(),
        "AFRICASTALKING_CALLBACK_KEY": AT_KEY,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_API_BASE_URL": telegram_api.url,
    }


def keyword(locale: str, meaning: Command | Word) -> str:
    return KEYWORDS[locale][meaning][0]


def delete_sentence(locale: str) -> str:
    return _delete_hint(locale, conversation.STOPPED)


def assert_discreet(locale: str, sent: list[str]) -> None:
    leaks = {text: indiscreet(locale, text) for text in sent if indiscreet(locale, text)}
    assert not leaks, f"{locale}: sent to the reporter: {leaks}"


def sms_conversation(gw, at, api, locale: str, number: str) -> list[str]:  # type: ignore[no-untyped-def]
    """Every kind of exchange by SMS in `locale`; everything the provider was asked to send."""
    base = fixture("africastalking", "incoming")["form"]

    def make(text: str, n: str) -> dict[str, str]:
        return {**base, "from": number, "text": text, "id": f"dw-{locale}-{n}"}

    phone = Phone(gw, at, api, make, number)
    assert phone.send(keyword(locale, Command.HELP)) == [i18n.gettext(locale, conversation.HELP)]
    phone.send(keyword(locale, Command.REPORT))
    phone.send("A guard at the gate asked me for sex for a food card.")
    for answer in ("1", "7", "1", "At the gate, Monday"):  # 7: not a choice, asked again
        phone.send(answer)
    [receipt] = phone.send("1")  # follow-up agreed
    number_, pin = receipt_parts(receipt)
    status = keyword(locale, Command.STATUS)
    [found] = phone.send(f"{status} {number_} {pin}")
    with gw.sessions() as session:
        case_id = max(session.scalars(select(Case.id)))
    assert message_reporter(gw, case_id, FOCAL_MESSAGE, "focal")
    run_jobs(gw)
    phone.send("Yes, tomorrow morning.")
    phone.send(f"{status} {number_} {pin}")
    phone.send(f"{status} {number_} 000000" if pin != "000000" else f"{status} {number_} 111111")
    phone.send(status)
    phone.send(keyword(locale, Command.LANGUAGE))
    [stopped] = phone.send(keyword(locale, Command.STOP))
    for last in (receipt, found, stopped):
        assert last.endswith(delete_sentence(locale)), (locale, last)
    return [api.text_of(call) for call in api.sent(number)]


def telegram_conversation(client, gw, api: TelegramAPI, locale: str, chat_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    """A report by Telegram in `locale` (Telegram's language setting): texts, buttons, pop-ups."""
    user = {**USER, "id": chat_id, "username": f"dw_{chat_id}", "language_code": locale}
    reporter = Reporter(client, gw, api, user)
    pressed_before = len(api.calls_to("answerCallbackQuery"))
    big = {"file_id": f"big{chat_id}", "file_unique_id": f"u{chat_id}", "duration": 9}
    reporter.send(voice={**big, "mime_type": "audio/ogg", "file_size": 25 * 1024 * 1024})
    reporter.send("/start")
    reporter.send("A soldier at the checkpoint asked my sister for sex in exchange for food.")
    reporter.choose("2")
    reporter.choose("1")
    reporter.send("At the checkpoint, Friday")
    [receipt] = reporter.choose("1")
    number, pin = receipt_parts(receipt["text"])
    [found] = reporter.send(f"/status {number} {pin}")
    reporter.send("/stop")
    reporter.press("forget", on=receipt)
    assert found["text"].endswith(delete_sentence(locale)), (locale, found["text"])
    assert delete_sentence(locale) in receipt["text"], (locale, receipt["text"])
    sent = []
    for message in api.sent(chat_id):
        sent.append(message["text"])
        sent.extend(b["text"] for row in buttons_of(message) for b in row)
    popups = [c.get("text") or "" for c in api.calls_to("answerCallbackQuery")[pressed_before:]]
    return [*sent, *popups]


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)  # wording, not storage
@pytest.mark.parametrize("locale", LOCALES)
def test_what_goes_out_by_sms_is_discreet(gw, client, provider_api, locale: str) -> None:  # type: ignore[no-untyped-def]
    """A whole SMS conversation in `locale` through Africa's Talking's webhook."""
    sent = sms_conversation(gw, AfricasTalking(client), provider_api, locale, "+243810007001")
    assert len(sent) >= 14, (locale, sent)
    assert FOCAL_MESSAGE in sent
    assert_discreet(locale, sent)


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)  # wording, not storage
def test_what_goes_out_by_telegram_is_discreet(gw, client, telegram_api) -> None:  # type: ignore[no-untyped-def]
    """A whole Telegram conversation through the bot's webhook, in a left-to-right, a
    right-to-left and a not yet reviewed language: what the Telegram sender adds (the
    receipt's note, buttons made of the questions' words, pop-ups). Every catalog's
    texts are checked above; SMS goes through every language below."""
    for index, locale in enumerate(TELEGRAM_LOCALES):
        sent = telegram_conversation(client, gw, telegram_api, locale, 880000100 + index)
        assert len(sent) >= 10, (locale, sent)
        assert_discreet(locale, sent)


def test_a_conversation_left_at_the_old_category_question_goes_on(gw, client, provider_api) -> None:  # type: ignore[no-untyped-def]
    """A reporter who was asked the old category question before an upgrade answers it:
    the answer is not taken as a category, the first question now asked comes next, and
    the report is filed with what it has."""
    base = fixture("africastalking", "incoming")["form"]
    number = "+243810007099"

    def make(text: str, n: str) -> dict[str, str]:
        return {**base, "from": number, "text": text, "id": f"dw-old-{n}"}

    phone = Phone(gw, AfricasTalking(client), provider_api, make, number)
    assert phone.send("Something happened at the distribution.") == [conversation.ASK_AFFECTED]
    with gw.sessions() as session, session.begin():
        session.execute(update(Conversation).values(step="category"))
    assert phone.send("1") == [conversation.ASK_AFFECTED]
    for answer in ("2", "0", "0"):
        phone.send(answer)
    [receipt] = phone.send("2")
    receipt_parts(receipt)
    with gw.sessions() as session:
        case = session.scalars(select(Case)).one()
        assert case.category is None and case.affected == "someone_else"
