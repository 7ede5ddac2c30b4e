"""Every shell command in README.md is run or checked here, so the README cannot drift.

The commands are the lines of the README's fenced code blocks without a language (or marked
``sh``/``bash``/``shell``/``console``); ``\\`` continues a line, ``#`` starts a comment and a
leading ``.venv/bin/`` is dropped. Each command is handled by its program:

* ``leadscore …`` runs for real through the CLI (Typer's CliRunner) in a temporary
  ``LEADSCORE_HOME``, all of them in one sequence ordered so that each finds what it needs:
  generate, validate, then train / promote / evaluate in README order (``RUN_ID`` is the run
  the latest ``train`` printed), then score / rank / forecast, then keys and serve. What
  differs from a user's machine, so that the sequence takes seconds:

  - ``--leads N`` above :data:`LEADS` runs with :data:`LEADS` leads (the README's 20,000);
  - ``pipelines/propensity.yaml`` and ``pipelines/next-touchpoint.yaml`` in the home are small,
    fast pipelines (:data:`FAST_PIPELINES`) rather than the shipped ones; the README commands
    read them by the same paths;
  - the inputs no README command makes are put in the home first: ``examples/`` (copied from
    the repository), ``leads.csv`` (a flat lead table) and ``campaign.csv`` (an A/B table);
  - ``serve`` runs with ``uvicorn.run`` replaced: the app it would serve is started in-process
    (its lifespan opens the store and loads the champion) and answers ``/healthz`` and a
    ``POST /v1/score`` with a key a README command created;
  - commands with ``--dask`` are parsed, not run: their options are checked by the CLI's own
    parser and the ``--dask`` value by :func:`leadscore.cluster.parse_dask`. Starting a local
    Dask cluster costs about ten seconds per command here; the Dask path runs end to end in
    ``tests/cluster/test_cli.py``.
* ``make TARGET`` is not re-run (``make test`` is what CI runs); the target must exist in the
  ``Makefile``, and ``demo`` and ``test`` must do what the README says.
* ``curl …`` is checked against the API, not executed: the method and path must be an
  operation of ``api/openapi.json``, a JSON body must be valid for the operation's request
  model, and every route but ``/healthz`` must be sent a key.
* ``mlflow ui|server …`` is parsed by MLflow's own CLI; a ``sqlite:///`` store it names must be
  the one ``leadscore`` wrote in the home.
* ``export NAME=VALUE`` must name a variable leadscore reads, and the settings must take the
  value from it. The exported values are not applied to the other commands (they point at
  servers this test does not have).

Any other command fails :func:`test_every_command_is_covered`.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import typer
from fastapi import FastAPI
from threadpoolctl import threadpool_limits
from typer.testing import CliRunner, Result

from campaign_support import campaign_table
from leadscore.cli import app
from leadscore.cluster import parse_dask
from leadscore.data.simulator import Tables
from leadscore.settings import Settings
from leadscore.training.tracking import configure_mlflow, quiet_mlflow

# Starlette asks for ``httpx2`` under its test client; the project locks ``httpx`` (as in
# ``tests/service/service_support.py``).
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message=r"Using `httpx` with `starlette.testclient` is deprecated"
    )
    from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SHELL_BLOCKS = {"", "sh", "bash", "shell", "console"}
PROGRAMS = {"leadscore", "make", "curl", "mlflow", "export"}

#: README commands simulating more leads than this simulate this many.
LEADS = 2_000

#: Pipelines that train in seconds on :data:`LEADS` leads, written over the shipped ones.
FAST_PIPELINES = {
    "propensity.yaml": """\
split: {validation_days: 45}
model:
  max_rounds: 80
  early_stopping_rounds: 20
  lightgbm: {learning_rate: 0.1, num_leaves: 8, max_depth: 3, min_child_samples: 50,
             min_data_per_group: 50, num_threads: 1}
""",
    "next-touchpoint.yaml": """\
kind: next-touchpoint
decisions: {cadence_days: 3, none_share: 0.1}
estimator: {folds: 2, propensity_rounds: 20, outcome_rounds: 30, effect_rounds: 20,
            effect_min_child_samples: 200}
