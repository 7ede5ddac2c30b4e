"""A propensity model trained once per session on the small simulated CRM."""

from __future__ import annotations

import pytest

from leadscore.data.simulator import Tables
from leadscore.training.config import ModelConfig, PipelineConfig, SplitConfig
from leadscore.training.propensity import TrainedPropensity, train_propensity

FAST = PipelineConfig(
    split=SplitConfig(test_share=0.2, validation_days=45), model=ModelConfig(max_rounds=150)
)


@pytest.fixture(scope="session")
def trained(small_run: Tables) -> TrainedPropensity:
    """The propensity model of the small run (45 validation days, at most 150 rounds)."""
    return train_propensity(
        small_run.leads, small_run.touchpoints, small_run.outcomes, FAST, truth=small_run.truth
    )
