"""Online scoring latency: features of one lead from its own history plus its probability.

Bar (issue): feature building plus scoring of one lead, median at most 3 ms in-process
(LightGBM's own predict of one row is ~0.03 ms).

A model is trained once with the shipped pipeline (``train_propensity`` on
``simulate(SimulationConfig(leads=N, seed=S))``, default ``PipelineConfig``) and cached with
pickle under ``.bench-cache/``. Then ``--count`` different leads open at the end of the
simulated period are scored one at a time, each from its own lead row, its own touchpoints
(selected beforehand, as a serving worker would fetch them) and one snapshot at that time.
Per lead, interleaved, ``--passes`` times over all leads after a short warm-up:

* build + predict: ``build_features(lead, its touchpoints, snapshot, model.spec_)`` then
  ``model.predict_proba(features)`` (the bar);
* build only, and predict only (``predict_proba`` of the built one-row frame), the latter
  split into encoding (``model.transform``) and ``model.predict_proba_matrix`` of the row;
* reference: LightGBM's raw ``model.booster_.predict(row)`` of the encoded row (same
  iterations), with default threads and with ``num_threads=1``.

Everything runs in two child processes: one with default settings and one started with
``POLARS_MAX_THREADS=1`` in its environment, so set before polars is imported (how a serving
worker would run).
Prints medians and p95 in ms and the ratio to the raw booster predict.

    .venv/bin/python benchmarks/online_scoring.py [--leads 5000] [--count 200] [--passes 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from features_vs_pandas import DEFAULT_CACHE, cached_simulation, machine_load, simulation_end
from leadscore.features import build_features, open_snapshots
from leadscore.training.config import PipelineConfig
from leadscore.training.model import PropensityModel
from leadscore.training.propensity import train_propensity

MAX_MS: Final = 3.0
WARMUP: Final = 20
MODES: Final = (
    "build+predict",
    "build",
    "predict",
    "  encode",
    "  predict matrix",
    "booster",
    "booster 1 thread",
)
SETTINGS: Final = {"default threads": {}, "POLARS_MAX_THREADS=1": {"POLARS_MAX_THREADS": "1"}}


def trained_model(folder: Path, cache: Path) -> Path:
    """The pickled ``PropensityModel`` trained with the shipped pipeline on ``folder``."""
    path = cache / f"model-{folder.name}.pkl"
    if path.exists():
        return path
    leads, touchpoints, outcomes = (
        pl.read_parquet(folder / f"{name}.parquet") for name in ("leads", "touchpoints", "outcomes")
    )
    print(f"training the model on {folder.name} (once, cached) ...", flush=True)
    started = time.perf_counter()
    result = train_propensity(leads, touchpoints, outcomes, PipelineConfig())
    print(
        f"trained in {time.perf_counter() - started:.0f} s "
        f"({result.model.best_iteration_} rounds, test AUC {result.metrics['roc_auc']:.3f})",
        flush=True,
    )
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        pickle.dump(result.model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return path


def open_leads(folder: Path, as_of: datetime, count: int, seed: int) -> list[str]:
    """``count`` different leads open at ``as_of``, drawn at random."""
    leads = pl.read_parquet(folder / "leads.parquet")
    outcomes = pl.read_parquet(folder / "outcomes.parquet")
    ids = open_snapshots(leads, outcomes, pl.Series([as_of]))["lead_id"]
    if ids.len() < count:
        raise SystemExit(f"only {ids.len()} leads are open at {as_of}; lower --count")
    return sorted(ids.sample(count, seed=seed).to_list())


def run_child(folder: Path, model_path: Path, as_of: datetime, ids: list[str], passes: int) -> Any:
    """Time every mode on every lead; return the timings in ms per mode."""
    with model_path.open("rb") as handle:
        model = pickle.load(handle)
    assert isinstance(model, PropensityModel) and model.spec_ is not None
    spec = model.spec_
    leads = pl.read_parquet(folder / "leads.parquet").filter(pl.col("lead_id").is_in(ids))
    touchpoints = pl.read_parquet(folder / "touchpoints.parquet").filter(
        pl.col("lead_id").is_in(ids)
    )
    history = {key: frame for (key,), frame in touchpoints.group_by("lead_id")}
    empty = touchpoints.clear()
    cases = [
        (
            leads.filter(pl.col("lead_id") == lead_id),
            history.get(lead_id, empty),
            pl.DataFrame({"lead_id": [lead_id], "as_of": [as_of]}).with_columns(
                pl.col("as_of").dt.cast_time_unit("us")
            ),
        )
        for lead_id in ids
    ]
    booster, iteration = model.booster_, model.best_iteration_

    def both(lead: pl.DataFrame, events: pl.DataFrame, snapshot: pl.DataFrame) -> None:
        model.predict_proba(build_features(lead, events, snapshot, spec))

    def timed(call: Callable[..., object], *args: Any, **kwargs: Any) -> float:
        started = time.perf_counter_ns()
        call(*args, **kwargs)
        return (time.perf_counter_ns() - started) / 1e6

    for case in cases[:WARMUP]:
        both(*case)
    timings: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(passes):
        for lead, events, snapshot in cases:
            features = build_features(lead, events, snapshot, spec)
            row = model.transform(features)
            timings["build+predict"].append(timed(both, lead, events, snapshot))
            timings["build"].append(timed(build_features, lead, events, snapshot, spec))
            timings["predict"].append(timed(model.predict_proba, features))
            timings["  encode"].append(timed(model.transform, features))
            timings["  predict matrix"].append(timed(model.predict_proba_matrix, row))
            timings["booster"].append(timed(booster.predict, row, num_iteration=iteration))
            timings["booster 1 thread"].append(
                timed(booster.predict, row, num_iteration=iteration, num_threads=1)
            )
    counts = [case[1].height for case in cases]
    return {
        "timings": timings,
        "events_median": statistics.median(counts),
        "events_max": max(counts),
        "polars_threads": pl.thread_pool_size(),
        "rounds": iteration,
    }


def measure(extra_env: dict[str, str], payload: Path) -> Any:
    """One child process of this script (``extra_env`` set before anything is imported)."""
    env = {**os.environ, **extra_env}
    command = [sys.executable, __file__, "--child", str(payload)]
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"the scoring run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--count", type=int, default=200, help="different open leads scored")
    parser.add_argument("--passes", type=int, default=3, help="passes over the leads")
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child.read_text())
        result = run_child(
            Path(job["folder"]),
            Path(job["model"]),
            datetime.fromisoformat(job["as_of"]),
            job["ids"],
            job["passes"],
        )
        print(json.dumps(result))
        return 0

    cache = args.cache or DEFAULT_CACHE
    folder = cached_simulation(args.leads, args.seed, cache)
    model_path = trained_model(folder, cache)
    as_of = simulation_end(folder)
    ids = open_leads(folder, as_of, args.count, args.seed)
    payload = cache / f"online-{folder.name}.json"
    payload.write_text(
        json.dumps(
            {
                "folder": str(folder),
                "model": str(model_path),
                "as_of": as_of.isoformat(),
                "ids": ids,
                "passes": args.passes,
            }
        )
    )
    print(f"before: {machine_load()}", flush=True)
    results = {name: measure(env, payload) for name, env in SETTINGS.items()}
    print(f"after: {machine_load()}")
    first = next(iter(results.values()))
    print(
        f"model: {args.leads:,} simulated leads (seed {args.seed}), {first['rounds']} trees; "
        f"{len(ids)} open leads at {as_of:%Y-%m-%d %H:%M} UTC, touchpoints per lead: median "
        f"{first['events_median']:.0f}, max {first['events_max']}; {args.passes} passes "
        f"({len(ids) * args.passes} timings per mode) after {WARMUP} warm-up calls"
    )
    ok = True
    for name, result in results.items():
        timings = {mode: np.asarray(values) for mode, values in result["timings"].items()}
        reference = float(np.median(timings["booster"]))
        print()
        print(f"{name} (polars thread pool: {result['polars_threads']})")
        print(f"{'':20}{'median ms':>11}{'p95 ms':>9}{'x booster':>11}")
        for mode in MODES:
            median = float(np.median(timings[mode]))
            p95 = float(np.percentile(timings[mode], 95))
            print(f"{mode:20}{median:>11.3f}{p95:>9.3f}{median / reference:>10.1f}x")
        total = float(np.median(timings["build+predict"]))
        passed = total <= MAX_MS
        ok = ok and passed
        print(
            f"{'PASS' if passed else 'FAIL'}  build + predict median {total:.2f} ms "
            f"<= {MAX_MS:g} ms ({name})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
