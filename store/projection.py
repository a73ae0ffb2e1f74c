"""A PR workflow's projection in one transaction: its row, its new journal lines and its audit rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine

from domain.pr_healing.lifecycle import JournalEntry
from domain.shared.audit import AuditEntry
from store import audit, repository


def project_pr(
    engine: Engine, values: dict[str, Any], entries: Sequence[JournalEntry], audits: Sequence[AuditEntry]
) -> tuple[int, list[bool]]:
    """Upsert the PR row, append `entries` and record `audits`, each idempotent, in one transaction.

    Returns how many journal lines were new and, per audit entry, whether it was new.
    """
    with engine.begin() as connection:
        return write_projection(connection, engine, values, entries, audits)


def write_projection(
    connection: Connection,
    engine: Engine,
    values: dict[str, Any],
    entries: Sequence[JournalEntry],
    audits: Sequence[AuditEntry],
) -> tuple[int, list[bool]]:
    """`project_pr`'s statements on `connection`, inside the caller's transaction."""
    connection.execute(*repository.pr_upsert(engine, values))
    added = len(connection.execute(*repository.events_insert(engine, entries)).all()) if entries else 0
    stored = [connection.execute(*audit.record_insert(engine, entry)).first() is not None for entry in audits]
    return added, stored
