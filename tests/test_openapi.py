"""docs/openapi.yaml against the app: it describes every public route, and the app keeps to it.

- The description is valid OpenAPI 3, names every public URL rule of the
  app with its methods, and nothing the app does not serve (so it cannot
  rot when a route is added or removed).
- schemathesis generates requests from it, valid and invalid ones, and
  sends them to the app in-process (WSGI) on both backends: no answer is a
  5xx, every status, content type and JSON body is one the description
  declares, and a refused request (4xx) leaves every table as it was. Where
  a provider signs or keys its requests, the right key or signature is put
  on half of the generated requests, so that the parsers behind the check
  see the generated data too (PlayingTwilio signs what the app will read).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from tests.test_hostile_input import (
    AT_KEY,
    KANNEL_KEY,
    TELEGRAM_SECRET,
    TWILIO_TOKEN,
    changed,
    count_rows,
)
from tests.test_hostile_input import env as env  # noqa: F401 - every channel configured

SPEC = Path(__file__).parents[1] / "docs" / "openapi.yaml"
SCHEMA = schemathesis.openapi.from_path(SPEC)
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
PUBLIC_BASE_URL = "http://gateway.test"  # tests/conftest.py
# Routes that are not public: behind the console's sign-in, or only under `demo`.
NOT_PUBLIC_PREFIXES = ("/console/", "/demo/")
PUBLIC_CONSOLE = {"/console/login"}
FRAMEWORK = {"/static/<path:filename>"}  # Flask's own; the gateway ships no static folder


def spec() -> dict[str, Any]:
    return yaml.safe_load(SPEC.read_text())


def openapi_path(rule: str) -> str:
    """A Flask rule as an OpenAPI path: `/a/<int:id>` → `/a/{id}`."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def public_rules(app) -> dict[str, set[str]]:  # type: ignore[no-untyped-def]
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule in FRAMEWORK:
            continue
        if rule.rule.startswith(NOT_PUBLIC_PREFIXES) and rule.rule not in PUBLIC_CONSOLE:
            continue
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        rules.setdefault(openapi_path(rule.rule), set()).update(methods)
    return rules


def test_the_description_is_valid_openapi() -> None:
    SCHEMA.validate()
    assert spec()["openapi"].startswith("3.")


def test_every_public_route_is_described_and_nothing_else(app) -> None:  # type: ignore[no-untyped-def]
    described = {
        path: {m for m in item if m in ("get", "post", "put", "patch", "delete")}
        for path, item in spec()["paths"].items()
    }
    served = public_rules(app)
    assert {"/report", "/status", "/sms/twilio", "/tracker/callback", "/healthz"} <= set(served)
    for path, methods in served.items():
        assert path in described, f"{path} is served but not in docs/openapi.yaml"
        assert methods == described[path], (path, methods, described[path])
    templates = {path: re.compile(re.sub(r"\{[^/]+\}", "[^/]+", path) + "$") for path in served}
    for path, methods in described.items():
        serving = [p for p, pattern in templates.items() if pattern.match(path)]
        assert serving, f"docs/openapi.yaml describes {path}, which the app does not serve"
        assert methods <= set().union(*(served[p] for p in serving)), (path, methods)


def test_the_hotline_steps_described_are_the_call_flows_steps() -> None:
    from channels.hotline_ivr.flow import STEPS

    parameters = spec()["paths"]["/ivr/twilio/{step}"]["post"]["parameters"]
    [step] = [p for p in parameters if p.get("name") == "step"]
    assert sorted(step["schema"]["enum"]) == sorted(STEPS)


# --- schemathesis against the app --------------------------------------------------------------


class PlayingTwilio:
    """WSGI middleware that signs each request to a Twilio URL as Twilio would, when told to.

    The signature is computed over what the app will read (the path, the
    raw query, the form werkzeug parses from the body), so any generated
    request can carry a valid one and reach the parser behind the check.
    """

    def __init__(self, app: Any) -> None:
        self.app, self.sign = app, False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.sign and environ.get("PATH_INFO", "").startswith(("/sms/twilio", "/ivr/twilio")):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            request = Request({**environ, "wsgi.input": io.BytesIO(body)})
            query = request.query_string.decode("latin-1")
            url = PUBLIC_BASE_URL + request.path + (f"?{query}" if query else "")
            try:
                form = request.form
            except Exception:  # noqa: BLE001 - too big to read: the app answers 413 itself
                form = MultiDict()
            signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
            environ = {**environ, "wsgi.input": io.BytesIO(body)}
            environ["HTTP_X_TWILIO_SIGNATURE"] = signature
        return self.app(environ, start_response)


def with_keys(case: Any) -> None:
    """The right callback key or secret token, as Africa's Talking, Kannel or Telegram send it."""
    if case.query is not None and "key" in case.query:
        path = case.operation.path
        case.query["key"] = AT_KEY if "africastalking" in path else KANNEL_KEY
    if case.operation.path == "/telegram/webhook":
        case.headers = {**(case.headers or {}), "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}


def strategy(operation: Any) -> st.SearchStrategy[Any]:
    return st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_generated_requests_get_documented_answers(app, gw, operation) -> None:  # type: ignore[no-untyped-def]
    provider = PlayingTwilio(app)
    SCHEMA.app = provider

    @settings(
        max_examples=int(os.environ.get("GATEWAY_FUZZ_EXAMPLES", "30")) // 2,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy(operation), credentials=st.booleans())
    def run(case: Any, credentials: bool) -> None:
        if credentials:
            with_keys(case)
        provider.sign = credentials
        before = count_rows(gw)
        response = case.call(app=provider)
        case.validate_response(response, checks=CHECKS)
        if 400 <= response.status_code < 500:
            delta = changed(before, count_rows(gw))
            allowed = {"audit_log"} if operation.path == "/console/login" else set()
            assert set(delta) <= allowed, (response.status_code, delta)

    run()
