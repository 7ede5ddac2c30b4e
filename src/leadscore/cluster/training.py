"""Training the propensity model on a Dask cluster with ``lightgbm.dask``.

The steps are those of :func:`leadscore.training.propensity.train_propensity`, each run where
the data lives:

* examples and features per part (:mod:`leadscore.cluster.features`), kept on the workers;
* the temporal split from the snapshot dates (a small set reduced to the client);
* the leakage check, the logistic-regression baseline and the assessment on seeded random
  samples of at most ``sample_rows`` training and test rows, the calibration on at most
  ``model.validation_rows`` validation rows — these samples are collected to the client;
* the category vocabularies of the :class:`~leadscore.training.encoding.FeatureEncoder` from
  value counts summed over the parts, so they equal the single-machine ones;
* LightGBM by ``DaskLGBMClassifier`` on the encoded training rows of every part, with the
  parameters of the single-machine model (``PropensityModel.training_params``) and LightGBM's
  feature pre-filter turned off (see :func:`_lightgbm_params`); early stopping follows
  LightGBM's rule (no better validation loss for ``patience`` rounds) on the client's
  validation sample, checked after every block of rounds.

The result is an ordinary :class:`~leadscore.training.model.PropensityModel` in an ordinary
:class:`~leadscore.training.propensity.TrainedPropensity`: it is logged, registered, loaded
and scored exactly like a model trained on one machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pandas as pd
import polars as pl
from numpy.typing import NDArray

from leadscore import __version__
from leadscore.cluster.client import DaskClient
from leadscore.cluster.features import DataBounds, data_bounds, part_examples, resolve_spec
from leadscore.cluster.parts import Part
from leadscore.errors import DataError, UsageError
from leadscore.features import FeatureSpec
from leadscore.training.baseline import MAX_BASELINE_ROWS, fit_baseline
from leadscore.training.config import PipelineConfig
from leadscore.training.encoding import FeatureEncoder
from leadscore.training.fingerprint import fingerprint
from leadscore.training.leakage import check_leakage
from leadscore.training.model import FORMAT_VERSION, PropensityModel
from leadscore.training.propensity import (
    Progress,
    TrainedPropensity,
    assess_examples,
    new_model,
    quiet,
)
from leadscore.training.split import temporal_split

if TYPE_CHECKING:
    from dask.delayed import Delayed

__all__ = ["SAMPLE_ROWS", "ClusterSplit", "train_on_cluster"]

#: Rows of the training and of the test fold collected to the client for the leakage check,
#: the baseline and the assessment.
SAMPLE_ROWS: Final = MAX_BASELINE_ROWS
#: Boosting rounds per block between two early-stopping checks.
BLOCK_ROUNDS: Final = 200
#: Parameters Dask sets itself (threads per worker, machines): left out of the fit.
_DASK_OWNED: Final = frozenset(
    {"num_threads", "num_thread", "nthread", "nthreads", "n_jobs", "num_machines"}
)
_FOLDS: Final = ("train", "validation", "test")


@dataclass(frozen=True)
class ClusterSplit:
    """The temporal split of the examples on the cluster: boundaries and rows per fold."""

    rows: dict[str, int]
    validation_start: datetime
    test_start: datetime

    def to_dict(self) -> dict[str, object]:
        """Sizes and boundaries for logs and JSON (the keys of the single-machine split)."""
        return {
            **{f"{fold}_rows": self.rows[fold] for fold in _FOLDS},
            "validation_start": self.validation_start.isoformat(),
            "test_start": self.test_start.isoformat(),
        }


# -- per-part functions (run on the workers) -------------------------------------------------


def _fold(frame: pl.DataFrame, fold: str, split: ClusterSplit) -> pl.DataFrame:
    as_of = pl.col("as_of")
    if fold == "train":
        return frame.filter(as_of < split.validation_start)
    if fold == "validation":
        return frame.filter((as_of >= split.validation_start) & (as_of < split.test_start))
    return frame.filter(as_of >= split.test_start)


def _dates(frame: pl.DataFrame) -> pl.Series:
    return frame["as_of"].unique()


def _fold_rows(frame: pl.DataFrame, split: ClusterSplit) -> dict[str, int]:
    rows = {fold: _fold(frame, fold, split).height for fold in _FOLDS}
    return rows | {"train_positives": int(_fold(frame, "train", split)["label"].sum())}


def _sample(
    frame: pl.DataFrame, fold: str, split: ClusterSplit, share: float, seed: int
) -> pl.DataFrame:
    """A seeded Bernoulli sample of one fold of one part."""
    rows = _fold(frame, fold, split)
    if share >= 1.0:
        return rows
    keep = np.random.default_rng(seed).random(rows.height) < share
    return rows.filter(pl.Series(keep))


def _category_counts(
    frame: pl.DataFrame, split: ClusterSplit, columns: Sequence[str]
) -> dict[str, dict[str, int]]:
    train = _fold(frame, "train", split)
    out: dict[str, dict[str, int]] = {}
    for column in columns:
        counts = train[column].drop_nulls().value_counts()
        out[column] = dict(zip(counts[column].to_list(), counts["count"].to_list(), strict=True))
    return out


def _encoded(frame: pl.DataFrame, split: ClusterSplit, encoder: FeatureEncoder) -> pd.DataFrame:
    """The encoded training rows of one part and their label, as LightGBM's Dask input."""
    train = _fold(frame, "train", split)
    out = pd.DataFrame(encoder.transform(train), columns=list(encoder.names_))
    out["label"] = train["label"].to_numpy().astype(np.int8)
    return out


