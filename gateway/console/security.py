"""Who is signed in to the console, what they may open, and the forms' CSRF tokens.

- The cookie `cg_console` holds a random token; the database keeps only its
  SHA-256 with the user, the session's CSRF token and two times. A session
  ends after GATEWAY_CONSOLE_IDLE_MINUTES without a request (default 30) or
  GATEWAY_CONSOLE_SESSION_HOURS after sign-in (default 12), and at once on
  sign-out, password change, credential reset or deactivation.
- Cookies are HttpOnly, SameSite=Strict, limited to /console/, and Secure
  when PUBLIC_BASE_URL is https.
- Every POST of the console carries the session's CSRF token; the sign-in
  form, before there is a session, a signed copy of a random cookie.
- Every view declares the roles that may open it (`allow`); a view without a
  declaration is refused to everyone: forgetting one fails closed.
- The clock is `now()`: tests set `CONSOLE_CLOCK` in the app config.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from flask import Response, abort, current_app, g, redirect, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete

from gateway.core.accounts import ConsoleSession, User
from gateway.core.runtime import Gateway
from gateway.core.schema import utcnow
from gateway.core.states import Role

COOKIE = "cg_console"
PRE_COOKIE = "cg_console_pre"
COOKIE_PATH = "/console/"
SEEN_RESOLUTION = timedelta(seconds=60)  # write last_seen_at at most once a minute
LOGIN_FORM_MAX_AGE = 3600
ALL_ROLES = tuple(Role)
STAFF = (Role.ADMIN, Role.FOCAL_POINT)  # who may read case content
READERS = (Role.ADMIN, Role.FOCAL_POINT, Role.VIEWER)  # who may see the statistics
FILERS = (Role.ADMIN, Role.FOCAL_POINT, Role.INTAKE)  # who may file a report they received

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class SignedIn:
    """The signed-in user as views need it (no ORM object outlives its session)."""

    id: int
    username: str
    role: Role
    must_change_password: bool
    session_id: str
    csrf: str

    @property
    def reads_cases(self) -> bool:
        return self.role in STAFF

    @property
    def reads_stats(self) -> bool:
        return self.role in READERS

    @property
    def files_reports(self) -> bool:
        return self.role in FILERS


def gateway() -> Gateway:
    return current_app.extensions["gateway"]  # type: ignore[no-any-return]


def now() -> datetime:
    """The console's clock (injectable for tests through CONSOLE_CLOCK)."""
    clock = current_app.config.get("CONSOLE_CLOCK")
    return clock() if clock is not None else utcnow()


def lifetimes(gw: Gateway) -> tuple[timedelta, timedelta]:
    """(idle limit, absolute limit) of a console session."""
    idle = int(gw.settings.get("GATEWAY_CONSOLE_IDLE_MINUTES", "30") or 30)
    absolute = int(gw.settings.get("GATEWAY_CONSOLE_SESSION_HOURS", "12") or 12)
    return timedelta(minutes=idle), timedelta(hours=absolute)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def allow(*roles: Role) -> Callable[[F], F]:
    """Declare which roles may open a view; the check runs before every request."""

    def mark(view: F) -> F:
        view._console_roles = frozenset(roles)  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """A view open without a session (the sign-in page)."""
    view._console_public = True  # type: ignore[attr-defined]
    return view


# --- sessions ----------------------------------------------------------------


