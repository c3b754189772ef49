"""`GET/POST /console/intake`: a report a person received, filed by a focal point or an intake user.

A focal point, a nurse or a community network member takes a complaint in
person, on paper or by phone, and types it here in the complainant's
language (a picker re-renders the form; no script). The case is filed at
once on channel `in_person` (gateway.cases.in_person) with who received it
in the audit trail and on the "filed" event, never in the forwarded JSON.

The case number and PIN are shown once: the POST stores them encrypted in
Redis under a one-time token and redirects; the page that shows them takes
the token away (GETDEL), so a reload or the back button shows them no more.
Without Redis the POST's answer shows them itself (never cached, like every
console page). A form is filed once: each carries a nonce, claimed on POST,
so a double tap or a resent form makes no second case.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import secrets

from flask import Response, abort, g, redirect, request, url_for

from gateway.cases.filing import Receipt
from gateway.cases.in_person import file_received, sms_provider
from gateway.cases.media import UnsupportedMedia
from gateway.console import security
from gateway.console.allegation_labels import form_fields
from gateway.console.intake_form import Posted, build, slip
from gateway.console.pages import blueprint, render, t
from gateway.console.security import FILERS, allow
from gateway.core import i18n
from gateway.core.i18n import _
from gateway.core.runtime import Gateway
from gateway.intake.form_files import BAD_FILE, FormError, read_files
from gateway.work.effects import enqueue_forwarding

log = logging.getLogger(__name__)

RECEIPT_KEY = "complaint-gateway:console-intake:receipt:"
NONCE_KEY = "complaint-gateway:console-intake:nonce:"
RECEIPT_SECONDS = 600  # time to open the result page after filing
NONCE_SECONDS = 6 * 3600
NOT_SAVED = _("We could not save your report just now. Please wait a minute and send it again.")
ALREADY_SENT = _("This form was already sent. Open the form again for another report.")
GONE = _(
    "The case number and PIN were shown once and cannot be shown again."
    " If they were lost, file a note on the case instead."
)


def _locales(gw: Gateway) -> list[str]:
    return i18n.configured_locales(gw.settings.locales)


def _language(gw: Gateway, chosen: str | None) -> str:
    """The complainant's language: the one picked, else the console's."""
    offered = _locales(gw)
    if chosen in offered:
        return str(chosen)
    current = g.get("console_locale", i18n.DEFAULT_LOCALE)
    return current if current in offered else offered[0]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def form_page(
    gw: Gateway,
    language: str,
    posted: Posted | None = None,
    error: str | None = None,
    status: int = 200,
    **values: object,
) -> Response:
    def f(message: str, /, **kw: object) -> str:  # the form's words, in the complainant's language
        return i18n.gettext(language, message, **kw)

    posted = posted or Posted({"received_via": "in_person", "follow_up": "no"})
    return render(
        "intake.html",
        status=status,
        f=f,
        form_lang=language,
        form_rtl=i18n.is_rtl(language),
        languages=[(code, i18n.display_name(code)) for code in _locales(gw)],
        posted=posted,
        allegation_fields=form_fields(posted.values),
        error=f(error, **values) if error else None,
        nonce=secrets.token_urlsafe(16),
        sms_possible=sms_provider(gw.settings) is not None,
        max_mb=max(1, gw.settings.max_upload_bytes // (1024 * 1024)),
    )


def _claim_nonce(gw: Gateway, nonce: str) -> bool:
    """False when this form was sent before; True (and claimed) otherwise, or without Redis."""
    if not nonce:
        return True
    try:
        return bool(gw.redis.set(NONCE_KEY + _digest(nonce), 1, nx=True, ex=NONCE_SECONDS))
    except Exception:  # noqa: BLE001 - Redis away: file it; a resend is the lesser harm
        return True


def _release_nonce(gw: Gateway, nonce: str) -> None:
    with contextlib.suppress(Exception):
        gw.redis.delete(NONCE_KEY + _digest(nonce))


@blueprint.route("/intake", methods=["GET", "POST"])
@allow(*FILERS)
def intake() -> Response:
    gw = security.gateway()
    if request.method == "GET":
        return form_page(gw, _language(gw, request.args.get("lang")))
    form = request.form
    language = _language(gw, form.get("lang"))
    posted = Posted.read(form)
    try:
        attachments = read_files(request.files.getlist("files"), gw.settings.max_upload_bytes)
        filing = build(posted, attachments, language, gw.settings)
    except FormError as exc:
        if not exc.message:
            abort(400)
        return form_page(gw, language, posted, exc.message, exc.status, **exc.values)
    nonce = form.get("nonce", "")[:64]
    if not _claim_nonce(gw, nonce):
        return form_page(gw, language, None, ALREADY_SENT, 409)
    user = g.console_user
    try:
        with gw.sessions() as db, db.begin():
            receipt = file_received(
                db,
                gw,
                filing.report,
                received_via=filing.received_via,
                actor=user.username,
                source="console",
                sms=filing.sms,
            )
    except UnsupportedMedia:
        _release_nonce(gw, nonce)
        return form_page(gw, language, posted, BAD_FILE, 415)
    except Exception as exc:  # noqa: BLE001 - keep what was typed; never a 500
        _release_nonce(gw, nonce)
        log.error("in-person report not filed: %s", type(exc).__name__)
        return form_page(gw, language, posted, NOT_SAVED, 503)
    with contextlib.suppress(Exception):  # stored; the sweeper enqueues it otherwise
        enqueue_forwarding(gw, receipt.case_id)
    area = posted.get("location")
    token = secrets.token_urlsafe(24)
    value = {"n": receipt.case_number, "p": receipt.pin, "l": language, "a": area, "u": user.id}
    try:
        gw.redis.set(
            RECEIPT_KEY + _digest(token), gw.cipher.encrypt_json(value), ex=RECEIPT_SECONDS
        )
    except Exception:  # noqa: BLE001 - no Redis: show it on this answer (never cached)
        return result_page(gw, receipt, language, area)
    return redirect(url_for("console.intake_done", t=token))  # type: ignore[return-value]


def result_page(gw: Gateway, receipt: Receipt, language: str, area: str) -> Response:
    def f(message: str, /, **kw: object) -> str:
        return i18n.gettext(language, message, **kw)

    return render(
        "intake_done.html",
        f=f,
        form_lang=language,
        form_rtl=i18n.is_rtl(language),
        slip=slip(gw.settings, receipt.case_number, receipt.pin, language, area),
    )


@blueprint.get("/intake/done")
@allow(*FILERS)
def intake_done() -> Response:
    """The case number and PIN, once: the token is taken away as it is read."""
    gw = security.gateway()
    token = request.args.get("t", "")[:64]
    stored = None
    if token:
        try:
            stored = gw.redis.getdel(RECEIPT_KEY + _digest(token))
        except Exception:  # noqa: BLE001 - same answer as a token already used
            stored = None
    if not stored:
        return render("error.html", status=410, code=410, message=t(GONE))
    value = gw.cipher.decrypt_json(stored)
    if value.get("u") != g.console_user.id:  # only the one who filed it sees it
        return render("error.html", status=410, code=410, message=t(GONE))
    receipt = Receipt(0, str(value["n"]), str(value["p"]))
    return result_page(gw, receipt, str(value["l"]), str(value.get("a") or ""))