def _part_fingerprint(part: Part) -> dict[str, Any]:
    return fingerprint(
        {"leads": part.leads, "touchpoints": part.touchpoints, "outcomes": part.outcomes}
    )


# -- client-side steps -----------------------------------------------------------------------


def _split(client: DaskClient, examples: list[Any], config: PipelineConfig) -> ClusterSplit:
    dates = pl.concat(client.gather(client.map(_dates, examples, pure=False))).unique().sort()
    folds = temporal_split(
        dates,
        test_share=config.split.test_share,
        validation_days=config.split.validation_days or config.horizon_days,
    )
    bounds = ClusterSplit({}, folds.validation_start, folds.test_start)
    counts = client.gather(client.map(_fold_rows, examples, split=bounds, pure=False))
    rows = {key: sum(c[key] for c in counts) for key in (*_FOLDS, "train_positives")}
    return ClusterSplit(rows, folds.validation_start, folds.test_start)


def _collect_sample(
    client: DaskClient, examples: list[Any], fold: str, split: ClusterSplit, rows: int, seed: int
) -> pl.DataFrame:
    """About ``rows`` rows of ``fold`` at random (all of them when it has fewer), collected."""
    share = min(1.0, rows / max(1, split.rows[fold]))
    futures = [
        client.submit(_sample, frame, fold, split, share, seed * 1_000_003 + k, pure=False)
        for k, frame in enumerate(examples)
    ]
    frames: list[pl.DataFrame] = client.gather(futures)
    return pl.concat(frames).sort("as_of", "lead_id")


def _fit_encoder(
    client: DaskClient, examples: list[Any], split: ClusterSplit, spec: FeatureSpec, minimum: int
) -> FeatureEncoder:
    """The encoder the single-machine fit learns: vocabularies from counts over all parts.

    ``FeatureEncoder.fit`` keeps the values seen at least ``minimum`` times; it is fitted on a
    compact frame that repeats each value ``min(count, minimum)`` times, which keeps exactly
    the same values.
    """
    infos = spec.features()
    names = [info.name for info in infos]
    categorical = [info.name for info in infos if info.kind == "categorical"]
    parts = client.gather(
        client.map(_category_counts, examples, split=split, columns=categorical, pure=False)
    )
    columns: dict[str, list[str | None]] = {}
    for column in categorical:
        total: dict[str, int] = {}
        for counts in parts:
            for value, n in counts[column].items():
                total[value] = total.get(value, 0) + n
        columns[column] = [v for v, n in sorted(total.items()) for _ in range(min(n, minimum))]
    height = max((len(v) for v in columns.values()), default=0)
    compact = pl.DataFrame(
        {
            **{
                c: pl.Series(c, v + [None] * (height - len(v)), pl.String)
                for c, v in columns.items()
            },
            **{n: pl.Series(n, [None] * height, pl.Float64) for n in names if n not in columns},
        }
    )
    return FeatureEncoder(min_category_count=minimum).fit(compact, names, categorical)


