"""Users made by an administrator in the console, credential resets and the settings view."""

from __future__ import annotations

import re

import pyotp
from sqlalchemy import select

from gateway.console.admin import provider_row
from gateway.console.users import NewUser
from gateway.core.accounts import User
from gateway.core.config import Settings
from gateway.core.providers import installed
from gateway.core.states import Role
from tests.console.conftest import Browser


def credentials(html: str) -> tuple[str, str]:
    password = re.search(r"One-time password</dt><dd><code>([^<]+)</code>", html).group(1)
    secret = re.search(r"Authenticator secret</dt><dd><code>([A-Z2-7]+)</code>", html).group(1)
    return password, secret


def test_admin_creates_a_user_who_signs_in_with_what_was_shown(gw, app, clock, signed_in) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN, "boss")
    response = admin.post("/console/users", username="nour", role="focal_point")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<svg" in html, "a QR code for the authenticator"
    password, secret = credentials(html)
    assert response.headers["Cache-Control"] == "no-store"
    with gw.sessions() as session:
        row = session.scalars(select(User).where(User.username == "nour")).one()
        assert row.role == "focal_point" and row.must_change_password
        assert password not in row.password_hash and secret.encode() not in row.totp_secret_enc
    assert "One-time password" not in admin.get("/console/users").get_data(as_text=True)
    newcomer = Browser(app.test_client(), clock)
    assert newcomer.login(NewUser("nour", Role.FOCAL_POINT, password, secret)).status_code == 302
    again = admin.post("/console/users", username="nour", role="viewer")
    assert again.status_code == 400 and "exists already" in again.get_data(as_text=True)
    assert admin.post("/console/users", username="reporter", role="viewer").status_code == 400


def test_reset_gives_new_credentials_and_ends_sessions(gw, app, clock, signed_in) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN, "boss")
    focal = signed_in(Role.FOCAL_POINT, "omar")
    with gw.sessions() as session:
        omar = session.scalars(select(User).where(User.username == "omar")).one()
    html = admin.post(f"/console/users/{omar.id}/reset").get_data(as_text=True)
    password, secret = credentials(html)
    assert focal.get("/console/cases").status_code == 302, "signed out by the reset"
    fresh = Browser(app.test_client(), clock)
    assert fresh.login(NewUser("omar", Role.FOCAL_POINT, password, secret)).status_code == 302
    assert fresh.get("/console/cases").headers["Location"].endswith("/console/password")
    assert pyotp.TOTP(secret).now()


def test_deactivated_user_is_signed_out_and_cannot_sign_in(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    admin = signed_in(Role.ADMIN, "boss")
    viewer = signed_in(Role.VIEWER, "pat")
    with gw.sessions() as session:
        pat = session.scalars(select(User).where(User.username == "pat")).one()
        boss = session.scalars(select(User).where(User.username == "boss")).one()
    admin.post(f"/console/users/{pat.id}/deactivate")
    assert viewer.get("/console/stats").status_code == 302
    admin.post(f"/console/users/{boss.id}/deactivate")
    assert admin.get("/console/users").status_code == 200, "an admin cannot lock themself out"


def test_settings_never_show_a_secret(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    html = signed_in(Role.ADMIN).get("/console/settings").get_data(as_text=True)
    assert "CASE_TRACKER_URL" in html and gw.settings.case_tracker_url in html
    for secret in (gw.settings.data_key, gw.settings.secret_key, gw.settings.case_tracker_secret):
        assert secret not in html


def test_settings_show_each_provider_from_its_descriptor(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    html = signed_in(Role.ADMIN).get("/console/settings").get_data(as_text=True)
    for label, route in (("Twilio Messaging", "/sms/twilio/status"), ("Kannel", "/sms/kannel/dlr")):
        assert label in html and route in html
    assert "TELEGRAM_WEBHOOK_SECRET" in html and "KANNEL_CALLBACK_KEY" in html


def test_a_provider_secret_is_shown_only_as_set(env, tmp_path) -> None:  # type: ignore[no-untyped-def]
    token = "twilio-token-never-shown"  # noqa: S105 - a test value
    settings = Settings.from_mapping({**env, "TWILIO_AUTH_TOKEN": token}, tmp_path)
    twilio = installed().provider("twilio")
    assert twilio is not None
    row = provider_row(twilio, settings)
    assert ("TWILIO_AUTH_TOKEN", True) in row.secret
    assert token not in repr(row)
    assert row.missing == ["TWILIO_ACCOUNT_SID"]
