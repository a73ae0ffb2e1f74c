"""A PR workflow's projection in one transaction: its row, its new journal lines and its audit rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from domain.pr_healing.lifecycle import JournalEntry
from domain.shared.audit import AuditEntry
from store import audit, repository


def project_pr(
    engine: Engine, values: dict[str, Any], entries: Sequence[JournalEntry], audits: Sequence[AuditEntry]
) -> tuple[int, list[bool]]:
    """Upsert the PR row, append `entries` and record `audits`, each idempotent, in one transaction.

    Returns how many journal lines were new and, per audit entry, whether it was new.
    """
    with Session(engine) as session:
        session.exec(repository.pr_upsert(engine, values))
        added = len(session.exec(repository.events_insert(engine, entries)).all()) if entries else 0
        stored = [session.exec(audit.record_insert(engine, entry)).first() is not None for entry in audits]
        session.commit()
    return added, stored
