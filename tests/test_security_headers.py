"""Security headers on every page the app serves, and the settings of every cookie it sets.

Every GET route of the URL map is requested (with made-up values for its
variables, so some answer 403 or 404: an error page needs the headers as
much as a form does), in demo mode so that the demo pages exist too. The
list comes from the app itself: a new page cannot be added without them.
"""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest
from werkzeug.routing import Rule

# Public files without any reporter's data: the browser or Twilio may cache them.
CACHEABLE_ENDPOINTS = {"static", "hotline_ivr.audio"}
SAMPLE_VALUES = {
    "token": "not-a-real-token",
    "attachment_id": "1",
    "number": "2026-000001-4",
    "user_id": "1",
    "action": "deactivate",
    "locale": "en",
    "name": "welcome.wav",
    "step": "voice",
    "filename": "nothing.css",
    "account": "AC" + "0" * 32,
}


@pytest.fixture(params=["http", "https"])
def scheme(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def env(env: dict[str, str], scheme: str) -> dict[str, str]:
    return {
        **env,
        "PUBLIC_BASE_URL": f"{scheme}://gateway.test",
        "GATEWAY_DEMO_TRACKER": "1",
        "KANNEL_CALLBACK_KEY": "made-up-headers-kannel-key",
    }


def url_for_rule(rule: Rule) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", SAMPLE_VALUES[name], path)
    return path


def get_rules(app) -> list[Rule]:  # type: ignore[no-untyped-def]
    return sorted(
        (r for r in app.url_map.iter_rules() if "GET" in (r.methods or ())), key=lambda r: r.rule
    )


def assert_secure_headers(response, endpoint: str) -> None:  # type: ignore[no-untyped-def]
    headers = response.headers
    where = f"{endpoint} ({response.status_code})"
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "no-referrer", where
    assert headers.get("X-Frame-Options") == "DENY", where
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part for part in csp.split(";") if part.strip()}
    directives = {k.strip(): v.strip() for k, v in directives.items()}
    assert directives.get("default-src") == "default-src 'none'", (where, csp)
    assert directives.get("frame-ancestors") == "frame-ancestors 'none'", (where, csp)
    assert directives.get("base-uri") == "base-uri 'none'", (where, csp)
    assert "script-src" not in directives, (where, csp)  # no page runs a script
    assert "unsafe-eval" not in csp, (where, csp)
    if endpoint not in CACHEABLE_ENDPOINTS:
        assert "no-store" in headers.get("Cache-Control", ""), where


def test_every_get_route_answers_with_the_security_headers(app, client) -> None:  # type: ignore[no-untyped-def]
    rules = get_rules(app)
    assert {"web_form.report", "web_form.status", "console.login", "health.healthz"} <= {
        r.endpoint for r in rules
    }
    for rule in rules:
        response = client.get(url_for_rule(rule))
        assert response.status_code < 500, rule.rule
        assert_secure_headers(response, rule.endpoint)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/no-such-page"),
        ("POST", "/healthz"),
        ("POST", "/sms/twilio"),
        ("POST", "/report"),
        ("POST", "/status"),
        ("POST", "/tracker/callback"),
        ("POST", "/telegram/webhook"),
    ],
)
def test_errors_and_webhook_answers_carry_them_too(client, method: str, path: str) -> None:  # type: ignore[no-untyped-def]
    response = client.open(path, method=method, data=b"x")
    assert response.status_code in (400, 403, 404, 405)
    assert_secure_headers(response, path)


def cookies_of(response) -> dict[str, dict[str, str | bool]]:  # type: ignore[no-untyped-def]
    """Each Set-Cookie of a response: name → its attributes (lower-case names)."""
    out: dict[str, dict[str, str | bool]] = {}
    for header in response.headers.getlist("Set-Cookie"):
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            flags = {k: v for k, v in morsel.items() if v}
            lowered = header.lower()
            flags["secure"] = "; secure" in lowered
            flags["httponly"] = "; httponly" in lowered
            out[name] = flags
    return out


def test_the_web_form_sets_no_cookie_at_all(client) -> None:  # type: ignore[no-untyped-def]
    for path in ("/report", "/status", "/report?lang=fr"):
        assert client.get(path).headers.getlist("Set-Cookie") == []
    assert client.post("/report", data={"narrative": "x"}).headers.getlist("Set-Cookie") == []


def test_console_cookies_are_secure_on_https_httponly_and_strict(client, scheme: str) -> None:  # type: ignore[no-untyped-def]
    cookies = cookies_of(client.get("/console/login"))
    assert cookies, "the sign-in page sets its pre-session cookie"
    for name, flags in cookies.items():
        assert flags["httponly"] is True, name
        assert str(flags.get("samesite")).lower() == "strict", name
        assert flags.get("path") == "/console/", name
        assert flags["secure"] is (scheme == "https"), name


def test_the_session_cookie_of_the_demo_pages_follows_the_app_settings(
    app, client, scheme: str
) -> None:  # type: ignore[no-untyped-def]
    assert app.config["SESSION_COOKIE_SECURE"] is (scheme == "https")
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    cookies = cookies_of(client.get("/demo/sms"))
    session = cookies[app.config["SESSION_COOKIE_NAME"]]
    assert session["httponly"] is True
    assert str(session.get("samesite")).lower() in ("lax", "strict")
    assert session["secure"] is (scheme == "https")
