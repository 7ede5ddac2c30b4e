"""``leadscore serve``: the options reach uvicorn (which is not started here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cli_support import cli

from leadscore.service import ServiceOptions


@pytest.mark.parametrize(
    ("flags", "access_log"),
    [([], True), (["--no-access-log"], False)],
    ids=["default", "no-access-log"],
)
def test_serve_passes_host_port_and_access_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], access_log: bool
) -> None:
    served: dict[str, Any] = {}

    def run(app: object, **options: Any) -> None:
        served.update(options)

    monkeypatch.setattr("uvicorn.run", run)
    result = cli(tmp_path, "serve", "--host", "127.0.0.1", "--port", "8123", *flags)
    assert result.exit_code == 0, result.output
    assert (served["host"], served["port"], served["access_log"]) == ("127.0.0.1", 8123, access_log)


@pytest.mark.parametrize(
    ("flags", "process"),
    [([], True), (["--history-in-process"], False), (["--history-process"], True)],
    ids=["default", "in-process", "process"],
)
def test_serve_chooses_where_the_score_history_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flags: list[str], process: bool
) -> None:
    created: list[ServiceOptions] = []

    def create(settings: object, options: ServiceOptions) -> object:
        created.append(options)
        return object()

    monkeypatch.setattr("leadscore.cli.serve.create_app", create)
    monkeypatch.setattr("uvicorn.run", lambda app, **options: None)
    result = cli(tmp_path, "serve", *flags)
    assert result.exit_code == 0, result.output
    assert [options.history_process for options in created] == [process]
