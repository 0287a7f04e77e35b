"""Server-side SVG bar charts: geometry computed here, drawn by ``audit/_chart.html``.

No JavaScript and no CDN; colours are SVG presentation attributes because the CSP forbids
inline styles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

WIDTH = 640
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 40


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    colour: str


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    legend: list[tuple[float, Series]] = field(default_factory=list)
    # The same figures as a table, for screen readers and for tests.
    rows: list[tuple[date, list[int]]] = field(default_factory=list)
    series: tuple[Series, ...] = ()
    baseline: float = HEIGHT - BOTTOM
    left: float = LEFT
    right: float = WIDTH - RIGHT
    total: int = 0


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000):
        if value <= step * 4:
            return step * 4
    return value


def stacked_bars(
    title: str, days: list[date], series: tuple[Series, ...], counts: dict[tuple, int]
) -> Chart:
    """One stacked bar per day; ``counts`` maps (day, series key) to a number."""
    chart = Chart(title=title, series=series)
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(len(days), 1)
    totals = [sum(counts.get((d, s.key), 0) for s in series) for d in days]
    top = _nice_max(max(totals, default=0))
    scale = plot_height / top
    for i, day in enumerate(days):
        x = LEFT + i * slot + slot * 0.15
        y = chart.baseline
        values = [counts.get((day, s.key), 0) for s in series]
        chart.rows.append((day, values))
        for s, n in zip(series, values, strict=True):
            if not n:
                continue
            h = n * scale
            y -= h
            chart.bars.append(
                Bar(
                    round(x, 1),
                    round(y, 1),
                    round(slot * 0.7, 1),
                    round(h, 1),
                    s.colour,
                    f"{day:%d %b}: {n} {s.label.lower()}",
                )
            )
        if i % 2 == 0 or len(days) <= 7:
            chart.x_labels.append((round(x + slot * 0.35, 1), f"{day:%d %b}"))
    chart.y_ticks = [
        (round(chart.baseline - k * plot_height / 4, 1), k * top // 4) for k in range(5)
    ]
    chart.legend = [(LEFT + i * 120, s) for i, s in enumerate(series)]
    chart.total = sum(totals)
    return chart
