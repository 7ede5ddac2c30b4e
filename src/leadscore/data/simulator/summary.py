"""The realism summary of a simulated run: sizes, base rate, oracle and single-signal AUCs."""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
from sklearn.metrics import roc_auc_score

from leadscore.data.simulator.tables import Tables
from leadscore.data.simulator.world import ACTIONS, LEAD_ACTIONS

__all__ = ["SIGNAL_WINDOWS", "best_single_signal", "summarize"]

SIGNAL_WINDOWS = (7, 30, 90)


def best_single_signal(tables: Tables) -> dict[str, Any]:
    """ROC AUC of every count "lead-initiated action X in the last W days" on the truth snapshots.

    Returns the best one (``action``, ``window_days``, ``roc_auc``).
    """
    truth = tables.truth.select("lead_id", "as_of", "converted")
    events = (
        tables.touchpoints.filter(pl.col("initiated_by") == "lead")
        .select("lead_id", "timestamp", "action")
        .sort("lead_id", "timestamp")
    )
    best: dict[str, Any] = {"action": None, "window_days": None, "roc_auc": 0.5}
    y = truth["converted"].to_numpy()
    if y.all() or not y.any():
        return best
    lead_codes = pl.concat([truth["lead_id"], events["lead_id"]]).unique().sort()
    snap_lead = lead_codes.search_sorted(truth["lead_id"]).to_numpy().astype(np.int64)
    snap_t = truth["as_of"].dt.epoch("s").to_numpy()
    for action in LEAD_ACTIONS:
        sub = events.filter(pl.col("action") == action)
        lead = lead_codes.search_sorted(sub["lead_id"]).to_numpy().astype(np.int64)
        t = sub["timestamp"].dt.epoch("s").to_numpy()
        span = int(max(t.max(initial=0), snap_t.max()) + 10**9)
        keys = lead * span + t
        for window in SIGNAL_WINDOWS:
            hi = np.searchsorted(keys, snap_lead * span + snap_t, side="left")
            lo = np.searchsorted(keys, snap_lead * span + snap_t - window * 86_400, side="left")
            auc = float(roc_auc_score(y, hi - lo))
            if auc > best["roc_auc"]:
                best = {"action": action, "window_days": window, "roc_auc": round(auc, 4)}
    return best


def summarize(tables: Tables, horizon_days: int) -> dict[str, Any]:
    """Rows per table, conversion within the horizon, oracle AUC, best single signal, uplifts."""
    truth = tables.truth
    y = truth["converted"].to_numpy()
    p = truth["p_true"].to_numpy()
    oracle = float(roc_auc_score(y, p)) if 0 < y.sum() < y.size else None
    leads = tables.leads.join(
        tables.outcomes.select("lead_id", "converted_at"), on="lead_id", how="left"
    )
    end = tables.touchpoints["timestamp"].max()
    window = pl.duration(days=horizon_days)
    observable = leads.filter(pl.col("created_at") + window <= end)
    converted_in_horizon = observable.select(
        (pl.col("converted_at") <= pl.col("created_at") + window).fill_null(False).mean()
    ).item()
    actionable = [a for a in ACTIONS if a != "none"]
    best_uplift = (
        truth.select(pl.max_horizontal([pl.col(f"p_{a}") for a in actionable]) - pl.col("p_none"))
        .to_series()
        .to_numpy()
    )
    mean_truth = float(p.mean()) if p.size else None
    standard_error = float(np.sqrt((p * (1 - p)).sum()) / p.size) if p.size else None
    return {
        "rows": {
            "leads": tables.leads.height,
            "touchpoints": tables.touchpoints.height,
            "outcomes": tables.outcomes.height,
            "truth_snapshots": truth.height,
        },
        "horizon_days": horizon_days,
        "conversion_rate_snapshots": round(float(y.mean()), 4) if y.size else None,
        "conversion_rate_from_creation": round(float(converted_in_horizon), 4),
        "mean_true_probability": round(mean_truth, 4) if mean_truth is not None else None,
        "mean_true_probability_se": standard_error,
        "oracle_roc_auc": round(oracle, 4) if oracle is not None else None,
        "best_single_signal": best_single_signal(tables),
        "best_touchpoint_uplift": {
            "mean": round(float(best_uplift.mean()), 4) if best_uplift.size else None,
            "p90": round(float(np.quantile(best_uplift, 0.9)), 4) if best_uplift.size else None,
            "max": round(float(best_uplift.max()), 4) if best_uplift.size else None,
        },
        "truth_error": "exact (dynamic programming over the lead's Markov chain); standard error 0",
    }
