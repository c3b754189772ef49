"""What every CSV export shares: a period of UTC days, and cells a spreadsheet never runs.

The referrals export and the cases export for headquarters (docs/exports.md)
write the same kind of cell, so a value is escaped one way everywhere.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import IO, Any

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")


@dataclass(frozen=True)
class Period:
    """Days `since` to `until`, both included (UTC); no `until`: up to now."""

    since: date
    until: date | None = None

    def bounds(self) -> tuple[datetime, datetime | None]:
        start = datetime.combine(self.since, time(), UTC)
        if self.until is None:
            return start, None
        return start, datetime.combine(self.until + timedelta(days=1), time(), UTC)

    def detail(self) -> dict[str, object]:
        """The period as the audit trail records it."""
        return {
            "since": self.since.isoformat(),
            "until": self.until.isoformat() if self.until else None,
        }


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


def write_rows(out: IO[str], columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """A header and the rows as CSV (CRLF, as spreadsheets expect); how many rows."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count
