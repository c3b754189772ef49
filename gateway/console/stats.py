"""Statistics for managers: reports per week and time to first response, no personal data.

Everything here is a count or a duration over groups of cases (week,
channel, category, language): no case number, no text, no pseudonym, so the
viewer role, which reads no case, may see it and export it as CSV.
"The first response" is the first status change or message to the reporter
made by a console user after the report was filed.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Response, g, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.cases import audit
from gateway.console import security
from gateway.console.charts import colour, stacked_bars
from gateway.console.pages import CATEGORY_LABELS, CHANNEL_LABELS, blueprint, label, render, t
from gateway.console.security import ALL_ROLES, allow
from gateway.core import i18n
from gateway.core.accounts import User
from gateway.core.i18n import _
from gateway.core.models import Case, CaseEvent
from gateway.core.states import CaseEventKind

DEFAULT_WEEKS, MAX_WEEKS = 12, 104
RESPONSE_KINDS = (CaseEventKind.STATUS_CHANGED.value, CaseEventKind.MESSAGE_TO_REPORTER.value)


@dataclass(frozen=True)
class Filed:
    week: date
    channel: str
    category: str
    language: str
    hours_to_response: float | None


def week_of(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


def weeks_param() -> int:
    raw = request.args.get("weeks", "")
    return min(max(int(raw), 1), MAX_WEEKS) if raw.isdigit() else DEFAULT_WEEKS


def filed_since(db: Session, first_week: date) -> list[Filed]:
    """Each case filed since the week's Monday, with its hours to first response."""
    start = datetime.combine(first_week, time(), UTC)
    first_response = dict(
        db.execute(
            select(CaseEvent.case_id, func.min(CaseEvent.created_at))
            .join(Case, Case.id == CaseEvent.case_id)
            .where(
                Case.received_at >= start,
                # A response comes after its case: only the window's events are read.
                CaseEvent.created_at >= start,
                CaseEvent.kind.in_(RESPONSE_KINDS),
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
            answered = answered.replace(tzinfo=UTC)  # SQLite's MIN() loses the column type
        hours = (answered - received).total_seconds() / 3600 if answered else None
        filed.append(Filed(week_of(received), channel, category or "none", language, hours))
    return filed


def _series(filed: list[Filed], weeks: list[date], key: str) -> dict[str, list[float]]:
    counts: dict[str, Counter[date]] = defaultdict(Counter)
    for item in filed:
        counts[getattr(item, key)][item.week] += 1
    ordered = sorted(counts, key=lambda k: -sum(counts[k].values()))
    return {k: [float(counts[k][w]) for w in weeks] for k in ordered}


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


@blueprint.get("/stats")
@allow(*ALL_ROLES)
def stats() -> Response:
    gw = security.gateway()
    count = weeks_param()
    this_week = week_of(security.now())
    weeks = [this_week - timedelta(weeks=i) for i in range(count - 1, -1, -1)]
    with gw.sessions() as db:
        filed = filed_since(db, weeks[0])
    locale = g.get("console_locale", i18n.DEFAULT_LOCALE)
    labels = [i18n.format_day(locale, w) for w in weeks]
    names = {
        "channel": lambda v: label(CHANNEL_LABELS, v),
        "category": lambda v: t(_("Not given")) if v == "none" else label(CATEGORY_LABELS, v),
        "language": lambda v: v,
    }
    charts = []
    for key, title in (
        ("channel", t(_("Reports per week by channel"))),
        ("category", t(_("Reports per week by category"))),
        ("language", t(_("Reports per week by language"))),
    ):
        series = _series(filed, weeks, key)
        shown = {names[key](k): v for k, v in series.items()}
        legend = [(colour(i), name, int(sum(v))) for i, (name, v) in enumerate(shown.items())]
        charts.append((title, stacked_bars(labels, shown), legend))
    by_week: dict[date, list[float]] = defaultdict(list)
    for item in filed:
        if item.hours_to_response is not None:
            by_week[item.week].append(item.hours_to_response)
    medians = [_median(by_week[w]) or 0.0 for w in weeks]
    response_chart = stacked_bars(labels, {t(_("median hours")): medians}, unit=" h")
    answered = [f.hours_to_response for f in filed if f.hours_to_response is not None]
    return render(
        "stats.html",
        weeks=count,
        total=len(filed),
        charts=charts,
        response_chart=response_chart,
        answered=len(answered),
        median=_median(answered),
        waiting=len(filed) - len(answered),
    )


def csv_rows(filed: list[Filed]) -> list[list[Any]]:
    """One row per week, channel, category and language: counts and median response."""
    groups: dict[tuple[date, str, str, str], list[Filed]] = defaultdict(list)
    for item in filed:
        groups[(item.week, item.channel, item.category, item.language)].append(item)
    rows: list[list[Any]] = []
    for (week, channel, category, language), items in sorted(groups.items()):
        hours = [i.hours_to_response for i in items if i.hours_to_response is not None]
        median = _median(hours)
        rows.append(
            [
                week.isoformat(),
                channel,
                category,
                language,
                len(items),
                len(hours),
                "" if median is None else median,
            ]
        )
    return rows


@blueprint.get("/stats.csv")
@allow(*ALL_ROLES)
def stats_csv() -> Response:
    gw = security.gateway()
    count = weeks_param()
    first = week_of(security.now()) - timedelta(weeks=count - 1)
    with gw.sessions() as db, db.begin():
        filed = filed_since(db, first)
        audit.record(db, g.console_user.username, "stats.export", None, {"weeks": count})
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "week_start",
            "channel",
            "category",
            "language",
            "reports",
            "responded",
            "median_hours_to_first_response",
        ]
    )
    writer.writerows(csv_rows(filed))
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="reports-by-week.csv"'
    return response
