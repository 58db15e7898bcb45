"""PNG charts with matplotlib's Agg backend (no display). Arabic labels are reshaped (joined letter forms)
and reordered for display, because matplotlib draws text left to right, glyph by glyph."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")

import arabic_reshaper
from bidi.algorithm import get_display
from matplotlib.figure import Figure


def shaped(text: str, locale: str) -> str:
    return get_display(arabic_reshaper.reshape(text)) if locale == "ar" else text


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return buffer.getvalue()


def trend_png(
    months: Sequence[str],
    active: Sequence[int],
    churn: Sequence[float | None],
    nps: Sequence[float | None],
    *,
    labels: dict[str, str],
    locale: str,
) -> bytes:
    """Active customers (bars), churn rate and NPS (lines on a second axis) per month."""
    figure = Figure(figsize=(8, 4.5))
    axes = figure.subplots()
    positions = list(range(len(months)))
    axes.bar(positions, active, color="#9ecae1", label=shaped(labels["active"], locale))
    axes.set_ylabel(shaped(labels["active"], locale))
    axes.set_xticks(positions, months, rotation=45, ha="right")
    rates = axes.twinx()
    for values, key, colour in ((churn, "churn", "#e6550d"), (nps, "nps", "#31a354")):
        points = [(x, y) for x, y in zip(positions, values, strict=True) if y is not None]
        if points:
            rates.plot(
                *zip(*points, strict=True), marker="o", color=colour, label=shaped(labels[key], locale)
            )
    rates.axhline(0, color="#999999", linewidth=0.5)
    handles = axes.get_legend_handles_labels()
    more = rates.get_legend_handles_labels()
    axes.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left", fontsize=8)
    axes.set_title(shaped(labels["trend_title"], locale))
    return _png(figure)


def cohort_png(
    cohorts: Sequence[str],
    grid: Sequence[Sequence[float | None]],
    *,
    labels: dict[str, str],
    locale: str,
) -> bytes:
    """Heatmap: one row per cohort, one column per month since the first order, cells in percent."""
    figure = Figure(figsize=(8, max(2.5, 0.45 * len(cohorts) + 1.5)))
    axes = figure.subplots()
    width = max((len(row) for row in grid), default=1)
    values = [
        [float("nan") if cell is None else cell for cell in row] + [float("nan")] * (width - len(row))
        for row in grid
    ]
    image = axes.imshow(values, cmap="YlGn", vmin=0, vmax=100, aspect="auto")
    for y, row in enumerate(grid):
        for x, cell in enumerate(row):
            if cell is not None:
                colour = "white" if cell > 60 else "black"  # readable on the dark end of the scale
                axes.text(x, y, f"{cell:.0f}", ha="center", va="center", fontsize=7, color=colour)
    axes.set_xticks(range(width), [str(i) for i in range(width)])
    axes.set_yticks(range(len(cohorts)), cohorts)
    axes.set_xlabel(shaped(labels["months_since"], locale))
    axes.set_ylabel(shaped(labels["first_order_month"], locale))
    axes.set_title(shaped(labels["cohort_title"], locale))
    figure.colorbar(image, ax=axes)
    return _png(figure)
