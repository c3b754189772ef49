"""Daily counts of received cases for the statistics page: exact, and never stale as shown.

The statistics page (gateway/console/stats.py) read every case of its window
and their events, so it grew with the cases of its weeks (bench/growth.py).
It now reads `daily_counts` (gateway.core.models.DailyCount): per UTC day of
`Case.received_at` and (channel, category or "none", language), the number
of cases, the number with a first response and each one's time to it. Rows
with "*" (ALL) count the day's cases whatever the value there: one row for
the day, one per channel, per category and per language. The page reads
those (a few dozen a day, however many cases came); the CSV export reads
the detailed rows.

Medians are exact, not taken from a histogram: the page rounds a median to
0.1 h, and no histogram can tell on which side of a rounding boundary the
median falls (or the mean of the two middle values, for an even count), so
its figures would differ from the cases' now and then. Each row keeps the
exact durations instead (microseconds, sorted): about ten bytes per
responded case, and the page parses those of its window (some 9,000
numbers at 100,000 stored cases), a millisecond or two.

"The first response" is the first status change or message to the reporter
made by a console user (an actor in the users table) after filing. Users
are never deleted or renamed, and the case tracker's actor ("case-tracker")
cannot be a username, so whether an event counts never changes later.

Never stale as shown: whatever changes a day's figures writes a mark for the
day (DailyCountStale) in its own transaction: `file_report` (a new case) and
`add_event` for RESPONSE_KINDS and TRIAGED (a first response; a focal
point's change of category, console/case_actions.py) call `mark_stale`.
Channel, language and received_at never change after filing, and cases are
never deleted; an erased case (gateway/cases/erasure.py) is not counted, and
its erasure marks its day. The sweeper (`refresh`) counts marked days again from their
cases and deletes the marks it read before counting, in the transaction that
stores the new counts: a change committed after that read left its own mark,
so its day stays marked. The page counts still-marked days live (`window`)
and takes the others from the table, so each day it shows is as exact as
the live count at some moment of the request.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import and_, case, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.core.accounts import User
from gateway.core.models import Case, CaseEvent
from gateway.core.states import CaseEventKind
from gateway.core.statistics_tables import DailyCount, DailyCountStale

ALL = "*"  # in a row's channel, category or language: any value
NOT_GIVEN = "none"  # a case without a category
RESPONSE_KINDS = (CaseEventKind.STATUS_CHANGED.value, CaseEventKind.MESSAGE_TO_REPORTER.value)
# Events whose writing changes a day's figures (TRIAGED: the category may have changed).
MARKING_KINDS = frozenset((*RESPONSE_KINDS, CaseEventKind.TRIAGED.value))
REFRESH_DAYS = 100  # days counted again in one sweep at most; the rest in the next
ID_BATCH = 500  # case ids in one query for their first responses
ONE_DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)


class Tally(NamedTuple):
    """One row of daily counts (see the module's docstring)."""

    day: date
    channel: str
    category: str
    language: str
    reports: int
    responded: int
    response_us: str

    @property
    def detailed(self) -> bool:
        """A row of one channel, category and language (the CSV's), not a sum."""
        return ALL not in (self.channel, self.category, self.language)

    def durations(self) -> list[int]:
        """The times to first response, in microseconds."""
        return list(map(int, self.response_us.split()))


def day_of(moment: datetime) -> date:
    """The UTC day of a moment (a naive one is taken as UTC, as the columns store it)."""
    return moment.astimezone(UTC).date() if moment.tzinfo else moment.date()


def mark_stale(session: Session, received_at: datetime) -> None:
    """Mark the day of a case received at `received_at`: its counts are to be redone."""
    session.add(DailyCountStale(day=day_of(received_at)))


def _start(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def count_days(session: Session, first: date, end: date) -> list[Tally]:
    """The tallies of the days from `first` to `end` (excluded), from their cases."""
    cases = session.execute(
        select(Case.id, Case.received_at, Case.channel, Case.category, Case.language).where(
            Case.received_at >= _start(first),
            Case.received_at < _start(end),
            Case.erased_at.is_(None),  # spam or withdrawn (gateway/cases/erasure.py)
        )
    ).all()
    ids = [row[0] for row in cases]
    first_response: dict[int, datetime] = {}
    for at in range(0, len(ids), ID_BATCH):
        # By case id (its index), each kind's first, the response kinds kept here:
        # with the kind in the WHERE, SQLite's planner (no statistics) reads every
        # response event of every case through the index on kind instead
        # (114 ms at 100,000 cases, for the eight cases of one day).
        for case_id, kind, at_first in session.execute(
            select(CaseEvent.case_id, CaseEvent.kind, func.min(CaseEvent.created_at))
            .where(
                CaseEvent.case_id.in_(ids[at : at + ID_BATCH]),
                CaseEvent.actor.in_(select(User.username)),
            )
            .group_by(CaseEvent.case_id, CaseEvent.kind)
        ):
            if kind in RESPONSE_KINDS:
                known = first_response.get(case_id)
                first_response[case_id] = at_first if known is None else min(known, at_first)
    reports: dict[tuple[date, str, str, str], int] = defaultdict(int)
    durations: dict[tuple[date, str, str, str], list[int]] = defaultdict(list)
    for case_id, received_at, channel, category, language in cases:
        answered = first_response.get(case_id)
        if answered is not None and answered.tzinfo is None:
            answered = answered.replace(tzinfo=UTC)  # SQLite's MIN() may lose the column type
        day, category = day_of(received_at), category or NOT_GIVEN
        for key in (
            (day, channel, category, language),
            (day, channel, ALL, ALL),
            (day, ALL, category, ALL),
            (day, ALL, ALL, language),
            (day, ALL, ALL, ALL),
        ):
            reports[key] += 1
            if answered is not None:
                durations[key].append((answered - received_at) // MICROSECOND)
    return [
        Tally(
            *key,
            count,
            len(durations[key]),
            " ".join(str(us) for us in sorted(durations[key])),
        )
        for key, count in sorted(reports.items())
    ]


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, end) ranges: one live count per run."""
    runs: list[tuple[date, date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day:
            runs[-1] = (runs[-1][0], day + ONE_DAY)
        else:
            runs.append((day, day + ONE_DAY))
    return runs


def window(session: Session, first: date, *, detailed: bool) -> list[Tally]:
    """The tallies of every day from `first` on: stored, or counted live for marked days.

    `detailed`: the rows of one channel, category and language (the CSV's);
    otherwise the sums (per day, per channel, per category, per language).
    No end: a case dated after today counts, as it always has.
    """
    stale = set(
        session.scalars(select(DailyCountStale.day).where(DailyCountStale.day >= first).distinct())
    )
    columns = (DailyCount.channel, DailyCount.category, DailyCount.language)
    kind = and_(*(c != ALL for c in columns)) if detailed else or_(*(c == ALL for c in columns))
    # The sums per channel, category or language: their durations are not shown.
    everything = and_(*(c == ALL for c in columns))
    durations = DailyCount.response_us if detailed else case((everything, DailyCount.response_us))
    query = select(
        DailyCount.day,
        *columns,
        DailyCount.reports,
        DailyCount.responded,
        func.coalesce(durations, ""),
    ).where(DailyCount.day >= first, kind)
    if stale:
        query = query.where(DailyCount.day.not_in(stale))
    tallies = [Tally(*row) for row in session.execute(query)]
    for start, end in _runs(stale):
        tallies += [t for t in count_days(session, start, end) if t.detailed == detailed]
    return tallies


def refresh(sessions: Callable[[], Session], limit: int = REFRESH_DAYS) -> int:
    """Count marked days again (at most `limit`, the longest marked first); how many.

    Each day in one transaction: its marks are read first, then its cases
    counted, the counts stored and the marks read deleted. Two sweepers at
    once on one day: the second's insert fails on the primary key, and the
    marks it read stay for the next sweep.
    """
    with sessions() as session:
        days = list(
            session.scalars(
                select(DailyCountStale.day)
                .group_by(DailyCountStale.day)
                .order_by(func.min(DailyCountStale.id))
                .limit(limit)
            )
        )
    stored = 0
    for day in days:
        try:
            with sessions() as session, session.begin():
                marks = list(
                    session.scalars(select(DailyCountStale.id).where(DailyCountStale.day == day))
                )
                if marks:
                    store_day(session, day, marks)
                    stored += 1
        except IntegrityError:
            continue
    return stored


def store_day(session: Session, day: date, marks: list[int]) -> None:
    """Replace a day's stored tallies with a count from its cases; delete `marks`."""
    tallies = count_days(session, day, day + ONE_DAY)
    session.execute(delete(DailyCount).where(DailyCount.day == day))
    if tallies:
        session.execute(insert(DailyCount), [t._asdict() for t in tallies])
    if marks:
        session.execute(delete(DailyCountStale).where(DailyCountStale.id.in_(marks)))
