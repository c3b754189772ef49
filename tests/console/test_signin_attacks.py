"""Console sign-in as an attacker tries it: which names exist, and locking a colleague out.

- Every kind of failure answers alike (status, page, headers) and does the
  same work: one password (Argon2) check and one code (TOTP) check, counted
  by the gateway's own /metrics; the dummy hash has the real ones' parameters.
- Fifty failures for a user from one client do not stop that user signing
  in from another; from the same client the user waits, as the attacker does.
- Only wrong codes given with the right password hold an account.
- The owner is told how many attempts failed; /metrics counts them with no name.

The CPU time of the real server per kind of failure is measured in
tests/test_audit_concurrency.py.
"""

from __future__ import annotations

import re
from datetime import timedelta

import argon2
import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select, update

from gateway.console import signin, throttle
from gateway.console.users import NewUser
from gateway.core.accounts import AuditEntry, User
from gateway.core.schema import utcnow
from gateway.core.states import Role
from tests.console.conftest import Browser, make_user


def from_address(app, clock, address: str) -> Browser:  # type: ignore[no-untyped-def]
    browser = Browser(app.test_client(), clock)
    browser.client.environ_base["REMOTE_ADDR"] = address
    return browser


def counters(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        if family.name.startswith("gateway_console_signin")
        for sample in family.samples
        if sample.name.endswith("_total")
    }


PASSWORD_CHECKS = ("gateway_console_signin_checks_total", (("factor", "password"),))
CODE_CHECKS = ("gateway_console_signin_checks_total", (("factor", "code"),))
FAILURES = ("gateway_console_signin_failures_total", ())


def hold(gw, username: str, minutes: int = 60) -> None:  # type: ignore[no-untyped-def]
    """Hold an account as wrong codes with its right password would."""
    with gw.sessions() as db, db.begin():
        until = utcnow() + timedelta(minutes=minutes)
        db.execute(update(User).where(User.username == username).values(locked_until=until))


def ghost(user: NewUser, name: str = "nobody") -> NewUser:
    return NewUser(name, Role.ADMIN, "a guessed password", user.totp_secret)


# (label, how the attempt is made): every kind of refusal the sign-in can give, and success
KINDS = [
    ("unknown user", lambda b, u: b.login(ghost(u))),
    ("deactivated user", lambda b, u: b.login(u, password="x" * 16)),
    ("held account, right password and code", lambda b, u: b.login(u)),
    ("wrong password", lambda b, u: b.login(u, password="a guessed password")),
    ("wrong code", lambda b, u: b.login(u, code="000000")),
    ("letters for a code", lambda b, u: b.login(u, code="abcdef")),
    ("right password and code", lambda b, u: b.login(u)),
]


@pytest.mark.parametrize(("label", "attempt"), KINDS, ids=[k[0] for k in KINDS])
def test_every_sign_in_checks_one_hash_and_one_code(gw, app, clock, label, attempt) -> None:  # type: ignore[no-untyped-def]
    user = make_user(gw, Role.FOCAL_POINT, "lin")
    if label.startswith("deactivated"):
        with gw.sessions() as db, db.begin():
            db.execute(update(User).where(User.username == "lin").values(active=False))
    if label.startswith("held"):
        hold(gw, "lin")
    metrics = app.test_client()
    before = counters(metrics)
    answer = attempt(from_address(app, clock, "192.0.2.10"), user)
    after = counters(metrics)
    assert after[PASSWORD_CHECKS] - before.get(PASSWORD_CHECKS, 0) == 1, label
    assert after[CODE_CHECKS] - before.get(CODE_CHECKS, 0) == 1, label
    signed_in = label == "right password and code"
    assert answer.status_code == (302 if signed_in else 401), label
    assert after[FAILURES] - before.get(FAILURES, 0) == (0 if signed_in else 1), label


def test_the_dummy_hash_has_the_parameters_of_real_ones(gw) -> None:  # type: ignore[no-untyped-def]
    make_user(gw, Role.VIEWER, "mo")
    with gw.sessions() as db:
        real = db.scalars(select(User.password_hash).where(User.username == "mo")).one()
    assert argon2.extract_parameters(signin.DUMMY_HASH) == argon2.extract_parameters(real)


def normalised(response) -> tuple[int, str, dict[str, str]]:  # type: ignore[no-untyped-def]
    """Status, page and headers without what differs on every answer (form token, cookies)."""
    body = re.sub(r'name="csrf" value="[^"]+"', 'name="csrf" value=""', response.get_data(True))
    noise = {"Set-Cookie", "Content-Length", "Date"}
    return response.status_code, body, {k: v for k, v in response.headers if k not in noise}


def test_unknown_held_and_wrong_answer_alike(gw, app, clock) -> None:  # type: ignore[no-untyped-def]
    user = make_user(gw, Role.FOCAL_POINT, "nia")
    held = make_user(gw, Role.FOCAL_POINT, "ola")
    hold(gw, "ola")
    targeted = make_user(gw, Role.FOCAL_POINT, "pat")
    with gw.sessions() as db, db.begin():  # many failures from elsewhere
        db.execute(update(User).where(User.username == "pat").values(failed_logins=50))
    tries = {
        "unknown": lambda b: b.login(ghost(user)),
        "held, wrong password": lambda b: b.login(held, password="a guessed password"),
        "held, wrong code": lambda b: b.login(held, code="000000"),
        "wrong password": lambda b: b.login(user, password="a guessed password"),
        "wrong code": lambda b: b.login(user, code="000000"),
        "targeted, wrong password": lambda b: b.login(targeted, password="a guessed password"),
    }
    answers = {
        label: normalised(attempt(from_address(app, clock, f"192.0.2.{n + 20}")))
        for n, (label, attempt) in enumerate(tries.items())
    }
    first = answers["unknown"]
    assert first[0] == 401 and "Sign-in failed" in first[1]
    assert {label: a == first for label, a in answers.items()} == dict.fromkeys(tries, True)
    # Waiting after failures on one client: the same for a real name and an unknown one.
    waits = {}
    for name, who in (("real", user), ("unknown", ghost(user, "nobody2"))):
        browser = from_address(app, clock, "192.0.2.60")
        for _ in range(throttle.FREE_FAILURES + 1):
            assert browser.login(who, password="a guessed password").status_code == 401
        clock.advance(seconds=-31)  # the next attempt at the same moment as the last failure
        waits[name] = normalised(browser.login(who, password="a guessed password"))
    assert waits["real"] == waits["unknown"] and waits["real"][0] == 429
    assert waits["real"][2]["Retry-After"] == "2"


