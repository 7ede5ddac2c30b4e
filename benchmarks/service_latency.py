"""Service latency: one lead scored over HTTP from its stored history, against MLflow's server.

Goal (issue): one lead scored from its stored history (features built from the store, reasons
included) with p99 at most 10 ms and at least 5x the throughput of ``mlflow models serve``
serving the same LightGBM model given the finished feature row, on the same machine in the
same run.

Set-up, in a temporary project home (``LEADSCORE_HOME``): ``simulate(SimulationConfig(leads=N,
seed=S))`` (cached as Parquet under ``.bench-cache/``), the propensity model trained with the
shipped pipeline (``train_propensity``, default ``PipelineConfig``), logged, registered and
promoted to champion (``log_propensity_run``, ``promote``); an API key (``create_key``); every
lead, touchpoint and outcome of the run loaded into the service store (SQLite, WAL) with the
store functions. Then two real servers on free loopback ports, one uvicorn worker process
each, both without uvicorn's access log (a line per request is not what is measured) and
both on the same uvicorn, which picks httptools and uvloop when installed (they are
dependencies of leadscore):

* ours: ``leadscore serve --no-access-log``, otherwise default settings (the score history
  of ``POST /v1/score`` is written in the background, in batches, by the process the service
  starts for it);
* reference: ``mlflow models serve -m models:/leadscore-propensity/VERSION --env-manager
  local --workers 1`` (uvicorn/FastAPI in MLflow 3; ``UVICORN_ACCESS_LOG=false``) on the
  same registry.

Requests (httpx, keep-alive, bodies encoded beforehand; ``--sample`` different leads open now,
taken in turn):

* ``POST /v1/score`` with ``{"lead_ids": [id]}``: features built from the stored lead and
  touchpoints, probability, grade, trend, reasons, recorded in the score history;
* ``POST /v1/touchpoints`` with one new event of one lead (sequential): stored, the lead
  rescored, the fresh score in the answer;
* the reference's ``POST /invocations`` with the same lead's finished feature row
  (``build_features`` with the model's spec, then ``pyfunc_input``) as ``dataframe_split``;
* ``GET /healthz`` of ours, sequential: what HTTP and the client cost on this machine.

Scoring is measured sequentially (one client) and with ``--clients`` concurrent clients
(threads, one connection each), after ``--warmup`` requests per client. Each of the
``--rounds`` rounds runs every measurement once, interleaved, with ``--requests`` requests per
measurement; the table shows the median over the rounds of each figure (p50, p99 in ms,
requests per second), and the ratios ours / reference. Before timing, one request with an
explicit ``as_of`` checks that both servers return the same probability for the same lead.
The p99 goal is checked on the sequential figure, the throughput goal with one and with
``--clients`` clients.

    .venv/bin/python benchmarks/service_latency.py [--leads 3000] [--requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Final

import httpx
import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from features_vs_pandas import DEFAULT_CACHE, cached_simulation, machine_load
from leadscore.data.schemas import TIMESTAMP
from leadscore.features import build_features, open_snapshots
from leadscore.settings import Settings
from leadscore.store import Store, create_key, insert_touchpoints, record_outcomes, upsert_leads
from leadscore.training.config import PipelineConfig
from leadscore.training.model import PropensityModel
from leadscore.training.propensity import TrainedPropensity, train_propensity
from leadscore.training.registry import promote
from leadscore.training.tracking import log_propensity_run, pyfunc_input

MAX_P99_MS: Final = 10.0
MIN_THROUGHPUT_RATIO: Final = 5.0
START_SECONDS: Final = 180.0
STOP_SECONDS: Final = 20.0
TIMEOUT_SECONDS: Final = 60.0
BIN: Final = Path(sys.executable).parent
JSON: Final = {"Content-Type": "application/json"}
MEASUREMENTS: Final = (
    ("score", "sequential"),
    ("mlflow", "sequential"),
    ("score", "concurrent"),
    ("mlflow", "concurrent"),
    ("ingest", "sequential"),
    ("healthz", "sequential"),
)
LABELS: Final = {
    "score": "ours   POST /v1/score (1 stored lead)",
    "mlflow": "mlflow POST /invocations (1 feature row)",
    "ingest": "ours   POST /v1/touchpoints (1 event + rescore)",
    "healthz": "ours   GET /healthz (HTTP floor, no work)",
}


# -- set-up ---------------------------------------------------------------------------------


def trained(folder: Path, cache: Path) -> TrainedPropensity:
    """The training result of the shipped pipeline on ``folder``, pickled under ``cache``."""
    path = cache / f"service-trained-{folder.name}.pkl"
    if path.exists():
        with path.open("rb") as handle:
            result = pickle.load(handle)
        assert isinstance(result, TrainedPropensity)
        return result
    leads, touchpoints, outcomes = (
        pl.read_parquet(folder / f"{n}.parquet") for n in ("leads", "touchpoints", "outcomes")
    )
    print(f"training the model on {folder.name} (once, cached) ...", flush=True)
    started = time.perf_counter()
    result = train_propensity(leads, touchpoints, outcomes, PipelineConfig())
    print(f"trained in {time.perf_counter() - started:.0f} s", flush=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as handle:
        pickle.dump(result, handle, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)
    return result


def champion(result: TrainedPropensity, folder: Path, settings: Settings) -> int:
    """Log ``result`` into the home's MLflow store and promote it; its registered version."""
    record = log_propensity_run(result, settings=settings, data_location=str(folder))
    promotion = promote(record.run_id, settings=settings)
    if not promotion.promoted:
        raise SystemExit(f"the model was not promoted: {promotion.reason}")
    return record.version


