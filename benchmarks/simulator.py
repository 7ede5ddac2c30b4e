"""Benchmark: simulate 100,000 leads (millions of touchpoints) and write them as Parquet.

Goal (issue: foundation): at most 60 s on a 2-core machine; report time and peak memory.
Reference in the same run: reading the written tables back with polars (the I/O floor),
so the ratio says how far generation is from just moving the same bytes.

    .venv/bin/python benchmarks/simulator.py [--leads 100000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from leadscore.data.simulator import SimulationConfig, write_simulation
start = time.perf_counter()
config = SimulationConfig(leads=int(sys.argv[1]), seed=int(sys.argv[3]))
result = write_simulation(config, Path(sys.argv[2]), "parquet")
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": elapsed, "peak_mib": peak, "rows": result["rows"]}))
"""

_READ = """
import sys, time, polars as pl
from pathlib import Path
start = time.perf_counter()
for path in sorted(Path(sys.argv[1]).rglob("*.parquet")):
    pl.read_parquet(path)
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs, reads = [], []
    for seed in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, str(args.leads), tmp, str(42 + seed)],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            read = subprocess.run(
                [sys.executable, "-c", _READ, tmp], check=True, capture_output=True, text=True
            )
            reads.append(float(read.stdout.strip()))
    seconds = statistics.median(r["seconds"] for r in runs)
    peak = statistics.median(r["peak_mib"] for r in runs)
    floor = statistics.median(reads)
    print(f"leads: {args.leads:,}   touchpoints: {runs[0]['rows']['touchpoints']:,}")
    print(f"generate + write parquet: median {seconds:.1f} s over {len(runs)} runs (goal <= 60 s)")
    print(f"peak memory (RSS): median {peak:,.0f} MiB")
    print(f"reference, read back with polars: median {floor:.2f} s; ratio {seconds / floor:.0f}x")
    print(json.dumps({"seconds": seconds, "peak_mib": peak, "read_seconds": floor, "runs": runs}))


if __name__ == "__main__":
    main()
