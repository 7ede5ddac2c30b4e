"""Next-best-touchpoint: decision points point in time, the DR-learner, rules, evaluation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from leadscore.data.simulator import Tables
from leadscore.errors import UsageError
from leadscore.evaluation.policy import (
    off_policy_value,
    one_hot,
    policy_value,
    regret_capture,
    uplift_curve,
)
from leadscore.evaluation.uplift_plots import uplift_curve_plot
from leadscore.features import FeatureSpec, build_features
from leadscore.training.decision_points import (
    build_decision_points,
    company_context,
    logged_treatments,
    surrogate_inputs,
)
from leadscore.training.next_touchpoint import (
    NaiveUpliftModel,
    NextTouchpointModel,
    Surrogate,
    UpliftPrediction,
)
from leadscore.training.next_touchpoint_config import (
    DecisionConfig,
    EstimatorConfig,
    NextTouchpointConfig,
    RulesConfig,
    UpliftSplitConfig,
)
from leadscore.training.next_touchpoint_evaluation import evaluate_against_truth
from leadscore.training.next_touchpoint_training import (
    next_best_touchpoints,
    train_next_touchpoint,
)
from leadscore.training.recommend import (
    allowed_touchpoints,
    contact_state,
    control_group,
    recommend,
)

T0 = datetime(2025, 3, 3, tzinfo=UTC)
FAST = EstimatorConfig(
    folds=2,
    propensity_rounds=30,
    outcome_rounds=40,
    effect_rounds=30,
    effect_min_child_samples=200,
)
CONFIG = NextTouchpointConfig(
    decisions=DecisionConfig(none_share=0.1),
    split=UpliftSplitConfig(test_share=0.25, gap_days=30),
    estimator=FAST,
)


def _touchpoints(rows: list[tuple[str, datetime, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": [f"E{i}" for i in range(len(rows))],
            "lead_id": [r[0] for r in rows],
            "timestamp": pl.Series([r[1] for r in rows], dtype=pl.Datetime("us", "UTC")),
            "channel": ["phone" if r[2] == "call" else "email" for r in rows],
            "action": [r[2] for r in rows],
            "initiated_by": [r[3] for r in rows],
        }
    )


def _snapshots(lead_ids: list[str], as_of: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "lead_id": lead_ids,
            "as_of": pl.Series([as_of] * len(lead_ids), dtype=pl.Datetime("us", "UTC")),
        }
    )


# -- decision points are point in time ----------------------------------------------------------


def test_logged_treatment_is_the_first_company_touchpoint_inside_the_window() -> None:
    h = timedelta(hours=1)
    events = _touchpoints(
        [
            ("A", T0 + 1 * h, "email_open", "lead"),  # lead-initiated: never a treatment
            ("A", T0 + 3 * h, "demo", "company"),
            ("A", T0 + 5 * h, "call", "company"),  # later than the demo
            ("B", T0 - timedelta(minutes=1), "call", "company"),  # before as_of
            ("C", T0 + 24 * h, "call", "company"),  # the window is [as_of, as_of + 1 day)
            ("D", T0, "nurture_email", "company"),  # at as_of exactly: inside
        ]
    )
    treatment = logged_treatments(
        events, _snapshots(["A", "B", "C", "D"], T0), DecisionConfig().touchpoints, 1
    )
    assert treatment.to_list() == ["demo", "none", "none", "nurture_email"]


def test_state_ignores_the_treatment_and_everything_after_as_of(small_run: Tables) -> None:
    points = build_decision_points(
        small_run.leads, small_run.touchpoints, small_run.outcomes, CONFIG
    )
    treated = points.frame.filter(pl.col("treatment") != "none").head(200)
    keys = treated.select("lead_id", "as_of")
    # The treated touchpoint lies in [as_of, as_of + 1 day) and was initiated by the company.
    matched = keys.with_columns(treatment=treated["treatment"]).join(
        small_run.touchpoints.filter(pl.col("initiated_by") == "company"),
        left_on=["lead_id", "treatment"],
        right_on=["lead_id", "action"],
    )
    inside = matched.filter(
        (pl.col("timestamp") >= pl.col("as_of"))
        & (pl.col("timestamp") < pl.col("as_of") + timedelta(days=1))
    )
    assert inside.select("lead_id", "as_of").unique().height == treated.height
    # Dropping every touchpoint at or after as_of (the treatment included) changes no feature.
    mine = small_run.touchpoints.join(keys, on="lead_id")
    before = mine.filter(pl.col("timestamp") < pl.col("as_of")).drop("as_of").unique("event_id")
    names = list(points.spec.feature_names())
    for lead_id, as_of in keys.head(40).iter_rows():
        one = keys.filter((pl.col("lead_id") == lead_id) & (pl.col("as_of") == as_of))
        past = before.filter((pl.col("lead_id") == lead_id) & (pl.col("timestamp") < as_of))
        full = build_features(small_run.leads, small_run.touchpoints, one, points.spec)
        cut = build_features(small_run.leads, past, one, points.spec)
        assert full.select(names).equals(cut.select(names))
        row = treated.filter((pl.col("lead_id") == lead_id) & (pl.col("as_of") == as_of))
        assert row.select(names).equals(full.select(names))
    # One day later the treatment is in the past and is counted.
    first = treated.row(0, named=True)
    later = _snapshots([first["lead_id"]], first["as_of"] + timedelta(days=1))
    after = build_features(small_run.leads, small_run.touchpoints, later, points.spec)
    column = f"n_{first['treatment']}_3d"
    assert after[column][0] >= first[column] + 1


def test_untreated_points_are_sampled_with_inverse_weights(small_run: Tables) -> None:
    points = build_decision_points(
        small_run.leads, small_run.touchpoints, small_run.outcomes, CONFIG
    )
    weights = points.frame.group_by(pl.col("treatment") == "none").agg(pl.col("weight").unique())
    by_kind = {row[0]: row[1] for row in weights.iter_rows()}
    assert by_kind == {True: [10.0], False: [1.0]}
    assert points.arms == ("none", *CONFIG.decisions.touchpoints)


def test_company_context_counts_only_the_days_before_as_of() -> None:
    d = timedelta(days=1)
    events = _touchpoints(
        [
            ("A", T0 - 8 * d, "call", "company"),  # outside the 7 days
            ("A", T0 - 2 * d, "call", "company"),
            ("B", T0 - 1 * d, "demo", "company"),
            ("B", T0 - 1 * d, "email_open", "lead"),
            ("C", T0, "demo", "company"),  # at as_of: not before it
        ]
    )
    context = company_context(events, _snapshots(["A"], T0)["as_of"], ("call", "demo"), 7)
    assert context.row(0) == (0.5, 0.5)


def test_surrogate_settles_closed_leads_and_reads_the_later_state(small_run: Tables) -> None:
    d = timedelta(days=1)
    points = _snapshots(["A", "B", "C", "D"], T0)
    outcomes = pl.DataFrame(
        {
            "lead_id": ["A", "B", "C"],
            "converted_at": pl.Series(
                [T0 + 3 * d, None, T0 + 20 * d], dtype=pl.Datetime("us", "UTC")
            ),
            "lost_at": pl.Series([None, T0 + 14 * d, None], dtype=pl.Datetime("us", "UTC")),
            "revenue": [1.0, None, 2.0],
        }
    )
    leads = small_run.leads.head(4).with_columns(lead_id=pl.Series(["A", "B", "C", "D"]))
    events = _touchpoints(
        [("A", T0 - d, "email_open", "lead"), ("D", T0 + 5 * d, "page_view", "lead")]
    )
    spec = FeatureSpec(windows_days=(7, 30)).resolve(events)
    surrogate = surrogate_inputs(leads, events, outcomes, points, spec, DecisionConfig(), 14)
    # Converted within 14 days: 1; lost on day 14 (inside the closed window): 0; converted
    # on day 20 or never closed: still open (NaN).
    assert surrogate.settled[:2].tolist() == [1.0, 0.0]
    assert np.isnan(surrogate.settled[2:]).all()
    # The later state is the one feature builder's at as_of + 14 days: D's page view counts.
    later = build_features(leads, events, _snapshots(["A", "B", "C", "D"], T0 + 14 * d), spec)
    names = list(spec.feature_names())
    assert surrogate.state.select(names).equals(later.select(names))
    assert surrogate.state["n_page_view_30d"].to_list()[3] == 1


def test_surrogate_agrees_with_the_label_of_every_settled_point(small_run: Tables) -> None:
    points = build_decision_points(
        small_run.leads, small_run.touchpoints, small_run.outcomes, CONFIG
    ).frame
    surrogate = surrogate_inputs(
        small_run.leads,
        small_run.touchpoints,
        small_run.outcomes,
        points,
        FeatureSpec(windows_days=(7,)).resolve(small_run.touchpoints),
        DecisionConfig(),
        14,
    )
    settled = ~np.isnan(surrogate.settled)
    assert 0 < settled.sum() < points.height
    # A lead that converted within 14 days converted within the horizon; a lost one did not.
    assert (surrogate.settled[settled] == points["label"].to_numpy()[settled]).all()
    assert surrogate.state["lead_id"].equals(points["lead_id"])


def test_surrogate_days_must_be_shorter_than_the_horizon() -> None:
    with pytest.raises(ValidationError, match="surrogate_days"):
        NextTouchpointConfig(horizon_days=30, estimator=EstimatorConfig(surrogate_days=30))


# -- the doubly robust learner ------------------------------------------------------------------


def _synthetic(n: int, seed: int) -> tuple[pl.DataFrame, FeatureSpec, np.ndarray, np.ndarray]:
    """Confounded data: hot leads (high ``n_lead_initiated_7d``) convert more and get
    the call far more often; the call's true effect is +0.05 everywhere."""
    spec = FeatureSpec(
        windows_days=(7,), categorical=(), numeric=(), actions=(), channels=(), families={}
    )
    rng = np.random.default_rng(seed)
    hot = rng.random(n)
    frame = pl.DataFrame({name: rng.random(n) for name in spec.feature_names()}).with_columns(
        n_lead_initiated_7d=pl.Series(hot)
    )
    frame = frame.with_columns(lead_id=pl.Series([f"L{i % (n // 4)}" for i in range(n)]))
    called = (rng.random(n) < 0.01 + 0.6 * hot**4).astype(np.int64)
    converted = (rng.random(n) < 0.02 + 0.6 * hot**4 + 0.05 * called).astype(np.int8)
    return frame, spec, called, converted


