"""The propensity model: LightGBM with early stopping, calibrated on a later fold.

Fitting also fits the logistic-regression baseline on the same rows (``baseline_``), so that
any evaluation of the model, on any data, reports the baseline beside it.

Follows the scikit-learn estimator contract: ``__init__`` stores parameters, ``fit`` learns
and returns ``self``, learned state ends in ``_``. The fitted object carries its resolved
feature spec, so scoring rebuilds exactly the training features, and the format and library
versions it was saved with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import lightgbm as lgb
import numpy as np
import polars as pl
from numpy.typing import NDArray
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from leadscore.errors import UsageError
from leadscore.features import FeatureInfo, FeatureSpec
from leadscore.training.baseline import fit_baseline
from leadscore.training.encoding import FeatureEncoder

__all__ = ["FORMAT_VERSION", "PROBABILITY_BOUNDS", "PropensityModel"]

FORMAT_VERSION = 1
#: No lead is reported certain to buy or certain not to: an isotonic calibrator fitted on a
#: finite fold can reach 0 or 1 exactly at its ends.
PROBABILITY_BOUNDS = (0.001, 0.99)


#: Up to this many training rows the automatic learning rate is ``AUTO_RATE``.
AUTO_ROWS = 250_000
AUTO_RATE = 0.02
MAX_AUTO_RATE = 0.1
#: Up to this many rows LightGBM predicts on the calling thread: for a lead or two, waking
#: OpenMP's thread team costs more than the prediction (about 1.5 ms against 0.05 ms for
#: one row, far more on a busy machine) and serialises concurrent requests on the team.
SERIAL_ROWS = 4


def auto_learning_rate(rows: int) -> float:
    """The learning rate ``auto`` stands for: 0.02 up to 250,000 training rows, then in
    proportion to the rows, up to 0.1 (at 1.25 million).

    Small tables need small steps (on 20,000 simulated leads 0.05 already loses ROC AUC and
    Brier score); on a million rows larger steps reach the same validation ROC AUC in a
    fraction of the rounds (``benchmarks/training_speed.py``).
    """
    return min(MAX_AUTO_RATE, AUTO_RATE * max(1.0, rows / AUTO_ROWS))


def _threads(matrix: NDArray[np.float64]) -> int:
    """LightGBM's ``num_threads`` for predicting ``matrix``: 1 for a few rows, else 0 (its
    default, every core)."""
    return 1 if matrix.shape[0] <= SERIAL_ROWS else 0


class PropensityModel:
    """Calibrated probability that an open lead converts within the horizon."""

    def __init__(
        self,
        *,
        params: dict[str, Any] | None = None,
        learning_rate: float | Literal["auto"] = "auto",
        rows_per_round: int | None = AUTO_ROWS,
        validation_rows: int | None = AUTO_ROWS,
        max_rounds: int = 3000,
        early_stopping_rounds: int = 100,
        calibration: Literal["isotonic", "sigmoid"] = "isotonic",
        min_category_count: int = 20,
        seed: int = 0,
    ) -> None:
        self.params = params
        self.learning_rate = learning_rate
        self.rows_per_round = rows_per_round
        self.validation_rows = validation_rows
        self.max_rounds = max_rounds
        self.early_stopping_rounds = early_stopping_rounds
        self.calibration = calibration
        self.min_category_count = min_category_count
        self.seed = seed

    def fit(
        self,
        features: pl.DataFrame,
        labels: NDArray[np.int8],
        *,
        validation: tuple[pl.DataFrame, NDArray[np.int8]],
        spec: FeatureSpec | None = None,
        infos: Sequence[FeatureInfo] | None = None,
    ) -> PropensityModel:
        """Train on ``features``; stop early and calibrate on the later ``validation`` fold.

        The columns are those of ``spec`` (event path: scoring rebuilds them with the feature
        builder) or, for a flat lead table, the given ``infos``.
        """
        from leadscore import __version__

        if (spec is None) == (infos is None):
            raise UsageError("PropensityModel.fit needs either spec or infos, not both.")
        self.spec_ = spec
        self.infos_ = tuple(spec.features() if spec is not None else infos or ())
        names = [info.name for info in self.infos_]
        categorical = [info.name for info in self.infos_ if info.kind == "categorical"]
        self.encoder_ = FeatureEncoder(min_category_count=self.min_category_count).fit(
            features, names, categorical
        )
        valid_frame, valid_labels = self.validation_sample(*validation)
        x_train = self.encoder_.transform(features)
        x_valid = self.encoder_.transform(valid_frame)
        params = {
            "objective": "binary",
            "verbosity": -1,
            "seed": self.seed,
            "num_threads": 0,
            **self.training_params(len(labels)),
        }
        self.training_params_ = params
        train_set = lgb.Dataset(
            x_train,
            label=labels,
            feature_name=names,
            categorical_feature=self.encoder_.categorical_indices,
            free_raw_data=True,
        )
        valid_set = lgb.Dataset(x_valid, label=valid_labels, reference=train_set)
        self.early_stopping_rounds_ = self.patience(params["learning_rate"])
        self.booster_ = lgb.train(
            params,
            train_set,
            num_boost_round=self.max_rounds,
            valid_sets=[valid_set],
            valid_names=["validation"],
            callbacks=[lgb.early_stopping(self.early_stopping_rounds_, verbose=False)],
        )
        self.best_iteration_ = int(
            self.booster_.best_iteration or self.booster_.current_iteration()
        )
        self.calibrate(x_valid, valid_labels)
        self.baseline_ = fit_baseline(x_train, labels, self.encoder_.categorical_indices)
        self.format_version_ = FORMAT_VERSION
        self.library_version_ = __version__
        return self

    def calibrate(self, matrix: NDArray[np.float64], labels: NDArray[np.int8]) -> PropensityModel:
        """Fit the calibrator on the booster's margins of an encoded validation matrix (a later
        fold than the booster was trained on). Used by ``fit`` and by the Dask training path,
        which trains the booster elsewhere."""
        margin = self._margin(matrix)
        self.calibrator_: IsotonicRegression | LogisticRegression
        if self.calibration == "isotonic":
            self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
            self.calibrator_.fit(margin, labels)
        else:
            self.calibrator_ = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), labels)
        return self

    def training_params(self, rows: int) -> dict[str, Any]:
        """The LightGBM parameters a fit on ``rows`` training rows uses: ``params`` with the
        learning rate resolved and bagging capped at ``rows_per_round`` rows a round."""
        params = dict(self.params or {})
        if "learning_rate" not in params:
            rate = self.learning_rate
            params["learning_rate"] = auto_learning_rate(rows) if rate == "auto" else rate
        if self.rows_per_round is not None and rows > self.rows_per_round:
            fraction = float(params.get("bagging_fraction", 1.0))
            if params.get("bagging_freq", 0) <= 0:
                fraction = 1.0
            params["bagging_fraction"] = min(fraction, self.rows_per_round / rows)
            params["bagging_freq"] = max(1, int(params.get("bagging_freq", 1)))
        return params

    def patience(self, learning_rate: float) -> int:
        """Early-stopping rounds at ``learning_rate``: ``early_stopping_rounds`` counts rounds
        at the automatic rate's base of 0.02, so a larger automatic rate waits fewer rounds
        for the same amount of learning (25 at 0.08). A rate given by hand keeps them."""
        if self.learning_rate != "auto" or learning_rate <= AUTO_RATE:
            return self.early_stopping_rounds
        return max(10, round(self.early_stopping_rounds * AUTO_RATE / learning_rate))

    def validation_sample(
        self, frame: pl.DataFrame, labels: NDArray[np.int8]
    ) -> tuple[pl.DataFrame, NDArray[np.int8]]:
        """At most ``validation_rows`` rows of the validation fold, at random (seeded): they
        stop the boosting and fit the calibration."""
        if self.validation_rows is None or frame.height <= self.validation_rows:
            return frame, labels
        rng = np.random.default_rng(self.seed)
        keep = np.sort(rng.choice(frame.height, size=self.validation_rows, replace=False))
        return frame[keep], labels[keep]

    def _check_fitted(self) -> None:
        if not hasattr(self, "booster_"):
            raise UsageError("This PropensityModel is not fitted yet; call fit() first.")

    def _margin(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        raw = self.booster_.predict(
            matrix,
            num_iteration=self.best_iteration_,
            raw_score=True,
            num_threads=_threads(matrix),
        )
        return np.asarray(raw, dtype=np.float64)

    def transform(self, features: pl.DataFrame) -> NDArray[np.float64]:
        """The numeric matrix the booster reads (encoded categoricals)."""
        self._check_fitted()
        return self.encoder_.transform(features)

    def predict_proba_matrix(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated probabilities from an already encoded matrix."""
        self._check_fitted()
        margin = self._margin(matrix)
        # The fitted calibrators' own formulas, without scikit-learn's input checks (they
        # cost more than the prediction of one lead).
        calibrator = self.calibrator_
        if isinstance(calibrator, IsotonicRegression):
            # Linear between the thresholds, clipped outside (out_of_bounds="clip").
            out = np.interp(margin, calibrator.X_thresholds_, calibrator.y_thresholds_)
        else:
            logit = margin * float(calibrator.coef_[0, 0]) + float(calibrator.intercept_[0])
            out = 1.0 / (1.0 + np.exp(-logit))
        return np.asarray(np.clip(out, *PROBABILITY_BOUNDS), dtype=np.float64)

    def predict_proba(self, features: pl.DataFrame) -> NDArray[np.float64]:
        """Calibrated probability of each row of the feature frame."""
        return self.predict_proba_matrix(self.transform(features))

    def predict_baseline_matrix(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        """The logistic-regression baseline's probabilities (trained on the same rows)."""
        self._check_fitted()
        return np.asarray(self.baseline_.predict_proba(matrix)[:, 1], dtype=np.float64)

    def contributions(self, matrix: NDArray[np.float64]) -> NDArray[np.float64]:
        """SHAP contributions to the margin (``pred_contrib``): one column per feature + bias."""
        self._check_fitted()
        raw = self.booster_.predict(
            matrix,
            num_iteration=self.best_iteration_,
            pred_contrib=True,
            num_threads=_threads(matrix),
        )
        return np.asarray(raw, dtype=np.float64)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature columns in matrix order."""
        self._check_fitted()
        return self.encoder_.names_

    def feature_importance(self) -> dict[str, float]:
        """Total gain of each feature."""
        self._check_fitted()
        gains = self.booster_.feature_importance(
            importance_type="gain", iteration=self.best_iteration_
        )
        return dict(zip(self.encoder_.names_, (float(g) for g in gains), strict=True))
