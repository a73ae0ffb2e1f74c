"""The CI failure workflow's boundary: id, messages, input and status, and the CI activities' models."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.ci_healing.effects import CIMemory
from domain.ci_healing.fixpr import FixPRRouted
from domain.ci_healing.results import (
    CIPolicy,
    CIStatus,
    FixResult,
    IncidentResult,
    RerunResult,
    RunAnalysis,
)
from domain.ci_healing.runs import CIRunRef
from domain.diagnosis.verdict import Diagnosis
from domain.shared.models import Frozen

__all__ = [  # the models the decider shares with activities and the status query, re-exported
    "CIPolicy",
    "CIStatus",
    "FixPRRouted",
    "FixResult",
    "IncidentResult",
    "RerunResult",
    "RunAnalysis",
]

CI_WORKFLOW = "CIFailure"
RUN_EVENT_SIGNAL = "run_event"
APPROVAL_SIGNAL = "approval"
FIX_ROUTED_SIGNAL = "fix_routed"  # from the fix PR's workflow: the route it took (`FixPRRouted`)
STATUS_QUERY = "status"


class FixArgs(Frozen):
    run: CIRunRef
    diagnosis: Diagnosis
    attempt: int = Field(ge=1)
    head_branch: str | None = None
    run_url: str = ""


class FixVerdict(Frozen):
    run: CIRunRef
    fix: FixResult
    passed: bool
    detail: str


class BranchQuery(Frozen):
    run: CIRunRef  # the failed run the fix branch belongs to
    branch: str


class IncidentArgs(Frozen):
    run: CIRunRef
    run_url: str
    diagnosis: Diagnosis
    distilled: str
    attempts: list[str]


class FlakeQuery(Frozen):
    """Input of `ci.flake_history`: the failed tests of one project whose scores are read."""

    project: str
    tests: list[str] = Field(default_factory=list)


class CIRecordUpdate(Frozen):
    """The CI failure's projection for the store."""

    status: CIStatus
    distilled: str = ""


class CIWorkflowInput(BaseModel):
    run: CIRunRef
    carried: CIMemory | None = None  # the decider's memory, carried across continue-as-new


class LLMRequest(BaseModel):
    """What the model is asked about: the distilled (redacted) log and the rule's own diagnosis; for a
    second opinion also the failing step and the lines the last passing run does not print."""

    distilled: str
    project: str
    provider: str = "github"
    rule: Diagnosis
    failed_step: str | None = None
    passing_diff: list[str] = Field(default_factory=list)