def fill_store(settings: Settings, folder: Path) -> str:
    """Load every lead, touchpoint and outcome of ``folder`` into the store; a new API key."""
    leads, touchpoints, outcomes = (
        pl.read_parquet(folder / f"{n}.parquet") for n in ("leads", "touchpoints", "outcomes")
    )
    now = datetime.now(UTC)
    store = Store.open(settings)
    try:
        with store.transaction() as session:
            upsert_leads(session, leads.to_dicts(), now)
            insert_touchpoints(session, touchpoints.to_dicts(), now)
            record_outcomes(session, outcomes.to_dicts(), now)
            return create_key(session, "bench", [], now).key
    finally:
        store.close()


def open_sample(folder: Path, as_of: datetime, count: int, seed: int) -> list[str]:
    """``count`` different leads open at ``as_of``, drawn at random."""
    leads = pl.read_parquet(folder / "leads.parquet")
    outcomes = pl.read_parquet(folder / "outcomes.parquet")
    snapshots = open_snapshots(leads, outcomes, pl.Series("as_of", [as_of], dtype=TIMESTAMP))
    ids = snapshots["lead_id"]
    if ids.len() < count:
        raise SystemExit(f"only {ids.len()} leads are open at {as_of}; lower --sample")
    return ids.sample(count, seed=seed).to_list()


def feature_rows(
    model: PropensityModel, folder: Path, ids: list[str], as_of: datetime
) -> dict[str, bytes]:
    """Per lead, the ``/invocations`` body holding its finished feature row at ``as_of``."""
    assert model.spec_ is not None
    leads = pl.read_parquet(folder / "leads.parquet").filter(pl.col("lead_id").is_in(ids))
    touchpoints = pl.read_parquet(folder / "touchpoints.parquet").filter(
        pl.col("lead_id").is_in(ids)
    )
    snapshots = pl.DataFrame(
        {"lead_id": ids, "as_of": pl.Series([as_of] * len(ids), dtype=TIMESTAMP)}
    )
    features = build_features(leads, touchpoints, snapshots, model.spec_)
    frame = pyfunc_input(model, features)
    bodies = {}
    for position, lead_id in enumerate(features["lead_id"].to_list()):
        split = json.loads(frame.iloc[[position]].to_json(orient="split", index=False))
        bodies[lead_id] = json.dumps({"dataframe_split": split}).encode()
    return bodies


