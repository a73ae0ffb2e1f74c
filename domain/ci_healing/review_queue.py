"""The review queue of fix PRs: an item's shape, the decisions a human can take, the backlog alert rule.

The alert goes out when the queue holds at least `backlog_items` pending items or its oldest item has
waited at least `backlog_age_hours`, and at most once per `alert_period_hours`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from domain.ci_healing.fixpr_config import ReviewQueueConfig


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CLOSED = "closed"  # the PR was merged or closed outside the queue


class ReviewDecision(BaseModel):
    """A human's answer to a queued fix PR (from the CLI, the Admin API or Slack)."""

    model_config = ConfigDict(frozen=True)

    approved: bool
    by: str = Field(min_length=1, max_length=200)
    reason: str = Field("", max_length=2000)
    at: datetime


MR_URL_PART = "/-/merge_requests/"  # a GitLab merge request's web URL


class ReviewItem(BaseModel):
    """One queued fix PR."""

    model_config = ConfigDict(frozen=True)

    id: int | None = None
    workflow_id: str
    repo: str
    pr_number: int
    pr_url: str = ""
    title: str = ""
    score: float = 0.0
    route: str = "review"
    reasons: list[str] = Field(default_factory=list)
    status: ReviewStatus = ReviewStatus.PENDING
    created_at: datetime
    decided_at: datetime | None = None
    decided_by: str | None = None
    reason: str = ""

    @property
    def pr_ref(self) -> str:
        """`owner/repo#n` for a GitHub PR, `group/project!iid` for a GitLab MR (known by its URL)."""
        return f"{self.repo}{'!' if MR_URL_PART in self.pr_url else '#'}{self.pr_number}"


class Backlog(BaseModel):
    model_config = ConfigDict(frozen=True)

    pending: int = Field(ge=0)
    oldest: datetime | None = None
    last_alert: datetime | None = None


def backlog_alert(backlog: Backlog, now: datetime, config: ReviewQueueConfig) -> str | None:
    """The alert text when the backlog calls for one now, else None."""
    if backlog.last_alert is not None and now - backlog.last_alert < timedelta(
        hours=config.alert_period_hours
    ):
        return None
    waited = (now - backlog.oldest) if backlog.oldest is not None else timedelta(0)
    too_many = backlog.pending >= config.backlog_items
    too_old = backlog.pending > 0 and waited >= timedelta(hours=config.backlog_age_hours)
    if not (too_many or too_old):
        return None
    hours = waited.total_seconds() / 3600
    return (
        f"Review queue backlog: {backlog.pending} fix PR(s) wait for review, the oldest for {hours:.0f} h "
        f"(alert at {config.backlog_items} items or {config.backlog_age_hours:.0f} h). "
        "`mender review list` shows them."
    )
