"""The queue: cases for triage, someone in danger first, then a child, then the newest.

Filters are plain GET parameters, so a filtered queue is a link a focal
point can keep. The list shows the channel and whether follow-up is
possible, never how to reach the reporter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response, g, request
from sqlalchemy import Select, and_, case, func, or_, select

from gateway.cases.filing import display_number
from gateway.cases.forwarding_state import forwarding_summary
from gateway.cases.referrals import due_clause
from gateway.console import security
from gateway.console.pages import blueprint, render
from gateway.console.security import STAFF, allow
from gateway.core.accounts import User
from gateway.core.models import Case, OutboxEntry, Referral
from gateway.core.states import CaseStatus, WorkState

PAGE_SIZE = 25  # about 20 KB of HTML: quick on a 2G link
URGENCY = {
    "urgent": or_(Case.danger_now.is_(True), Case.child_involved.is_(True)),
    "danger": Case.danger_now.is_(True),
    "child": Case.child_involved.is_(True),
    "not_urgent": and_(Case.danger_now.is_(False), Case.child_involved.is_(False)),
}
OPEN = Case.status != CaseStatus.CLOSED.value


@dataclass(frozen=True)
class Row:
    number: str
    received_at: datetime
    status: str
    channel: str
    language: str
    category: str | None
    danger_now: bool
    child_involved: bool
    follow_up: bool
    assignee: str | None
    forwarding: str
    received_via: str | None = None  # how a report a person received reached them


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def referrals_due(today: date) -> Any:
    """Cases with a referral due for follow-up: an IN over the referrals' follow-up index."""
    return Case.id.in_(select(Referral.case_id).where(due_clause(today)))


def filtered(
    query: Select[Any], args: dict[str, str], me: int, today: date | None = None
) -> Select[Any]:
    """The queue query narrowed by the filter parameters (unknown values are ignored)."""
    if args.get("referrals") == "due" and today is not None:
        query = query.where(referrals_due(today))
    status = args.get("status", "")
    if status not in {"all", *(s.value for s in CaseStatus)}:
        status = "open"
    if status == "open":
        query = query.where(OPEN)
    elif status in {s.value for s in CaseStatus}:
        query = query.where(Case.status == status)
    for name, column in (("channel", Case.channel), ("language", Case.language)):
        if args.get(name):
            query = query.where(column == args[name])
    if args.get("category") == "none":
        query = query.where(Case.category.is_(None))
    elif args.get("category"):
        query = query.where(Case.category == args["category"])
    if args.get("urgency") in URGENCY:
        query = query.where(URGENCY[args["urgency"]])
    assignee = args.get("assignee", "")
    if assignee == "me":
        query = query.where(Case.assignee_id == me)
    elif assignee == "none":
        query = query.where(Case.assignee_id.is_(None))
    elif assignee.isdigit():
        query = query.where(Case.assignee_id == int(assignee))
    start, end = _day(args.get("from")), _day(args.get("to"))
    if start:
        query = query.where(Case.received_at >= datetime.combine(start, time(), UTC))
    if end:
        query = query.where(
            Case.received_at < datetime.combine(end + timedelta(days=1), time(), UTC)
        )
    return query


def ordered(query: Select[Any]) -> Select[Any]:
    """Someone in danger now first, then a child affected, then the newest."""
    return query.order_by(
        Case.danger_now.desc(), Case.child_involved.desc(), Case.received_at.desc(), Case.id.desc()
    )


def present(db: Any, column: Any) -> list[str]:
    """The values an indexed column holds, in order: one index look-up per value.

    `SELECT DISTINCT` reads every case; stepping from one value to the next
    (the smallest value above the last one) reads one index entry per value,
    so the filter lists cost the same with a thousand cases or a million.
    """
    values: list[str] = []
    value = db.scalar(select(func.min(column)))
    while value is not None:
        values.append(value)
        value = db.scalar(select(func.min(column)).where(column > value))
    return values


def counts(db: Any, today: date | None = None) -> dict[str, int]:
    """The figures at the top of the queue, over all open cases."""
    row = db.execute(
        select(
            func.count(),
            func.sum(case((URGENCY["danger"], 1), else_=0)),
            func.sum(case((URGENCY["child"], 1), else_=0)),
            func.sum(case((Case.assignee_id.is_(None), 1), else_=0)),
        ).where(OPEN)
    ).one()
    result = {
        "open": row[0] or 0,
        "danger": row[1] or 0,
        "child": row[2] or 0,
        "unassigned": row[3] or 0,
    }
    for status, number in db.execute(select(Case.status, func.count()).group_by(Case.status)):
        result[status] = number
    result["dead"] = db.scalar(
        select(func.count(func.distinct(OutboxEntry.case_id))).where(
            OutboxEntry.state == WorkState.DEAD.value
        )
    )
    if today is not None:
        result["referrals_due"] = db.scalar(
            select(func.count(func.distinct(Referral.case_id)))
            .join(Case, Case.id == Referral.case_id)
            .where(due_clause(today), OPEN)
        )
    return result


@blueprint.get("/cases")
@allow(*STAFF)
def queue() -> Response:
    gw = security.gateway()
    args = {k: v.strip() for k, v in request.args.items() if v.strip()}
    page = int(args["page"]) if args.get("page", "").isdigit() else 0
    prefix = gw.settings.case_number_prefix
    with gw.sessions() as db:
        today = security.now().date()
        base = filtered(select(Case), args, g.console_user.id, today)
        total = db.scalar(select(func.count()).select_from(base.subquery()))
        cases = db.scalars(ordered(base).limit(PAGE_SIZE).offset(page * PAGE_SIZE)).all()
        ids = [c.id for c in cases]
        states: dict[int, list[str]] = {}
        for case_id, state in db.execute(
            select(OutboxEntry.case_id, OutboxEntry.state).where(OutboxEntry.case_id.in_(ids))
        ):
            states.setdefault(case_id, []).append(state)
        users = dict(db.execute(select(User.id, User.username).order_by(User.username)).all())
        rows = [
            Row(
                display_number(c, prefix),
                c.received_at,
                c.status,
                c.channel,
                c.language,
                c.category,
                c.danger_now,
                c.child_involved,
                c.follow_up,
                users.get(c.assignee_id) if c.assignee_id else None,
                forwarding_summary(states.get(c.id, [])),
                c.received_via,
            )
            for c in cases
        ]
        channels = present(db, Case.channel)
        languages = present(db, Case.language)
        figures = counts(db, today)
    more = (page + 1) * PAGE_SIZE < (total or 0)
    return render(
        "queue.html",
        rows=rows,
        total=total,
        figures=figures,
        args=args,
        page=page,
        more=more,
        channels=channels,
        languages=languages,
        users=users,
        ok=request.args.get("ok"),
    )
