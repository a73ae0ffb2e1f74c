"""The audit trail table and its three operations: idempotent `record`, filtered `query`, `purge`.

Times are stored in UTC (SQLite keeps them naive; they are read back as UTC).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Engine, delete
from sqlmodel import Field, Session, SQLModel, col, select

from domain.shared.audit import AuditEntry, AuditFilter, AuditRow
from domain.shared.redaction import redact_data
from domain.shared.times import utc
from store import statements

PURGE_BATCH = 500


class AuditLogRecord(SQLModel, table=True):
    """One audited action (see `domain.shared.audit.AuditEntry`)."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), index=True, nullable=False))
    actor: str = Field(index=True, max_length=200)
    action: str = Field(index=True, max_length=60)
    target: str = Field(default="", max_length=300)
    repository: str | None = Field(default=None, index=True, max_length=250)
    source: str = Field(max_length=20)
    outcome: str = Field(index=True, max_length=20)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None
    idempotency_key: str | None = Field(default=None, unique=True, max_length=400)


def record(engine: Engine, entry: AuditEntry) -> bool:
    """Store one entry; False when its idempotency key was stored already (nothing is written)."""
    with engine.begin() as connection:
        return connection.execute(*record_insert(engine, entry)).first() is not None


def record_insert(engine: Engine, entry: AuditEntry) -> tuple[Any, dict[str, Any]]:
    """The statement `record` runs and its row: it returns a row when the entry was written."""
    values = entry.model_dump(mode="json", exclude={"at"})
    for name in ("target", "details", "error"):  # free text: no secret is stored
        values[name] = redact_data(values[name])
    values["at"] = statements.stored_time(engine, entry.at or datetime.now(UTC))
    table = AuditLogRecord.__table__
    return statements.insert_ignoring(engine, table, "idempotency_key", "id"), values  # type: ignore[arg-type]


def to_row(record: AuditLogRecord) -> AuditRow:
    assert record.id is not None
    return AuditRow.model_validate({**record.model_dump(), "at": utc(record.at)})


def query(engine: Engine, where: AuditFilter) -> list[AuditRow]:
    """Rows matching every given filter, newest first (ties: last recorded first)."""
    statement = select(AuditLogRecord)
    for name in ("repository", "action", "outcome", "actor", "target"):
        value = getattr(where, name)
        if value is not None:
            statement = statement.where(getattr(AuditLogRecord, name) == value)
    if where.since is not None:
        statement = statement.where(col(AuditLogRecord.at) >= statements.stored_time(engine, where.since))
    if where.until is not None:
        statement = statement.where(col(AuditLogRecord.at) < statements.stored_time(engine, where.until))
    statement = statement.order_by(col(AuditLogRecord.at).desc(), col(AuditLogRecord.id).desc())
    statement = statement.offset(where.offset).limit(where.limit)
    with Session(engine) as session:
        return [to_row(r) for r in session.exec(statement)]


def purge(engine: Engine, older_than: datetime, archive_dir: Path | None = None) -> int:
    """Delete rows older than `older_than`, oldest first, in batches; returns how many.

    With `archive_dir`, each batch is appended (JSON lines, fsynced) to
    `audit-before-<cutoff>.jsonl` before it is deleted: a retry after a crash may archive a batch
    twice, but never deletes a row that was not archived.
    """
    cutoff = statements.stored_time(engine, older_than)
    archive = None
    if archive_dir is not None:
        archive_dir.mkdir(parents=True, exist_ok=True)
        archive = archive_dir / f"audit-before-{utc(older_than):%Y%m%dT%H%M%SZ}.jsonl"
    purged = 0
    while True:
        with Session(engine) as session:
            batch = list(
                session.exec(
                    select(AuditLogRecord)
                    .where(col(AuditLogRecord.at) < cutoff)
                    .order_by(col(AuditLogRecord.at), col(AuditLogRecord.id))
                    .limit(PURGE_BATCH)
                )
            )
            if not batch:
                return purged
            if archive is not None:
                _append(archive, [to_row(r).model_dump_json() for r in batch])
            ids = [r.id for r in batch]
            session.exec(delete(AuditLogRecord).where(col(AuditLogRecord.id).in_(ids)))
            session.commit()
            purged += len(batch)


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a", encoding="utf-8") as out:
        out.write("".join(line + "\n" for line in lines))
        out.flush()
        os.fsync(out.fileno())


def read_archive(path: Path) -> list[AuditRow]:
    """The rows of one archive file (tests, audits of the archive)."""
    return [AuditRow.model_validate(json.loads(line)) for line in path.read_text().splitlines() if line]
