"""Every page of the form: language and direction, size, headers, nothing that leaves a trace."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.core import i18n
from gateway.core.models import Case
from gateway.work.reporter import message_reporter
from tests.channels.web_form.conftest import receipt_of, send_report, set_raw
from tests.channels.web_form.nojs import Browser, main_form
from tests.support.languages import EASTERN_DIGITS, left_in_english

LOCALES = i18n.available_locales()
PAGE_LIMIT = 10_000  # bytes of HTML with its inline style, the whole page


def walk(gw, browser: Browser, lang: str) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    """Every kind of page a reporter meets, in `lang`: (label, response)."""
    pages = [("form", browser.get(f"/report?lang={lang}"))]
    pages.append(("form with an error", send_report(browser, lang, narrative="")))
    receipt = send_report(browser, lang, narrative="what happened", category="sexual_abuse")
    pages.append(("receipt", receipt))
    number, pin = receipt_of(receipt.get_data(as_text=True))
    with gw.sessions() as session:
        case_id = session.scalars(select(Case.id).order_by(Case.id.desc())).first()
    message_reporter(gw, case_id, "We have read your report. Are you safe now?", "focal")
    status = browser.get(f"/status?lang={lang}")
    pages.append(("status", status))
    form = main_form(status.get_data(as_text=True)).fill(number=number, pin="000000")
    pages.append(("status, wrong PIN", browser.submit(form)))
    form = main_form(browser.get(f"/status?lang={lang}").get_data(as_text=True))
    found = browser.submit(form.fill(number=number, pin=pin))
    pages.append(("case found", found))
    replied = browser.submit(main_form(found.get_data(as_text=True)).fill(text="Yes, thank you."))
    pages.append(("reply sent", replied))
    bad = main_form(browser.get(f"/report?lang={lang}").get_data(as_text=True)).fill(token="x")
    pages.append(("problem", browser.submit(bad)))
    return pages


@pytest.mark.parametrize("lang", LOCALES)
def test_every_page_in_every_language(gw, browser, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Each page in the reporter's language and direction, nothing left in English,
    dates written the language's way, case number and PIN in Western digits."""
    direction = "rtl" if lang == "ar" else "ltr"
    assert i18n.is_rtl(lang) is (lang == "ar")
    today = {i18n.format_date(lang, datetime.now(UTC))}
    pages = dict(walk(gw, browser, lang))
    today.add(i18n.format_date(lang, datetime.now(UTC)))  # the walk may cross midnight
    for label, response in pages.items():
        html = response.get_data(as_text=True)
        assert f'<html lang="{lang}" dir="{direction}">' in html, label
        size = len(response.data)
        assert size < PAGE_LIMIT, f"{label} in {lang} is {size} bytes"
        assert not EASTERN_DIGITS.search(html), (label, lang)
        if lang != "en":
            assert not left_in_english(html, lang, "channels/web_form"), (label, lang)
    number, pin = receipt_of(pages["receipt"].get_data(as_text=True))
    assert re.fullmatch(r"\d{4}-\d{6}-\d", number) and re.fullmatch(r"\d{6}", pin)
    found = pages["case found"].get_data(as_text=True)
    assert f'<b dir="ltr">{number}</b>' in found
    shown = re.findall(r'<p class="h">[^<]*<span>([^<]+)</span>', found)
    assert shown and set(shown) <= today, (lang, shown, today)


@pytest.mark.parametrize("lang", [loc for loc in LOCALES if loc != "en"])
def test_pages_are_translated(gw, browser, lang: str) -> None:  # type: ignore[no-untyped-def]
    english = browser.get("/report?lang=en").get_data(as_text=True)
    other = browser.get(f"/report?lang={lang}").get_data(as_text=True)
    heading = re.compile(r"<h1>(.*?)</h1>")
    assert heading.search(english).group(1) != heading.search(other).group(1)
    assert "Send the report" not in other


def test_headers_of_every_page(gw, browser) -> None:  # type: ignore[no-untyped-def]
    for label, response in walk(gw, browser, "en"):
        html = response.get_data(as_text=True)
        headers = response.headers
        assert "Set-Cookie" not in headers, label
        assert headers["Cache-Control"] == "no-store", label
        style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        csp = headers["Content-Security-Policy"]
        for part in (
            "default-src 'none'",
            f"style-src 'sha256-{digest}'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ):
            assert part in csp, (label, part)
        assert '<meta name="referrer" content="no-referrer">' in html
        assert not re.search(r"<(script|img|link|iframe)\b", html), label
        assert not re.search(r'\b(src|href|action)="(https?:)?//(?!www\.bbc\.com/weather)', html)


def test_the_session_cookie_is_never_set(gw, browser) -> None:  # type: ignore[no-untyped-def]
    walk(gw, browser, "en")
    assert not list(browser.client._cookies), "the test client received a cookie"


@pytest.mark.parametrize(
    ("accept", "query", "expected"),
    [
        ("fr-CD,fr;q=0.9,en;q=0.5", "", "fr"),
        ("sw", "", "sw"),
        ("ar-SD", "", "ar"),
        ("de-DE", "", "en"),
        ("fr", "?lang=pt", "pt"),
        ("fr", "?lang=xx", "fr"),
    ],
)
def test_language_from_the_query_then_accept_language(client, accept, query, expected) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/report" + query, headers={"Accept-Language": accept}).get_data(as_text=True)
    assert f'<html lang="{expected}"' in html


def test_the_chosen_language_follows_the_report(gw, browser) -> None:  # type: ignore[no-untyped-def]
    browser.accept_language = "en"
    response = send_report(browser, "ar", narrative="حدث شيء")
    assert '<html lang="ar" dir="rtl">' in response.get_data(as_text=True)
    with gw.sessions() as session:
        assert session.scalars(select(Case.language)).one() == "ar"


def test_every_page_links_the_languages_and_the_quick_exit(gw, browser) -> None:  # type: ignore[no-untyped-def]
    set_raw(gw, GATEWAY_QUICK_EXIT_URL="https://weather.example/today")
    for label, response in walk(gw, browser, "en"):
        html = response.get_data(as_text=True)
        assert 'class="x" href="https://weather.example/today"' in html, label
        for code in LOCALES:
            assert f'lang="{code}"' in html, (label, code)


def test_configured_locales_only(gw, client) -> None:  # type: ignore[no-untyped-def]
    set_raw(gw, GATEWAY_LOCALES="fr,ar")
    gw.settings = dataclasses.replace(gw.settings, locales=("fr", "ar"))
    html = client.get("/report", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="fr"' in html
    assert 'hreflang="ar"' in html and 'hreflang="en"' not in html


def test_every_string_of_the_form_is_in_the_catalog_template() -> None:
    """`make i18n-extract` was run after the last change of a string of the form."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.pofile import read_po

    root = Path(__file__).parents[3]
    with (root / "i18n" / "messages.pot").open("rb") as fh:
        known = {m.id for m in read_po(fh) if m.id}
    found = extract_from_dir(
        str(root / "channels" / "web_form"),
        method_map=[("**.py", "python"), ("templates/**.html", "jinja2")],
        options_map={"templates/**.html": {"trimmed": "true"}},
        keywords={**DEFAULT_KEYWORDS, "gettext": (2,)},
    )
    strings = {msgid for _file, _line, msgid, _comments, _context in found}
    assert len(strings) > 50
    missing = sorted(str(s) for s in strings if s not in known)
    assert not missing, f"run make i18n-extract and translate: {missing}"
