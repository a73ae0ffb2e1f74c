"""Read the store projection and the audit trail into the plain histories the reports compute on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from domain.config import MenderConfig
from domain.pr_healing.lifecycle import PRState, TransitionOutcome
from domain.reports.history import CIFact, JournalRow, PRHistory, build
from domain.shared.times import utc
from store.audit import AuditLogRecord
from store.ci_failures import CIFailureRecord
from store.models import PREventRecord, PullRequestRecord

HUMAN_SOURCES = ("comment", "api", "cli")


def _threshold(config: MenderConfig, repo: str) -> Callable[[str], float]:
    policy = config.policy_for(repo)

    def seconds(state: str) -> float:
        try:
            return policy.stale_after(PRState(state))
        except ValueError:
            return policy.unknown_pr_linger_seconds

    return seconds


def pr_histories(engine: Engine, config: MenderConfig, until: datetime) -> list[PRHistory]:
    """Every PR created before `until`, with its journal up to `until`."""
    with Session(engine) as session:
        records = list(
            session.exec(
                select(PullRequestRecord.key, PullRequestRecord.repo, PullRequestRecord.created_at).where(
                    col(PullRequestRecord.created_at) < until
                )
            )
        )
        events = session.exec(  # plain columns, not ORM objects: a month of a fleet is many rows
            select(
                PREventRecord.pr_key,
                PREventRecord.occurred_at,
                PREventRecord.type,
                PREventRecord.outcome,
                PREventRecord.from_state,
                PREventRecord.to_state,
                PREventRecord.payload,
            )
            .where(col(PREventRecord.occurred_at) < until)
            .order_by(col(PREventRecord.occurred_at), col(PREventRecord.id))
        )
        journal: dict[str, list[JournalRow]] = defaultdict(list)
        applied, noted = TransitionOutcome.APPLIED.value, TransitionOutcome.NOTED.value
        for pr_key, at, kind, outcome, from_state, to_state, payload in events:
            journal[pr_key].append(
                JournalRow(
                    at=utc(at),
                    type=kind,
                    applied=outcome == applied,
                    noted=outcome == noted,
                    from_state=from_state,
                    to_state=to_state,
                    details=dict(payload.get("details") or {}),
                )
            )
        touched = set(
            session.exec(
                select(AuditLogRecord.target).where(
                    AuditLogRecord.action == "pr.command",
                    AuditLogRecord.outcome == "accepted",
                    col(AuditLogRecord.source).in_(HUMAN_SOURCES),
                )
            )
        )
    thresholds = {repo: _threshold(config, repo) for _, repo, _ in records}
    return [
        build(
            key,
            repo,
            utc(created),
            journal.get(key, []),
            thresholds[repo],
            until,
            human_touched=key in touched,
        )
        for key, repo, created in records
    ]


def ci_facts(engine: Engine, until: datetime) -> list[CIFact]:
    """Every handled CI failure first recorded before `until`."""
    cutoff = until
    with Session(engine) as session:
        rows = session.exec(select(CIFailureRecord).where(col(CIFailureRecord.created_at) < cutoff))
        return [
            CIFact(
                at=utc(r.created_at),
                project=r.project,
                category=r.category,
                action=r.action,
                outcome=r.outcome,
                key_line=r.key_line,
                stage=r.stage,
            )
            for r in rows
        ]
