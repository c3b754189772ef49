"""Small counts on the statistics page, its charts and its CSV: 1 to 4 is "<5", 5 is 5.

Nine web reports this week, five in French and four in English: the page and
the CSV show the five and the nine, never the four (docs/exports.md).
"""

from __future__ import annotations

import csv
import io
import re

import pytest

from gateway.cases.reports import NewReport
from gateway.console.charts import stacked_bars, summary
from gateway.console.small_counts import shown
from gateway.core.states import Role
from gateway.work.reporter import submit_report


@pytest.mark.parametrize(
    ("count", "expected"),
    [(0, 0), (1, "<5"), (4, "<5"), (4.0, "<5"), (5, 5), (5.0, 5), (12, 12)],
)
def test_the_rule(count: float, expected: int | str) -> None:
    assert shown(count) == expected


@pytest.mark.parametrize(
    ("values", "counts", "text"),
    [
        ([3.0, 7.0], True, "w1: a <5; w2: a 7"),
        ([3.0, 7.0], False, "w1: a 3; w2: a 7"),
        ([0.0, 5.0], True, "w2: a 5"),
    ],
)
def test_a_chart_of_counts_names_small_values_only_as_small(
    values: list[float], counts: bool, text: str
) -> None:
    assert summary(["w1", "w2"], {"a": values}, counts=counts) == text
    svg = str(stacked_bars(["w1", "w2"], {"a": values}, counts=counts).titled("T"))
    assert ("fill-opacity" in svg) is (counts and 0 < values[0] < 5)


def test_small_bars_are_drawn_at_the_height_of_five() -> None:
    """A 1 and a 4 draw the same bar, so its height does not tell them apart."""

    def heights(value: float) -> list[str]:
        svg = str(stacked_bars(["w"], {"a": [value], "b": [6.0]}, counts=True).titled("T"))
        return re.findall(r'height="([\d.]+)"', svg)

    assert heights(1.0) == heights(4.0) == heights(5.0)
    assert heights(4.0) != heights(6.0)


def test_the_page_and_the_csv_hide_counts_under_five(gw, signed_in) -> None:  # type: ignore[no-untyped-def]
    for language, count in (("fr", 5), ("en", 4)):
        for i in range(count):
            report = NewReport(narrative=f"Report {i} in {language}", language=language)
            submit_report(gw, report, channel="web")
    viewer = signed_in(Role.VIEWER)
    page = viewer.get("/console/stats?weeks=4").get_data(as_text=True)
    assert "<b>9</b>" in page, "the total, 9, is exact"
    assert "fr (5)" in page and "en (&lt;5)" in page and "(4)" not in page
    assert "fr 5, en &lt;5" in page or "en &lt;5, fr 5" in page, "the chart's description"
    assert "en 4" not in page and "en: 4" not in page
    body = viewer.get("/console/stats.csv?weeks=4").get_data(as_text=True)
    rows = {r["language"]: r for r in csv.DictReader(io.StringIO(body))}
    assert (rows["fr"]["reports"], rows["en"]["reports"]) == ("5", "<5")
    assert rows["fr"]["responded"] == rows["en"]["responded"] == "0", "0 stays 0"
