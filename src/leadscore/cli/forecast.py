"""``leadscore forecast``: will the open pipeline reach the target within a period?

With ``--backtest``, the forecast is checked on past periods of the data instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli._models import DataOption, ModelOption, PipelineOption, pipeline_path
from leadscore.cli._output import errors_to_exit, print_json, stderr
from leadscore.cli.score import parse_as_of
from leadscore.data import load_dataset
from leadscore.errors import UsageError
from leadscore.scoring.forecast import Forecast, check_owner, forecast_leads, parse_period
from leadscore.scoring.forecast_backtest import Backtest, backtest_forecast
from leadscore.scoring.forecast_plot import forecast_plot
from leadscore.settings import get_settings
from leadscore.training.config import load_pipeline
from leadscore.training.tracking import load_propensity

__all__ = ["command", "render_forecast"]


def _money(value: float) -> str:
    return f"{value:,.0f}"


def _spread(forecast: Forecast) -> str:
    spread = forecast.spread
    if not spread.estimated:
        return f"not estimated ({spread.windows.height} past windows; independent leads)"
    return f"{spread.factor_sd:.1%} (from {spread.windows.height} past windows)"


def render_forecast(forecast: Forecast) -> None:
    result = forecast.to_dict()
    console = Console()
    table = Table(
        title=f"Forecast {forecast.period.label()} (scored as of {forecast.as_of:%Y-%m-%d %H:%M})",
        title_justify="left",
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("open leads", f"{forecast.leads.height:,}"),
        ("expected conversions", f"{result['expected_conversions']:,.1f}"),
        ("already won in the period", _money(forecast.booked)),
        ("expected revenue", _money(forecast.expected)),
        (
            "10 % / 50 % / 90 % quantile",
            " / ".join(_money(result[q]) for q in ("q10", "q50", "q90")),
        ),
        ("target", _money(forecast.target)),
        ("P(revenue ≥ target)", f"{forecast.p_target:.1%}"),
        ("gap to the expected revenue", _money(result["gap_expected"])),
        ("gap to the median", _money(result["gap_median"])),
        ("period-level spread (factor sd)", _spread(forecast)),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    drivers = Table(
        title="Leads that matter most: lift in P(reaching the target) if the lead converts",
        title_justify="left",
    )
    for header in ("lead", "owner", "deal value", "P(in period)", "expected", "lift"):
        drivers.add_column(header, justify="left" if header in ("lead", "owner") else "right")
    for row in forecast.drivers.iter_rows(named=True):
        drivers.add_row(
            row["lead_id"],
            row.get("owner") or "",
            _money(row["deal_value"]),
            f"{row['period_probability']:.1%}",
            _money(row["expected_revenue"]),
            f"{row['lift'] * 100:+.2f} pts",
        )
    console.print(drivers)


def _render_backtest(result: Backtest) -> None:
    table = Table(
        title=f"Backtest: model trained on the data before {result.trained_until:%Y-%m-%d}, "
        "each period forecast at its start",
        title_justify="left",
    )
    for header in (
        "period",
        "open",
        "expected",
        "q10",
        "q50",
        "q90",
        "actual",
        "covered",
        "conv. exp/act",
        "spread",
    ):
        table.add_column(header, justify="left" if header == "period" else "right")
    for row in result.rows.iter_rows(named=True):
        table.add_row(
            f"{row['start']:%Y-%m-%d}..{row['end']:%Y-%m-%d}",
            f"{row['open_leads']:,}",
            *(_money(row[c]) for c in ("expected", "q10", "q50", "q90", "actual")),
            "yes" if row["covered"] else "no",
            f"{row['expected_conversions']:.0f} / {row['actual_conversions']}",
            f"{row['factor_sd']:.1%}",
        )
    Console().print(table)
    Console().print(
        f"The 80 % interval (q10..q90) covered the actual revenue in "
        f"{int(result.rows['covered'].sum())} of {result.rows.height} periods "
        f"({result.coverage:.0%}); spread: the period-level factor's standard deviation, "
        "estimated from the periods before each start.",
        highlight=False,
    )


def command(
    data: DataOption,
    target: Annotated[
        float | None, typer.Option("--target", help="The sales target of the period (amount).")
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period", help="START..END, ISO dates, END included: 2026-01-01..2026-03-31."
        ),
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Only this sales rep's leads.")] = None,
    model: ModelOption = "champion",
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Score as of this time (default: end of data).")
    ] = None,
    pipeline: PipelineOption = None,
    chart: Annotated[
        Path | None, typer.Option("--chart", help="Write the distribution chart to this PNG.")
    ] = None,
    backtest: Annotated[
        bool,
        typer.Option(
            "--backtest",
            help="Check the forecast on past periods: train on the data before them, forecast "
            "each at its start, compare with the revenue won.",
        ),
    ] = False,
    periods: Annotated[int, typer.Option("--periods", help="Backtest periods.")] = 8,
    period_days: Annotated[
        int, typer.Option("--period-days", help="Length of a backtest period in days.")
    ] = 30,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Forecast the revenue the open pipeline wins within a period: expected, quantiles,
    P(reaching the target), the gap and the leads that matter most."""
    with errors_to_exit():
        config = load_pipeline(pipeline_path(pipeline))
        if backtest:
            if target is not None or period is not None:
                raise UsageError(
                    "--backtest chooses its own periods; leave out --target and --period."
                )
            dataset = load_dataset(data)
            with stderr.status("backtesting …") as status:
                result = backtest_forecast(
                    dataset.leads,
                    dataset.touchpoints,
                    dataset.outcomes,
                    config,
                    periods=periods,
                    period_days=period_days,
                    progress=lambda message: status.update(f"{message} …"),
                )
            if json_output:
                print_json(result.to_dict())
            else:
                _render_backtest(result)
            return
        if target is None or period is None:
            raise UsageError("Give --target AMOUNT and --period START..END (or --backtest).")
        if target < 0:
            raise UsageError(f"--target must be an amount ≥ 0; got {target:g}.")
        window = parse_period(period)
        when = parse_as_of(as_of)
        if chart is not None and chart.suffix.lower() != ".png":
            raise UsageError(f"--chart must name a .png file; got {chart}.")
        dataset = load_dataset(data)
        if owner is not None:
            check_owner(dataset.leads, owner)
        with stderr.status("loading the model …"):
            loaded = load_propensity(model, get_settings())
        with stderr.status("forecasting …"):
            forecast = forecast_leads(
                loaded.model,
                dataset.leads,
                dataset.touchpoints,
                dataset.outcomes,
                config,
                period=window,
                target=target,
                as_of=when,
                owner=owner,
            )
        if chart is not None:
            forecast_plot(forecast, path=chart)
    if json_output:
        print_json(forecast.to_dict())
    else:
        render_forecast(forecast)
    if chart is not None:
        stderr.print(f"wrote the chart -> {chart}", highlight=False)
