"""The case page: the report as given, what happened since, and the attachments.

Report content is decrypted only here, for a signed-in focal point or
administrator, and every view and every attachment fetched is written to
the audit trail. The page names the reporter's channel and whether a
message reaches them directly, never their address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Response, abort, g, request
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.cases import allegation, audit, referrals, waiting
from gateway.cases.filing import display_number, find_case
from gateway.cases.mailbox import can_push
from gateway.console import case_access, security
from gateway.console.allegation_labels import form_fields
from gateway.console.pages import CATEGORY_LABELS, blueprint, label, render, t
from gateway.console.referral_labels import LABELS
from gateway.console.security import STAFF, allow
from gateway.core import assistance
from gateway.core.accounts import User
from gateway.core.i18n import _
from gateway.core.models import (
    Attachment,
    Case,
    CaseEvent,
    CaseLink,
    MediaDownload,
    OutboundMessage,
    Report,
)
from gateway.core.states import CaseEventKind, Role, WorkState

OK_MESSAGES = {
    "status": _("Status changed. The case tracker will be told."),
    "assign": _("Assignment saved."),
    "note": _("Note added. Notes are never shown to the reporter."),
    "link": _("Cases linked."),
    "unlink": _("Link removed."),
    "message": _("Message saved for the reporter."),
    "retry": _("Forwarding queued again."),
    "triage": _("Category and urgency saved."),
    "referral_added": _("Referral recorded."),
    "referral_updated": _("Referral updated."),
    "restricted": _("Saved: only the users named may open this case."),
    "lifted": _("Restriction lifted: every focal point may open this case."),
    "allegation": _("Allegation details saved."),
}
ERROR_MESSAGES = {
    "status": _("Choose one of the statuses."),
    "reason": _("Give a reason for the status change (at most 1000 characters)."),
    "same_status": _("The case already has that status."),
    "assignee": _("That user cannot be assigned cases."),
    "note": _("Write the note first (at most 5000 characters)."),
    "link": _("Give the number of another existing case and the kind of link."),
    "linked": _("These cases are linked already."),
    "message": _("Write the message first (at most 2000 characters)."),
    "retry": _("Nothing to retry: no forwarding of this case has failed for good."),
}
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
REPORT_FIELDS = ("narrative", "category", "affected", "danger_now", "location", "incident_time")
# What a focal point may set on a case (console.triage), with its label; a
# conversation by SMS, WhatsApp or Telegram asks no category (issue 16, finding 7).
TRIAGE_FIELDS = {
    "category": _("Category"),
    "child_involved": _("Child affected"),
    "danger_now": _("Danger now"),
}


@dataclass(frozen=True)
class Event:
    at: datetime
    kind: str
    actor: str
    status: str | None
    text: str | None
    delivery: str | None = None  # for a message to the reporter sent through their channel
    changes: tuple[str, ...] = ()  # for a triage: one line per field, in the user's language


@dataclass(frozen=True)
class Link:
    number: str
    status: str
    relation: str  # "duplicate_of", "has_duplicate", "related"
    restricted: bool = False  # a case this user may not open: its number and nothing else


@dataclass
class CaseView:
    """Everything the case page shows, read in one session."""

    case: Case
    number: str
    report: dict[str, Any]
    extra: dict[str, Any]
    attachments: list[Attachment]
    fetching: int
    events: list[Event]
    links: list[Link]
    outbox: list[Any]
    assignee: str | None
    staff: dict[int, str]
    pushes: bool


def load_case(db: Session, number: str) -> Case:
    """The case named in the URL (with or without the display prefix), or 404.

    403 for a restricted case the user is not named on (case_access.py).
    """
    case = find_case(db, number, security.gateway().settings.case_number_prefix)
    if case is None:
        abort(404)
    return case_access.require(db, case, number)


def load_case_to_change(db: Session, number: str) -> Case:
    """`load_case` for an action that changes the case: 409 once its content is gone.

    A case erased by an administrator or purged at the end of its retention
    period is a tombstone: its number, dates, status and fields stay for the
    record, and it takes no new status, message, note, link or field.
    """
    case = load_case(db, number)
    if case.content_purged_at is not None:
        abort(409)
    return case


def _deliveries(db: Session, event_ids: list[int]) -> dict[int, str]:
    keys = {f"case-message:{i}": i for i in event_ids}
    found = db.execute(
        select(
            OutboundMessage.dedupe_key, OutboundMessage.state, OutboundMessage.delivery_status
        ).where(OutboundMessage.dedupe_key.in_(keys))
    ).all()
    return {keys[key]: (delivery or state) for key, state, delivery in found}


def _links(db: Session, case: Case, prefix: str) -> list[Link]:
    rows = db.scalars(
        select(CaseLink).where(or_(CaseLink.case_id == case.id, CaseLink.other_case_id == case.id))
    ).all()
    links = []
    for row in rows:
        mine = row.case_id == case.id
        other = db.get(Case, row.other_case_id if mine else row.case_id)
        assert other is not None
        if row.kind == "duplicate":
            relation = "duplicate_of" if mine else "has_duplicate"
        else:
            relation = "related"
        number = display_number(other, prefix)
        if case_access.may_view(db, other):
            links.append(Link(number, other.status, relation))
        else:
            links.append(Link(number, "", relation, restricted=True))
    return links


def _triage_value(field: str, value: object) -> str:
    if field == "category":
        return label(CATEGORY_LABELS, value) if isinstance(value, str) else t(_("Not given"))
    return t(_("yes")) if value else t(_("no"))


def triage_lines(text: str | None) -> tuple[str, ...]:
    """A triage event's body ({field: {"from", "to"}}) as lines for the history."""
    changes = json.loads(text) if text else {}
    return tuple(
        t(
            _("%(field)s: %(after)s (was %(before)s)"),
            field=t(TRIAGE_FIELDS[field]),
            after=_triage_value(field, change.get("to")),
            before=_triage_value(field, change.get("from")),
        )
        for field, change in changes.items()
        if field in TRIAGE_FIELDS
    )


