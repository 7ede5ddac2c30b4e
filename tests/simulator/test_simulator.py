"""The simulator: determinism, plausibility of the process, and the contract of its tables."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from leadscore.data.schemas import table_schema
from leadscore.data.simulator import ACTIONS, SimulationConfig, Tables, simulate
from leadscore.data.simulator.world import STAGES, default_world

ACTIONABLE = [a for a in ACTIONS if a != "none"]


def test_same_seed_same_tables() -> None:
    config = SimulationConfig(leads=300, seed=11, months=5)
    first, second = simulate(config), simulate(config)
    for name in ("leads", "touchpoints", "outcomes", "truth", "company_touchpoints"):
        assert getattr(first, name).equals(getattr(second, name)), name


def test_other_seed_other_tables() -> None:
    a = simulate(SimulationConfig(leads=300, seed=1, months=5))
    b = simulate(SimulationConfig(leads=300, seed=2, months=5))
    assert not a.touchpoints.equals(b.touchpoints)


@pytest.mark.parametrize("table", ["leads", "touchpoints", "outcomes"])
def test_tables_meet_the_schema(small_run: Tables, table: str) -> None:
    table_schema(table).validate(getattr(small_run, table), lazy=True)


def test_nothing_happens_before_creation_or_after_the_outcome(small_run: Tables) -> None:
    decided = small_run.outcomes.select(
        "lead_id", pl.coalesce("converted_at", "lost_at").alias("decided_at")
    )
    events = small_run.touchpoints.join(small_run.leads, on="lead_id").join(
        decided, on="lead_id", how="left"
    )
    assert events.filter(pl.col("timestamp") < pl.col("created_at")).height == 0
    assert events.filter(pl.col("timestamp") > pl.col("decided_at")).height == 0
    outcomes = small_run.outcomes.join(small_run.leads, on="lead_id")
    assert (
        outcomes.filter(pl.coalesce("converted_at", "lost_at") < pl.col("created_at")).height == 0
    )
    assert small_run.outcomes["lead_id"].is_unique().all()


def test_every_actionable_touchpoint_occurs_in_every_stage(small_run: Tables) -> None:
    seen = small_run.company_touchpoints.group_by("touchpoint", "stage").len()
    pairs = {(row["touchpoint"], row["stage"]) for row in seen.iter_rows(named=True)}
    missing = [(a, s) for a in ACTIONABLE for s in STAGES if (a, s) not in pairs]
    assert missing == []


def test_logging_policy_gives_every_touchpoint_a_chance_everywhere() -> None:
    policy = default_world().policy
    assert policy.min() > 0
    np.testing.assert_allclose(policy.sum(axis=-1), 1.0)


def test_logging_policy_is_confounded(small_run: Tables) -> None:
    """Reps call and demo the leads that are further along: selection, not effect."""
    truth = small_run.truth
    late = truth.filter(pl.col("stage") == "late")
    early = truth.filter(pl.col("stage") == "early")
    for touchpoint in ("call", "demo"):
        assert late[f"pi_{touchpoint}"].mean() > 1.3 * early[f"pi_{touchpoint}"].mean()


def test_touchpoint_effects_are_plausible(small_run: Tables) -> None:
    """Effects move a lead's probability by points, not tens; some are negative."""
    truth = small_run.truth
    uplift = truth.select([pl.col(f"p_{a}") - pl.col("p_none") for a in ACTIONABLE])
    best = uplift.select(pl.max_horizontal(pl.all())).to_series()
    assert 0.005 < best.mean() < 0.05  # type: ignore[operator]
    assert best.max() < 0.15  # type: ignore[operator]
    early = truth.filter(pl.col("stage") == "early")
    assert (early["p_offer_sent"] < early["p_none"]).mean() > 0.5  # an early offer hurts
    late_enterprise = truth.filter(
        (pl.col("stage") == "late") & (pl.col("size_band") == "enterprise")
    )
    early_enterprise = truth.filter(
        (pl.col("stage") == "early") & (pl.col("size_band") == "enterprise")
    )
    demo_gain = lambda f: (f["p_demo"] - f["p_none"]).mean()  # noqa: E731
    assert demo_gain(late_enterprise) > 3 * demo_gain(early_enterprise)


def test_truth_is_internally_consistent(small_run: Tables) -> None:
    truth = small_run.truth
    probs = truth.select(pl.col("^p_.*$")).to_numpy()
    assert ((probs >= 0) & (probs <= 1)).all()
    pi = truth.select([f"pi_{a}" for a in ACTIONS]).to_numpy()
    q = truth.select([f"p_{a}" for a in ACTIONS]).to_numpy()
    np.testing.assert_allclose(pi.sum(axis=1), 1.0)
    np.testing.assert_allclose((pi * q).sum(axis=1), truth["p_true"].to_numpy(), atol=1e-12)


def test_mean_truth_matches_realized_conversion(small_run: Tables) -> None:
    """Under the truth, E[converted - p_true] = 0; leads are independent, so the standard
    error clusters the residuals by lead."""
    truth = small_run.truth.with_columns(
        (pl.col("converted").cast(pl.Float64) - pl.col("p_true")).alias("residual")
    )
    per_lead = truth.group_by("lead_id").agg(pl.col("residual").sum())["residual"].to_numpy()
    n = truth.height
    mean = per_lead.sum() / n
    se = np.sqrt((per_lead**2).sum()) / n
    assert abs(mean) < 4 * se, (mean, se)
