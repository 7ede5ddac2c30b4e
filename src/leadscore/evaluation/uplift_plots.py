"""Uplift and Qini curve charts as PNG bytes, in the style of :mod:`leadscore.evaluation.plots`."""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.ticker import PercentFormatter

from leadscore.evaluation.plots import PathArg, _figure, _line, _png, _style
from leadscore.evaluation.policy import UpliftCurve
from leadscore.evaluation.qini import QiniCurve

__all__ = ["qini_curve_plot", "uplift_curve_plot"]


def uplift_curve_plot(curves: Mapping[str, UpliftCurve], path: PathArg = None) -> bytes:
    """Cumulative true gain (percentage points per lead) against the share of leads treated,
    one line per policy (e.g. ``{"model": ..., "naive": ..., "oracle": ...}``), with the
    random line of the first curve."""
    figure = _figure()
    ax = figure.add_subplot()
    for index, (name, curve) in enumerate(curves.items()):
        style = _line(index)
        ax.plot(
            curve.share,
            100 * curve.gain,
            color=style.color,
            linestyle=style.linestyle,
            linewidth=style.linewidth,
            label=f"{name} (area {100 * curve.area:+.2f})",
        )
    first = next(iter(curves.values()), None)
    if first is not None:
        ax.plot([0, 1], [0, 100 * first.gain[-1]], color="#999999", linewidth=1, label="random")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of leads treated, best predicted uplift first")
    ax.set_ylabel("true gain in conversion (points per lead)")
    ax.set_title("Uplift curve against the true effects")
    ax.legend(fontsize=9, frameon=False)
    _style(ax)
    return _png(figure, path)


def qini_curve_plot(curves: Mapping[str, QiniCurve], path: PathArg = None) -> bytes:
    """Qini curves on observed outcomes, one line per entry (e.g. one per treatment arm
    against control), each with its random-ranking line dotted in the same colour."""
    figure = _figure()
    ax = figure.add_subplot()
    for index, (name, curve) in enumerate(curves.items()):
        style = _line(index)
        ax.plot(
            curve.share,
            100 * curve.gain,
            color=style.color,
            linestyle=style.linestyle,
            linewidth=style.linewidth,
            label=f"{name} (Qini coefficient {curve.coefficient:+.3f})",
        )
        ax.plot(curve.share, 100 * curve.random, color=style.color, linestyle=":", linewidth=1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of customers targeted, best predicted uplift first (dotted: random)")
    ax.set_ylabel("incremental conversions (points per treated customer)")
    ax.set_title("Qini curves on the holdout")
    ax.legend(fontsize=9, frameon=False)
    _style(ax)
    return _png(figure, path)
