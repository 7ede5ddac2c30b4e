"""Features and batch scoring on a Dask LocalCluster with 1 and 2 workers.

``--leads`` leads (default 1,000,000) with their touchpoints are simulated once, on the
cluster, as a partitioned folder under ``.bench-cache/`` (chunks of ``--leads-per-part``
leads, see :mod:`leadscore.cluster.simulate`). A small propensity model is trained on one
machine from part 0 (its quality does not matter here). Then, for 1 and 2 worker processes
(one thread each), ``--runs`` times each:

* **features**: the one feature builder on every part, the leads open at the end of the data
  (:func:`leadscore.cluster.part_features`); only row counts come back;
* **scoring**: :func:`leadscore.cluster.score_on_cluster` writing partitioned Parquet.

Peak memory per worker is each worker process's peak RSS (``VmHWM``, reset before every
run through ``/proc/PID/clear_refs``), shown beside the size of one part, so that it can be
compared with the partition rather than the data. Medians and the 2-worker / 1-worker
throughput ratio are printed; the machine is shared, so ratios are the steadier figures.
Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import polars as pl
from threadpoolctl import threadpool_limits

from leadscore.cluster import dask_client, open_parts, part_features, score_on_cluster
from leadscore.cluster.client import DaskTarget
from leadscore.cluster.features import data_bounds
from leadscore.cluster.parts import is_partitioned, part_path, read_part
from leadscore.cluster.simulate import write_partitioned_simulation
from leadscore.data.simulator import SimulationConfig
from leadscore.training.config import DEFAULT_LIGHTGBM, ModelConfig, PipelineConfig
from leadscore.training.model import PropensityModel
from leadscore.training.propensity import new_model

REPO: Final = Path(__file__).resolve().parents[1]
DEFAULT_CACHE: Final = REPO / ".bench-cache"
MIB: Final = 1024**2
CONFIG: Final = PipelineConfig(
    model=ModelConfig(max_rounds=150, lightgbm={**DEFAULT_LIGHTGBM, "num_threads": 1})
)


def cached_partitions(leads: int, seed: int, per_part: int, cache: Path) -> Path:
    """The partitioned folder of the run, simulated on a 2-worker cluster on first use."""
    cache.mkdir(parents=True, exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# benchmark cache, written by benchmarks/*.py\n*\n")
    folder = cache / f"dask-{leads}-{seed}-{per_part}"
    if is_partitioned(folder):
        return folder
    parts = max(1, -(-leads // per_part))
    print(f"simulating {leads:,} leads in {parts} parts into {folder} ...", flush=True)
    started = time.perf_counter()
    with dask_client(DaskTarget(workers=2)) as client:
        write_partitioned_simulation(
            SimulationConfig(leads=leads, seed=seed), folder, client, parts=parts
        )
    print(f"  simulated in {time.perf_counter() - started:.0f} s", flush=True)
    return folder


def small_model(folder: Path) -> PropensityModel:
    """A propensity model trained on one machine on part 0 (150 rounds at most)."""
    part = read_part(folder, 0)
    from leadscore.training.examples import build_examples
    from leadscore.training.split import temporal_split

    examples = build_examples(part.leads, part.touchpoints, part.outcomes, CONFIG)
    frame = examples.frame
    split = temporal_split(frame["as_of"], test_share=0.2, validation_days=90)
    labels = frame["label"].to_numpy().astype("int8")
    with threadpool_limits(limits=1, user_api="blas"):
        return new_model(CONFIG).fit(
            frame.filter(pl.Series(split.train)),
            labels[split.train],
            validation=(frame.filter(pl.Series(split.validation)), labels[split.validation]),
            spec=examples.spec,
        )


def _reset_peak() -> int:
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")
    return os.getpid()


def _peak_bytes() -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _features_rows(part: Any, spec: Any, as_of: Any) -> int:
    return int(part_features(part, spec, as_of).height)


def measure(client: Any, run: Callable[[], int], runs: int) -> tuple[list[float], list[int], int]:
    """Seconds of each run, the largest worker peak RSS of each run, and the rows made."""
    seconds, peaks, rows = [], [], 0
    for _ in range(runs):
        client.run(_reset_peak)
        started = time.perf_counter()
        rows = run()
        seconds.append(time.perf_counter() - started)
        peaks.append(max(client.run(_peak_bytes).values()))
    return seconds, peaks, rows


def bench(
    folder: Path, model: PropensityModel, workers: int, runs: int, out: Path
) -> dict[str, Any]:
    """Features and scoring on a fresh cluster of ``workers`` processes."""
    from dask.delayed import delayed

    with dask_client(DaskTarget(workers=workers)) as client:
        parts = open_parts(folder)
        bounds = data_bounds(client, parts)
        spec = model.spec_
        when = bounds.observed_end

        def features() -> int:
            counts = client.compute([delayed(_features_rows)(p, spec, when) for p in parts])
            return sum(client.gather(counts))

        def scoring() -> int:
            summary = score_on_cluster(client, parts, model, CONFIG.scoring, out, as_of=when)
            return int(summary["leads"])

        return {
            "features": measure(client, features, runs),
            "scoring": measure(client, scoring, runs),
        }


def part_size(folder: Path) -> tuple[int, int, int]:
    """Touchpoints of part 0, its Parquet bytes (all three tables) and all parts' bytes."""
    touchpoints = pl.scan_parquet(part_path(folder, "touchpoints", 0)).select(pl.len()).collect()
    one = sum(part_path(folder, t, 0).stat().st_size for t in ("leads", "touchpoints", "outcomes"))
    total = sum(
        p.stat().st_size
        for t in ("leads", "touchpoints", "outcomes")
        for p in (folder / t).glob("*.parquet")
    )
    return int(touchpoints.item()), one, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--leads-per-part", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()

    folder = cached_partitions(args.leads, args.seed, args.leads_per_part, args.cache)
    parts = len(list((folder / "leads").glob("part-*.parquet")))
    total_touchpoints = (
        pl.scan_parquet(folder / "touchpoints" / "*.parquet").select(pl.len()).collect().item()
    )
    per_part, part_bytes, all_bytes = part_size(folder)
    print(
        f"{args.leads:,} leads, {total_touchpoints:,} touchpoints in {parts} parts "
        f"({per_part:,} touchpoints, {part_bytes / MIB:.0f} MiB Parquet in part 0; "
        f"{all_bytes / MIB:.0f} MiB in all)",
        flush=True,
    )
    print("training a small model on part 0 ...", flush=True)
    model = small_model(folder)

    results = {}
    for workers in (1, 2):
        print(f"measuring with {workers} worker(s) ...", flush=True)
        results[workers] = bench(folder, model, workers, args.runs, args.cache / "dask-scores")

    print()
    print("| step | workers | median s | leads/s | peak RSS per worker (MiB, max of runs) |")
    print("| --- | --- | --- | --- | --- |")
    medians: dict[tuple[str, int], float] = {}
    for step in ("features", "scoring"):
        for workers in (1, 2):
            seconds, peaks, rows = results[workers][step]
            median = statistics.median(seconds)
            medians[step, workers] = median
            peak = max(peaks) / MIB
            print(f"| {step} | {workers} | {median:.1f} | {rows / median:,.0f} | {peak:,.0f} |")
    for step in ("features", "scoring"):
        print(
            f"{step}: 2 workers / 1 worker throughput = {medians[step, 1] / medians[step, 2]:.2f}x"
        )
    print(
        f"one part: {per_part:,} touchpoints, {part_bytes / MIB:.0f} MiB Parquet; "
        f"all data: {total_touchpoints:,} touchpoints, {all_bytes / MIB:.0f} MiB Parquet"
    )


if __name__ == "__main__":
    main()
