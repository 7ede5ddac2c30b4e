"""``leadscore serve``: run the HTTP scoring service on uvicorn (or write its OpenAPI file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from leadscore.cli._output import errors_to_exit, stderr
from leadscore.service import ServiceOptions, create_app, openapi_document
from leadscore.settings import get_settings

__all__ = ["command", "write_openapi"]


def write_openapi(path: Path) -> Path:
    """Write the service's OpenAPI document to ``path`` (sorted keys, stable across runs)."""
    document = openapi_document(create_app())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    pipeline: Annotated[
        Path | None,
        typer.Option(
            "--pipeline",
            "-p",
            help="Pipeline file with the scoring settings (default: pipelines/propensity.yaml "
            "under LEADSCORE_HOME when present, else built-in).",
        ),
    ] = None,
    refresh_seconds: Annotated[
        float,
        typer.Option(help="How often to check the registry for a new champion (0: never)."),
    ] = 10.0,
    max_body_bytes: Annotated[
        int, typer.Option(help="Largest request body accepted (larger: 413).")
    ] = 2_000_000,
    access_log: Annotated[
        bool,
        typer.Option(
            "--access-log/--no-access-log",
            help="Log a line per request (uvicorn's access log).",
        ),
    ] = True,
    history_process: Annotated[
        bool,
        typer.Option(
            "--history-process/--history-in-process",
            help="Write the score history from a small process of its own (default), or from "
            "a thread of this one (one process fewer; scoring requests then wait for its "
            "writes now and then).",
        ),
    ] = True,
    openapi: Annotated[
        Path | None,
        typer.Option("--openapi", help="Write the OpenAPI document to this file and exit."),
    ] = None,
) -> None:
    """Serve the scoring API (see api/README.md); stop with Ctrl-C."""
    if openapi is not None:
        with errors_to_exit():
            written = write_openapi(openapi)
        stderr.print(f"wrote {written}", highlight=False)
        return
    import uvicorn

    options = ServiceOptions(
        refresh_seconds=refresh_seconds,
        max_body_bytes=max_body_bytes,
        pipeline=pipeline,
        history_process=history_process,
    )
    with errors_to_exit():
        app = create_app(get_settings(), options)
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=access_log)
