"""Next-best-touchpoint quality against the simulator's truth (issue 5 bars, 20,000 leads).

For each seed: simulate (cached as Parquet under ``.bench-cache/``, with the truth), train the
doubly robust learner and the naive model on the earlier decision points
(``train_next_touchpoint``), and evaluate on the truth snapshots of the test period
(``evaluate_against_truth``): policy values, regret capture, off-policy estimates with their
95 % intervals next to the true value, and how often each policy does what reps already do.

Bars (issue 5):

* regret_capture of the model >= 0.70 and above the naive model's, on every seed;
* the off-policy 95 % interval (DR, on the truth snapshots) covers the true model policy value
  on at least 2 of 3 seeds;
* the naive model's failure is visible: it is reported how often it recommends the touchpoint
  reps are most likely to do, next to the model and the oracle.

    .venv/bin/python benchmarks/next_touchpoint_quality.py [--leads 20000] [--seeds 42 1 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Final

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from features_vs_pandas import DEFAULT_CACHE, machine_load
from leadscore.data.simulator import SimulationConfig, Tables, simulate
from leadscore.training.next_touchpoint_config import (
    NextTouchpointConfig,
    load_next_touchpoint_pipeline,
)
from leadscore.training.next_touchpoint_evaluation import TruthEvaluation, evaluate_against_truth
from leadscore.training.next_touchpoint_training import train_next_touchpoint

TABLES: Final = ("leads", "touchpoints", "outcomes", "truth")
MIN_CAPTURE: Final = 0.70
MIN_COVERED: Final = 2


def cached_tables(leads: int, seed: int, cache: Path = DEFAULT_CACHE) -> dict[str, pl.DataFrame]:
    """The tables and truth of one run, simulated on the first call and kept as Parquet."""
    cache.mkdir(parents=True, exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# benchmark cache, written by benchmarks/*.py\n*\n")
    folder = cache / f"simulation-{leads}-{seed}"
    if not all((folder / f"{name}.parquet").exists() for name in TABLES):
        print(f"simulating {leads:,} leads (seed {seed}) into {folder} ...", flush=True)
        config = SimulationConfig(leads=leads, seed=seed)
        tables: Tables = simulate(config)
        folder.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            tmp = folder / f".{name}.parquet.tmp"
            getattr(tables, name).write_parquet(tmp)
            tmp.replace(folder / f"{name}.parquet")
        (folder / "config.json").write_text(config.model_dump_json(indent=2) + "\n")
    return {name: pl.read_parquet(folder / f"{name}.parquet") for name in TABLES}


def _one(
    seed: int, leads: int, config: NextTouchpointConfig
) -> tuple[TruthEvaluation, dict[str, object], float]:
    data = cached_tables(leads, seed)
    started = time.perf_counter()
    trained = train_next_touchpoint(data["leads"], data["touchpoints"], data["outcomes"], config)
    report = evaluate_against_truth(
        trained, data["leads"], data["touchpoints"], data["truth"], seed=seed
    )
    return report, trained.split_summary(), time.perf_counter() - started


def _print(seed: int, report: TruthEvaluation, split: dict[str, object], seconds: float) -> None:
    v, c = report.policy_value, report.regret_capture
    print(f"\nseed {seed}: {report.rows:,} truth snapshots in the test period; split {split}")
    print("  policy_value  " + "  ".join(f"{k} {x:.4f}" for k, x in v.items()))
    print(
        f"  regret_capture model {c['model']:.3f}  naive {c['naive']:.3f}  "
        f"random_actionable {c['random_actionable']:.3f}  logged {c['logged']:.3f}"
    )
    for label, ope in (
        ("truth rows", report.off_policy),
        ("decision points", report.off_policy_decision_points),
    ):
        for e in ope.values():
            print(
                f"  OPE {e.method:<3} ({label}): {e.value:.4f} [{e.low:.4f}, {e.high:.4f}] "
                f"vs true {report.true_model_value:.4f} -> "
                f"{'covers' if e.covers(report.true_model_value) else 'MISSES'}"
            )
    same = report.same_as_reps
    print(
        f"  same as reps' likeliest touchpoint: model {same['model']:.2f}  "
        f"naive {same['naive']:.2f}  oracle {same['oracle']:.2f}"
    )
    for name, means in report.mean_uplift.items():
        print(f"  mean uplift {name:<5} " + " ".join(f"{a}={x:+.4f}" for a, x in means.items()))
    corr = report.logging_correlation
    print(
        "  corr(estimated uplift, reps' propensity): "
        + "  ".join(f"{k} {x:+.3f}" for k, x in corr.items())
    )
    for name, shares in report.choice_share.items():
        print(f"  choices {name:<6} " + " ".join(f"{a}={s:.2f}" for a, s in shares.items()))
    print(
        "  uplift-curve area: "
        + "  ".join(f"{k} {x.area:.4f}" for k, x in report.curves.items())
        + f"  ({seconds:.0f} s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2])
    parser.add_argument(
        "--pipeline", type=Path, default=None, help="A next-touchpoint pipeline file to try."
    )
    args = parser.parse_args()
    config = load_next_touchpoint_pipeline(args.pipeline)
    print(f"next-best-touchpoint quality, {args.leads:,} leads; {machine_load()}")
    reports = []
    for seed in args.seeds:
        report, split, seconds = _one(seed, args.leads, config)
        _print(seed, report, split, seconds)
        reports.append(report)
    captures = [(r.regret_capture["model"], r.regret_capture["naive"]) for r in reports]
    covered = sum(r.off_policy["dr"].covers(r.true_model_value) for r in reports)
    capture_ok = all(m >= MIN_CAPTURE and m > n for m, n in captures)
    worst = min(m for m, _ in captures)
    print("\nbars")
    print(
        f"  {'PASS' if capture_ok else 'FAIL'} regret_capture >= {MIN_CAPTURE} and above naive "
        f"on every seed: "
        + ", ".join(f"{m:.3f} vs {n:.3f}" for m, n in captures)
        + (f" (worst {worst:.3f}, {worst - MIN_CAPTURE:+.3f} from the bar)")
    )
    needed = min(MIN_COVERED, len(reports))
    print(
        f"  {'PASS' if covered >= needed else 'FAIL'} DR off-policy 95 % interval covers the "
        f"true model value on {covered} of {len(reports)} seeds (needed {needed})"
    )
    corr = [
        (
            r.logging_correlation["naive"],
            r.logging_correlation["model"],
            r.logging_correlation["truth"],
        )
        for r in reports
    ]
    print(
        "  INFO corr(estimated uplift, reps' propensity) naive / model / truth: "
        + ", ".join(f"{a:+.2f} / {b:+.2f} / {c:+.2f}" for a, b, c in corr)
    )
    naive_same = [r.same_as_reps["naive"] for r in reports]
    model_same = [r.same_as_reps["model"] for r in reports]
    print(
        "  INFO naive recommends the reps' likeliest touchpoint in "
        + ", ".join(f"{x:.0%}" for x in naive_same)
        + " of snapshots (model: "
        + ", ".join(f"{x:.0%}" for x in model_same)
        + ")"
    )
    print(machine_load())


if __name__ == "__main__":
    main()
