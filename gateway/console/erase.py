"""An administrator erases one case from its page (gateway/cases/erasure.py).

Only an administrator; a reason is required and the case number typed again
confirms it. A missing reason, a wrong confirmation or a case erased before
gets 400 and changes nothing. The case tracker's `case_erased` event is
enqueued after the commit (the sweeper enqueues it otherwise).
"""

from __future__ import annotations

import contextlib

from flask import Response, g, redirect, request, url_for

from gateway.cases.erasure import AlreadyErased, clean_reason, erase_case
from gateway.cases.numbering import parse_case_number
from gateway.console import security
from gateway.console.case import load_case
from gateway.console.pages import blueprint, render, t
from gateway.console.security import allow
from gateway.core.i18n import _
from gateway.core.states import Role
from gateway.work.forwarding import enqueue_outbox

ERRORS = {
    "reason": _("Give the reason for erasing the case (at most 500 characters)."),
    "confirm": _("Type this case's number to confirm; nothing was erased."),
    "erased": _("This case was erased already."),
}


def _refuse(why: str) -> Response:
    return render("error.html", status=400, code=400, message=t(ERRORS[why]))


@blueprint.post("/cases/<number>/erase")
@allow(Role.ADMIN)
def erase(number: str) -> Response:
    gw = security.gateway()
    user = g.console_user
    reason = clean_reason(request.form.get("reason"))
    typed = parse_case_number(request.form.get("confirm", ""), gw.settings.case_number_prefix)
    try:
        with gw.sessions() as db, db.begin():
            case = load_case(db, number)
            if reason is None:
                return _refuse("reason")
            if typed is None or typed.digits != case.case_number:
                return _refuse("confirm")
            erased = erase_case(db, gw, case, user.username, reason, security.now())
    except AlreadyErased:
        return _refuse("erased")
    for outbox_id in erased.outbox_ids:
        with contextlib.suppress(Exception):  # stored; the sweeper enqueues it otherwise
            enqueue_outbox(gw, outbox_id)
    return redirect(url_for("console.case_page", number=number, _anchor="erase"))  # type: ignore[return-value]