def start_session(db: Any, user: User) -> str:
    """Write a new session row for `user`; the token goes into the cookie."""
    token = secrets.token_urlsafe(32)
    at = now()
    db.add(
        ConsoleSession(
            id=_digest(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(24),
            created_at=at,
            last_seen_at=at,
        )
    )
    return token


def end_sessions(db: Any, user_id: int, keep: str | None = None) -> None:
    """End a user's sessions (all, or all but `keep`)."""
    query = delete(ConsoleSession).where(ConsoleSession.user_id == user_id)
    if keep is not None:
        query = query.where(ConsoleSession.id != keep)
    db.execute(query)


def load_user() -> SignedIn | None:
    """The request's signed-in user, or None; an expired session is deleted."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    gw = gateway()
    idle, absolute = lifetimes(gw)
    at = now()
    with gw.sessions() as db, db.begin():
        row = db.get(ConsoleSession, _digest(token))
        if row is None:
            return None
        user = db.get(User, row.user_id)
        if (
            user is None
            or not user.active
            or at - row.last_seen_at > idle
            or at - row.created_at > absolute
        ):
            db.delete(row)
            g.console_expired = True
            return None
        if at - row.last_seen_at >= SEEN_RESOLUTION:
            row.last_seen_at = at
        return SignedIn(
            user.id,
            user.username,
            Role(user.role),
            user.must_change_password,
            row.id,
            row.csrf_token,
        )


def set_cookie(response: Response, name: str, value: str, max_age: int | None = None) -> None:
    settings = gateway().settings
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=bool(settings.public_base_url and settings.public_base_url.startswith("https://")),
        httponly=True,
        samesite="Strict",
    )


def clear_cookie(response: Response, name: str = COOKIE) -> None:
    response.delete_cookie(name, path=COOKIE_PATH, httponly=True, samesite="Strict")


# --- CSRF ----------------------------------------------------------------------


def _login_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(gateway().settings.secret_key, salt="console-login")


def login_form_token() -> str:
    """The sign-in form's token: a signed copy of the pre-session cookie."""
    pre = request.cookies.get(PRE_COOKIE) or g.get("console_new_pre")
    if not pre:
        pre = g.console_new_pre = secrets.token_urlsafe(16)
    return _login_serializer().dumps(pre)


def csrf_token() -> str:
    user: SignedIn | None = g.get("console_user")
    return user.csrf if user is not None else login_form_token()


def csrf_ok() -> bool:
    """Whether this POST carries the right token for its session (or the sign-in form)."""
    sent = request.form.get("csrf", "")
    if not sent:
        return False
    user: SignedIn | None = g.get("console_user")
    if user is not None:
        return hmac.compare_digest(sent, user.csrf)
    pre = request.cookies.get(PRE_COOKIE, "")
    try:
        signed = _login_serializer().loads(sent, max_age=LOGIN_FORM_MAX_AGE)
    except BadSignature:
        return False
    return bool(pre) and hmac.compare_digest(str(signed), pre)


# --- the check before every console request -------------------------------------


def _safe_next(target: str | None) -> str | None:
    """Only a path inside the console: never another site after sign-in."""
    if target and target.startswith(COOKIE_PATH) and "//" not in target and "\\" not in target:
        return target
    return None


def next_target(default: str) -> str:
    return _safe_next(request.values.get("next")) or default


def guard() -> Response | None:
    """Sign-in, password change, CSRF and role checks for the request's view."""
    view = current_app.view_functions.get(request.endpoint or "")
    g.console_user = user = load_user()
    if request.method == "POST" and not csrf_ok():
        abort(400, "csrf")
    if view is None or getattr(view, "_console_public", False):
        return None
    if user is None:
        params = {"expired": "1"} if g.get("console_expired") else {}
        if request.method == "GET":
            params["next"] = request.full_path.rstrip("?")
        return redirect(url_for("console.login", **params))
    if user.must_change_password and request.endpoint not in (
        "console.password",
        "console.logout",
    ):
        return redirect(url_for("console.password"))
    roles = getattr(view, "_console_roles", frozenset())
    if user.role not in roles:
        abort(403)
    return None


def home_for(user: SignedIn, **params: str) -> str:
    """Where a user lands: the queue for staff, the statistics for a viewer, the form for intake."""
    if user.role is Role.INTAKE:
        return url_for("console.intake", **params)
    return url_for("console.queue" if user.reads_cases else "console.stats", **params)
