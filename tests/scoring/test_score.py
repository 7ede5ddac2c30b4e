"""Scoring open leads: one row each, score, grade, trend, expected revenue and reasons."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from pydantic import ValidationError

from leadscore.data.simulator import Tables
from leadscore.errors import UsageError
from leadscore.features import FeatureInfo, build_features, observed_until, open_snapshots
from leadscore.scoring import Reason, explain, grade_of, score_leads, score_snapshots
from leadscore.training.config import ScoringConfig
from leadscore.training.model import PropensityModel
from leadscore.training.propensity import TrainedPropensity

SCORING = ScoringConfig()
COLUMNS = [
    "lead_id",
    "as_of",
    "probability",
    "score",
    "grade",
    "trend",
    "expected_revenue",
    "reasons",
    "risks",
    "owner",
    "source",
    "deal_value",
]


@pytest.fixture(scope="module")
def end(small_run: Tables) -> datetime:
    """The end of the observed data: the default ``as_of`` of scoring."""
    return observed_until(small_run.leads, small_run.touchpoints, small_run.outcomes)


@pytest.fixture(scope="module")
def scores(trained: TrainedPropensity, small_run: Tables) -> pl.DataFrame:
    return score_leads(
        trained.model, small_run.leads, small_run.touchpoints, small_run.outcomes, SCORING
    )


def _open_at(tables: Tables, when: datetime) -> pl.DataFrame:
    return open_snapshots(tables.leads, tables.outcomes, pl.Series("as_of", [when]))


# -- one row per open lead ------------------------------------------------------------------


def test_one_row_per_open_lead_at_the_end_of_the_data(
    scores: pl.DataFrame, small_run: Tables, end: datetime
) -> None:
    open_now = _open_at(small_run, end)
    assert scores.columns == COLUMNS
    assert scores.height == open_now.height
    assert sorted(scores["lead_id"].to_list()) == sorted(open_now["lead_id"].to_list())
    assert scores["as_of"].unique().to_list() == [end]


def test_sorted_by_probability_highest_first_ties_by_lead_id(scores: pl.DataFrame) -> None:
    assert_frame_equal(scores, scores.sort(["probability", "lead_id"], descending=[True, False]))
    probability = scores["probability"].to_numpy()
    assert (np.diff(probability) <= 0).all()
    # Isotonic calibration gives many equal probabilities: the tie-break is exercised.
    assert scores["probability"].n_unique() < scores.height


def test_score_is_the_rounded_percentage(scores: pl.DataFrame) -> None:
    assert scores["score"].to_list() == [round(100 * p) for p in scores["probability"]]
    assert scores["score"].is_between(0, 100).all()


def test_grades_follow_the_default_thresholds(scores: pl.DataFrame) -> None:
    def grade(p: float) -> str:
        return "A" if p >= 0.40 else "B" if p >= 0.20 else "C" if p >= 0.08 else "D"

    assert scores["grade"].to_list() == [grade(p) for p in scores["probability"]]
    assert set(scores["grade"]) == {"A", "B", "C", "D"}


CUSTOM = ScoringConfig(grades={"hot": 0.5, "warm": 0.1}, fallback_grade="cold")


@pytest.mark.parametrize(
    ("probability", "config", "expected"),
    [
        (1.0, SCORING, "A"),
        (0.40, SCORING, "A"),
        (0.3999, SCORING, "B"),
        (0.20, SCORING, "B"),
        (0.1999, SCORING, "C"),
        (0.08, SCORING, "C"),
        (0.0799, SCORING, "D"),
        (0.0, SCORING, "D"),
        (0.5, CUSTOM, "hot"),
        (0.4999, CUSTOM, "warm"),
        (0.1, CUSTOM, "warm"),
        (0.0999, CUSTOM, "cold"),
    ],
    ids=[
        "1.0-A",
        "0.40-A",
        "0.3999-B",
        "0.20-B",
        "0.1999-C",
        "0.08-C",
        "0.0799-D",
        "0.0-D",
        "custom-0.5-hot",
        "custom-0.4999-warm",
        "custom-0.1-warm",
        "custom-0.0999-cold",
    ],
)
def test_grade_of_boundaries(probability: float, config: ScoringConfig, expected: str) -> None:
    assert grade_of(np.array([probability]), config) == [expected]


def test_grade_of_keeps_the_order_of_its_input() -> None:
    assert grade_of(np.array([0.05, 0.5, 0.25, 0.1]), SCORING) == ["D", "A", "B", "C"]


def test_grades_must_fall() -> None:
    with pytest.raises(ValidationError, match="grades must be listed best first"):
        ScoringConfig(grades={"A": 0.2, "B": 0.4})


# -- trend and expected revenue -------------------------------------------------------------


def test_trend_is_the_score_now_minus_the_score_a_week_earlier(
    scores: pl.DataFrame, trained: TrainedPropensity, small_run: Tables, end: datetime
) -> None:
    earlier = end - timedelta(days=7)
    known = scores.filter(pl.col("trend").is_not_null())
    then = score_snapshots(
        trained.model,
        small_run.leads,
        small_run.touchpoints,
        known.select("lead_id", as_of=pl.lit(earlier, dtype=pl.Datetime("us", "UTC"))),
        SCORING,
        reasons=False,
    )
    assert then["lead_id"].to_list() == known["lead_id"].to_list()
    assert known["trend"].to_list() == (known["score"] - then["score"]).to_list()
    assert (known["trend"] != 0).sum() > 100


def test_trend_is_null_exactly_for_leads_created_in_the_last_week(
    scores: pl.DataFrame, small_run: Tables, end: datetime
) -> None:
    created = scores.join(small_run.leads.select("lead_id", "created_at"), on="lead_id")
    recent = created.filter(pl.col("created_at") >= end - timedelta(days=7))
    assert recent.height > 0
    assert set(created.filter(pl.col("trend").is_null())["lead_id"]) == set(recent["lead_id"])


def test_expected_revenue_is_probability_times_deal_value(scores: pl.DataFrame) -> None:
    expected = [
        None if value is None else p * value
        for p, value in zip(scores["probability"], scores["deal_value"], strict=True)
    ]
    assert scores["expected_revenue"].to_list() == expected
    assert scores["expected_revenue"].null_count() < scores.height


def test_scores_at_an_earlier_cutoff_ignore_everything_after_it(
    trained: TrainedPropensity, small_run: Tables, end: datetime
) -> None:
    cutoff = end - timedelta(days=30, hours=5)
    full = score_leads(
        trained.model,
        small_run.leads,
        small_run.touchpoints,
        small_run.outcomes,
        SCORING,
        as_of=cutoff,
    )
    outcomes = small_run.outcomes.with_columns(
        pl.when(pl.col(name) <= cutoff).then(pl.col(name)).alias(name)
        for name in ("converted_at", "lost_at")
    )
    known_then = score_leads(
        trained.model,
        small_run.leads.filter(pl.col("created_at") < cutoff),
        small_run.touchpoints.filter(pl.col("timestamp") < cutoff),
        outcomes,
        SCORING,
        as_of=cutoff,
    )
    assert full.height == _open_at(small_run, cutoff).height
    assert full["as_of"].unique().to_list() == [cutoff]
    assert_frame_equal(full, known_then)


# -- reasons --------------------------------------------------------------------------------


def test_at_most_three_reasons_and_three_risks(scores: pl.DataFrame) -> None:
    for column in ("reasons", "risks"):
        assert scores[column].list.len().max() == 3, column


def test_every_reason_renders_a_feature_of_that_lead(
    scores: pl.DataFrame, trained: TrainedPropensity, small_run: Tables, end: datetime
) -> None:
    model = trained.model
    assert model.spec_ is not None
    features = build_features(
        small_run.leads, small_run.touchpoints, _open_at(small_run, end), model.spec_
    )
    values = {row["lead_id"]: row for row in features.iter_rows(named=True)}
    checked = 0
    for lead_id, reasons, risks in scores.select("lead_id", "reasons", "risks").iter_rows():
        row = values[lead_id]
        rendered = {info.describe(row[info.name]) for info in model.infos_}
        assert set(reasons) | set(risks) <= rendered, lead_id
        assert not set(reasons) & set(risks), lead_id
        checked += len(reasons) + len(risks)
    assert checked > 3 * scores.height


Counted = Callable[[re.Match[str]], pl.Expr]


def _action(action: str) -> Counted:
    return lambda _: pl.col("action") == action


def _window_patterns(
    actions: tuple[str, ...], label: Callable[[str], str]
) -> list[tuple[str, re.Pattern[str], Counted]]:
    """Reason sentences that state a count over a window: kind, pattern, what they count."""
    patterns: list[tuple[str, re.Pattern[str], Counted]] = [
        (
            "lead-initiated",
            re.compile(r"(\d+) touchpoints started by the lead in the last (\d+) days"),
            lambda _: pl.col("initiated_by") == "lead",
        ),
        (
            "company-initiated",
            re.compile(r"(\d+) touchpoints started by us in the last (\d+) days"),
            lambda _: pl.col("initiated_by") == "company",
        ),
        (
            "channel",
            re.compile(r"(\d+) touchpoints on (.+) in the last (\d+) days"),
            lambda m: pl.col("channel") == m.group(2).replace(" ", "_"),
        ),
    ]
    for action in actions:
        pattern = re.compile(rf"(\d+) {re.escape(label(action))} in the last (\d+) days")
        patterns.append(("action", pattern, _action(action)))
    return patterns


def test_window_counts_in_reasons_match_the_touchpoints(
    scores: pl.DataFrame, trained: TrainedPropensity, small_run: Tables, end: datetime
) -> None:
    spec = trained.model.spec_
    assert spec is not None and spec.actions is not None
    patterns = _window_patterns(spec.actions, spec.label)
    events = small_run.touchpoints.filter(
        pl.col("timestamp") < end,
        pl.col("timestamp") >= end - timedelta(days=max(spec.windows_days)),
        pl.col("lead_id").is_in(scores["lead_id"].to_list()),
    )
    by_lead = events.partition_by("lead_id", as_dict=True)
    checked: dict[str, int] = {}
    for lead_id, reasons, risks in scores.select("lead_id", "reasons", "risks").iter_rows():
        own = by_lead.get((lead_id,), events.clear())
        for text in [*reasons, *risks]:
            for kind, pattern, counts in patterns:
                match = pattern.fullmatch(text)
                if match is None:
                    continue
                days = int(match.group(match.lastindex or 0))
                window = own.filter(
                    counts(match), pl.col("timestamp") >= end - timedelta(days=days)
                )
                assert int(match.group(1)) == window.height, (lead_id, text)
                checked[kind] = checked.get(kind, 0) + 1
    # Counts of each kind (initiator, channel, action) were recounted from the touchpoints.
    assert {"lead-initiated", "channel", "action"} <= set(checked)
    assert sum(checked.values()) > scores.height


def test_reasons_can_be_switched_off(
    trained: TrainedPropensity, small_run: Tables, end: datetime
) -> None:
    snapshots = _open_at(small_run, end).head(5)
    plain = score_snapshots(
        trained.model,
        small_run.leads,
        small_run.touchpoints,
        snapshots,
        ScoringConfig(reasons=0),
    )
    assert plain.columns == ["lead_id", "as_of", "probability", "score", "grade"]
    assert plain["lead_id"].to_list() == snapshots["lead_id"].to_list()


# -- explain on a constructed contributions matrix ------------------------------------------

VIEWS = FeatureInfo(
    "n_views_7d",
    "numeric",
    "pricing",
    "{value} pricing-page views in the last 7 days",
    template_one="1 pricing-page view in the last 7 days",
)
DOWNLOADS = FeatureInfo(
    "n_downloads_7d",
    "numeric",
    "pricing",
    "{value} price-list downloads in the last 7 days",
    template_one="1 price-list download in the last 7 days",
)
MAILS = FeatureInfo(
    "days_since_email", "numeric", "email", "last e-mail {value} days ago", "no e-mail yet"
)
INFOS = (VIEWS, DOWNLOADS, MAILS)
# One row per lead: a contribution per feature of INFOS, then the bias (never a reason).
CONTRIBUTIONS = np.array(
    [
        [0.5, -0.125, -0.25, 9.0],
        [-0.25, -0.5, 0.015625, -9.0],
        [0.25, 0.0, 0.75, 0.0],
        [0.01, 0.005, -0.0078125, 5.0],
    ]
)
VALUES = [
    {"n_views_7d": 4.0, "n_downloads_7d": 0.0, "days_since_email": None},
    {"n_views_7d": 0.0, "n_downloads_7d": 1.0, "days_since_email": 3.0},
    {"n_views_7d": 12.4, "n_downloads_7d": 0.0, "days_since_email": 2.25},
    {"n_views_7d": 1.0, "n_downloads_7d": 1.0, "days_since_email": 1.0},
]
ROW_0 = (
    [Reason("pricing", 0.375, "4 pricing-page views in the last 7 days")],
    [Reason("email", -0.25, "no e-mail yet")],
)
ROW_1 = ([], [Reason("pricing", -0.75, "1 price-list download in the last 7 days")])
ROW_3: tuple[list[Reason], list[Reason]] = ([], [])


@pytest.mark.parametrize(
    ("top", "expected"),
    [
        (
            2,
            [
                ROW_0,
                ROW_1,
                (
                    [
                        Reason("email", 0.75, "last e-mail 2.2 days ago"),
                        Reason("pricing", 0.25, "12 pricing-page views in the last 7 days"),
                    ],
                    [],
                ),
                ROW_3,
            ],
        ),
        (
            1,
            [ROW_0, ROW_1, ([Reason("email", 0.75, "last e-mail 2.2 days ago")], []), ROW_3],
        ),
    ],
    ids=["top-2", "top-1"],
)
def test_explain_sums_families_and_names_the_strongest_feature(
    top: int, expected: list[tuple[list[Reason], list[Reason]]]
) -> None:
    assert explain(CONTRIBUTIONS, VALUES, INFOS, top=top) == expected


def test_reason_to_dict_rounds_the_contribution() -> None:
    assert Reason("pricing", 0.123456, "text").to_dict() == {
        "family": "pricing",
        "contribution": 0.1235,
        "text": "text",
    }


# -- a flat-table model ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def flat_model() -> PropensityModel:
    """A model fitted on a flat table's own columns: it has no feature spec."""
    rng = np.random.default_rng(0)
    visits = rng.normal(size=600)
    converted = (visits + rng.normal(size=600) > 0.5).astype(np.int8)
    frame = pl.DataFrame({"visits": visits})
    info = FeatureInfo("visits", "numeric", "visits", "visits: {value}")
    return PropensityModel(max_rounds=5, params={"num_threads": 1}).fit(
        frame[:400], converted[:400], validation=(frame[400:], converted[400:]), infos=(info,)
    )


@pytest.mark.parametrize("function", ["score_snapshots", "score_leads"])
def test_a_flat_table_model_refuses_event_data(
    function: str, flat_model: PropensityModel, small_run: Tables, end: datetime
) -> None:
    assert flat_model.spec_ is None
    tables = (small_run.leads, small_run.touchpoints)
    with pytest.raises(UsageError, match=r"^This model was trained on a flat lead table"):
        if function == "score_snapshots":
            score_snapshots(flat_model, *tables, _open_at(small_run, end), SCORING)
        else:
            score_leads(flat_model, *tables, small_run.outcomes, SCORING)
