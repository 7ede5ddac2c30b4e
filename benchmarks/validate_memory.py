"""Peak memory and time of `validate` on a large touchpoint log, against plain `pl.read_csv`.

Writes a synthetic folder (``leads.csv`` and a ``touchpoints.csv`` of ``--rows`` rows with a few
planted violations, one quoted field with a line break before them so line numbers are tested),
then runs, each ``--runs`` times in a fresh subprocess:

* reference: ``pl.read_csv`` of the touchpoints file (what loading it naively costs);
* validate:  ``leadscore.data.validate_path`` of the folder.

A third measurement, ``import leadscore.data`` alone, shows how much of the validate figure
is interpreter start-up. Each run goes through a small runner process that waits for the worker
and reads its peak RSS from ``resource.getrusage(RUSAGE_CHILDREN)``. Prints the median wall
time and peak RSS of each, their ratios, and checks that every planted violation was found with
the right line and that validation stayed under the memory budget (exit status 1 otherwise).

    .venv/bin/python benchmarks/validate_memory.py --rows 5000000
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

BUDGET_BYTES: Final = 2 * 1024**3
CHANNELS: Final = ("email", "web", "webinar", "trade_fair", "phone", "meeting", "social", "chat")
ACTIONS: Final = ("email_open", "pricing_page_view", "content_download", "booth_visit", "call")
START_US: Final = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z
YEAR_US: Final = 365 * 24 * 3600 * 1_000_000

RUNNER: Final = textwrap.dedent(
    """
    import json, resource, subprocess, sys, time
    start = time.perf_counter()
    done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(json.dumps({"wall": wall, "peak": peak, "stdout": done.stdout}))
    """
)

REFERENCE: Final = textwrap.dedent(
    """
    import sys, polars as pl
    frame = pl.read_csv(sys.argv[1])
    print(frame.height)
    """
)

IMPORT: Final = "import sys, leadscore.data; print(sys.argv[1])"

VALIDATE: Final = textwrap.dedent(
    """
    import json, sys
    from leadscore.data import validate_path
    report = validate_path(sys.argv[1])
    print(json.dumps({
        "violations": report.violations.select("table", "row", "column", "rule").rows(),
        "tables": {name: s.to_dict() for name, s in report.tables.items()},
        "notices": [n.to_dict() for n in report.notices if n.kind == "deduplicated"],
    }))
    """
)


@dataclass(frozen=True)
class Planted:
    """The violations and notices the synthetic data must produce, with CSV line numbers."""

    violations: set[tuple[str, int, str, str]]
    deduplicated_lines: set[int]


def write_data(folder: Path, rows: int, leads: int, seed: int = 7) -> Planted:
    """Write leads.csv and touchpoints.csv into ``folder`` and return what was planted."""
    rng = np.random.default_rng(seed)
    created = START_US + rng.integers(0, YEAR_US // 2, leads)
    pl.DataFrame(
        {
            "lead_id": [f"L{i:07d}" for i in range(leads)],
            "created_at": pl.Series(created).cast(pl.Datetime("us", "UTC")),
            "source": rng.choice(["web_form", "trade_fair", "referral"], leads),
            "industry": rng.choice(["software", "manufacturing", "retail"], leads),
            "company_size": rng.integers(1, 5000, leads),
            "country": rng.choice(["DE", "AT", "CH", "FR"], leads),
            "job_level": rng.choice(["manager", "director", "c_level"], leads),
            "deal_value": rng.integers(1_000, 200_000, leads).astype(np.float64),
            "owner": rng.choice(["anna", "ben", "chris"], leads),
        }
    ).write_csv(folder / "leads.csv")

    frame = pl.DataFrame(
        {
            "event_id": pl.int_range(0, rows, eager=True).cast(pl.String).str.zfill(9),
            "lead_id": pl.Series(rng.integers(0, leads, rows)).cast(pl.String).str.zfill(7),
            "timestamp": pl.Series(START_US + rng.integers(0, YEAR_US, rows)).cast(
                pl.Datetime("us", "UTC")
            ),
            "channel": rng.choice(CHANNELS, rows),
            "action": rng.choice(ACTIONS, rows),
            "initiated_by": rng.choice(["lead", "company"], rows),
            "campaign": rng.choice(["spring", "summer", ""], rows),
            "value": rng.random(rows).round(3),
        }
    ).with_columns(pl.format("E{}", "event_id"), pl.format("L{}", "lead_id"))
    # Row indices (0-based) of the planted problems; line = index + 2, +1 after the line break.
    newline_at, bad_time, unknown, bad_initiator = 10, rows // 5, rows // 3, rows // 2
    conflict_a, conflict_b, exact = rows // 4, (3 * rows) // 4, rows - 1
    index = pl.int_range(0, pl.len())
    frame = frame.with_columns(
        pl.when(index == newline_at)
        .then(pl.lit("two\nlines"))
        .otherwise(pl.col("campaign"))
        .alias("campaign"),
        pl.when(index == bad_time)
        .then(pl.lit("31.02.2024 25:61"))
        .otherwise(pl.col("timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%.3fZ"))
        .alias("timestamp"),
        pl.when(index == unknown)
        .then(pl.lit("L_missing"))
        .otherwise(pl.col("lead_id"))
        .alias("lead_id"),
        pl.when(index == bad_initiator)
        .then(pl.lit("robot"))
        .otherwise(pl.col("initiated_by"))
        .alias("initiated_by"),
        pl.when(index == conflict_b)
        .then(pl.format("E{}", pl.lit(f"{conflict_a:09d}")))
        .when(index == exact)
        .then(pl.format("E{}", pl.lit(f"{exact - 1:09d}")))
        .otherwise(pl.col("event_id"))
        .alias("event_id"),
    )
    # The exact duplicate copies the row before it in every column.
    previous = frame.row(exact - 1, named=True)
    frame = frame.with_columns(
        [
            pl.when(index == exact).then(pl.lit(value)).otherwise(pl.col(name)).alias(name)
            for name, value in previous.items()
        ]
    )
    frame.write_csv(folder / "touchpoints.csv")

    def line(row: int) -> int:
        return row + 2 + (1 if row > newline_at else 0)

    return Planted(
        violations={
            ("touchpoints", line(bad_time), "timestamp", "type"),
            ("touchpoints", line(unknown), "lead_id", "known_lead"),
            ("touchpoints", line(bad_initiator), "initiated_by", "isin"),
            ("touchpoints", line(conflict_a), "event_id", "unique"),
            ("touchpoints", line(conflict_b), "event_id", "unique"),
        },
        deduplicated_lines={line(exact)},
    )


def measure(script: str, argument: str) -> tuple[float, int, str]:
    """(wall seconds, peak RSS bytes, stdout) of ``python -c script argument`` in a subprocess."""
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, sys.executable, "-c", script, argument],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"benchmark run failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    return float(result["wall"]), int(result["peak"]), str(result["stdout"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000, help="touchpoint rows")
    parser.add_argument("--leads", type=int, default=200_000, help="lead rows")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="leadscore-bench-") as tmp:
        folder = Path(tmp)
        print(f"writing {args.rows:,} touchpoints and {args.leads:,} leads ...", flush=True)
        planted = write_data(folder, args.rows, args.leads)
        size = (folder / "touchpoints.csv").stat().st_size
        print(f"touchpoints.csv: {size / 1024**2:,.0f} MiB")

        reference, validate, startup = [], [], []
        output = ""
        for run in range(args.runs):
            startup.append(measure(IMPORT, "-")[0])
            reference.append(measure(REFERENCE, str(folder / "touchpoints.csv"))[:2])
            wall, peak, output = measure(VALIDATE, str(folder))
            validate.append((wall, peak))
            print(
                f"run {run + 1}: read_csv {reference[-1][0]:.2f} s / "
                f"{reference[-1][1] / 1024**2:,.0f} MiB; validate {wall:.2f} s / "
                f"{peak / 1024**2:,.0f} MiB",
                flush=True,
            )

    ref_wall = statistics.median(w for w, _ in reference)
    ref_peak = statistics.median(p for _, p in reference)
    val_wall = statistics.median(w for w, _ in validate)
    val_peak = statistics.median(p for _, p in validate)
    print()
    print(f"{'':22}{'median wall':>14}{'median peak RSS':>18}")
    print(f"{'reference read_csv':22}{ref_wall:>12.2f} s{ref_peak / 1024**2:>14,.0f} MiB")
    print(f"{'validate_path':22}{val_wall:>12.2f} s{val_peak / 1024**2:>14,.0f} MiB")
    print(f"{'ratio':22}{val_wall / ref_wall:>13.2f}x{val_peak / ref_peak:>17.2f}x")
    print(
        f"(validate_path includes {statistics.median(startup):.2f} s of interpreter start and "
        "`import leadscore.data`; the reference imports only polars)"
    )

    result = json.loads(output)
    found = {tuple(v) for v in result["violations"]}
    deduplicated = {n["row"] for n in result["notices"]}
    counts = result["tables"]["touchpoints"]
    ok = True
    if found != planted.violations:
        ok = False
        print(
            f"FAIL violations: missing {sorted(planted.violations - found)}, "
            f"unexpected {sorted(found - planted.violations)[:10]}"
        )
    if deduplicated != planted.deduplicated_lines:
        ok = False
        print(
            f"FAIL deduplicated lines {sorted(deduplicated)}, "
            f"expected {sorted(planted.deduplicated_lines)}"
        )
    read = counts["rows_read"]
    if counts["rows_used"] + counts["rows_rejected"] != read or read != args.rows:
        ok = False
        print(f"FAIL counts {counts}")
    if val_peak >= BUDGET_BYTES:
        ok = False
        print(f"FAIL peak RSS {val_peak / 1024**3:.2f} GiB is over the 2 GiB budget")
    print("all planted violations found; counts add up" if ok else "")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
