"""Every public page and every console page passes axe-core (WCAG 2.1 A and AA).

One server and one headless Chromium serve the whole module. A reporter
files a report with a photo through the web form, an administrator signs in
to the console and works the case (message, note, status, triage,
assignment, link), so the pages are checked with real content. Each row of
PAGES brings a page into one state a person sees; axe-core, from its npm
package (tests/support/axe.py), then runs on it, and any violation of impact
"critical" or "serious" fails the test with its rule, impact and nodes.

Without Chromium or axe-core the tests are skipped, unless
GATEWAY_TEST_REQUIRE_SERVICES=1 (CI), where they fail.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from PIL import Image

from gateway.forwarders.webhook import signed_headers
from tests import conftest as base
from tests.channels.hotline_ivr.phone import ACCOUNT_SID, AUTH_TOKEN
from tests.channels.web_form.chromium import LiveServer, available, chromium
from tests.console.conftest import NEW_PASSWORD, make_user
from tests.support import axe
from tests.support.jobs import run_jobs
from tests.support.tracker import TrackerServer

pytestmark = pytest.mark.slow
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 640}
STATEMENT = "A man from the distribution team said he would add my name to the list for sex."
REPLY = "Thank you. Can you come to the health centre on Tuesday?"


def _missing(message: str) -> None:
    if os.environ.get("GATEWAY_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(message + " and GATEWAY_TEST_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(scope="module")
def axe_source(pytestconfig: pytest.Config) -> str:
    cache = getattr(pytestconfig, "cache", None)
    directory = cache.mkdir("axe-core") if cache is not None else None
    try:
        return axe.axe_source(directory)
    except axe.AxeUnavailable as exc:
        _missing(f"axe-core {axe.AXE_VERSION} is unavailable ({exc})")
        raise


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not available():
        _missing("Chromium (/usr/bin/chromium) or the playwright package is missing")
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def site(sqlite_template: Path, embedded_redis_url: str) -> Iterator[Site]:
    """The app (embedded backend, demo pages on) served over HTTP for the whole module."""
    from gateway.app import create_app

    directory = Path(tempfile.mkdtemp(prefix="cg-a11y-"))
    shutil.copy(sqlite_template, directory / "gateway.db")
    base.redis_lib.Redis.from_url(embedded_redis_url).flushdb()
    tracker = TrackerServer(secret="tracker-secret").start()
    env = base.make_env(
        f"sqlite:///{directory / 'gateway.db'}",
        embedded_redis_url,
        directory,
        CASE_TRACKER_URL=tracker.url,
        CASE_TRACKER_SECRET=tracker.secret,
        GATEWAY_DEMO_TRACKER="1",
        KANNEL_CALLBACK_KEY="made-up-kannel-key",
        AFRICASTALKING_CALLBACK_KEY="made-up-africastalking-key",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
    )
    gw = base.runtime.install(
        base.Gateway.from_settings(base.Settings.from_mapping(env, directory))
    )
    app = create_app(gateway=gw)
    app.config["TESTING"] = True
    try:
        with LiveServer(app) as server:
            yield Site(gw, server.url)
    finally:
        base.runtime.uninstall()
        gw.close()
        tracker.stop()
        base.redis_lib.Redis.from_url(embedded_redis_url).flushdb()
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class Site:
    gw: Any
    url: str
    number: str = ""
    pin: str = ""


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 160)).save(out, format="JPEG", quality=60)
    return out.getvalue()


def _file_report(page: Any, url: str, narrative: str) -> tuple[str, str]:
    """File through the web form, with a photo; (case number, PIN) from the receipt."""
    page.goto(f"{url}/report?lang=en")
    page.fill("#narrative", narrative)
    page.check("input[name=category][value=sexual_exploitation]")
    page.check("input[name=affected][value=someone_else]")
    page.check("input[name=danger][value=no]")
    page.fill("#location", "Camp B")
    page.set_input_files(
        "#files", files=[{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": _photo()}]
    )
    page.click("button[type=submit]:not([name])")
    page.locator("p.b").nth(1).wait_for()
    number, pin = page.locator("p.b").all_inner_texts()
    return number, pin


def _sign_in(page: Any, url: str, user: Any, code: str | None = None) -> None:
    page.goto(f"{url}/console/login")
    page.fill("#u", user.username)
    page.fill("#p", user.password)
    page.fill("#c", code or pyotp.TOTP(user.totp_secret).now())
    page.click("main button")


@pytest.fixture(scope="module")
def public(browser, site: Site) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A reporter's browser (a phone's screen); CSP bypassed so axe can be injected."""
    context = browser.new_context(viewport=PHONE, locale="en-US", bypass_csp=True)
    yield context
    context.close()


