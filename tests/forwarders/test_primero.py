"""Primero forwarder against a local server that plays Primero's v2 API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.cases.reports import Affected, Category, NewReport
from gateway.core import runtime
from gateway.core.config import ConfigError, Settings
from gateway.core.models import Case, OutboxEntry
from gateway.core.runtime import Gateway
from gateway.forwarders import build
from gateway.forwarders.primero import map_fields
from gateway.work.reporter import submit_report
from tests.conftest import KEYS
from tests.support.jobs import run_jobs


@dataclass
class PrimeroServer:
    """Tokens in the Authorization header, cases keyed by the client's UUID."""

    user: str = "gateway"
    password: str = "s3cret"
    tokens: set[str] = field(default_factory=set)
    cases: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, int]] = field(default_factory=list)
    script: list[int] = field(default_factory=list)
    token_in_body: bool = False

    def start(self) -> PrimeroServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                status, headers, answer = server.answer(self.path, self.headers, body)
                server.calls.append((self.path, status))
                data = json.dumps(answer).encode() if answer is not None else b""
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def answer(
        self, path: str, headers: Any, body: dict[str, Any]
    ) -> tuple[int, dict[str, str], Any]:
        if path == "/api/v2/tokens":
            user = body.get("user", {})
            if (user.get("user_name"), user.get("password")) != (self.user, self.password):
                return 401, {}, {"error": "Invalid User name or password."}
            token = f"jwt-{len(self.tokens) + 1}"
            self.tokens.add(token)
            if self.token_in_body:
                return 200, {}, {"user_name": self.user, "token": token}
            return 200, {"Authorization": f"Bearer {token}"}, {"user_name": self.user}
        if path == "/api/v2/cases":
            if headers.get("Authorization", "").removeprefix("Bearer ") not in self.tokens:
                return 401, {}, {"errors": [{"code": 401, "message": "Unauthorized"}]}
            if self.script:
                return self.script.pop(0), {}, None
            data = body["data"]
            if data["id"] in self.cases:
                return 409, {}, {"errors": [{"code": 409, "message": "Conflict"}]}
            self.cases[data["id"]] = data
            return 204, {}, None
        return 404, {}, None

    def expire_tokens(self) -> None:
        self.tokens.clear()


@pytest.fixture
def primero() -> Iterator[PrimeroServer]:
    server = PrimeroServer().start()
    yield server
    server.httpd.shutdown()


@pytest.fixture
def pgw(env, tmp_path, primero) -> Iterator[Gateway]:  # type: ignore[no-untyped-def]
    from gateway.forwarders import primero as module

    module._TOKENS.clear()
    settings = Settings.from_mapping(
        {
            **env,
            "FORWARDERS": "webhook,primero",
            "PRIMERO_URL": primero.url,
            "PRIMERO_USERNAME": primero.user,
            "PRIMERO_PASSWORD": primero.password,
        },
        tmp_path,
    )
    gateway = runtime.install(Gateway.from_settings(settings))
    yield gateway
    gateway.close()


def file(gw) -> int:  # type: ignore[no-untyped-def]
    report = NewReport(
        narrative="what happened",
        language="fr",
        category=Category.SEXUAL_ABUSE,
        affected=Affected.CHILD,
        danger_now=True,
        location="camp B",
    )
    return submit_report(gw, report, channel="web").case_id


def primero_entry(gw) -> OutboxEntry:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalars(select(OutboxEntry).where(OutboxEntry.target == "primero")).one()


def test_case_created_once_with_the_client_id_and_mapped_fields(pgw, primero, tracker) -> None:  # type: ignore[no-untyped-def]
    case_id = file(pgw)
    run_jobs(pgw)
    with pgw.sessions() as session:
        external_id = session.get(Case, case_id).external_id
    assert list(primero.cases) == [external_id]
    data = primero.cases[external_id]
    assert data["incident_description"] == "what happened"
    assert data["urgent_protection_concern"] is True and data["survivor_is_child"] is True
    assert (
        data["gbv_type_of_incident"] == "sexual_abuse" and data["module_id"] == "primeromodule-gbv"
    )
    assert len(data["registration_date"]) == 10
    assert primero_entry(pgw).state == "done" and len(tracker.cases) == 1


