"""Session-wide fixtures: simulated data is built once per test session."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from leadscore.data.simulator import SimulationConfig, Tables, simulate
from leadscore.training.config import DEFAULT_LIGHTGBM, ModelConfig, PipelineConfig, SplitConfig
from leadscore.training.propensity import TrainedPropensity, train_propensity

SMALL = SimulationConfig(leads=3_000, seed=7, months=8)


@pytest.fixture(scope="session")
def small_run() -> Tables:
    """A small simulated CRM (3,000 leads over 8 months) shared by the whole session."""
    return simulate(SMALL)


#: Training settings of the shared ``trained`` model: 45 validation days, at most 150 rounds,
#: LightGBM on one thread.
FAST = PipelineConfig(
    split=SplitConfig(test_share=0.2, validation_days=45),
    model=ModelConfig(max_rounds=150, lightgbm={**DEFAULT_LIGHTGBM, "num_threads": 1}),
)


@pytest.fixture(scope="session")
def trained(small_run: Tables) -> TrainedPropensity:
    """The propensity model of the small run, trained once per session.

    On one thread for LightGBM and for BLAS under the logistic-regression baseline: on a busy
    two-core machine their spinning threads made this fixture take 45 s instead of a few.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return train_propensity(
            small_run.leads, small_run.touchpoints, small_run.outcomes, FAST, truth=small_run.truth
        )
