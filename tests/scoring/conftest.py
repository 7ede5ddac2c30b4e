"""The propensity model the scoring tests score with, trained once per session.

The configuration of ``tests/training/conftest.py``'s ``trained`` fixture (conftest fixtures
do not reach sibling folders), on one thread: with LightGBM on every core (its default) and
multi-threaded BLAS under the logistic-regression baseline, OpenMP and OpenBLAS threads spin
against other work, and this fixture took 45 s instead of a few on a busy two-core machine.
"""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from leadscore.data.simulator import Tables
from leadscore.training.config import DEFAULT_LIGHTGBM, ModelConfig, PipelineConfig, SplitConfig
from leadscore.training.propensity import TrainedPropensity, train_propensity

FAST = PipelineConfig(
    split=SplitConfig(test_share=0.2, validation_days=45),
    model=ModelConfig(max_rounds=150, lightgbm={**DEFAULT_LIGHTGBM, "num_threads": 1}),
)


@pytest.fixture(scope="session")
def trained(small_run: Tables) -> TrainedPropensity:
    """The propensity model of the small run (45 validation days, at most 150 rounds)."""
    with threadpool_limits(limits=1, user_api="blas"):
        return train_propensity(
            small_run.leads, small_run.touchpoints, small_run.outcomes, FAST, truth=small_run.truth
        )
