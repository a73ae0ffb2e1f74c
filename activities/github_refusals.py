"""Refusals GitHub gave an activity (401 bad credentials, 403 missing permission): recorded as
`github.access_denied` audit rows, so `mender doctor`, `GET /api/doctor` and the Health page show them.

Recording never fails the activity: the refusal itself is what the activity reports.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from domain.shared.audit import AuditEntry, AuditOutcome, AuditSource
from domain.shared.github_access import ACCESS_DENIED
from runtime.settings import get_settings
from store import audit as audit_store
from store.db import engine_for

log = logging.getLogger(__name__)


def record_refusal(repo: str | None, status: int, permission: str | None, message: str, call: str) -> None:
    """Audit one refusal (at most once per repository, status and permission an hour)."""
    now = datetime.now(UTC)
    entry = AuditEntry(
        action=ACCESS_DENIED,
        actor="mender",
        outcome=AuditOutcome.FAILED,
        target=repo or "github",
        repository=repo,
        source=AuditSource.WORKFLOW,
        details={"status": status, "permission": permission, "message": message[:300], "call": call[:300]},
        error=f"{call}: GitHub answered {status} {message}"[:1000],
        idempotency_key=f"{ACCESS_DENIED}:{repo}:{status}:{permission}:{now:%Y%m%d%H}",
        at=now,
    )
    try:
        audit_store.record(engine_for(get_settings().database_url), entry)
    except SQLAlchemyError as exc:
        log.warning("could not record GitHub's refusal of %s: %s", call, type(exc).__name__)
