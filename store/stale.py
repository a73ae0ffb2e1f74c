"""Which tracked, open PRs have sat in one state for longer than that state's staleness threshold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, or_
from sqlmodel import Session, col, func, select

from domain.config import MenderConfig
from domain.pr_healing.lifecycle import TERMINAL_STATES, PRState, TransitionOutcome
from domain.shared.times import aware
from store.models import PREventRecord, PullRequestRecord


@dataclass(frozen=True)
class Stale:
    record: PullRequestRecord
    since: datetime  # when the PR entered its current state (UTC)
    seconds: float
    threshold: float


def state_entered_at(engine: Engine) -> dict[str, datetime]:
    """Per PR key: the time of the latest recorded event that changed its state."""
    changed = or_(
        col(PREventRecord.from_state).is_(None), col(PREventRecord.from_state) != PREventRecord.to_state
    )
    query = (
        select(PREventRecord.pr_key, func.max(PREventRecord.occurred_at))
        .where(PREventRecord.outcome == TransitionOutcome.APPLIED.value, changed)
        .group_by(PREventRecord.pr_key)
    )
    with Session(engine) as session:
        return {key: aware(at) for key, at in session.exec(query) if at is not None}


def stale_prs(engine: Engine, config: MenderConfig, now: datetime) -> list[Stale]:
    """Open PRs past their state's threshold (per-repository overrides applied), stalest first."""
    closed = [s.value for s in TERMINAL_STATES]
    query = select(PullRequestRecord).where(
        col(PullRequestRecord.state).is_not(None), col(PullRequestRecord.state).not_in(closed)
    )
    with Session(engine) as session:
        records = list(session.exec(query))
    entered = state_entered_at(engine)
    found: list[Stale] = []
    for record in records:
        try:
            state = PRState(record.state)
        except ValueError:
            continue
        since = entered.get(record.key) or aware(record.last_event_at or record.created_at)
        threshold = config.policy_for(record.repo).stale_after(state)
        seconds = (now - since).total_seconds()
        if seconds > threshold:
            found.append(Stale(record, since, seconds, threshold))
    return sorted(found, key=lambda s: s.seconds, reverse=True)
