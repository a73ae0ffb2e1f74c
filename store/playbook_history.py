"""The `playbook_event` table: what each playbook's plans did, one row per (run, kind), and its stats.

Rows are inserted with ON CONFLICT DO NOTHING ... RETURNING on the idempotency key, so a retried
activity (or the same outcome recorded twice) counts once. The counts are aggregates over the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, func
from sqlmodel import Field, Session, SQLModel, col, select

from domain.ci_healing.playbook_history import (
    DEFAULT_MIN_SAMPLES,
    EventKind,
    PlaybookEvent,
    PlaybookStats,
    stats,
)
from domain.shared.times import utc
from store import statements


class PlaybookEventRecord(SQLModel, table=True):
    """One playbook event (`domain.ci_healing.playbook_history.PlaybookEvent`)."""

    __tablename__ = "playbook_event"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(unique=True, max_length=420)
    playbook: str = Field(index=True, max_length=200)
    kind: str = Field(max_length=20)
    workflow_id: str = Field(max_length=400)
    project: str = Field(default="", max_length=300)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def record(engine: Engine, events: Iterable[PlaybookEvent]) -> int:
    """Store `events`; returns how many were new (a repeated key writes nothing)."""
    written = 0
    with Session(engine) as session:
        for event in events:
            values = {
                "idempotency_key": event.key,
                "playbook": event.playbook,
                "kind": event.kind.value,
                "workflow_id": event.workflow_id,
                "project": event.project[:300],
                "at": statements.stored_time(engine, event.at or datetime.now(UTC)),
            }
            statement = (
                statements.insert(engine, PlaybookEventRecord)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(PlaybookEventRecord.id)  # a row back: it was written (rowcount is not portable)
            )
            written += session.exec(statement).first() is not None
        session.commit()
    return written


def record_revert(engine: Engine, playbook: str, workflow_id: str, project: str = "") -> bool:
    """A merged fix of `playbook` (for the run `workflow_id`) was reverted; True when newly recorded."""
    event = PlaybookEvent(
        playbook=playbook, kind=EventKind.REVERTED, workflow_id=workflow_id, project=project
    )
    return record(engine, [event]) == 1


def all_stats(engine: Engine, min_samples: int = DEFAULT_MIN_SAMPLES) -> list[PlaybookStats]:
    """Every playbook with history, most attempted first."""
    statement = select(
        PlaybookEventRecord.playbook,
        PlaybookEventRecord.kind,
        func.count(),
        func.max(PlaybookEventRecord.at),
    ).group_by(col(PlaybookEventRecord.playbook), col(PlaybookEventRecord.kind))
    counts: dict[str, dict[EventKind, int]] = {}
    last: dict[str, datetime] = {}
    with Session(engine) as session:
        for playbook, kind, count, at in session.exec(statement):
            counts.setdefault(playbook, {})[EventKind(kind)] = count
            if at is not None and (playbook not in last or utc(at) > last[playbook]):
                last[playbook] = utc(at)
    rows = [stats(p, c, min_samples, last.get(p)) for p, c in counts.items()]
    return sorted(rows, key=lambda s: (-s.attempts, s.playbook))


def stats_for(engine: Engine, playbook: str, min_samples: int = DEFAULT_MIN_SAMPLES) -> PlaybookStats:
    """One playbook's stats (zeros when it has no history)."""
    statement = (
        select(PlaybookEventRecord.kind, func.count())
        .where(PlaybookEventRecord.playbook == playbook)
        .group_by(col(PlaybookEventRecord.kind))
    )
    with Session(engine) as session:
        counts = {EventKind(kind): count for kind, count in session.exec(statement)}
    return stats(playbook, counts, min_samples)
