"""Restricting a case to named users, lifting it, and an administrator's override.

On its own page (linked from the case page, which stays small for a slow
link), a focal point or administrator who may open a case can restrict it to
named users (a conflict of interest: the accused's unit, a colleague involved),
change who is named, or lift it; the one who restricts is always named, so
no one locks themselves out. An administrator not named gets the 403 page
with a form: a reason opens the case to their session for a while
(case_access.py). Each of these asks for a reason and is audited
(gateway/cases/access.py). A bad form is a 400 page and changes nothing.
"""

from __future__ import annotations

from flask import Response, abort, g, redirect, request, url_for
from redis.exceptions import RedisError

from gateway.cases import access
from gateway.cases.access import AccessError
from gateway.cases.filing import display_number, find_case
from gateway.console import case_access, security
from gateway.console.case import load_case
from gateway.console.case_access import Restricted
from gateway.console.pages import blueprint, render, t
from gateway.console.security import STAFF, SignedIn, allow
from gateway.core.i18n import _
from gateway.core.states import Role

ERRORS = {
    "reason": _("Give a reason in one short line (at most %(n)s characters)."),
    "users": _("Choose the users from the list."),
}


def _refused(field: str) -> Response:
    message = t(ERRORS[field], n=access.MAX_REASON)
    return render("error.html", status=400, code=400, message=message)


def _back(number: str, ok: str | None) -> Response:
    params = {"ok": ok} if ok else {}
    target = url_for("console.case_page", number=number, _anchor="restriction", **params)
    return redirect(target)  # type: ignore[return-value]


def _chosen(me: int) -> set[int]:
    """The ticked users and the acting user; 400 for a value that is not an id."""
    values = request.form.getlist("users")
    if not all(value.isdigit() and len(value) < 10 for value in values):
        abort(400)
    return {int(value) for value in values} | {me}


@blueprint.get("/cases/<number>/access")
@allow(*STAFF)
def access_page(number: str) -> Response:
    """Who may open the case: the form to restrict, change and lift (nothing of the report)."""
    gw = security.gateway()
    with gw.sessions() as db:
        case = load_case(db, number)
        panel = case_access.panel(db, case)
        shown = display_number(case, gw.settings.case_number_prefix)
    return render("restriction.html", number=shown, p=panel)


@blueprint.post("/cases/<number>/restrict")
@allow(*STAFF)
def restrict(number: str) -> Response:
    gw = security.gateway()
    user: SignedIn = g.console_user
    chosen = _chosen(user.id)
    with gw.sessions() as db, db.begin():
        case = load_case(db, number)
        try:
            access.restrict(db, case, chosen, user.username, request.form.get("reason", ""))
        except AccessError as exc:  # raised before anything is changed
            return _refused(exc.field)
    return _back(number, "restricted")


@blueprint.post("/cases/<number>/lift")
@allow(*STAFF)
def lift(number: str) -> Response:
    gw = security.gateway()
    user: SignedIn = g.console_user
    with gw.sessions() as db, db.begin():
        case = load_case(db, number)
        try:
            lifted = access.lift(db, case, user.username, request.form.get("reason", ""))
        except AccessError as exc:
            return _refused(exc.field)
    return _back(number, "lifted" if lifted else None)


@blueprint.post("/cases/<number>/override")
@allow(Role.ADMIN)
def override(number: str) -> Response:
    """An administrator not named opens the case for a while, with a reason; audited."""
    gw = security.gateway()
    user: SignedIn = g.console_user
    with gw.sessions() as db, db.begin():
        case = find_case(db, number, gw.settings.case_number_prefix)
        if case is None:
            abort(404)
        needed = not case_access.may_view(db, case)
        if needed:
            try:
                access.record_override(db, case, user.username, request.form.get("reason", ""))
            except AccessError as exc:
                return _refused(exc.field)
    if needed:  # once the audit entry is committed
        try:
            case_access.start_override(case, user)
        except RedisError:  # audited, but not kept: say so rather than a 500
            abort(503)
    return redirect(url_for("console.case_page", number=number))  # type: ignore[return-value]


@blueprint.errorhandler(Restricted)
def restricted(exc: Restricted) -> Response:
    """The same page for every restricted case: nothing of the case, a form for an admin."""
    user: SignedIn | None = g.get("console_user")
    number = exc.number if user is not None and user.role is Role.ADMIN else None
    return render("restricted.html", status=403, number=number, max_reason=access.MAX_REASON)
