"""Backoff for one bad source (a repository or CI project that GitHub or GitLab refuses), pure.

A sweep that meets a failing source skips it, not the others: the source waits `base * 2^(n-1)`
seconds after its n-th failure in a row (at most `cap`), then is tried again; one success clears it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from domain.shared.audit import AuditEntry, AuditOutcome

CAP_SECONDS = 3600.0


class Backoff(BaseModel):
    """The failures in a row of one source, and when to try it again."""

    model_config = ConfigDict(frozen=True)

    failures: int = 0
    retry_at: datetime | None = None
    reason: str = ""


def due(b: Backoff | None, now: datetime) -> bool:
    """May the source be tried now?"""
    return b is None or b.retry_at is None or now >= b.retry_at


def failed(b: Backoff | None, now: datetime, reason: str, base: float, cap: float = CAP_SECONDS) -> Backoff:
    """One more failure in a row: the next try waits twice as long as the last (bounded)."""
    failures = (b.failures if b else 0) + 1
    wait = min(cap, base * 2 ** min(failures - 1, 30))
    return Backoff(failures=failures, retry_at=now + timedelta(seconds=wait), reason=reason[:500])


def audit_entry(
    sweep: str, source: str, b: Backoff, now: datetime, repository: str | None = None
) -> AuditEntry:
    """The audit row of a source that failed a sweep (one per failure in a row)."""
    return AuditEntry(
        action=f"{sweep}.source_failed",
        actor="mender",
        outcome=AuditOutcome.FAILED,
        target=source,
        repository=repository,
        source="reconciler",
        details={
            "failures_in_a_row": b.failures,
            "retry_at": b.retry_at.isoformat() if b.retry_at else None,
        },
        error=b.reason,
        idempotency_key=f"{sweep}:{source}:{b.failures}:{b.retry_at.isoformat() if b.retry_at else ''}",
        at=now,
    )
