"""A real browser on a 2G link with JavaScript off files a report and reads the receipt.

Headless Chromium (the Debian package), driven by Playwright; screenshots
of the form in English and Arabic go to test-artifacts/ for a person to
look at. Without Chromium the test is skipped, unless
GATEWAY_TEST_REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.channels.web_form.chromium import LiveServer, available, chromium, page_on_2g
from tests.support.jobs import run_jobs

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).parents[3] / "test-artifacts"
STATEMENT = {
    "en": "The driver of the white truck asked my neighbour for sex to give her food.",
    "ar": "طلب سائق الشاحنة البيضاء من جارتي الجنس مقابل إعطائها الطعام.",
}


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not available():
        message = "Chromium (/usr/bin/chromium) or the playwright package is missing"
        if os.environ.get("GATEWAY_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(message + " and GATEWAY_TEST_REQUIRE_SERVICES=1")
        pytest.skip(message)
    with chromium() as launched:
        yield launched


def small_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 90, 160)).save(out, format="JPEG", quality=60)
    return out.getvalue()


@pytest.mark.parametrize("lang", ["en", "ar"])
def test_a_report_on_2g_with_javascript_off(app, gw, tracker, browser, lang: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    with LiveServer(app) as server, page_on_2g(browser) as page:
        started = time.monotonic()
        page.goto(f"{server.url}/report?lang={lang}")
        html = page.locator("html")
        assert html.get_attribute("lang") == lang
        assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")
        page.screenshot(path=str(ARTIFACTS / f"web-form-{lang}.png"), full_page=True)

        page.fill("#narrative", STATEMENT[lang])
        page.check("input[name=category][value=sexual_exploitation]")
        page.check("input[name=affected][value=someone_else]")
        page.check("input[name=danger][value=no]")
        page.fill("#location", "Camp B")
        page.set_input_files(
            "#files", files=[{"name": "p.jpg", "mimeType": "image/jpeg", "buffer": small_photo()}]
        )
        page.click("button[type=submit]:not([name])")
        page.locator("p.b").nth(1).wait_for()  # the receipt has arrived over 2G

        number, pin = page.locator("p.b").all_inner_texts()
        elapsed = time.monotonic() - started
        page.screenshot(path=str(ARTIFACTS / f"web-receipt-{lang}.png"), full_page=True)
    assert re.fullmatch(r"\d{4}-\d{6}-\d", number) and re.fullmatch(r"\d{6}", pin)
    assert elapsed < 30, f"the whole flow took {elapsed:.1f} s on 2G"

    run_jobs(gw)
    [received] = tracker.requests
    assert received.schema_error is None
    body = received.body
    assert (body["case_number"], body["language"], body["narrative"]) == (
        number,
        lang,
        STATEMENT[lang],
    )
    assert [a["content_type"] for a in body["attachments"]] == ["image/jpeg"]
