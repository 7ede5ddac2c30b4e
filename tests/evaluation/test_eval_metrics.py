"""binary_metrics, lift_at and oracle_metrics: exact values on small hand-computed arrays."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from leadscore.errors import DataError, UsageError
from leadscore.evaluation import (
    METRIC_NAMES,
    binary_metrics,
    expected_calibration_error,
    lift_at,
    oracle_metrics,
)


def _random_case(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    prob = rng.beta(1.0, 6.0, n)
    return (rng.random(n) < prob).astype(int), prob


@pytest.mark.parametrize(
    ("y", "p", "bins", "expected"),
    [
        pytest.param(
            [1, 0, 0, 0, 1, 1, 1, 0], [0.25] * 4 + [0.75] * 4, 2, 0.0, id="calibrated-bins"
        ),
        # bins {0.1, 0.3} (mean 0.2, observed 0.5) and {0.6, 0.8} (mean 0.7, observed 0.5)
        pytest.param([0, 1, 0, 1], [0.1, 0.3, 0.6, 0.8], 2, 0.5 * 0.3 + 0.5 * 0.2, id="two-bins"),
        # ties share a bin: {0.2, 0.2, 0.2} observed 1/3, {0.8} observed 1
        pytest.param(
            [1, 0, 0, 1], [0.2, 0.2, 0.2, 0.8], 2, 0.75 * (1 / 3 - 0.2) + 0.25 * 0.2, id="ties"
        ),
        # ten distinct probabilities in ten bins: the mean |p - y|
        pytest.param(
            [0, 0, 1, 0, 1, 0, 1, 1, 0, 1],
            [0.05, 0.15, 0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95],
            10,
            np.mean(np.abs(np.array([0.05, 0.15, 0.75, 0.35, 0.55, 0.55, 0.35, 0.25, 0.85, 0.05]))),
            id="one-per-bin",
        ),
        pytest.param([0, 1, 1, 0], [0.5] * 4, 10, 0.0, id="all-tied-one-bin"),
    ],
)
def test_ece_matches_hand_computation(
    y: list[int], p: list[float], bins: int, expected: float
) -> None:
    assert expected_calibration_error(y, p, bins) == pytest.approx(expected, abs=1e-12)


def test_ece_does_not_depend_on_row_order() -> None:
    y, p = _random_case(3, 500)
    p = np.round(p, 2)  # many ties
    order = np.random.default_rng(4).permutation(500)
    assert expected_calibration_error(y[order], p[order]) == pytest.approx(
        expected_calibration_error(y, p), abs=1e-15
    )


@pytest.mark.parametrize(
    ("y", "p", "share", "expected"),
    [
        # n = 20: the top 2 hold 1 of 4 positives -> 0.5 / 0.2
        pytest.param(
            [1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
            np.linspace(0.95, 0.0, 20),
            0.1,
            2.5,
            id="ranking",
        ),
        # n = 10: the top lead is one of two tied at 0.9, half of which convert -> 0.5 / 0.2
        pytest.param(
            [0, 1, 0, 0, 1, 0, 0, 0, 0, 0],
            [0.9, 0.9, 0.5, 0.4, 0.3, 0.3, 0.2, 0.2, 0.1, 0.1],
            0.1,
            2.5,
            id="tie-at-cut",
        ),
        # n = 15: ceil(1.5) = 2 leads in the top, both converted, 3 of 15 overall
        pytest.param(
            [1, 1] + [0] * 12 + [1], np.linspace(0.9, 0.1, 15), 0.1, 1.0 / 0.2, id="round-up"
        ),
        pytest.param([1, 0, 1, 0], [0.9, 0.8, 0.2, 0.1], 1.0, 1.0, id="everyone"),
    ],
)
def test_lift_on_constructed_rankings(
    y: list[int], p: list[float], share: float, expected: float
) -> None:
    assert lift_at(y, p, share) == pytest.approx(expected)


def test_lift_at_10_is_the_default_of_binary_metrics() -> None:
    y, p = _random_case(5, 1_000)
    assert binary_metrics(y, p)["lift_at_10"] == pytest.approx(lift_at(y, p))


@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
def test_metrics_agree_with_scikit_learn(seed: int) -> None:
    y, p = _random_case(seed, 2_000)
    metrics = binary_metrics(y, p)
    assert tuple(metrics) == METRIC_NAMES
    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y, p))
    assert metrics["pr_auc"] == pytest.approx(average_precision_score(y, p))
    assert metrics["log_loss"] == pytest.approx(log_loss(y, p))
    assert metrics["brier"] == pytest.approx(brier_score_loss(y, p))
    assert metrics["ece"] == pytest.approx(expected_calibration_error(y, p, 10))


def test_metrics_are_finite_json_floats_even_for_certain_probabilities() -> None:
    metrics = binary_metrics([True, False, True, False], [1.0, 0.0, 0.0, 1.0])
    assert all(type(v) is float and math.isfinite(v) for v in metrics.values())
    assert json.loads(json.dumps(metrics)) == metrics
    assert metrics["roc_auc"] == 0.5
    assert metrics["brier"] == 0.5


@pytest.mark.parametrize(
    ("y", "p", "error", "match"),
    [
        pytest.param([0, 0, 0], [0.1, 0.2, 0.3], DataError, "both outcomes", id="no-positive"),
        pytest.param([1, 1], [0.1, 0.2], DataError, "every lead converted", id="all-positive"),
        pytest.param([0, 2], [0.1, 0.2], DataError, "0/1 outcomes", id="label-2"),
        pytest.param(["a", "b"], [0.1, 0.2], DataError, "0/1 outcomes", id="text-labels"),
        pytest.param([0, 1], [0.1, 1.2], DataError, r"within \[0, 1\]", id="prob-above-1"),
        pytest.param([0, 1], [0.1, np.nan], DataError, "outside or missing", id="prob-nan"),
        pytest.param([], [], DataError, "empty", id="empty"),
        pytest.param([0, 1], [0.1], UsageError, "one value per outcome", id="length"),
        pytest.param([[0, 1]], [[0.1, 0.2]], UsageError, "one-dimensional", id="2d"),
    ],
)
def test_bad_inputs_are_refused(y: object, p: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        binary_metrics(y, p)  # type: ignore[arg-type]


@pytest.mark.parametrize("share", [0.0, 1.5], ids=["zero", "above-one"])
def test_lift_share_is_checked(share: float) -> None:
    with pytest.raises(UsageError, match="'share' parameter of lift_at"):
        lift_at([0, 1], [0.2, 0.8], share)


def test_oracle_metrics() -> None:
    y = [0, 1, 0, 1]
    p_true = [0.2, 0.6, 0.4, 0.8]
    model = [0.3, 0.5, 0.4, 0.6]
    result = oracle_metrics(y, p_true, model)
    assert set(result) == {"roc_auc", "brier", "prob_mae"}
    assert result["roc_auc"] == pytest.approx(1.0)
    assert result["brier"] == pytest.approx((0.04 + 0.16 + 0.16 + 0.04) / 4)
    assert result["prob_mae"] == pytest.approx((0.1 + 0.1 + 0.0 + 0.2) / 4)
    assert oracle_metrics(y, p_true, p_true)["prob_mae"] == 0.0


def test_oracle_metrics_checks_true_probabilities() -> None:
    with pytest.raises(DataError, match="p_true must hold probabilities"):
        oracle_metrics([0, 1], [0.2, -0.1], [0.2, 0.3])
