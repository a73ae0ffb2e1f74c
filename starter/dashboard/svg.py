"""Server-rendered SVG charts: horizontal bars and lines. Plain markup, escaped, no script."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

COLOURS = ("#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2")


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def bars(title: str, items: Sequence[tuple[str, float]], unit: str = "", width: int = 560) -> str:
    """One horizontal bar per (label, value); negative values are drawn as zero-length bars."""
    row, label_w = 26, 190
    height = 34 + row * max(len(items), 1)
    top = max((v for _, v in items), default=0) or 1
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
    ]
    for index, (label, value) in enumerate(items):
        y = 28 + index * row
        length = max(value, 0) / top * (width - label_w - 90)
        colour = COLOURS[index % len(COLOURS)]
        parts += [
            f'<text x="0" y="{y + 15}" font-size="12">{escape(label[:30])}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="16" fill="{colour}"/>',
            f'<text x="{label_w + length + 6:.1f}" y="{y + 15}" font-size="12" data-value="{value}">'
            f"{_fmt(value)}{escape(unit)}</text>",
        ]
    if not items:
        parts.append(f'<text x="0" y="{height - 8}" font-size="12">no data</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines(title: str, series: dict[str, Sequence[float]], labels: Sequence[str], width: int = 560) -> str:
    """One polyline per named series over shared x labels, with a zero line and a legend."""
    height, left, bottom, top_pad = 240, 70, 40, 30
    values = [v for s in series.values() for v in s] or [0.0]
    low, high = min(min(values), 0.0), max(max(values), 0.0)
    span = (high - low) or 1
    steps = max(max((len(s) for s in series.values()), default=1) - 1, 1)

    def x(i: int) -> float:
        return left + i * (width - left - 20) / steps

    def y(v: float) -> float:
        return top_pad + (high - v) / span * (height - top_pad - bottom)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>',
        f'<text x="0" y="16" font-weight="bold" font-size="14">{escape(title)}</text>',
        f'<line x1="{left}" x2="{width - 20}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#999"/>',
        f'<text x="0" y="{y(high) + 4:.1f}" font-size="11">{_fmt(high)}</text>',
        f'<text x="0" y="{y(low) + 4:.1f}" font-size="11">{_fmt(low)}</text>',
    ]
    for index, (name, points) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(points))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
        parts.append(
            f'<text x="{left + index * 120}" y="{height - 6}" font-size="12" fill="{colour}">{escape(name)}</text>'
        )
    if labels:
        parts.append(f'<text x="{left}" y="{height - 22}" font-size="11">{escape(labels[0])}</text>')
        parts.append(
            f'<text x="{width - 20}" y="{height - 22}" font-size="11" text-anchor="end">{escape(labels[-1])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
