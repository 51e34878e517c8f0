"""Geometry of the horizontal bar chart the report pages draw as inline SVG (no script)."""

from __future__ import annotations

from dataclasses import dataclass

from rapport_funnel.reports.base import Bar

ROW = 28
LABEL_WIDTH = 200
BAR_WIDTH = 420
WIDTH = LABEL_WIDTH + BAR_WIDTH + 120


@dataclass
class PlacedBar:
    label: str
    text: str
    y: int
    width: float


def layout(bars: list[Bar]) -> tuple[list[PlacedBar], int]:
    """Bars scaled to the largest value; returns them with the chart's height."""
    top = max((b.value for b in bars), default=0) or 1
    placed = [
        PlacedBar(
            label=b.label if len(b.label) <= 30 else b.label[:29] + "…",
            text=b.text or f"{b.value:g}",
            y=index * ROW,
            width=round(max(0.0, b.value) / top * BAR_WIDTH, 1),
        )
        for index, b in enumerate(bars)
    ]
    return placed, max(ROW, len(bars) * ROW)
