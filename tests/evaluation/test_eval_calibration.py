"""calibration_table and calibration_by_segment: exact bins, counts that add up, trust verdicts."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from leadscore.errors import UsageError
from leadscore.evaluation import calibration_by_segment, calibration_table
from leadscore.evaluation.calibration import CALIBRATION_SCHEMA, SEGMENT_SCHEMA


def test_calibration_table_exact() -> None:
    table = calibration_table([0, 1, 0, 1], [0.1, 0.3, 0.6, 0.8], bins=2)
    expected = pl.DataFrame(
        {"bin": [1, 2], "count": [2, 2], "mean_prob": [0.2, 0.7], "observed_rate": [0.5, 0.5]},
        schema=CALIBRATION_SCHEMA,
    )
    assert_frame_equal(table, expected)


@pytest.mark.parametrize(
    ("p", "counts"),
    [
        pytest.param(np.linspace(0.01, 0.99, 100), [10] * 10, id="equal-mass"),
        pytest.param([0.5] * 6, [6], id="all-tied"),
        pytest.param([0.1, 0.1, 0.1, 0.1, 0.2, 0.3], [4, 1, 1], id="ties-merge-bins"),
    ],
)
def test_calibration_table_bins(p: list[float], counts: list[int]) -> None:
    y = np.arange(len(p)) % 2
    table = calibration_table(y, p, bins=10 if len(p) == 100 else 6)
    assert table["count"].to_list() == counts
    assert table["bin"].to_list() == list(range(1, len(counts) + 1))


@pytest.mark.parametrize("bins", [0, 2.5, True], ids=["zero", "float", "bool"])
def test_calibration_table_checks_bins(bins: object) -> None:
    with pytest.raises(UsageError, match="The 'bins' parameter of calibration_table"):
        calibration_table([0, 1], [0.2, 0.8], bins=bins)  # type: ignore[arg-type]


def test_segment_table_exact_values() -> None:
    y = [1, 0, 0, 1, 1]
    p = [0.5, 0.5, 0.2, 0.6, 0.8]
    segments = {"source": ["web", "web", "fair", "fair", "fair"], "band": ["1-49"] * 5}
    table = calibration_by_segment(y, p, segments, min_count=1, min_positives=0)
    expected = pl.DataFrame(
        {
            "segment": ["source", "source", "band"],
            "value": ["fair", "web", "1-49"],
            "count": [3, 2, 5],
            "positives": [2, 1, 3],
            "mean_prob": [1.6 / 3, 0.5, 0.52],
            "observed_rate": [2 / 3, 0.5, 0.6],
            "ece": [abs(1.6 / 3 - 2 / 3), 0.0, 0.08],
            "trust": ["good", "good", "good"],
        },
        schema=SEGMENT_SCHEMA,
    )
    assert_frame_equal(table, expected)


def test_segment_counts_add_up_and_frames_equal_mappings() -> None:
    rng = np.random.default_rng(11)
    n = 3_000
    p = rng.beta(1.0, 8.0, n)
    y = (rng.random(n) < p).astype(int)
    frame = pl.DataFrame(
        {
            "source": rng.choice(["web_form", "trade_fair", "referral"], n),
            "size_band": rng.choice(np.array(["1-49", "50-249", "250+", None], dtype=object), n),
        }
    )
    table = calibration_by_segment(y, p, frame)
    sums = table.group_by("segment", maintain_order=True).agg(pl.sum("count", "positives"))
    assert sums.to_dicts() == [
        {"segment": "source", "count": n, "positives": int(y.sum())},
        {"segment": "size_band", "count": n, "positives": int(y.sum())},
    ]
    assert "(missing)" in table["value"].to_list()
    assert table["count"].head(3).is_sorted(descending=True)
    mapping = {name: frame[name].to_numpy() for name in frame.columns}
    assert_frame_equal(calibration_by_segment(y, p, mapping), table)


def test_missing_values_in_numbers_and_objects() -> None:
    segments = {
        "score_band": np.array([1.0, np.nan, 1.0, 2.0]),
        "source": np.array(["web", None, "web", "fair"], dtype=object),
    }
    table = calibration_by_segment([1, 0, 0, 1], [0.6, 0.2, 0.3, 0.7], segments, min_count=1)
    assert sorted(table["value"].to_list()) == [
        "(missing)",
        "(missing)",
        "1.0",
        "2.0",
        "fair",
        "web",
    ]


def _segment(
    p: list[float], positives_per_value: list[int], size: int
) -> tuple[list[int], list[float]]:
    """``size`` leads per probability value, the first ``positives`` of each converted."""
    y: list[int] = []
    probs: list[float] = []
    for value, positives in zip(p, positives_per_value, strict=True):
        y += [1] * positives + [0] * (size - positives)
        probs += [value] * size
    return y, probs


@pytest.mark.parametrize(
    ("p", "positives", "size", "trust"),
    [
        # 500 leads at 0.2, 100 converted: exactly calibrated
        pytest.param([0.2], [100], 500, "good", id="calibrated"),
        # predicted 0.4, observed 0.2: z = -100 / sqrt(500 * 0.24) = -9.1, relative gap 100%
        pytest.param([0.4], [100], 500, "check", id="level-off"),
        # mean 0.2 matches the observed 0.2, but 0.1 and 0.3 both convert at 0.2: ECE 0.1,
        # chance level about 0.036
        pytest.param([0.1, 0.3], [50, 50], 250, "check", id="spread-off"),
        # small gap: predicted 0.21, observed 0.2 on 500 leads
        pytest.param([0.21], [100], 500, "good", id="small-gap"),
        pytest.param([0.4], [10], 50, "too few", id="few-leads"),
        pytest.param([0.02], [10], 500, "too few", id="few-positives"),
        pytest.param([0.98], [490], 500, "too few", id="few-negatives"),
    ],
)
def test_trust_verdicts(p: list[float], positives: list[int], size: int, trust: str) -> None:
    y, probs = _segment(p, positives, size)
    table = calibration_by_segment(y, probs, {"source": ["x"] * len(y)})
    assert table["trust"].to_list() == [trust]


@pytest.mark.parametrize(
    ("segments", "kwargs", "match"),
    [
        pytest.param({}, {}, "at least one column", id="no-segments"),
        pytest.param({"source": ["a"]}, {}, r"one value per outcome \(2\); got 1", id="length"),
        pytest.param({"source": ["a", "b"]}, {"min_count": 0}, "'min_count'", id="min-count"),
        pytest.param(
            {"source": ["a", "b"]}, {"min_positives": -1}, "'min_positives'", id="min-positives"
        ),
    ],
)
def test_segment_usage_errors(
    segments: dict[str, list[str]], kwargs: dict[str, int], match: str
) -> None:
    with pytest.raises(UsageError, match=match):
        calibration_by_segment([0, 1], [0.2, 0.8], segments, **kwargs)
