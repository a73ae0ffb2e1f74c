"""What the dashboard and the Admin API's operator endpoints show, read from the store (one home)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from domain.config import MenderConfig
from domain.pr_healing.events import PRRef
from domain.pr_healing.lifecycle import PRState
from domain.reports.ci_view import CIView, ci_view
from domain.reports.needs_me import CI_ACTION, Attempt, NeedsMe, StuckPR, WaitingCI, human_action, why_stuck
from domain.reports.success import Metric, Window, roi_tracker, scorecard, trend
from domain.shared.github_access import ACCESS_DENIED
from domain.shared.times import utc
from store import repository, stale
from store.audit import AuditLogRecord
from store.ci_failures import CIFailureRecord
from store.models import PullRequestRecord, WebhookDeliveryRecord
from store.report_data import ci_facts, pr_histories
from store.statements import stored_time

RERUNS = ("retry", "free_disk")


def _workflow_url(config: MenderConfig, workflow_id: str) -> str:
    base = config.reports.temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{config.temporal.namespace}/workflows/{workflow_id}"


def _stuck(
    engine: Engine, config: MenderConfig, record: PullRequestRecord, since: datetime, now: datetime
) -> StuckPR:
    ref = PRRef(repo=record.repo, number=record.number)
    _, events = repository.get_pr(engine, ref)
    tried = [
        Attempt(
            at=utc(e.occurred_at),
            action=str(e.payload.get("details", {}).get("action")),
            outcome=str(e.payload.get("details", {}).get("outcome")),
            detail=str(e.payload.get("details", {}).get("detail") or ""),
        )
        for e in events
        if e.type == "remediation"
    ]
    escalation = next((e for e in reversed(events) if e.type == "escalated"), None)
    reason = (
        (escalation.payload.get("details", {}).get("reason") or escalation.reason) if escalation else None
    )
    opened = next((e for e in events if e.type == "opened"), None)
    url = (opened.payload.get("details", {}).get("html_url") if opened else None) or (
        f"https://github.com/{record.repo}/pull/{record.number}"
    )
    state = record.state or ""
    try:
        threshold = config.policy_for(record.repo).stale_after(PRState(state) if state else None)
    except ValueError:
        threshold = 0.0
    seconds = (now - since).total_seconds()
    return StuckPR(
        pr=record.key,
        repo=record.repo,
        number=record.number,
        state=state,
        since=since,
        stuck_seconds=round(seconds, 1),
        why=why_stuck(state, seconds, threshold, reason),
        tried=tried,
        human_action=human_action(state),
        pr_url=str(url),
        workflow_url=_workflow_url(config, ref.workflow_id),
    )


def needs_me(engine: Engine, config: MenderConfig, now: datetime, ci_days: float = 7.0) -> NeedsMe:
    """Stuck PRs (stale, or handed to a human), CI failures waiting for a human, fix PRs to review."""
    found = {s.record.key: (s.record, s.since) for s in stale.stale_prs(engine, config, now)}
    entered = stale.state_entered_at(engine)
    for record in repository.list_prs(engine, state="NEEDS_INTERVENTION", limit=1000):
        found.setdefault(record.key, (record, entered.get(record.key) or utc(record.updated_at)))
    prs = [_stuck(engine, config, record, since, now) for record, since in found.values()]
    prs.sort(key=lambda p: p.stuck_seconds, reverse=True)
    ci, review = [], []
    with Session(engine) as session:
        rows = session.exec(
            select(CIFailureRecord)
            .where(col(CIFailureRecord.updated_at) >= now - timedelta(days=ci_days))
            .order_by(col(CIFailureRecord.updated_at).desc())
        )
        for row in rows:
            waiting = _waiting_for(row)
            if waiting is None:
                continue
            item = _waiting(config, row, waiting)
            (review if waiting == "review" else ci).append(item)
    return NeedsMe(prs=prs, ci=ci, review=review)


def _waiting_for(row: CIFailureRecord) -> str | None:
    if row.stage == "awaiting approval":
        return "awaiting approval"
    if row.outcome in ("escalated", "incident"):
        return row.outcome
    if row.outcome in ("auto_fixed", "approved_fixed") and row.action not in RERUNS:
        return "review"
    return None


def _fix_pr(row: CIFailureRecord) -> str | None:
    for attempt in reversed(row.attempts):
        for word in attempt.split():
            if word.startswith("http") and "/pull" in word:
                return word
    return None


def _waiting(config: MenderConfig, row: CIFailureRecord, waiting: str) -> WaitingCI:
    return WaitingCI(
        workflow_id=row.workflow_id,
        project=row.project,
        run_id=row.run_id,
        waiting_for=waiting,
        category=row.category,
        action=row.action,
        key_line=(row.key_line or "")[:300] or None,
        since=utc(row.updated_at),
        human_action=CI_ACTION[waiting],
        run_url=row.run_url,
        fix_pr_url=_fix_pr(row),
        workflow_url=_workflow_url(config, row.workflow_id),
    )


class SuccessView(BaseModel):
    window_start: datetime
    window_end: datetime
    metrics: list[Metric]
    weekly: list[tuple[datetime, dict[str, float | None]]]
    monthly: list[tuple[datetime, dict[str, float | None]]]
    roi: list[tuple[datetime, float, float]]  # day, cumulative hours saved, cumulative USD saved


def success(engine: Engine, config: MenderConfig, end: datetime, days: int = 30) -> SuccessView:
    window = Window(end - timedelta(days=days), end)
    prs = pr_histories(engine, config, end)
    ci = ci_facts(engine, end)
    long = Window(end - timedelta(days=max(days, 90)), end)
    return SuccessView(
        window_start=window.start,
        window_end=window.end,
        metrics=scorecard(prs, window, config.reports),
        weekly=trend(prs, window, timedelta(days=7)),
        monthly=trend(prs, long, timedelta(days=30)),
        roi=roi_tracker(prs, ci, window, config.reports),
    )


def ci_summary(engine: Engine, config: MenderConfig, end: datetime, days: int = 30) -> CIView:
    return ci_view(ci_facts(engine, end), Window(end - timedelta(days=days), end), config.reports)


class HealthView(BaseModel):
    window_start: datetime
    window_end: datetime
    webhooks: dict[str, int]  # stored deliveries by outcome (rejected ones: see the metrics)
    actions: dict[str, dict[str, int]]  # remediation action -> outcome -> count
    breakers: dict[str, dict[str, Any]]  # scope -> last change
    errors: dict[str, int]  # failed audit rows by action
    reconciler: dict[str, Any] = {}
    github_access: list[dict[str, Any]] = []  # refusals (401/403) activities met: newest per repo and kind


def health(engine: Engine, end: datetime, hours: float = 24.0) -> HealthView:
    start = end - timedelta(hours=hours)
    with Session(engine) as session:
        deliveries = session.exec(
            select(WebhookDeliveryRecord.outcome).where(
                col(WebhookDeliveryRecord.received_at) >= start, col(WebhookDeliveryRecord.received_at) < end
            )
        )
        webhooks = dict(Counter(deliveries))
        audit_rows = list(
            session.exec(
                select(AuditLogRecord).where(
                    col(AuditLogRecord.at) >= stored_time(engine, start),
                    col(AuditLogRecord.at) < stored_time(engine, end),
                )
            )
        )
        last_changes = list(
            session.exec(
                select(AuditLogRecord)
                .where(AuditLogRecord.action == "breaker.change")
                .order_by(col(AuditLogRecord.at).desc())
                .limit(50)
            )
        )
    actions: dict[str, Counter] = {}
    for row in audit_rows:
        if row.action == "pr.remediation":
            actions.setdefault(str(row.details.get("action")), Counter())[
                str(row.details.get("outcome"))
            ] += 1
    breakers: dict[str, dict[str, Any]] = {}
    for row in last_changes:
        scope = row.target.removeprefix("breaker/")
        breakers.setdefault(
            scope, {"state": row.outcome, "since": utc(row.at).isoformat(), "actor": row.actor}
        )
    errors = Counter(
        r.action
        for r in audit_rows
        if r.outcome in ("failed", "5xx")
        and r.details.get("outcome") != "no effect"  # no effect: not an error
    )
    return HealthView(
        window_start=start,
        window_end=end,
        webhooks=webhooks,
        actions={a: dict(c) for a, c in sorted(actions.items())},
        breakers=breakers,
        errors=dict(errors),
        github_access=access_refusals(audit_rows),
    )


def access_refusals(rows: list[AuditLogRecord]) -> list[dict[str, Any]]:
    """The newest refusal per (repository, status, permission), newest first."""
    newest: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in sorted((r for r in rows if r.action == ACCESS_DENIED), key=lambda r: r.at, reverse=True):
        details = row.details
        key = (row.repository, details.get("status"), details.get("permission"))
        newest.setdefault(
            key,
            {
                "repository": row.repository,
                "at": utc(row.at).isoformat(),
                "status": details.get("status"),
                "permission": details.get("permission"),
                "message": details.get("message"),
                "call": details.get("call"),
            },
        )
    return list(newest.values())


def parse_end(value: str | None) -> datetime:
    """`end` query values: ISO 8601 (UTC if naive); default now."""
    if not value:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
        parsed = utc(parsed)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range") from None
    if not 1970 <= parsed.year <= 2200:
        raise ValueError(f"{value!r}: the year must be between 1970 and 2200")
    return parsed
