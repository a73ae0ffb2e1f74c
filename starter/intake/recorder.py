"""Delivery records, written after the answer in batches: one transaction for every delivery that
arrived while the previous batch was being written, instead of one per delivery.

The first delivery that finds no write in progress carries the flush as its response's background
task (so the server waits for it on shutdown like any background task); deliveries answered meanwhile
join the pending batch. A store that cannot take a batch is logged, never fatal: the events were
already delivered, only their delivery records are lost.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from store import repository
from store.db import engine_for
from store.models import WebhookDeliveryRecord

# A delivery record, or a row with every column of one (the intake's: no ORM object per webhook)
Delivery = WebhookDeliveryRecord | Mapping[str, Any]

log = logging.getLogger("mender.intake")
MAX_BATCH = 500  # rows per INSERT: well under SQLite's bound-parameter limit


class DeliveryRecorder:
    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.pending: list[Delivery] = []
        self.flushing = False

    def add(self, record: Delivery) -> BackgroundTask | None:
        """Queue `record`; the flush to run after this answer, or None when one is already running."""
        self.pending.append(record)
        if self.flushing:
            return None
        self.flushing = True
        return BackgroundTask(self.flush)

    async def flush(self) -> None:
        """Write batches until nothing is pending (records added meanwhile are written too)."""
        try:
            while self.pending:
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                try:
                    engine = engine_for(self.database_url)
                    await run_in_threadpool(repository.record_deliveries, engine, batch)
                except Exception as exc:  # the deliveries are already handled: no event is lost
                    ids = ", ".join(_id(r) for r in batch[:3])
                    log.error("%d deliveries handled but not recorded (%s...): %s", len(batch), ids, exc)
        finally:
            self.flushing = False


def _id(record: Delivery) -> str:
    return str(record["delivery_id"] if isinstance(record, Mapping) else record.delivery_id)
