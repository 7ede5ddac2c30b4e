"""The next-best-touchpoint model against the simulator's truth, and off-policy from logs.

On the truth snapshots of the test period (``truth`` columns ``p_<arm>``, ``pi_<arm>``,
``p_true``, ``converted``), :func:`evaluate_against_truth` reports

* ``policy_value`` — the mean true conversion probability under: the model's served policy,
  doing nothing, the logged (reps') policy, random (uniform over all arms, and over the
  actionable ones), the naive model, and the oracle (the truly best arm per snapshot);
* ``regret_capture`` of the model and the naive model;
* off-policy estimates (IPS and DR) of the model policy's value from logged data only —
  estimated logging propensities, observed outcomes — with a 95 % interval clustered by lead,
  on the same snapshots as the truth (the same estimand) and on all test decision points;
* how much each policy does what reps already do, and uplift curves against the true effects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl
from numpy.typing import NDArray

from leadscore.errors import DataError
from leadscore.evaluation.policy import (
    OffPolicyEstimate,
    UpliftCurve,
    off_policy_value,
    one_hot,
    policy_value,
    regret_capture,
    uplift_curve,
)
from leadscore.training.decision_points import arm_codes, logged_treatments, with_state
from leadscore.training.next_touchpoint import NextTouchpointModel
from leadscore.training.next_touchpoint_training import TrainedNextTouchpoint, serve

__all__ = ["TruthEvaluation", "evaluate_against_truth", "off_policy_estimates"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class TruthEvaluation:
    """Everything :func:`evaluate_against_truth` measured; ``to_dict`` for JSON."""

    rows: int
    policy_value: dict[str, float]
    regret_capture: dict[str, float]
    true_model_value: float
    off_policy: dict[str, OffPolicyEstimate]
    off_policy_decision_points: dict[str, OffPolicyEstimate]
    same_as_reps: dict[str, float]
    choice_share: dict[str, dict[str, float]]
    mean_uplift: dict[str, dict[str, float]]
    logging_correlation: dict[str, float]
    curves: dict[str, UpliftCurve] = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        """Plain numbers (curves as their areas)."""
        return {
            "rows": self.rows,
            "policy_value": self.policy_value,
            "regret_capture": self.regret_capture,
            "true_model_value": self.true_model_value,
            "off_policy": {k: v.to_dict() for k, v in self.off_policy.items()},
            "off_policy_decision_points": {
                k: v.to_dict() for k, v in self.off_policy_decision_points.items()
            },
            "same_as_reps": self.same_as_reps,
            "choice_share": self.choice_share,
            "mean_uplift": self.mean_uplift,
            "logging_correlation": self.logging_correlation,
            "uplift_curve_area": {k: v.area for k, v in self.curves.items()},
        }


def _columns(truth: pl.DataFrame, prefix: str, arms: tuple[str, ...]) -> FloatArray:
    names = [f"{prefix}{arm}" for arm in arms]
    missing = [n for n in names if n not in truth.columns]
    if missing:
        raise DataError(f"The truth table has no column {missing}; is it simulated data?")
    return np.asarray(truth.select(names).to_numpy(), dtype=np.float64)


def off_policy_estimates(
    model: NextTouchpointModel,
    state: pl.DataFrame,
    treatment: pl.Series,
    outcome: FloatArray,
    policy: FloatArray,
    *,
    weight: FloatArray | None = None,
    clip: float = 0.01,
) -> dict[str, OffPolicyEstimate]:
    """IPS and DR estimates of ``policy``'s value on logged rows (``state`` with features),
    with the model's own logging-policy and outcome estimates; clustered by ``lead_id``."""
    logged = arm_codes(treatment, model.arms_)
    clusters = state["lead_id"].cast(pl.Categorical).to_physical().to_numpy().astype(np.int64)
    return off_policy_value(
        logged,
        outcome,
        model.predict_logging_policy(state),
        policy,
        clusters,
        outcome_model=model.predict_outcomes(state),
        weight=weight,
        clip=clip,
    )


def _share(choice: NDArray[np.int64], arms: tuple[str, ...]) -> dict[str, float]:
    counts = np.bincount(choice, minlength=len(arms)) / max(len(choice), 1)
    return {arm: float(c) for arm, c in zip(arms, counts, strict=True)}


def _mean_uplift(uplift: FloatArray, arms: tuple[str, ...]) -> dict[str, float]:
    return {arm: float(u) for arm, u in zip(arms[1:], uplift[:, 1:].mean(axis=0), strict=True)}


