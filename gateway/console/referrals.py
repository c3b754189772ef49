"""Referrals on the case page: record a referral to a help service, then its outcome.

Two no-JS forms (gateway/console/templates/console/referrals.html): one adds
a referral, one per referral changes its decision, whether assistance was
received and the follow-up date. A bad value is a 400 page that says which
field, and nothing is written; a good one is written with its audit entry
in one transaction and ends in a redirect back to the case (so a reload
never repeats it). Staff only, like the case page.
"""

from __future__ import annotations

from datetime import date

from flask import Response, abort, g, redirect, request, url_for

from gateway.cases import referrals
from gateway.cases.referrals import ReferralError
from gateway.console import security
from gateway.console.case import load_case
from gateway.console.pages import blueprint, render, t
from gateway.console.security import STAFF, allow
from gateway.core import assistance
from gateway.core.assistance import Directory
from gateway.core.i18n import _

MAX_ID = 2**63 - 1  # BIGINT
FIELD_ERRORS = {
    "service": _("Name the service, or pick one from the list (at most 200 characters)."),
    "kind": _("Choose what kind of help the service gives."),
    "offered_on": _("Give the day the referral was offered as YYYY-MM-DD, not in the future."),
    "decision": _("Choose whether the referral was accepted or declined."),
    "assistance_received": _("Choose whether assistance was received."),
    "follow_up_on": _(
        "Give the follow-up date as YYYY-MM-DD, not before the day offered, or leave it empty."
    ),
    "note": _("The note is too long (at most 1000 characters)."),
}


def today() -> date:
    """The console's day (UTC), from its injectable clock."""
    return security.now().date()


def directory() -> Directory:
    """The help services directory (ASSISTANCE_FILE); empty if unset or broken since start-up."""
    return assistance.offered(security.gateway().settings, "referrals")


def _refused(error: ReferralError) -> Response:
    message = FIELD_ERRORS.get(error.field, FIELD_ERRORS["service"])
    return render("error.html", status=400, code=400, message=t(message))


def _back(number: str, ok: str | None) -> Response:
    params = {"ok": ok} if ok else {}
    target = url_for("console.case_page", number=number, _anchor="referrals", **params)
    return redirect(target)  # type: ignore[return-value]


def _new_form(services: Directory) -> dict[str, str]:
    """The add form's values, with a service picked from the directory resolved to its name."""
    form = {key: request.form.get(key, "") for key in FIELD_ERRORS}
    picked = form["service"].strip()
    if services and picked:
        service = services.named(picked)
        if service is None:
            raise ReferralError("service", "not in the directory")
        form["kind"] = form["kind"] or service.kind.value
    elif services:
        form["service"] = request.form.get("service_other", "")
    return form


@blueprint.post("/cases/<number>/referrals")
@allow(*STAFF)
def add_referral(number: str) -> Response:
    gw = security.gateway()
    user = g.console_user
    try:
        new = referrals.parse_new(_new_form(directory()), today())
    except ReferralError as exc:
        return _refused(exc)
    with gw.sessions() as db, db.begin():
        case = load_case(db, number)
        referrals.add(db, gw, case, new, user.username)
    return _back(number, "referral_added")


@blueprint.post("/cases/<number>/referrals/<int:referral_id>")
@allow(*STAFF)
def update_referral(number: str, referral_id: int) -> Response:
    gw = security.gateway()
    user = g.console_user
    if referral_id > MAX_ID:  # beyond the column's range: no such referral, not a 500
        abort(404)
    with gw.sessions() as db, db.begin():
        case = load_case(db, number)
        row = referrals.find(db, case, referral_id)
        if row is None:
            abort(404)
        try:
            change = referrals.parse_change(request.form, row.offered_on)
        except ReferralError as exc:
            return _refused(exc)
        changed = referrals.update(db, case, row, change, user.username)
    return _back(number, "referral_updated" if changed else None)
