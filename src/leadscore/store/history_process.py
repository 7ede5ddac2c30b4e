"""The score-history writer's own process: batches of scores written off the service's GIL.

A :class:`~leadscore.store.history.HistoryWriter` started with ``process=True`` hands each
batch to a child Python process (running :func:`main`) that writes it with the same function
as the in-process writer (:func:`write_batch`) and answers when the batch is written. The
service process then spends a few microseconds per batch (pickling it and waiting on a pipe,
without the GIL) instead of the milliseconds SQLAlchemy takes, which would otherwise be taken
from requests being scored.

The protocol, on the child's standard input and output: frames of a 4-byte big-endian length
and a pickle. The first frame holds the settings (database URL, log level); each later frame
a list of :class:`~leadscore.store.scores.ScoreSet`, answered with one byte once written
(``+``) or logged and dropped (``-``), as the in-process writer does. The child writes what
it prints or logs to standard error, runs in a process group of its own and ignores SIGINT
and SIGTERM (the service stops it once the last batch is written), and exits at the end of
its input, which is also what it sees when the service process dies.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Sequence
from contextlib import suppress
from typing import IO, Any, Final

from leadscore.store.scores import ScoreSet, record_score_sets
from leadscore.store.session import Store
from leadscore.store.webhooks import enqueue_deliveries

__all__ = ["ChildWriter", "write_batch"]

_LOG: Final = logging.getLogger("leadscore.store.history")
_HEADER: Final = struct.Struct(">I")
_DONE: Final = b"+"
_DROPPED: Final = b"-"
STOP_SECONDS: Final = 10.0
"""How long :meth:`ChildWriter.close` waits for the child to end before killing it."""


def write_batch(store: Store, batch: Sequence[ScoreSet]) -> bool:
    """Record ``batch`` in one transaction with the webhook deliveries it triggers; whether
    it was written. A batch the store refuses is logged and dropped (the history is derived
    data: the next score recomputes it)."""
    try:
        with store.transaction() as session:
            for item, changes in zip(batch, record_score_sets(session, batch), strict=True):
                enqueue_deliveries(session, changes, item.scored_at)
    except Exception:  # logged, not raised: the writer must keep writing later batches
        rows = sum(len(item.rows) for item in batch)
        _LOG.exception("could not record %d score(s) in the history; dropped them", rows)
        return False
    return True


class ChildWriterError(OSError):
    """The child process is gone or broke the protocol."""


class ChildWriter:
    """The parent's handle on one child writer process (used by one thread at a time)."""

    def __init__(self, url: str) -> None:
        self._process = subprocess.Popen(
            # -P: the working directory is not put on the module path of the child.
            [sys.executable, "-P", "-c", f"from {__name__} import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
            process_group=0,  # a terminal's Ctrl-C goes to the service, which stops the child
        )
        assert self._process.stdin is not None and self._process.stdout is not None
        self._input: IO[bytes] = self._process.stdin
        self._output: IO[bytes] = self._process.stdout
        try:
            # The URL goes through the pipe, not the command line: it may hold a password.
            level = logging.getLogger("leadscore").getEffectiveLevel()
            self._send({"url": url, "log_level": level})
        except BaseException:
            self.close(kill=True)
            raise

    @property
    def pid(self) -> int:
        return self._process.pid

    def write(self, batch: Sequence[ScoreSet]) -> bool:
        """Hand ``batch`` to the child and wait until it is written (True) or dropped (False,
        see :func:`write_batch`); raises :class:`ChildWriterError` when the child is gone
        (the batch may not be written)."""
        self._send(list(batch))
        try:
            answer = self._output.read(1)
        except (OSError, ValueError) as exc:
            raise ChildWriterError(f"the score-history process failed: {exc}") from exc
        if answer in (_DONE, _DROPPED):
            return answer == _DONE
        raise ChildWriterError(
            f"the score-history process (pid {self.pid}) ended with exit code "
            f"{self._process.poll()}"
        )

    def close(self, *, kill: bool = False) -> None:
        """End the child once it has written what it was given (killed after
        :data:`STOP_SECONDS`, or at once with ``kill``); safe to call twice."""
        with suppress(OSError, ValueError):
            self._input.close()
        if kill:
            with suppress(OSError):
                self._process.kill()
        try:
            self._process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            _LOG.warning("the score-history process did not stop in time; killed it")
            self._process.kill()
            self._process.wait()
        self._output.close()

    def _send(self, value: Any) -> None:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._input.write(_HEADER.pack(len(payload)) + payload)
            self._input.flush()
        except (OSError, ValueError) as exc:
            raise ChildWriterError(f"the score-history process is gone: {exc}") from exc


def _read_frame(source: IO[bytes]) -> Any | None:
    """The next value on ``source``; None at its end."""
    header = source.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = source.read(size)
    if len(payload) < size:
        return None
    return pickle.loads(payload)  # our own parent's pipe, not outside input


def main() -> None:
    """The child: write each batch read from standard input, answer on standard output."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # stray prints must not reach the pipe
    source = sys.stdin.buffer
    settings = _read_frame(source)
    if settings is None:
        return
    logging.basicConfig(
        level=settings["log_level"],
        format="%(levelname)s:     %(name)s (score-history process): %(message)s",
    )
    store = Store.connect(settings["url"])
    try:
        while (batch := _read_frame(source)) is not None:
            answers.write(_DONE if write_batch(store, batch) else _DROPPED)
    except BrokenPipeError:  # the parent is gone
        pass
    finally:
        store.close()
