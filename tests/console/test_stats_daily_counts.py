"""The statistics from daily counts show what the live count of the cases showed.

The reference below is the page's and the export's former computation (every
case of the window and its first response, read at each request), kept here
unchanged. Random cases over four months, some at the edges of a UTC day,
some dated after today, with responses by console users and others, are
compared at every stage: all days marked (counted live), all counted by the
sweeper, some changed again (a mix), and swept again; on both backends.
"""

from __future__ import annotations

import csv
import io
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from alembic import command
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.cases import daily_counts
from gateway.cases.filing import add_event
from gateway.cases.reports import NewReport
from gateway.console import stats
from gateway.core.accounts import User
from gateway.core.migrate import alembic_config, upgrade
from gateway.core.models import Case, CaseEvent
from gateway.core.states import CaseEventKind, Role
from gateway.core.statistics_tables import DailyCount, DailyCountStale
from gateway.work.reporter import submit_report
from gateway.work.sweeper import sweep

CHANNELS = ("sms", "web", "telegram", "ivr")
CATEGORIES = ("sexual_exploitation", "sexual_abuse", "other_misconduct", None)
LANGUAGES = ("en", "fr", "sw")
KINDS = list(CaseEventKind)
# Seconds to a response on the page's rounding edges (0.05 h, 0.15 h, 1.25 h...).
EDGES = (0, 1, 180, 540, 900, 4500, 4680, 9000)
WINDOWS = (1, 4, 12, 104)


# --- the former live computation, as it was (gateway/console/stats.py before issue 18) ---


@dataclass(frozen=True)
class Filed:
    week: date
    channel: str
    category: str
    language: str
    hours_to_response: float | None


def filed_since(db: Session, first_week: date) -> list[Filed]:
    start = datetime.combine(first_week, time(), UTC)
    first_response = dict(
        db.execute(
            select(CaseEvent.case_id, func.min(CaseEvent.created_at))
            .join(Case, Case.id == CaseEvent.case_id)
            .where(
                Case.received_at >= start,
                CaseEvent.created_at >= start,
                CaseEvent.kind.in_(daily_counts.RESPONSE_KINDS),
                CaseEvent.actor.in_(select(User.username)),
            )
            .group_by(CaseEvent.case_id)
        ).all()
    )
    rows = db.execute(
        select(Case.id, Case.received_at, Case.channel, Case.category, Case.language).where(
            Case.received_at >= start
        )
    ).all()
    filed = []
    for case_id, received, channel, category, language in rows:
        answered = first_response.get(case_id)
        if answered is not None and answered.tzinfo is None:
            answered = answered.replace(tzinfo=UTC)
        hours = (answered - received).total_seconds() / 3600 if answered else None
        filed.append(Filed(stats.week_of(received), channel, category or "none", language, hours))
    return filed


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def reference_figures(filed: list[Filed], weeks: list[date]) -> stats.Figures:
    series = {}
    for key in stats.KEYS:
        counts: dict[str, Counter[date]] = defaultdict(Counter)
        for item in filed:
            counts[getattr(item, key)][item.week] += 1
        series[key] = {k: [float(counts[k][w]) for w in weeks] for k in counts}
    by_week: dict[date, list[float]] = defaultdict(list)
    for item in filed:
        if item.hours_to_response is not None:
            by_week[item.week].append(item.hours_to_response)
    answered = [f.hours_to_response for f in filed if f.hours_to_response is not None]
    return stats.Figures(
        series=series,
        medians=[_median(by_week[w]) or 0.0 for w in weeks],
        total=len(filed),
        answered=len(answered),
        median=_median(answered),
    )


def small(count: int) -> int | str:
    """The CSV's rule for small counts (docs/exports.md): 1 to 4 is "<5", 0 stays 0."""
    return "<5" if 0 < count < 5 else count


def reference_csv(filed: list[Filed]) -> list[list[str]]:
    groups: dict[tuple[date, str, str, str], list[Filed]] = defaultdict(list)
    for item in filed:
        groups[(item.week, item.channel, item.category, item.language)].append(item)
    rows: list[list[Any]] = []
    for (week, channel, category, language), items in sorted(groups.items()):
        hours = [i.hours_to_response for i in items if i.hours_to_response is not None]
        median = _median(hours)
        rows.append(
            [week.isoformat(), channel, category, language, small(len(items)), small(len(hours))]
            + ["" if median is None else median]
        )
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return list(csv.reader(io.StringIO(out.getvalue())))


