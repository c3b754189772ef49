"""Sign-in (password and TOTP code on one form), sign-out, and the password change.

One form with three fields is one round trip on a slow link. A failure
never says which factor was wrong nor whether the user exists; after
MAX_FAILURES in a row the account is locked for LOCK_TIME, and a client
that fails too often across user names is refused for a while (throttle.py).
A TOTP code is accepted once (a code seen on a screen or over a shoulder
cannot be reused).
"""

from __future__ import annotations

import hmac
from datetime import timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Response, g, redirect, request, url_for
from sqlalchemy import select

from .. import audit
from ..i18n import _
from ..models import User
from . import security, throttle
from .pages import blueprint, render, t
from .security import ALL_ROLES, SignedIn, allow, public

MAX_FAILURES = 5
LOCK_TIME = timedelta(minutes=15)
MIN_PASSWORD = 12
TOTP_REPLAY_KEY = "complaint-gateway:console-totp:"
SIGN_IN_FAILED = _(
    "Sign-in failed. Check the user name, password and the 6-digit code. "
    "After 5 failures in a row the account is locked for 15 minutes."
)
TOO_MANY_FAILURES = _(
    "Too many failed sign-ins from this connection. Wait up to %(n)s minutes, then try again."
)

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def _password_ok(stored: str, given: str) -> bool:
    try:
        return _hasher.verify(stored, given)
    except (VerificationError, InvalidHashError):
        return False


def _totp_ok(user: User, code: str) -> bool:
    """The code of this 30-second step or a neighbour, not used before."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return False
    gw = security.gateway()
    totp = pyotp.TOTP(gw.cipher.decrypt(user.totp_secret_enc).decode())
    at = security.now()
    for offset in (0, -1, 1):
        if hmac.compare_digest(totp.at(at, counter_offset=offset), code):
            step = totp.timecode(at) + offset
            try:
                fresh = gw.redis.set(f"{TOTP_REPLAY_KEY}{user.id}:{step}", 1, nx=True, ex=120)
            except Exception:  # noqa: BLE001 - Redis away: a replay check is lost, not sign-in
                fresh = True
            return bool(fresh)
    return False


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> Response:
    gw = security.gateway()
    error = None
    if request.method == "GET" and g.get("console_user") is not None:
        return redirect(security.home_for(g.console_user))  # type: ignore[return-value]
    if request.method == "POST" and (wait := throttle.wait_seconds(gw)):
        response = render(
            "login.html",
            status=429,
            error=t(TOO_MANY_FAILURES, n=throttle.WINDOW_SECONDS // 60),
            expired=False,
            next=security.next_target(""),
        )
        response.headers["Retry-After"] = str(wait)
        return response
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:64]
        password = request.form.get("password", "")
        code = request.form.get("code", "")
        at = security.now()
        token = None
        with gw.sessions() as db, db.begin():
            # No user name holds a NUL, and PostgreSQL text cannot: such a name is unknown.
            query = select(User).where(User.username == username)
            user = None if "\x00" in username else db.scalars(query).first()
            if user is None or not user.active:
                _password_ok(_DUMMY_HASH, password)  # the same time as for a real user
                audit.record(db, "anonymous", "login.failed", None, {"reason": "unknown user"})
            elif user.locked_until is not None and user.locked_until > at:
                audit.record(db, user.username, "login.failed", user.username, {"reason": "locked"})
            elif not (_password_ok(user.password_hash, password) and _totp_ok(user, code)):
                user.failed_logins += 1
                detail: dict[str, object] = {"failures": user.failed_logins}
                if user.failed_logins >= MAX_FAILURES:
                    user.locked_until = at + LOCK_TIME
                    user.failed_logins = 0
                    detail["locked"] = True
                audit.record(db, user.username, "login.failed", user.username, detail)
            else:
                user.failed_logins = 0
                user.locked_until = None
                if _hasher.check_needs_rehash(user.password_hash):
                    user.password_hash = _hasher.hash(password)
                token = security.start_session(db, user)
                audit.record(db, user.username, "login.ok", user.username)
        if token is None and throttle.count_failure(gw):
            with gw.sessions() as db, db.begin():
                detail = {
                    "failures": throttle.MAX_FAILURES,
                    "minutes": throttle.WINDOW_SECONDS // 60,
                }
                audit.record(db, "anonymous", "login.throttled", None, detail)
        if token is not None:
            response = redirect(security.next_target(url_for("console.index")))
            security.set_cookie(response, security.COOKIE, token)
            security.clear_cookie(response, security.PRE_COOKIE)
            return response  # type: ignore[return-value]
        error = t(SIGN_IN_FAILED)
    expired = request.args.get("expired") == "1" or bool(g.get("console_expired"))
    return render(
        "login.html",
        status=401 if error else 200,
        error=error,
        expired=expired,
        next=security.next_target(""),
    )


@blueprint.post("/logout")
@allow(*ALL_ROLES)
def logout() -> Response:
    user: SignedIn = g.console_user
    gw = security.gateway()
    with gw.sessions() as db, db.begin():
        security.end_sessions(db, user.id)
        audit.record(db, user.username, "logout", user.username)
    response = redirect(url_for("console.login"))
    security.clear_cookie(response)
    return response  # type: ignore[return-value]


def password_problem(username: str, current_hash: str, new: str, repeat: str) -> str | None:
    """Why a new password is refused, or None."""
    if new != repeat:
        return t(_("The two new passwords differ."))
    if len(new) < MIN_PASSWORD:
        return t(_("A password has at least %(n)s characters."), n=MIN_PASSWORD)
    if username.lower() in new.lower():
        return t(_("A password must not contain the user name."))
    if _password_ok(current_hash, new):
        return t(_("Choose a password different from the one-time or old password."))
    return None


@blueprint.route("/password", methods=["GET", "POST"])
@allow(*ALL_ROLES)
def password() -> Response:
    user: SignedIn = g.console_user
    gw = security.gateway()
    error = None
    if request.method == "POST":
        with gw.sessions() as db, db.begin():
            row = db.get(User, user.id)
            assert row is not None
            if not _password_ok(row.password_hash, request.form.get("current", "")):
                error = t(_("The current password is wrong."))
            else:
                error = password_problem(
                    row.username,
                    row.password_hash,
                    request.form.get("new", ""),
                    request.form.get("repeat", ""),
                )
            if error is None:
                row.password_hash = _hasher.hash(request.form["new"])
                row.must_change_password = False
                security.end_sessions(db, row.id, keep=user.session_id)
                audit.record(db, row.username, "user.password_change", row.username)
        if error is None:
            home = security.home_for(user, ok="password")
            return redirect(home)  # type: ignore[return-value]
    return render(
        "password.html", status=400 if error else 200, error=error, forced=user.must_change_password
    )


@blueprint.get("/")
@allow(*ALL_ROLES)
def index() -> Response:
    return redirect(security.home_for(g.console_user))  # type: ignore[return-value]
