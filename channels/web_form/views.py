"""`GET/POST /report` and `GET/POST /status`: the low-bandwidth web form (contract).

Every page is server-rendered, works without JavaScript, sets no cookie and
is never cached. A report is filed with `gateway.work.reporter.submit_report`
before the receipt is shown; when that fails the form comes back with the
text as typed and says that nothing was saved, so no report is lost
silently. No IP address is stored or logged: rate limits and status
look-ups see it only through a keyed hash.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime

from flask import Blueprint, Response, request, url_for
from werkzeug.exceptions import HTTPException

from gateway.cases import mailbox
from gateway.cases.filing import Receipt
from gateway.cases.lookup import Answer
from gateway.cases.mailbox import StatusView
from gateway.cases.media import UnsupportedMedia
from gateway.cases.numbering import CaseNumber, new_pin
from gateway.core.i18n import _
from gateway.core.runtime import Gateway
from gateway.intake.form_files import BAD_FILE, FormError, read_files
from gateway.work import reporter

from . import guard
from .form import HONEYPOT, Posted, build_report
from .guard import Limit, TokenExpired, TokenInvalid
from .help import area_of
from .help import block as help_block
from .pages import choose_locale, gateway, locale, render, t

log = logging.getLogger(__name__)
blueprint = Blueprint("web_form", __name__)

MAX_MESSAGES_SHOWN = 20
REPLY_LIMIT = Limit("web-reply", 30, 3600)

STATUS_TEXT = {
    "received": (_("Received"), _("The team has your report. They will read it soon.")),
    "under_review": (_("Being looked at"), _("The team is reading your report.")),
    "in_progress": (_("In progress"), _("The team is working on your case.")),
    "referred": (
        _("Passed to a service that can help"),
        _("The team gave your case to a service that can help."),
    ),
    "closed": (_("Closed"), _("The work on this case has ended.")),
}
EXPIRED = _("This page was open for a long time. Please check it and press the button again.")
NOT_SAVED = _("We could not save your report just now. Please wait a minute and send it again.")
TOO_MANY_REPORTS = _("Too many reports were sent from this connection. Please try again later.")
WRONG = _("We could not open a report with this case number and PIN. Please check them.")
LOCKED = _("Too many tries. For your safety, please wait 30 minutes and try again.")
MISSING = _("Please type the case number and the PIN.")
CASE_CLOSED_FOR_SAFETY = _(
    "For your safety, this page closes after 15 minutes. Type your case number and PIN again."
)
SENT = _("Your message was sent.")
EMPTY_MESSAGE = _("Please write your message.")
NOT_SENT = _("Your message could not be sent. Please try again.")
TOO_MANY_MESSAGES = _("Too many messages from this connection. Please try again later.")
TITLE_FORM = _("Report abuse")
TITLE_PROBLEM = _("Nothing was sent")
TITLE_RECEIPT = _("Your report was received")
TITLE_LOOKUP = _("Check your report")
TITLE_CASE = _("Your report")
PROBLEMS = {
    400: _("This page is too old, or it was not sent from our form. Nothing was saved."),
    403: _("This form was sent from another website. Nothing was saved."),
    413: _("The files are too big. Nothing was saved. Send smaller files, or no files."),
    503: _("Something went wrong on our side. Nothing was saved. Please try again later."),
}


def report_limit(gw: Gateway) -> Limit:
    """Reports per client per hour; GATEWAY_WEB_REPORTS_PER_HOUR (behind Tor all share one)."""
    return Limit("web-report", int(gw.settings.get("GATEWAY_WEB_REPORTS_PER_HOUR") or 20), 3600)


@blueprint.before_request
def _locale() -> None:
    choose_locale()


@blueprint.after_request
def _headers(response: Response) -> Response:
    return guard.secure_headers(response)


@blueprint.errorhandler(400)
@blueprint.errorhandler(403)
@blueprint.errorhandler(413)
def _problem_page(error: HTTPException) -> Response:
    return problem(error.code or 400)


@blueprint.errorhandler(Exception)
def _unexpected(error: Exception) -> Response | HTTPException:
    """Anything unexpected: a calm page, the error's type in the log, never its text."""
    if isinstance(error, HTTPException):
        return error
    log.error("web form error: %s", type(error).__name__)
    return problem(503)


