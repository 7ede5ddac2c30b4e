"""``leadscore demo``: the end-to-end job on the embedded defaults.

Today it simulates a CRM, writes it, validates it against the data contract and shows the
realism summary; training, scoring and the forecast join it as they land.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from leadscore.cli._output import EXIT_CHECK_FAILED, errors_to_exit, print_json
from leadscore.cli._progress import steps
from leadscore.cli.generate import render_summary
from leadscore.data import validate_path
from leadscore.data.simulator import SimulationConfig, write_simulation

__all__ = ["command"]


def command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo data.")] = Path(
        "data/demo"
    ),
    leads: Annotated[int, typer.Option("--leads", help="Number of simulated leads.")] = 5_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Run the end-to-end job: simulate a CRM with ground truth and validate it."""
    console = Console()
    with errors_to_exit(), steps("demo", enabled=not as_json) as progress:
        result = write_simulation(SimulationConfig(leads=leads, seed=seed), out, "csv", progress)
        progress("validating the generated tables")
        report = validate_path(out)
    if as_json:
        print_json({"generate": result, "validate": report.to_dict()})
    else:
        render_summary(result)
        console.print(f"validate: {report.summary_line()}")
        console.print(
            f"Next: [bold]leadscore validate {out}[/] checks any CRM export the same way; "
            f"the ground truth is in [bold]{out}/truth/[/]."
        )
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)
