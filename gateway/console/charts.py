"""Small inline SVG bar charts, drawn on the server: no script, no library, a few KB.

Bars are stacked by series; the legend is HTML beside the chart so it wraps
and translates like any text. Values are shown in each bar's <title> for a
hover. For screen readers each chart is an image (role="img") named by its
<title> (the heading the template gives it, `chart.titled(heading)`) and
described by a <desc> that lists every bar's values. A chart of counts
(`counts=True`) hides small ones (gateway/console/small_counts.py): a value
from 1 to 4 is drawn pale at the height of 5 and named "<5", so neither its
height nor its text tells which.
"""

from __future__ import annotations

import itertools

from markupsafe import Markup, escape

from gateway.console.small_counts import SMALL, THRESHOLD

PALETTE = ("#1f3a5f", "#c04b00", "#2e7d32", "#6a1b9a", "#00838f", "#9e9d24", "#ad1457", "#5d4037")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 170, 34, 22, 8
_chart_ids = itertools.count(1)  # ids of <title> and <desc>, unique within a page


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    return value


class Chart:
    """A chart drawn when shown, so the template can name it after its heading."""

    def __init__(
        self,
        labels: list[str],
        series: dict[str, list[float]],
        unit: str,
        title: str,
        counts: bool = False,
    ) -> None:
        self.labels, self.series, self.unit, self.title = labels, series, unit, title
        self.counts = counts

    def titled(self, title: str) -> Markup:
        """The SVG, its accessible name `title`."""
        return _draw(self.labels, self.series, self.unit, title, self.counts)

    def __html__(self) -> str:
        return str(self.titled(self.title))


def stacked_bars(
    labels: list[str],
    series: dict[str, list[float]],
    unit: str = "",
    title: str = "",
    counts: bool = False,
) -> Chart:
    """One bar per label, stacked by series (in the order given); `counts`: hide small ones."""
    return Chart(labels, series, unit, title, counts)


def _small(value: float, counts: bool) -> bool:
    return counts and 0 < value < THRESHOLD


def _text(value: float, unit: str, counts: bool) -> str:
    return SMALL if _small(value, counts) else f"{value:g}{unit}"


def _height(value: float, counts: bool) -> float:
    return THRESHOLD if _small(value, counts) else value


def summary(
    labels: list[str], series: dict[str, list[float]], unit: str = "", counts: bool = False
) -> str:
    """Every bar's values as text (no words to translate): 'label: serie 12, other <5; …'."""
    bars = []
    for i, name in enumerate(labels):
        shown = [
            f"{serie} {_text(values[i], unit, counts)}"
            for serie, values in series.items()
            if values[i]
        ]
        if shown:
            bars.append(f"{name}: {', '.join(shown)}")
    return "; ".join(bars) or "0"


def _draw(
    labels: list[str], series: dict[str, list[float]], unit: str, title: str, counts: bool
) -> Markup:
    ident = f"chart-{next(_chart_ids)}"
    # Untitled, the data summary is the name; titled, it is the description.
    named = (
        f'aria-labelledby="{ident}-t" aria-describedby="{ident}-d"'
        if title
        else f'aria-labelledby="{ident}-d"'
    )
    totals = [
        sum(_height(values[i], counts) for values in series.values()) for i in range(len(labels))
    ]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.7, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" style="max-width:{WIDTH}px" role="img" font-size="10" '
        f'font-family="sans-serif" {named}>',
        f'<title id="{ident}-t">{escape(title)}</title>' if title else "",
        f'<desc id="{ident}-d">{escape(summary(labels, series, unit, counts))}</desc>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 4}" y2="{TOP + plot_h}" '
        'stroke="#888"/>',
    ]
    for fraction in (0.5, 1.0):
        y = TOP + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - 4}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 3}" y="{y + 3:.1f}" text-anchor="end">{top * fraction:g}</text>'
        )
    every = max(1, len(labels) // 8)
    for i, name in enumerate(labels):
        x = LEFT + i * slot + (slot - bar) / 2
        y = TOP + plot_h
        for index, (serie, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = plot_h * _height(value, counts) / top
            y -= h
            tip = escape(f"{name} · {serie}: {_text(value, unit, counts)}")
            pale = ' fill-opacity="0.45"' if _small(value, counts) else ""
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour(index)}"{pale}><title>{tip}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(name)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every inserted text is escaped above
