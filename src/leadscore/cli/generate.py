"""``leadscore generate``: simulate customer journeys with ground truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from leadscore.cli._output import errors_to_exit, print_json
from leadscore.cli._progress import steps
from leadscore.cluster import generate_on_cluster
from leadscore.data.simulator import SimulationConfig, write_simulation
from leadscore.errors import UsageError

__all__ = ["command", "render_partitioned", "render_summary"]


def render_summary(result: dict[str, Any]) -> None:
    console = Console()
    table = Table(title=f"Simulated CRM data in {result['out']}", show_header=False)
    for name, rows in result["rows"].items():
        table.add_row(f"rows: {name}", f"{rows:,}")
    table.add_row(
        "converted within horizon (snapshots)", f"{result['conversion_rate_snapshots']:.1%}"
    )
    table.add_row(
        "converted within horizon (from creation)", f"{result['conversion_rate_from_creation']:.1%}"
    )
    table.add_row("oracle ROC AUC", f"{result['oracle_roc_auc']}")
    best = result["best_single_signal"]
    table.add_row(
        "best single signal ROC AUC",
        f"{best['roc_auc']} ({best['action']}, last {best['window_days']} days)",
    )
    uplift = result["best_touchpoint_uplift"]
    table.add_row(
        "best touchpoint uplift (mean / p90)", f"{uplift['mean']:+.3f} / {uplift['p90']:+.3f}"
    )
    console.print(table)


def render_partitioned(result: dict[str, Any]) -> None:
    """The rows written by ``generate --dask``."""
    table = Table(
        title=f"Simulated CRM data in {result['out']} ({result['parts']} parts)", show_header=False
    )
    for name, rows in result["rows"].items():
        table.add_row(f"rows: {name}", f"{rows:,}")
    Console().print(table)


def command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the tables to.")],
    leads: Annotated[int, typer.Option("--leads", help="Number of leads.")] = 20_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 42,
    start: Annotated[
        str, typer.Option("--start", help="First day of the period (YYYY-MM-DD).")
    ] = "2025-01-01",
    months: Annotated[int, typer.Option("--months", help="Length of the period in months.")] = 12,
    fmt: Annotated[
        str, typer.Option("--format", help="File format of the tables: csv or parquet.")
    ] = "csv",
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    dask: Annotated[
        str | None,
        typer.Option(
            "--dask",
            help="Simulate on Dask: a scheduler address or local[:WORKERS]; writes partitioned "
            "Parquet.",
        ),
    ] = None,
    partitions: Annotated[
        int | None,
        typer.Option("--partitions", help="With --dask: chunks of leads (default: 50,000 each)."),
    ] = None,
) -> None:
    """Simulate leads, touchpoints and outcomes with ground truth (writes OUT/truth/ too)."""
    with errors_to_exit():
        if fmt not in ("csv", "parquet"):
            raise UsageError(f"--format must be csv or parquet, got {fmt!r}")
        try:
            config = SimulationConfig(
                leads=leads, seed=seed, start=dt.date.fromisoformat(start), months=months
            )
        except (ValueError, ValidationError) as exc:
            raise UsageError(f"invalid option: {exc}") from exc
        if partitions is not None and dask is None:
            raise UsageError("--partitions applies only with --dask.")
        if dask is not None:
            with steps("generate", enabled=not as_json) as progress:
                result = generate_on_cluster(dask, config, out, parts=partitions, progress=progress)
            if as_json:
                print_json(result)
            else:
                render_partitioned(result)
            return
        with steps("generate", enabled=not as_json) as progress:
            result = write_simulation(config, out, fmt, progress)  # type: ignore[arg-type]
        if as_json:
            print_json(result)
        else:
            render_summary(result)