# --- random cases ---


class Cases:
    """Cases written as filing writes them, with events dated as a test needs."""

    def __init__(self, gw, now: datetime, actors: list[str], seed: int) -> None:  # type: ignore[no-untyped-def]
        self.gw, self.now, self.actors = gw, now, actors
        self.rng = random.Random(seed)
        self.made = 0

    def _received(self) -> datetime:
        rng = self.rng
        moment = self.now - timedelta(seconds=rng.uniform(-9 * 86400, 17 * 7 * 86400))
        midnight = datetime.combine(moment.date(), time(), UTC)
        return rng.choice([moment] * 8 + [midnight, midnight - timedelta(microseconds=1)])

    def _respond(self, session: Session, case: Case, count: int) -> None:
        rng = self.rng
        for _ in range(count):
            seconds = rng.choice(EDGES) if rng.random() < 0.4 else rng.uniform(0, 5 * 86400)
            kind = rng.choice(KINDS[1:4] * 3 + KINDS[4:])
            event = add_event(session, self.gw, case, kind, rng.choice(self.actors))
            event.created_at = case.received_at + timedelta(seconds=seconds)
        session.flush()

    def add(self, count: int) -> None:
        """New cases with some events; each marks its day, as `file_report` does.

        Not through `file_report`: its PIN hash costs 0.2 s a case.
        """
        rng = self.rng
        with self.gw.sessions() as session, session.begin():
            for _ in range(count):
                self.made += 1
                received = self._received()
                case = Case(
                    case_number=f"9999{self.made:06d}",
                    year=9999,
                    sequence=self.made,
                    pin_hash="-",
                    channel=rng.choice(CHANNELS),
                    language=rng.choice(LANGUAGES),
                    category=rng.choice(CATEGORIES),
                    received_at=received,
                )
                session.add(case)
                daily_counts.mark_stale(session, received)
                session.flush()
                self._respond(session, case, rng.choice((0, 0, 1, 2, 3)))

    def change(self, count: int) -> None:
        """Later responses, and categories changed as the console's triage does."""
        rng = self.rng
        with self.gw.sessions() as session, session.begin():
            cases = list(session.scalars(select(Case).order_by(Case.id)))
            for case in rng.sample(cases, count):
                if rng.random() < 0.5:
                    case.category = rng.choice(CATEGORIES)
                    add_event(session, self.gw, case, CaseEventKind.TRIAGED, self.actors[0])
                else:
                    self._respond(session, case, 1)


def check(gw, viewer, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """The page's figures and the CSV, for several windows, against the reference."""
    for count in WINDOWS:
        first = stats.week_of(now) - timedelta(weeks=count - 1)
        weeks = [first + timedelta(weeks=i) for i in range(count)]
        with gw.sessions() as db:
            filed = filed_since(db, first)
            shown = stats.figures(daily_counts.window(db, first, detailed=False), weeks)
        assert shown == reference_figures(filed, weeks), count
        for key, series in shown.series.items():  # the most frequent value first (ties by name)
            counts = Counter(getattr(item, key) for item in filed)
            assert list(series) == sorted(counts, key=lambda k: (-counts[k], k))
        page = viewer.get(f"/console/stats?weeks={count}")
        assert page.status_code == 200 and page.data.count(b"<svg") == 4
        answer = viewer.get(f"/console/stats.csv?weeks={count}")
        rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True))))
        assert rows[1:] == reference_csv(filed), count


def marked_days(gw) -> set[date]:  # type: ignore[no-untyped-def]
    with gw.sessions() as db:
        return set(db.scalars(select(DailyCountStale.day)))


