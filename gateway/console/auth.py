"""Sign-in (password and TOTP code on one form), sign-out, and the password change.

One form with three fields is one round trip on a slow link. A failure
never says which factor was wrong nor whether the user exists, and costs
the same work either way (signin.py). Failures are limited per client and
per user name on a client (throttle.py), never on the account as a whole,
so a stranger's guesses cannot lock a colleague out; the owner is told at
the next sign-in how many attempts failed meanwhile. A TOTP code is
accepted once (a code seen on a screen or over a shoulder cannot be reused).
"""

from __future__ import annotations

import math

from flask import Response, g, redirect, request, url_for

from gateway.cases import audit
from gateway.console import security, signin, signin_metrics, throttle, users
from gateway.console.pages import blueprint, fmt_time, render, t
from gateway.console.security import ALL_ROLES, SignedIn, allow, public
from gateway.console.signin import Outcome, password_ok
from gateway.console.signin_metrics import Refusal
from gateway.core.accounts import User
from gateway.core.i18n import _

MIN_PASSWORD = 12
SIGN_IN_FAILED = _("Sign-in failed. Check the user name, password and the 6-digit code.")
TOO_MANY_FAILURES = _(
    "Too many failed sign-ins from this connection. Wait up to %(n)s minutes, then try again."
)
HELD = _(
    "Someone gave your password with wrong codes %(n)s times, so this account is held"
    " until %(time)s. Change your password: ask an administrator to reset it."
)
FAILURES_NOTICE = _(
    "Since your last sign-in, %(n)s attempts to sign in to your account failed."
    " If they were not yours, tell an administrator."
)


def _refused(wait: int) -> Response:
    """429 with no check made: the same page whichever limit applies."""
    response = render(
        "login.html",
        status=429,
        error=t(TOO_MANY_FAILURES, n=max(math.ceil(wait / 60), 1)),
        expired=False,
        next=security.next_target(""),
    )
    response.headers["Retry-After"] = str(wait)
    return response


@blueprint.route("/login", methods=["GET", "POST"])
@public
def login() -> Response:
    gw = security.gateway()
    error = None
    if request.method == "GET" and g.get("console_user") is not None:
        return redirect(security.home_for(g.console_user))  # type: ignore[return-value]
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:64]
        if wait := throttle.wait_seconds(gw):
            signin_metrics.refused(gw, Refusal.CLIENT)
            return _refused(wait)
        if wait := throttle.pair_wait_seconds(gw, username, security.now().timestamp()):
            signin_metrics.refused(gw, Refusal.WAIT)
            return _refused(wait)
        result = signin.attempt(
            gw, username, request.form.get("password", ""), request.form.get("code", "")
        )
        if result.token is None:
            throttle.count_pair_failure(gw, username, security.now().timestamp())
            if throttle.count_failure(gw):
                with gw.sessions() as db, db.begin():
                    detail = {
                        "failures": throttle.MAX_FAILURES,
                        "minutes": throttle.WINDOW_SECONDS // 60,
                    }
                    audit.record(db, "anonymous", "login.throttled", None, detail)
            error = t(SIGN_IN_FAILED)
            if result.outcome is Outcome.HELD:  # only someone with both factors sees this
                until = fmt_time(result.held_until)
                error = t(HELD, n=signin.MAX_CODE_FAILURES, time=until)
        else:
            throttle.clear_pair(gw, username)
            target = security.next_target(url_for("console.index"))
            if result.failures:
                response = render(
                    "signed_in.html",
                    notice=t(FAILURES_NOTICE, n=result.failures),
                    target=target,
                )
            else:
                response = redirect(target)  # type: ignore[assignment]
            security.set_cookie(response, security.COOKIE, result.token)
            security.clear_cookie(response, security.PRE_COOKIE)
            return response
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
    if password_ok(current_hash, new):
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
            if not password_ok(row.password_hash, request.form.get("current", "")):
                error = t(_("The current password is wrong."))
            else:
                error = password_problem(
                    row.username,
                    row.password_hash,
                    request.form.get("new", ""),
                    request.form.get("repeat", ""),
                )
            if error is None:
                row.password_hash = users.HASHER.hash(request.form["new"])
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
