"""Real headless Chromium on a 2G link, JavaScript off, against a real server.

Shared by the browser test and `bench/web_form.py`. Chromium is the Debian
package (/usr/bin/chromium), driven by Playwright's Python package; the
browsers Playwright downloads are never used.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("GATEWAY_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A poor 2G (EDGE) link: what a cheap phone gets far from a town.
PROFILE_2G = {
    "offline": False,
    "latency": 300,  # ms, each way of a round trip as Chromium counts it
    "downloadThroughput": 250 * 1000 / 8,  # 250 kbit/s in bytes/s
    "uploadThroughput": 50 * 1000 / 8,  # 50 kbit/s
}
SMALL_PHONE = {"width": 360, "height": 640}


def available() -> bool:
    """Chromium and Playwright's Python package are both installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return CHROMIUM.exists()


class LiveServer:
    """The Flask app on 127.0.0.1 at a free port, served from a thread."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright `Browser`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def page_on_2g(browser: Any, locale: str = "en-US", throttle: bool = True) -> Iterator[Any]:
    """A page with JavaScript off, a small phone's screen, and the 2G profile."""
    context = browser.new_context(
        java_script_enabled=False, viewport=SMALL_PHONE, locale=locale, device_scale_factor=2
    )
    page = context.new_page()
    if throttle:
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", PROFILE_2G)
    try:
        yield page
    finally:
        context.close()
