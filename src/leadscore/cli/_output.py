"""Rendering shared by the commands: JSON on stdout, errors on stderr, exit codes.

Exit codes: 0 success, 1 the input or the result failed a check, 2 usage error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import typer
from rich.console import Console

from leadscore.errors import LeadscoreError, UsageError

__all__ = ["EXIT_CHECK_FAILED", "EXIT_OK", "EXIT_USAGE", "errors_to_exit", "print_json", "stderr"]

EXIT_OK: Final = 0
EXIT_CHECK_FAILED: Final = 1
EXIT_USAGE: Final = 2

stderr = Console(stderr=True)


def print_json(payload: Any) -> None:
    """Print ``payload`` as JSON on stdout (dates and paths as strings)."""
    typer.echo(json.dumps(payload, indent=2, default=str, ensure_ascii=False))


@contextmanager
def errors_to_exit() -> Iterator[None]:
    """Turn leadscore errors into a one-paragraph message and the documented exit code."""
    try:
        yield
    except UsageError as exc:
        stderr.print(f"[bold red]usage error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from exc
    except LeadscoreError as exc:
        stderr.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_CHECK_FAILED) from exc