def touchpoint_kind(folder: Path) -> dict[str, str]:
    """The most frequent channel, action and initiator of the run (the ingested event)."""
    counts = (
        pl.read_parquet(folder / "touchpoints.parquet")
        .group_by("channel", "action", "initiated_by")
        .len()
        .sort("len", descending=True)
    )
    return {k: str(v) for k, v in counts.row(0, named=True).items() if k != "len"}


# -- the servers ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process`` and its process group; kill what is left after a grace time."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=STOP_SECONDS)
    with suppress(ProcessLookupError):  # the leader if it hangs, children it left behind
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=STOP_SECONDS)


@contextmanager
def server(
    command: list[str], env: dict[str, str], cwd: Path, log: Path, health: str
) -> Iterator[str]:
    """``command`` (given ``--port``) in its own process group; yields its URL once healthy."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{command[0]} exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{base}{health}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{command[0]} did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base
    finally:
        stop(process)


# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """Where to send requests and the body of each (the ``n``-th request, counting from 0)."""

    base: str
    path: str
    headers: dict[str, str]
    body: Callable[[int], bytes] | None


@dataclass(frozen=True)
class Figures:
    """One measurement: latencies in ms and throughput in requests per second."""

    p50: float
    p99: float
    throughput: float


def post(http: httpx.Client, endpoint: Endpoint, n: int) -> float:
    """One request (GET without a body); its latency in ms. Refuses any answer but 200."""
    if endpoint.body is None:
        started = time.perf_counter()
        answer = http.get(endpoint.path)
    else:
        content = endpoint.body(n)
        started = time.perf_counter()
        answer = http.post(endpoint.path, content=content)
    elapsed = (time.perf_counter() - started) * 1e3
    if answer.status_code != 200:
        raise SystemExit(f"{endpoint.path} answered {answer.status_code}: {answer.text[:500]}")
    return elapsed


def client(endpoint: Endpoint) -> httpx.Client:
    return httpx.Client(
        base_url=endpoint.base, headers={**JSON, **endpoint.headers}, timeout=TIMEOUT_SECONDS
    )


def measure(endpoint: Endpoint, requests: int, clients: int, warmup: int, start: int) -> Figures:
    """``requests`` requests spread over ``clients`` threads, each with its own connection
    and ``warmup`` untimed requests first; wall time from the common start to the last answer.
    """
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures: list[BaseException] = []
    ready = threading.Barrier(clients + 1)
    share = [requests // clients + (i < requests % clients) for i in range(clients)]

    def run(number: int) -> None:
        first = start + number * (warmup + requests)
        try:
            with client(endpoint) as http:
                for n in range(warmup):
                    post(http, endpoint, first + n)
                ready.wait()
                for n in range(share[number]):
                    latencies[number].append(post(http, endpoint, first + warmup + n))
        except BaseException as exc:  # reported by the caller
            failures.append(exc)
            ready.abort()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    with suppress(threading.BrokenBarrierError):
        ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(f"{endpoint.path}: {failures[0]}")
    values = np.concatenate([np.asarray(v) for v in latencies])
    return Figures(
        float(np.percentile(values, 50)), float(np.percentile(values, 99)), requests / seconds
    )


def check_same_probability(
    score: Endpoint, mlflow: Endpoint, lead_id: str, as_of: datetime, reference: bytes
) -> tuple[float, float]:
    """Both servers' probability of ``lead_id`` at ``as_of``; they must agree."""
    with client(score) as http:
        body = {"lead_ids": [lead_id], "as_of": as_of.isoformat()}
        answer = http.post(score.path, json=body)
        answer.raise_for_status()
        scored = answer.json()["scores"]
        if len(scored) != 1 or not scored[0]["reasons"]:
            raise SystemExit(f"unexpected score answer: {answer.text[:500]}")
        ours = float(scored[0]["probability"])
    with client(mlflow) as http:
        answer = http.post(mlflow.path, content=reference)
        answer.raise_for_status()
        first = answer.json()["predictions"][0]
        theirs = float(first["probability"] if isinstance(first, dict) else first)
    if abs(ours - theirs) > 1e-6:
        raise SystemExit(f"the servers disagree on {lead_id}: {ours} against {theirs}")
    return ours, theirs


