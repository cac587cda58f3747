"""Small charts drawn on the server as inline SVG (no script, no network): bars and lines."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f6f8b", "#e07a2e", "#5b8c3a", "#8e3b8c", "#b8860b")


def _nice_max(value: float) -> float:
    if value <= 4:
        return 4.0  # small counts: whole-number ticks
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def bar_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str = "", width: int = 640,
    height: int = 240,
) -> str:
    """Grouped vertical bars, one group per label, one colour per series; returns an ``<svg>`` element."""
    left, right, top, bottom = 48, 12, 24, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for _, values in series for v in values), default=0))
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = max(group_w * 0.8 / max(len(series), 1), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<title>{escape(title)}</title>',
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">'
                     f"{_short(peak * i / 4)}</text>")
    step = max(1, groups // 12)
    for g, label in enumerate(labels):
        x0 = left + g * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            value = values[g] if g < len(values) else 0
            h = plot_h * value / peak
            parts.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(label)} — {escape(name)}: {value:g}</title></rect>'
            )
        if g % step == 0:
            parts.append(f'<text x="{x0 + group_w * 0.4:.1f}" y="{height - bottom + 14}" text-anchor="middle" '
                         f'font-size="10">{escape(label)}</text>')
    parts.extend(_legend(series, left, height - 14))
    parts.append("</svg>")
    return "".join(parts)


def line_chart(
    labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]], *, title: str = "", width: int = 640,
    height: int = 220,
) -> str:
    """One polyline per series over evenly spaced labels."""
    left, right, top, bottom = 48, 12, 24, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max((v for _, values in series for v in values), default=0))
    n = max(len(labels), 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<title>{escape(title)}</title>',
    ]
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="10">'
                     f"{_short(peak * i / 4)}</text>")
    step = max(1, len(labels) // 10)
    for i, label in enumerate(labels):
        if i % step == 0:
            x = left + plot_w * i / (n - 1)
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10">'
                         f"{escape(label)}</text>")
    for s, (_name, values) in enumerate(series):
        points = " ".join(
            f"{left + plot_w * i / (n - 1):.1f},{top + plot_h - plot_h * v / peak:.1f}" for i, v in enumerate(values)
        )
        parts.append(f'<polyline fill="none" stroke="{PALETTE[s % len(PALETTE)]}" stroke-width="2" '
                     f'points="{points}"/>')
    parts.extend(_legend(series, left, height - 14))
    parts.append("</svg>")
    return "".join(parts)


def _legend(series: Sequence[tuple[str, Sequence[float]]], x: int, y: int) -> list[str]:
    parts = []
    for s, (name, _values) in enumerate(series):
        parts.append(f'<rect x="{x + s * 150}" y="{y - 9}" width="10" height="10" fill="{PALETTE[s % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + s * 150 + 14}" y="{y}" font-size="11">{escape(name)}</text>')
    return parts


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"