@pytest.mark.parametrize(
    ("attacker_pace", "checked"),
    [
        ("all at once", throttle.FREE_FAILURES + 1),  # then the name waits on that client
        ("waiting out every wait", throttle.MAX_FAILURES),  # then the client cap holds
    ],
)
def test_fifty_failures_from_one_client_do_not_lock_the_user_out_elsewhere(  # type: ignore[no-untyped-def]
    gw, app, clock, attacker_pace, checked
) -> None:
    victim = make_user(gw, Role.FOCAL_POINT, "quinn")
    with gw.sessions() as db, db.begin():
        db.execute(update(User).where(User.username == "quinn").values(must_change_password=False))
    attacker = from_address(app, clock, "203.0.113.66")
    statuses = []
    for _ in range(50):
        if attacker_pace == "all at once":
            clock.advance(seconds=-31)  # login() moves 31 s on: every try at one moment
        else:
            clock.advance(seconds=throttle.MAX_WAIT_SECONDS)
        statuses.append(attacker.login(victim, password="a guessed password").status_code)
    # From elsewhere the owner signs in at once, and is told of the failures.
    owner = from_address(app, clock, "198.51.100.5")
    answer = owner.login(victim)
    assert answer.status_code == 200 and "cg_console=" in answer.headers["Set-Cookie"]
    assert statuses == [401] * checked + [429] * (50 - checked), attacker_pace
    page = answer.get_data(as_text=True)
    assert f"{checked} attempts to sign in to your account failed" in page
    assert owner.get("/console/cases").status_code == 200
    # From the attacker's address the owner waits as the attacker does (429, Retry-After):
    # a few seconds after a burst; after a patient attacker, until the client's window ends.
    clock.advance(seconds=-62)  # back to the attacker's last moment
    same_client = attacker.login(victim)
    assert same_client.status_code == 429
    wait = int(same_client.headers["Retry-After"])
    if attacker_pace == "all at once":
        assert wait == throttle.wait_for(checked)
    else:
        assert 0 < wait <= throttle.WINDOW_SECONDS
        gw.redis.delete(*gw.redis.keys(throttle.KEY_PREFIX + "*"))  # the window ends
    clock.advance(seconds=wait + 31)  # and a code the owner has not used yet
    assert attacker.login(victim).status_code == 302


def test_only_wrong_codes_with_the_right_password_hold_an_account(  # type: ignore[no-untyped-def]
    gw, app, clock, signed_in
) -> None:
    user = make_user(gw, Role.FOCAL_POINT, "rae")
    for n in range(30):  # wrong passwords from many places never hold it
        from_address(app, clock, f"192.0.2.{100 + n}").login(user, password="guess")
    assert from_address(app, clock, "192.0.2.200").login(user).status_code == 200
    for n in range(signin.MAX_CODE_FAILURES):  # the password is known: wrong codes hold it
        wrong = from_address(app, clock, f"192.0.2.{140 + n}").login(user, code="000000")
        assert wrong.status_code == 401
    with gw.sessions() as db:
        row = db.scalars(select(User).where(User.username == "rae")).one()
        assert row.locked_until is not None
        held = [e.detail for e in db.scalars(select(AuditEntry)) if (e.detail or {}).get("held")]
    assert held == [{"reason": "wrong code", "held": True}]
    # Even both factors are refused now; only their holder sees why.
    refused = from_address(app, clock, "192.0.2.201").login(user)
    assert refused.status_code == 401 and "is held until" in refused.get_data(as_text=True)
    wrong = from_address(app, clock, "192.0.2.202").login(user, password="guess")
    assert "is held" not in wrong.get_data(as_text=True)
    # An administrator releases it (and would reset the password).
    admin = signed_in(Role.ADMIN, "root_admin")
    assert admin.post(f"/console/users/{row.id}/unlock").status_code == 302
    assert from_address(app, clock, "192.0.2.203").login(user).status_code == 302


def test_failed_sign_ins_are_counted_without_names(gw, app, clock) -> None:  # type: ignore[no-untyped-def]
    user = make_user(gw, Role.FOCAL_POINT, "sam_the_focal_point")
    for n in range(3):
        from_address(app, clock, f"192.0.2.{210 + n}").login(user, password="guess")
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert "gateway_console_signin_failures_total 3.0" in text
    assert "sam_the_focal_point" not in text and "192.0.2." not in text


def test_a_hold_ends_by_itself(gw, app, clock) -> None:  # type: ignore[no-untyped-def]
    user = make_user(gw, Role.FOCAL_POINT, "tia")
    hold(gw, "tia", minutes=15)
    clock.advance(minutes=16)
    assert from_address(app, clock, "192.0.2.220").login(user).status_code == 302
