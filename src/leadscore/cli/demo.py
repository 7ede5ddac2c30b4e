"""``leadscore demo``: the end-to-end job on the embedded defaults.

It simulates a CRM with ground truth, validates it, trains the propensity model (tracked in
the local MLflow store), promotes it when it beats the champion, scores every open lead and
shows the top of the ranked list with reasons and the quality against the oracle. Re-running
it is safe: the data are rewritten, each run is a new MLflow run, and the champion only
changes when a run beats it. The next-best-touchpoint model and the forecast join as they
land.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli._models import pipeline_path
from leadscore.cli._output import EXIT_CHECK_FAILED, errors_to_exit, print_json
from leadscore.cli._progress import steps
from leadscore.cli.generate import render_summary
from leadscore.cli.train import render_quality
from leadscore.data import validate_path
from leadscore.data.simulator import SimulationConfig, write_simulation
from leadscore.scoring import rank_leads
from leadscore.scoring.workflow import score_location
from leadscore.settings import get_settings
from leadscore.training.config import load_pipeline
from leadscore.training.tracking import load_propensity
from leadscore.training.workflow import promote_run, train_location, train_summary

__all__ = ["command"]

_TOP = 10


def _top_table(ranked: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Top {len(ranked)} open leads", title_justify="left")
    for header in ("rank", "lead", "grade", "score", "owner", "why"):
        table.add_column(header, overflow="fold")
    for row in ranked:
        table.add_row(
            str(row["rank"]),
            row["lead_id"],
            row["grade"],
            str(row["score"]),
            row.get("owner") or "",
            "; ".join(row.get("reasons") or []),
        )
    return table


def command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo data.")] = Path(
        "data/demo"
    ),
    leads: Annotated[int, typer.Option("--leads", help="Number of simulated leads.")] = 5_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Run the end-to-end job: simulate a CRM, validate it, train, promote, score and rank."""
    console = Console()
    settings = get_settings()
    with errors_to_exit(), steps("demo", enabled=not as_json) as progress:
        generated = write_simulation(SimulationConfig(leads=leads, seed=seed), out, "csv", progress)
        progress("validating the generated tables")
        report = validate_path(out)
        if not report.ok:
            console.print(f"validate: {report.summary_line()}")
            raise typer.Exit(EXIT_CHECK_FAILED)
        config = load_pipeline(pipeline_path(None))
        result, record = train_location(str(out), config, settings=settings, progress=progress)
        progress("promoting the model if it beats the champion")
        promotion = promote_run(record.run_id, settings=settings, data=str(out))
        progress("scoring every open lead with the champion")
        champion = load_propensity("champion", settings)
        scores = score_location(champion.model, str(out), config.scoring)
        ranked = rank_leads(scores, limit=_TOP)
    summary = train_summary(result, record)
    top = ranked.select("rank", "lead_id", "grade", "score", "owner", "reasons").to_dicts()
    if as_json:
        print_json(
            {
                "generate": generated,
                "validate": report.to_dict(),
                "train": summary,
                "promote": promotion.to_dict(),
                "top": top,
            }
        )
        return
    render_summary(generated)
    console.print(f"validate: {report.summary_line()}")
    render_quality(summary, console)
    console.print(promotion.reason, highlight=False)
    console.print(_top_table(top))
    home = settings.home
    console.print(
        f"Next: [bold]leadscore rank --data {out} --out top.xlsx[/] writes the ranked list; "
        f"[bold].venv/bin/mlflow ui --backend-store-uri sqlite:///{home / 'models' / 'mlflow.db'}"
        "[/] opens the tracked runs.",
        highlight=False,
    )
