"""Recording scores: at once, or from a background thread in batches.

:func:`save_scores` appends scores to the history, makes them current and queues the webhook
deliveries they trigger, in one transaction. :class:`HistoryWriter` does the same from a
background thread: :meth:`~HistoryWriter.submit` returns at once; the thread looks every
``linger_seconds`` and writes every submission waiting in one transaction; and
:meth:`~HistoryWriter.flush` waits until everything submitted so far is written, so that a
reader of the same process sees its own scores. Scores written late never replace a newer
current score (see :func:`~leadscore.store.scores.record_scores`).

With ``process=True`` the thread hands each batch to a child process that writes it
(:mod:`leadscore.store.history_process`) and waits, off the GIL, until it is written: the
Python work of a write (a millisecond or two a batch) then no longer delays the requests
this process is scoring. Should that process die, the batch is written here, and a new
process is started for later batches (not sooner than ``restart_seconds`` after a failure).
A child that dies after writing a batch but before saying so has that batch written twice:
the history then holds the same score twice (the current score and webhooks are unchanged).

What is written asynchronously is the score history only: derived data that a new score
recomputes. A batch the store refuses is logged and dropped; a process that dies loses at
most the scores of the last ``linger_seconds``. Ingested events are never written here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from leadscore.store.history_process import STOP_SECONDS, ChildWriter, write_batch
from leadscore.store.scores import ScoreSet, record_scores
from leadscore.store.session import Store
from leadscore.store.webhooks import enqueue_deliveries

__all__ = ["HistoryStats", "HistoryWriter", "save_scores"]

_LOG: Final = logging.getLogger("leadscore.store.history")


def save_scores(
    store: Store, rows: Sequence[dict[str, Any]], *, model_version: str, scored_at: datetime
) -> None:
    """Record scores computed at ``scored_at`` and queue the webhooks they trigger, in one
    transaction."""
    with store.transaction() as session:
        changes = record_scores(session, rows, model_version=model_version, scored_at=scored_at)
        enqueue_deliveries(session, changes, scored_at)


@dataclass(frozen=True)
class HistoryStats:
    """Score sets (one per submission) waiting, written and dropped so far, and how often the
    child process failed (its batch then written by the thread itself)."""

    pending: int
    written: int
    dropped: int
    process_failures: int


class HistoryWriter:
    """Writes submitted scores from a background thread, in batches (see the module).

    Until :meth:`start` (and after :meth:`stop`) :meth:`submit` writes at once, with
    :func:`save_scores`, and raises what it raises. With ``process=True`` the batches are
    written by a child process (an in-memory SQLite store is always written here).
    """

    def __init__(
        self,
        store: Store,
        *,
        linger_seconds: float = 0.02,
        max_rows: int = 500,
        process: bool = False,
        restart_seconds: float = 30.0,
    ):
        self._store = store
        self._process = process and _separable(store)
        self._restart_seconds = restart_seconds
        self._child: ChildWriter | None = None
        self._child_failed_at: float | None = None
        self._abandoned = False
        self._linger = linger_seconds
        self._max_rows = max_rows
        self._changed = threading.Condition()
        self._pending: list[ScoreSet] = []
        self._submitted = 0
        self._rows = 0
        self._written = 0
        self._dropped = 0
        self._process_failures = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def submit(
        self, rows: Sequence[dict[str, Any]], *, model_version: str, scored_at: datetime
    ) -> None:
        """Record ``rows`` (scores computed at ``scored_at``) soon; returns at once.

        The writer is not woken (it looks every ``linger_seconds``) unless ``max_rows`` are
        waiting: waking a thread on every request would make requests wait for it.
        """
        if not rows:
            return
        with self._changed:
            running = self._thread is not None and not self._stopping
            if running:
                self._pending.append(ScoreSet(list(rows), model_version, scored_at))
                self._submitted += 1
                self._rows += len(rows)
                if self._rows >= self._max_rows:
                    self._changed.notify_all()
        if not running:
            save_scores(self._store, rows, model_version=model_version, scored_at=scored_at)

    def flush(self) -> None:
        """Wait until every score submitted before this call is written."""
        with self._changed:
            target = self._submitted
            if self._written >= target:
                return
            self._changed.notify_all()
            while self._written < target and self._thread is not None:
                self._changed.wait()

    def _next_batch(self) -> list[ScoreSet] | None:
        """What to write next (waiting for it); None once stopped with nothing left."""
        with self._changed:
            while not self._pending:
                if self._stopping:
                    return None
                self._changed.wait(self._linger)
            batch, self._pending, self._rows = self._pending, [], 0
            return batch

    @property
    def child_pid(self) -> int | None:
        """The process id of the child writer (None when batches are written here)."""
        child = self._child
        return None if child is None else child.pid

    def stats(self) -> HistoryStats:
        """What the writer has done so far (for the service's metrics)."""
        with self._changed:
            return HistoryStats(
                pending=self._submitted - self._written,
                written=self._written - self._dropped,
                dropped=self._dropped,
                process_failures=self._process_failures,
            )

    def _write(self, batch: list[ScoreSet]) -> bool:
        """Write ``batch``; whether it was written (else it was logged and dropped)."""
        child = self._child_writer()
        if child is not None:
            try:
                return child.write(batch)
            except Exception as exc:  # whatever failed, the batch is written here
                self._process_failures += 1
                self._child_failed_at = time.monotonic()
                self._child = None
                child.close(kill=True)
                if self._abandoned:
                    _LOG.error("%s; dropped a batch of scores while stopping", exc)
                    return False
                _LOG.error("%s; writing the batch here instead", exc)
        return write_batch(self._store, batch)

    def _child_writer(self) -> ChildWriter | None:
        """The child process to write with (started if need be), or None to write here."""
        if not self._process or self._child is not None:
            return self._child
        failed = self._child_failed_at
        if failed is not None and time.monotonic() - failed < self._restart_seconds:
            return None
        try:
            self._child = ChildWriter(self._store.full_url())
        except Exception as exc:
            _LOG.error("could not start the score-history process (%s); writing here", exc)
            self._process_failures += 1
            self._child_failed_at = time.monotonic()
        return self._child

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            written = False
            try:
                written = self._write(batch)
            except Exception:  # never leave flush() waiting on a batch that is gone
                _LOG.exception("could not record a batch of scores; dropped it")
            finally:
                with self._changed:
                    self._written += len(batch)
                    self._dropped += 0 if written else len(batch)
                    self._changed.notify_all()

    def start(self) -> None:
        """Start the background thread."""
        with self._changed:
            if self._thread is not None:
                return
            self._stopping = False
            self._child_writer()  # it starts up while the service does
            self._thread = threading.Thread(
                target=self._run, name="leadscore-score-history", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Write what is pending, then stop the thread (and the child process).

        A child that has not written its batch within ``STOP_SECONDS`` (a database that no
        longer answers) is killed and what it held is dropped.
        """
        with self._changed:
            thread = self._thread
            self._stopping = True
            self._changed.notify_all()
        if thread is not None:
            thread.join(STOP_SECONDS)
            child = self._child
            if thread.is_alive() and child is not None:
                _LOG.warning("the score-history process did not finish writing in time; killed it")
                self._abandoned = True
                child.close(kill=True)
            thread.join()
        if self._child is not None:
            self._child.close()
            self._child = None
        with self._changed:
            self._thread = None
            self._abandoned = False
            self._changed.notify_all()


def _separable(store: Store) -> bool:
    """Whether another process can open the store (not an in-memory SQLite database)."""
    url = store.engine.url
    if url.get_backend_name() != "sqlite":
        return True
    in_memory = url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"
    return not in_memory
