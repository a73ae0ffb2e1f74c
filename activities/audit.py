"""Audit activities: record one entry (idempotent) and the retention sweep run by its schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from temporalio import activity

from activities import ci_history
from activities.definition import defn
from contracts.activities import AUDIT_RECORD, AUDIT_SWEEP
from domain.shared.audit import AuditEntry, RetentionReport
from runtime import metrics
from runtime.metrics_feed import observe_audit
from runtime.settings import get_settings
from store import audit as audit_store
from store.db import engine_for


@defn(name=AUDIT_RECORD.name)
def record(entry: AuditEntry) -> bool:
    """Store one audit entry; False when its idempotency key was recorded before (a retry)."""
    settings = get_settings()
    engine = engine_for(settings.database_url)
    try:
        stored = audit_store.record(engine, entry)
    except SQLAlchemyError:
        metrics.store_error("audit")
        raise
    try:  # a merged fix PR counts for its playbook (idempotent, so also on a retry)
        ci_history.record_fix_pr_merge(engine, entry)
    except SQLAlchemyError as exc:
        activity.logger.warning("fix PR merge not recorded in the playbook history (%s)", type(exc).__name__)
    if stored:
        observe_audit(entry, [settings.config.breaker.scope])
    return stored


@defn(name=AUDIT_SWEEP.name)
def sweep() -> RetentionReport:
    """Archive (when `audit.archive_dir` is set) and delete rows older than `audit.retention_days`."""
    settings = get_settings()
    config = settings.config.audit
    cutoff = datetime.now(UTC) - timedelta(days=config.retention_days)
    archive = Path(config.archive_dir) if config.archive_dir else None
    purged = audit_store.purge(engine_for(settings.database_url), cutoff, archive)
    activity.logger.info("audit retention: %d rows before %s purged", purged, cutoff.isoformat())
    return RetentionReport(cutoff=cutoff, purged=purged, archive_dir=str(archive) if archive else None)


AUDIT_ACTIVITIES = [record, sweep]