def _logging_correlation(uplift: FloatArray, pi: FloatArray) -> float:
    """Correlation of estimated uplifts with the reps' propensities over all (snapshot,
    touchpoint) pairs: high when a model's "effects" are where reps already act."""
    return float(np.corrcoef(uplift[:, 1:].ravel(), pi[:, 1:].ravel())[0, 1])


def evaluate_against_truth(
    trained: TrainedNextTouchpoint,
    leads: pl.DataFrame,
    touchpoints: pl.DataFrame,
    truth: pl.DataFrame,
    *,
    seed: int = 0,
) -> TruthEvaluation:
    """Policy values, regret capture, off-policy estimates and curves on the test period."""
    config, model = trained.config, trained.model
    arms = model.arms_
    rows = truth.filter(pl.col("as_of") >= trained.test_start).sort("as_of", "lead_id")
    if rows.is_empty():
        raise DataError(f"The truth holds no snapshot from {trained.test_start:%Y-%m-%d} on.")
    state = with_state(
        leads, touchpoints, rows.select("lead_id", "as_of"), trained.spec, config.decisions
    )
    p = _columns(rows, "p_", arms)
    pi = _columns(rows, "pi_", arms)
    rng = np.random.default_rng(seed)
    served = serve(model, state, leads, touchpoints, config, rng)
    naive = serve(trained.naive, state, leads, touchpoints, config, rng)
    n, k = p.shape
    oracle = np.asarray(p.argmax(axis=1), dtype=np.int64)
    uniform_actionable = np.full((n, k), 1.0 / (k - 1))
    uniform_actionable[:, 0] = 0.0
    values = {
        "model": policy_value(p, served.policy),
        "none": float(p[:, 0].mean()),
        "logged": float(rows["p_true"].mean()),  # type: ignore[arg-type]
        "random": policy_value(p, np.full((n, k), 1.0 / k)),
        "random_actionable": policy_value(p, uniform_actionable),
        "naive": policy_value(p, naive.policy),
        "oracle": policy_value(p, one_hot(oracle, k)),
    }
    capture = {
        name: regret_capture(values[name], values["none"], values["oracle"])
        for name in ("model", "naive", "random_actionable", "logged")
    }
    reps = np.asarray(pi[:, 1:].argmax(axis=1) + 1, dtype=np.int64)
    same = {
        "model": float(np.mean(served.greedy == reps)),
        "naive": float(np.mean(naive.greedy == reps)),
        "oracle": float(np.mean(oracle == reps)),
    }
    treatment = logged_treatments(
        touchpoints, rows, config.decisions.touchpoints, config.decisions.window_days
    )
    outcome = rows["converted"].cast(pl.Float64).to_numpy()
    clip = config.estimator.clip
    ope = off_policy_estimates(model, state, treatment, outcome, served.policy, clip=clip)
    test = trained.test
    test_policy = serve(model, test, leads, touchpoints, config, rng).policy
    ope_points = off_policy_estimates(
        model,
        test,
        test["treatment"],
        test["label"].cast(pl.Float64).to_numpy(),
        test_policy,
        weight=test["weight"].to_numpy(),
        clip=clip,
    )
    prediction = model.predict(state)
    naive_prediction = trained.naive.predict(state)
    index = np.arange(n)
    curves = {
        "model": uplift_curve(
            prediction.uplift[index, served.greedy], p[index, served.greedy] - p[:, 0]
        ),
        "naive": uplift_curve(
            naive_prediction.uplift[index, naive.greedy], p[index, naive.greedy] - p[:, 0]
        ),
        "oracle": uplift_curve(p[index, oracle] - p[:, 0], p[index, oracle] - p[:, 0]),
    }
    return TruthEvaluation(
        rows=n,
        policy_value=values,
        regret_capture=capture,
        true_model_value=values["model"],
        off_policy=ope,
        off_policy_decision_points=ope_points,
        same_as_reps=same,
        choice_share={
            "model": _share(served.greedy, arms),
            "naive": _share(naive.greedy, arms),
            "oracle": _share(oracle, arms),
            "reps": _share(reps, arms),
        },
        curves=curves,
        mean_uplift={
            "model": _mean_uplift(prediction.uplift, arms),
            "naive": _mean_uplift(naive_prediction.uplift, arms),
            "truth": _mean_uplift(p - p[:, :1], arms),
        },
        logging_correlation={
            "model": _logging_correlation(prediction.uplift, pi),
            "naive": _logging_correlation(naive_prediction.uplift, pi),
            "truth": _logging_correlation(p - p[:, :1], pi),
        },
    )
