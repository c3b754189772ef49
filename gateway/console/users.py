"""Console users: Argon2 password hashes and a TOTP second factor for everyone."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pyotp
from argon2 import PasswordHasher
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gateway.cases import audit
from gateway.core.accounts import ConsoleSession, User
from gateway.core.privacy import Cipher
from gateway.core.states import Role

# One hasher for every console password, and for the sign-in's dummy hash: the
# same Argon2 parameters, so checking an unknown user costs what a real one does.
HASHER = PasswordHasher()


class UserError(ValueError):
    pass


@dataclass(frozen=True)
class NewUser:
    username: str
    role: Role
    password: str
    totp_secret: str

    def provisioning_uri(self, issuer: str = "Complaint gateway") -> str:
        return pyotp.TOTP(self.totp_secret).provisioning_uri(name=self.username, issuer_name=issuer)


def create_user(
    session: Session, cipher: Cipher, username: str, role: str, actor: str = "cli"
) -> NewUser:
    """Make a user with a one-time password (to change at first sign-in)."""
    username = username.strip()
    if (
        not username
        or len(username) > 64
        or not username.replace("_", "").replace(".", "").isalnum()
    ):
        raise UserError("a username is 1-64 letters, digits, '.' or '_'")
    try:
        role_value = Role(role)
    except ValueError:
        raise UserError(f"role must be one of: {', '.join(r.value for r in Role)}") from None
    if session.scalars(select(User).where(User.username == username)).first():
        raise UserError(f"user {username!r} exists already")
    password = secrets.token_urlsafe(12)
    totp_secret = pyotp.random_base32()
    session.add(
        User(
            username=username,
            role=role_value.value,
            password_hash=HASHER.hash(password),
            totp_secret_enc=cipher.encrypt(totp_secret.encode()),
            must_change_password=True,
        )
    )
    audit.record(session, actor, "user.create", username, {"role": role_value.value})
    return NewUser(username, role_value, password, totp_secret)


def reset_credentials(
    session: Session, cipher: Cipher, username: str, actor: str, new_totp: bool = True
) -> NewUser:
    """A new one-time password (and TOTP secret unless `new_totp` is False) for a user.

    For a user who forgot a password or lost the phone with the authenticator;
    it releases a held account and ends the user's console sessions.
    """
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise UserError(f"no user {username!r}")
    password = secrets.token_urlsafe(12)
    if new_totp:
        totp_secret = pyotp.random_base32()
        user.totp_secret_enc = cipher.encrypt(totp_secret.encode())
    else:
        totp_secret = cipher.decrypt(user.totp_secret_enc).decode()
    user.password_hash = HASHER.hash(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))
    audit.record(session, actor, "user.reset", username, {"new_totp": new_totp})
    return NewUser(username, Role(user.role), password, totp_secret)
