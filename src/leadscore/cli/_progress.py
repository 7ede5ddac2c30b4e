"""Rich progress on stderr for long steps, fed by the library's ``progress(str)`` callbacks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from leadscore.cli._output import stderr

__all__ = ["steps"]


@contextmanager
def steps(title: str, enabled: bool = True) -> Iterator[Callable[[str], None]]:
    """A progress line that shows the step the library reports, with elapsed time."""
    if not enabled:
        yield lambda _: None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[title]}[/]: {task.description}"),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
    ) as bar:
        task = bar.add_task("starting", title=title, total=None)

        def report(step: str) -> None:
            bar.update(task, description=step)
            stderr.print(f"[dim]{title}: {step}[/]", highlight=False)

        yield report
