"""``leadscore promote``: make a run's model the champion if it beats the current one."""

from __future__ import annotations

from typing import Annotated

import typer

from leadscore.cli._output import EXIT_CHECK_FAILED, errors_to_exit, print_json, stderr
from leadscore.errors import UsageError
from leadscore.settings import get_settings
from leadscore.training.next_touchpoint_tracking import promote_next_touchpoint, run_kind
from leadscore.training.workflow import promote_run

__all__ = ["command"]


def command(
    run_id: Annotated[str, typer.Argument(help="The MLflow run id printed by `leadscore train`.")],
    data: Annotated[
        str | None,
        typer.Option(
            "--data", "-d", help="Data to rebuild the holdout from (default: the run's data)."
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option(help="Promote even if it does not beat the champion.")
    ] = False,
    reason: Annotated[
        str | None, typer.Option(help="Why a forced promotion is right (required with --force).")
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Set the registry alias `champion` to this run's model if it beats the current champion
    on the run's own holdout: ROC AUC on the test snapshots for a propensity model; the doubly
    robust estimate of the greedy policy's value on the test decision points for a
    next-touchpoint model.

    Exit status 1 when the candidate is not promoted.
    """
    with errors_to_exit():
        if force and not (reason and reason.strip()):
            raise UsageError("--force needs --reason TEXT saying why the rule is overridden.")
        settings = get_settings()
        if run_kind(run_id, settings) == "next-touchpoint":
            outcome = promote_next_touchpoint(run_id, settings=settings, force=force, reason=reason)
        else:
            outcome = promote_run(run_id, settings=settings, data=data, force=force, reason=reason)
    if json_output:
        print_json(outcome.to_dict())
    else:
        colour = "green" if outcome.promoted else "yellow"
        stderr.print(
            f"[bold {colour}]{'promoted' if outcome.promoted else 'not promoted'}[/]: "
            f"{outcome.reason}",
            highlight=False,
        )
    if not outcome.promoted:
        raise typer.Exit(EXIT_CHECK_FAILED)
