"""Sign-in with password and TOTP, lockout, forced password change, session expiry, CSRF."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from gateway.core.accounts import AuditEntry, ConsoleSession, User
from gateway.core.states import Role
from tests.console.conftest import NEW_PASSWORD, Browser, csrf_of, make_user


def actions(gw) -> list[tuple[str, str | None]]:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return [(e.action, e.target) for e in session.scalars(select(AuditEntry))]


def user_row(gw, username: str) -> User:  # type: ignore[no-untyped-def]
    with gw.sessions() as session:
        return session.scalars(select(User).where(User.username == username)).one()


def test_password_and_totp_sign_in_then_forced_password_change(gw, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    user = make_user(gw, Role.FOCAL_POINT, "amina")
    response = browser.login(user)
    assert response.status_code == 302
    assert "HttpOnly" in response.headers["Set-Cookie"]
    # The one-time password must be replaced before anything else opens.
    queue = browser.get("/console/cases")
    assert queue.status_code == 302 and queue.headers["Location"].endswith("/console/password")
    page = browser.get("/console/password")
    assert "first sign-in" in page.get_data(as_text=True)
    browser.token = csrf_of(page.get_data(as_text=True))
    too_short = browser.post(
        "/console/password", current=user.password, new="short", repeat="short"
    )
    assert too_short.status_code == 400
    changed = browser.post(
        "/console/password", current=user.password, new=NEW_PASSWORD, repeat=NEW_PASSWORD
    )
    assert changed.status_code == 302
    assert browser.get("/console/cases").status_code == 200
    assert not user_row(gw, "amina").must_change_password
    assert ("login.ok", "amina") in actions(gw)
    assert ("user.password_change", "amina") in actions(gw)
    # The one-time password no longer signs in; the new one does.
    other = Browser(browser.client.application.test_client(), browser.clock)
    assert other.login(user).status_code == 401
    # The owner is told of the failed attempt at the next sign-in.
    told = other.login(user, password=NEW_PASSWORD)
    assert told.status_code == 200 and "cg_console=" in told.headers["Set-Cookie"]
    assert "1 attempts to sign in to your account failed" in told.get_data(as_text=True)
    assert user_row(gw, "amina").failed_logins == 0


@pytest.mark.parametrize(
    ("label", "password", "code"),
    [
        ("wrong code", None, "000000"),
        ("code of an hour ago", None, "old"),
        ("letters for a code", None, "abcdef"),
        ("wrong password", "not the password", None),
        ("no code", None, ""),
    ],
)
def test_a_wrong_factor_is_refused_and_counted(gw, browser: Browser, label, password, code) -> None:  # type: ignore[no-untyped-def]
    import pyotp

    user = make_user(gw, Role.ADMIN, "bea")
    if code == "old":
        code = pyotp.TOTP(user.totp_secret).at(browser.clock.now.timestamp() - 3600)
    response = browser.login(user, password=password, code=code)
    assert response.status_code == 401, label
    assert "Sign-in failed" in response.get_data(as_text=True)
    assert (
        "Set-Cookie" not in response.headers or "cg_console=" not in response.headers["Set-Cookie"]
    )
    assert user_row(gw, "bea").failed_logins == 1
    assert ("login.failed", "bea") in actions(gw)
    with gw.sessions() as session:
        assert session.scalars(select(ConsoleSession)).first() is None


def test_a_totp_code_is_accepted_once(gw, browser: Browser, app) -> None:  # type: ignore[no-untyped-def]
    user = make_user(gw, Role.VIEWER, "carla")
    code = browser.code(user)
    browser.clock.advance(seconds=-31)  # login() moves 31 s on: the same step as `code`
    assert browser.login(user, code=code).status_code == 302
    again = Browser(app.test_client(), browser.clock)
    browser.clock.advance(seconds=-31)
    assert again.login(user, code=code).status_code == 401


def test_unknown_user_gets_the_same_answer(gw, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    user = make_user(gw, Role.ADMIN, "dora")
    ghost = type(user)("nobody", Role.ADMIN, "x" * 16, user.totp_secret)
    response = browser.login(ghost)
    assert response.status_code == 401 and "Sign-in failed" in response.get_data(as_text=True)
    assert ("login.failed", None) in actions(gw)


@pytest.mark.parametrize(
    ("label", "steps"),
    [
        ("idle for 31 minutes", [31]),
        ("busy but signed in for over 12 hours", [25] * 28 + [25]),
    ],
)
def test_sessions_expire(gw, signed_in, label, steps) -> None:  # type: ignore[no-untyped-def]
    focal = signed_in(Role.FOCAL_POINT)
    for minutes in steps[:-1]:
        focal.clock.advance(minutes=minutes)
        assert focal.get("/console/cases").status_code == 200, label
    focal.clock.advance(minutes=steps[-1])
    response = focal.get("/console/cases")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]
    with gw.sessions() as session:
        assert session.scalars(select(ConsoleSession)).first() is None
    page = focal.get(response.headers["Location"])
    assert "session ended" in page.get_data(as_text=True)


def test_sign_out_ends_the_session(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    focal = signed_in(Role.FOCAL_POINT)
    cookie = focal.client.get_cookie("cg_console", path="/console/")
    assert cookie is not None
    assert focal.post("/console/logout").status_code == 302
    focal.client.set_cookie("cg_console", cookie.value, path="/console/")
    assert focal.get("/console/cases").status_code == 302
    assert ("logout", "focal_point_user") in actions(gw)


def test_csrf_is_refused_without_the_token(gw, signed_in, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    from gateway.cases.reports import NewReport
    from gateway.work.reporter import submit_report

    receipt = submit_report(gw, NewReport(narrative="x", language="en"), channel="web")
    focal = signed_in(Role.FOCAL_POINT)
    path = f"/console/cases/{receipt.case_number}/note"
    assert focal.client.post(path, data={"note": "n"}).status_code == 400
    assert focal.client.post(path, data={"note": "n", "csrf": "forged"}).status_code == 400
    assert focal.client.post("/console/logout").status_code == 400
    assert focal.get("/console/cases").status_code == 200, "still signed in"
    assert focal.post(path, note="n").status_code == 302
    with gw.sessions() as session:
        assert [e.action for e in session.scalars(select(AuditEntry))].count("case.note") == 1
    # The sign-in form is protected too: no token, or a token without its cookie.
    user = make_user(gw, Role.ADMIN, "gil")
    form = {"username": user.username, "password": user.password, "code": browser.code(user)}
    assert browser.client.post("/console/login", data=form).status_code == 400
    token = csrf_of(browser.get("/console/login").get_data(as_text=True))
    stranger = browser.client.application.test_client()
    assert stranger.post("/console/login", data={**form, "csrf": token}).status_code == 400


def test_cookies_are_strict_and_secure_behind_https(env, tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from gateway.app import create_app
    from gateway.core import runtime
    from gateway.core.config import Settings
    from gateway.core.runtime import Gateway

    settings = Settings.from_mapping({**env, "PUBLIC_BASE_URL": "https://gw.example"}, tmp_path)
    gw = Gateway.from_settings(settings)
    try:
        app = create_app(gateway=gw)
        app.config["CONSOLE_CLOCK"] = clock
        user = make_user(gw, Role.VIEWER, "hal")
        response = Browser(app.test_client(), clock).login(user)
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert "Path=/console/" in cookie
    finally:
        runtime.uninstall()
        gw.close()


def test_sign_in_returns_only_to_a_console_page(gw, browser: Browser) -> None:  # type: ignore[no-untyped-def]
    user = make_user(gw, Role.ADMIN, "ida")
    response = browser.login(user, next="//evil.example/x")
    assert response.headers["Location"] == "/console/"
    user2 = make_user(gw, Role.ADMIN, "jo")
    response = browser.client.application.test_client()
    b2 = Browser(response, browser.clock)
    answer = b2.login(user2, next="/console/stats?weeks=4")
    assert answer.headers["Location"] == "/console/stats?weeks=4"


def test_one_client_trying_many_user_names_is_refused_for_a_while(
    gw, app, browser: Browser
) -> None:  # type: ignore[no-untyped-def]
    from gateway.console import throttle

    real = make_user(gw, Role.FOCAL_POINT, "kai")
    for n in range(throttle.MAX_FAILURES):
        ghost = type(real)(f"guess{n}", Role.ADMIN, "a guessed password", real.totp_secret)
        assert browser.login(ghost).status_code == 401
    # Now even the right password and code of a real user get no answer from this client...
    refused = browser.login(real)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429 and "Too many failed sign-ins" in page
    assert 0 < int(refused.headers["Retry-After"]) <= throttle.WINDOW_SECONDS
    assert "cg_console=" not in refused.headers.get("Set-Cookie", "")
    assert user_row(gw, "kai").failed_logins == 0, "the password was not even checked"
    # ...while another client (another address) signs the same user in.
    elsewhere = Browser(app.test_client(), browser.clock)
    elsewhere.client.environ_base["REMOTE_ADDR"] = "192.0.2.77"
    assert elsewhere.login(real).status_code == 302
    assert [a for a in actions(gw) if a[0] == "login.throttled"] == [("login.throttled", None)]
    # Redis holds a keyed hash of the address with an expiry, never the address.
    keys = [k.decode() for k in gw.redis.keys(throttle.KEY_PREFIX + "*")]
    expected = throttle.KEY_PREFIX + gw.pseudonyms.digest("console-signin-client", "127.0.0.1")
    assert keys == [expected]
    assert 0 < gw.redis.ttl(expected) <= throttle.WINDOW_SECONDS
    assert not [k for k in gw.redis.keys("*") if b"127.0.0.1" in k or b"192.0.2.77" in k]
    # When the counter expires the client may try again.
    gw.redis.delete(expected)
    assert browser.login(real).status_code == 302
