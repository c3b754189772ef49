"""The referrals export: CSV for a victim assistance tracking database (docs/exports.md).

One row per referral changed in the period, shaped so that the receiving
database can load it again and again: the referral id is stable and opaque
(a UUID derived from the case's own external id and the referral's row id,
so it reveals neither how many referrals exist nor anything of the person),
and "last_updated" says which copy is newer. It holds no narrative, no
note, no reporter contact or pseudonym and no staff names: what a service
provider's database needs to track assistance, nothing that identifies the
person who reported. The same rows come from `complaint-gateway referrals
export` and the console; both record the export in the audit trail.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.cases import audit
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
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
BATCH = 500


@dataclass(frozen=True)
class Period:
    """Days `since` to `until`, both included, of the referrals' last change (UTC)."""

    since: date
    until: date | None = None

    def bounds(self) -> tuple[datetime, datetime | None]:
        start = datetime.combine(self.since, time(), UTC)
        if self.until is None:
            return start, None
        return start, datetime.combine(self.until + timedelta(days=1), time(), UTC)


def cell(value: object) -> str:
    """A value as CSV text a spreadsheet shows and never runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def referral_id(case: Case, row: Referral) -> str:
    """Stable and opaque: the same referral has the same id in every export."""
    return str(uuid.uuid5(uuid.UUID(case.external_id), f"referral:{row.id}"))


def rows(session: Session, period: Period, prefix: str) -> Iterator[list[str]]:
    """The export's rows (without the header), oldest change first, read in batches."""
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


def write(session: Session, out: IO[str], period: Period, prefix: str, actor: str) -> int:
    """Write the CSV to `out` and audit the export in the caller's transaction; rows written."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for row in rows(session, period, prefix):
        writer.writerow(row)
        count += 1
    detail: dict[str, object] = {
        "since": period.since.isoformat(),
        "until": period.until.isoformat() if period.until else None,
        "rows": count,
    }
    audit.record(session, actor, "referrals.export", None, detail)
    return count