""",
}

#: Running order of the leadscore commands (README order within one stage).
STAGES = {
    "generate": 0,
    "validate": 1,
    "train": 2,
    "promote": 2,
    "evaluate": 2,
    "score": 3,
    "rank": 3,
    "forecast": 3,
    "keys": 4,
    "serve": 5,
}
RUN_ID = re.compile(r"\brun ([0-9a-f]{32}) ->")
KEY = re.compile(r"^lsk_\S+$", re.MULTILINE)


@dataclass(frozen=True)
class Command:
    """One shell command of the README."""

    line: int
    text: str
    argv: tuple[str, ...]

    @property
    def program(self) -> str:
        return self.argv[0] if self.argv else ""

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


def shell_commands(markdown: str) -> list[Command]:
    """The commands of the shell blocks of ``markdown``, continuations joined."""
    commands: list[Command] = []
    language: str | None = None
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(markdown.splitlines(), start=1):
        if raw.lstrip().startswith("```"):
            language = raw.strip()[3:].strip() if language is None else None
            continue
        if language not in SHELL_BLOCKS:
            continue
        if not pending:
            start = number
        pending.append(raw.strip())
        if raw.rstrip().endswith("\\"):
            pending[-1] = pending[-1][:-1]
            continue
        text = " ".join(part.strip() for part in pending).strip()
        pending = []
        argv = shlex.split(text, comments=True)
        if not argv:
            continue
        if argv[0].startswith(".venv/bin/"):
            argv[0] = argv[0].removeprefix(".venv/bin/")
        if ">" in argv:  # output redirection: not part of the command
            argv = argv[: argv.index(">")]
        commands.append(Command(start, text.split(" #")[0].strip(), tuple(argv)))
    return commands


COMMANDS = shell_commands(README.read_text(encoding="utf-8"))


def _of(program: str) -> list[Any]:
    return [
        pytest.param(command, id=f"{command.line}-{'-'.join(command.argv[:2])}")
        for command in COMMANDS
        if command.program == program
    ]


def test_every_command_is_covered() -> None:
    uncovered = [str(c) for c in COMMANDS if c.program not in PROGRAMS]
    chained = [str(c) for c in COMMANDS if {"|", "&&", ";", "||"} & set(c.argv)]
    assert not uncovered, f"README commands no test covers: {uncovered}"
    assert not chained, f"README commands chained with a shell operator: {chained}"
    assert ("make", "demo") in [c.argv for c in COMMANDS]
    assert ("make", "test") in [c.argv for c in COMMANDS]


def test_configuration_reference_names_every_section_and_variable() -> None:
    """Every top-level key of the shipped pipeline files and every environment variable the
    settings read appear in the README."""
    import yaml

    text = README.read_text(encoding="utf-8")
    for path in sorted((ROOT / "pipelines").glob("*.yaml")):
        sections = yaml.safe_load(path.read_text(encoding="utf-8"))
        missing = [key for key in sections if f"`{key}`" not in text]
        assert not missing, f"{path.name}: sections the README does not name: {missing}"
    prefix = Settings.model_config.get("env_prefix", "")
    for name, info in Settings.model_fields.items():
        variable = info.validation_alias or f"{prefix}{name}".upper()
        assert f"`{variable}`" in text, f"the README does not name {variable}"


# --- make -------------------------------------------------------------------------------


def _make_rules() -> dict[str, str]:
    """Makefile target -> its prerequisites and recipe, as text."""
    rules: dict[str, str] = {}
    target = None
    for line in (ROOT / "Makefile").read_text(encoding="utf-8").splitlines():
        head = re.match(r"^([^\s:#=$][^\s:=]*):(?!=)(.*)$", line)
        if head:
            target = head.group(1)
            rules[target] = head.group(2)
        elif target and line.startswith("\t"):
            rules[target] += "\n" + line.strip()
        elif not line.strip():
            target = None
    return rules


@pytest.mark.parametrize("command", _of("make"))
def test_make_target_exists(command: Command) -> None:
    rules = _make_rules()
    for target in command.argv[1:]:
        assert target in rules, f"{command}: the Makefile has no target {target!r}"
    assert "install" in rules["demo"] and "leadscore demo" in rules["demo"]
    assert set(rules["test"].split()) >= {"lint", "typecheck", "layers", "unit"}
    assert "$(UV) sync --frozen" in rules[".venv/.synced"]


# --- leadscore --------------------------------------------------------------------------


@dataclass
class Outcome:
    """What running one README command gave."""

    ok: bool
    detail: str


@dataclass
class Session:
    home: Path
    outcomes: dict[Command, Outcome] = field(default_factory=dict)
    run_id: str | None = None
    keys: list[str] = field(default_factory=list)


def _scaled(argv: tuple[str, ...]) -> list[str]:
    """``argv`` after ``leadscore``, with a large ``--leads`` lowered to :data:`LEADS`."""
    args = list(argv[1:])
    for i, arg in enumerate(args[:-1]):
        if arg == "--leads" and int(args[i + 1]) > LEADS:
            args[i + 1] = str(LEADS)
    return args


def _invoke(home: Path, args: list[str]) -> Result:
    """``leadscore ARGS`` in ``home`` (MLflow's URI kept out of the environment; BLAS on one
    thread, as in ``tests/cli/cli_support.py``)."""
    with pytest.MonkeyPatch.context() as patch, threadpool_limits(limits=1, user_api="blas"):
        patch.setenv("LEADSCORE_HOME", str(home))
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.chdir(home)
        return CliRunner().invoke(app, args)


def parsed(command: Any, program: str, args: list[str]) -> dict[str, Any]:
    """The parameters ``PROGRAM ARGS`` parses to in ``command``'s own parser, without running
    it (subcommands are named first, as in every README command)."""
    context: Any = None
    name, rest = program, list(args)
    while hasattr(command, "get_command"):  # a group (Typer vendors its own click)
        context = command.context_class(command, info_name=name, parent=context)
        name = rest.pop(0)
        found = command.get_command(context, name)
        assert found is not None, f"{program} has no command {name!r}"
        command = found
    with command.make_context(name, rest, parent=context) as leaf:
        return dict(leaf.params)


def _parse_only(args: list[str]) -> Outcome:
    """Parse ``leadscore ARGS`` with the CLI's own parser and check the ``--dask`` value."""
    try:
        target = parse_dask(parsed(typer.main.get_command(app), "leadscore", args)["dask"])
    except Exception as exc:  # a usage error of Typer's click or of parse_dask
        return Outcome(False, f"does not parse: {exc!r}")
    return Outcome(True, f"parsed; --dask {target}")


