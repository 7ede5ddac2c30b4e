"""Qini curve, uplift@k and the observed response difference on hand-computed examples."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from leadscore.errors import UsageError
from leadscore.evaluation.qini import qini_curve, response_difference, uplift_at_k
from leadscore.evaluation.uplift_plots import qini_curve_plot

# Four customers: treated responder, control non-responder, treated non-responder, control
# responder. Ranked in this order the model is perfect (Qini coefficient 1).
TREATED = np.array([True, False, True, False])
OUTCOME = np.array([1.0, 0.0, 0.0, 1.0])


def test_qini_curve_of_the_perfect_ranking() -> None:
    curve = qini_curve(np.array([4.0, 3.0, 2.0, 1.0]), TREATED, OUTCOME, points=5)
    # Y_T - Y_C * N_T / N_C after 1..4 rows is 1, 1, 1, 0; divided by the 2 treated rows.
    assert curve.gain == pytest.approx([0.0, 0.5, 0.5, 0.5, 0.0])
    assert curve.area == pytest.approx(0.375)
    assert curve.coefficient == pytest.approx(1.0)
    assert curve.random == pytest.approx(np.zeros(5))


def test_qini_curve_of_the_reversed_ranking() -> None:
    curve = qini_curve(np.array([1.0, 2.0, 3.0, 4.0]), TREATED, OUTCOME, points=5)
    # After 1..4 rows (customers 4, 3, 2, 1): 0, -1, -0.5, 0, halved.
    assert curve.gain == pytest.approx([0.0, 0.0, -0.5, -0.25, 0.0])
    assert curve.area == pytest.approx(-0.1875)
    assert curve.coefficient == pytest.approx(-0.5)


def test_tied_scores_are_one_step() -> None:
    curve = qini_curve(np.zeros(4), TREATED, OUTCOME, points=5)
    assert curve.gain == pytest.approx(np.zeros(5))
    assert curve.coefficient == pytest.approx(0.0)


def test_weights_constant_per_arm_change_nothing() -> None:
    rng = np.random.default_rng(3)
    score, treated = rng.random(500), rng.random(500) < 0.3
    outcome = (rng.random(500) < 0.2 + 0.2 * score * treated).astype(np.float64)
    weight = np.where(treated, 1 / 0.3, 1 / 0.7)
    plain = qini_curve(score, treated, outcome)
    weighted = qini_curve(score, treated, outcome, weight=weight)
    assert weighted.coefficient == pytest.approx(plain.coefficient)
    assert weighted.gain == pytest.approx(plain.gain)
    assert uplift_at_k(score, treated, outcome, 0.2, weight=weight) == pytest.approx(
        uplift_at_k(score, treated, outcome, 0.2)
    )


def test_uplift_at_k_compares_treated_and_control_among_the_top() -> None:
    score = np.array([4.0, 3.0, 2.0, 1.0])
    assert uplift_at_k(score, TREATED, OUTCOME, 0.5) == pytest.approx(1.0)
    assert uplift_at_k(score, TREATED, OUTCOME, 1.0) == pytest.approx(0.0)
    assert np.isnan(uplift_at_k(score, TREATED, OUTCOME, 0.25))  # no control row in the top


def test_response_difference_has_a_wald_interval() -> None:
    found = response_difference(TREATED, OUTCOME)
    assert (found.treated_rate, found.control_rate, found.difference) == (0.5, 0.5, 0.0)
    half = 1.959963984540054 * np.sqrt(0.25 / 2 + 0.25 / 2)
    assert (found.low, found.high) == pytest.approx((-half, half))
    assert found.covers(0.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        pytest.param(
            lambda: qini_curve(np.zeros(3), np.ones(3, dtype=bool), np.zeros(3)),
            "treated and control",
            id="no-control",
        ),
        pytest.param(lambda: qini_curve(np.zeros(3), TREATED, OUTCOME), "same length", id="shapes"),
        pytest.param(
            lambda: uplift_at_k(np.zeros(4), TREATED, OUTCOME, 0.0), "in \\(0, 1\\]", id="k"
        ),
    ],
)
def test_bad_inputs_are_refused(call: Callable[[], object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        call()


def test_qini_plot_is_a_png() -> None:
    curve = qini_curve(np.array([4.0, 3.0, 2.0, 1.0]), TREATED, OUTCOME)
    assert qini_curve_plot({"email": curve}).startswith(b"\x89PNG")
