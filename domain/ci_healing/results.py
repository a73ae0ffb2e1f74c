"""What the CI decider reads and keeps: the settings now, the analysis, each step's result, the status.

The activities return these and the `status` query answers `CIStatus`; `contracts/ci.py` re-exports
them as the CI workflow's boundary.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.ci_healing.approval import ApprovalDecision
from domain.ci_healing.config import CIConfig
from domain.ci_healing.failed_tests import FailedTest
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.risk import GateDecision
from domain.ci_healing.runs import CIRunRef
from domain.config import Mode
from domain.diagnosis.verdict import Diagnosis
from domain.shared.models import Frozen


class CIPolicy(Frozen):
    """The CI settings that apply to one project right now."""

    ci: CIConfig
    mode: Mode


class RunAnalysis(Frozen):
    """A failed run, diagnosed: only redacted, distilled text leaves the activity."""

    diagnosis: Diagnosis
    distilled: str  # redacted, bounded: safe to store, prompt and notify
    run_url: str
    failed_jobs: list[str] = Field(default_factory=list)
    head_branch: str | None = None
    head_sha: str | None = None
    log_bytes: int = 0
    playbook_success_rate: float | None = None  # the playbook's measured rate (None: too few attempts)
    failed_step: str | None = None  # the step whose command failed, when the log shows it
    base_branch: str | None = None  # the repository's default branch
    failed_tests: list[FailedTest] = Field(default_factory=list)  # named by runner markers in the logs
    passing_diff: list[str] = Field(default_factory=list)  # error-like lines the last passing run lacks


class RerunResult(Frozen):
    requested: bool
    detail: str = ""
    attempt: int = 1  # the run's attempt number before the re-run


class FixResult(Frozen):
    """A fix opened as a PR, or why none could be made."""

    opened: bool
    detail: str
    branch: str | None = None
    pr_number: int | None = None
    pr_url: str | None = None
    files: list[str] = Field(default_factory=list)


class IncidentResult(Frozen):
    opened: bool
    url: str | None = None
    detail: str = ""


class CIStatus(BaseModel):
    """What the `status` query answers: where the run's healing stands."""

    run: CIRunRef
    stage: str
    outcome: CIOutcome | None = None
    diagnosis: Diagnosis | None = None
    gate: GateDecision | None = None
    approval: ApprovalDecision | None = None
    attempts: list[str] = Field(default_factory=list)
    auto_actions: list[str] = Field(default_factory=list)  # actions taken without a human's approval
    run_url: str = ""
    events: list[str] = Field(default_factory=list)
