"""The feature builder: exact values at different cutoffs per lead, one lead alone = batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from leadscore.data.schemas import TIMESTAMP
from leadscore.data.simulator import Tables
from leadscore.errors import ConfigError, DataError
from leadscore.features import ExtraColumn, FeatureSpec, build_features
from leadscore.features.activity import enum_code, looked_up

T0 = datetime(2025, 3, 1, tzinfo=UTC)
SPEC = FeatureSpec(
    windows_days=(7, 30, 90),
    actions=("page_view", "pricing_page_view", "call"),
    channels=("web", "phone", "trade_fair"),
    families={"web": ("page_view",), "pricing": ("pricing_page_view",), "sales": ("call",)},
)


def _leads() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "lead_id": ["a", "b"],
            "created_at": [T0, T0 + timedelta(days=10)],
            "source": ["web_form", None],
            "industry": ["software", "retail"],
            "country": ["DE", "AT"],
            "job_level": ["vp", None],
            "company_size": [120, None],
            "deal_value": [5000.0, 800.0],
        },
        schema_overrides={"created_at": TIMESTAMP},
    )


def _touchpoints() -> pl.DataFrame:
    rows = [
        ("a", 1, "page_view", "web", "lead"),
        ("a", 5, "pricing_page_view", "web", "lead"),
        ("a", 20, "call", "phone", "company"),
        ("a", 29, "pricing_page_view", "web", "lead"),
        ("a", 30, "page_view", "web", "lead"),  # exactly at a cutoff: not before it
        ("a", 31, "booth_visit", "trade_fair", "lead"),
        ("b", 12, "page_view", "web", "lead"),
    ]
    return pl.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(len(rows))],
            "lead_id": [r[0] for r in rows],
            "timestamp": [T0 + timedelta(days=r[1]) for r in rows],
            "action": [r[2] for r in rows],
            "channel": [r[3] for r in rows],
            "initiated_by": [r[4] for r in rows],
        },
        schema_overrides={"timestamp": TIMESTAMP},
    )


def _snapshots(rows: list[tuple[str, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        {"lead_id": [r[0] for r in rows], "as_of": [T0 + timedelta(days=r[1]) for r in rows]},
        schema_overrides={"as_of": TIMESTAMP},
    )


def test_features_at_different_cutoffs_have_exact_values() -> None:
    snapshots = _snapshots([("a", 30), ("b", 30), ("a", 3), ("a", 40)])
    out = build_features(_leads(), _touchpoints(), snapshots, SPEC)
    assert out.columns == ["lead_id", "as_of", *SPEC.feature_names()]
    assert out["lead_id"].to_list() == ["a", "b", "a", "a"]
    rows = out.to_dicts()
    a30, b30, a3, a40 = rows
    # a at day 30: events on days 1, 5, 20, 29 count; day 30 and 31 do not.
    assert a30["n_page_view_7d"] == 0.0
    assert a30["n_page_view_30d"] == 1.0  # day 1 is inside [day 0, day 30)
    assert a30["n_pricing_page_view_7d"] == 1.0
    assert a30["n_pricing_page_view_30d"] == 2.0
    assert a30["n_call_30d"] == 1.0
    assert a30["n_channel_web_90d"] == 3.0
    assert a30["n_channel_trade_fair_90d"] == 0.0
    assert a30["n_lead_initiated_total"] == 3.0
    assert a30["n_company_initiated_total"] == 1.0
    assert a30["distinct_channels_total"] == 2.0
    assert a30["distinct_channels_90d"] == 2.0
    assert a30["trade_fair_contact"] == 0.0
    assert a30["days_since_last_touchpoint"] == pytest.approx(1.0)
    assert a30["days_since_pricing"] == pytest.approx(1.0)
    assert a30["days_since_sales"] == pytest.approx(10.0)
    assert a30["lead_age_days"] == pytest.approx(30.0)
    # trend: 1 lead event in the last 7 days (day 29), 0 in the 21 before (days 2..22: day 5).
    assert a30["engagement_trend"] == pytest.approx(1 / 7 - 1 / 21)
    assert a30["source"] == "web_form" and a30["company_size"] == 120.0
    # a at day 3: only the day-1 page view.
    assert a3["n_page_view_7d"] == 1.0 and a3["n_pricing_page_view_90d"] == 0.0
    assert a3["days_since_pricing"] is None
    assert a3["days_since_web"] == pytest.approx(2.0)
    # a at day 40: everything, including the booth visit on day 31.
    assert a40["n_page_view_30d"] == 1.0 and a40["n_page_view_90d"] == 2.0
    assert a40["trade_fair_contact"] == 1.0 and a40["distinct_channels_total"] == 3.0
    # b: its own single event, its missing fields stay missing.
    assert b30["n_page_view_30d"] == 1.0 and b30["n_call_90d"] == 0.0
    assert b30["source"] is None and b30["company_size"] is None
    assert b30["lead_age_days"] == pytest.approx(20.0)


def test_a_lead_scored_alone_gets_the_batch_values(small_run: Tables) -> None:
    spec = FeatureSpec().resolve(small_run.touchpoints)
    snapshots = small_run.truth.select("lead_id", "as_of").head(400)
    batch = build_features(small_run.leads, small_run.touchpoints, snapshots, spec)
    for row in (0, 17, 399):
        one = snapshots.slice(row, 1)
        lead_id = one["lead_id"][0]
        alone = build_features(
            small_run.leads.filter(pl.col("lead_id") == lead_id),
            small_run.touchpoints.filter(pl.col("lead_id") == lead_id),
            one,
            spec,
        )
        assert alone.row(0) == batch.row(row)


def test_an_unresolved_spec_is_refused() -> None:
    with pytest.raises(ConfigError, match="resolve it from training data"):
        build_features(_leads(), _touchpoints(), _snapshots([("a", 3)]), FeatureSpec())


def test_a_snapshot_of_an_unknown_lead_is_refused() -> None:
    with pytest.raises(DataError, match=r"1 snapshot.*missing from the leads table"):
        build_features(_leads(), _touchpoints(), _snapshots([("zz", 3)]), SPEC)


def test_a_missing_lead_column_is_named() -> None:
    with pytest.raises(DataError, match="no column 'industry'"):
        build_features(_leads().drop("industry"), _touchpoints(), _snapshots([("a", 3)]), SPEC)


def test_resolve_fixes_the_vocabulary_by_frequency() -> None:
    spec = FeatureSpec(max_vocabulary=2).resolve(_touchpoints())
    assert spec.actions == ("page_view", "pricing_page_view")
    assert spec.channels == ("phone", "web")
    assert spec.resolve(_touchpoints()) is spec


def test_excluded_features_leave_the_matrix() -> None:
    spec = SPEC.excluding(["n_call_7d", "industry"])
    out = build_features(_leads().drop("industry"), _touchpoints(), _snapshots([("a", 3)]), spec)
    assert "n_call_7d" not in out.columns and "industry" not in out.columns
    assert "n_call_30d" in out.columns


def test_every_feature_renders_in_plain_words() -> None:
    info = SPEC.info()
    assert info["n_pricing_page_view_7d"].describe(4.0) == "4 pricing-page views in the last 7 days"
    assert info["days_since_pricing"].describe(None) == "no pricing activity yet"
    assert info["source"].describe("trade_fair") == "source: trade_fair"
    assert info["lead_age_days"].describe(12.46) == "lead known for 12 days"


def test_partitioned_leads_give_the_same_matrix(
    small_run: Tables, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadscore.features import builder

    spec = FeatureSpec().resolve(small_run.touchpoints)
    snapshots = small_run.truth.select("lead_id", "as_of").sample(3_000, seed=1)
    whole = build_features(small_run.leads, small_run.touchpoints, snapshots, spec)
    monkeypatch.setattr(builder, "SMALL_SNAPSHOTS", 10)
    monkeypatch.setattr(builder, "JOIN_ROWS", 5_000)
    assert builder._parts(small_run.touchpoints, snapshots) > 3
    parts = build_features(small_run.leads, small_run.touchpoints, snapshots, spec)
    assert parts.equals(whole)


def test_extra_lead_columns_declared_in_the_pipeline_become_features() -> None:
    leads = _leads().with_columns(
        segment=pl.Series(["key account", "smb"]), growth=pl.Series(["0.25", None])
    )
    spec = SPEC.model_copy(
        update={
            "extra_columns": (
                ExtraColumn(name="segment", kind="categorical", label="customer segment"),
                ExtraColumn(name="growth", kind="numeric"),
            )
        }
    )
    out = build_features(leads, _touchpoints(), _snapshots([("a", 3), ("b", 12)]), spec)
    assert out["segment"].to_list() == ["key account", "smb"]
    assert out["growth"].to_list() == [0.25, None]
    info = spec.info()
    assert info["segment"].describe("smb") == "customer segment: smb"
    assert info["growth"].kind == "numeric"


def test_events_outside_the_vocabulary_count_only_where_no_vocabulary_applies() -> None:
    spec = SPEC.model_copy(update={"channels": ("web", "phone")})  # trade_fair not in it
    out = build_features(_leads(), _touchpoints(), _snapshots([("a", 40)]), spec).row(0, named=True)
    # The booth visit (action and channel outside the vocabularies) on day 31:
    assert out["trade_fair_contact"] == 1.0
    assert out["distinct_channels_total"] == 2.0  # only known channels are counted
    assert out["n_lead_initiated_total"] == 5.0
    assert out["days_since_last_touchpoint"] == pytest.approx(9.0)
    assert "n_channel_trade_fair_90d" not in out


def test_a_lead_without_events_alone_gets_typed_missing_recencies() -> None:
    out = build_features(_leads(), _touchpoints().clear(), _snapshots([("b", 30)]), SPEC)
    numeric = [name for name in SPEC.feature_names() if name not in SPEC.categorical]
    assert all(out.schema[name] == pl.Float64 for name in numeric)
    row = out.row(0, named=True)
    assert row["days_since_last_touchpoint"] is None and row["days_since_web"] is None
    assert row["n_page_view_90d"] == 0.0 and row["engagement_trend"] == 0.0
    assert row["company_size"] is None and row["lead_age_days"] == pytest.approx(20.0)


def test_a_lead_listed_twice_is_refused() -> None:
    leads = pl.concat([_leads(), _leads().head(1)])
    with pytest.raises(DataError, match=r"holds 1 lead_id\(s\) more than once.*'a'"):
        build_features(leads, _touchpoints(), _snapshots([("a", 30), ("b", 30)]), SPEC)
    with pytest.raises(DataError, match=r"more than once"):
        build_features(leads, _touchpoints(), _snapshots([("a", 30)]), SPEC)


def test_looked_up_codes_equal_the_enum_codes_of_the_query() -> None:
    vocabulary = ("call", "demo", "é-mail", "webinar")
    values = pl.Series(
        "action", ["demo", None, "call", "unknown", "é-mail", "Demo", "webinar", None, ""]
    )
    coded = values.to_frame().select(enum_code("action", vocabulary))["action"].to_list()
    expected = [
        None if value is None else len(vocabulary) if code is None else code
        for value, code in zip(values.to_list(), coded, strict=True)
    ]
    assert looked_up(values, vocabulary) == expected == [1, None, 0, 4, 2, 4, 3, None, 4]
