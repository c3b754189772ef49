"""`/demo/sms`: the browser phone of `complaint-gateway demo`, through the real Kannel path."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from gateway.conversation import texts as conversation
from tests.channels.sms.harness import count_events, outbound_messages
from tests.support.jobs import run_jobs
from tests.support.kannel import AppSlot


@pytest.fixture
def served() -> Iterator[tuple[AppSlot, str]]:
    """The test's app served over HTTP, so the worker's sender can reach /demo/sms/sendsms."""
    slot = AppSlot()
    server = make_server("127.0.0.1", 0, slot, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield slot, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def env(env: dict[str, str], served: tuple[AppSlot, str]) -> dict[str, str]:
    _, url = served
    return {
        **env,
        "GATEWAY_DEMO_TRACKER": "1",
        "PUBLIC_BASE_URL": url,
        "KANNEL_SENDSMS_URL": f"{url}/demo/sms/sendsms",
        "KANNEL_USERNAME": "demo",
        "KANNEL_PASSWORD": "made-up-demo-password",
    }


@pytest.fixture
def phone_page(app, served):  # type: ignore[no-untyped-def]
    slot, _ = served
    slot.app = app
    yield app.test_client()
    slot.app = None


def send(gw, page, text: str) -> str:  # type: ignore[no-untyped-def]
    html = page.get("/demo/sms").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
    response = page.post("/demo/sms", data={"action": "send", "csrf": csrf, "text": text})
    assert response.status_code == 302
    run_jobs(gw)
    return page.get("/demo/sms").get_data(as_text=True)


def test_the_demo_phone_talks_to_the_real_pipeline(gw, phone_page) -> None:  # type: ignore[no-untyped-def]
    page = send(gw, phone_page, "A man at the distribution asked me for sex")
    assert "A man at the distribution asked me for sex" in page
    assert conversation.ASK_AFFECTED.split(" 1 ")[0] in page
    assert count_events(gw) == 1
    [message] = outbound_messages(gw)
    assert message.provider == "kannel" and message.delivery_status == "delivered"
    page = send(gw, phone_page, "1")
    assert conversation.ASK_DANGER.split(" 1 ")[0] in page
    assert "<script" not in page


def test_a_forged_send_is_refused(gw, phone_page) -> None:  # type: ignore[no-untyped-def]
    phone_page.get("/demo/sms")
    response = phone_page.post("/demo/sms", data={"action": "send", "csrf": "x", "text": "hi"})
    assert response.status_code == 400 and count_events(gw) == 0
    denied = phone_page.get("/demo/sms/sendsms?username=demo&password=wrong&to=1&text=x")
    assert denied.status_code == 403
