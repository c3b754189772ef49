"""A focal point's day in real headless Chromium, JavaScript off, against a real server.

A reporter files through the web form; the focal point, made with
`complaint-gateway users create` (a real process), signs in with the printed
one-time password and a TOTP code, chooses a password, opens the new case
from the queue, takes it, answers the reporter, links it to an earlier case
and closes it. The reporter then reads the answer on /status, and the audit
chain holds every step.

Chromium is the Debian package (/usr/bin/chromium) driven by Playwright; the
browsers Playwright downloads are never used. Screenshots of the queue and
the case page go to TEST_ARTIFACTS_DIR (default: test-artifacts/, as the web
form's) for a person to look at. Without Chromium the test is skipped, unless
GATEWAY_TEST_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from gateway.cases import audit
from gateway.cases.reports import Affected, Category, NewReport
from gateway.core.accounts import AuditEntry, User
from gateway.core.models import Case
from gateway.work.reporter import submit_report
from tests.channels.web_form.chromium import LiveServer, available, chromium
from tests.console.conftest import NEW_PASSWORD
from tests.support.jobs import run_jobs

pytestmark = pytest.mark.slow
ROOT = Path(__file__).parents[2]
STATEMENT = "The storekeeper at the warehouse said he would give my cousin rice if she visited him."
REPLY = "We have your report. Can you come to the health centre on Tuesday morning?"
LAPTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not available():
        message = "Chromium (/usr/bin/chromium) or the playwright package is missing"
        if os.environ.get("GATEWAY_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " and GATEWAY_TEST_REQUIRE_SERVICES=1")
        pytest.skip(message)
    with chromium() as launched:
        yield launched


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    base = Path(
        os.environ.get("TEST_ARTIFACTS_DIR") or Path(__file__).parents[2] / "test-artifacts"
    )
    directory = base / re.sub(r"\W+", "-", request.node.name).strip("-")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def users_create(env: dict[str, str], data_dir: Path, username: str) -> tuple[str, str]:
    """(one-time password, TOTP secret) as `complaint-gateway users create` prints them."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "users", "create", "--data-dir", str(data_dir)]
        + ["--role", "focal_point", username],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    password = re.search(r"one-time password:\s*(\S+)", done.stdout)
    secret = re.search(r"TOTP secret:\s*([A-Z2-7]+)", done.stdout)
    assert password and secret, done.stdout
    return password.group(1), secret.group(1)


def earlier_cases(gw) -> None:  # type: ignore[no-untyped-def]
    """A queue with some history: one case with someone in danger, two ordinary ones."""
    for narrative, danger in (
        ("A driver from the convoy keeps coming to the shelter at night", True),
        ("The teacher asked a girl for money and more", False),
        ("A guard touched a woman at the food distribution", False),
    ):
        report = NewReport(
            narrative=narrative,
            language="en",
            category=Category.SEXUAL_ABUSE,
            affected=Affected.SOMEONE_ELSE,
            danger_now=danger,
        )
        submit_report(gw, report, channel="web")


