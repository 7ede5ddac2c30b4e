"""P(convert | state, do(touchpoint)) for every arm: a cross-fitted doubly robust learner.

Logged touchpoints are confounded: reps call and demo the leads that already look hot. The
:class:`NextTouchpointModel` handles this in three cross-fitted stages (folds grouped by
lead, so no lead is in the training and prediction part of the same fold):

1. **Logging policy** ``pi(a | x)``: a multinomial LightGBM of the logged arm on the state.
   Propensities are clipped below at ``clip``; :attr:`NextTouchpointModel.overlap_` reports
   the share clipped and the effective sample size per arm.
2. **Outcome model** ``mu_a(x)``: one LightGBM of the outcome on the state and the arm (a
   categorical feature), evaluated for every arm.
3. **Doubly robust pseudo-outcomes** ``G_a = mu_a(x) + 1{A=a} (S - mu_a(x)) / pi(a | x)``
   on the held-out fold, and per arm a regression of ``G_a - G_none`` on ``x`` (the DR-learner
   of Kennedy, 2023): the uplift ``tau_a(x)`` over doing nothing. It is unbiased when either
   the propensity or the outcome model is right.

``S`` is the outcome ``Y`` or, with a :class:`Surrogate`, the **surrogate index** (Athey et
al., 2019): ``E[Y | what is known d days after the decision]`` — 1 or 0 for a lead that
converted or was lost by then, else a cross-fitted prediction of ``Y`` from the lead's state
at that time. Its mean is ``Y``'s, but most of the noise of the binary outcome is gone, and a
touchpoint acts through the lead's later behaviour, which the later state records: the
variance of the rare touchpoints' pseudo-outcomes drops several-fold.

The probability under arm ``a`` is ``mu_none(x) + tau_a(x)``; the uncertainty of an uplift is
the spread of the per-fold effect models. :class:`NaiveUpliftModel` is the reference without
any adjustment: the same outcome model, uplift = difference of its predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import lightgbm as lgb
import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.errors import DataError, UsageError
from leadscore.features import FeatureInfo, FeatureSpec
from leadscore.training.encoding import FeatureEncoder
from leadscore.training.next_touchpoint_config import (
    DEFAULT_UPLIFT_LIGHTGBM,
    NONE,
    EstimatorConfig,
)

__all__ = [
    "FORMAT_VERSION",
    "ArmOverlap",
    "NaiveUpliftModel",
    "NextTouchpointModel",
    "Surrogate",
    "UpliftEstimator",
    "UpliftPrediction",
    "lead_folds",
]

FORMAT_VERSION = 1
FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True)
class Surrogate:
    """What is known ``days`` after each training decision point, for the surrogate index.

    ``state``: the features (same columns as the decision points') at ``as_of + days``, one
    row per decision point in the same order; ``settled``: 1.0 if the lead converted in
    ``(as_of, as_of + days]``, 0.0 if it was lost then, NaN if it was still open.
    """

    state: pl.DataFrame
    settled: FloatArray
    days: int


@dataclass(frozen=True)
class UpliftPrediction:
    """Per row and arm (column 0 is ``none``): probability to convert if the company does the
    arm now, its uplift over ``none`` (0 for ``none``) and the uplift's standard deviation."""

    arms: tuple[str, ...]
    probability: FloatArray
    uplift: FloatArray
    uncertainty: FloatArray


@dataclass(frozen=True)
class ArmOverlap:
    """Overlap diagnostics of one arm: how well the logged data cover it."""

    arm: str
    rows: int
    mean_propensity: float
    min_propensity: float
    share_clipped: float
    effective_sample_size: float

    def to_dict(self) -> dict[str, object]:
        """The diagnostics as a plain mapping (for JSON and MLflow)."""
        return dict(self.__dict__)


class UpliftEstimator(Protocol):
    """What recommendation and evaluation need of a fitted uplift model."""

    arms_: tuple[str, ...]

    def predict(self, features: pl.DataFrame) -> UpliftPrediction: ...


def lead_folds(lead_id: pl.Series, folds: int, seed: int) -> IntArray:
    """A fold number per row; all rows of a lead share one fold."""
    hashed = lead_id.cast(pl.String).hash(seed=seed).to_numpy()
    return (hashed % np.uint64(folds)).astype(np.int64)


def _params(base: dict[str, Any] | None, seed: int, **extra: Any) -> dict[str, Any]:
    return {"verbosity": -1, "seed": seed, **(base or DEFAULT_UPLIFT_LIGHTGBM), **extra}


def _with_arm(matrix: FloatArray, arm: int | IntArray) -> FloatArray:
    column = np.broadcast_to(np.asarray(arm, dtype=np.float64), (matrix.shape[0],))
    return np.column_stack([matrix, column])


class _Fitted:
    """Shared fitted state: the encoder of the state features and the arms."""

    arms_: tuple[str, ...]
    encoder_: FeatureEncoder
    spec_: FeatureSpec

    def __init__(
        self, *, config: EstimatorConfig | None = None, min_category_count: int = 20
    ) -> None:
        self.config = config
        self.min_category_count = min_category_count

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            raise UsageError(f"This {type(self).__name__} is not fitted yet; call fit() first.")

    def _encode(
        self,
        features: pl.DataFrame,
        spec: FeatureSpec | None,
        context: Sequence[str],
        min_count: int,
        infos: Sequence[FeatureInfo] | None = None,
    ) -> FloatArray:
        """Learn the encoder of the features and the numeric ``context`` columns.

        The features are the ``spec``'s (event data) or, for a flat table without a spec,
        the explicit ``infos`` (name and kind of each column); exactly one is given.
        """
        if (spec is None) == (infos is None):
            raise UsageError(
                f"{type(self).__name__}.fit needs either spec= (event data) or infos= (the "
                "columns of a flat table), not both or neither."
            )
        if spec is not None:
            infos = spec.features()
            self.spec_ = spec
        assert infos is not None
        self.context_ = tuple(context)
        self.encoder_ = FeatureEncoder(min_category_count=min_count).fit(
            features,
            [*(i.name for i in infos), *self.context_],
            [i.name for i in infos if i.kind == "categorical"],
        )
        return self.encoder_.transform(features)

    def _dataset(
        self, matrix: FloatArray, label: FloatArray, weight: FloatArray, rows: NDArray[np.bool_]
    ) -> lgb.Dataset:
        """The state matrix's ``rows`` as a LightGBM dataset with native categories."""
        return lgb.Dataset(
            matrix[rows],
            label=label[rows],
            weight=weight[rows],
            feature_name=list(self.encoder_.names_),
            categorical_feature=self.encoder_.categorical_indices,
            free_raw_data=True,
        )

    def _outcome_set(
        self, matrix: FloatArray, arm: IntArray, y: FloatArray, weight: FloatArray
    ) -> lgb.Dataset:
        names = [*self.encoder_.names_, "_arm"]
        categorical = [*self.encoder_.categorical_indices, len(names) - 1]
        return lgb.Dataset(
            _with_arm(matrix, arm),
            label=y,
            weight=weight,
            feature_name=names,
            categorical_feature=categorical,
            free_raw_data=True,
        )


def _predict(booster: lgb.Booster, matrix: FloatArray) -> FloatArray:
    return np.asarray(booster.predict(matrix), dtype=np.float64)


def _mean(parts: Sequence[FloatArray]) -> FloatArray:
    return np.asarray(np.mean(parts, axis=0), dtype=np.float64)


def _arm_outcomes(booster: lgb.Booster, matrix: FloatArray, n_arms: int) -> FloatArray:
    """``mu_a(x)`` of an outcome booster for every arm: shape (rows, arms)."""
    return np.column_stack([_predict(booster, _with_arm(matrix, a)) for a in range(n_arms)])


def _check_inputs(treatment: IntArray, outcome: NDArray[Any], n_arms: int) -> None:
    if treatment.min(initial=0) < 0 or treatment.max(initial=0) >= n_arms:
        raise DataError(f"Treatment codes must lie in 0 … {n_arms - 1}.")
    counts = np.bincount(treatment, minlength=n_arms)
    if (counts == 0).any():
        raise DataError(
            f"Every arm needs logged rows; arms with none: {np.flatnonzero(counts == 0)}"
        )
    if np.unique(outcome).size < 2:
        raise DataError("The outcome has one class only; nothing can be learned.")


class NaiveUpliftModel(_Fitted):
    """The unadjusted reference: the two-model approach of campaign analytics.

    One outcome model per arm, each fitted on the rows that got it; the uplift is
    ``mu_a(x) - mu_none(x)``. Nothing corrects for which leads the reps chose, so each arm's
    model learns from the leads reps gave it (calls and demos: hot leads) and mistakes that
    selection for effect wherever the state does not fully explain it.
    """

    def fit(
        self,
        features: pl.DataFrame,
        treatment: IntArray,
        outcome: NDArray[Any],
        *,
        arms: Sequence[str],
        spec: FeatureSpec | None = None,
        infos: Sequence[FeatureInfo] | None = None,
        context: Sequence[str] = (),
        weight: FloatArray | None = None,
    ) -> NaiveUpliftModel:
        """Fit one outcome model per arm; ``treatment`` indexes ``arms`` (0 = none). The
        features are the ``spec``'s or, for a flat table, the columns ``infos`` describe."""
        config = self.config or EstimatorConfig()
        self.arms_ = tuple(arms)
        _check_inputs(treatment, outcome, len(self.arms_))
        matrix = self._encode(features, spec, context, self.min_category_count, infos)
        y = outcome.astype(np.float64)
        w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
        params = _params(config.lightgbm, config.seed, objective="binary")
        self.boosters_ = [
            lgb.train(params, self._dataset(matrix, y, w, treatment == a), config.outcome_rounds)
            for a in range(len(self.arms_))
        ]
        self.format_version_ = FORMAT_VERSION
        return self

    def predict(self, features: pl.DataFrame) -> UpliftPrediction:
        """Probabilities and uplifts of every arm; the uncertainty is not estimated (0)."""
        self._check_fitted()
        matrix = self.encoder_.transform(features)
        mu = np.column_stack([_predict(b, matrix) for b in self.boosters_])
        return UpliftPrediction(self.arms_, mu, mu - mu[:, :1], np.zeros_like(mu))


class NextTouchpointModel(_Fitted):
    """The cross-fitted multi-treatment DR-learner; see the module docstring."""

    def fit(
        self,
        features: pl.DataFrame,
        treatment: IntArray,
        outcome: NDArray[Any],
        *,
        arms: Sequence[str],
        spec: FeatureSpec | None = None,
        groups: pl.Series,
        infos: Sequence[FeatureInfo] | None = None,
        context: Sequence[str] = (),
        weight: FloatArray | None = None,
        known_propensity: Sequence[float] | FloatArray | None = None,
        surrogate: Surrogate | None = None,
    ) -> NextTouchpointModel:
        """Fit all three stages; ``groups`` (the lead ids) keep each lead in one fold.

        ``treatment`` indexes ``arms`` (0 must be ``none``); the features are the ``spec``'s
        or, for a flat table, the columns ``infos`` describe; ``context`` names numeric columns
        read beside them (the company context); ``weight`` is the inverse of each row's
        sampling probability (see :mod:`leadscore.training.decision_points`).
        ``known_propensity`` is the known probability of each arm (a randomised assignment,
        the same for every row): it is then the logging policy, and none is fitted.
        ``surrogate`` replaces the outcome in the pseudo-outcomes by the surrogate index (see
        the module docstring); :attr:`surrogate_` then describes it.
        """
        config = self.config or EstimatorConfig()
        self.arms_ = tuple(arms)
        if not self.arms_ or self.arms_[0] != NONE:
            raise UsageError(f"The first arm must be {NONE!r}; got {self.arms_[:1]}.")
        _check_inputs(treatment, outcome, len(self.arms_))
        self.known_propensity_ = _known_shares(known_propensity, len(self.arms_))
        matrix = self._encode(features, spec, context, self.min_category_count, infos)
        y = outcome.astype(np.float64)
        w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
        fold = lead_folds(groups, config.folds, config.seed)
        pi, mu = self._fit_nuisances(matrix, treatment, y, w, fold, config)
        self.overlap_ = _overlap(self.arms_, treatment, pi, w, config.clip)
        self.propensity_ = pi
        self.surrogate_: dict[str, float | int] | None = None
        target = y if surrogate is None else self._surrogate_index(surrogate, y, w, fold, config)
        pseudo = _pseudo_outcomes(treatment, target, mu, np.maximum(pi, config.clip))
        names = config.effect_features
        self.effect_columns_ = tuple(
            i
            for i, n in enumerate(self.encoder_.names_)
            if names is None or n in names or (config.effect_context and n in self.context_)
        )
        modifiers = self._modifiers(matrix, mu[:, 0])
        self.effect_models_ = self._fit_effects(modifiers, pseudo, w, fold, config)
        self.format_version_ = FORMAT_VERSION
        return self

    def _fit_nuisances(
        self,
        matrix: FloatArray,
        treatment: IntArray,
        y: FloatArray,
        w: FloatArray,
        fold: IntArray,
        config: EstimatorConfig,
    ) -> tuple[FloatArray, FloatArray]:
        """Cross-fitted ``pi(a | x)`` and ``mu_a(x)``: each fold predicted by models that
        never saw its leads. A known logging policy is used as it is."""
        n_arms = len(self.arms_)
        pi = np.empty((len(y), n_arms))
        mu = np.empty((len(y), n_arms))
        self.propensity_models_: list[lgb.Booster] = []
        self.outcome_models_: list[lgb.Booster] = []
        arm_float = treatment.astype(np.float64)
        known = self.known_propensity_
        for k in range(config.folds):
            rows, held = fold != k, fold == k
            if known is None:
                propensity = lgb.train(
                    _params(
                        config.lightgbm, config.seed + k, objective="multiclass", num_class=n_arms
                    ),
                    self._dataset(matrix, arm_float, w, rows),
                    num_boost_round=config.propensity_rounds,
                )
                pi[held] = np.asarray(propensity.predict(matrix[held]), dtype=np.float64)
                self.propensity_models_.append(propensity)
            else:
                pi[held] = known
            outcome_model = lgb.train(
                _params(config.lightgbm, config.seed + k, objective="binary"),
                self._outcome_set(matrix[rows], treatment[rows], y[rows], w[rows]),
                num_boost_round=config.outcome_rounds,
            )
            mu[held] = _arm_outcomes(outcome_model, matrix[held], n_arms)
            self.outcome_models_.append(outcome_model)
        return pi, mu

    def _surrogate_index(
        self,
        surrogate: Surrogate,
        y: FloatArray,
        w: FloatArray,
        fold: IntArray,
        config: EstimatorConfig,
    ) -> FloatArray:
        """``E[Y | state d days later]``: settled rows keep their outcome; each fold's open
        rows get the prediction of a model fitted on the other folds' open rows."""
        settled = np.asarray(surrogate.settled, dtype=np.float64)
        if surrogate.state.height != len(y) or settled.shape != y.shape:
            raise UsageError(
                f"The surrogate needs one row per decision point ({len(y)}); got "
                f"{surrogate.state.height} state rows and {settled.shape[0]} settled values."
            )
        later = self.encoder_.transform(surrogate.state)
        is_open = np.isnan(settled)
        index = np.where(is_open, 0.0, settled)
        params = _params(
            config.lightgbm,
            config.seed,
            objective="binary",
            learning_rate=0.05,
            num_leaves=15,
            max_depth=-1,
            min_child_samples=200,
        )
        for k in range(config.folds):
            rows, held = (fold != k) & is_open, (fold == k) & is_open
            if not held.any():
                continue
            if np.unique(y[rows]).size < 2:
                index[held] = np.average(y[rows], weights=w[rows]) if rows.any() else y.mean()
                continue
            model = lgb.train(
                params, self._dataset(later, y, w, rows), num_boost_round=config.surrogate_rounds
            )
            index[held] = _predict(model, later[held])
        spread = float(np.var(y))
        self.surrogate_ = {
            "days": surrogate.days,
            "share_settled": float(np.average(~is_open, weights=w)),
            "outcome_mean": float(np.average(y, weights=w)),
            "index_mean": float(np.average(index, weights=w)),
            "variance_ratio": float(np.var(index)) / max(spread, 1e-12),
            "correlation": float(np.corrcoef(index, y)[0, 1]) if spread > 0 else 0.0,
        }
        return index

    def _modifiers(self, matrix: FloatArray, baseline: FloatArray) -> FloatArray:
        """The effect regression's inputs: the baseline risk and the effect features."""
        return np.column_stack([baseline, matrix[:, list(self.effect_columns_)]])

    def _fit_effects(
        self,
        modifiers: FloatArray,
        pseudo: FloatArray,
        weight: FloatArray,
        fold: IntArray,
        config: EstimatorConfig,
    ) -> list[list[lgb.Booster]]:
        """Per fold (trained on the other folds) and arm, a regression of ``G_a - G_none``."""
        params = _params(
            config.lightgbm,
            config.seed,
            objective="regression",
            min_child_samples=config.effect_min_child_samples,
            learning_rate=config.effect_learning_rate,
            num_leaves=config.effect_leaves,
            feature_fraction=1.0,
        )
        names = ["baseline_risk", *(self.encoder_.names_[i] for i in self.effect_columns_)]
        categorical = [
            1 + j
            for j, i in enumerate(self.effect_columns_)
            if i in self.encoder_.categorical_indices
        ]
        models: list[list[lgb.Booster]] = []
        for k in range(config.folds):
            rows = fold != k
            per_arm: list[lgb.Booster] = []
            for a in range(1, len(self.arms_)):
                data = lgb.Dataset(
                    modifiers[rows],
                    label=pseudo[rows, a] - pseudo[rows, 0],
                    weight=weight[rows],
                    feature_name=names,
                    categorical_feature=categorical,
                    free_raw_data=True,
                )
                per_arm.append(lgb.train(params, data, num_boost_round=config.effect_rounds))
            models.append(per_arm)
        return models

    def predict_logging_policy(self, features: pl.DataFrame) -> FloatArray:
        """The logging policy ``pi(a | x)``: the known one when fitted with it, else the
        estimate (mean of the fold models), unclipped."""
        self._check_fitted()
        known: FloatArray | None = getattr(self, "known_propensity_", None)
        if known is not None:
            return np.tile(known, (features.height, 1))
        matrix = self.encoder_.transform(features)
        return _mean([_predict(m, matrix) for m in self.propensity_models_])

    def predict_outcomes(self, features: pl.DataFrame) -> FloatArray:
        """The outcome model's ``mu_a(x)`` for every arm (mean of the fold models)."""
        self._check_fitted()
        return self._outcomes(self.encoder_.transform(features))

    def _outcomes(self, matrix: FloatArray) -> FloatArray:
        n_arms = len(self.arms_)
        return _mean([_arm_outcomes(m, matrix, n_arms) for m in self.outcome_models_])

    def predict(self, features: pl.DataFrame) -> UpliftPrediction:
        """Probability, uplift over ``none`` and its uncertainty for every arm.

        The uplift is the mean of the per-fold effect models, its uncertainty their standard
        deviation; the probability is ``mu_none(x)`` plus the uplift, within [0, 1].
        """
        self._check_fitted()
        matrix = self.encoder_.transform(features)
        base = np.mean([_predict(m, _with_arm(matrix, 0)) for m in self.outcome_models_], axis=0)
        modifiers = self._modifiers(matrix, base)
        zeros = np.zeros(matrix.shape[0])
        per_fold = np.stack(
            [
                np.column_stack([zeros, *(_predict(m, modifiers) for m in models)])
                for models in self.effect_models_
            ]
        )
        uplift = per_fold.mean(axis=0)
        spread = per_fold.std(axis=0, ddof=1)
        probability = np.clip(base[:, None] + uplift, 0.0, 1.0)
        return UpliftPrediction(self.arms_, probability, uplift, spread)


def _known_shares(shares: Sequence[float] | FloatArray | None, n_arms: int) -> FloatArray | None:
    """The known logging policy as an array of arm probabilities, checked; None stays None."""
    if shares is None:
        return None
    known = np.asarray(shares, dtype=np.float64)
    if known.shape != (n_arms,) or (known <= 0).any() or not np.isclose(known.sum(), 1.0):
        raise UsageError(
            f"The 'known_propensity' parameter of NextTouchpointModel.fit must be {n_arms} "
            f"positive probabilities summing to 1, one per arm. Got {known.tolist()} instead."
        )
    return known


def _pseudo_outcomes(
    treatment: IntArray, y: FloatArray, mu: FloatArray, pi: FloatArray
) -> FloatArray:
    """``G_a = mu_a + 1{A=a} (Y - mu_a) / pi_a`` for every row and arm."""
    rows = np.arange(len(y))
    pseudo = mu.copy()
    pseudo[rows, treatment] += (y - mu[rows, treatment]) / pi[rows, treatment]
    return pseudo


def _overlap(
    arms: tuple[str, ...], treatment: IntArray, pi: FloatArray, weight: FloatArray, clip: float
) -> tuple[ArmOverlap, ...]:
    """Per arm: logged rows, propensities among them, share clipped, effective sample size.

    The effective sample size of arm ``a`` is that of its inverse-propensity weights,
    ``(sum w)^2 / sum w^2`` with ``w = weight / max(pi_a, clip)`` over the rows that got ``a``.
    """
    out: list[ArmOverlap] = []
    for a, name in enumerate(arms):
        rows = treatment == a
        p = pi[rows, a]
        ipw = weight[rows] / np.maximum(p, clip)
        ess = float(ipw.sum() ** 2 / (ipw**2).sum()) if rows.any() else 0.0
        out.append(
            ArmOverlap(
                arm=name,
                rows=int(rows.sum()),
                mean_propensity=float(np.average(pi[:, a], weights=weight)),
                min_propensity=float(p.min(initial=1.0)),
                share_clipped=float(np.average(pi[:, a] < clip, weights=weight)),
                effective_sample_size=ess,
            )
        )
    return tuple(out)
