"""The case page's allegation section: focal points complete the structured fields.

Reporters are asked only their channel's short questions; the focal point
completes the rest here (gateway.cases.allegation). One no-JS form posts all
seven fields; a field left out of the post is left as it is, an empty one
is cleared ("not asked"). A bad value is a 400 page naming the field, and
nothing is written. A save that changes something writes the fields and one
audit entry (`case.allegation`) with the names of the fields changed and,
for the coded ones, the old and new codes: never the area as typed. The
case tracker is not told of a change, as with the category and urgency.
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, redirect, request, url_for

from gateway.cases import allegation, audit
from gateway.cases.allegation import FIELDS, AllegationError
from gateway.console import allegation_labels, security
from gateway.console.case import load_case_to_change
from gateway.console.pages import blueprint, render, t
from gateway.console.security import STAFF, allow

FREE_TEXT = ("incident_area",)  # written by a person: its name goes in the audit, never its text
MAX_POSTED = 200  # longer than any value the fields take: refused without a closer look


def changes(case: Any, wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{field: (before, after)} for the fields `wanted` changes on `case`."""
    return {
        name: (getattr(case, name), value)
        for name, value in wanted.items()
        if getattr(case, name) != value
    }


def audit_detail(changed: dict[str, tuple[Any, Any]]) -> dict[str, object]:
    """The audit entry's detail: every changed field's name, codes only where they are codes."""
    return {
        "fields": [name for name in FIELDS if name in changed],
        "changes": {
            name: {"from": before, "to": after}
            for name, (before, after) in changed.items()
            if name not in FREE_TEXT
        },
    }


def _refused(field: str) -> Response:
    return render("error.html", status=400, code=400, message=allegation_labels.error(field, t))


@blueprint.post("/cases/<number>/allegation")
@allow(*STAFF)
def set_allegation(number: str) -> Response:
    gw = security.gateway()
    user = g.console_user
    posted = {name: request.form[name] for name in FIELDS if name in request.form}
    try:
        too_long = next((name for name, value in posted.items() if len(value) > MAX_POSTED), None)
        if too_long:
            raise AllegationError(too_long)
        wanted = allegation.clean(posted)
    except AllegationError as exc:
        return _refused(str(exc))
    ok = None
    with gw.sessions() as db, db.begin():
        case = load_case_to_change(db, number)
        db.refresh(case, with_for_update=True)  # two at once: the second sees the first's values
        changed = changes(case, wanted)
        if changed:
            for name, (_before, after) in changed.items():
                setattr(case, name, after)
            audit.record(
                db, user.username, "case.allegation", case.case_number, audit_detail(changed)
            )
            ok = "allegation"
    params = {"ok": ok} if ok else {}
    target = url_for("console.case_page", number=number, _anchor="allegation", **params)
    return redirect(target)  # type: ignore[return-value]
