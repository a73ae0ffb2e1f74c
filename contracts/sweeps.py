"""The scheduled sweeps' boundary: workflow and schedule ids, and what each sweep reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field

from domain.pr_healing.events import PRRef

RECONCILER_WORKFLOW = "Reconciler"
RECONCILER_WORKFLOW_ID = "reconciler"
RECONCILER_SCHEDULE_ID = "mender-reconciler"
CI_POLLER_WORKFLOW = "CIPoller"
CI_POLLER_WORKFLOW_ID = "ci-poller"
CI_POLLER_SCHEDULE_ID = "mender-ci-poller"
AUDIT_RETENTION_WORKFLOW = "AuditRetention"
AUDIT_RETENTION_WORKFLOW_ID = "audit-retention"
AUDIT_RETENTION_SCHEDULE_ID = "mender-audit-retention"


@dataclass(frozen=True)
class SweepSpec:
    """One scheduled sweep: the workflow type a Temporal Schedule starts, under which ids."""

    workflow: str
    workflow_id: str
    schedule_id: str


RECONCILER = SweepSpec(RECONCILER_WORKFLOW, RECONCILER_WORKFLOW_ID, RECONCILER_SCHEDULE_ID)
CI_POLLER = SweepSpec(CI_POLLER_WORKFLOW, CI_POLLER_WORKFLOW_ID, CI_POLLER_SCHEDULE_ID)
AUDIT_RETENTION = SweepSpec(
    AUDIT_RETENTION_WORKFLOW, AUDIT_RETENTION_WORKFLOW_ID, AUDIT_RETENTION_SCHEDULE_ID
)


class OpenPR(BaseModel):
    """An open PR by a tracked bot, as listed by GitHub."""

    pr: PRRef
    author: str
    head_sha: str
    title: str = ""
    html_url: str | None = None
    updated_at: datetime | None = None


class SweepReport(BaseModel):
    """What one reconciler run found and did."""

    scanned: int = 0
    discovered: list[str] = Field(default_factory=list)
    refreshed: list[str] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list)
    failed_repos: list[str] = Field(
        default_factory=list
    )  # GitHub refused them this time: skipped, retried after a backoff (or next sweep: a rate limit)
    backing_off: list[str] = Field(default_factory=list)  # refused lately: not asked until their backoff ends
    truncated: bool = False
    commands: list[str] = Field(default_factory=list)  # "<pr>:<key>": comment commands whose webhook was lost
    recorded_closed: list[str] = Field(default_factory=list)  # closed/merged before Mender saw them open


class PollReport(BaseModel):
    projects: int = 0
    failures_seen: int = 0
    delivered: int = 0
    known: int = 0
    errors: list[str] = Field(default_factory=list)
    failed_projects: list[str] = Field(default_factory=list)  # `provider:project` refused this time
    backing_off: list[str] = Field(default_factory=list)  # skipped: failed lately, retried after a backoff
    learned: list[str] = Field(default_factory=list)  # learned fixes stored by this poll
