"""What the CI decider works on and asks for: the run's memory, the time, and effects.

The workflow carries out effects in order. An effect marked `feeds_back` has a result (or an
`ActivityFailed`) that goes back to the decider (`decider.resume`), which answers with the next effects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from domain.ci_healing.approval import ApprovalDecision, ApprovalRequest
from domain.ci_healing.approval_messages import PostedMessage
from domain.ci_healing.config import Stage
from domain.ci_healing.fixpr import FixPRRouted
from domain.ci_healing.flakiness import FlakeHistory, FlakeScore, TestReport
from domain.ci_healing.results import CIPolicy, CIStatus, FixResult, RunAnalysis
from domain.ci_healing.runs import CIRunEvent, CIRunRef
from domain.diagnosis.verdict import Diagnosis


class WaitFor(StrEnum):
    """What the workflow waits for between effects."""

    FIRST_EVENT = "first_event"  # the failure event that started the workflow (signal-with-start)
    RUN = "run"  # the conclusion of a re-run or of a fix branch's run; polled when no webhook comes
    APPROVAL = "approval"  # an approver's answer; the gate is asked again at each recheck
    CONFIRM = "confirm"  # the conclusion of the re-run that confirms a suspected flaky test
    FIX_ROUTE = "fix_route"  # a verified fix PR's route, from its own workflow (proposed: not healed yet)


class Waiting(BaseModel):
    """A wait in progress: its deadline, the next wake-up (a poll or recheck) and what it matches."""

    kind: WaitFor
    deadline: datetime
    wake_at: datetime
    every_seconds: float = 0.0  # how often to poll the run or re-check the gate
    consumed: int = 0  # RUN: events recorded before the wait began do not count
    for_fix: bool = False  # RUN: the fix PR's branch, else the re-run of the failed run
    fix_branch: str = ""
    attempt_before: int = 1  # RUN: the run's attempt number before the re-run


class FlakeStage(StrEnum):
    """Where the check of a suspected flaky test stands (`domain.ci_healing.flake_steps`)."""

    LOOKING = "looking"  # the failed tests' history is read
    CONFIRMING = "confirming"  # re-run once: does the failure come back?
    REANALYSING = "reanalysing"  # the re-run failed: the same tests, the same way?
    SCORING = "scoring"  # the re-run passed: the new scores decide a fix PR and a notice
    DONE = "done"


class FlakeCheck(BaseModel):
    stage: FlakeStage = FlakeStage.LOOKING
    history: FlakeHistory = Field(default_factory=FlakeHistory)
    attempt: int = 0  # the confirming re-run's attempt number, once it ended


class CIMemory(BaseModel):
    """Everything one CI failure workflow remembers; carried whole across continue-as-new."""

    run: CIRunRef
    status: CIStatus
    events: list[CIRunEvent] = Field(default_factory=list)  # every distinct event, in arrival order
    seen: set[str] = Field(default_factory=set)  # their keys
    policy: CIPolicy | None = None  # the settings of the current attempt
    analysis: RunAnalysis | None = None
    max_attempts: int = 0
    attempt: int = 0
    approved: bool = False  # a human approved the plan (not asked again for a later attempt)
    request: ApprovalRequest | None = None
    posted: PostedMessage | None = None
    awaiting_approval: bool = False
    answer: ApprovalDecision | None = None
    fix: FixResult | None = None  # the fix PR being verified
    fix_route: FixPRRouted | None = None  # the route its own workflow took (`fix_routed` signal)
    for_review: bool = False  # the fix PR goes to the review queue: a passing fix awaits its review
    waiting: Waiting | None = None
    handed_over: str | None = None  # why a human got the run after an activity failed
    flake: FlakeCheck | None = None  # the check of a suspected flaky test, once begun
    done: bool = False

    @classmethod
    def new(cls, run: CIRunRef) -> CIMemory:
        return cls(run=run, status=CIStatus(run=run, stage="detected"))


@dataclass(frozen=True)
class CIContext:
    """What a decision may read besides the memory: the time now, and which later rules the workflow's
    history has (`workflow.patched`: older histories replay with the rules they ran with)."""

    now: datetime
    gitlab_ci_edits: bool = True  # GitLab fix MRs may edit `.gitlab-ci.yml` (env, timeout, memory)
    review_outcome: bool = True  # a fix PR bound for the review queue ends the run `awaiting_review`
    fix_route: bool = True  # a verified fix PR's route decides the run's end (proposed: `awaiting_review`)
    queued_route: bool = True  # ... and a fix PR routed to the review queue ends it `awaiting_review` too
    unrouted_fix: bool = True  # ... and one that took no route heals it only when GitHub shows it merged


@dataclass(frozen=True)
class ActivityFailed:
    """An activity that failed after its retries, and why."""

    activity: str
    reason: str


class PolicyFor(StrEnum):
    """Why the project's CI settings are read."""

    START = "start"  # the run was detected
    ATTEMPT = "attempt"  # each attempt is gated with the configuration current then
    RECHECK = "recheck"  # an approval wait asks the gate again (the configuration may have changed)
    HAND_OVER = "hand_over"  # the hand-over notice needs the channels


class CIEffect:
    """Something the workflow does for the CI decider."""

    feeds_back: ClassVar[bool] = False


@dataclass(frozen=True)
class LoadPolicy(CIEffect):
    """Result `CIPolicy` or `ActivityFailed`."""

    feeds_back: ClassVar[bool] = True
    purpose: PolicyFor


