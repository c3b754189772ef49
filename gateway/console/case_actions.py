"""What a focal point does to a case: status, triage, assignment, notes, links, messages, retries.

Each action is one POST that ends in a redirect back to the case page (so a
reload never repeats it), writes its case event and its audit entry in one
transaction, and starts any queued work only after that commits. Audit
entries hold ids and actions, never what was written.
"""

from __future__ import annotations

import contextlib
import json

from flask import Response, abort, g, redirect, request, url_for
from sqlalchemy import ColumnElement, and_, or_, select

from gateway.cases import audit
from gateway.cases.filing import add_event, find_case, set_status
from gateway.cases.mailbox import MAX_MESSAGE_LENGTH
from gateway.console import case_access, security
from gateway.console.case import load_case, load_case_to_change
from gateway.console.pages import CATEGORY_LABELS, blueprint
from gateway.console.security import STAFF, allow
from gateway.core.accounts import User
from gateway.core.models import CaseLink, OutboxEntry
from gateway.core.states import CaseEventKind, CaseLinkKind, CaseStatus, Role, WorkState
from gateway.work.forwarding import enqueue_outbox, retry_dead
from gateway.work.reporter import message_reporter

MAX_NOTE = 5000
NOT_GIVEN = "none"  # the triage form's value for "no category" (as in the queue's filter)
YES_NO = {"yes": True, "no": False}


def _back(number: str, ok: str | None = None, err: str | None = None) -> Response:
    params = {"ok": ok} if ok else ({"err": err} if err else {})
    anchor = "actions" if err else None
    return redirect(url_for("console.case_page", number=number, _anchor=anchor, **params))  # type: ignore[return-value]


def _text(name: str, limit: int) -> str | None:
    text = request.form.get(name, "").strip()
    return text if text and len(text) <= limit else None


@blueprint.post("/cases/<number>/status")
@allow(*STAFF)
def change_status(number: str) -> Response:
    gw = security.gateway()
    user = g.console_user
    try:
        status = CaseStatus(request.form.get("status", ""))
    except ValueError:
        return _back(number, err="status")
    reason = _text("reason", 1000)
    if reason is None:
        return _back(number, err="reason")
    with gw.sessions() as db, db.begin():
        case = load_case_to_change(db, number)
        before = case.status
        event = set_status(db, gw, case, status, actor=user.username)
        if event is None:
            return _back(number, err="same_status")
        event.body_enc = gw.cipher.encrypt(reason.encode())
        outbox = db.scalars(
            select(OutboxEntry.id).where(
                OutboxEntry.case_id == case.id, OutboxEntry.event_id == event.id
            )
        ).all()
        audit.record(
            db,
            user.username,
            "case.status",
            case.case_number,
            {"from": before, "to": status.value, "event": event.id},
        )
    for outbox_id in outbox:
        with contextlib.suppress(Exception):  # stored; the sweeper enqueues it otherwise
            enqueue_outbox(gw, outbox_id)
    return _back(number, ok="status")


def _triage_form() -> dict[str, object]:
    """The triage form's three values, or 400: each select sends one of its options."""
    category = request.form.get("category", "")
    child, danger = request.form.get("child_involved", ""), request.form.get("danger_now", "")
    if category not in (NOT_GIVEN, *CATEGORY_LABELS) or not {child, danger} <= YES_NO.keys():
        abort(400)
    return {
        "category": None if category == NOT_GIVEN else category,
        "child_involved": YES_NO[child],
        "danger_now": YES_NO[danger],
    }


@blueprint.post("/cases/<number>/triage")
@allow(*STAFF)
def triage(number: str) -> Response:
    """Set the category and urgency: what a discreet conversation did not ask, or got wrong.

    Only what changed is written: a `triaged` event and an audit entry, both
    with each changed field's old and new value (fixed values, never report
    text). The case tracker is not told: the forwarded case carries what the
    case held when it was sent, and the contract has no event for a change
    (docs/architecture.md, "The outbox and forwarding").
    """
    gw = security.gateway()
    user = g.console_user
    wanted = _triage_form()
    with gw.sessions() as db, db.begin():
        case = load_case_to_change(db, number)
        db.refresh(case, with_for_update=True)  # two at once: the second sees the first's values
        changes: dict[str, object] = {
            field: {"from": getattr(case, field), "to": value}
            for field, value in wanted.items()
            if getattr(case, field) != value
        }
        if not changes:
            return _back(number)
        for field, value in wanted.items():
            setattr(case, field, value)
        add_event(db, gw, case, CaseEventKind.TRIAGED, user.username, body=json.dumps(changes))
        audit.record(db, user.username, "case.triage", case.case_number, changes)
    return _back(number, ok="triage")