def test_dr_learner_recovers_a_confounded_effect_better_than_naive() -> None:
    frame, spec, called, converted = _synthetic(30_000, seed=3)
    arms = ("none", "call")
    config = EstimatorConfig(
        folds=3,
        propensity_rounds=60,
        outcome_rounds=60,
        effect_rounds=60,
        effect_min_child_samples=500,
        effect_features=("n_lead_initiated_7d",),
    )
    model = NextTouchpointModel(config=config).fit(
        frame, called, converted, arms=arms, spec=spec, groups=frame["lead_id"]
    )
    naive = NaiveUpliftModel(config=config).fit(frame, called, converted, arms=arms, spec=spec)
    dr_error = abs(model.predict(frame).uplift[:, 1].mean() - 0.05)
    naive_error = abs(naive.predict(frame).uplift[:, 1].mean() - 0.05)
    assert dr_error < naive_error
    assert dr_error < 0.02
    overlap = {o.arm: o for o in model.overlap_}
    assert overlap["call"].rows == int(called.sum())
    assert 0 < overlap["call"].effective_sample_size <= overlap["call"].rows
    assert overlap["call"].mean_propensity == pytest.approx(called.mean(), abs=0.01)
    assert overlap["call"].share_clipped == 0.0  # every true propensity is at least 0.01


