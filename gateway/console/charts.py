"""Small inline SVG bar charts, drawn on the server: no script, no library, a few KB.

Bars are stacked by series; the legend is HTML beside the chart so it wraps
and translates like any text. Values are shown in each bar's <title> for a
hover and for screen readers.
"""

from __future__ import annotations

from markupsafe import Markup, escape

PALETTE = ("#1f3a5f", "#c04b00", "#2e7d32", "#6a1b9a", "#00838f", "#9e9d24", "#ad1457", "#5d4037")
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 170, 34, 22, 8


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return step
    return value


def stacked_bars(labels: list[str], series: dict[str, list[float]], unit: str = "") -> Markup:
    """One bar per label, stacked by series (in the order given)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(labels), 1)
    bar = max(slot * 0.7, 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="100%" style="max-width:{WIDTH}px" role="img" font-size="10" '
        'font-family="sans-serif">',
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
            h = plot_h * value / top
            y -= h
            tip = escape(f"{name} · {serie}: {value:g}{unit}")
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{colour(index)}"><title>{tip}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{HEIGHT - 8}" text-anchor="middle">'
                f"{escape(name)}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every inserted text is escaped above
