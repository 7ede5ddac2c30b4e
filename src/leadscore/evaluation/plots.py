"""Evaluation charts as PNG bytes, drawn with matplotlib's object API and the Agg canvas.

Every function builds its own :class:`~matplotlib.figure.Figure` (7 x 5 inches at 110 dpi, so
770 x 550 pixels), never touches pyplot or the global rc settings, returns the PNG bytes and,
when ``path`` is given, also writes them there. ``curves`` map a legend name to probabilities
for the same leads as ``y_true``, e.g. ``{"model": p, "baseline": q, "oracle": p_true}``; the
first is drawn solid and strongest, the others dashed.
"""

from __future__ import annotations

import io
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from sklearn.metrics import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

from leadscore.errors import DataError, UsageError
from leadscore.evaluation.calibration import calibration_table, expected_calibration_error
from leadscore.evaluation.inputs import (
    FloatArray,
    as_curves,
    as_outcomes,
    require_both_classes,
)

__all__ = [
    "DPI",
    "FIGSIZE",
    "TOP_FEATURES",
    "calibration_plot",
    "gain_lift_plot",
    "importance_plot",
    "precision_recall_plot",
    "roc_plot",
    "shap_summary_plot",
]

FIGSIZE: Final = (7.0, 5.0)
DPI: Final = 110
TOP_FEATURES: Final = 20
"""Bars in :func:`importance_plot` and rows in :func:`shap_summary_plot`."""

PathArg = str | os.PathLike[str] | None

_COLORS: Final = ("#1f4e79", "#e07b00", "#2a9d55", "#7b3fa0", "#c0392b", "#5d6d7e")
_STYLES: Final = ("-", "--", "-.", ":")
_REFERENCE: Final = "#8c8c8c"
_MISSING_COLOR: Final = "#b5b5b5"
_VALUE_CMAP: Final = LinearSegmentedColormap.from_list("low_high", ["#1e88e5", "#ff0d57"])
_SHAP_MAX_POINTS: Final = 2_000


def _figure() -> Figure:
    figure = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _style(ax: Axes) -> None:
    ax.grid(True, color="#e3e3e3", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)


@dataclass(frozen=True)
class _Line:
    color: str
    linestyle: str
    linewidth: float


def _line(index: int) -> _Line:
    """The first curve solid and strong, the others dashed, dash-dotted, dotted."""
    style = "-" if index == 0 else _STYLES[1 + (index - 1) % (len(_STYLES) - 1)]
    return _Line(_COLORS[index % len(_COLORS)], style, 2.2 if index == 0 else 1.6)


def _png(figure: Figure, path: PathArg) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    data = buffer.getvalue()
    if path is not None:
        Path(path).write_bytes(data)
    return data


def _checked(
    y_true: npt.ArrayLike, curves: Mapping[str, npt.ArrayLike], function: str
) -> tuple[FloatArray, dict[str, FloatArray]]:
    y = as_outcomes(y_true)
    require_both_classes(y, function)
    return y, as_curves(curves, y.shape[0])


def roc_plot(
    y_true: npt.ArrayLike, curves: Mapping[str, npt.ArrayLike], *, path: PathArg = None
) -> bytes:
    """ROC curves of every entry of ``curves`` with its AUC in the legend, and the chance line."""
    y, probs = _checked(y_true, curves, "roc_plot")
    figure = _figure()
    ax = figure.add_subplot()
    ax.plot([0, 1], [0, 1], color=_REFERENCE, linestyle=":", linewidth=1.2, label="chance (0.500)")
    for index, (name, p) in enumerate(probs.items()):
        fpr, tpr, _ = roc_curve(y, p)
        auc = roc_auc_score(y, p)
        line = _line(index)
        ax.plot(
            fpr,
            tpr,
            label=f"{name} ({auc:.3f})",
            color=line.color,
            linestyle=line.linestyle,
            linewidth=line.linewidth,
        )
    ax.set(xlim=(0, 1), ylim=(0, 1.01), aspect="equal")
    ax.set_title("ROC curve: are converting leads ranked first?", fontsize=12)
    ax.set_xlabel("False positive rate (non-converting leads flagged)", fontsize=10)
    ax.set_ylabel("True positive rate (converting leads found)", fontsize=10)
    ax.legend(title="ROC AUC", loc="lower right", fontsize=9, title_fontsize=9, frameon=False)
    _style(ax)
    return _png(figure, path)