def test_an_unfitted_model_says_so() -> None:
    frame, _, _, _ = _synthetic(100, seed=0)
    with pytest.raises(Exception, match="not fitted yet"):
        NextTouchpointModel().predict(frame)


# -- business rules, exploration, control group -------------------------------------------------

ARMS = ("none", "call", "demo", "offer_sent")


def _rule_data() -> tuple[pl.DataFrame, pl.DataFrame]:
    d = timedelta(days=1)
    leads = pl.DataFrame(
        {
            "lead_id": ["demoed", "fresh", "busy", "blocked", "no_phone"],
            "created_at": pl.Series([T0 - 60 * d] * 5, dtype=pl.Datetime("us", "UTC")),
            "dnc": [False, None, False, True, False],
            "phone_ok": [True, True, True, True, False],
        }
    )
    events = _touchpoints(
        [
            ("demoed", T0 - 30 * d, "demo", "company"),
            ("busy", T0 - 6 * d, "call", "company"),
            ("busy", T0 - 3 * d, "nurture_email", "company"),
            ("busy", T0 - 1 * d, "call", "company"),
            ("fresh", T0, "demo", "company"),  # at as_of: not yet history
        ]
    )
    return leads, events


def test_rules_block_offers_before_demos_busy_leads_and_do_not_contact() -> None:
    leads, events = _rule_data()
    rules = RulesConfig(
        max_per_week=3,
        do_not_contact_column="dnc",
        consent_columns={"phone": "phone_ok"},
        touchpoint_channels={"call": "phone", "demo": "meeting", "offer_sent": "email"},
    )
    state = contact_state(leads, events, _snapshots(leads["lead_id"].to_list(), T0), rules)
    assert state["had_demo"].to_list() == [True, False, False, False, False]
    assert state["company_touchpoints_7d"].to_list() == [0.0, 0.0, 3.0, 0.0, 0.0]
    allowed = allowed_touchpoints(state, ARMS, rules)
    assert allowed.tolist() == [
        [True, True, True, True],  # demoed: an offer is fine
        [True, True, True, False],  # no demo yet: no offer
        [True, False, False, False],  # three touchpoints this week already
        [True, False, False, False],  # do not contact
        [True, False, True, False],  # no phone consent, no demo
    ]
    uplift = np.tile([0.0, 0.01, 0.02, 0.05], (5, 1))
    prediction = UpliftPrediction(ARMS, 0.2 + uplift, uplift, np.zeros_like(uplift))
    served = recommend(prediction, allowed, state["lead_id"], rules, np.random.default_rng(0))
    assert [ARMS[a] for a in served.served] == ["offer_sent", "demo", "none", "none", "demo"]
    assert np.all(served.served_probability == 1.0)


