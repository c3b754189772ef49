"""Statistics for managers: reports per week and time to first response, no personal data.

Everything here is a count or a duration over groups of cases (week,
channel, category, language): no case number, no text, no pseudonym, so the
viewer role, which reads no case, may see it and export it as CSV. Counts
from 1 to 4 are shown as "<5" on the page, in the charts and in the CSV
(gateway/console/small_counts.py); the figures themselves stay exact.
"The first response" is the first status change or message to the reporter
made by a console user after the report was filed. The figures come from the
daily counts (gateway/cases/daily_counts.py), exact and up to date, so the
page does not grow with the number of cases (bench/growth.py).
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask import Response, g, request

from gateway.cases import audit, daily_counts
from gateway.cases.daily_counts import ALL, Tally
from gateway.console import security
from gateway.console.charts import colour, stacked_bars
from gateway.console.pages import CATEGORY_LABELS, CHANNEL_LABELS, blueprint, label, render, t
from gateway.console.security import READERS, allow
from gateway.console.small_counts import shown as count_shown
from gateway.core import i18n
from gateway.core.i18n import _

DEFAULT_WEEKS, MAX_WEEKS = 12, 104
KEYS = ("channel", "category", "language")


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_of(moment: datetime) -> date:
    return monday(moment.date())


def weeks_param() -> int:
    raw = request.args.get("weeks", "")
    return min(max(int(raw), 1), MAX_WEEKS) if raw.isdigit() else DEFAULT_WEEKS


def _series(counts: dict[str, Counter[date]], weeks: list[date]) -> dict[str, list[float]]:
    """Reports per week for each value, the most frequent value first (ties by name)."""
    ordered = sorted(counts, key=lambda k: (-sum(counts[k].values()), k))
    return {k: [float(counts[k][w]) for w in weeks] for k in ordered}


def _hours(us: int) -> float:
    # As timedelta.total_seconds() / 3600 gave it: int / int is correctly rounded.
    return us / 10**6 / 3600


def _median(durations: list[int]) -> float | None:
    """The median in hours, rounded as shown: the float statistics.median gives on hours.

    Taken on the microseconds (the same order) and converted at the end.
    """
    if not durations:
        return None
    ordered = sorted(durations)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return round(_hours(ordered[middle]), 1)
    return round((_hours(ordered[middle - 1]) + _hours(ordered[middle])) / 2, 1)


@dataclass(frozen=True)
class Figures:
    """What the page shows, before labels: reports per week by key, medians, totals."""

    series: dict[str, dict[str, list[float]]]  # key -> value -> reports per week
    medians: list[float]  # median hours to first response per week (0.0: none)
    total: int
    answered: int
    median: float | None


def figures(tallies: list[Tally], weeks: list[date]) -> Figures:
    """The page's figures from the window's sums (`daily_counts.window`, not detailed)."""
    counts: dict[str, dict[str, Counter[date]]] = {key: defaultdict(Counter) for key in KEYS}
    by_week: dict[date, list[int]] = defaultdict(list)
    total = answered = 0
    mondays: dict[date, date] = {}
    for tally in tallies:  # each a sum: one of the three given, or none (the day's own row)
        week = mondays.get(tally.day) or mondays.setdefault(tally.day, monday(tally.day))
        if tally.channel != ALL:
            counts["channel"][tally.channel][week] += tally.reports
        elif tally.category != ALL:
            counts["category"][tally.category][week] += tally.reports
        elif tally.language != ALL:
            counts["language"][tally.language][week] += tally.reports
        else:
            total, answered = total + tally.reports, answered + tally.responded
            by_week[week] += tally.durations()
    return Figures(
        series={key: _series(counts[key], weeks) for key in KEYS},
        medians=[_median(by_week[w]) or 0.0 for w in weeks],
        total=total,
        answered=answered,
        median=_median([us for durations in by_week.values() for us in durations]),
    )


@blueprint.get("/stats")
@allow(*READERS)
def stats() -> Response:
    gw = security.gateway()
    count = weeks_param()
    this_week = week_of(security.now())
    weeks = [this_week - timedelta(weeks=i) for i in range(count - 1, -1, -1)]
    with gw.sessions() as db:
        shown_figures = figures(daily_counts.window(db, weeks[0], detailed=False), weeks)
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
        shown = {names[key](k): v for k, v in shown_figures.series[key].items()}
        legend = [
            (colour(i), name, count_shown(sum(v))) for i, (name, v) in enumerate(shown.items())
        ]
        charts.append((title, stacked_bars(labels, shown, counts=True), legend))
    medians = shown_figures.medians
    response_chart = stacked_bars(labels, {t(_("median hours")): medians}, unit=" h")
    return render(
        "stats.html",
        weeks=count,
        total=count_shown(shown_figures.total),
        charts=charts,
        response_chart=response_chart,
        median=shown_figures.median,
        waiting=count_shown(shown_figures.total - shown_figures.answered),
    )


def csv_rows(tallies: list[Tally]) -> list[list[Any]]:
    """One row per week, channel, category and language: counts ("<5" for 1 to 4), median."""
    groups: dict[tuple[date, str, str, str], list[Tally]] = defaultdict(list)
    for tally in tallies:
        groups[(monday(tally.day), tally.channel, tally.category, tally.language)].append(tally)
    rows: list[list[Any]] = []
    for (week, channel, category, language), items in sorted(groups.items()):
        median = _median([us for item in items for us in item.durations()])
        rows.append(
            [
                week.isoformat(),
                channel,
                category,
                language,
                count_shown(sum(i.reports for i in items)),
                count_shown(sum(i.responded for i in items)),
                "" if median is None else median,
            ]
        )
    return rows


@blueprint.get("/stats.csv")
@allow(*READERS)
def stats_csv() -> Response:
    gw = security.gateway()
    count = weeks_param()
    first = week_of(security.now()) - timedelta(weeks=count - 1)
    with gw.sessions() as db, db.begin():
        tallies = daily_counts.window(db, first, detailed=True)
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
    writer.writerows(csv_rows(tallies))
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="reports-by-week.csv"'
    return response