# -- the run --------------------------------------------------------------------------------


def environment(home: Path) -> dict[str, str]:
    env = {**os.environ, "LEADSCORE_HOME": str(home)}
    for name in ("MLFLOW_TRACKING_URI", "LEADSCORE_DATABASE_URL"):
        env.pop(name, None)
    return env


def benchmark(args: argparse.Namespace, home: Path) -> dict[tuple[str, str], list[Figures]]:
    """Set up ``home``, start both servers, run every measurement ``args.rounds`` times."""
    cache = args.cache or DEFAULT_CACHE
    folder = cached_simulation(args.leads, args.seed, cache)
    settings = Settings(home=home, mlflow_tracking_uri=None, database_url=None)
    result = trained(folder, cache)
    print("logging, registering and promoting the model; filling the store ...", flush=True)
    version = champion(result, folder, settings)
    key = fill_store(settings, folder)
    as_of = datetime.now(UTC)
    ids = open_sample(folder, as_of, args.sample, args.seed)
    rows = feature_rows(result.model, folder, ids, as_of)
    kind = touchpoint_kind(folder)
    env = environment(home)
    ours_command = [str(BIN / "leadscore"), "serve", "--host", "127.0.0.1", "--no-access-log"]
    mlflow_command = [
        str(BIN / "mlflow"),
        "models",
        "serve",
        "-m",
        f"models:/leadscore-propensity/{version}",
        "--env-manager",
        "local",
        "--workers",
        "1",
        "--host",
        "127.0.0.1",
    ]
    # MLflow starts ``uvicorn`` from PATH: the one of this environment, as when it is activated.
    path = os.pathsep.join([str(BIN), env.get("PATH", "")])
    mlflow_env = {
        **env,
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "PATH": path,
        "UVICORN_ACCESS_LOG": "false",  # its uvicorn command line reads UVICORN_* settings
    }
    auth = {"Authorization": f"Bearer {key}"}
    tag = f"bench-{time.time_ns()}"

    def event(n: int) -> bytes:
        stamp = datetime.now(UTC).isoformat()
        touchpoint = {"event_id": f"{tag}-{n}", "lead_id": ids[n % len(ids)], "timestamp": stamp}
        return json.dumps({"touchpoints": [{**touchpoint, **kind}]}).encode()

    scores = [json.dumps({"lead_ids": [i]}).encode() for i in ids]
    references = [rows[i] for i in ids]
    with (
        server(ours_command, env, home, home / "leadscore-serve.log", "/healthz") as ours,
        server(mlflow_command, mlflow_env, home, home / "mlflow-serve.log", "/ping") as theirs,
    ):
        endpoints = {
            "score": Endpoint(ours, "/v1/score", auth, lambda n: scores[n % len(scores)]),
            "mlflow": Endpoint(theirs, "/invocations", {}, lambda n: references[n % len(ids)]),
            "ingest": Endpoint(ours, "/v1/touchpoints", auth, event),
            "healthz": Endpoint(ours, "/healthz", {}, None),
        }
        probability, _ = check_same_probability(
            endpoints["score"], endpoints["mlflow"], ids[0], as_of, rows[ids[0]]
        )
        print(
            f"servers up (model version {version}); both give {ids[0]} probability "
            f"{probability:.6f} at {as_of:%Y-%m-%d %H:%M:%S} UTC",
            flush=True,
        )
        print(f"before: {machine_load()}", flush=True)
        figures: dict[tuple[str, str], list[Figures]] = {m: [] for m in MEASUREMENTS}
        sent = 0
        for round_number in range(args.rounds):
            for name, mode in MEASUREMENTS:
                clients = args.clients if mode == "concurrent" else 1
                figures[name, mode].append(
                    measure(endpoints[name], args.requests, clients, args.warmup, sent)
                )
                sent += clients * (args.warmup + args.requests)
            print(f"round {round_number + 1}/{args.rounds} done", flush=True)
        print(f"after: {machine_load()}", flush=True)
    return figures