def test_exploration_and_control_shares_and_served_probabilities() -> None:
    n = 20_000
    rules = RulesConfig(exploration_rate=0.2, control_share=0.1, seed=5)
    lead_id = pl.Series([f"L{i}" for i in range(n)])
    uplift = np.tile([0.0, 0.01, 0.03, -0.01], (n, 1))
    allowed = np.ones((n, 4), dtype=bool)
    allowed[: n // 2, 3] = False  # half the leads may get three arms and none only
    prediction = UpliftPrediction(ARMS, 0.2 + uplift, uplift, np.zeros_like(uplift))
    served = recommend(prediction, allowed, lead_id, rules, np.random.default_rng(1))
    assert served.control.mean() == pytest.approx(0.1, abs=0.01)
    assert np.all(served.served[served.control] == 0)
    assert served.explored[~served.control].mean() == pytest.approx(0.2, abs=0.015)
    assert np.all(served.greedy == 2)
    # The served probability is the policy's, marginal over exploration and control group.
    assert np.allclose(served.policy.sum(axis=1), 1.0)
    assert np.array_equal(served.served_probability, served.policy[np.arange(n), served.served])
    assert served.policy[0].tolist() == pytest.approx(
        [0.1 + 0.9 * 0.2 / 3, 0.9 * 0.2 / 3, 0.9 * (0.8 + 0.2 / 3), 0.0]
    )
    assert served.policy[-1].tolist() == pytest.approx(
        [0.1 + 0.9 * 0.05, 0.9 * 0.05, 0.9 * (0.8 + 0.05), 0.9 * 0.05]
    )
    # Arms are served as often as the policy says.
    frequency = np.bincount(served.served, minlength=4) / n
    assert frequency == pytest.approx(served.policy.mean(axis=0), abs=0.01)
    # The control group is fixed per lead, whatever the draw.
    again = recommend(prediction, allowed, lead_id, rules, np.random.default_rng(99))
    assert np.array_equal(again.control, served.control)
    assert np.array_equal(control_group(lead_id, 0.1, 5), served.control)


# -- policy evaluation --------------------------------------------------------------------------


def test_policy_value_and_regret_capture_on_a_hand_made_example() -> None:
    p = np.array([[0.10, 0.20, 0.15], [0.30, 0.25, 0.50]])
    assert policy_value(p, one_hot(np.array([1, 2]), 3)) == pytest.approx(0.35)
    assert policy_value(p, np.full((2, 3), 1 / 3)) == pytest.approx(1.5 / 6)
    none = policy_value(p, one_hot(np.array([0, 0]), 3))
    oracle = policy_value(p, one_hot(p.argmax(axis=1), 3))
    assert (none, oracle) == pytest.approx((0.2, 0.35))
    worse = policy_value(p, one_hot(np.array([0, 1]), 3))
    assert regret_capture(worse, none, oracle) == pytest.approx((0.175 - 0.2) / 0.15)
    assert regret_capture(oracle, none, oracle) == pytest.approx(1.0)
    with pytest.raises(Exception, match="sum to 1"):
        policy_value(p, np.zeros((2, 3)))


def test_off_policy_estimates_on_a_hand_made_log() -> None:
    logged = np.array([0, 1, 1, 0])
    outcome = np.array([0.0, 1.0, 0.0, 1.0])
    propensity = np.full((4, 2), 0.5)
    target = one_hot(np.array([1, 1, 1, 1]), 2)
    clusters = np.array([0, 0, 1, 2])
    ips = off_policy_value(logged, outcome, propensity, target, clusters)["ips"]
    assert ips.value == pytest.approx((0 + 2 + 0 + 0) / 4)
    assert ips.clusters == 3
    assert ips.low < ips.value < ips.high
    mu = np.array([[0.3, 0.6]] * 4)
    dr = off_policy_value(logged, outcome, propensity, target, clusters, outcome_model=mu)["dr"]
    assert dr.value == pytest.approx(0.6 + (2 * 0.4 + 2 * -0.6) / 4)


def test_uplift_curve_of_the_true_order_is_the_oracle() -> None:
    true = np.array([0.03, -0.01, 0.05, 0.0])
    oracle = uplift_curve(true, true, points=5)
    assert oracle.gain.tolist() == pytest.approx([0, 0.05 / 4, 0.08 / 4, 0.08 / 4, 0.07 / 4])
    worst = uplift_curve(-true, true, points=5)
    assert worst.area < 0 < oracle.area


def test_uplift_curve_plot_is_a_png(tmp_path: Path) -> None:
    true = np.array([0.03, -0.01, 0.05, 0.0])
    curves = {"model": uplift_curve(true[::-1], true), "oracle": uplift_curve(true, true)}
    data = uplift_curve_plot(curves, tmp_path / "uplift.png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "uplift.png").read_bytes() == data


def test_surrogate_index_keeps_the_effect_and_removes_most_outcome_noise() -> None:
    """The call raises a later, observable readiness; the outcome is a coin flip on it. The
    surrogate index (the outcome's expectation given the later state) keeps the effect."""
    frame, spec, called, _ = _synthetic(30_000, seed=5)
    rng = np.random.default_rng(6)
    hot = frame["n_lead_initiated_7d"].to_numpy()
    readiness = 0.02 + 0.6 * hot**4 + 0.05 * called
    converted = (rng.random(len(hot)) < readiness).astype(np.int8)
    later = frame.with_columns(
        n_lead_initiated_7d=pl.Series(readiness + rng.normal(0, 0.01, len(hot)))
    )
    settled = np.full(len(hot), np.nan)
    early = rng.random(len(hot)) < 0.05  # a few leads decided before the later state
    settled[early] = converted[early]
    config = EstimatorConfig(
        folds=3,
        propensity_rounds=60,
        outcome_rounds=60,
        effect_rounds=60,
        effect_min_child_samples=500,
        effect_features=("n_lead_initiated_7d",),
        surrogate_rounds=100,
    )
    model = NextTouchpointModel(config=config).fit(
        frame,
        called,
        converted,
        arms=("none", "call"),
        spec=spec,
        groups=frame["lead_id"],
        surrogate=Surrogate(state=later, settled=settled, days=14),
    )
    assert abs(model.predict(frame).uplift[:, 1].mean() - 0.05) < 0.015
    summary = model.surrogate_
    assert summary is not None and summary["days"] == 14
    assert summary["share_settled"] == pytest.approx(early.mean(), abs=1e-9)
    assert summary["index_mean"] == pytest.approx(summary["outcome_mean"], abs=0.01)
    assert summary["variance_ratio"] < 0.5  # most of the 0/1 noise is gone
    with pytest.raises(UsageError, match="one row per decision point"):
        NextTouchpointModel(config=config).fit(
            frame,
            called,
            converted,
            arms=("none", "call"),
            spec=spec,
            groups=frame["lead_id"],
            surrogate=Surrogate(state=later.head(10), settled=settled, days=14),
        )


# -- end to end on the small simulated run ------------------------------------------------------


def test_training_and_truth_evaluation_end_to_end(small_run: Tables) -> None:
    trained = train_next_touchpoint(
        small_run.leads, small_run.touchpoints, small_run.outcomes, CONFIG
    )
    assert trained.train_end == trained.test_start - timedelta(days=30)
    report = evaluate_against_truth(
        trained, small_run.leads, small_run.touchpoints, small_run.truth
    )
    values = report.policy_value
    assert max(values.values()) == values["oracle"]
    assert values["none"] < values["oracle"]
    assert report.regret_capture["model"] == pytest.approx(
        (values["model"] - values["none"]) / (values["oracle"] - values["none"])
    )
    for estimate in (*report.off_policy.values(), *report.off_policy_decision_points.values()):
        assert estimate.low < estimate.value < estimate.high
    assert sum(report.choice_share["oracle"].values()) == pytest.approx(1.0)
    assert report.curves["oracle"].area >= report.curves["model"].area
    later = small_run.truth.filter(pl.col("as_of") >= trained.test_start)
    open_leads = later.filter(pl.col("as_of") == later["as_of"].min()).head(50)
    frame = next_best_touchpoints(
        trained.model,
        small_run.leads,
        small_run.touchpoints,
        open_leads.select("lead_id", "as_of"),
        CONFIG,
        np.random.default_rng(0),
    )
    assert frame.height == open_leads.height
    assert frame["served_probability"].to_list() == [1.0] * frame.height
    assert frame.columns[:5] == ["lead_id", "as_of", "served", "served_probability", "control"]
    for ranked in frame["next_best_touchpoints"].to_list():
        uplifts = [r["uplift"] for r in ranked]
        assert uplifts == sorted(uplifts, reverse=True)
        assert all(u > 0 for u in uplifts)
