"""Time to train the propensity model on 1,000,000 snapshots, against bare ``lgb.train``.

Bar (issue): training on 1,000,000 snapshots takes at most 60 s (2-core machine).

Data: ``simulate(SimulationConfig(leads=N, seed=S))`` (cached by
``benchmarks/features_vs_pandas.py`` under ``.bench-cache/``), then the labelled snapshots
of ``build_examples`` with ``PipelineConfig(snapshots=SnapshotConfig(cadence_days=C))``,
cached as Parquet with their resolved spec. Weekly snapshots of 100,000 leads give about
1.0 million labelled rows, of which the shipped split leaves only 0.28 million for training,
so the default cadence is 3 days (2.3 million labelled rows). The validation fold is the
last horizon (90 days) of snapshot dates, as in the shipped split; training uses the latest
``--rows`` snapshots before it.

Timed, alternating, ``--runs`` times each in this process:

* ours: ``new_model(config).fit(train, y, validation=(valid, yv), spec=spec)`` with the
  shipped ``PipelineConfig().model`` (DEFAULT_LIGHTGBM, the learning rate ``auto`` and
  ``rows_per_round`` resolve for 1,000,000 rows, max_rounds, early stopping);
  this includes encoding, calibration and the logistic-regression baseline;
* reference: ``lgb.train`` with the same resolved parameters (``training_params``), rounds
  and early stopping (``patience``) on the model's own validation sample and the same
  already encoded numpy matrices (Dataset construction included), so the ratio is our
  overhead over LightGBM itself.

Encoding and the baseline fit are also timed once on their own, to break the overhead down.
Each fit takes minutes on 2 cores; ``--runs 1`` gives a single figure of each in ~20 min.
LightGBM's OpenMP threads slow down badly when another process holds a core, so each run
prints the load average beside its time.

    .venv/bin/python benchmarks/training_speed.py [--leads 100000] [--cadence-days 3]
        [--rows 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import lightgbm as lgb
import numpy as np
import polars as pl
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))

from features_vs_pandas import DEFAULT_CACHE, cached_simulation, machine_load
from leadscore.features import FeatureSpec
from leadscore.training.baseline import fit_baseline
from leadscore.training.config import PipelineConfig, SnapshotConfig
from leadscore.training.encoding import FeatureEncoder
from leadscore.training.examples import build_examples
from leadscore.training.propensity import new_model

MAX_SECONDS: Final = 60.0


def cached_examples(
    leads: int, seed: int, cadence_days: int, cache: Path = DEFAULT_CACHE
) -> tuple[pl.DataFrame, FeatureSpec]:
    """The labelled examples (``build_examples``) of one simulation and cadence, cached."""
    folder = cache / f"examples-{leads}-{seed}-{cadence_days}d"
    spec_path = folder / "spec.json"
    if not spec_path.exists():
        tables = cached_simulation(leads, seed, cache)
        leads_frame, touchpoints, outcomes = (
            pl.read_parquet(tables / f"{name}.parquet")
            for name in ("leads", "touchpoints", "outcomes")
        )
        config = PipelineConfig(snapshots=SnapshotConfig(cadence_days=cadence_days))
        print(f"building examples every {cadence_days} days ...", flush=True)
        started = time.perf_counter()
        examples = build_examples(leads_frame, touchpoints, outcomes, config)
        print(
            f"built {examples.frame.height:,} examples in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / ".examples.parquet.tmp"
        examples.frame.write_parquet(tmp)
        tmp.replace(folder / "examples.parquet")
        spec_path.write_text(examples.spec.model_dump_json(indent=2) + "\n")
    frame = pl.read_parquet(folder / "examples.parquet")
    return frame, FeatureSpec.model_validate_json(spec_path.read_text())


Folds = tuple[pl.DataFrame, NDArray[np.int8], pl.DataFrame, NDArray[np.int8]]


def folds(frame: pl.DataFrame, rows: int, validation_days: int) -> Folds:
    """The latest ``rows`` snapshots before the validation fold, and that fold.

    As in the shipped temporal split, the validation fold is the ``validation_days`` (one
    horizon) of snapshot dates after the training dates. The shipped test fold is not cut
    off: it plays no part in fitting, and a year of data leaves too few training rows.
    """
    frame = frame.sort("as_of", maintain_order=True)
    last = frame["as_of"].max()
    assert isinstance(last, datetime)
    start = last - timedelta(days=validation_days)
    in_validation = frame["as_of"] > start
    train = frame.filter(~in_validation)
    if train.height < rows:
        raise SystemExit(
            f"{train.height:,} snapshots precede the validation fold, fewer than --rows "
            f"{rows:,}; use more --leads or a shorter --cadence-days"
        )
    train = train.tail(rows)
    valid = frame.filter(in_validation)
    return (
        train,
        train["label"].to_numpy().astype(np.int8),
        valid,
        valid["label"].to_numpy().astype(np.int8),
    )


def fit_ours(data: Folds, spec: FeatureSpec, config: PipelineConfig) -> tuple[float, int, int]:
    """(seconds, best iteration, rounds trained) of ``PropensityModel.fit``."""
    train, y, valid, yv = data
    model = new_model(config)
    started = time.perf_counter()
    model.fit(train, y, validation=(valid, yv), spec=spec)
    seconds = time.perf_counter() - started
    # The booster keeps only the best iteration; early stopping ran `patience` rounds past it.
    rounds = min(model.best_iteration_ + model.early_stopping_rounds_, model.max_rounds)
    return seconds, model.best_iteration_, rounds


def fit_reference(
    x_train: NDArray[np.float64],
    y: NDArray[np.int8],
    x_valid: NDArray[np.float64],
    yv: NDArray[np.int8],
    encoder: FeatureEncoder,
    config: PipelineConfig,
) -> tuple[float, int, int]:
    """(seconds, best iteration, rounds trained) of bare ``lgb.train`` on encoded matrices."""
    model = new_model(config)
    params: dict[str, Any] = {
        "objective": "binary",
        "verbosity": -1,
        "seed": config.split.seed,
        "num_threads": 0,
        **model.training_params(len(y)),
    }
    patience = model.patience(params["learning_rate"])
    rounds: list[int] = []
    started = time.perf_counter()
    train_set = lgb.Dataset(
        x_train,
        label=y,
        feature_name=list(encoder.names_),
        categorical_feature=encoder.categorical_indices,
        free_raw_data=True,
    )
    valid_set = lgb.Dataset(x_valid, label=yv, reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=config.model.max_rounds,
        valid_sets=[valid_set],
        valid_names=["validation"],
        callbacks=[
            lgb.early_stopping(patience, verbose=False),
            lambda env: rounds.append(env.iteration + 1),
        ],
    )
    seconds = time.perf_counter() - started
    return seconds, int(booster.best_iteration), max(rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cadence-days", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000, help="training snapshots")
    parser.add_argument("--runs", type=int, default=3, help="fits of each kind")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()

    config = PipelineConfig()
    frame, spec = cached_examples(args.leads, args.seed, args.cadence_days, args.cache)
    data = folds(frame, args.rows, config.split.validation_days or config.horizon_days)
    train, y, valid, yv = data
    first, last = train["as_of"].min(), train["as_of"].max()
    assert isinstance(first, datetime) and isinstance(last, datetime)
    print(
        f"leads: {args.leads:,} (seed {args.seed}); snapshots every {args.cadence_days} days: "
        f"{frame.height:,} labelled; training rows {train.height:,} "
        f"({first:%Y-%m-%d} to {last:%Y-%m-%d}, "
        f"{y.mean():.1%} positive); validation rows {valid.height:,}; "
        f"features {len(spec.feature_names())}"
    )
    print(
        f"model: max_rounds {config.model.max_rounds}, early stopping "
        f"{config.model.early_stopping_rounds} (at 0.02), validation rows "
        f"{config.model.validation_rows}, lightgbm {new_model(config).training_params(len(y))}"
    )
    del frame

    names = list(spec.feature_names())
    categorical = [info.name for info in spec.features() if info.kind == "categorical"]
    started = time.perf_counter()
    encoder = FeatureEncoder(min_category_count=config.model.min_category_count).fit(
        train, names, categorical
    )
    # The same validation rows as the model's own fit (its seeded sample of the fold).
    sampled, yv_sampled = new_model(config).validation_sample(valid, yv)
    x_train, x_valid = encoder.transform(train), encoder.transform(sampled)
    encode_seconds = time.perf_counter() - started

    print(f"before: {machine_load()}", flush=True)
    ours: list[tuple[float, int, int]] = []
    reference: list[tuple[float, int, int]] = []
    for run in range(args.runs):
        for name in ("lgb.train", "PropensityModel.fit"):
            if name == "lgb.train":
                result = fit_reference(x_train, y, x_valid, yv_sampled, encoder, config)
                reference.append(result)
            else:
                result = fit_ours(data, spec, config)
                ours.append(result)
            seconds, best, rounds = result
            print(
                f"run {run + 1} {name:20} {seconds:7.1f} s ({rounds} rounds, best {best}); "
                f"{machine_load()}",
                flush=True,
            )
    started = time.perf_counter()
    fit_baseline(x_train, y, encoder.categorical_indices)
    baseline_seconds = time.perf_counter() - started

    print(f"after: {machine_load()}")
    ours_s = statistics.median(r[0] for r in ours)
    ref_s = statistics.median(r[0] for r in reference)
    print()
    print(f"{'':30}{'median s':>10}{'rounds':>8}{'best':>6}")
    print(f"{'reference lgb.train':30}{ref_s:>10.1f}{reference[0][2]:>8}{reference[0][1]:>6}")
    print(f"{'PropensityModel.fit':30}{ours_s:>10.1f}{ours[0][2]:>8}{ours[0][1]:>6}")
    print(f"{'ratio ours/reference':30}{ours_s / ref_s:>9.2f}x")
    print(
        f"breakdown of the overhead (one run each): encoding train+validation "
        f"{encode_seconds:.1f} s, logistic-regression baseline {baseline_seconds:.1f} s"
    )
    print(f"medians over {args.runs} runs of each")
    ok = ours_s <= MAX_SECONDS
    print(
        f"{'PASS' if ok else 'FAIL'}  PropensityModel.fit on {train.height:,} snapshots: "
        f"median {ours_s:.1f} s <= {MAX_SECONDS:g} s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