def test_retries_never_make_a_second_case(pgw, primero) -> None:  # type: ignore[no-untyped-def]
    primero.script = [503]
    file(pgw)
    run_jobs(pgw)
    assert len(primero.cases) == 1
    from sqlalchemy import update

    from gateway.work.forwarding import forward

    with pgw.sessions() as session, session.begin():  # as if the answer had been lost
        session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.target == "primero")
            .values(state="pending", attempts=0)
        )
    assert forward(primero_entry(pgw).id) == "delivered"  # 409: that id exists
    assert len(primero.cases) == 1 and primero.calls[-1] == ("/api/v2/cases", 409)


@pytest.mark.parametrize("token_in_body", [False, True])
def test_expired_token_is_refreshed(pgw, primero, token_in_body) -> None:  # type: ignore[no-untyped-def]
    primero.token_in_body = token_in_body
    file(pgw)
    run_jobs(pgw)
    primero.expire_tokens()
    file(pgw)
    run_jobs(pgw)
    assert len(primero.cases) == 2
    paths = [path for path, _ in primero.calls]
    assert paths.count("/api/v2/tokens") == 2
    assert ("/api/v2/cases", 401) in primero.calls


def test_unprocessable_case_goes_to_dead_letter_with_the_error(pgw, primero, tracker) -> None:  # type: ignore[no-untyped-def]
    primero.script = [422]
    file(pgw)
    run_jobs(pgw)
    entry = primero_entry(pgw)
    assert entry.state == "dead" and entry.last_error == "HTTP 422"
    assert len(tracker.cases) == 1, "one target down never holds back another"


def test_wrong_password_is_dead_not_retried_for_ever(pgw, primero) -> None:  # type: ignore[no-untyped-def]
    primero.password = "changed"
    file(pgw)
    run_jobs(pgw)
    entry = primero_entry(pgw)
    assert entry.state == "dead" and entry.last_error == "token: HTTP 401"


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("PRIMERO_URL", "PRIMERO_URL"),
        ("PRIMERO_USERNAME", "PRIMERO_USERNAME"),
        ("PRIMERO_PASSWORD", "PRIMERO_PASSWORD"),
    ],
)
def test_configuration_problems_are_named(tmp_path, missing, message) -> None:  # type: ignore[no-untyped-def]
    env = {
        **KEYS,
        "PRIMERO_URL": "https://primero.test",
        "PRIMERO_USERNAME": "u",
        "PRIMERO_PASSWORD": "p",
    }
    env.pop(missing)
    with pytest.raises(ConfigError, match=message):
        build("primero", Settings.from_mapping(env, tmp_path))


def test_a_bad_field_map_is_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = Path(tmp_path) / "map.json"
    path.write_text(json.dumps({"x": {"nothing": 1}}))
    env = {
        **KEYS,
        "PRIMERO_URL": "https://primero.test",
        "PRIMERO_USERNAME": "u",
        "PRIMERO_PASSWORD": "p",
        "PRIMERO_FIELD_MAP": str(path),
    }
    with pytest.raises(ConfigError, match="PRIMERO_FIELD_MAP"):
        build("primero", Settings.from_mapping(env, tmp_path))


def test_map_fields_rules() -> None:
    rules = {
        "_c": "comment",
        "a": {"value": 1},
        "b": {"from": "urgency.danger_now", "map": {"true": "high"}, "default": "normal"},
        "c": {"from": "missing"},
        "d": {"from": "received_at", "format": "date"},
    }
    payload = {"urgency": {"danger_now": False}, "received_at": "2026-11-28T10:00:00Z"}
    assert map_fields(rules, payload) == {"a": 1, "b": "normal", "d": "2026-11-28"}


def test_the_shipped_map_carries_the_allegation_fields_that_are_set() -> None:
    from gateway.forwarders.primero import DEFAULT_FIELD_MAP

    rules = json.loads(DEFAULT_FIELD_MAP.read_text())
    payload = {
        "allegation": {
            "allegation_type": "sexual_exploitation",
            "personnel_category": "unknown",
            "victim_age_group": None,
            "victims_count": 2,
            "incident_date": "2026-10",
            "incident_area": None,
            "paternity_claim": "yes",
        }
    }
    data = map_fields(rules, payload)
    assert {k: v for k, v in data.items() if k.startswith("complaint_")} == {
        "complaint_allegation_type": "sexual_exploitation",
        "complaint_personnel_category": "unknown",
        "complaint_number_of_victims": 2,
        "complaint_incident_date": "2026-10",
        "complaint_paternity_claim": "yes",
    }