def problem(status: int) -> Response:
    """A short page that says what went wrong and that nothing was saved."""
    message = PROBLEMS.get(status, PROBLEMS[400])
    return render("problem.html", status, title=t(TITLE_PROBLEM), message=t(message))


# --- /report ------------------------------------------------------------


def report_form(
    posted: Posted | None = None, error: str | None = None, status: int = 200, **values: object
) -> Response:
    gw = gateway()
    return render(
        "report.html",
        status,
        title=t(TITLE_FORM),
        posted=posted or Posted(),
        error=t(error, **values) if error else None,
        token=guard.make_token(gw, "report"),
        honeypot=HONEYPOT,
        max_mb=max(1, gw.settings.max_upload_bytes // (1024 * 1024)),
    )


def receipt_page(receipt: Receipt, danger: bool = False, area: str = "") -> Response:
    """Case number and PIN, and the help that fits (first when someone is in danger).

    `area` is the directory's area the reporter's place named (never what
    they typed): it and the danger flag ride in the language form's token.
    """
    gw = gateway()
    shown = {"d": 1} if danger else {}
    token = guard.make_token(gw, "receipt", c=receipt.case_number, p=receipt.pin, a=area, **shown)
    return render(
        "receipt.html",
        title=t(TITLE_RECEIPT),
        help=help_block(gw, area),
        help_first=danger,
        case_number=receipt.case_number,
        pin=receipt.pin,
        sms_number=gw.settings.get("GATEWAY_PUBLIC_SMS_NUMBER"),
        phone_number=gw.settings.get("GATEWAY_PUBLIC_PHONE_NUMBER"),
        lang_form={"action": url_for("web_form.report"), "hidden": [("receipt", token)]},
    )


def decoy_receipt(gw: Gateway) -> Receipt:
    """What a bot that filled the honeypot is shown: looks real, names no case."""
    number = CaseNumber(datetime.now(UTC).year, secrets.randbelow(900_000) + 1000)
    return Receipt(0, number.display(), new_pin())


@blueprint.route("/report", methods=["GET", "POST"])
def report() -> Response:
    gw = gateway()
    if request.method == "GET":
        return report_form()
    if guard.cross_site(gw):
        return problem(403)
    form = request.form
    if "receipt" in form:  # a language chosen on the receipt page
        try:
            shown = guard.read_token(gw, "receipt", form["receipt"], guard.RECEIPT_TOKEN_MAX_AGE)
        except (TokenExpired, TokenInvalid):
            return report_form()
        receipt = Receipt(0, str(shown["c"]), str(shown["p"]))
        return receipt_page(receipt, bool(shown.get("d")), str(shown.get("a") or ""))
    posted = Posted.read(form)
    try:
        token = guard.read_token(gw, "report", form.get("token"), guard.FORM_TOKEN_MAX_AGE)
    except TokenExpired:
        return report_form(posted, EXPIRED, 400)
    except TokenInvalid:
        return problem(400)
    if guard.over_limit(gw, report_limit(gw), guard.client_address(gw)):
        return report_form(posted, TOO_MANY_REPORTS, 429)
    if form.get(HONEYPOT):
        return receipt_page(decoy_receipt(gw))
    try:
        attachments = read_files(request.files.getlist("files"), gw.settings.max_upload_bytes)
        new_report = build_report(posted, attachments, locale())
    except FormError as exc:
        return report_form(posted, exc.message, exc.status, **exc.values)
    return file_once(gw, str(token["n"]), posted, new_report)


def file_once(gw: Gateway, nonce: str, posted: Posted, new_report: object) -> Response:
    """File the report unless this very form was filed a moment ago (double tap, resend)."""
    earlier = guard.claim_submission(gw, nonce)
    if isinstance(earlier, Receipt):
        return receipt_page(earlier)
    try:
        receipt = reporter.submit_report(gw, new_report, channel="web")  # type: ignore[arg-type]
    except UnsupportedMedia:
        guard.remember_submission(gw, nonce, None)
        return report_form(posted, BAD_FILE, 415)
    except Exception as exc:  # noqa: BLE001 - say so and keep the text; never a 500
        guard.remember_submission(gw, nonce, None)
        log.error("web report not filed: %s", type(exc).__name__)
        return report_form(posted, NOT_SAVED, 503)
    guard.remember_submission(gw, nonce, receipt)
    danger = bool(getattr(new_report, "danger_now", False))
    return receipt_page(receipt, danger, area_of(gw, getattr(new_report, "location", None)))


# --- /status ------------------------------------------------------------


def lookup_form(
    error: str | None = None, status: int = 200, number: str = "", draft: str = ""
) -> Response:
    return render(
        "status.html",
        status,
        title=t(TITLE_LOOKUP),
        error=t(error) if error else None,
        token=guard.make_token(gateway(), "status"),
        number=number,
        draft=draft,
    )


def found_page(
    view: StatusView,
    notice: str | None = None,
    error: str | None = None,
    draft: str = "",
    status: int = 200,
) -> Response:
    gw = gateway()
    name, explanation = STATUS_TEXT.get(view.status or "", (view.status or "", ""))
    token = guard.make_token(gw, "case", c=view.case_id)
    return render(
        "found.html",
        status,
        title=t(TITLE_CASE),
        view=view,
        status_name=t(name),
        status_help=t(explanation) if explanation else "",
        help=help_block(gw),
        messages=view.messages[-MAX_MESSAGES_SHOWN:],
        notice=t(notice) if notice else None,
        error=t(error) if error else None,
        draft=draft,
        case_token=token,
        lang_form={
            "action": url_for("web_form.status"),
            "hidden": [("do", "view"), ("case", token)],
        },
    )


@blueprint.route("/status", methods=["GET", "POST"])
def status() -> Response:
    gw = gateway()
    if request.method == "GET":
        return lookup_form()
    if guard.cross_site(gw):
        return problem(403)
    action = request.form.get("do", "check")
    if action in ("view", "reply"):
        return verified(gw, action)
    return check(gw)


def check(gw: Gateway) -> Response:
    form = request.form
    number, pin, draft = (
        form.get("number", "").strip(),
        form.get("pin", "").strip(),
        form.get("draft", ""),
    )
    try:
        guard.read_token(gw, "status", form.get("token"), guard.FORM_TOKEN_MAX_AGE)
    except TokenExpired:
        return lookup_form(EXPIRED, 400, number, draft)
    except TokenInvalid:
        return problem(400)
    if not number or not pin:
        return lookup_form(MISSING, 400, number, draft)
    try:
        view = mailbox.check_status(gw, number, pin, guard.client_address(gw), channel="web")
    except Exception as exc:  # noqa: BLE001
        log.error("web status look-up failed: %s", type(exc).__name__)
        return lookup_form(NOT_SENT, 503, number, draft)
    if view.answer is Answer.FOUND:
        return found_page(view, draft=draft)
    if view.answer is Answer.LOCKED:
        return lookup_form(LOCKED, 429, number, draft)
    return lookup_form(WRONG, 200, number, draft)


def verified(gw: Gateway, action: str) -> Response:
    """The status page again (language changed) or a reply, for a case verified minutes ago."""
    form = request.form
    text = form.get("text", "").strip()
    try:
        values = guard.read_token(gw, "case", form.get("case"), guard.CASE_TOKEN_MAX_AGE)
    except TokenExpired:
        return lookup_form(CASE_CLOSED_FOR_SAFETY, 400, draft=text)
    except TokenInvalid:
        return problem(400)
    view = mailbox.view_case(gw, int(values["c"]))  # type: ignore[call-overload]
    if view is None:
        return lookup_form(WRONG)
    if action == "view":
        return found_page(view)
    if not text:
        return found_page(view, error=EMPTY_MESSAGE, status=400)
    if guard.over_limit(gw, REPLY_LIMIT, guard.client_address(gw)):
        return found_page(view, error=TOO_MANY_MESSAGES, draft=text, status=429)
    try:
        sent = mailbox.reply(gw, int(view.case_id or 0), text)
    except Exception as exc:  # noqa: BLE001
        log.error("web reply not stored: %s", type(exc).__name__)
        return found_page(view, error=NOT_SENT, draft=text, status=503)
    if not sent:
        return found_page(view, error=NOT_SENT, draft=text, status=409)
    return found_page(mailbox.view_case(gw, int(view.case_id or 0)) or view, notice=SENT)
