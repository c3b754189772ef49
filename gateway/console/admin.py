"""Administration: users, the settings in force (never a secret's value), the audit log.

A new or reset user's one-time password and TOTP secret are shown once, in
the answer to the POST that made them (with a QR code for the authenticator
app), and are never stored in clear or shown again.
"""

from __future__ import annotations

from dataclasses import dataclass

import segno
from flask import Response, g, redirect, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from gateway.cases import audit
from gateway.console import security
from gateway.console.pages import blueprint, render, t
from gateway.console.security import allow
from gateway.console.users import NewUser, UserError, create_user, reset_credentials
from gateway.core.accounts import AuditEntry, ConsoleSession, User
from gateway.core.config import Settings
from gateway.core.i18n import _
from gateway.core.providers import Provider, installed
from gateway.core.states import Role

AUDIT_PAGE = 100
RESERVED_NAMES = {"reporter", "case-tracker", "system", "anonymous", "cli"}
# The gateway's own settings; each provider's come from its descriptor (`provider_rows`).
SECRET_SETTINGS = (
    "GATEWAY_SECRET_KEY",
    "GATEWAY_DATA_KEY",
    "GATEWAY_PSEUDONYM_KEY",
    "CASE_TRACKER_SECRET",
    "CASE_TRACKER_CALLBACK_SECRET",
    "PRIMERO_PASSWORD",
    "SMTP_URL",
)
PLAIN_SETTINGS = (
    "PUBLIC_BASE_URL",
    "CASE_NUMBER_PREFIX",
    "GATEWAY_LOCALES",
    "FORWARDERS",
    "CASE_TRACKER_URL",
    "CASE_TRACKER_STATUS_URL",
    "PRIMERO_URL",
    "ALERT_EMAIL_FROM",
    "FORWARD_RETRY_DELAYS",
    "INTAKE_TIMEOUT_SECONDS",
    "SWEEP_INTERVAL_SECONDS",
    "RETENTION_DAYS",
    "ESCALATION_HOURS",
    "RESPONSE_DUE_DAYS",
    "GATEWAY_INBOUND_RETENTION_DAYS",
    "GATEWAY_CONSOLE_IDLE_MINUTES",
    "GATEWAY_CONSOLE_SESSION_HOURS",
)


@dataclass(frozen=True)
class ProviderRow:
    """What the settings page shows of one provider: never a secret's value."""

    label: str
    routes: tuple[str, ...]
    plain: list[tuple[str, str]]  # (name, value or "")
    secret: list[tuple[str, bool]]  # (name, set)
    missing: list[str]  # required and not set: its endpoints refuse everything


def provider_row(provider: Provider, settings: Settings) -> ProviderRow:
    secrets = set(provider.secret_settings)
    listed = dict.fromkeys(provider.required_settings + provider.optional_settings)
    return ProviderRow(
        label=provider.label or provider.name,
        routes=provider.routes,
        plain=[(name, settings.get(name) or "") for name in listed if name not in secrets],
        secret=[(name, bool(settings.get(name))) for name in provider.secret_settings],
        missing=[name for name in provider.required_settings if not settings.get(name)],
    )


def provider_rows(settings: Settings) -> list[ProviderRow]:
    """Every installed provider that has a route or a setting to show."""
    return [
        provider_row(provider, settings)
        for provider in installed().providers
        if provider.routes or provider.required_settings or provider.secret_settings
    ]


def qr_svg(new: NewUser) -> Markup:
    """The authenticator enrolment link as an inline SVG QR code (about 2 KB)."""
    return Markup(segno.make(new.provisioning_uri(), error="m").svg_inline(scale=3, border=2))  # noqa: S704 - segno's own SVG


def _users() -> list[tuple[User, int]]:
    gw = security.gateway()
    with gw.sessions() as db:
        users = db.scalars(select(User).order_by(User.username)).all()
        sessions: dict[int, int] = {}
        for user_id in db.scalars(select(ConsoleSession.user_id)):
            sessions[user_id] = sessions.get(user_id, 0) + 1
    return [(u, sessions.get(u.id, 0)) for u in users]


def _credentials_page(new: NewUser, status: int = 200) -> Response:
    return render("credentials.html", status=status, new=new, qr=qr_svg(new), users=_users())


@blueprint.get("/users")
@allow(Role.ADMIN)
def users() -> Response:
    return render("users.html", users=_users(), error=None, ok=request.args.get("ok"))


@blueprint.post("/users")
@allow(Role.ADMIN)
def create() -> Response:
    gw = security.gateway()
    username = request.form.get("username", "").strip()
    if username.lower() in RESERVED_NAMES:
        return render(
            "users.html", status=400, users=_users(), error=t(_("That name is reserved.")), ok=None
        )
    try:
        with gw.sessions() as db, db.begin():
            new = create_user(
                db, gw.cipher, username, request.form.get("role", ""), g.console_user.username
            )
    except UserError as exc:
        return render("users.html", status=400, users=_users(), error=str(exc), ok=None)
    return _credentials_page(new)


@blueprint.post("/users/<int:user_id>/<action>")
@allow(Role.ADMIN)
def user_action(user_id: int, action: str) -> Response:
    """reset (new one-time password and TOTP secret), unlock, deactivate, activate."""
    gw = security.gateway()
    me = g.console_user
    with gw.sessions() as db, db.begin():
        user = db.get(User, user_id)
        if user is None or action not in ("reset", "unlock", "deactivate", "activate"):
            return redirect(url_for("console.users"))  # type: ignore[return-value]
        if action == "reset":
            new = reset_credentials(db, gw.cipher, user.username, me.username)
        elif action == "unlock":
            user.failed_logins = 0
            user.locked_until = None
            audit.record(db, me.username, "user.unlock", user.username)
        elif user.id != me.id:  # an administrator cannot lock themself out
            user.active = action == "activate"
            security.end_sessions(db, user.id)
            audit.record(db, me.username, f"user.{action}", user.username)
    if action == "reset":
        return _credentials_page(new)
    return redirect(url_for("console.users", ok=action))  # type: ignore[return-value]


@blueprint.get("/settings")
@allow(Role.ADMIN)
def settings() -> Response:
    s = security.gateway().settings
    plain = [(name, s.get(name) or "") for name in PLAIN_SETTINGS]
    secret = [(name, bool(s.get(name))) for name in SECRET_SETTINGS]
    return render(
        "settings.html",
        plain=plain,
        secret=secret,
        providers=provider_rows(s),
        database=s.database_url.split(":", 1)[0],
        redis="embedded" if s.uses_embedded_redis else "REDIS_URL",
    )


@blueprint.get("/audit")
@allow(Role.ADMIN)
def audit_log() -> Response:
    """Newest first, a page at a time; the whole chain is checked on request."""
    gw = security.gateway()
    before = request.args.get("before", "")
    with gw.sessions() as db:
        query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE)
        if before.isdigit():
            query = query.where(AuditEntry.id < int(before))
        entries = db.scalars(query).all()
        verified = audit.verify(db) if request.args.get("verify") else None
    return render("audit.html", entries=entries, verified=verified, page_size=AUDIT_PAGE)
