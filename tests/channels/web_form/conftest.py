"""Fixtures of the web form's tests: a no-JS browser and row counts."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import func, select

from gateway.core.schema import Base
from tests.channels.web_form.nojs import Browser, main_form


@pytest.fixture
def browser(client) -> Browser:  # type: ignore[no-untyped-def]
    return Browser(client)


def count_rows(gw) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Rows in every table: a refused request must leave all of them as they were."""
    with gw.sessions() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def set_raw(gw, **values: str) -> None:  # type: ignore[no-untyped-def]
    """Change raw settings (read with settings.get) of a running gateway."""
    gw.settings = dataclasses.replace(gw.settings, raw={**gw.settings.raw, **values})


def receipt_of(html: str) -> tuple[str, str]:
    """(case number, PIN) as the receipt page shows them."""
    found = re.findall(r'<p class="b" dir="ltr">([^<]+)</p>', html)
    assert len(found) == 2, html
    return found[0], found[1]


def send_report(browser: Browser, lang: str = "en", **fields: str):  # type: ignore[no-untyped-def]
    """Open the form, type `fields` (choices by their value), send it; the response."""
    form = main_form(browser.get(f"/report?lang={lang}").get_data(as_text=True))
    for name, value in fields.items():
        if name in ("category", "affected", "danger", "follow_up", "personnel_category"):
            form.choose(name, value)
        else:
            form.fill(**{name: value})
    return browser.submit(form)