def test_sign_in_take_answer_and_close_the_newest_case(  # type: ignore[no-untyped-def]
    gw, app, env, tracker, browser, artifacts, tmp_path
) -> None:
    earlier_cases(gw)
    password, secret = users_create(env, tmp_path, "nadia")
    with LiveServer(app) as server:
        base = server.url
        reporter = browser.new_context(java_script_enabled=False, locale="en-US")
        focal = browser.new_context(java_script_enabled=False, viewport=LAPTOP, locale="en-GB")
        try:
            # The reporter files a report through the web form and keeps the receipt.
            page = reporter.new_page()
            page.goto(f"{base}/report?lang=en")
            page.fill("#narrative", STATEMENT)
            page.check("input[name=category][value=sexual_exploitation]")
            page.check("input[name=affected][value=someone_else]")
            page.check("input[name=danger][value=no]")
            page.fill("#location", "Warehouse 3, north gate")
            page.click("button[type=submit]:not([name])")
            page.locator("p.b").nth(1).wait_for()
            number, pin = page.locator("p.b").all_inner_texts()

            # The focal point signs in with the printed password and a TOTP code...
            console = focal.new_page()
            console.goto(f"{base}/console/")
            assert console.url.startswith(f"{base}/console/login")
            console.fill("#u", "nadia")
            console.fill("#p", password)
            console.fill("#c", pyotp.TOTP(secret).now())
            console.click("main button")
            # ...and the console asks for a password of their own first.
            assert console.url == f"{base}/console/password"
            console.fill("#c", password)
            console.fill("#n", NEW_PASSWORD)
            console.fill("#r", NEW_PASSWORD)
            console.click("main button")
            assert console.url.startswith(f"{base}/console/cases")
            assert "Your password was changed." in console.inner_text("main")

            # The queue: someone in danger first, then the oldest waiting; the
            # reporter's, the newest, last.
            rows = console.locator("main table tr td:first-child a").all_inner_texts()
            assert len(rows) == 4 and rows[-1] == number, rows
            assert console.locator("tr.u").count() == 1
            queue_png = artifacts / "console-queue.png"
            console.screenshot(path=str(queue_png), full_page=True)
            console.click(f"main table a:text-is('{number}')")
            assert console.url == f"{base}/console/cases/{number}"
            assert STATEMENT in console.inner_text("main")

            # Take the case, answer the reporter, close it with a reason.
            assign = console.locator("form[action$='/assign']")
            assign.locator("select").select_option(label="nadia")
            assign.locator("button").click()
            assert "Assignment saved." in console.inner_text("main")
            message = console.locator("form[action$='/message']")
            message.locator("textarea").fill(REPLY)
            message.locator("button").click()
            assert "Message saved for the reporter." in console.inner_text("main")
            link = console.locator("form[action$='/link']")
            link.locator("input[name=other]").fill(rows[0])
            link.locator("select").select_option("related")
            link.locator("button").click()
            assert f"Related to {rows[0]}" in console.inner_text("main")
            status = console.locator("form[action$='/status']")
            status.locator("select").select_option("closed")
            status.locator("textarea").fill("Referred to the protection cluster; reporter told.")
            status.locator("button").click()
            text = console.inner_text("main")
            assert "Status changed." in text and "assigned to nadia" in text
            assert "Status: Closed" in text and REPLY in text
            case_png = artifacts / "console-case.png"
            console.screenshot(path=str(case_png), full_page=True)

            # The reporter checks on the status page: closed, with the answer.
            page.goto(f"{base}/status?lang=en")
            page.fill("#number", number)
            page.fill("#pin", pin)
            page.click("button[type=submit]:not([name])")
            shown = page.inner_text("main")
            heading = page.locator("h2").first.inner_text()
        finally:
            reporter.close()
            focal.close()
    print(f"\nconsole screenshots: {queue_png} {case_png}")

    assert REPLY in shown and heading == "Closed"
    run_jobs(gw)
    forwarded = [r.body for r in tracker.requests if r.body.get("case_number") == number]
    assert [b.get("status") for b in forwarded if b.get("event")] == ["closed"]
    digits = number.replace("-", "")
    with gw.sessions() as session:
        case = session.scalars(select(Case).where(Case.case_number == digits)).one()
        nadia = session.scalars(select(User).where(User.username == "nadia")).one()
        assert case.status == "closed" and case.assignee_id == nadia.id
        assert audit.verify(session) == (True, None)
        trail = [
            (e.actor, e.action, e.target, e.detail)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        ]
    steps = [(actor, action, target) for actor, action, target, _ in trail if actor == "nadia"]
    for step in (
        ("nadia", "login.ok", "nadia"),
        ("nadia", "user.password_change", "nadia"),
        ("nadia", "case.view", digits),
        ("nadia", "case.assign", digits),
        ("nadia", "case.message", digits),
        ("nadia", "case.status", digits),
    ):
        assert step in steps, step
    order = [a for _, a, t in steps if t == digits and a != "case.view"]
    assert order == ["case.assign", "case.message", "case.link", "case.status"]
    [change] = [d for _, a, t, d in trail if a == "case.status" and t == digits]
    assert change["from"] == "received" and change["to"] == "closed"
    assert ("cli", "user.create", "nadia") in [(a, b, c) for a, b, c, _ in trail]
    assert queue_png.stat().st_size > 5000 and case_png.stat().st_size > 5000
