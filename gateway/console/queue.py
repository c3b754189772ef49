"""The queue: cases for triage, someone in danger first, then a child, each oldest first.

Filters are plain GET parameters, so a filtered queue is a link a focal
point can keep. The list shows the channel and whether follow-up is
possible, never how to reach the reporter. A restricted case the user is
not named on is not in the list: it is listed apart, by number only,
whatever the filters (which would otherwise tell its category or urgency);
the figures at the top count every case.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response, g, request
from sqlalchemy import Integer, Select, and_, case, func, literal_column, or_, select, union_all

from gateway.cases import access, waiting
from gateway.cases.filing import display_number
from gateway.cases.forwarding_state import forwarding_summary
from gateway.cases.referrals import due_clause
from gateway.console import security
from gateway.console.pages import blueprint, render
from gateway.console.security import STAFF, allow
from gateway.core.accounts import User
from gateway.core.models import Case, OutboxEntry, Referral
from gateway.core.states import CaseStatus, WorkState
from gateway.work.forwarding import ESCALATION

PAGE_SIZE = 25  # about 20 KB of HTML: quick on a 2G link
RESTRICTED_SHOWN = 50  # restricted cases listed apart by number; more are counted
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
    restricted: bool = False  # restricted to named users, this user among them
    escalated: bool = False  # urgent, alert sent, still not opened (gateway/work/escalation.py)
    waiting_since: datetime | None = None  # the reporter's answer is due (RESPONSE_DUE_DAYS)


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def referrals_due(today: date) -> Any:
    """Cases with a referral due for follow-up: an IN over the referrals' follow-up index."""
    return Case.id.in_(select(Referral.case_id).where(due_clause(today)))


def filtered(
    query: Select[Any],
    args: dict[str, str],
    me: int,
    today: date | None = None,
    answer_cutoff: datetime | None = None,
) -> Select[Any]:
    """The queue query narrowed by the filter parameters (unknown values are ignored)."""
    if args.get("referrals") == "due" and today is not None:
        query = query.where(referrals_due(today))
    if args.get("waiting") == "escalated":
        query = query.where(waiting.ESCALATED)
    elif args.get("waiting") == "answer_due" and answer_cutoff is not None:
        query = query.where(waiting.answer_due(answer_cutoff))
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


# Urgency levels, most urgent first: (danger now, child affected).
LEVELS = ((True, True), (True, False), (False, True), (False, False))


def ordered(query: Select[Any], limit: int, offset: int) -> Select[Any]:
    """One page of cases: someone in danger now first, then a child; in each level oldest first.

    Each level is one range of ix_cases_triage (danger_now, child_involved,
    received_at, id) read from its oldest end and cut at the page's end; the
    page is the merge of the four. It costs the same with a thousand open
    cases or a million, where one ORDER BY mixing directions sorts them all.
    """
    parts = []
    for level, (danger, child) in enumerate(LEVELS):
        part = (
            query.with_only_columns(
                Case.id, Case.received_at, literal_column(str(level), Integer).label("level")
            )
            .where(Case.danger_now.is_(danger), Case.child_involved.is_(child))
            .order_by(Case.received_at, Case.id)
            .limit(offset + limit)
        )
        parts.append(select(part.subquery()))
    merged = union_all(*parts).subquery()
    return (
        select(Case)
        .join(merged, merged.c.id == Case.id)
        .order_by(merged.c.level, merged.c.received_at, merged.c.id)
        .limit(limit)
        .offset(offset)
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
    result["escalated"] = db.scalar(select(func.count()).select_from(Case).where(waiting.ESCALATED))
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
        now = security.now()
        today = now.date()
        cutoff = waiting.due_cutoff(now, gw.settings.response_due_days)
        me = g.console_user.id
        base = filtered(select(Case), args, me, today, cutoff).where(access.visible(me))
        total = db.scalar(select(func.count()).select_from(base.subquery()))
        cases = db.scalars(ordered(base, PAGE_SIZE, page * PAGE_SIZE)).all()
        ids = [c.id for c in cases]
        states: dict[int, list[str]] = {}
        for case_id, state in db.execute(
            select(OutboxEntry.case_id, OutboxEntry.state).where(
                OutboxEntry.case_id.in_(ids),
                OutboxEntry.kind != ESCALATION,  # an alert to the duty officer, not forwarding
            )
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
                restricted=c.restricted,
                escalated=waiting.is_escalated(c),
                waiting_since=c.awaiting_answer_since if waiting.is_answer_due(c, cutoff) else None,
            )
            for c in cases
        ]
        restricted = [
            display_number(c, prefix)
            for c in db.scalars(
                select(Case)
                .where(access.hidden(me))
                .order_by(Case.id.desc())
                .limit(RESTRICTED_SHOWN)
            )
        ]
        restricted_total = db.scalar(select(func.count(Case.id)).where(access.hidden(me)))
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
        restricted=restricted,
        restricted_total=restricted_total,
    )
