"""What Mender tells humans: the content of notifications, independent of the channel."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from domain.pr_healing.events import PRRef


class ActionAttempt(BaseModel):
    """One remediation Mender tried on a PR and how it went."""

    action: str
    outcome: str  # e.g. "succeeded", "failed", "no effect", "refused by breaker", "observe only"
    at: datetime
    detail: str = ""


class EscalationNotice(BaseModel):
    """A PR that needs a human: why, what happened, and what Mender already tried."""

    pr: PRRef
    html_url: str | None = None
    state: str | None = None
    reason: str
    history: list[str] = Field(default_factory=list)  # one line per recent event, oldest first
    actions: list[ActionAttempt] = Field(default_factory=list)


class BreakerNotice(BaseModel):
    """A circuit breaker changed state."""

    scope: str
    old_state: str
    new_state: str
    reason: str
    failure_rate: float | None = None
    samples: int = 0
    at: datetime


class NoticeResult(BaseModel):
    """Where a notification was posted."""

    channel: str
    ts: str