def _event(event: CaseEvent, text: str | None, delivery: str | None) -> Event:
    triaged = event.kind == CaseEventKind.TRIAGED.value
    lines = triage_lines(text) if triaged else ()
    return Event(event.created_at, event.kind, event.actor, event.status, text, delivery, lines)


def case_view(db: Session, case: Case) -> CaseView:
    gw = security.gateway()
    prefix = gw.settings.case_number_prefix
    report_row = db.scalars(select(Report).where(Report.case_id == case.id)).first()
    content = gw.cipher.decrypt_json(report_row.content_enc) if report_row else {}
    content = content if isinstance(content, dict) else {"narrative": str(content)}
    report = {k: content.get(k) for k in REPORT_FIELDS}
    extra = {k: v for k, v in content.items() if k not in REPORT_FIELDS and v not in (None, "")}
    messages = [e.id for e in case.events if e.kind == CaseEventKind.MESSAGE_TO_REPORTER.value]
    deliveries = _deliveries(db, messages)
    events = [
        _event(
            e, gw.cipher.decrypt(e.body_enc).decode() if e.body_enc else None, deliveries.get(e.id)
        )
        for e in case.events
    ]
    staff = dict(
        db.execute(
            select(User.id, User.username)
            .where(User.active.is_(True), User.role.in_([Role.ADMIN.value, Role.FOCAL_POINT.value]))
            .order_by(User.username)
        ).all()
    )
    assignee = db.get(User, case.assignee_id) if case.assignee_id else None
    fetching = len(
        db.scalars(
            select(MediaDownload.id).where(
                MediaDownload.case_id == case.id, MediaDownload.state == WorkState.PENDING.value
            )
        ).all()
    )
    return CaseView(
        case=case,
        number=display_number(case, prefix),
        report=report,
        extra=extra,
        attachments=list(report_row.attachments) if report_row else [],
        fetching=fetching,
        events=events,
        links=_links(db, case, prefix),
        outbox=list(case.outbox),
        assignee=assignee.username if assignee else None,
        staff=staff,
        pushes=can_push(db, case),
    )


@blueprint.get("/cases/<number>")
@allow(*STAFF)
def case_page(number: str) -> Response:
    gw = security.gateway()
    user = g.console_user
    with gw.sessions() as db, db.begin():
        case = load_case(db, number)
        view = case_view(db, case)
        waiting.mark_opened(db, case, security.now())  # once: the escalation's clock stops
        audit.record(db, user.username, "case.view", case.case_number)
        today = security.now().date()
        page = render(
            "case.html",
            v=view,
            ok=t(OK_MESSAGES[ok]) if (ok := request.args.get("ok")) in OK_MESSAGES else None,
            err=t(ERROR_MESSAGES[e]) if (e := request.args.get("err")) in ERROR_MESSAGES else None,
            message_max=2000,
            categories=list(CATEGORY_LABELS),
            referrals=referrals.for_case(db, gw, case.id, today),
            referral_today=today.isoformat(),
            services=assistance.offered(gw.settings, "referrals"),
            referral_labels=LABELS,
            allegation_fields=form_fields(allegation.of_case(case)),
        )
    return page


@blueprint.get("/attachments/<int:attachment_id>")
@allow(*STAFF)
def attachment(attachment_id: int) -> Response:
    """One attachment, decrypted, never cached; images and audio inline, the rest saved."""
    gw = security.gateway()
    with gw.sessions() as db, db.begin():
        item = db.get(Attachment, attachment_id)
        if item is None:
            abort(404)
        case = case_access.require(db, item.report.case)
        data = gw.cipher.decrypt(item.data_enc)
        content_type = item.content_type
        audit.record(
            db,
            g.console_user.username,
            "attachment.download",
            case.case_number,
            {"attachment": attachment_id},
        )
    inline = content_type in INLINE_TYPES or content_type.startswith("audio/")
    response = Response(data, mimetype=content_type if inline else "application/octet-stream")
    disposition = "inline" if inline else "attachment"
    response.headers["Content-Disposition"] = (
        f'{disposition}; filename="attachment-{attachment_id}"'
    )
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))
