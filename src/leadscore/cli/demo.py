"""``leadscore demo``: the end-to-end job on the embedded defaults.

It simulates a CRM with ground truth, validates it, trains the propensity model (tracked in
the local MLflow store), promotes it when it beats the champion, scores every open lead and
shows the top of the ranked list with reasons and the quality against the oracle. The
next-best-touchpoint model is trained, assessed against the truth and promoted the same way,
and every lead of the list shows its best touchpoint. Re-running it is safe: the data are
rewritten, each run is a new MLflow run, and a champion only changes when a run beats it.
Last, the revenue of the next 30 days from the open pipeline is forecast against the revenue
won in the last 30 days of the data.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli._models import pipeline_path
from leadscore.cli._next_touchpoint import render_policy
from leadscore.cli._output import EXIT_CHECK_FAILED, errors_to_exit, print_json
from leadscore.cli._progress import steps
from leadscore.cli.forecast import render_forecast
from leadscore.cli.generate import render_summary
from leadscore.cli.train import render_quality
from leadscore.data import load_dataset, validate_path
from leadscore.data.simulator import SimulationConfig, write_simulation
from leadscore.features import observed_until
from leadscore.scoring import rank_leads
from leadscore.scoring.forecast import Forecast, Period, booked_revenue, forecast_leads
from leadscore.scoring.workflow import score_location
from leadscore.settings import get_settings
from leadscore.training.config import PipelineConfig, load_pipeline
from leadscore.training.model import PropensityModel
from leadscore.training.next_touchpoint_config import load_next_touchpoint_pipeline
from leadscore.training.next_touchpoint_tracking import (
    load_next_touchpoint,
    promote_next_touchpoint,
)
from leadscore.training.next_touchpoint_workflow import train_next_touchpoint_location
from leadscore.training.tracking import load_propensity
from leadscore.training.workflow import promote_run, train_location, train_summary

__all__ = ["command"]

_TOP = 10
_FORECAST_DAYS = 30
_NEXT_TOUCHPOINT = Path("pipelines/next-touchpoint.yaml")


def _top_table(ranked: list[dict[str, Any]]) -> Table:
    table = Table(title=f"Top {len(ranked)} open leads", title_justify="left")
    for header in ("rank", "lead", "grade", "score", "owner", "why", "next best touchpoint"):
        table.add_column(header, overflow="fold")
    for row in ranked:
        best = (row.get("next_best_touchpoints") or [None])[0]
        table.add_row(
            str(row["rank"]),
            row["lead_id"],
            row["grade"],
            str(row["score"]),
            row.get("owner") or "",
            "; ".join(row.get("reasons") or []),
            f"{best['touchpoint']} (+{best['uplift'] * 100:.1f} pts)" if best else "none",
        )
    return table


def _forecast(model: PropensityModel, data: str, config: PipelineConfig) -> Forecast:
    """The revenue of the next 30 days from the open pipeline, against the revenue won in
    the last 30 days of the data as the target."""
    dataset = load_dataset(data)
    end = observed_until(dataset.leads, dataset.touchpoints, dataset.outcomes)
    start = end.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    last = Period(start - timedelta(days=_FORECAST_DAYS), start)
    target = booked_revenue(dataset.leads, dataset.outcomes, last, as_of=end)
    return forecast_leads(
        model,
        dataset.leads,
        dataset.touchpoints,
        dataset.outcomes,
        config,
        period=Period(start, start + timedelta(days=_FORECAST_DAYS)),
        target=target,
        as_of=end,
    )


def command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo data.")] = Path(
        "data/demo"
    ),
    leads: Annotated[int, typer.Option("--leads", help="Number of simulated leads.")] = 5_000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Run the end-to-end job: simulate a CRM, validate it, train and promote both models
    (propensity and next-best-touchpoint), score and rank."""
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
        uplift, uplift_record = train_next_touchpoint_location(
            str(out),
            load_next_touchpoint_pipeline(_NEXT_TOUCHPOINT if _NEXT_TOUCHPOINT.is_file() else None),
            settings=settings,
            progress=progress,
        )
        progress("promoting the next-touchpoint model if it beats its champion")
        uplift_promotion = promote_next_touchpoint(uplift_record.run_id, settings=settings)
        progress("scoring every open lead with the champions")
        champion = load_propensity("champion", settings)
        recommender = load_next_touchpoint("champion", settings)
        scores = score_location(
            champion.model, str(out), config.scoring, next_touchpoint=recommender.trained
        )
        ranked = rank_leads(scores, limit=_TOP)
        progress("forecasting the next 30 days against the last 30 days' revenue")
        forecast = _forecast(champion.model, str(out), config)
    summary = train_summary(result, record)
    top = ranked.select(
        "rank", "lead_id", "grade", "score", "owner", "reasons", "next_best_touchpoints"
    ).to_dicts()
    if as_json:
        print_json(
            {
                "generate": generated,
                "validate": report.to_dict(),
                "train": summary,
                "promote": promotion.to_dict(),
                "next_touchpoint": uplift,
                "promote_next_touchpoint": uplift_promotion.to_dict(),
                "top": top,
                "forecast": forecast.to_dict(),
            }
        )
        return
    render_summary(generated)
    console.print(f"validate: {report.summary_line()}")
    render_quality(summary, console)
    console.print(promotion.reason, highlight=False)
    render_policy(uplift, console)
    console.print(uplift_promotion.reason, highlight=False)
    console.print(_top_table(top))
    render_forecast(forecast)
    home = settings.home
    console.print(
        "Next:\n"
        f"  [bold]leadscore rank --data {out} --out top.xlsx[/] writes the ranked list;\n"
        "  [bold]leadscore keys create --name sales[/] prints an API key, then "
        "[bold]leadscore serve[/] serves the API and the sales page at "
        "http://127.0.0.1:8000/app (sign in with that key);\n"
        f"  [bold].venv/bin/mlflow ui --backend-store-uri sqlite:///{home / 'models' / 'mlflow.db'}"
        "[/] opens the tracked runs at http://127.0.0.1:5000.",
        highlight=False,
    )
