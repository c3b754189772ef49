"""The demo prints a console administrator with a one-time password valid for that run."""

from __future__ import annotations

from argon2 import PasswordHasher
from sqlalchemy import select

from gateway.core.accounts import User
from gateway.processes import demo_admin


def test_first_run_makes_admin_and_a_later_run_a_new_password(gw) -> None:  # type: ignore[no-untyped-def]
    first = demo_admin(gw.settings)
    second = demo_admin(gw.settings)
    assert first.username == second.username == "admin" and first.role.value == "admin"
    assert first.password != second.password
    assert first.totp_secret == second.totp_secret, "the authenticator set up once keeps working"
    with gw.sessions() as session:
        [user] = session.scalars(select(User)).all()
    assert user.must_change_password
    assert PasswordHasher().verify(user.password_hash, second.password)
