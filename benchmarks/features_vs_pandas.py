"""The feature builder against a straightforward pandas implementation of the same features.

Bar (issue): the default feature set for 100,000 leads and their touchpoints (about 5 million),
one snapshot per lead, against a pandas implementation (merge + groupby, written as a competent
user would) in the same run: same values (checked), at least 2x faster, at most 5 s and
1.5 GiB peak memory on a 2-core machine.

Data: ``simulate(SimulationConfig(leads=N, seed=S))``, cached as Parquet under
``.bench-cache/`` in the repository root (the folder ignores itself with its own
``.gitignore``). One snapshot per lead created before ``as_of`` = the end of the simulated
period minus one day. The spec is the default ``FeatureSpec`` resolved on the touchpoints.

Each run of each implementation is a fresh child process that loads the inputs (the same
columns for both), records its RSS, resets its peak RSS (``/proc/self/clear_refs``), times
only the feature building and reads its peak RSS again. "Build peak" is that peak minus the
RSS after loading: the memory the feature building itself needs, which is what the 1.5 GiB
bar is checked against; the absolute peak and the cost of loading are reported beside it.
The first run of each writes its feature frame; the parent checks every row and column
(numeric within 1e-9, relative above 1; strings and nulls equal) and fails loudly on any
difference. Runs alternate polars/pandas so that load on the machine hits both alike.

    .venv/bin/python benchmarks/features_vs_pandas.py [--leads 100000] [--seed 42] [--runs 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import polars as pl

from leadscore.data.simulator import SimulationConfig, simulate
from leadscore.features import FeatureSpec, build_features

REPO: Final = Path(__file__).resolve().parents[1]
DEFAULT_CACHE: Final = REPO / ".bench-cache"
MIN_RATIO: Final = 2.0
MAX_SECONDS: Final = 5.0
MAX_BUILD_BYTES: Final = int(1.5 * 1024**3)
TOLERANCE: Final = 1e-9
MIB: Final = 1024**2
TABLES: Final = ("leads", "touchpoints", "outcomes")
TOUCHPOINT_COLUMNS: Final = ("lead_id", "timestamp", "action", "channel", "initiated_by")
IMPLEMENTATIONS: Final = ("polars", "pandas")


# -- the cached inputs --------------------------------------------------------------------------


def cached_simulation(leads: int, seed: int, cache: Path = DEFAULT_CACHE) -> Path:
    """The folder holding ``leads``, ``touchpoints``, ``outcomes`` Parquet files of one run.

    Simulates and writes them on the first call; ``config.json`` marks a complete folder.
    """
    cache.mkdir(parents=True, exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# benchmark cache, written by benchmarks/*.py\n*\n")
    folder = cache / f"simulation-{leads}-{seed}"
    marker = folder / "config.json"
    if marker.exists():
        return folder
    config = SimulationConfig(leads=leads, seed=seed)
    print(f"simulating {leads:,} leads (seed {seed}) into {folder} ...", flush=True)
    started = time.perf_counter()
    tables = simulate(config)
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        tmp = folder / f".{name}.parquet.tmp"
        getattr(tables, name).write_parquet(tmp)
        tmp.replace(folder / f"{name}.parquet")
    marker.write_text(config.model_dump_json(indent=2) + "\n")
    print(f"simulated in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def simulation_end(folder: Path) -> datetime:
    """The end of the simulated period (midnight UTC after its last day)."""
    config = SimulationConfig.model_validate_json((folder / "config.json").read_text())
    start = datetime(config.start.year, config.start.month, config.start.day, tzinfo=UTC)
    return start + timedelta(days=config.days)


def prepare_inputs(folder: Path) -> datetime:
    """Write ``snapshots.parquet`` and the resolved ``spec.json`` next to the tables.

    Returns the snapshot time: one day before the end of the simulated period.
    """
    as_of = simulation_end(folder) - timedelta(days=1)
    snapshots = (
        pl.read_parquet(folder / "leads.parquet", columns=["lead_id", "created_at"])
        .filter(pl.col("created_at") < as_of)
        .select("lead_id", pl.lit(as_of).dt.cast_time_unit("us").alias("as_of"))
    )
    snapshots.write_parquet(folder / "snapshots.parquet")
    spec = FeatureSpec().resolve(pl.scan_parquet(folder / "touchpoints.parquet"))
    (folder / "spec.json").write_text(spec.model_dump_json(indent=2) + "\n")
    return as_of


def machine_load() -> str:
    """The load averages, to judge whether someone else was using the cores meanwhile."""
    one, five, fifteen = os.getloadavg()
    return (
        f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min, {os.cpu_count()} cores)"
    )


# -- the pandas reference -----------------------------------------------------------------------


def _counts(
    events: pd.DataFrame, column: str, values: tuple[str, ...], index: pd.Index
) -> pd.DataFrame:
    """Events per snapshot row and value of ``column`` (0 where none), one column per value."""
    table = events.groupby(["row", column], observed=True).size().unstack(fill_value=0)
    return table.reindex(index=index, columns=list(values), fill_value=0)


def pandas_features(
    leads: pd.DataFrame, touchpoints: pd.DataFrame, snapshots: pd.DataFrame, spec: FeatureSpec
) -> pd.DataFrame:
    """The features of ``spec`` with plain pandas: merge snapshots and events, then group by.

    Same contract as ``build_features``: one row per snapshot in its order, ``lead_id``,
    ``as_of`` and ``spec.feature_names()``; a snapshot sees touchpoints strictly before its
    ``as_of``, a window of ``w`` days is ``as_of - w <= timestamp < as_of``.
    """
    assert spec.actions is not None and spec.channels is not None
    day = 86_400.0  # seconds
    snaps = snapshots[["lead_id", "as_of"]].reset_index(drop=True)
    snaps["row"] = np.arange(len(snaps))
    index = pd.Index(snaps["row"], name="row")
    lead_columns = [name for name, _ in spec.lead_columns]
    features: dict[str, pd.Series] = {}

    base = snaps.merge(leads[["lead_id", "created_at", *lead_columns]], on="lead_id", how="left")
    base = base.set_index("row")
    features["lead_age_days"] = (base["as_of"] - base["created_at"]).dt.total_seconds() / day
    for name, kind in spec.lead_columns:
        features[name] = base[name].astype("str" if kind == "categorical" else "float64")

    # Low-cardinality strings as categories: every filter and group-by below is cheaper.
    kinds = {"action": "category", "channel": "category", "initiated_by": "category"}
    events = snaps.merge(touchpoints[list(TOUCHPOINT_COLUMNS)].astype(kinds), on="lead_id")
    events = events.loc[
        events["timestamp"] < events["as_of"], ["row", "action", "channel", "initiated_by"]
    ].assign(age=events["as_of"] - events["timestamp"])
    sides = ("lead", "company")
    for w in spec.windows_days:
        recent = events[events["age"] <= pd.Timedelta(days=w)]
        actions = _counts(recent, "action", spec.actions, index)
        channels = _counts(recent, "channel", spec.channels, index)
        initiated = _counts(recent, "initiated_by", sides, index)
        for action in spec.actions:
            features[f"n_{action}_{w}d"] = actions[action].astype(float)
        for channel in spec.channels:
            features[f"n_channel_{channel}_{w}d"] = channels[channel].astype(float)
        for side in sides:
            features[f"n_{side}_initiated_{w}d"] = initiated[side].astype(float)
        if w == max(spec.windows_days):
            features[f"distinct_channels_{w}d"] = (channels > 0).sum(axis=1).astype(float)

    totals = _counts(events, "initiated_by", sides, index)
    features["n_lead_initiated_total"] = totals["lead"].astype(float)
    features["n_company_initiated_total"] = totals["company"].astype(float)
    known = events[events["channel"].isin(spec.channels)]
    distinct = known.groupby("row")["channel"].nunique()
    features["distinct_channels_total"] = distinct.reindex(index, fill_value=0).astype(float)

    recent_days, previous_days = spec.trend_recent_days, spec.trend_previous_days
    by_lead = events[events["initiated_by"] == "lead"]
    recent_edge = pd.Timedelta(days=recent_days)
    previous_edge = pd.Timedelta(days=recent_days + previous_days)
    trend = (
        by_lead.assign(
            recent=by_lead["age"] <= recent_edge,
            previous=(by_lead["age"] > recent_edge) & (by_lead["age"] <= previous_edge),
        )
        .groupby("row")[["recent", "previous"]]
        .sum()
        .reindex(index, fill_value=0)
    )
    features["engagement_trend"] = trend["recent"] / recent_days - (
        trend["previous"] / previous_days
    )
    fair = spec.trade_fair_channel
    features["trade_fair_contact"] = (
        _counts(events, "channel", (fair,), index)[fair].astype(float)
        if fair in spec.channels
        else pd.Series(0.0, index=index)
    )

    last_any = events.groupby("row")["age"].min().reindex(index)
    features["days_since_last_touchpoint"] = last_any.dt.total_seconds() / day
    family_of = {action: family for family, acts in spec.families.items() for action in acts}
    if len(family_of) != sum(len(acts) for acts in spec.families.values()):
        raise SystemExit("the pandas reference assumes each action is in at most one family")
    events["family"] = events["action"].map(family_of).astype("category")
    last = events.groupby(["row", "family"])["age"].min().unstack()
    last = last.reindex(index=index, columns=list(spec.families))
    for family in spec.families:
        features[f"days_since_{family}"] = last[family].dt.total_seconds() / day

    frame = pd.DataFrame({name: features[name] for name in spec.feature_names()}, index=index)
    frame.insert(0, "as_of", base["as_of"])
    frame.insert(0, "lead_id", base["lead_id"])
    return frame.reset_index(drop=True)


# -- one measurement in a child process ---------------------------------------------------------


def _memory() -> dict[str, int]:
    """Current and peak RSS of this process in bytes (``VmRSS``, ``VmHWM``)."""
    values: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            values[key] = int(rest.split()[0]) * 1024
    return values


def run_child(implementation: str, folder: Path, out: Path | None) -> dict[str, Any]:
    """Load the inputs, build the features once, return the timing and memory figures."""
    spec = FeatureSpec.model_validate_json((folder / "spec.json").read_text())
    lead_columns = ["lead_id", "created_at", *(name for name, _ in spec.lead_columns)]
    gc.collect()
    before_load = _memory()["VmRSS"]
    if implementation == "polars":
        leads_pl = pl.read_parquet(folder / "leads.parquet", columns=lead_columns)
        touch_pl = pl.read_parquet(folder / "touchpoints.parquet", columns=list(TOUCHPOINT_COLUMNS))
        snaps_pl = pl.read_parquet(folder / "snapshots.parquet")
        rows = touch_pl.height
    else:
        leads_pd = pd.read_parquet(folder / "leads.parquet", columns=lead_columns)
        touch_pd = pd.read_parquet(folder / "touchpoints.parquet", columns=list(TOUCHPOINT_COLUMNS))
        snaps_pd = pd.read_parquet(folder / "snapshots.parquet")
        rows = len(touch_pd)
    gc.collect()
    loaded = _memory()
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak RSS to the current RSS
    reset = _memory()["VmHWM"]
    started = time.perf_counter()
    if implementation == "polars":
        result_pl = build_features(leads_pl, touch_pl, snaps_pl, spec)
        n_rows = result_pl.height
    else:
        result_pd = pandas_features(leads_pd, touch_pd, snaps_pd, spec)
        n_rows = len(result_pd)
    seconds = time.perf_counter() - started
    peak = _memory()["VmHWM"]
    if out is not None:
        if implementation == "polars":
            result_pl.write_parquet(out)
        else:
            result_pd.to_parquet(out)
    return {
        "implementation": implementation,
        "seconds": seconds,
        "rss_before_load": before_load,
        "rss_loaded": loaded["VmRSS"],
        "peak_loading": loaded["VmHWM"],
        "peak_reset": reset,
        "peak_build": peak,
        "touchpoints": rows,
        "rows": n_rows,
    }


def measure(implementation: str, folder: Path, out: Path | None) -> dict[str, Any]:
    """One child process of this script measuring ``implementation``."""
    command = [sys.executable, __file__, "--child", implementation, "--data", str(folder)]
    if out is not None:
        command += ["--out", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {implementation} run failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# -- the check ----------------------------------------------------------------------------------


def compare(expected: pl.DataFrame, actual: pl.DataFrame, names: tuple[str, ...]) -> list[str]:
    """Every difference between the two feature frames (empty when they agree)."""
    if expected.height != actual.height:
        return [f"row counts differ: polars {expected.height:,}, pandas {actual.height:,}"]
    problems: list[str] = []
    lead_id = expected["lead_id"]
    for name in ("lead_id", "as_of", *names):
        if name not in actual.columns:
            problems.append(f"{name}: missing from the pandas result")
            continue
        a, b = expected[name], actual[name]
        if pl.String in (a.dtype, b.dtype) or name == "as_of":
            bad = ~a.cast(pl.String).eq_missing(b.cast(pl.String))
        else:
            x = a.cast(pl.Float64).fill_nan(None)
            y = b.cast(pl.Float64).fill_nan(None)
            limit = x.abs().clip(lower_bound=1.0) * TOLERANCE
            off = ((x - y).abs() > limit).fill_null(False)
            bad = (x.is_null() != y.is_null()) | off
        count = int(bad.sum())
        if count:
            at = int(bad.arg_true()[0])
            problems.append(
                f"{name}: {count:,} rows differ (first: lead {lead_id[at]}, "
                f"polars {a[at]!r}, pandas {b[at]!r})"
            )
    return problems


# -- the report ---------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=3, help="child processes per implementation")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--child", choices=IMPLEMENTATIONS, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.data, args.out)))
        return 0

    folder = cached_simulation(args.leads, args.seed, args.cache)
    as_of = prepare_inputs(folder)
    spec = FeatureSpec.model_validate_json((folder / "spec.json").read_text())
    snapshots = pl.scan_parquet(folder / "snapshots.parquet").select(pl.len()).collect().item()
    print(
        f"leads: {args.leads:,} (seed {args.seed}); snapshots: {snapshots:,} at "
        f"{as_of:%Y-%m-%d %H:%M} UTC; features: {len(spec.feature_names())}"
    )
    print(f"before: {machine_load()}", flush=True)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in IMPLEMENTATIONS}
    with tempfile.TemporaryDirectory(prefix="leadscore-bench-") as tmp:
        outputs = {name: Path(tmp) / f"{name}.parquet" for name in IMPLEMENTATIONS}
        for run in range(args.runs):
            for name in IMPLEMENTATIONS:
                result = measure(name, folder, outputs[name] if run == 0 else None)
                runs[name].append(result)
                print(
                    f"run {run + 1} {name:7} {result['seconds']:6.2f} s   build peak "
                    f"{(result['peak_build'] - result['rss_loaded']) / MIB:7,.0f} MiB   "
                    f"absolute peak {result['peak_build'] / MIB:7,.0f} MiB",
                    flush=True,
                )
        problems = compare(
            pl.read_parquet(outputs["polars"]),
            pl.read_parquet(outputs["pandas"]),
            spec.feature_names(),
        )
    print(f"after: {machine_load()}")
    print(f"touchpoints: {runs['polars'][0]['touchpoints']:,}")
    print()

    def median(name: str, key: str, minus: str | None = None) -> float:
        return float(statistics.median(r[key] - (r[minus] if minus else 0) for r in runs[name]))

    print(
        f"{'implementation':20}{'median s':>10}{'build peak MiB':>16}{'abs peak MiB':>14}"
        f"{'loaded MiB':>12}{'load cost MiB':>15}{'load peak MiB':>15}"
    )
    for name in IMPLEMENTATIONS:
        print(
            f"{name:20}{median(name, 'seconds'):>10.2f}"
            f"{median(name, 'peak_build', 'rss_loaded') / MIB:>16,.0f}"
            f"{median(name, 'peak_build') / MIB:>14,.0f}"
            f"{median(name, 'rss_loaded') / MIB:>12,.0f}"
            f"{median(name, 'rss_loaded', 'rss_before_load') / MIB:>15,.0f}"
            f"{median(name, 'peak_loading') / MIB:>15,.0f}"
        )
    ratio = median("pandas", "seconds") / median("polars", "seconds")
    memory_ratio = median("pandas", "peak_build", "rss_loaded") / median(
        "polars", "peak_build", "rss_loaded"
    )
    print(f"{'ratio pandas/polars':20}{ratio:>9.2f}x{memory_ratio:>15.2f}x")
    print(
        "build peak = peak RSS while building minus RSS after loading the inputs (checked "
        "against 1.5 GiB); abs peak = the whole process's peak during the build; load cost = "
        "RSS after loading minus before; load peak = peak RSS up to the end of loading."
    )
    print()

    seconds = median("polars", "seconds")
    build_peak = median("polars", "peak_build", "rss_loaded")
    checks = [
        (not problems, f"same values on {snapshots:,} rows x {len(spec.feature_names())} columns"),
        (ratio >= MIN_RATIO, f"pandas/polars time ratio {ratio:.2f} >= {MIN_RATIO:g}"),
        (seconds <= MAX_SECONDS, f"polars median {seconds:.2f} s <= {MAX_SECONDS:g} s"),
        (
            build_peak <= MAX_BUILD_BYTES,
            f"polars build peak {build_peak / MIB:,.0f} MiB <= {MAX_BUILD_BYTES / MIB:,.0f} MiB",
        ),
    ]
    for problem in problems:
        print(f"  DIFFERENCE {problem}")
    for ok, text in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