def _tree_margins(booster: Any, matrix: NDArray[np.float64], start: int, stop: int) -> NDArray[Any]:
    """Each tree's contribution to the raw margin, trees ``start`` … ``stop - 1`` (columns)."""
    return np.column_stack(
        [
            booster.predict(matrix, raw_score=True, start_iteration=i, num_iteration=1)
            for i in range(start, stop)
        ]
    )


def _logloss(labels: NDArray[np.int8], margin: NDArray[np.float64]) -> float:
    return float(np.mean(np.logaddexp(0.0, margin) - labels * margin))


@dataclass
class _EarlyStopping:
    """LightGBM's early-stopping rule on the validation log-loss, fed one block at a time."""

    patience: int
    best: float = np.inf
    best_round: int = 0
    rounds: int = 0

    def update(self, losses: Sequence[float]) -> bool:
        """Add the losses of the next rounds; True once the rule has stopped training."""
        for loss in losses:
            self.rounds += 1
            if loss < self.best:
                self.best, self.best_round = loss, self.rounds
            elif self.rounds - self.best_round >= self.patience:
                return True
        return False


def _boost(
    client: DaskClient,
    train: Any,
    params: dict[str, Any],
    categorical: list[int],
    validation: tuple[NDArray[np.float64], NDArray[np.int8]],
    model: PropensityModel,
    progress: Progress,
) -> tuple[Any, int]:
    """Boost on the cluster block by block until early stopping; the booster and its best
    round."""
    from lightgbm.dask import DaskLGBMClassifier

    x_valid, y_valid = validation
    stopping = _EarlyStopping(model.patience(params["learning_rate"]))
    margin = np.zeros(len(y_valid))
    booster: Any = None
    X, y = train.drop(columns="label"), train["label"]
    while stopping.rounds < model.max_rounds:
        block = min(BLOCK_ROUNDS, model.max_rounds - stopping.rounds)
        estimator = DaskLGBMClassifier(client=client, n_estimators=block, **params)
        # lightgbm.dask prints its port search to stdout, which may carry JSON for a program.
        with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
            # The sklearn wrapper always passes n_jobs; Dask sets the threads per worker.
            warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
            estimator.fit(X, y, categorical_feature=categorical, init_model=booster)
        booster = estimator.booster_
        done = booster.current_iteration()
        trees = _tree_margins(booster, x_valid, done - block, done)
        curve = [_logloss(y_valid, margin + c) for c in np.cumsum(trees, axis=1).T]
        margin = margin + trees.sum(axis=1)
        progress(f"boosted {done} rounds (validation log-loss {curve[-1]:.4f})")
        if stopping.update(curve):
            break
    return booster, stopping.best_round


def _lightgbm_params(model: PropensityModel, rows: int) -> dict[str, Any]:
    """The single-machine fit's LightGBM parameters for ``rows`` training rows, less those
    Dask sets, with ``feature_pre_filter`` off.

    The pre-filter drops a feature before training when no bin boundary leaves
    ``min_data_in_leaf`` rows on both sides. In a distributed fit each worker applies it to its
    own part only, so with parts of equal size a feature is dropped unless its rarer side holds
    about ``min_data_in_leaf`` times the number of workers rows, where the single-machine fit
    needs ``min_data_in_leaf``. On the test suite's small CRM two workers dropped 40 to 60
    features more than the single-machine fit (of 185), and the model lost up to 0.005 of test
    ROC AUC. Without the filter no feature is dropped; ``min_data_in_leaf`` still holds for
    every split, as it is checked on the histograms summed over all workers.
    """
    params = {
        "objective": "binary",
        "verbosity": -1,
        "seed": model.seed,
        "deterministic": True,
        **model.training_params(rows),
    }
    metric = params.pop("metric", "binary_logloss")
    if metric not in ("binary_logloss", "logloss", "binary", ["binary_logloss"]):
        raise UsageError(
            f"The Dask path stops early on the validation log-loss; the pipeline sets "
            f"model.lightgbm.metric to {metric!r}. Remove it to train with --dask."
        )
    params["feature_pre_filter"] = False
    return {k: v for k, v in params.items() if k not in _DASK_OWNED}