def precision_recall_plot(
    y_true: npt.ArrayLike, curves: Mapping[str, npt.ArrayLike], *, path: PathArg = None
) -> bytes:
    """Precision against recall of every entry of ``curves``, with the positive rate as chance."""
    y, probs = _checked(y_true, curves, "precision_recall_plot")
    rate = float(y.mean())
    figure = _figure()
    ax = figure.add_subplot()
    ax.axhline(rate, color=_REFERENCE, linestyle=":", linewidth=1.2, label=f"chance ({rate:.3f})")
    for index, (name, p) in enumerate(probs.items()):
        precision, recall, _ = precision_recall_curve(y, p)
        ap = average_precision_score(y, p)
        line = _line(index)
        ax.plot(
            recall,
            precision,
            drawstyle="steps-post",
            label=f"{name} ({ap:.3f})",
            color=line.color,
            linestyle=line.linestyle,
            linewidth=line.linewidth,
        )
    ax.set(xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title("Precision and recall", fontsize=12)
    ax.set_xlabel("Recall (share of converting leads found)", fontsize=10)
    ax.set_ylabel("Precision (share of flagged leads that convert)", fontsize=10)
    ax.legend(title="average precision", loc="upper right", fontsize=9, title_fontsize=9)
    _style(ax)
    return _png(figure, path)


def _gains(y: FloatArray, p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Share of leads contacted (highest probability first) and share of conversions captured,
    at the end of each group of tied probabilities, from (0, 0)."""
    order = np.argsort(-p, kind="stable")
    ordered = p[order]
    ends = np.r_[np.flatnonzero(np.diff(ordered)), ordered.shape[0] - 1]
    captured = np.cumsum(y[order])[ends] / y.sum()
    contacted = (ends + 1) / ordered.shape[0]
    return np.r_[0.0, contacted], np.r_[0.0, captured]


def gain_lift_plot(
    y_true: npt.ArrayLike, curves: Mapping[str, npt.ArrayLike], *, path: PathArg = None
) -> bytes:
    """Cumulative gains (top) and lift (bottom) when leads are contacted highest score first.

    Lift at depth ``d`` is the conversion rate of the top ``d`` of leads over the overall rate;
    it is drawn from 2% of leads on, where the first points stop being pure noise.
    """
    y, probs = _checked(y_true, curves, "gain_lift_plot")
    figure = _figure()
    gains_ax, lift_ax = figure.subplots(2, 1, sharex=True, height_ratios=(3, 2))
    depth = np.linspace(0.02, 1.0, 99)
    gains_ax.plot([0, 1], [0, 1], color=_REFERENCE, linestyle=":", linewidth=1.2, label="random")
    lift_ax.axhline(1.0, color=_REFERENCE, linestyle=":", linewidth=1.2)
    for index, (name, p) in enumerate(probs.items()):
        contacted, captured = _gains(y, p)
        at_10 = float(np.interp(0.1, contacted, captured))
        line = _line(index)
        lift = np.interp(depth, contacted, captured) / depth
        for ax, xs, ys, label in (
            (gains_ax, contacted, captured, f"{name} ({at_10:.0%})"),
            (lift_ax, depth, lift, None),
        ):
            ax.plot(
                xs,
                ys,
                label=label,
                color=line.color,
                linestyle=line.linestyle,
                linewidth=line.linewidth,
            )
    for ax in (gains_ax, lift_ax):
        ax.axvline(0.1, color=_REFERENCE, linewidth=0.8, alpha=0.6)
        _style(ax)
    gains_ax.set(xlim=(0, 1), ylim=(0, 1.01))
    gains_ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    gains_ax.set_ylabel("Conversions captured", fontsize=10)
    gains_ax.legend(title="captured in top 10%", loc="lower right", fontsize=9, title_fontsize=9)
    lift_ax.set_ylim(bottom=0)
    lift_ax.set_ylabel("Lift (x average rate)", fontsize=10)
    lift_ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    lift_ax.set_xlabel("Leads contacted, highest score first", fontsize=10)
    figure.suptitle("Cumulative gains and lift", fontsize=12)
    return _png(figure, path)


def calibration_plot(
    y_true: npt.ArrayLike,
    curves: Mapping[str, npt.ArrayLike],
    bins: int = 10,
    *,
    path: PathArg = None,
) -> bytes:
    """Reliability diagram: observed against predicted conversion rate per equal-mass bin.

    The diagonal is perfect calibration; bars show +-1.96 binomial standard errors of the
    observed rate; the legend gives each curve's ECE. The axes zoom to the probabilities that
    occur. Below, the distribution of predicted probabilities.
    """
    y, probs = _checked(y_true, curves, "calibration_plot")
    tables = {name: calibration_table(y, p, bins) for name, p in probs.items()}
    top = max(
        float(np.max(t.select("mean_prob", "observed_rate").to_numpy())) for t in tables.values()
    )
    limit = min(1.0, max(0.05, math.ceil(top * 1.1 * 20) / 20))
    figure = _figure()
    ax, hist_ax = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    ax.plot([0, limit], [0, limit], color=_REFERENCE, linestyle=":", linewidth=1.2, label="perfect")
    edges = np.linspace(0.0, limit, 41)
    for index, (name, table) in enumerate(tables.items()):
        line = _line(index)
        mean_prob = table["mean_prob"].to_numpy()
        observed = table["observed_rate"].to_numpy()
        error = 1.96 * np.sqrt(observed * (1 - observed) / table["count"].to_numpy())
        ece = expected_calibration_error(y, probs[name], bins)
        ax.errorbar(
            mean_prob,
            observed,
            yerr=error,
            marker="o",
            markersize=4,
            capsize=2,
            elinewidth=0.8,
            label=f"{name} ({ece:.3f})",
            color=line.color,
            linestyle=line.linestyle,
            linewidth=line.linewidth,
        )
        hist_ax.hist(
            probs[name],
            bins=edges,
            histtype="step",
            color=line.color,
            linewidth=1.4,
        )
    beyond = max(float(np.mean(p > limit)) for p in probs.values())
    if beyond > 0:
        hist_ax.text(
            0.99,
            0.92,
            f"up to {beyond:.1%} of leads above {limit:.0%}, not shown",
            transform=hist_ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color="#555555",
        )
    ax.set(xlim=(0, limit), ylim=(0, limit))
    ax.set_ylabel("Observed conversion rate", fontsize=10)
    ax.set_title(f"Calibration ({bins} equal-size bins)", fontsize=12)
    ax.legend(title="ECE", loc="upper left", fontsize=9, title_fontsize=9)
    hist_ax.set_xlabel("Predicted probability", fontsize=10)
    hist_ax.set_ylabel("Leads", fontsize=10)
    for axis in (ax, hist_ax):
        axis.xaxis.set_major_formatter(PercentFormatter(1.0))
        _style(axis)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    return _png(figure, path)


def importance_plot(
    names: Sequence[str],
    gains: npt.ArrayLike,
    top: int = TOP_FEATURES,
    *,
    title: str = "Feature importance (LightGBM gain)",
    path: PathArg = None,
) -> bytes:
    """Horizontal bars of the ``top`` features by share of the total gain, largest on top."""
    values = np.asarray(gains, dtype=np.float64)
    if values.ndim != 1 or values.shape[0] != len(names) or not names:
        raise UsageError(
            f"importance_plot needs one gain per name; got {len(names)} names and gains of "
            f"shape {values.shape}."
        )
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise DataError("importance_plot needs finite, non-negative gains.")
    total = values.sum()
    share = values / total if total > 0 else values
    order = np.argsort(-share, kind="stable")[:top][::-1]
    labels = [names[i] for i in order]
    figure = _figure()
    ax = figure.add_subplot()
    bars = ax.barh(np.arange(order.shape[0]), share[order], color=_COLORS[0], height=0.7)
    ax.bar_label(bars, labels=[f"{v:.1%}" for v in share[order]], padding=3, fontsize=8)
    ax.set_yticks(np.arange(order.shape[0]), labels=labels, fontsize=8)
    ax.set_xlim(0, max(float(share.max()) * 1.15, 0.01))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    shown = f"top {order.shape[0]} of {len(names)}" if len(names) > top else f"{len(names)}"
    ax.set_title(f"{title}, {shown} features", fontsize=12)
    ax.set_xlabel("Share of total gain", fontsize=10)
    _style(ax)
    ax.grid(False, axis="y")
    return _png(figure, path)


def _value_columns(
    values: npt.ArrayLike | pl.DataFrame | pd.DataFrame, n: int, k: int
) -> list[FloatArray | None]:
    """Each feature's values as floats (NaN when missing), or None when it is categorical."""
    if isinstance(values, pl.DataFrame):
        shape = values.shape
        columns: list[FloatArray | None] = []
        for given in values.iter_columns():
            # an Object column comes from a numpy object array, e.g. numbers with None
            column = (
                pl.Series(given.name, given.to_list(), strict=False)
                if given.dtype == pl.Object
                else given
            )
            numeric = column.dtype.is_numeric() or column.dtype == pl.Boolean
            columns.append(column.cast(pl.Float64).to_numpy() if numeric else None)
    elif isinstance(values, pd.DataFrame):
        shape = values.shape
        columns = [
            values[c].to_numpy(dtype=np.float64, na_value=np.nan)
            if pd.api.types.is_numeric_dtype(values[c]) or pd.api.types.is_bool_dtype(values[c])
            else None
            for c in values.columns
        ]
    else:
        array = np.asarray(values)
        shape = array.shape
        columns = []
        for j in range(array.shape[1] if array.ndim == 2 else 0):
            try:
                columns.append(array[:, j].astype(np.float64))
            except (TypeError, ValueError):
                columns.append(None)
    if shape != (n, k):
        raise UsageError(
            f"shap_summary_plot needs feature values of shape ({n}, {k}), one column per name "
            f"in the same order; got {shape}."
        )
    return columns


def _normalised(column: FloatArray) -> FloatArray:
    """Values mapped to [0, 1] between their 5th and 95th percentile; NaN stays NaN."""
    present = column[np.isfinite(column)]
    if present.size == 0:
        return column
    low, high = np.percentile(present, [5, 95])
    if high <= low:
        low, high = float(present.min()), float(present.max())
    if high <= low:
        return np.where(np.isfinite(column), 0.5, np.nan)
    scaled: FloatArray = np.clip((column - low) / (high - low), 0.0, 1.0)
    return scaled


def shap_summary_plot(
    contributions: npt.ArrayLike,
    values: npt.ArrayLike | pl.DataFrame | pd.DataFrame,
    names: Sequence[str],
    top: int = TOP_FEATURES,
    *,
    seed: int = 0,
    path: PathArg = None,
) -> bytes:
    """A SHAP summary (beeswarm) of LightGBM ``pred_contrib`` output, without the shap package.

    ``contributions`` has one row per lead and one column per name, plus optionally the bias
    column LightGBM appends last (dropped). ``values`` holds the leads' feature values in the
    same column order (numpy, polars or pandas). Rows are the ``top`` features by mean
    ``|contribution|``, largest on top; each point is one lead (at most 2,000, sampled with
    ``seed``), jittered vertically in proportion to how crowded its neighbourhood is and
    coloured from blue (low) to red (high) by the feature's value scaled between its 5th and
    95th percentile. Categorical features and missing values are grey.
    """
    matrix = np.asarray(contributions, dtype=np.float64)
    k = len(names)
    if matrix.ndim != 2 or matrix.shape[1] not in (k, k + 1) or k == 0:
        raise UsageError(
            f"shap_summary_plot needs contributions of shape (n, {k}) or (n, {k + 1}) with "
            f"LightGBM's bias column; got {matrix.shape}."
        )
    matrix = matrix[:, :k]
    if not np.all(np.isfinite(matrix)):
        raise DataError("shap_summary_plot needs finite contributions.")
    columns = _value_columns(values, matrix.shape[0], k)
    rng = np.random.default_rng(seed)
    rows = np.arange(matrix.shape[0])
    if rows.shape[0] > _SHAP_MAX_POINTS:
        rows = np.sort(rng.choice(rows, _SHAP_MAX_POINTS, replace=False))
    order = np.argsort(-np.abs(matrix).mean(axis=0), kind="stable")[:top][::-1]

    figure = _figure()
    ax = figure.add_subplot()
    ax.axvline(0.0, color=_REFERENCE, linewidth=0.9)
    for position, feature in enumerate(order):
        x = matrix[rows, feature]
        counts, edges = np.histogram(x, bins=40)
        crowd = counts[np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 39)]
        y = position + rng.uniform(-1.0, 1.0, x.shape[0]) * 0.38 * crowd / counts.max()
        column = columns[feature]
        colour = np.full(x.shape[0], np.nan) if column is None else _normalised(column[rows])
        grey = ~np.isfinite(colour)
        ax.scatter(x[grey], y[grey], s=5, color=_MISSING_COLOR, linewidths=0, alpha=0.8)
        ax.scatter(
            x[~grey],
            y[~grey],
            s=5,
            c=colour[~grey],
            cmap=_VALUE_CMAP,
            vmin=0.0,
            vmax=1.0,
            linewidths=0,
            alpha=0.8,
        )
    ax.set_yticks(np.arange(order.shape[0]), labels=[names[i] for i in order], fontsize=8)
    ax.set_ylim(-0.6, order.shape[0] - 0.4)
    ax.set_title("Feature contributions (SHAP values)", fontsize=12)
    ax.set_xlabel("Contribution to the log-odds of converting", fontsize=10)
    _style(ax)
    ax.grid(False, axis="y")
    bar = figure.colorbar(
        ScalarMappable(norm=Normalize(0.0, 1.0), cmap=_VALUE_CMAP), ax=ax, aspect=40, pad=0.01
    )
    bar.set_ticks([0.0, 1.0], labels=["low", "high"], fontsize=8)
    bar.set_label("Feature value (grey: categorical or missing)", fontsize=9)
    bar.outline.set_visible(False)
    return _png(figure, path)