@blueprint.post("/cases/<number>/assign")
@allow(*STAFF)
def assign(number: str) -> Response:
    gw = security.gateway()
    user = g.console_user
    wanted = request.form.get("assignee", "")
    with gw.sessions() as db, db.begin():
        case = load_case_to_change(db, number)
        assignee = None
        if wanted:
            assignee = db.get(User, int(wanted)) if wanted.isdigit() else None
            if (
                assignee is None
                or not assignee.active
                or assignee.role not in (Role.ADMIN.value, Role.FOCAL_POINT.value)
            ):
                return _back(number, err="assignee")
        new_id = assignee.id if assignee else None
        if case.assignee_id == new_id:
            return _back(number, ok="assign")
        case.assignee_id = new_id
        name = assignee.username if assignee else ""
        add_event(db, gw, case, CaseEventKind.ASSIGNED, user.username, body=name)
        audit.record(db, user.username, "case.assign", case.case_number, {"assignee": new_id})
    return _back(number, ok="assign")


@blueprint.post("/cases/<number>/note")
@allow(*STAFF)
def note(number: str) -> Response:
    gw = security.gateway()
    user = g.console_user
    text = _text("note", MAX_NOTE)
    if text is None:
        return _back(number, err="note")
    with gw.sessions() as db, db.begin():
        case = load_case_to_change(db, number)
        event = add_event(db, gw, case, CaseEventKind.NOTE, user.username, body=text)
        audit.record(db, user.username, "case.note", case.case_number, {"event": event.id})
    return _back(number, ok="note")


def _between(case_id: int, other_id: int) -> ColumnElement[bool]:
    """A link between two cases, whichever of them it was made from."""
    return or_(
        and_(CaseLink.case_id == case_id, CaseLink.other_case_id == other_id),
        and_(CaseLink.case_id == other_id, CaseLink.other_case_id == case_id),
    )


@blueprint.post("/cases/<number>/link")
@allow(*STAFF)
def link(number: str) -> Response:
    gw = security.gateway()
    user = g.console_user
    try:
        kind = CaseLinkKind(request.form.get("kind", ""))
    except ValueError:
        return _back(number, err="link")
    with gw.sessions() as db, db.begin():
        case = load_case_to_change(db, number)
        other = find_case(db, request.form.get("other", ""), gw.settings.case_number_prefix)
        # a restricted case this user may not open answers as if it did not exist
        if other is None or other.id == case.id or not case_access.may_view(db, other):
            return _back(number, err="link")
        existing = db.scalars(select(CaseLink.id).where(_between(case.id, other.id))).first()
        if existing is not None:
            return _back(number, err="linked")
        db.add(
            CaseLink(
                case_id=case.id, other_case_id=other.id, kind=kind.value, created_by=user.username
            )
        )
        audit.record(
            db,
            user.username,
            "case.link",
            case.case_number,
            {"other": other.case_number, "kind": kind.value},
        )
    return _back(number, ok="link")


@blueprint.post("/cases/<number>/unlink")
@allow(*STAFF)
def unlink(number: str) -> Response:
    """Remove a link made by mistake (from either case's page); the audit log keeps it."""
    gw = security.gateway()
    user = g.console_user
    with gw.sessions() as db, db.begin():
        case = load_case_to_change(db, number)
        other = find_case(db, request.form.get("other", ""), gw.settings.case_number_prefix)
        row = None
        if other is not None and case_access.may_view(db, other):  # else: left as it is
            row = db.scalars(select(CaseLink).where(_between(case.id, other.id))).first()
        if other is None or row is None:  # already removed (a second click): nothing to say
            return _back(number)
        # the case the link was made from: for a duplicate, the one marked as the duplicate
        made_from = case if row.case_id == case.id else other
        db.delete(row)
        audit.record(
            db,
            user.username,
            "case.unlink",
            case.case_number,
            {"other": other.case_number, "kind": row.kind, "made_from": made_from.case_number},
        )
    return _back(number, ok="unlink")


@blueprint.post("/cases/<number>/message")
@allow(*STAFF)
def message(number: str) -> Response:
    gw = security.gateway()
    user = g.console_user
    text = _text("message", MAX_MESSAGE_LENGTH)
    if text is None:
        return _back(number, err="message")
    with gw.sessions() as db:
        case_id = load_case_to_change(db, number).id
    message_reporter(gw, case_id, text, actor=user.username)
    with gw.sessions() as db, db.begin():
        case = load_case_to_change(db, number)
        audit.record(db, user.username, "case.message", case.case_number)
    return _back(number, ok="message")


@blueprint.post("/cases/<number>/retry")
@allow(*STAFF)
def retry(number: str) -> Response:
    """Queue this case's dead-lettered forwardings again, with a fresh set of attempts."""
    gw = security.gateway()
    user = g.console_user
    with gw.sessions() as db:
        case = load_case(db, number)  # an erasure notice to the tracker may need it
        ids = list(
            db.scalars(
                select(OutboxEntry.id).where(
                    OutboxEntry.case_id == case.id, OutboxEntry.state == WorkState.DEAD.value
                )
            )
        )
        digits = case.case_number
    retried = retry_dead(gw, ids) if ids else []
    with gw.sessions() as db, db.begin():
        audit.record(db, user.username, "forwarding.retry", digits, {"outbox": retried})
    return _back(number, ok="retry" if retried else None, err=None if retried else "retry")