def _serve(session: Session, args: list[str]) -> Outcome:
    """``serve`` with uvicorn replaced by an in-process client of the same app."""
    served: dict[str, Any] = {}

    def run(application: FastAPI, host: str, port: int, **_: Any) -> None:
        served.update(host=host, port=port)
        with TestClient(application) as client:
            served["healthz"] = client.get("/healthz").status_code
            if session.keys:
                served["score"] = client.post(
                    "/v1/score",
                    json={"lead_ids": ["L000001"]},
                    headers={"Authorization": f"Bearer {session.keys[0]}"},
                ).status_code

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("uvicorn.run", run)
        result = _invoke(session.home, args)
    if result.exit_code != 0:
        return Outcome(False, result.output)
    host = args[args.index("--host") + 1] if "--host" in args else "127.0.0.1"
    port = int(args[args.index("--port") + 1]) if "--port" in args else 8000
    expected = {"host": host, "port": port, "healthz": 200}
    if session.keys:
        expected["score"] = 200  # the champion is loaded and the README's key is accepted
    return Outcome(served == expected, f"served {served}, expected {expected}")


def _run(session: Session, command: Command) -> Outcome:
    args = _scaled(command.argv)
    if "--dask" in args:
        return _parse_only(args)
    if args[0] == "serve" and "--openapi" not in args:
        return _serve(session, args)
    if "RUN_ID" in args:
        if session.run_id is None:
            return Outcome(False, "RUN_ID before any train command")
        args = [session.run_id if arg == "RUN_ID" else arg for arg in args]
    result = _invoke(session.home, args)
    if args[0] == "train" and (found := RUN_ID.search(" ".join(result.stderr.split()))):
        session.run_id = found.group(1)
    if args[:2] == ["keys", "create"] and result.exit_code == 0:
        session.keys += KEY.findall(result.stdout)
    return Outcome(result.exit_code == 0, f"exit {result.exit_code}\n{result.output}")


def _empty_store(home: Path) -> None:
    """Create the embedded MLflow store's tables up front (quietly)."""
    with pytest.MonkeyPatch.context() as patch, quiet_mlflow():
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        configure_mlflow(Settings(home=home))
        import mlflow

        mlflow.MlflowClient().search_experiments()


