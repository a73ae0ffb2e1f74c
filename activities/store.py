"""Store activities: idempotent upserts of the PR projection and its append-only event log."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from activities.ci_history import record_outcome
from activities.definition import defn
from contracts.ci import CIRecordUpdate
from contracts.pr import PRProjection, PRRecordUpdate
from domain.pr_healing.events import EventType
from domain.shared.audit import AuditEntry
from runtime import metrics
from runtime.metrics_feed import observe_audit, observe_journal
from runtime.settings import get_settings
from store import ci_failures, projection, repository
from store.db import engine_for
from store.group_commit import committer_for


@defn(name="store.record_pr")
def record_pr(update: PRRecordUpdate) -> int:
    """Upsert the PR row and append its new events; returns how many events were new."""
    try:
        return _record_pr(engine_for(get_settings().database_url), update)[0]
    except SQLAlchemyError:
        metrics.store_error("record_pr")
        raise


@defn(name="store.project_pr")
async def project_pr(update: PRProjection) -> int:
    """`record_pr` and the audit entries of the same decision, in one transaction; new events.

    Group-committed (`store/group_commit.py`): the projections of the PR workflows that ask at about the
    same time are one transaction of the process's writer thread; this completes when its rows are
    committed. A projection with a remediation reads the journal first (the latency metrics): on its own.
    """
    settings = get_settings()
    engine, record = engine_for(settings.database_url), update.record
    try:
        if _has_remedies(record):
            added, stored = await asyncio.to_thread(_record_pr, engine, record, update.audits)
        else:
            future = committer_for(engine).submit(_values(record), record.entries, update.audits)
            added, stored = await asyncio.wrap_future(future)
    except SQLAlchemyError:
        metrics.store_error("project_pr")
        raise
    for entry, new in zip(update.audits, stored, strict=True):
        if new:
            observe_audit(entry, [settings.config.breaker.scope])
    return added


def _record_pr(
    engine: Engine, update: PRRecordUpdate, audits: Sequence[AuditEntry] = ()
) -> tuple[int, list[bool]]:
    remedies = _has_remedies(update)
    stored = repository.get_pr(engine, update.pr)[1] if remedies else []  # for the latency metrics
    known = {r.payload.get("key") for r in stored}
    added, audited = projection.project_pr(engine, _values(update), update.entries, audits)
    if remedies:
        observe_journal(stored, [e for e in update.entries if e.event.key not in known])
    return added, audited


def _has_remedies(update: PRRecordUpdate) -> bool:
    return any(e.event.type is EventType.REMEDIATION for e in update.entries)


def _values(update: PRRecordUpdate) -> dict[str, Any]:
    return {
        "key": update.pr.key,
        "repo": update.pr.repo,
        "number": update.pr.number,
        "head_sha": update.head_sha,
        "state": update.state,
        "last_event_at": update.last_event_at,
        "invalid_events": update.invalid_count,
        "retry_counts": update.retry_counts,
        "expires_at": update.expires_at,
    }


@defn(name="store.record_ci")
def record_ci(update: CIRecordUpdate) -> None:
    """Upsert the CI failure's row: diagnosis, gate, approval, attempts and outcome."""
    status = update.status
    engine = engine_for(get_settings().database_url)
    try:
        previous = ci_failures.get_ci_failure(engine, status.run.workflow_id)
        _upsert_ci(engine, update)
        record_outcome(engine, update)  # the playbook's success history
    except SQLAlchemyError:
        metrics.store_error("record_ci")
        raise
    if status.outcome and (previous is None or previous.outcome != status.outcome.value):
        metrics.ci_finished(status.outcome.value)
        if status.outcome.value in ("escalated", "incident"):
            metrics.escalated("ci", "succeeded")


def _upsert_ci(engine: Engine, update: CIRecordUpdate) -> None:
    status, d = update.status, update.status.diagnosis
    ci_failures.upsert_ci_failure(
        engine,
        {
            "workflow_id": status.run.workflow_id,
            "provider": status.run.provider.value,
            "project": status.run.project,
            "run_id": status.run.run_id,
            "stage": status.stage[:60],
            "outcome": status.outcome.value if status.outcome else None,
            "category": d.category.value if d else None,
            "action": d.action.value if d else None,
            "risk_score": d.risk_score if d else None,
            "tier": d.tier.value if d else None,
            "confidence": d.confidence if d else None,
            "playbook": d.playbook if d else None,
            "source": d.source.value if d else None,
            "key_line": d.key_line if d else None,
            "approver": status.approval.approver if status.approval else None,
            "approved_at": status.approval.decided_at if status.approval else None,
            "attempts": status.attempts,
            "auto_actions": status.auto_actions,
            "run_url": status.run_url[:500],
            "distilled": update.distilled,
        },
    )
