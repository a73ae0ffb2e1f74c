"""Request and response models of the Admin API (they make its OpenAPI document precise)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from contracts.breaker import BreakerStatus
from contracts.pr import PRStatus
from domain.pr_healing.lifecycle import JournalEntry
from domain.pr_healing.remediation import Expectation
from domain.shared.times import utc, utc_or_none
from store.models import PREventRecord, PullRequestRecord


class ErrorBody(BaseModel):
    """Every error answer: the reason (a list of field errors for malformed requests)."""

    detail: str | list[dict[str, Any]]


class PRSummary(BaseModel):
    """One tracked PR (the fields of `mender prs --json`)."""

    pr: str = Field(description="owner/repo#number")
    repo: str
    number: int
    state: str | None
    head_sha: str | None
    last_event_at: datetime | None
    retry_counts: dict[str, int]
    invalid_events: int
    expires_at: datetime | None

    @classmethod
    def of(cls, record: PullRequestRecord) -> PRSummary:
        return cls(
            pr=record.key,
            repo=record.repo,
            number=record.number,
            state=record.state,
            head_sha=record.head_sha,
            last_event_at=utc_or_none(record.last_event_at),
            retry_counts=record.retry_counts,
            invalid_events=record.invalid_events,
            expires_at=utc_or_none(record.expires_at),
        )


STORY_DETAILS = ("action", "outcome", "detail", "reason", "requester", "via", "command", "conclusion", "name")


def story_details(details: dict[str, Any]) -> dict[str, Any]:
    """The event details a reader needs (remediation action and outcome, ...); nothing else is shown."""
    return {
        k: details[k] for k in STORY_DETAILS if k in details and isinstance(details[k], str | int | float)
    }


class PREventView(BaseModel):
    """One line of a PR's event log."""

    occurred_at: datetime
    type: str
    source: str
    outcome: str
    from_state: str | None
    to_state: str | None
    reason: str
    key: str | None
    actor: str | None
    details: dict[str, Any] = Field(
        default_factory=dict, description="action, outcome, detail, ... of the event"
    )

    @classmethod
    def of_record(cls, event: PREventRecord) -> PREventView:
        return cls(
            occurred_at=utc(event.occurred_at),
            type=event.type,
            source=event.source,
            outcome=event.outcome,
            from_state=event.from_state,
            to_state=event.to_state,
            reason=event.reason,
            key=event.payload.get("key"),
            actor=event.payload.get("actor"),
            details=story_details(event.payload.get("details") or {}),
        )

    @classmethod
    def of_entry(cls, entry: JournalEntry) -> PREventView:
        event, t = entry.event, entry.transition
        return cls(
            occurred_at=event.occurred_at,
            type=event.type.value,
            source=event.source.value,
            outcome=t.outcome.value,
            from_state=t.from_state,
            to_state=t.to_state,
            reason=t.reason,
            key=event.key,
            actor=event.actor,
            details=story_details(event.details),
        )


class PRDetail(PRSummary):
    """One PR with its recent events, from its workflow (live) or, once that is gone, from the store."""

    source: Literal["workflow", "store"]
    workflow_id: str
    expecting: Expectation | None = None
    events: list[PREventView]

    @classmethod
    def of_status(cls, status: PRStatus, record: PullRequestRecord | None) -> PRDetail:
        return cls(
            pr=status.pr.key,
            repo=status.pr.repo,
            number=status.pr.number,
            state=status.state,
            head_sha=status.head_sha,
            last_event_at=status.last_event_at,
            retry_counts=status.retry_counts,
            invalid_events=status.invalid_events,
            expires_at=utc_or_none(record.expires_at) if record else None,
            source="workflow",
            workflow_id=status.workflow_id,
            expecting=status.expecting,
            events=[PREventView.of_entry(e) for e in status.recent_events],
        )

    @classmethod
    def of_store(cls, record: PullRequestRecord, events: list[PREventRecord], workflow_id: str) -> PRDetail:
        return cls(
            **PRSummary.of(record).model_dump(),
            source="store",
            workflow_id=workflow_id,
            events=[PREventView.of_record(e) for e in events],
        )


class StalePR(BaseModel):
    """A tracked, open PR that has sat in one state for longer than that state's staleness threshold."""

    pr: str
    repo: str
    number: int
    state: str
    since: datetime = Field(description="When the PR entered its current state (as far as recorded).")
    stale_seconds: float = Field(description="Seconds in the current state.")
    threshold_seconds: float = Field(description="The state's staleness threshold for this repository.")


class CommandBody(BaseModel):
    """A PR command, as it would be written in a PR comment."""

    command: str = Field(min_length=1, max_length=200, examples=["/rebuild"])


class CommandResult(BaseModel):
    """The PR workflow's answer to a command."""

    accepted: bool
    command: str
    reason: str
    duplicate: bool = False


class ReconcilerRun(BaseModel):
    """The reconciler schedule was triggered: a sweep starts now (unless one is running)."""

    triggered: bool
    schedule_id: str


class BreakerView(BreakerStatus):
    """The breaker's status; `running` is false for a breaker never used (then it is closed)."""

    running: bool = True


class ConfigReload(BaseModel):
    """What reloading `mender.yaml` did: applied (with the sections that changed) or refused and why."""

    applied: bool
    changed: list[str] = Field(default_factory=list)
    error: str | None = None
