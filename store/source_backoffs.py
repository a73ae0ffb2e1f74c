"""The `source_backoff` table: the sweeps' bad sources (a repository or CI project GitHub or GitLab
refused), one row per (sweep, source) while it backs off (`domain.shared.backoff`); a success deletes it.

Shared by every worker and kept across restarts: the reconciler and the CI poller read it before each
source, `mender doctor` and `GET /api/doctor` show it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Engine, Text, delete
from sqlmodel import Field, Session, SQLModel, col, select

from domain.shared.backoff import Backoff
from domain.shared.times import utc
from store import statements


class SourceBackoffRecord(SQLModel, table=True):
    __tablename__ = "source_backoff"

    sweep: str = Field(primary_key=True, max_length=40)  # "reconciler", "ci.poll"
    source: str = Field(primary_key=True, max_length=300)  # owner/name, or provider:project
    repository: str | None = Field(default=None, index=True, max_length=250)
    failures: int
    retry_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


def _backoff(row: SourceBackoffRecord) -> Backoff:
    return Backoff(
        failures=row.failures, retry_at=utc(row.retry_at) if row.retry_at else None, reason=row.reason
    )


def of_sweep(engine: Engine, sweep: str) -> dict[str, Backoff]:
    """Every source `sweep` backs off from, by source."""
    with Session(engine) as session:
        rows = session.exec(select(SourceBackoffRecord).where(col(SourceBackoffRecord.sweep) == sweep)).all()
        return {row.source: _backoff(row) for row in rows}


def put(engine: Engine, sweep: str, source: str, state: Backoff, repository: str | None = None) -> None:
    """Record `source`'s failures in a row and its next try (one upsert: workers may race)."""
    values = {
        "repository": repository,
        "failures": state.failures,
        "retry_at": statements.stored_time(engine, state.retry_at) if state.retry_at else None,
        "reason": state.reason.replace("\x00", ""),  # PostgreSQL refuses NUL
        "updated_at": statements.stored_time(engine, datetime.now(UTC)),
    }
    statement = (
        statements.insert(engine, SourceBackoffRecord)
        .values(sweep=sweep, source=source, **values)
        .on_conflict_do_update(index_elements=["sweep", "source"], set_=values)
    )
    with Session(engine) as session:
        session.exec(statement)  # type: ignore[call-overload]
        session.commit()


def clear(engine: Engine, sweep: str, sources: list[str]) -> None:
    """`sources` answered `sweep` again: their backoff is over."""
    if not sources:
        return
    with Session(engine) as session:
        session.exec(  # type: ignore[call-overload]
            delete(SourceBackoffRecord).where(
                col(SourceBackoffRecord.sweep) == sweep, col(SourceBackoffRecord.source).in_(sources)
            )
        )
        session.commit()


def of_repository(engine: Engine, repository: str) -> list[tuple[str, datetime, Backoff]]:
    """(sweep, last failure, backoff) of every sweep backing off from `repository` now."""
    with Session(engine) as session:
        rows = session.exec(
            select(SourceBackoffRecord).where(col(SourceBackoffRecord.repository) == repository)
        ).all()
        return [(row.sweep, utc(row.updated_at), _backoff(row)) for row in rows]
