"""Charts as inline SVG, drawn on the server from the figures (no script, nothing fetched).

Each chart has a viewBox and scales to its card's width; colours are the classes
``c0``..``c9`` of admin.css (the page's policy allows no inline style). The page shows
the same figures in a table beside each chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH = 440
COLOURS = 10
Format = Callable[[float], str]


def colour(index: int) -> str:
    return f"c{index % COLOURS}"


def _svg(label: str, height: float, body: list[str], described_by: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height:.0f}" role="img" '
        f'aria-label="{escape(label)}" aria-describedby="{escape(described_by)}">'
        + "".join(body)
        + "</svg>"
    )


def _legend(names: Sequence[str]) -> str:
    items = "".join(
        f'<li><span class="swatch {colour(i)}"></span>{escape(name)}</li>'
        for i, name in enumerate(names)
    )
    return f'<ul class="legend">{items}</ul>'


def _nothing(label: str) -> Markup:
    return Markup(f'<p class="muted chart-empty">{escape(label)}: nothing to chart yet.</p>')


def _ticks(low: float, high: float, whole: bool, count: int = 4) -> list[float]:
    """Round gridline values spanning [low, high] (0 among them); ``whole``: counts,
    never a fraction."""
    raw = (high - low) / count or 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    if whole:
        step = max(step, 1)
    first, last = math.floor(low / step), math.ceil(high / step)
    return [i * step for i in range(first, last + 1)]


def _rect(x: float, y: float, w: float, h: float, cls: str, tip: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{max(h, 0.5):.1f}" '
        f'class="{cls}"><title>{escape(tip)}</title></rect>'
    )


def stacked_columns(
    label: str,
    x_labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float]]],
    fmt: Format,
    described_by: str,
    whole: bool = False,
) -> Markup:
    """One column per x label, its series stacked (negative parts below the axis)."""
    tops = [sum(max(v[i], 0) for _, v in series) for i in range(len(x_labels))]
    bottoms = [sum(min(v[i], 0) for _, v in series) for i in range(len(x_labels))]
    if not any(tops) and not any(bottoms):
        return _nothing(label)
    ticks = _ticks(min(bottoms, default=0), max(tops, default=0), whole)
    left, right, top, height = 52, 6, 8, 206
    plot_w, plot_h = WIDTH - left - right, height - top - 28
    low, high = ticks[0], ticks[-1]

    def y(value: float) -> float:
        return top + plot_h * (high - value) / (high - low)

    body = []
    for tick in ticks:
        body.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'class="{"axis" if tick == 0 else "grid"}"/>'
            f'<text x="{left - 4}" y="{y(tick) + 4:.1f}" class="tick" text-anchor="end">'
            f"{escape(fmt(tick))}</text>"
        )
    band = plot_w / len(x_labels)
    every = math.ceil(len(x_labels) / 6)
    for i, x_label in enumerate(x_labels):
        x = left + i * band + band * 0.15
        up = down = 0.0
        for s, (name, values) in enumerate(series):
            value = values[i]
            if not value:
                continue
            start = up if value > 0 else down
            end = start + value
            body.append(
                _rect(
                    x,
                    y(max(start, end)),
                    band * 0.7,
                    abs(y(start) - y(end)),
                    colour(s),
                    f"{x_label} · {name}: {fmt(value)}",
                )
            )
            up, down = (end, down) if value > 0 else (up, end)
        if i % every == 0:
            body.append(
                f'<text x="{left + (i + 0.5) * band:.1f}" y="{height - 4}" class="tick" '
                f'text-anchor="middle">{escape(x_label)}</text>'
            )
    return Markup(_svg(label, height, body, described_by) + _legend([name for name, _ in series]))


def bars(
    label: str, rows: Sequence[tuple[str, float, str]], described_by: str, colour_index: int = 0
) -> Markup:
    """One horizontal bar per row (name, value, text shown after the bar)."""
    most = max((value for _, value, _ in rows), default=0)
    if not most:
        return _nothing(label)
    row_h, room = 40, 150  # room: for the text after the longest bar
    body = []
    for i, (name, value, text) in enumerate(rows):
        top = i * row_h
        width = (WIDTH - room) * value / most
        body.append(
            f'<text x="0" y="{top + 13}" class="name">{escape(name)}</text>'
            + _rect(0, top + 18, width, 16, colour(colour_index), f"{name}: {text}")
            + f'<text x="{width + 6:.1f}" y="{top + 31}" class="value">{escape(text)}</text>'
        )
    return Markup(_svg(label, row_h * len(rows), body, described_by))


def stacked_bars(
    label: str,
    rows: Sequence[tuple[str, Sequence[float]]],
    names: Sequence[str],
    fmt: Format,
    described_by: str,
) -> Markup:
    """Per row (a model), one horizontal bar split among the series (the channels), so
    that rows of equal totals compare by their shares."""
    most = max((sum(max(v, 0) for v in values) for _, values in rows), default=0)
    if most <= 0:
        return _nothing(label)
    row_h = 40
    body = []
    for r, (row, values) in enumerate(rows):
        top = r * row_h
        body.append(f'<text x="0" y="{top + 13}" class="name">{escape(row)}</text>')
        x = 0.0
        for s, value in enumerate(values):
            width = WIDTH * max(value, 0) / most
            if width <= 0:
                continue
            shown = fmt(value)
            body.append(_rect(x, top + 18, width, 18, colour(s), f"{row} · {names[s]}: {shown}"))
            if width > 7.5 * len(shown) + 8:  # room for the figure inside its segment
                body.append(
                    f'<text x="{x + 4:.1f}" y="{top + 31}" class="inside">{escape(shown)}</text>'
                )
            x += width
    return Markup(_svg(label, row_h * len(rows), body, described_by) + _legend(names))
