"""Inline SVG plots of the gallery: a unit's curve and its activation histogram, with labelled axes.

Pure functions returning the numbers a template draws (no plotting library, no scripts).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..examples.topk import HIST_EDGES

WIDTH, HEIGHT = 360, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 26, 36  # room for tick labels and axis titles (the y title above the plot)


def number(value: float) -> str:
    """A tick label: 3 significant digits."""
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.3g}"


def curve_svg_points(
    curve: Sequence[float], width: int = WIDTH, height: int = HEIGHT, box: tuple = (LEFT, RIGHT, TOP, BOTTOM)
) -> str:
    """The curve as the ``points`` of an SVG polyline inside the plot box (left, right, top, bottom margins).

    Example:
        >>> curve_svg_points([1.0, 3.0, 2.0], 100, 60, (10, 10, 10, 10))
        '10.0,50.0 50.0,10.0 90.0,30.0'
    """
    if not len(curve):
        return ""
    left, right, top, bottom = box
    values = np.asarray(curve, dtype=np.float64)
    values = np.where(np.isfinite(values), values, 0.0)
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    steps = max(1, len(values) - 1)
    points = []
    for i, value in enumerate(values):
        x = left + (width - left - right) * i / steps
        y = height - bottom - (height - top - bottom) * (value - low) / span
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


PLOT_BOX = {
    "width": WIDTH,
    "height": HEIGHT,
    "left": LEFT,
    "right": WIDTH - RIGHT,
    "top": TOP,
    "bottom": HEIGHT - BOTTOM,
}
"""The SVG size and the plot area's edges, shared by every plot."""


def curve_plot(curve: Sequence[float], x_label: str, y_label: str) -> dict:
    """What the template draws: the polyline, the axis ticks and titles."""
    values = [v for v in curve if v is not None and math.isfinite(v)]
    return {
        **PLOT_BOX,
        "points": curve_svg_points(curve),
        "x_first": 1,
        "x_last": len(curve),
        "y_low": number(min(values)) if values else "–",
        "y_high": number(max(values)) if values else "–",
        "x_label": x_label,
        "y_label": y_label,
    }


def histogram_plot(counts: np.ndarray, bars: int = 24) -> dict:
    """A unit's example-score histogram (fixed asinh bins, :mod:`..examples.topk`) as ``bars`` equal bars
    over the range the scores occupy; each bin's count goes to the bar holding its centre."""
    counts = np.asarray(counts, dtype=np.int64)
    used = np.flatnonzero(counts)
    if used.size == 0:
        return {}
    centres = (HIST_EDGES[:-1] + HIST_EDGES[1:]) / 2
    low, high = float(HIST_EDGES[used[0]]), float(HIST_EDGES[used[-1] + 1])
    if high <= low:
        high = low + 1.0
    where = np.clip(((centres[used] - low) / (high - low) * bars).astype(int), 0, bars - 1)
    heights = np.zeros(bars, dtype=np.int64)
    np.add.at(heights, where, counts[used])
    top = int(heights.max())
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    rects = []
    for i, value in enumerate(heights):
        h = inner_h * value / top if top else 0
        rects.append(
            {"x": f"{LEFT + inner_w * i / bars:.1f}", "y": f"{HEIGHT - BOTTOM - h:.1f}",
             "w": f"{max(inner_w / bars - 1, 1):.1f}", "h": f"{h:.1f}", "count": int(value)}
        )  # fmt: skip
    zero = None
    if low < 0 < high:
        zero = f"{LEFT + inner_w * (0 - low) / (high - low):.1f}"
    return {
        **PLOT_BOX,
        "rects": rects,
        "x_low": number(low),
        "x_high": number(high),
        "y_high": top,
        "zero": zero,
        "total": int(counts.sum()),
    }