@dataclass(frozen=True)
class AnalyseRun(CIEffect):
    """Fetch, redact, distill and diagnose the failed jobs' logs; result `RunAnalysis`."""

    feeds_back: ClassVar[bool] = True


@dataclass(frozen=True)
class AskModel(CIEffect):
    """Ask the LLM about the distilled log when the rules are unsure; result `Diagnosis`."""

    feeds_back: ClassVar[bool] = True
    distilled: str
    rule: Diagnosis
    timeout_seconds: float
    failed_step: str | None = None
    passing_diff: tuple[str, ...] = ()  # error-like lines the last passing run does not print


@dataclass(frozen=True)
class RecordTests(CIEffect):
    """Write one attempt's test outcomes to the per-test history (best effort)."""

    report: TestReport


@dataclass(frozen=True)
class LookUpFlakes(CIEffect):
    """The stored flakiness scores of the failed tests; result `FlakeHistory`."""

    feeds_back: ClassVar[bool] = True
    tests: tuple[str, ...]


@dataclass(frozen=True)
class OpenFlakeFix(CIEffect):
    """Open a fix PR for a confirmed flaky test (raise the timeout or quarantine it); result `FixResult`."""

    feeds_back: ClassVar[bool] = True
    diagnosis: Diagnosis
    head_branch: str | None
    run_url: str


@dataclass(frozen=True)
class NotifyOwners(CIEffect):
    """Tell the owners about a flaky test above `ci.flaky.notify_above` (best effort)."""

    score: FlakeScore
    owners: tuple[str, ...]
    run_url: str


@dataclass(frozen=True)
class Announce(CIEffect):
    """A stage notice in Slack (best effort)."""

    stage: Stage
    summary: str
    run_url: str
    analysis: RunAnalysis | None = None


@dataclass(frozen=True)
class AuditRun(CIEffect):
    """One audit row about this run (best effort)."""

    action: str
    outcome: str
    details: dict[str, Any]
    actor: str = "mender"


@dataclass(frozen=True)
class LogLine(CIEffect):
    level: str  # "warning" or "error"
    message: str


@dataclass(frozen=True)
class Pause(CIEffect):
    """A timer (the backoff before a re-run); result None."""

    feeds_back: ClassVar[bool] = True
    seconds: float


@dataclass(frozen=True)
class RequestRerun(CIEffect):
    """Re-run the failed jobs; result `RerunResult`."""

    feeds_back: ClassVar[bool] = True


@dataclass(frozen=True)
class OpenFixPR(CIEffect):
    """Open the plan's fix as a PR; result `FixResult`."""

    feeds_back: ClassVar[bool] = True
    diagnosis: Diagnosis
    attempt: int
    head_branch: str | None
    run_url: str


@dataclass(frozen=True)
class FixPROpened(CIEffect):
    """A fix PR is open and its verification run is awaited: its own workflow takes it from here
    (evidence, confidence, merge or review queue; `workflows/fix_pr.py`)."""

    fix: FixResult
    analysis: RunAnalysis | None = None
    policy: CIPolicy | None = None
    plan_approved: bool = False  # a human approved the plan
    follow_up: bool = False  # the run is healed already (a flaky test's re-run): its fix PR leaves it alone


@dataclass(frozen=True)
class PollRun(CIEffect):
    """The latest state of the run, or of the fix branch's newest run; result `CIRunEvent` or None."""

    feeds_back: ClassVar[bool] = True
    fix_branch: str = ""


@dataclass(frozen=True)
class ReportFix(CIEffect):
    """Comment the verification's verdict on the fix PR (best effort)."""

    fix: FixResult
    passed: bool
    detail: str


@dataclass(frozen=True)
class RollBackFix(CIEffect):
    """Compensation of a failed fix: close its PR and delete its branch; result None."""

    feeds_back: ClassVar[bool] = True
    fix: FixResult


@dataclass(frozen=True)
class OpenIncident(CIEffect):
    """Every attempt failed: an incident issue with the whole diagnosis; result `IncidentResult`."""

    feeds_back: ClassVar[bool] = True
    run_url: str
    diagnosis: Diagnosis
    distilled: str
    attempts: tuple[str, ...]


@dataclass(frozen=True)
class AskApproval(CIEffect):
    """Post the approval request in Slack; result `PostedMessage` (or a failure: nothing posted)."""

    feeds_back: ClassVar[bool] = True
    request: ApprovalRequest


@dataclass(frozen=True)
class ResolveApproval(CIEffect):
    """Update the approval message with how it ended (best effort; a timeout also escalates)."""

    request: ApprovalRequest
    posted: PostedMessage | None
    outcome: str
    answer: ApprovalDecision | None
    at: datetime


@dataclass(frozen=True)
class RecordRun(CIEffect):
    """Write the run's status (and distilled log) to the store (best effort)."""

    status: CIStatus
    distilled: str = ""


@dataclass
class CIStep:
    """A decision: the new memory and the effects to carry out, in order."""

    memory: CIMemory
    effects: list[CIEffect] = field(default_factory=list)

    def then(self, next_step: Callable[[CIMemory], CIStep]) -> CIStep:
        """This step followed by the step decided on its memory: effects in order, the last memory."""
        other = next_step(self.memory)
        return CIStep(other.memory, [*self.effects, *other.effects])
