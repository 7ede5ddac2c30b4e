"""Online scoring from the store goes through ``score_snapshots``: same numbers, plus trend."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest

from leadscore.data.schemas import TIMESTAMP
from leadscore.data.simulator import Tables
from leadscore.features import observed_until, open_snapshots
from leadscore.scoring import score_snapshots
from leadscore.settings import Settings
from leadscore.store import Store, insert_touchpoints, record_outcomes, score_stored, upsert_leads
from leadscore.training.config import ScoringConfig
from leadscore.training.propensity import TrainedPropensity


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, small_run: Tables) -> tuple[Store, list[str]]:
    """The first 40 leads of the small run with their touchpoints and outcomes, stored."""
    leads = small_run.leads.head(40)
    ids = leads["lead_id"].to_list()
    touchpoints = small_run.touchpoints.filter(pl.col("lead_id").is_in(ids))
    outcomes = small_run.outcomes.filter(pl.col("lead_id").is_in(ids))
    store = Store.open(Settings(home=tmp_path_factory.mktemp("online"), database_url=None))
    now = observed_until(small_run.leads, small_run.touchpoints, small_run.outcomes)
    with store.transaction() as session:
        upsert_leads(session, leads.to_dicts(), now)
        insert_touchpoints(session, touchpoints.to_dicts(), now)
        record_outcomes(session, outcomes.to_dicts(), now)
    return store, ids


def test_stored_scores_equal_the_library_path(
    loaded: tuple[Store, list[str]], small_run: Tables, trained: TrainedPropensity
) -> None:
    store, ids = loaded
    config = ScoringConfig()
    as_of = small_run.leads["created_at"].head(40).max() + timedelta(days=30)  # type: ignore[operator]
    with store.transaction() as session:
        result = score_stored(session, trained.model, config, [*ids, "unknown"], as_of)
    leads = small_run.leads.head(40)
    snapshots = open_snapshots(
        leads, small_run.outcomes, pl.Series("as_of", [as_of], dtype=TIMESTAMP)
    )
    expected = score_snapshots(trained.model, leads, small_run.touchpoints, snapshots, config)
    assert result.rows, "some of the first leads are open 30 days after the last of them arrived"
    got = {r["lead_id"]: (r["probability"], r["grade"], r["reasons"]) for r in result.rows}
    want = {r["lead_id"]: (r["probability"], r["grade"], r["reasons"]) for r in expected.to_dicts()}
    assert got == want
    reasons = {n.lead_id: n.reason for n in result.not_scored}
    assert reasons["unknown"] == "unknown lead_id"
    assert set(reasons) | set(got) == {*ids, "unknown"}
    assert set(reasons.values()) <= {"unknown lead_id", "converted", "lost", "created after as_of"}
    assert all(r["trend"] is None or isinstance(r["trend"], int) for r in result.rows)
