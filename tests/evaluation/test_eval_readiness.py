"""readiness_verdict: levels, reasons and warnings for constructed metric sets."""

from __future__ import annotations

import json

import pytest

from leadscore.errors import UsageError
from leadscore.evaluation import Verdict, readiness_verdict

GOOD = {"roc_auc": 0.78, "ece": 0.02, "lift_at_10": 3.14, "brier": 0.08}


def _metrics(**changes: float) -> dict[str, float]:
    return {**GOOD, **changes}


@pytest.mark.parametrize(
    ("metrics", "positives", "n_test", "baseline", "level", "tags", "in_reason"),
    [
        pytest.param(GOOD, 400, 5_000, None, "ready", [], ["0.780", "5,000", "3.1x"], id="ready"),
        pytest.param(
            _metrics(roc_auc=0.70, ece=0.05), 100, 1_000, None, "ready", [], ["0.700"], id="edges"
        ),
        pytest.param(
            GOOD,
            400,
            5_000,
            {"roc_auc": 0.70, "brier": 0.09},
            "ready",
            [],
            ["baseline 0.700"],
            id="ready-beats-baseline",
        ),
        pytest.param(
            _metrics(roc_auc=0.65),
            400,
            5_000,
            None,
            "usable",
            [],
            ["0.650 is below 0.70"],
            id="auc",
        ),
        pytest.param(
            _metrics(ece=0.08),
            400,
            5_000,
            None,
            "usable",
            ["calibration"],
            ["0.080 is above 0.05", "ROC AUC 0.780"],
            id="ece",
        ),
        pytest.param(
            GOOD, 60, 3_000, None, "usable", ["few data"], ["only 60 converted"], id="few-data"
        ),
        pytest.param(
            GOOD,
            2_950,
            3_000,
            None,
            "usable",
            ["few data"],
            ["only 50 not-converted"],
            id="few-negatives",
        ),
        pytest.param(
            _metrics(roc_auc=0.55), 400, 5_000, None, "not ready", [], ["below 0.60"], id="chance"
        ),
        pytest.param(
            _metrics(roc_auc=0.72),
            400,
            5_000,
            {"roc_auc": 0.715, "brier": 0.07},
            "not ready",
            ["calibration"],
            ["baseline's 0.715"],
            id="no-better-than-baseline",
        ),
        pytest.param(
            GOOD,
            20,
            5_000,
            None,
            "not ready",
            ["few data"],
            ["only 20 converted leads among 5,000"],
            id="too-few",
        ),
    ],
)
def test_levels(
    metrics: dict[str, float],
    positives: int,
    n_test: int,
    baseline: dict[str, float] | None,
    level: str,
    tags: list[str],
    in_reason: list[str],
) -> None:
    verdict = readiness_verdict(metrics, positives, n_test, baseline)
    assert verdict.level == level
    assert [w.split(":")[0] for w in verdict.warnings] == tags
    for text in in_reason:
        assert text in verdict.reason


def test_to_dict_is_json() -> None:
    verdict = readiness_verdict(_metrics(ece=0.09), 60, 2_000)
    data = verdict.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["level"] == "usable"
    assert len(data["warnings"]) == 2
    assert Verdict("ready", "fine").to_dict() == {
        "level": "ready",
        "reason": "fine",
        "warnings": [],
    }


@pytest.mark.parametrize(
    ("metrics", "positives", "n_test", "baseline", "match"),
    [
        pytest.param({"roc_auc": 0.8}, 10, 100, None, "'ece' in metrics", id="no-ece"),
        pytest.param(_metrics(roc_auc=float("nan")), 10, 100, None, "finite", id="nan"),
        pytest.param(GOOD, 10, 100, {"brier": 0.1}, "'roc_auc' in baseline", id="baseline"),
        pytest.param(GOOD, 200, 100, None, "positives <= n_test", id="positives"),
        pytest.param(GOOD, 0, 0, None, "1 <= n_test", id="empty"),
    ],
)
def test_usage_errors(
    metrics: dict[str, float],
    positives: int,
    n_test: int,
    baseline: dict[str, float] | None,
    match: str,
) -> None:
    with pytest.raises(UsageError, match=match):
        readiness_verdict(metrics, positives, n_test, baseline)
