"""Rendering of the next-touchpoint pipeline's ``train`` and ``evaluate`` results."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

__all__ = ["render_campaign", "render_policy"]

_POLICIES = (
    ("model", "the model's recommendations"),
    ("none", "doing nothing"),
    ("logged", "what reps did (logged)"),
    ("random", "random touchpoint or nothing"),
    ("naive", "naive model (no confounding adjustment)"),
    ("oracle", "oracle (truly best touchpoint)"),
)


def _interval(estimate: dict[str, Any]) -> str:
    return f"{estimate['value']:.4f} [{estimate['low']:.4f}, {estimate['high']:.4f}]"


def render_policy(summary: dict[str, Any], console: Console) -> None:
    """Policy values against the truth (simulated data), off-policy estimates, overlap."""
    truth = summary.get("policy_value")
    if truth:
        table = Table(
            title="Mean true conversion probability under each policy (test period)",
            title_justify="left",
        )
        table.add_column("policy")
        table.add_column("value", justify="right")
        for name, label in _POLICIES:
            if name in truth:
                table.add_row(label, f"{truth[name]:.4f}")
        console.print(table)
        capture = summary["regret_capture"]
        console.print(
            f"regret capture: model {capture['model']:.3f}, naive {capture['naive']:.3f} "
            "(share of the oracle's gain over doing nothing)",
            highlight=False,
        )
    logged = summary["off_policy"]
    table = Table(
        title=f"Off-policy estimates from the logged data alone "
        f"({logged['decision_points']:,} test decision points, 95 % intervals)",
        title_justify="left",
    )
    table.add_column("policy")
    table.add_column("doubly robust", justify="right")
    table.add_column("IPS", justify="right")
    for name in ("model", "none"):
        table.add_row(name, _interval(logged[name]["dr"]), _interval(logged[name]["ips"]))
    table.add_row("logged (observed)", f"{logged['logged_value']:.4f}", "")
    console.print(table)
    overlap = Table(title="Overlap of the logged touchpoints", title_justify="left")
    for column in ("touchpoint", "rows", "mean propensity", "clipped", "effective sample size"):
        overlap.add_column(column, justify="left" if column == "touchpoint" else "right")
    for arm, facts in summary["overlap"].items():
        overlap.add_row(
            arm,
            f"{facts['rows']:,}",
            f"{facts['mean_propensity']:.4f}",
            f"{facts['share_clipped']:.1%}",
            f"{facts['effective_sample_size']:,.0f}",
        )
    console.print(overlap)


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def render_campaign(summary: dict[str, Any], console: Console) -> None:
    """The holdout figures of a campaign model per arm: Qini coefficient and uplift@k of the
    model and of a random ranking, the mean estimated uplift next to the observed difference
    of response rates; the overlap when the arms were not randomised."""
    split = summary["split"]
    holdout = summary["holdout"]
    shares = list(next(iter(holdout.values()))["uplift_at_k"])
    ranking = Table(
        title=f"Ranking by uplift over {summary['control']!r} on the holdout "
        f"({split['test_rows']:,} rows; uplift in points)",
        title_justify="left",
    )
    for column in ("arm", "ranking", "Qini coef.", *(f"top {k} %" for k in shares)):
        ranking.add_column(column, justify="left" if column in ("arm", "ranking") else "right")
    for arm, facts in holdout.items():
        for who in ("model", "random"):
            ranking.add_row(
                arm if who == "model" else "",
                who,
                f"{facts['qini_coefficient'][who]:.3f}",
                *(_points(facts["uplift_at_k"][k][who]) for k in shares),
            )
    console.print(ranking)
    average = Table(
        title=f"Average uplift (logging policy: {summary['logging_policy']['source']})",
        title_justify="left",
    )
    for column in ("arm", "rows", "estimated", "observed [95 % CI]"):
        average.add_column(column, justify="left" if column == "arm" else "right")
    for arm, facts in holdout.items():
        observed = facts["observed"]
        average.add_row(
            arm,
            f"{summary['rows_per_arm'][arm]:,}",
            _points(facts["mean_estimated_uplift"]),
            f"{_points(observed['difference'])} [{_points(observed['low'])}, "
            f"{_points(observed['high'])}]",
        )
    console.print(average)
    if "overlap" in summary:
        overlap = Table(title="Overlap of the logged arms", title_justify="left")
        for column in ("arm", "training rows", "mean propensity", "min prop.", "clipped", "ESS"):
            overlap.add_column(column, justify="left" if column == "arm" else "right")
        for arm, facts in summary["overlap"].items():
            overlap.add_row(
                arm,
                f"{facts['rows']:,}",
                f"{facts['mean_propensity']:.3f}",
                f"{facts['min_propensity']:.3f}",
                f"{facts['share_clipped']:.1%}",
                f"{facts['effective_sample_size']:,.0f}",
            )
        console.print(overlap)
    for note in summary.get("columns", []):
        if note["action"] != "transformed":
            console.print(f"[dim]note:[/] {note['column']}: {note['detail']}", highlight=False)
