"""The referrals export: CSV for a victim assistance tracking database (docs/exports.md).

One row per referral changed in the period, shaped so that the receiving
database can load it again and again: the referral id is stable and opaque
(a UUID derived from the case's own external id and the referral's row id,
so it reveals neither how many referrals exist nor anything of the person),
and "last_updated" says which copy is newer. It holds no narrative, no
note, no reporter contact or pseudonym and no staff names: what a service
provider's database needs to track assistance, nothing that identifies the
person who reported. The same rows come from `complaint-gateway referrals
export` and the console; both record the export in the audit trail. The
console's download leaves out the referrals of restricted cases its user is
not named on (gateway/cases/access.py); the command line's operator gets all.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases import access, audit
from gateway.cases.csv_cells import Period, cell, write_rows
from gateway.cases.filing import display_number
from gateway.core.models import Case, Referral

COLUMNS = (
    "referral_id",
    "case_number",
    "case_received_on",
    "case_category",
    "child_involved",
    "service",
    "service_kind",
    "offered_on",
    "decision",
    "assistance_received",
    "follow_up_on",
    "last_updated",
)
BATCH = 500


def referral_id(case: Case, row: Referral) -> str:
    """Stable and opaque: the same referral has the same id in every export."""
    return str(uuid.uuid5(uuid.UUID(case.external_id), f"referral:{row.id}"))


def rows(
    session: Session, period: Period, prefix: str, visible_to: int | None = None
) -> Iterator[list[str]]:
    """The export's rows (without the header), oldest change first, read in batches.

    With `visible_to` (a console user's id), only the cases that user may open.
    """
    start, end = period.bounds()
    query = (
        select(Referral, Case)
        .join(Case, Case.id == Referral.case_id)
        .where(Referral.updated_at >= start)
        .order_by(Referral.updated_at, Referral.id)
        .execution_options(yield_per=BATCH)
    )
    if end is not None:
        query = query.where(Referral.updated_at < end)
    if visible_to is not None:
        query = query.where(access.visible(visible_to))
    for referral, case in session.execute(query):
        yield [
            cell(value)
            for value in (
                referral_id(case, referral),
                display_number(case, prefix),
                case.received_at.astimezone(UTC).date(),
                case.category,
                case.child_involved,
                referral.service,
                referral.kind,
                referral.offered_on,
                referral.decision,
                referral.assistance_received,
                referral.follow_up_on,
                referral.updated_at,
            )
        ]


def write(
    session: Session,
    out: IO[str],
    period: Period,
    prefix: str,
    actor: str,
    visible_to: int | None = None,
) -> int:
    """Write the CSV to `out` and audit the export in the caller's transaction; rows written."""
    count = write_rows(out, COLUMNS, rows(session, period, prefix, visible_to))
    detail: dict[str, object] = {**period.detail(), "rows": count}
    audit.record(session, actor, "referrals.export", None, detail)
    return count
