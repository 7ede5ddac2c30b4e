"""The forecast chart: the revenue distribution with the target and the 10/50/90 % quantiles,
as PNG bytes drawn with matplotlib's object API (no pyplot, no global settings)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from leadscore.evaluation.plots import DPI, FIGSIZE
from leadscore.scoring.forecast import QUANTILES, Forecast

__all__ = ["forecast_plot"]

_BARS = 80


def forecast_plot(forecast: Forecast, *, path: str | os.PathLike[str] | None = None) -> bytes:
    """The probability of each revenue band, the target and the quantiles; returns the PNG
    bytes and writes them to ``path`` when given."""
    dist = forecast.distribution
    values, pmf = dist.values, dist.pmf
    lo, hi = dist.quantile(0.0005), dist.quantile(0.9995)
    inside = np.flatnonzero((values >= lo) & (values <= hi))
    # Whole grid points per bar: bars cut across the grid would alternate in height.
    per_bar = max(1, -(-inside.shape[0] // _BARS))
    starts = np.arange(inside[0], inside[-1] + 1, per_bar)
    heights = np.add.reduceat(pmf[: inside[-1] + 1], starts)
    edges = np.append(values[starts] - dist.step / 2, values[inside[-1]] + dist.step / 2)
    figure = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ax.bar(edges[:-1], heights, width=np.diff(edges), align="edge", color="#1f4e79", alpha=0.8)
    for level, style in zip(QUANTILES, (":", "--", ":"), strict=True):
        q = dist.quantile(level)
        ax.axvline(
            q, color="#5d6d7e", linestyle=style, linewidth=1.4, label=f"q{level:.0%} {q:,.0f}"
        )
    ax.axvline(
        forecast.target,
        color="#c0392b",
        linewidth=2.2,
        label=f"target {forecast.target:,.0f} (P = {forecast.p_target:.0%})",
    )
    ax.set_title(
        f"Revenue from the open pipeline, {forecast.period.label()}: "
        f"expected {forecast.expected:,.0f}",
        fontsize=11,
    )
    ax.set_xlabel("revenue won within the period", fontsize=10)
    ax.set_ylabel("probability", fontsize=10)
    ax.legend(fontsize=9, frameon=False)
    ax.grid(True, color="#e3e3e3", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data
