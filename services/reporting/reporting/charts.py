"""Server-side charts: SVG geometry from numbers, rendered by the templates (no JS, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float
    colour: str


def bars(
    values: Sequence[tuple[str, int, str]],
    *,
    width: float = 360,
    height: float = 160,
    gap: float = 16,
) -> list[Bar]:
    """Vertical bars scaled to the largest value; (label, value, colour) in order."""
    if not values:
        return []
    top = max(value for _, value, _ in values) or 1
    bar_width = (width - gap * (len(values) + 1)) / len(values)
    result = []
    for index, (label, value, colour) in enumerate(values):
        bar_height = (height - 40) * value / top  # room for the value above the tallest
        x = gap + index * (bar_width + gap)
        result.append(Bar(label, value, x, height - 20 - bar_height, bar_width, bar_height, colour))
    return result


def share(part: int, whole: int) -> float:
    """Percent, 0–100, one decimal; 0 when there is no whole."""
    return round(100 * part / whole, 1) if whole else 0.0
