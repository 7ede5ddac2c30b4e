"""The ``--dask`` value and the client helper."""

from __future__ import annotations

from typing import Any

import pytest

from leadscore.cluster import DaskTarget, dask_client, parse_dask
from leadscore.cluster.client import WORKER_SATURATION
from leadscore.errors import UsageError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("local:2", DaskTarget(workers=2)),
        ("local:1", DaskTarget(workers=1)),
        ("tcp://scheduler:8786", DaskTarget(address="tcp://scheduler:8786")),
        ("scheduler:8786", DaskTarget(address="tcp://scheduler:8786")),
        ("localhost:8786", DaskTarget(address="tcp://localhost:8786")),
        ("tls://10.0.0.5:8786", DaskTarget(address="tls://10.0.0.5:8786")),
    ],
    ids=["local-2", "local-1", "tcp", "host-port", "localhost", "tls"],
)
def test_parse_dask(value: str, expected: DaskTarget) -> None:
    assert parse_dask(value) == expected


def test_local_alone_starts_a_worker_per_core() -> None:
    target = parse_dask("local")
    assert target.is_local
    assert target.workers is not None and target.workers >= 1


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("local:0", "needs 1 to 256 workers"),
        ("local:two", "must be a scheduler address"),
        ("", "must be a scheduler address"),
        ("tcp://scheduler:99999", "port .* is not between 1 and 65535"),
        ("two words", "must be a scheduler address"),
    ],
    ids=["zero-workers", "workers-not-a-number", "empty", "port-too-large", "spaces"],
)
def test_parse_dask_rejects(value: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_dask(value)


def test_unreachable_scheduler_is_a_usage_error() -> None:
    with (
        pytest.raises(UsageError, match=r"Cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"),
        dask_client("tcp://127.0.0.1:9", timeout=1),
    ):
        pass


def test_a_local_cluster_gives_a_worker_one_part_at_a_time(client: Any) -> None:
    # Dask's default (1.1) lets a one-thread worker hold a second part it has not begun.
    saturation = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.WORKER_SATURATION)
    assert saturation == WORKER_SATURATION == 1.0