@pytest.fixture(scope="module")
def console(browser, site: Site) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """An administrator's browser, signed in, after working a case with an earlier one."""
    context = browser.new_context(viewport=LAPTOP, locale="en-GB", bypass_csp=True)
    page = context.new_page()
    earlier, _ = _file_report(page, site.url, "A guard touched a woman at the food distribution.")
    site.number, site.pin = _file_report(page, site.url, STATEMENT)
    run_jobs(site.gw)  # attachments cleaned, cases forwarded

    admin = make_user(site.gw, "admin", "amina")
    _sign_in(page, site.url, admin)
    if page.url.endswith("/console/password"):  # the forced first change
        page.fill("#c", admin.password)
        page.fill("#n", NEW_PASSWORD)
        page.fill("#r", NEW_PASSWORD)
        page.click("main button")
    page.goto(f"{site.url}/console/cases/{site.number}")
    for action, field, value in (
        ("message", "textarea", REPLY),
        ("note", "textarea", "Spoke with the camp manager."),
    ):
        page.locator(f"form[action$='/{action}'] {field}").fill(value)
        page.locator(f"form[action$='/{action}'] button").click()
    assign = page.locator("form[action$='/assign']")
    assign.locator("select").select_option(label="amina")
    assign.locator("button").click()
    triage = page.locator("form[action$='/triage']")
    triage.locator("select[name=danger_now]").select_option("yes")
    triage.locator("button").click()
    link = page.locator("form[action$='/link']")
    link.locator("input[name=other]").fill(earlier)
    link.locator("select").select_option("related")
    link.locator("button").click()
    status = page.locator("form[action$='/status']")
    status.locator("select").select_option(index=1)
    status.locator("textarea").fill("Referred to the protection cluster.")
    status.locator("button").click()
    run_jobs(site.gw)
    page.close()
    yield context
    context.close()


# --- the pages: each brings a page into one state ---------------------------


def _open(page: Any, url: str, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response)


def report_form(page: Any, site: Site) -> None:
    _open(page, f"{site.url}/report?lang=en")


def report_form_arabic(page: Any, site: Site) -> None:
    _open(page, f"{site.url}/report?lang=ar")
    assert page.locator("html").get_attribute("dir") == "rtl"