def median(runs: list[Figures]) -> Figures:
    return Figures(
        statistics.median(f.p50 for f in runs),
        statistics.median(f.p99 for f in runs),
        statistics.median(f.throughput for f in runs),
    )


def report(args: argparse.Namespace, figures: dict[tuple[str, str], list[Figures]]) -> bool:
    """Print the table, the ratios and the verdict; whether the goal is met."""
    medians = {key: median(runs) for key, runs in figures.items()}
    print(
        f"\n{args.leads:,} simulated leads (seed {args.seed}), {args.sample} open leads in turn; "
        f"{args.rounds} rounds x {args.requests} requests per measurement after "
        f"{args.warmup} warm-up requests per client; medians over the rounds"
    )
    print(f"{'':50}{'clients':>8}{'p50 ms':>9}{'p99 ms':>9}{'req/s':>9}")
    for name, mode in MEASUREMENTS:
        f = medians[name, mode]
        clients = args.clients if mode == "concurrent" else 1
        print(f"{LABELS[name]:50}{clients:>8}{f.p50:>9.2f}{f.p99:>9.2f}{f.throughput:>9.1f}")
    print("\nratios ours / mlflow (score)")
    checks: list[tuple[bool, str]] = []
    for mode in ("sequential", "concurrent"):
        ours, theirs = medians["score", mode], medians["mlflow", mode]
        ratio = ours.throughput / theirs.throughput
        print(
            f"  {mode:11} p50 {ours.p50 / theirs.p50:5.2f}x  p99 {ours.p99 / theirs.p99:5.2f}x  "
            f"throughput {ratio:5.2f}x"
        )
        checks.append(
            (
                ratio >= MIN_THROUGHPUT_RATIO,
                f"throughput {mode} ({1 if mode == 'sequential' else args.clients} client(s)) "
                f"{ratio:.2f}x mlflow >= {MIN_THROUGHPUT_RATIO:g}x",
            )
        )
    p99 = medians["score", "sequential"].p99
    checks.insert(
        0, (p99 <= MAX_P99_MS, f"single-lead score p99 {p99:.2f} ms <= {MAX_P99_MS:g} ms")
    )
    print(
        f"\ngoal (issue): one lead scored from its stored history p99 <= {MAX_P99_MS:g} ms and "
        f">= {MIN_THROUGHPUT_RATIO:g}x the throughput of mlflow models serve"
    )
    for passed, text in checks:
        print(f"{'PASS' if passed else 'FAIL'}  {text}")
    return all(passed for passed, _ in checks)


def optional_version(name: str) -> str:
    try:
        return package_version(name)
    except PackageNotFoundError:
        return "absent"


def stopped(signum: int, frame: object) -> None:
    """Turn SIGTERM into an exception, so that the servers are stopped on the way out."""
    raise SystemExit(f"stopped by signal {signum}")


def main() -> int:
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in background
    signal.signal(signal.SIGTERM, stopped)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sample", type=int, default=200, help="different open leads scored")
    parser.add_argument("--requests", type=int, default=300, help="requests per measurement")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per client")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    print(
        f"leadscore serve against mlflow {package_version('mlflow')} models serve; "
        f"uvicorn {package_version('uvicorn')} (httptools {optional_version('httptools')}, "
        f"uvloop {optional_version('uvloop')}), httpx {package_version('httpx')}"
    )
    try:
        with tempfile.TemporaryDirectory(prefix="leadscore-service-bench-") as tmp:
            figures = benchmark(args, Path(tmp))
    except KeyboardInterrupt:
        print("interrupted; the servers are stopped", file=sys.stderr)
        return 130
    return 0 if report(args, figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
