"""Which Dask cluster to run on, and one helper that opens and closes the client.

``--dask`` takes either a scheduler address (``tcp://scheduler:8786``, ``tls://…``,
``host:8786``) of a running cluster — on Kubernetes (dask-kubernetes), YARN (dask-yarn), an
HPC scheduler (dask-jobqueue) or a cloud — or ``local[:WORKERS]`` for a cluster of worker
processes on this machine (one thread each; ``local`` alone starts one worker per core).

A local cluster's scheduler hands a worker thread a new part only when it is free
(``distributed.scheduler.worker-saturation`` 1.0, :data:`WORKER_SATURATION`): Dask's default
of 1.1 lets a one-thread worker read a second part while it scores the first, which holds two
parts in memory (at 1,000,000 leads in parts of 50,000, a scoring worker peaked at 2.0–2.4 GiB
instead of 1.3–1.4 GiB, in the same time). A remote cluster is configured by its owner; the
README recommends the same setting.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

from leadscore.errors import UsageError

__all__ = [
    "CONNECT_TIMEOUT_S",
    "WORKER_SATURATION",
    "DaskClient",
    "DaskTarget",
    "dask_client",
    "parse_dask",
]

#: A ``distributed.Client``; its methods carry no type annotations, so it is typed as Any.
DaskClient: TypeAlias = Any

#: ``distributed.scheduler.worker-saturation`` of a local cluster (see the module).
WORKER_SATURATION: Final = 1.0
#: Seconds to wait for a remote scheduler before giving up with an error.
CONNECT_TIMEOUT_S: Final = 10
_LOCAL: Final = re.compile(r"local(?::(?P<workers>\d+))?")
_ADDRESS: Final = re.compile(
    r"(?:(?P<protocol>tcp|tls|ws|wss|inproc|ucx)://)?(?P<host>[A-Za-z0-9._\-\[\]:]+?)"
    r"(?::(?P<port>\d{1,5}))?/?"
)
_MAX_LOCAL_WORKERS: Final = 256


@dataclass(frozen=True)
class DaskTarget:
    """A parsed ``--dask`` value: a local cluster of ``workers`` processes or an ``address``."""

    address: str | None = None
    workers: int | None = None
    threads_per_worker: int = 1

    @property
    def is_local(self) -> bool:
        """Whether a LocalCluster is started on this machine."""
        return self.address is None

    def describe(self) -> str:
        """For messages: ``local cluster (2 workers)`` or the scheduler's address."""
        if self.address is not None:
            return f"the Dask scheduler at {self.address}"
        return f"a local Dask cluster ({self.workers} worker(s))"


def parse_dask(value: str, flag: str = "--dask") -> DaskTarget:
    """Parse ``local``, ``local:WORKERS`` or a scheduler address; raise UsageError otherwise."""
    text = value.strip()
    local = _LOCAL.fullmatch(text)
    if local is not None:
        given = local.group("workers")
        workers = int(given) if given is not None else max(1, os.cpu_count() or 1)
        if not 1 <= workers <= _MAX_LOCAL_WORKERS:
            raise UsageError(
                f"{flag} local:WORKERS needs 1 to {_MAX_LOCAL_WORKERS} workers; got {value!r}."
            )
        return DaskTarget(workers=workers)
    address = _ADDRESS.fullmatch(text)
    if not text or re.fullmatch(r"local(:.*)?", text) or address is None:
        raise UsageError(
            f"{flag} must be a scheduler address such as tcp://scheduler:8786 or "
            f"local[:WORKERS] such as local:2; got {value!r}."
        )
    port = address.group("port")
    if port is not None and not 0 < int(port) < 65536:
        raise UsageError(f"{flag}: the port of {value!r} is not between 1 and 65535.")
    protocol = address.group("protocol") or "tcp"
    rest = text.split("://", 1)[-1].rstrip("/")
    return DaskTarget(address=f"{protocol}://{rest}")


@contextmanager
def dask_client(
    target: DaskTarget | str, *, timeout: float = CONNECT_TIMEOUT_S
) -> Iterator[DaskClient]:
    """A connected ``distributed.Client``; a local cluster is started and shut down with it.

    Raises UsageError when the scheduler cannot be reached within ``timeout`` seconds.
    """
    import dask
    from distributed import Client, LocalCluster

    if isinstance(target, str):
        target = parse_dask(target)
    if target.is_local:
        with (
            # The scheduler runs in this process and reads the setting when it starts.
            dask.config.set({"distributed.scheduler.worker-saturation": WORKER_SATURATION}),
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=target.workers,
                threads_per_worker=target.threads_per_worker,
                processes=True,
                dashboard_address=":0",  # any free port: never clash with another cluster
                # Polars would start a thread per core in every worker; a worker gets its own.
                env={"POLARS_MAX_THREADS": str(target.threads_per_worker)},
            ) as cluster,
            Client(cluster) as client,  # type: ignore[no-untyped-call]
        ):
            yield client
        return
    try:
        client = Client(target.address, timeout=timeout)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError) as exc:
        raise UsageError(
            f"Cannot reach {target.describe()} within {timeout:g} s ({exc}); check "
            "the address and that the scheduler is running and reachable from here."
        ) from exc
    with client:
        yield client
