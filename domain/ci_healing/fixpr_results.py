"""What the fix PR decider reads and keeps: the fix PR, its input, the settings, each step's result, the status.

The activities return these and the `status` query answers `FixPRStatus`; `contracts/fixpr.py`
re-exports them as the fix PR workflow's boundary.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.ci_healing.confidence import Confidence
from domain.ci_healing.config import HISTORY_EVENTS_BEFORE_CONTINUE
from domain.ci_healing.evidence import CheckResult, Evidence
from domain.ci_healing.fixpr import FixPRDecision
from domain.ci_healing.fixpr_config import FixPRPolicy
from domain.ci_healing.review_queue import ReviewDecision
from domain.ci_healing.risk import RiskConfig
from domain.ci_healing.runs import CIRunRef
from domain.config import Mode
from domain.diagnosis.verdict import Diagnosis
from domain.shared.models import Frozen


def fixpr_workflow_id(project: str, number: int) -> str:
    return f"fixpr/{project}/{number}"


class FixPRRef(Frozen):
    """One fix PR and the failed run it fixes."""

    run: CIRunRef
    number: int = Field(ge=1)
    branch: str
    url: str = ""

    @property
    def project(self) -> str:
        return self.run.project

    @property
    def workflow_id(self) -> str:
        return fixpr_workflow_id(self.run.project, self.number)


class FixPRInput(BaseModel):
    """What the CI failure workflow hands over when its fix PR is open."""

    pr: FixPRRef
    diagnosis: Diagnosis
    files: list[str] = Field(default_factory=list)  # the files the fix changed
    failed_jobs: list[str] = Field(default_factory=list)  # the jobs that failed in the original run
    title: str = ""
    plan_approved: bool = False  # a human approved the plan when the risk gate asked
    follow_up: bool = False  # for a run healed otherwise (a flaky test's quarantine): never holds, tells or
    # settles that run


class FixPRSettings(Frozen):
    """The configuration a fix PR decision needs, current when asked."""

    policy: FixPRPolicy
    risk: RiskConfig
    mode: Mode
    history_events_before_continue: int = (
        HISTORY_EVENTS_BEFORE_CONTINUE  # `ci.history_events_before_continue`
    )


class ChecksSnapshot(Frozen):
    """The PR and its head's checks, as GitHub shows them now."""

    state: str  # open, closed, merged
    head_sha: str
    base: str
    checks: list[CheckResult] = Field(default_factory=list)
    approvals: list[str] = Field(default_factory=list)  # logins whose latest review approves
    verified: bool | None = None  # every commit of the PR carries a verified signature
    merge_sha: str | None = None

    @property
    def done(self) -> bool:
        return bool(self.checks) and all(c.conclusion is not None for c in self.checks)


class MergeResult(Frozen):
    merged: bool
    sha: str | None = None
    detail: str = ""


class RevertResult(Frozen):
    opened: bool
    number: int | None = None
    url: str | None = None
    merged: bool = False
    detail: str = ""


class FixPRStatus(BaseModel):
    """What the `status` query answers."""

    pr: FixPRRef
    stage: str = "waiting for checks"
    evidence: Evidence | None = None
    confidence: Confidence | None = None
    decision: FixPRDecision | None = None
    review: ReviewDecision | None = None
    outcome: str | None = None  # merged, queued, blocked, rejected, reverted, closed, kept
    merge_sha: str | None = None
    revert_url: str | None = None
    events: list[str] = Field(default_factory=list)
