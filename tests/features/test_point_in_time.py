"""Point in time, as a property: nothing at or after as_of changes the features at as_of,
and labels use only outcomes in (as_of, as_of + horizon]."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadscore.data.schemas import TIMESTAMP
from leadscore.features import FeatureSpec, build_features, label_snapshots

T0 = datetime(2025, 1, 1, tzinfo=UTC)
AS_OF = T0 + timedelta(days=60)
SPEC = FeatureSpec(
    actions=("page_view", "call", "demo"),
    channels=("web", "phone", "meeting"),
    families={"web": ("page_view",), "sales": ("call", "demo")},
)
ACTIONS = {
    "page_view": ("web", "lead"),
    "call": ("phone", "company"),
    "demo": ("meeting", "company"),
}
LEADS = pl.DataFrame(
    {
        "lead_id": ["x", "y"],
        "created_at": [T0, T0],
        "source": ["web_form", "referral"],
        "industry": ["software", None],
        "country": ["DE", "FR"],
        "job_level": [None, "vp"],
        "company_size": [10, 2000],
        "deal_value": [100.0, 9000.0],
    },
    schema_overrides={"created_at": TIMESTAMP},
)
SNAPSHOTS = pl.DataFrame(
    {"lead_id": ["x", "y"], "as_of": [AS_OF, AS_OF]}, schema_overrides={"as_of": TIMESTAMP}
)

# Seconds relative to as_of: negative = before it, zero or positive = at or after it.
offsets_before = st.integers(min_value=-120 * 86_400, max_value=-1)
offsets_after = st.integers(min_value=0, max_value=120 * 86_400)
event = st.tuples(st.sampled_from(["x", "y"]), st.sampled_from(sorted(ACTIONS)))


def _events(rows: list[tuple[tuple[str, str], int]], tag: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event_id": [f"{tag}{i}" for i in range(len(rows))],
            "lead_id": [r[0][0] for r in rows],
            "timestamp": [AS_OF + timedelta(seconds=r[1]) for r in rows],
            "action": [r[0][1] for r in rows],
            "channel": [ACTIONS[r[0][1]][0] for r in rows],
            "initiated_by": [ACTIONS[r[0][1]][1] for r in rows],
        },
        schema={
            "event_id": pl.String,
            "lead_id": pl.String,
            "timestamp": TIMESTAMP,
            "action": pl.String,
            "channel": pl.String,
            "initiated_by": pl.String,
        },
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    past=st.lists(st.tuples(event, offsets_before), max_size=25),
    future=st.lists(st.tuples(event, offsets_after), max_size=25),
    altered=st.lists(st.tuples(event, offsets_after), max_size=25),
)
def test_touchpoints_at_or_after_as_of_change_nothing(
    past: list[tuple[tuple[str, str], int]],
    future: list[tuple[tuple[str, str], int]],
    altered: list[tuple[tuple[str, str], int]],
) -> None:
    known = _events(past, "p")
    reference = build_features(LEADS, known, SNAPSHOTS, SPEC)
    added = build_features(LEADS, pl.concat([known, _events(future, "f")]), SNAPSHOTS, SPEC)
    changed = build_features(LEADS, pl.concat([known, _events(altered, "f")]), SNAPSHOTS, SPEC)
    assert added.equals(reference)
    assert changed.equals(reference)
    # The other way round: removing every later event from a log that has them.
    assert build_features(LEADS, known, SNAPSHOTS, SPEC).equals(added)


@settings(max_examples=60, deadline=None)
@given(
    converted=st.integers(min_value=-200 * 86_400, max_value=200 * 86_400),
    lost=st.one_of(st.none(), st.integers(min_value=-200 * 86_400, max_value=200 * 86_400)),
)
def test_labels_use_only_conversions_inside_the_horizon(converted: int, lost: int | None) -> None:
    horizon = 90
    when = AS_OF + timedelta(seconds=converted)
    outcomes = pl.DataFrame(
        {
            "lead_id": ["x"],
            "converted_at": [when],
            "lost_at": [None if lost is None else AS_OF + timedelta(seconds=lost)],
            "revenue": [1.0],
        },
        schema_overrides={"converted_at": TIMESTAMP, "lost_at": TIMESTAMP},
    )
    labelled = label_snapshots(SNAPSHOTS, outcomes, horizon, AS_OF + timedelta(days=400))
    expected = int(AS_OF < when <= AS_OF + timedelta(days=horizon))
    assert labelled.filter(pl.col("lead_id") == "x")["label"].item() == expected
    assert labelled.filter(pl.col("lead_id") == "y")["label"].item() == 0


def test_the_horizon_edges_are_exact() -> None:
    cases = {timedelta(0): 0, timedelta(seconds=1): 1, timedelta(days=90): 1}
    cases[timedelta(days=90, seconds=1)] = 0
    for delta, expected in cases.items():
        outcomes = pl.DataFrame(
            {"lead_id": ["x"], "converted_at": [AS_OF + delta], "lost_at": [None]},
            schema_overrides={"converted_at": TIMESTAMP, "lost_at": TIMESTAMP},
        )
        out = label_snapshots(SNAPSHOTS, outcomes, 90, AS_OF + timedelta(days=200))
        assert out["label"].to_list() == [expected, 0], delta


def test_snapshots_whose_horizon_is_not_observed_are_left_out() -> None:
    outcomes = pl.DataFrame(
        {"lead_id": [], "converted_at": [], "lost_at": []},
        schema={"lead_id": pl.String, "converted_at": TIMESTAMP, "lost_at": TIMESTAMP},
    )
    assert label_snapshots(SNAPSHOTS, outcomes, 90, AS_OF + timedelta(days=89)).is_empty()
    assert label_snapshots(SNAPSHOTS, outcomes, 90, AS_OF + timedelta(days=90)).height == 2
