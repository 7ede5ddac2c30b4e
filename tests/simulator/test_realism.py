"""The realism bar of the simulator at 20,000 leads and the default seed."""

from __future__ import annotations

from leadscore.data.simulator import SimulationConfig, simulate, summarize


def test_realism_bar_at_default_scale() -> None:
    config = SimulationConfig()  # 20,000 leads, seed 42, 12 months
    summary = summarize(simulate(config), config.horizon_days)
    assert 0.02 <= summary["conversion_rate_snapshots"] <= 0.20
    assert 0.02 <= summary["conversion_rate_from_creation"] <= 0.20
    assert 0.80 <= summary["oracle_roc_auc"] <= 0.95
    assert 0.60 <= summary["best_single_signal"]["roc_auc"] <= 0.80
    assert summary["best_single_signal"]["roc_auc"] < summary["oracle_roc_auc"] - 0.05
    # the exact truth's mean matches the realized base rate (a loose check; the strict one
    # with a clustered standard error is in test_simulator.py)
    assert abs(summary["mean_true_probability"] - summary["conversion_rate_snapshots"]) < 0.01