def report_form_with_error(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/report?lang=en")
    page.click("button[type=submit]:not([name])")  # nothing written
    page.locator("p.e").wait_for()


def report_refused(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/report?lang=en")
    page.locator("input[name=token]").evaluate("field => field.value = 'forged'")
    page.fill("#narrative", "x")
    with page.expect_navigation() as sent:
        page.click("button[type=submit]:not([name])")
    assert sent.value.status == 400


def receipt(page: Any, site: Site) -> None:
    _file_report(page, site.url, "The storekeeper asked my cousin to visit him for rice.")


def status_form(page: Any, site: Site) -> None:
    _open(page, f"{site.url}/status?lang=en")


def _check_status(page: Any, site: Site, pin: str) -> None:
    page.goto(f"{site.url}/status?lang=en")
    page.fill("#number", site.number)
    page.fill("#pin", pin)
    page.click("button[type=submit]:not([name])")


def status_wrong_pin(page: Any, site: Site) -> None:
    _check_status(page, site, "000000" if site.pin != "000000" else "111111")
    page.locator("p.e").wait_for()


def status_page(page: Any, site: Site) -> None:
    _check_status(page, site, site.pin)
    page.locator("#text").wait_for()


def status_page_after_reply(page: Any, site: Site) -> None:
    status_page(page, site)
    page.fill("#text", "Yes, I can come on Tuesday.")
    page.click("button[type=submit]:not([name])")
    page.locator("p.ok").wait_for()


def demo_sms(page: Any, site: Site) -> None:
    _open(page, f"{site.url}/demo/sms")
    assert page.locator("textarea").count() == 1  # ready: a box to write in


def demo_ussd(page: Any, site: Site) -> None:
    """The demo USSD menu in the middle of a session: a screen and a box to answer in."""
    _open(page, f"{site.url}/demo/ussd")
    page.click("button[type=submit]")  # dial
    page.locator("div.screen").wait_for()
    assert page.locator("input#text").count() == 1


def demo_ivr(page: Any, site: Site) -> None:
    _open(page, f"{site.url}/demo/ivr")
    assert page.locator("text=Call the hotline").count() == 1


def demo_tracker(page: Any, site: Site) -> None:
    """The demo's stand-in case tracker, after it received a case and a status change."""
    for payload in (
        {"case_number": "2026-000042-7", "received_at": "2026-05-01T10:00:00Z", "channel": "web"},
        {"event": "status_changed", "case_number": "2026-000042-7", "status": "closed"},
    ):
        body = json.dumps(payload).encode()
        headers = signed_headers(site.gw.settings.case_tracker_secret, body, "a11y")
        answer = httpx.post(
            f"{site.url}/_demo/tracker", content=body, headers=headers, trust_env=False
        )
        assert answer.status_code == 204
    _open(page, f"{site.url}/_demo/tracker")
    assert page.locator("main table tr").count() == 2


def demo_ivr_call(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/demo/ivr")
    page.click("text=Call the hotline")
    page.locator("form.keypad").wait_for()


def console_path(path: str, status: int = 200) -> Callable[[Any, Site], None]:
    def go(page: Any, site: Site) -> None:
        _open(page, site.url + path.format(number=site.number), status)
        assert "/login" not in page.url

    go.__name__ = f"console {path}"
    return go


def console_case(page: Any, site: Site) -> None:
    """The worked case: its photo, its history, the linked case and every form."""
    console_path("/console/cases/{number}")(page, site)
    assert page.locator("main img").count() == 1
    assert page.locator("main table").first.locator("tr").count() >= 6
    assert page.locator("main form").count() >= 7


def console_stats(page: Any, site: Site, weeks: int = 12) -> None:
    console_path(f"/console/stats?weeks={weeks}")(page, site)
    assert page.locator("svg[role=img]").count() == 4


def console_stats_two_years(page: Any, site: Site) -> None:
    console_stats(page, site, weeks=104)


def console_login(page: Any, site: Site) -> None:
    page.context.clear_cookies()
    _open(page, f"{site.url}/console/login")


def console_login_failed(page: Any, site: Site) -> None:
    page.context.clear_cookies()
    _sign_in(page, site.url, make_user(site.gw, "viewer", "failing"), code="000000")
    page.locator("p.err").wait_for()


def console_signed_in_after_failures(page: Any, site: Site) -> None:
    """A sign-in after a wrong code: the notice page, then the forced password change."""
    page.context.clear_cookies()
    user = make_user(site.gw, "focal_point", "farid")
    _sign_in(page, site.url, user, code="000000")
    _sign_in(page, site.url, user)
    assert "/console/login" in page.url and page.locator("main a").count() == 1


def console_password_forced(page: Any, site: Site) -> None:
    page.context.clear_cookies()
    _sign_in(page, site.url, make_user(site.gw, "viewer", "vera"))
    assert page.url.endswith("/console/password")


def console_user_created(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/console/users")
    page.fill("input[name=username]", "newcomer")
    page.locator("form[action$='/console/users'] button").click()
    page.locator("main code").first.wait_for()


def console_intake_filed(page: Any, site: Site) -> None:
    """A report received in person, filed: the slip with number and PIN."""
    console_path("/console/intake")(page, site)
    page.fill("#narrative", "Told at the health post on Tuesday.")
    page.locator("form.intake button[type=submit]").click()
    page.locator("section.slip").wait_for()


@dataclass(frozen=True)
class Page:
    """A page in one state: `who` opens it, `go` brings it there."""

    go: Callable[[Any, Site], None]
    who: str  # "reporter", "staff" (the signed-in administrator) or "anonymous"

    @property
    def name(self) -> str:
        return f"{self.who}: {self.go.__name__}"


PAGES = [
    *(
        Page(go, "reporter")
        for go in (
            report_form,
            report_form_arabic,
            report_form_with_error,
            report_refused,
            receipt,
            status_form,
            status_wrong_pin,
            status_page,
            status_page_after_reply,
            demo_sms,
            demo_ussd,
            demo_ivr,
            demo_ivr_call,
            demo_tracker,
        )
    ),
    *(
        Page(go, "anonymous")  # a browser of its own: the staff's one stays signed in
        for go in (
            console_login,
            console_login_failed,
            console_signed_in_after_failures,
            console_password_forced,
        )
    ),
    *(
        Page(go, "staff")
        for go in (
            console_path("/console/cases"),
            console_path("/console/cases?status=all&urgency=danger"),
            console_case,
            console_stats,
            console_stats_two_years,
            console_path("/console/exports/cases?since=2026-01-01"),
            console_path("/console/users"),
            console_user_created,
            console_path("/console/audit"),
            console_path("/console/audit?verify=1"),
            console_path("/console/settings"),
            console_path("/console/health"),
            console_path("/console/password"),
            console_path("/console/intake"),
            console_path("/console/intake?lang=ar"),
            console_intake_filed,
            console_path("/console/cases/0000-000000-0", 404),  # the console's error page
        )
    ),
]


@pytest.mark.parametrize("shown", PAGES, ids=lambda shown: shown.name)
def test_page_has_no_serious_accessibility_problem(  # type: ignore[no-untyped-def]
    shown: Page, browser, public, console, site: Site, axe_source: str
) -> None:
    if shown.who == "anonymous":
        context = browser.new_context(viewport=LAPTOP, locale="en-GB", bypass_csp=True)
    else:
        context = public if shown.who == "reporter" else console
    page = context.new_page()
    try:
        shown.go(page, site)
        violations = axe.blocking_violations(page, axe_source)
        assert not violations, f"{page.url}\n{axe.describe(violations)}"
    finally:
        page.close()
        if shown.who == "anonymous":
            context.close()
