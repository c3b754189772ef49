"""Referrals of the person who reported to help services, as a focal point records them.

The first thing a victim needs is help (medical care within 72 hours,
psychosocial support, safety), and a mission must be able to show that it
was offered and whether it reached the person. A referral says which
service, when it was offered, whether it was accepted, whether assistance
was received, and when to check again. Nothing here is about how to reach
anyone: the optional note is stored encrypted, and neither the note nor its
text ever goes into the audit trail.

A referral is *due for follow-up* when its follow-up date has come and
whether assistance was received is still unknown: recording "yes" or "no"
(or clearing the date) settles it.

Every add and every change is one audit entry in the caller's transaction,
written last (gateway.cases.audit.record says why). Bad input raises
`ReferralError` before anything is written.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import Session

from gateway.cases import audit
from gateway.core.models import Case, Referral
from gateway.core.runtime import Gateway
from gateway.core.states import CaseStatus

MAX_SERVICE = 200  # the column's size
MAX_NOTE = 1000
EARLIEST = date(2000, 1, 1)  # a date before this is a typing error, not a referral
LATEST = date(2999, 12, 31)  # and after this (date arithmetic stays far from year 9999)
ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")  # not the week or compact forms
E = TypeVar("E", bound=StrEnum)


class Kind(StrEnum):
    """What the service offers (the help directory's kinds, and "other")."""

    MEDICAL = "medical"
    PSYCHOSOCIAL = "psychosocial"
    LEGAL = "legal"
    SAFETY = "safety"
    SHELTER = "shelter"
    OTHER = "other"


class Decision(StrEnum):
    OFFERED = "offered"  # not answered yet
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Received(StrEnum):
    UNKNOWN = "unknown"
    YES = "yes"
    NO = "no"


class ReferralError(ValueError):
    """A field the caller must correct; `field` names it, nothing was written."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


@dataclass(frozen=True)
class NewReferral:
    service: str
    kind: Kind
    offered_on: date
    decision: Decision = Decision.OFFERED
    assistance_received: Received = Received.UNKNOWN
    follow_up_on: date | None = None
    note: str | None = None


@dataclass(frozen=True)
class Change:
    """What a focal point may change afterwards: the answer, the outcome, the next check."""

    decision: Decision
    assistance_received: Received
    follow_up_on: date | None


@dataclass(frozen=True)
class ReferralView:
    """A referral as the case page shows it (note decrypted)."""

    id: int
    service: str
    kind: str
    offered_on: date
    decision: str
    assistance_received: str
    follow_up_on: date | None
    note: str | None
    created_by: str
    updated_at: datetime
    due: bool


def _choice(enum: type[E], field: str, value: str | None) -> E:
    try:
        return enum((value or "").strip())
    except ValueError:
        allowed = ", ".join(enum)
        raise ReferralError(field, f"must be one of {allowed}") from None


def parse_date(field: str, value: str | None, *, required: bool) -> date | None:
    """An ISO date (YYYY-MM-DD) from a form or the command line; ReferralError otherwise."""
    text = (value or "").strip()
    if not text:
        if required:
            raise ReferralError(field, "a date is required (YYYY-MM-DD)")
        return None
    try:
        day = date.fromisoformat(text) if ISO_DAY.match(text) else None
    except ValueError:
        day = None
    if day is None:
        raise ReferralError(field, f"{text[:20]!r} is not a date (YYYY-MM-DD)")
    if day < EARLIEST:
        raise ReferralError(field, f"{day.isoformat()} is before {EARLIEST.year}")
    if day > LATEST:
        raise ReferralError(field, f"{day.isoformat()} is after {LATEST.year}")
    return day


def _clean_text(field: str, value: str | None, limit: int, *, required: bool) -> str | None:
    text = " ".join((value or "").split())
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ReferralError(field, "holds control characters")
    if not text:
        if required:
            raise ReferralError(field, "is required")
        return None
    if len(text) > limit:
        raise ReferralError(field, f"is longer than {limit} characters")
    return text


def _follow_up(value: str | None, offered_on: date) -> date | None:
    day = parse_date("follow_up_on", value, required=False)
    if day is not None and day < offered_on:
        raise ReferralError("follow_up_on", "is before the day the referral was offered")
    return day


def parse_new(form: Mapping[str, str], today: date) -> NewReferral:
    """A new referral from form values (strings); ReferralError names the first bad field."""
    service = _clean_text("service", form.get("service"), MAX_SERVICE, required=True)
    assert service is not None
    kind = _choice(Kind, "kind", form.get("kind"))
    offered_on = parse_date("offered_on", form.get("offered_on"), required=True)
    assert offered_on is not None
    if offered_on > today:
        raise ReferralError("offered_on", "is in the future")
    return NewReferral(
        service=service,
        kind=kind,
        offered_on=offered_on,
        decision=_choice(Decision, "decision", form.get("decision") or Decision.OFFERED),
        assistance_received=_choice(
            Received, "assistance_received", form.get("assistance_received") or Received.UNKNOWN
        ),
        follow_up_on=_follow_up(form.get("follow_up_on"), offered_on),
        note=_clean_text("note", form.get("note"), MAX_NOTE, required=False),
    )


def parse_change(form: Mapping[str, str], offered_on: date) -> Change:
    """The update form's three values; ReferralError names the first bad field."""
    return Change(
        decision=_choice(Decision, "decision", form.get("decision")),
        assistance_received=_choice(
            Received, "assistance_received", form.get("assistance_received")
        ),
        follow_up_on=_follow_up(form.get("follow_up_on"), offered_on),
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def add(session: Session, gw: Gateway, case: Case, new: NewReferral, actor: str) -> Referral:
    """Record a referral of `case` and its audit entry (no note text in it)."""
    row = Referral(
        case_id=case.id,
        service=new.service,
        kind=new.kind.value,
        offered_on=new.offered_on,
        decision=new.decision.value,
        assistance_received=new.assistance_received.value,
        follow_up_on=new.follow_up_on,
        note_enc=gw.cipher.encrypt(new.note.encode()) if new.note else None,
        created_by=actor,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "referral.add",
        case.case_number,
        {
            "referral": row.id,
            "service": row.service,
            "kind": row.kind,
            "offered_on": _iso(row.offered_on),
            "decision": row.decision,
            "assistance_received": row.assistance_received,
            "follow_up_on": _iso(row.follow_up_on),
            "note": new.note is not None,
        },
    )
    return row


def find(session: Session, case: Case, referral_id: int) -> Referral | None:
    """The referral of this case with that id, locked for an update (None if not this case's)."""
    return session.scalars(
        select(Referral)
        .where(Referral.id == referral_id, Referral.case_id == case.id)
        .with_for_update()
    ).first()


def update(
    session: Session, case: Case, row: Referral, change: Change, actor: str
) -> dict[str, Any]:
    """Apply what changed and audit it ({field: {"from", "to"}}); nothing written if nothing did."""
    wanted = {
        "decision": change.decision.value,
        "assistance_received": change.assistance_received.value,
        "follow_up_on": change.follow_up_on,
    }
    changes = {
        field: {"from": _text(getattr(row, field)), "to": _text(value)}
        for field, value in wanted.items()
        if getattr(row, field) != value
    }
    if not changes:
        return {}
    for field, value in wanted.items():
        setattr(row, field, value)
    session.flush()
    audit.record(
        session, actor, "referral.update", case.case_number, {"referral": row.id, **changes}
    )
    return changes


def _text(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def due_clause(today: date) -> ColumnElement[bool]:
    """A referral due for follow-up: its date has come and the outcome is still unknown."""
    return and_(
        Referral.follow_up_on.is_not(None),
        Referral.follow_up_on <= today,
        Referral.assistance_received == Received.UNKNOWN.value,
    )


def is_due(row: Referral, today: date) -> bool:
    return (
        row.follow_up_on is not None
        and row.follow_up_on <= today
        and row.assistance_received == Received.UNKNOWN.value
    )


def for_case(session: Session, gw: Gateway, case_id: int, today: date) -> list[ReferralView]:
    """A case's referrals, oldest offer first, notes decrypted for the case page."""
    rows = session.scalars(
        select(Referral)
        .where(Referral.case_id == case_id)
        .order_by(Referral.offered_on, Referral.id)
    ).all()
    return [
        ReferralView(
            id=r.id,
            service=r.service,
            kind=r.kind,
            offered_on=r.offered_on,
            decision=r.decision,
            assistance_received=r.assistance_received,
            follow_up_on=r.follow_up_on,
            note=gw.cipher.decrypt(r.note_enc).decode() if r.note_enc else None,
            created_by=r.created_by,
            updated_at=r.updated_at,
            due=is_due(r, today),
        )
        for r in rows
    ]


def due(session: Session, today: date, limit: int = 1000) -> list[Referral]:
    """Referrals of open cases due for follow-up (module docstring), the longest overdue first."""
    return list(
        session.scalars(
            select(Referral)
            .join(Case, Case.id == Referral.case_id)
            .where(due_clause(today), Case.status != CaseStatus.CLOSED.value)
            .order_by(Referral.follow_up_on, Referral.id)
            .limit(limit)
        )
    )
