"""`/demo/ussd`: the browser's USSD menu of `complaint-gateway demo`, through the real endpoint."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.core.models import Case
from gateway.core.runtime import Gateway


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "GATEWAY_DEMO_TRACKER": "1"}


def screen(page: Any) -> str:
    found = re.search(r'<div class="screen" role="status">(.*?)</div>', page, re.S)
    return html.unescape(found.group(1)) if found else ""


def act(client: Any, action: str, text: str = "") -> str:
    page = client.get("/demo/ussd").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]*)"', page)
    form = {"action": action, "text": text, "csrf": csrf.group(1) if csrf else ""}
    answer = client.post("/demo/ussd", data=form)
    assert answer.status_code == 302
    return screen(client.get("/demo/ussd").get_data(as_text=True))


def test_the_demo_walks_a_report_to_its_case_number(gw: Gateway, client: Any) -> None:
    assert act(client, "dial").startswith("1 English")
    for value in ("1", "1", "1", "2", "2"):
        act(client, "send", value)
    assert "1 Add more" in act(client, "send", "Demo statement * with a star")
    assert "who did it" in act(client, "send", "2")
    last = act(client, "send", "0")
    assert re.search(r"Case number: \d{4}-\d{6}-\d\nPIN: \d{3} \d{3}", last)
    page = client.get("/demo/ussd").get_data(as_text=True)
    assert 'name="text"' not in page  # the session ended: nothing more to type
    with gw.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_a_forged_form_is_refused(client: Any) -> None:
    act(client, "dial")
    assert client.post("/demo/ussd", data={"action": "send", "text": "1"}).status_code == 400


def test_hanging_up_ends_the_session(client: Any) -> None:
    act(client, "dial")
    assert act(client, "hang_up") == ""
    assert "Dial *384*123#" in client.get("/demo/ussd").get_data(as_text=True)


def test_outside_the_demo_the_page_does_not_exist(gw: Gateway, app: Any) -> None:
    gw.settings.raw.pop("GATEWAY_DEMO_TRACKER")  # type: ignore[attr-defined]
    assert app.test_client().get("/demo/ussd").status_code == 404
