"""The web form on a cheap phone: bytes per page and seconds per report on 2G.

`python -m bench web_form` (or `python -m bench.web_form` for this one alone).

- **Bytes**: every page a reporter meets (the form, the receipt, the status
  form, the status page with one message from the team), in every
  configured language, as the server sends them (HTML with its inline
  style; nothing else is loaded). The floor is the budget: 10,000 bytes a
  page. The ratio is the share of the budget used: lower is better, and it
  must stay under 1.
- **Seconds on 2G**: headless Chromium with JavaScript off, on the 2G profile
  of the browser test (250 kbit/s down, 50 kbit/s up, 300 ms latency),
  opens the form, types a short report, sends it and waits for the receipt.
  The floor is two navigations to `/healthz` (a few bytes) on the same
  link: what any two-page flow costs in round trips alone. Both are given
  per minute, so the ratio (floor time / flow time) is higher when better;
  1 would mean the pages cost nothing beyond the round trips.
  Skipped, with a line saying so, when Chromium is not installed.

Runs on the embedded default only: page sizes and link time do not depend
on the database.
"""

from __future__ import annotations

import logging
import time

from bench import Row, markdown_table
from bench._services import backend
from gateway.app import create_app
from gateway.cases import mailbox
from gateway.core import i18n
from gateway.core.config import Settings
from gateway.core.runtime import Gateway
from gateway.work.reporter import message_reporter
from tests.channels.web_form import chromium as chromium_setup
from tests.channels.web_form.nojs import Browser, main_form

NAME = "web_form"
BUDGET = 10_000
PAGES = ("form", "receipt", "status", "case page")
STATEMENT = "A man from the distribution team asked for sex in exchange for food."


def page_bytes(app, gw: Gateway, lang: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Bytes of each page of one report and one status check, in `lang`."""
    browser = Browser(app.test_client(), accept_language=lang)
    sizes: dict[str, int] = {}
    form_page = browser.get(f"/report?lang={lang}")
    sizes["form"] = len(form_page.data)
    form = main_form(form_page.get_data(as_text=True)).fill(narrative=STATEMENT)
    receipt = browser.submit(form.choose("affected", "someone_else"))
    sizes["receipt"] = len(receipt.data)
    html = receipt.get_data(as_text=True)
    number, pin = [part.split("<")[0] for part in html.split('<p class="b" dir="ltr">')[1:3]]
    view = mailbox.check_status(gw, number, pin, client=None)
    message_reporter(
        gw, int(view.case_id or 0), "Thank you. Are you safe now? You can answer here.", "bench"
    )
    status = browser.get(f"/status?lang={lang}")
    sizes["status"] = len(status.data)
    lookup = main_form(status.get_data(as_text=True)).fill(number=number, pin=pin)
    sizes["case page"] = len(browser.submit(lookup).data)
    return sizes


def flow_seconds(url: str, lang: str, browser) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(seconds from opening the form to reading the receipt, floor) on 2G, JavaScript off."""
    with chromium_setup.page_on_2g(browser) as page:
        started = time.monotonic()
        page.goto(f"{url}/healthz")
        page.goto(f"{url}/healthz")
        floor = time.monotonic() - started
        started = time.monotonic()
        page.goto(f"{url}/report?lang={lang}")
        page.fill("#narrative", STATEMENT)
        page.check("input[name=affected][value=someone_else]")
        page.click("button[type=submit]:not([name])")
        page.locator("p.b").nth(1).wait_for()
        return time.monotonic() - started, floor


def run() -> list[Row]:
    """Measure every configured language; print the per-page table; return the rows."""
    logging.getLogger("channels").setLevel(logging.ERROR)
    rows: list[Row] = []
    with backend("embedded") as where:
        settings = Settings.from_mapping(where.env(), where.directory)
        gw = Gateway.from_settings(settings)
        app = create_app(gateway=gw)
        locales = i18n.configured_locales(settings.locales)
        sizes = {lang: page_bytes(app, gw, lang) for lang in locales}
        print(bytes_table(sizes))
        for lang, pages in sizes.items():
            largest = max(pages, key=lambda p: pages[p])
            rows.append(
                Row(
                    NAME,
                    where.name,
                    f"bytes of the largest page ({largest}), {lang}",
                    pages[largest],
                    "budget, bytes a page",
                    BUDGET,
                    "lower is better; must stay under 1",
                )
            )
        if not chromium_setup.available():
            print(f"Chromium not found at {chromium_setup.CHROMIUM}: 2G timing skipped")
            gw.close()
            return rows
        with chromium_setup.LiveServer(app) as server, chromium_setup.chromium() as browser:
            for lang in locales:
                seconds, floor = flow_seconds(server.url, lang, browser)
                print(f"2G flow {lang}: {seconds:.2f} s (floor {floor:.2f} s)")
                rows.append(
                    Row(
                        NAME,
                        where.name,
                        f"2G reports/min, form to receipt, {lang}",
                        60 / seconds,
                        "2 tiny pages/min, same link",
                        60 / floor,
                        f"{seconds:.1f} s a report; 1 would be round trips alone",
                    )
                )
        gw.close()
    return rows


def bytes_table(sizes: dict[str, dict[str, int]]) -> str:
    """Bytes per page and for the whole flow, one line per language."""
    lines = [
        "| language | " + " | ".join(PAGES) + " | whole flow |",
        "|---|" + "---:|" * (len(PAGES) + 1),
    ]
    for lang, pages in sizes.items():
        cells = " | ".join(f"{pages[p]:,}" for p in PAGES)
        lines.append(f"| {lang} | {cells} | {sum(pages.values()):,} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(run()))
