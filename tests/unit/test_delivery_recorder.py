"""Delivery records are written after the answer in batches, on a real SQLite store."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from starter.intake.recorder import DeliveryRecorder
from store.db import engine_for
from store.models import WebhookDeliveryRecord


def delivery(key: str) -> WebhookDeliveryRecord:
    return WebhookDeliveryRecord(
        delivery_id=key,
        event="pull_request",
        action="opened",
        received_at=datetime.now(UTC),
        outcome="accepted",
        reason="",
    )


def row(key: str) -> dict[str, object]:
    """What the intake queues: a row with every column, no ORM object."""
    return delivery(key).model_dump()


def stored(url: str) -> list[str]:
    with Session(engine_for(url)) as session:
        return sorted(r.delivery_id for r in session.exec(select(WebhookDeliveryRecord)))


async def test_deliveries_answered_during_a_write_join_one_flush_and_all_are_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    recorder = DeliveryRecorder(url)
    first = recorder.add(delivery("github:d-0"))
    assert first is not None  # the first answer carries the flush
    flushing = asyncio.create_task(first())
    joined = [recorder.add(row(f"github:d-{i}")) for i in range(1, 1200)]
    assert joined == [None] * 1199  # answered meanwhile: no flush of their own
    await flushing
    assert stored(url) == sorted(f"github:d-{i}" for i in range(1200))
    assert not recorder.flushing and not recorder.pending
    again = recorder.add(delivery("github:d-0"))  # a redelivery after the flush: stored once
    assert again is not None
    await again()
    assert len(stored(url)) == 1200


async def test_a_store_that_fails_is_logged_and_the_next_batch_is_still_written(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the database directory should be")
    broken = DeliveryRecorder(f"sqlite:///{blocked / 'store.db'}")
    task = broken.add(delivery("github:lost"))
    assert task is not None
    seen: list[str] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = lambda record: seen.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("mender.intake")
    # on the logger itself, enabled at ERROR: whatever logging configuration earlier tests installed
    saved = (logger.disabled, logger.level, logging.root.manager.disable)
    logger.disabled, logger.level = False, logging.ERROR
    logging.disable(logging.NOTSET)
    logger.addHandler(handler)
    try:
        await task()  # never raises: the events were delivered already
    finally:
        logger.removeHandler(handler)
        logger.disabled, logger.level = saved[0], saved[1]
        logging.disable(saved[2])
    assert any("1 deliveries handled but not recorded (github:lost...)" in m for m in seen), seen
    assert not broken.flushing and not broken.pending

    broken.database_url = f"sqlite:///{tmp_path / 'store.db'}"
    task = broken.add(delivery("github:kept"))
    assert task is not None
    await task()
    assert stored(broken.database_url) == ["github:kept"]
