"""Primero (UNICEF's case management for child protection and GBV), v2 REST API.

https://github.com/primeroIMS/primero/tree/develop/doc/api — `POST /api/v2/tokens`
with `{"user": {"user_name", "password"}}` answers the JWT in its Authorization
header (newer versions also as `token` in the body); `POST /api/v2/cases` with
`{"data": {...}}` whose `id` is a UUID the gateway makes once per case, so a
retry can never make a second case: 200/204 delivered, 409 (that id exists)
delivered too. A 401 means the token expired: get a new one and try once more.

Which Primero fields get what is a mapping file (PRIMERO_FIELD_MAP; the
default, primero_field_map.json beside this module, names the fields of a
standard GBV module and must be checked against the mission's form set-up).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.core import tls
from gateway.core.config import ConfigError, Settings
from gateway.forwarders.base import Delivery, Outcome, Result, classify_http

DEFAULT_FIELD_MAP = Path(__file__).with_name("primero_field_map.json")
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def _lookup(payload: dict[str, Any], dotted: str) -> Any:
    value: Any = payload
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def map_fields(field_map: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """Primero's `data` from the gateway's case JSON, by the mapping file's rules.

    A rule is `{"value": constant}` or `{"from": "dotted.path"}` with optional
    `"map"` (value translation, keys as JSON text: "true", "child"), `"default"`
    and `"format": "date"` (the date part of an ISO time).
    """
    data: dict[str, Any] = {}
    for target, rule in field_map.items():
        if target.startswith("_"):
            continue  # comments
        if "value" in rule:
            data[target] = rule["value"]
            continue
        value = _lookup(payload, rule["from"])
        if "map" in rule:
            key = json.dumps(value) if not isinstance(value, str) else value
            value = rule["map"].get(key, rule.get("default"))
        if value is None:
            value = rule.get("default")
        if value is not None and rule.get("format") == "date":
            value = str(value)[:10]
        if value is not None:
            data[target] = value
    return data


@dataclass
class PrimeroForwarder:
    url: str
    username: str
    password: str
    field_map: dict[str, Any]
    name: str = "primero"
    # One token per process and site, shared by the forwarders built for each attempt.
    _tokens: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> PrimeroForwarder:
        url = settings.get("PRIMERO_URL")
        if not url:
            raise ConfigError("PRIMERO_URL is not set but FORWARDERS includes primero")
        if not url.startswith(("https://", "http://")):
            raise ConfigError(f"PRIMERO_URL must be an http(s) URL, got {url!r}")
        for name in ("PRIMERO_USERNAME", "PRIMERO_PASSWORD"):
            if not settings.get(name):
                raise ConfigError(f"{name} is not set but FORWARDERS includes primero")
        map_path = Path(settings.get("PRIMERO_FIELD_MAP") or DEFAULT_FIELD_MAP)
        try:
            field_map = json.loads(map_path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"PRIMERO_FIELD_MAP {map_path} cannot be read: {exc}") from None
        for target, rule in field_map.items():
            if not target.startswith("_") and not ("value" in rule or "from" in rule):
                raise ConfigError(f"PRIMERO_FIELD_MAP rule for {target!r} needs 'value' or 'from'")
        return cls(
            url=url.rstrip("/"),
            username=str(settings.get("PRIMERO_USERNAME")),
            password=str(settings.get("PRIMERO_PASSWORD")),
            field_map=field_map,
            _tokens=_TOKENS,
        )

    def _new_token(self, client: httpx.Client) -> str | Result:
        response = client.post(
            f"{self.url}/api/v2/tokens",
            json={"user": {"user_name": self.username, "password": self.password}},
        )
        if response.status_code != 200:
            outcome = Outcome.RETRY if response.status_code >= 500 else Outcome.DEAD
            return Result(outcome, response.status_code, f"token: HTTP {response.status_code}")
        header = response.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip()
        if not token:
            try:
                token = str(response.json().get("token") or "")
            except ValueError:
                token = ""
        if not token:
            return Result(Outcome.RETRY, 200, "token: no token in the answer")
        with _LOCK:
            self._tokens[self.url] = token
        return token

    def deliver(self, delivery: Delivery) -> Result:
        if delivery.kind != "case":
            return Result(Outcome.DELIVERED, None, None)  # Primero is not told of status events
        data = map_fields(self.field_map, delivery.payload)
        data["id"] = delivery.external_id
        try:
            with httpx.Client(timeout=TIMEOUT, verify=tls.context()) as client:
                for fresh in (False, True):
                    token = None if fresh else self._tokens.get(self.url)
                    if token is None:
                        got = self._new_token(client)
                        if isinstance(got, Result):
                            return got
                        token = got
                    response = client.post(
                        f"{self.url}/api/v2/cases",
                        json={"data": data},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                    if response.status_code != 401:
                        break
        except httpx.HTTPError as exc:
            return Result(Outcome.RETRY, None, f"{type(exc).__name__}: network error")
        outcome = classify_http(response.status_code)
        error = None if outcome is Outcome.DELIVERED else f"HTTP {response.status_code}"
        return Result(outcome, response.status_code, error)


_TOKENS: dict[str, str] = {}
_LOCK = threading.Lock()
