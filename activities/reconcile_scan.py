"""`mender scan`: the reconciler's sweep over open bot PRs without acting, with each PR's staleness and
the action Mender would take."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from activities.github import read_snapshot
from activities.reconcile import open_bot_pulls
from domain.pr_healing.classifier import classify
from domain.pr_healing.events import PRRef
from domain.pr_healing.facts import missed_facts
from domain.pr_healing.lifecycle import PRLifecycle, PRState, apply
from domain.shared.times import aware
from runtime.settings import Settings
from store import repository
from store.db import engine_for


class ScanRow(BaseModel):
    """One line of `mender scan`: an open bot PR, how stale it is and what Mender would do."""

    pr: str
    title: str
    author: str
    state: str
    tracked: bool
    stale_seconds: float
    action: str
    reason: str
    url: str | None = None


def scan(settings: Settings) -> list[ScanRow]:
    """The reconciler's sweep without acting: every open bot PR, its staleness and recommended action."""
    engine = engine_for(settings.database_url)
    now = datetime.now(UTC)
    rows: list[ScanRow] = []
    for repo, pull in open_bot_pulls(settings):
        ref = PRRef(repo=repo.full_name, number=pull.number)
        snap = read_snapshot(repo, pull, ref)
        record, _ = repository.get_pr(engine, ref)
        state = PRState(record.state) if record and record.state else PRState.CREATED
        lifecycle = PRLifecycle(pr=ref, state=state, head_sha=record.head_sha if record else snap.head_sha)
        policy = settings.config.policy_for(ref.repo)
        for event in missed_facts(lifecycle, snap, policy.policy_context, now):
            lifecycle, _ = apply(lifecycle, event)
        counts = record.retry_counts if record else {}
        decision = classify(
            lifecycle.state, [], snap, counts, policy.retry_budgets, policy.remediation, policy.policy_context
        )
        last = record.last_event_at if record and record.last_event_at else pull.updated_at
        rows.append(
            ScanRow(
                pr=ref.key,
                title=pull.title or "",
                author=snap.author,
                state=str(lifecycle.state),
                tracked=record is not None,
                stale_seconds=round((now - aware(last)).total_seconds(), 1) if last else 0.0,
                action=decision.action.value,
                reason=decision.reason,
                url=pull.html_url,
            )
        )
    return rows
