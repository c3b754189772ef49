"""Fixtures of the USSD tests: the callback key, and Africa's Talking's SMS API played locally."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.providers import ProviderAPI

KEY = "ussd-callback-key-for-tests"
FIXTURES = Path(__file__).parents[2] / "fixtures" / "africastalking_ussd"


def recorded_request() -> dict[str, str]:
    return dict(json.loads((FIXTURES / "request.json").read_text())["form"])


@pytest.fixture
def env(env: dict[str, str], provider_api: ProviderAPI) -> dict[str, str]:
    return {**env, **provider_api.settings(), "AFRICASTALKING_CALLBACK_KEY": KEY}


@dataclass
class Phone:
    """A basic phone in one USSD session: each input is sent with all the ones before it."""

    client: Any
    session_id: str
    number: str
    key: str = KEY
    inputs: list[str] = field(default_factory=list)
    screens: list[str] = field(default_factory=list)

    def request(self, text: str, key: str | None = "") -> Any:
        key = self.key if key == "" else key
        form = {**recorded_request(), "sessionId": self.session_id, "phoneNumber": self.number}
        form["text"] = text
        query = "" if key is None else f"?key={key}"
        return self.client.post(f"/ussd/africastalking{query}", data=form)

    def dial(self) -> str:
        return self._screen(self.request(""))

    def press(self, value: str) -> str:
        self.inputs.append(value)
        return self._screen(self.request("*".join(self.inputs)))

    def again(self) -> str:
        """The operator sends the last request once more."""
        return self._screen(self.request("*".join(self.inputs)))

    def _screen(self, response: Any) -> str:
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/plain"
        body = response.get_data(as_text=True)
        self.screens.append(body)
        return body


@pytest.fixture
def phone(client: Any) -> Phone:
    form = recorded_request()
    return Phone(client, form["sessionId"], form["phoneNumber"])
