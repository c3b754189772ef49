"""The console's blueprint, its checks before and after every request, and page helpers.

Pages are server-rendered, small and self-contained (inline CSS, no script,
nothing from another origin) for a slow link; none is cached, since a shared
office computer must not keep a report in its browser cache.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, g, render_template, request
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from gateway.console import security
from gateway.core import i18n
from gateway.core.i18n import _
from gateway.core.states import CaseStatus

blueprint = Blueprint("console", __name__, url_prefix="/console", template_folder="templates")

CSP = (
    "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

STATUS_LABELS = {
    CaseStatus.RECEIVED.value: _("Received"),
    CaseStatus.UNDER_REVIEW.value: _("Under review"),
    CaseStatus.IN_PROGRESS.value: _("In progress"),
    CaseStatus.REFERRED.value: _("Referred"),
    CaseStatus.CLOSED.value: _("Closed"),
}
CATEGORY_LABELS = {
    "sexual_exploitation": _("Sexual exploitation"),
    "sexual_abuse": _("Sexual abuse"),
    "other_misconduct": _("Other misconduct"),
}
AFFECTED_LABELS = {
    "self": _("The reporter"),
    "someone_else": _("Someone else"),
    "child": _("A child"),
}
CHANNEL_LABELS = {
    "web": _("Web form"),
    "sms": _("SMS"),
    "whatsapp": _("WhatsApp"),
    "telegram": _("Telegram"),
    "voice": _("Hotline"),
    "ivr": _("Hotline"),
    "in_person": _("Received by a person"),
}
RECEIVED_VIA_LABELS = {
    "in_person": _("in person"),
    "paper": _("on a paper form"),
    "phone_call_to_staff": _("by a phone call to staff"),
    "community_network": _("through a community network"),
}
ERRORS = {
    400: _("The form was out of date or incomplete. Go back, reload the page and try again."),
    403: _("Your role does not allow this page."),
    404: _("Not found."),
    409: _(
        "This case's content was erased or removed at the end of its retention period:"
        " it can no longer be changed."
    ),
}


def t(message: str, /, **values: object) -> str:
    """`message` in the console user's language."""
    return i18n.gettext(g.get("console_locale", i18n.DEFAULT_LOCALE), message, **values)


def label(table: dict[str, str], value: str | None) -> str:
    if value is None:
        return "–"
    return t(table[value]) if value in table else value


def fmt_time(value: datetime | None) -> str:
    """Date and time (UTC) the way the console user's language writes them."""
    if not value:
        return "–"
    return i18n.format_datetime(g.get("console_locale", i18n.DEFAULT_LOCALE), value)


def age(value: datetime) -> str:
    """How long ago, in the largest whole unit that fits (for triage at a glance)."""
    seconds = max(0, int((security.now() - value).total_seconds()))
    if seconds < 3600:
        return t(_("%(n)s min"), n=seconds // 60)
    if seconds < 2 * 86400:
        return t(_("%(n)s h"), n=seconds // 3600)
    return t(_("%(n)s d"), n=seconds // 86400)


def render(template: str, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(f"console/{template}", **context), status=status)
    return response


def _locale() -> str:
    offered = i18n.available_locales()
    return request.accept_languages.best_match(offered) or i18n.DEFAULT_LOCALE


@blueprint.before_request
def _before() -> Response | None:
    g.console_locale = _locale()
    return security.guard()


@blueprint.after_request
def _after(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Content-Security-Policy", CSP)
    new_pre = g.get("console_new_pre")
    if new_pre:
        security.set_cookie(response, security.PRE_COOKIE, new_pre)
    if g.get("console_expired"):
        security.clear_cookie(response)
    return response


@blueprint.errorhandler(HTTPException)
def _error(exc: HTTPException) -> Response:
    code = exc.code or 500
    message = ERRORS.get(code, exc.name)
    return render("error.html", status=code, code=code, message=t(message))


@blueprint.app_template_filter("console_time")
def _time_filter(value: datetime | None) -> str:
    return fmt_time(value)


@blueprint.context_processor
def _context() -> dict[str, Any]:
    locale = g.get("console_locale", i18n.DEFAULT_LOCALE)
    return {
        "_": t,
        "me": g.get("console_user"),
        "csrf_token": security.csrf_token,
        "csrf_field": lambda: (
            Markup('<input type="hidden" name="csrf" value="%s">') % security.csrf_token()
        ),
        "query": lambda **changes: urlencode({**request.args.to_dict(), **changes}),
        "locale": locale,
        "rtl": i18n.is_rtl(locale),
        "status_label": lambda v: label(STATUS_LABELS, v),
        "category_label": lambda v: label(CATEGORY_LABELS, v),
        "channel_label": lambda v: label(CHANNEL_LABELS, v),
        "affected_label": lambda v: label(AFFECTED_LABELS, v),
        "received_via_label": lambda v: label(RECEIVED_VIA_LABELS, v),
        "age": age,
        "number": lambda v: i18n.format_number(locale, v),
        "statuses": [s.value for s in CaseStatus],
    }
