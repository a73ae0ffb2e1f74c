"""Group commit of PR projections: the projections many PR workflows ask for at about the same time are
written by one thread in one transaction, and each caller's future completes when its rows are committed.

A projection is idempotent (its journal lines and audit rows by key, the PR row an upsert), so a batch
that fails is written again one projection per transaction: the projection the database refuses gets
its own error, the others are stored. A store that is down or locked fails the whole batch at once. One writer per engine also keeps a process's writers from waiting
on SQLite's file lock one after another.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from domain.pr_healing.lifecycle import JournalEntry
from domain.shared.audit import AuditEntry
from store.projection import write_projection

log = logging.getLogger("mender.store")
Written = tuple[int, list[bool]]  # new journal lines; per audit entry, whether it was new
WINDOW_S = 0.002  # how long the writer waits for more projections after the first of a batch
MAX_BATCH = 128


@dataclass
class _Projection:
    values: dict[str, Any]
    entries: Sequence[JournalEntry]
    audits: Sequence[AuditEntry]
    done: Future[Written] = field(default_factory=Future)


class GroupCommitter:
    """One writer thread for `engine`: `submit` queues a projection, the thread commits batches."""

    def __init__(self, engine: Engine, window_s: float = WINDOW_S, max_batch: int = MAX_BATCH) -> None:
        self.engine, self.window_s, self.max_batch = engine, window_s, max_batch
        self.batches = 0  # transactions committed with more than one projection in them, for tests
        self._queue: queue.SimpleQueue[_Projection] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="mender-group-commit", daemon=True)
        self._thread.start()

    def submit(
        self, values: dict[str, Any], entries: Sequence[JournalEntry], audits: Sequence[AuditEntry]
    ) -> Future[Written]:
        """Queue the projection; the future has its result once its batch is committed (or its error)."""
        projection = _Projection(values, entries, audits)
        self._queue.put(projection)
        return projection.done

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            try:
                while len(batch) < self.max_batch:
                    batch.append(self._queue.get(timeout=self.window_s))
            except queue.Empty:
                pass
            # A caller that gave up (its activity cancelled) before the batch began is not written: its
            # retry will be. From here on no future can be cancelled, so every result can be set.
            batch = [p for p in batch if p.done.set_running_or_notify_cancel()]
            try:
                if batch:
                    self._commit(batch)
            except Exception as error:  # the writer must outlive anything: the callers get the error
                log.exception("group commit failed")
                for p in batch:
                    if not p.done.done():
                        p.done.set_exception(error)

    def _commit(self, batch: list[_Projection]) -> None:
        try:
            with self.engine.begin() as connection:
                results = [
                    write_projection(connection, self.engine, p.values, p.entries, p.audits) for p in batch
                ]
        except Exception as error:
            if len(batch) == 1 or isinstance(error, OperationalError):  # (the store is down or locked:
                for p in batch:  # every caller gets the error now and its activity is retried)
                    p.done.set_exception(error)
            else:  # each projection again on its own: the one the database refuses gets the error
                for p in batch:
                    self._commit([p])
            return
        self.batches += len(batch) > 1
        for p, result in zip(batch, results, strict=True):
            p.done.set_result(result)


_committers: dict[int, GroupCommitter] = {}
_lock = threading.Lock()


def committer_for(engine: Engine) -> GroupCommitter:
    """The process's committer for `engine` (one writer thread per engine)."""
    with _lock:
        committer = _committers.get(id(engine))
        if committer is None or committer.engine is not engine:
            committer = _committers[id(engine)] = GroupCommitter(engine)
        return committer
