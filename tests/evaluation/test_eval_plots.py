"""Every chart is a valid 770 x 550 PNG, drawn without warnings or pyplot."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pytest
from matplotlib.image import imread

from leadscore.errors import DataError, UsageError
from leadscore.evaluation import (
    calibration_plot,
    gain_lift_plot,
    importance_plot,
    precision_recall_plot,
    roc_plot,
    shap_summary_plot,
)

N = 1_500
K = 5
NAMES = ["engagement_30d", "email_clicks_90d", "job_level", "company_size", "source"]


@pytest.fixture(scope="module")
def case() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(21)
    x = rng.normal(size=(N, K))
    p_true = 1.0 / (1.0 + np.exp(-(-2.2 + x[:, 0] + 0.5 * x[:, 1])))
    return {
        "y": (rng.random(N) < p_true).astype(int),
        "p_true": p_true,
        "model": np.clip(p_true * 1.2 + rng.normal(scale=0.03, size=N), 0.0, 1.0),
        "baseline": 1.0 / (1.0 + np.exp(-(-2.0 + 0.6 * x[:, 0]))),
        "x": x,
        "contrib": np.column_stack([x * [0.9, 0.5, 0.1, 0.2, 0.05], np.full(N, -2.2)]),
    }


def _png_size(data: bytes) -> tuple[int, ...]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    return tuple(imread(io.BytesIO(data)).shape)


def _with_missing(column: np.ndarray) -> np.ndarray:
    """An object array of the numbers, with None where they exceed 1."""
    result = column.astype(object)
    result[column > 1] = None
    return result


def _curves(case: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"model": case["model"], "baseline": case["baseline"], "oracle": case["p_true"]}


PLOTS: dict[str, Callable[[dict[str, np.ndarray]], bytes]] = {
    "roc": lambda c: roc_plot(c["y"], _curves(c)),
    "precision-recall": lambda c: precision_recall_plot(c["y"], _curves(c)),
    "gain-lift": lambda c: gain_lift_plot(c["y"], _curves(c)),
    "calibration": lambda c: calibration_plot(c["y"], _curves(c)),
    "calibration-one-curve-5-bins": lambda c: calibration_plot(c["y"], {"m": c["model"]}, 5),
    "importance": lambda c: importance_plot(NAMES, [5.0, 3.0, 1.0, 0.5, 0.0]),
    "importance-top-2": lambda c: importance_plot(NAMES, [5.0, 3.0, 1.0, 0.5, 0.0], top=2),
    "importance-zero-gains": lambda c: importance_plot(["a", "b"], [0.0, 0.0]),
    "shap-numpy-with-bias": lambda c: shap_summary_plot(c["contrib"], c["x"], NAMES),
    "shap-polars": lambda c: shap_summary_plot(
        c["contrib"][:, :K],
        pl.DataFrame(
            {
                "engagement_30d": c["x"][:, 0],
                "email_clicks_90d": _with_missing(c["x"][:, 1]),
                "job_level": np.array(["c", "vp", "manager"])[np.arange(N) % 3],
                "company_size": (c["x"][:, 3] * 100).round().astype(int),
                "source": c["x"][:, 4] > 0,
            }
        ),
        NAMES,
    ),
    "shap-pandas-categorical": lambda c: shap_summary_plot(
        c["contrib"],
        pd.DataFrame(c["x"], columns=NAMES).assign(
            source=pd.Categorical(np.array(["web", "fair"])[np.arange(N) % 2])
        ),
        NAMES,
    ),
    "shap-object-array": lambda c: shap_summary_plot(
        c["contrib"], np.column_stack([c["x"][:, :4], np.full(N, "web", dtype=object)]), NAMES
    ),
    "shap-constant-and-top-3": lambda c: shap_summary_plot(
        c["contrib"], np.ones((N, K)), NAMES, top=3
    ),
}


@pytest.mark.parametrize("draw", list(PLOTS.values()), ids=list(PLOTS))
def test_plot_is_a_png_of_the_expected_size(
    draw: Callable[[dict[str, np.ndarray]], bytes], case: dict[str, np.ndarray]
) -> None:
    assert _png_size(draw(case)) == (550, 770, 4)


def test_path_receives_the_same_bytes(case: dict[str, np.ndarray], tmp_path: Path) -> None:
    target = tmp_path / "roc.png"
    data = roc_plot(case["y"], {"model": case["model"]}, path=target)
    assert target.read_bytes() == data


@pytest.mark.parametrize(
    ("draw", "error", "match"),
    [
        pytest.param(lambda c: roc_plot(c["y"], {}), UsageError, "at least one", id="no-curves"),
        pytest.param(
            lambda c: gain_lift_plot(c["y"], {"m": c["model"][:10]}),
            UsageError,
            r"curves\['m'\] must have one value per outcome",
            id="curve-length",
        ),
        pytest.param(
            lambda c: calibration_plot(np.zeros(N), {"m": c["model"]}),
            DataError,
            "both outcomes",
            id="one-class",
        ),
        pytest.param(
            lambda c: importance_plot(["a"], [1.0, 2.0]),
            UsageError,
            "one gain per name",
            id="gains",
        ),
        pytest.param(
            lambda c: importance_plot(["a"], [-1.0]), DataError, "non-negative", id="negative"
        ),
        pytest.param(
            lambda c: shap_summary_plot(c["contrib"][:, :3], c["x"], NAMES),
            UsageError,
            "contributions of shape",
            id="shap-columns",
        ),
        pytest.param(
            lambda c: shap_summary_plot(c["contrib"], c["x"][:10], NAMES),
            UsageError,
            "feature values of shape",
            id="shap-values",
        ),
    ],
)
def test_plot_input_errors(
    draw: Callable[[dict[str, np.ndarray]], bytes],
    error: type[Exception],
    match: str,
    case: dict[str, np.ndarray],
) -> None:
    with pytest.raises(error, match=match):
        draw(case)
