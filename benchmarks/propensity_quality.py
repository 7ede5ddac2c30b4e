"""Propensity quality against the oracle and the observable ceiling (issue bars, 20,000 leads).

For each seed: simulate, train with the shipped pipeline (``train_propensity``, the same code
as ``leadscore train``), and compare on the test snapshots

* the calibrated LightGBM model and the logistic-regression baseline,
* the oracle (the simulator's true probability, which knows the hidden buying stage), and
* the observable ceiling (``benchmarks/observable_ceiling.py``: the Bayes-optimal prediction
  from observable data only, the best any model can do).

    .venv/bin/python benchmarks/propensity_quality.py [--leads 20000] [--seeds 42 1 2]
        [--pipeline pipelines/propensity.yaml]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from sklearn.metrics import brier_score_loss, roc_auc_score

sys.path.insert(0, str(Path(__file__).resolve().parent))

from leadscore.data.simulator import SimulationConfig, default_world, simulate
from leadscore.training.config import PipelineConfig, load_pipeline
from leadscore.training.propensity import train_propensity
from observable_ceiling import observable_ceiling


def _one(seed: int, leads: int, pipeline: PipelineConfig) -> dict[str, float]:
    config = SimulationConfig(leads=leads, seed=seed)
    tables = simulate(config)
    started = time.perf_counter()
    result = train_propensity(
        tables.leads, tables.touchpoints, tables.outcomes, pipeline, truth=tables.truth
    )
    seconds = time.perf_counter() - started
    ceiling = observable_ceiling(tables, config, default_world())
    truth = tables.truth.select("lead_id", "as_of").with_columns(p_obs=pl.Series(ceiling.p_obs))
    test = result.test.join(truth, on=["lead_id", "as_of"], how="left", maintain_order="left")
    y = test["label"].to_numpy()
    p_obs = test["p_obs"].to_numpy()
    if np.isnan(p_obs).any():
        raise SystemExit("a test snapshot has no observable-ceiling value")
    metrics = result.assessment.metrics
    oracle = result.assessment.oracle or {}
    return {
        "seed": seed,
        "test_rows": float(y.size),
        "model_auc": metrics["roc_auc"],
        "baseline_auc": (result.assessment.baseline or {})["roc_auc"],
        "ceiling_auc": float(roc_auc_score(y, p_obs)),
        "oracle_auc": oracle["roc_auc"],
        "model_brier": metrics["brier"],
        "ceiling_brier": float(brier_score_loss(y, p_obs)),
        "oracle_brier": oracle["brier"],
        "ece": metrics["ece"],
        "train_seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    parser.add_argument(
        "--pipeline", type=Path, help="a pipeline file (default: the built-in defaults)"
    )
    args = parser.parse_args()
    pipeline = load_pipeline(args.pipeline) if args.pipeline else PipelineConfig()
    header = (
        f"{'seed':>5} {'test':>7} {'model':>7} {'base':>7} {'ceil':>7} {'oracle':>7} "
        f"{'gap':>6} {'gap_ceil':>8} {'brier/or':>8} {'ceil/or':>7} {'ece':>6} {'train_s':>7}"
    )
    print(f"ROC AUC, Brier and ECE on the test snapshots ({args.leads:,} leads)")
    print(header)
    for seed in args.seeds:
        r = _one(seed, args.leads, pipeline)
        print(
            f"{seed:>5} {int(r['test_rows']):>7} {r['model_auc']:7.4f} {r['baseline_auc']:7.4f} "
            f"{r['ceiling_auc']:7.4f} {r['oracle_auc']:7.4f} "
            f"{r['oracle_auc'] - r['model_auc']:6.4f} {r['ceiling_auc'] - r['model_auc']:8.4f} "
            f"{r['model_brier'] / r['oracle_brier']:8.4f} "
            f"{r['ceiling_brier'] / r['oracle_brier']:7.4f} {r['ece']:6.4f} "
            f"{r['train_seconds']:7.1f}",
            flush=True,
        )
    print(
        "bars: gap (oracle - model AUC) <= 0.02; brier/oracle <= 1.10; ece <= 0.02; "
        "model > base. ceil = best possible from observable data."
    )


if __name__ == "__main__":
    main()
