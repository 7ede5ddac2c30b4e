"""Assembles the Typer application from one module per command."""

from __future__ import annotations

from typing import Annotated

import typer

from leadscore import __version__
from leadscore.cli import (
    demo,
    evaluate,
    forecast,
    generate,
    keys,
    promote,
    rank,
    score,
    serve,
    train,
    validate,
)

app = typer.Typer(
    name="leadscore",
    help="Predictive lead scoring: purchase propensity, next-best-touchpoint, pipeline forecast.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"leadscore {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """leadscore: calibrated purchase propensity for every open lead."""


app.command("demo")(demo.command)
app.command("generate")(generate.command)
app.command("validate")(validate.command)
app.command("train")(train.command)
app.command("evaluate")(evaluate.command)
app.command("promote")(promote.command)
app.command("score")(score.command)
app.command("rank")(rank.command)
app.command("forecast")(forecast.command)
app.command("serve")(serve.command)
app.add_typer(keys.app, name="keys")