def _flat_table(tables: Tables) -> pl.DataFrame:
    """One row per lead with a yes/no target, as a CRM export holds it."""
    converted = tables.outcomes.filter(pl.col("converted_at").is_not_null())["lead_id"]
    return tables.leads.with_columns(
        converted=pl.when(pl.col("lead_id").is_in(converted.implode()))
        .then(pl.lit("yes"))
        .otherwise(pl.lit("no"))
    )


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory, small_run: Tables) -> Iterator[Session]:
    """Every ``leadscore`` command of the README, run once in one home, in stage order."""
    home = tmp_path_factory.mktemp("readme")
    shutil.copytree(ROOT / "examples", home / "examples")
    (home / "pipelines").mkdir()
    for name, text in FAST_PIPELINES.items():
        (home / "pipelines" / name).write_text(text, encoding="utf-8")
    _flat_table(small_run).write_csv(home / "leads.csv")
    campaign_table(3_000, seed=0).frame.write_csv(home / "campaign.csv")
    _empty_store(home)
    session = Session(home)
    commands = [c for c in COMMANDS if c.program == "leadscore"]
    order = sorted(commands, key=lambda c: STAGES.get(c.argv[1] if len(c.argv) > 1 else "", 3))
    for command in order:
        session.outcomes[command] = _run(session, command)
    yield session


@pytest.mark.parametrize("command", _of("leadscore"))
def test_leadscore_command(command: Command, ran: Session) -> None:
    outcome = ran.outcomes[command]
    assert outcome.ok, f"{command}\n{outcome.detail}"


# --- curl -------------------------------------------------------------------------------

CURL_OPTIONS_WITH_VALUE = {"-X", "--request", "-H", "--header", "-d", "--data", "--data-raw"}


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: str | None


def _curl(argv: tuple[str, ...]) -> Request:
    method, url, body = None, None, None
    headers: dict[str, str] = {}
    args = iter(argv[1:])
    for arg in args:
        if arg in CURL_OPTIONS_WITH_VALUE:
            value = next(args)
            if arg in {"-X", "--request"}:
                method = value
            elif arg in {"-H", "--header"}:
                name, _, text = value.partition(":")
                headers[name.strip().lower()] = text.strip()
            else:
                body = value
        elif arg.startswith("http"):
            url = arg
        else:
            raise AssertionError(f"curl option the test does not know: {arg}")
    assert url is not None, "curl without a URL"
    path = re.sub(r"^https?://[^/]+", "", url).split("?")[0]
    return Request(method or ("POST" if body is not None else "GET"), path, headers, body)


def _operation(document: dict[str, Any], request: Request) -> dict[str, Any] | None:
    for template, operations in document["paths"].items():
        pattern = "^" + re.sub(r"\\{[^/]+\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.path) and request.method.lower() in operations:
            operation: dict[str, Any] = operations[request.method.lower()]
            return operation
    return None


@pytest.mark.parametrize("command", _of("curl"))
def test_curl_example_matches_the_api(command: Command) -> None:
    from leadscore.service import schemas

    document = json.loads((ROOT / "api" / "openapi.json").read_text(encoding="utf-8"))
    request = _curl(command.argv)
    operation = _operation(document, request)
    assert operation is not None, f"{command}: no {request.method} {request.path} in openapi.json"
    if request.path != "/healthz":
        assert (
            request.headers.get("authorization", "").startswith("Bearer ")
            or "x-api-key" in request.headers
        ), f"{command}: sends no API key"
    body = operation.get("requestBody")
    assert (request.body is not None) == (body is not None), f"{command}: body expected: {body}"
    if body is not None:
        assert request.headers.get("content-type") == "application/json", command
        reference = body["content"]["application/json"]["schema"]["$ref"]
        model = getattr(schemas, reference.rsplit("/", 1)[-1])
        model.model_validate_json(request.body)


# --- mlflow and export ------------------------------------------------------------------


@pytest.mark.parametrize("command", _of("mlflow"))
def test_mlflow_command_parses(command: Command, ran: Session) -> None:
    from mlflow.cli import cli as mlflow_cli

    store = parsed(mlflow_cli, "mlflow", list(command.argv[1:])).get("backend_store_uri") or ""
    if store.startswith("sqlite:///"):
        path = ran.home / store.removeprefix("sqlite:///")
        assert path == ran.home / "models" / "mlflow.db" and path.is_file(), command


@pytest.mark.parametrize("command", _of("export"))
def test_exported_variable_is_read(command: Command, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.engine import make_url

    name, _, value = command.argv[1].partition("=")
    assert value, f"{command}: export NAME=VALUE expected"
    monkeypatch.setenv(name, value)
    settings = Settings()
    read = {
        "LEADSCORE_HOME": str(settings.home),
        "LEADSCORE_DATABASE_URL": settings.database_url,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
    }
    assert name in read, f"{command}: leadscore does not read {name}"
    assert read[name] == value, command
    if name == "LEADSCORE_DATABASE_URL":
        make_url(value).get_dialect().import_dbapi()  # its driver is installed
