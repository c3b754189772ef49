"""The cases export for headquarters (`--format mts-csv`): one row per case, no person in it.

A mission reports allegations upward as structured fields (docs/exports.md):
what kind, which personnel category, the victims' age group, when and in
which area, whether there is a paternity claim, whether the victim was
referred to assistance. The file holds those codes (never translated
labels, so headquarters' import does not change with the console's
language), the case's dates and status, and nothing else: no statement or
answer, no reporter contact, no pseudonym, no staff name. Rows are read in
batches, oldest received first, with the referral flag in the same query,
so a mission with 100,000 cases exports in constant memory. The command
line (the server's operator) exports every case; the console leaves out
the restricted cases its user is not named on and says how many.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import ColumnElement, exists, func, not_, select, true
from sqlalchemy.orm import Session

from gateway.cases import access, audit
from gateway.cases.allegation import FIELDS
from gateway.cases.csv_cells import Period, cell, write_rows
from gateway.cases.numbering import CaseNumber
from gateway.core.models import Case, Referral

FORMAT = "mts-csv"
COLUMNS = (
    "case_number",
    "received_on",
    "channel",
    "received_via",
    "language",
    "status",
    "closed_on",
    "category",
    *FIELDS,  # the structured allegation fields, in their order
    "danger_now",
    "child_involved",
    "referral",
    "restricted",
    "content_purged_on",
    "erased_on",
)
BATCH = 500


def _day(moment: datetime | None) -> str:
    return moment.astimezone(UTC).date().isoformat() if moment else ""


def _in_period(period: Period) -> ColumnElement[bool]:
    start, end = period.bounds()
    received = Case.received_at >= start
    return received if end is None else received & (Case.received_at < end)


def rows(session: Session, period: Period, prefix: str, user_id: int | None) -> Iterator[list[str]]:
    """The rows (without the header), oldest received first; `user_id`: only what they may open.

    Only the exported columns are read: no statement, address or pseudonym
    is ever loaded into the exporting process.
    """
    referred = exists(select(Referral.id).where(Referral.case_id == Case.id)).label("referral")
    allowed = true() if user_id is None else access.visible(user_id)
    query = (
        select(
            Case.year,
            Case.sequence,
            Case.received_at,
            Case.channel,
            Case.received_via,
            Case.language,
            Case.status,
            Case.closed_at,
            Case.category,
            *(getattr(Case, name) for name in FIELDS),
            Case.danger_now,
            Case.child_involved,
            referred,
            Case.restricted,
            Case.content_purged_at,
            Case.erased_at,
        )
        .where(_in_period(period), allowed)
        .order_by(Case.received_at, Case.id)
        .execution_options(yield_per=BATCH)
    )
    for row in session.execute(query):
        values = (
            CaseNumber(row.year, row.sequence).display(prefix),
            _day(row.received_at),
            *row[3:7],  # channel, received_via, language, status
            _day(row.closed_at),
            *row[8:20],  # category … restricted
            _day(row.content_purged_at),
            _day(row.erased_at),
        )
        yield [cell(value) for value in values]


def counts(session: Session, period: Period, user_id: int) -> tuple[int, int]:
    """(cases of the period in this user's export, restricted cases left out of it)."""
    allowed = access.visible(user_id)
    query = select(
        func.count(Case.id).filter(allowed), func.count(Case.id).filter(not_(allowed))
    ).where(_in_period(period))
    shown, left_out = session.execute(query).one()
    return shown or 0, left_out or 0


def write(
    session: Session,
    out: IO[str],
    period: Period,
    prefix: str,
    actor: str,
    user_id: int | None = None,
) -> int:
    """Write the CSV to `out`, audit it in the caller's transaction; rows written.

    `user_id` None (the command line): every case. Otherwise only the cases that
    user may open, and the audit entry says how many were left out.
    """
    count = write_rows(out, COLUMNS, rows(session, period, prefix, user_id))
    detail: dict[str, object] = {"format": FORMAT, **period.detail(), "rows": count}
    if user_id is not None:
        detail["left_out"] = counts(session, period, user_id)[1]
    audit.record(session, actor, "cases.export", None, detail)
    return count