def _assemble(
    model: PropensityModel,
    spec: FeatureSpec,
    encoder: FeatureEncoder,
    booster: Any,
    best_round: int,
    params: dict[str, Any],
) -> PropensityModel:
    """Give ``model`` the learned state ``PropensityModel.fit`` gives, from the cluster's parts
    (calibration and baseline follow)."""
    model.spec_ = spec
    model.infos_ = tuple(spec.features())
    model.encoder_ = encoder
    model.training_params_ = params
    model.early_stopping_rounds_ = model.patience(params["learning_rate"])
    model.booster_ = booster
    model.best_iteration_ = best_round
    model.format_version_ = FORMAT_VERSION
    model.library_version_ = __version__
    return model


def _fingerprint(client: DaskClient, parts: list[Delayed]) -> dict[str, Any]:
    """Rows and columns per table and a SHA-256 over the parts' own content hashes."""
    from dask.delayed import delayed

    prints = client.compute([delayed(_part_fingerprint)(p) for p in parts], sync=True)
    out: dict[str, Any] = {}
    for table in ("leads", "touchpoints", "outcomes"):
        digest = hashlib.sha256(b"parts")
        for facts in prints:
            digest.update(str(facts[table]["sha256"]).encode())
        out[table] = {
            "rows": sum(f[table]["rows"] for f in prints),
            "columns": prints[0][table]["columns"],
            "sha256": digest.hexdigest(),
        }
    return out


def train_on_cluster(
    client: DaskClient,
    parts: list[Delayed],
    config: PipelineConfig,
    *,
    truth: pl.DataFrame | None = None,
    keep_columns: Sequence[str] = (),
    sample_rows: int = SAMPLE_ROWS,
    progress: Progress = quiet,
) -> TrainedPropensity:
    """Train, calibrate and assess the propensity model on the parts of the data (see the
    module docstring). ``test`` and ``test_features`` of the result hold the test sample."""
    from dask.delayed import delayed

    progress("summarising the partitions")
    bounds: DataBounds = data_bounds(client, parts)
    spec = resolve_spec(config.features, bounds)
    progress(f"building point-in-time snapshots and features of {bounds.leads:,} leads")
    examples = client.compute([delayed(part_examples)(p, spec, config, bounds) for p in parts])
    split = _split(client, examples, config)
    seed = config.split.seed

    progress("checking a sample of the training rows for leakage")
    train_sample = _collect_sample(client, examples, "train", split, sample_rows, seed)
    labels = train_sample["label"].to_numpy().astype(np.int8)
    if labels.min(initial=1) == labels.max(initial=0):
        raise DataError("The training snapshots hold one class only; the model cannot learn.")
    leakage = check_leakage(train_sample.select(spec.feature_names()), labels, keep=keep_columns)
    spec = spec.excluding(list(leakage.excluded_columns))

    model = new_model(config)
    encoder = _fit_encoder(client, examples, split, spec, model.min_category_count)
    valid_rows = model.validation_rows or split.rows["validation"]
    valid = _collect_sample(client, examples, "validation", split, valid_rows, seed + 1)
    x_valid = encoder.transform(valid)
    y_valid = valid["label"].to_numpy().astype(np.int8)

    progress(f"training LightGBM on {split.rows['train']:,} snapshots on the cluster")
    params = _lightgbm_params(model, split.rows["train"])
    meta = _encoded(pl.DataFrame(schema=valid.schema), split, encoder)
    import dask.dataframe as dd

    train = dd.from_delayed(
        [client.submit(_encoded, f, split, encoder, pure=False) for f in examples], meta=meta
    )
    booster, best_round = _boost(
        client, train, params, encoder.categorical_indices, (x_valid, y_valid), model, progress
    )
    _assemble(model, spec, encoder, booster, best_round, params).calibrate(x_valid, y_valid)
    model.baseline_ = fit_baseline(
        encoder.transform(train_sample), labels, encoder.categorical_indices
    )

    progress("assessing on a sample of the test snapshots")
    test = _collect_sample(client, examples, "test", split, sample_rows, seed + 2)
    scored, assessment = assess_examples(
        model, test, truth=truth, training_positives=split.rows["train_positives"]
    )
    return TrainedPropensity(
        model=model,
        baseline=model.baseline_,
        config=config,
        spec=spec,
        split=split,
        test=scored,
        test_features=test,
        assessment=assessment,
        leakage=leakage,
        fingerprint=_fingerprint(client, parts),
        notes={"engine": "dask", "test_sample_rows": test.height, "parts": len(parts)},
    )
