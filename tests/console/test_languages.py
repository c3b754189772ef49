"""The console in every language: direction, nothing in English, dates the language's way."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from gateway.cases.reports import Affected, Category, NewReport
from gateway.console.stats import week_of
from gateway.core import i18n
from gateway.core.models import Case
from gateway.core.states import Role
from gateway.work.reporter import submit_report
from tests.support.jobs import run_jobs
from tests.support.languages import EASTERN_DIGITS, left_in_english

LOCALES = i18n.available_locales()
PAGES = ("/console/cases", "/console/cases/{number}", "/console/health", "/console/stats")
ADMIN_PAGES = ("/console/users", "/console/audit", "/console/settings")


@pytest.mark.parametrize("locale", LOCALES)
def test_the_console_in_the_users_language(gw, signed_in, clock, tracker, locale: str) -> None:  # type: ignore[no-untyped-def]
    """Accept-Language picks the language; Arabic pages are right to left;
    case numbers stay in Western digits; no string is left in English."""
    receipt = submit_report(
        gw,
        NewReport(
            narrative="He asked for sex for a food card",
            language="sw",
            category=Category.SEXUAL_EXPLOITATION,
            affected=Affected.CHILD,
            danger_now=True,
        ),
        channel="web",
    )
    run_jobs(gw)
    admin = signed_in(Role.ADMIN)
    number = receipt.case_number
    admin.post(f"/console/cases/{number}/message", message="We are looking into it")
    admin.post(f"/console/cases/{number}/note", note="Called the camp manager")
    headers = {"Accept-Language": f"{locale};q=1, en;q=0.1"}
    seen = {}
    for path in PAGES + ADMIN_PAGES:
        response = admin.get(path.format(number=number), headers=headers)
        assert response.status_code == 200, path
        page = response.get_data(as_text=True)
        assert re.search(rf'<html lang="{locale}"( dir="rtl")?>', page), path
        assert (' dir="rtl"' in page.split(">", 2)[1]) is (locale == "ar"), path
        assert not EASTERN_DIGITS.search(page), path
        if locale != "en":
            assert not left_in_english(page, locale, "gateway/console"), path
        seen[path] = page
    case_page = seen["/console/cases/{number}"]
    assert number in case_page and re.fullmatch(r"\d{4}-\d{6}-\d", number)
    with gw.sessions() as session:
        received = session.scalars(select(Case.received_at)).one()
    assert i18n.format_datetime(locale, received) in case_page
    assert i18n.format_datetime(locale, received) in seen["/console/cases"]
    monday = i18n.format_day(locale, week_of(clock.now))
    assert f">{monday}</text>" in seen["/console/stats"]  # the chart's label for this week