def test_figures_match_the_live_count_marked_counted_and_mixed(gw, signed_in, clock) -> None:  # type: ignore[no-untyped-def]
    viewer = signed_in(Role.VIEWER)
    signed_in(Role.FOCAL_POINT, "focal")  # a console user: their events are responses
    cases = Cases(gw, clock.now, ["focal", "viewer_user", "case-tracker", "reporter"], seed=18)
    cases.add(160)
    assert marked_days(gw)
    with gw.sessions() as db:
        assert db.scalar(select(func.count()).select_from(DailyCount)) == 0
    check(gw, viewer, clock.now)  # every day counted live

    while daily_counts.refresh(gw.sessions):
        pass
    assert marked_days(gw) == set()
    check(gw, viewer, clock.now)  # every day from the table

    cases.add(25)
    cases.change(40)
    assert marked_days(gw)
    check(gw, viewer, clock.now)  # a mix

    assert sweep(gw).recounted > 0
    assert marked_days(gw) == set()
    check(gw, viewer, clock.now)


def test_a_change_committed_during_a_recount_leaves_its_day_marked(gw, signed_in, clock) -> None:  # type: ignore[no-untyped-def]
    """The sweeper deletes the marks it read before counting, not those written since."""
    viewer = signed_in(Role.VIEWER)
    signed_in(Role.FOCAL_POINT, "focal")
    cases = Cases(gw, clock.now, ["focal"], seed=4)
    cases.add(30)
    with gw.sessions() as db:
        marks = db.execute(select(DailyCountStale.id, DailyCountStale.day)).all()
    day = marks[0].day
    read = [mark_id for mark_id, marked in marks if marked == day]
    with gw.sessions() as db, db.begin():  # a focal point answers a case of that day, now
        every = db.scalars(select(Case).order_by(Case.id))
        case = next(c for c in every if daily_counts.day_of(c.received_at) == day)
        add_event(db, gw, case, CaseEventKind.MESSAGE_TO_REPORTER, "focal")
    with gw.sessions() as db, db.begin():
        daily_counts.store_day(db, day, read)
    assert day in marked_days(gw)
    check(gw, viewer, clock.now)


def test_each_console_action_marks_its_day_and_shows_at_once(gw, signed_in, clock) -> None:  # type: ignore[no-untyped-def]
    """Filing, triage, a message and a status change, through the real code: no sweep needed."""
    viewer = signed_in(Role.VIEWER)
    focal = signed_in(Role.FOCAL_POINT, "focal")
    receipts = [
        submit_report(gw, NewReport(narrative=f"What happened, {i}", language="fr"), channel="web")
        for i in range(2)
    ]
    today = daily_counts.day_of(datetime.now(UTC))
    assert marked_days(gw) == {today}
    while daily_counts.refresh(gw.sessions):
        pass
    check(gw, viewer, clock.now)
    actions = [
        ("triage", {"category": "sexual_abuse", "child_involved": "no", "danger_now": "no"}),
        ("message", {"message": "We are looking into it"}),
        ("status", {"status": "under_review", "reason": "Read"}),
    ]
    for action, form in actions:
        for receipt in receipts:
            answer = focal.post(f"/console/cases/{receipt.case_number}/{action}", **form)
            assert answer.status_code == 302 and "err=" not in answer.location, action
        assert marked_days(gw) == {today}, action
        check(gw, viewer, clock.now)  # before the sweeper
        assert sweep(gw).recounted == 1
        check(gw, viewer, clock.now)
    with gw.sessions() as db:
        row = db.scalars(
            select(DailyCount).where(
                DailyCount.day == today,
                DailyCount.channel == "web",
                DailyCount.category != daily_counts.ALL,
                DailyCount.language == "fr",
            )
        ).one()
        assert (row.category, row.reports, row.responded) == ("sexual_abuse", 2, 2)


def test_the_migration_counts_the_cases_already_stored(gw, signed_in, clock) -> None:  # type: ignore[no-untyped-def]
    """Migration 0008 fills the table as the sweeper would have (its own copy of the count)."""
    signed_in(Role.FOCAL_POINT, "focal")
    Cases(gw, clock.now, ["focal", "case-tracker", "reporter"], seed=8).add(120)
    while daily_counts.refresh(gw.sessions):
        pass
    with gw.sessions() as db:
        counted = sorted(db.execute(select(DailyCount.__table__)).all())
    url = gw.settings.database_url
    gw.engine.dispose()
    try:
        command.downgrade(alembic_config(url), "0007")
    finally:
        upgrade(url)
    with gw.sessions() as db:
        filled = sorted(db.execute(select(DailyCount.__table__)).all())
    assert len(counted) > 100 and filled == counted
