"""What the fix PR decider works on and asks for: the fix PR's memory, the time, and effects.

The workflow carries out effects in order. An effect marked `feeds_back` has a result (or an
`ActivityFailed`) that goes back to the decider (`fixpr_decider.resume`), which answers with the next
effects; every activity whose failure must stop the fix PR feeds back, the rest are best effort.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import BaseModel

from domain.ci_healing.evidence import ScanReport
from domain.ci_healing.fixpr import FixPRDecision, Route
from domain.ci_healing.fixpr_config import ScanConfig
from domain.ci_healing.fixpr_results import ChecksSnapshot, FixPRInput, FixPRSettings, FixPRStatus
from domain.ci_healing.outcomes import CIOutcome
from domain.ci_healing.review_queue import ReviewDecision, ReviewItem, ReviewStatus
from domain.shared.audit import AuditAction


class FixPRPhase(StrEnum):
    """What the fix PR's workflow waits for between effects."""

    CHECKS = "checks"  # every check of the PR's head to finish (polled; a nudge looks at once)
    APPROVAL = "approval"  # one approving review (GitHub or the review queue) before merging
    REVIEW = "review"  # a human's answer to the queued PR; the PR's state is re-checked now and then
    WATCH = "watch"  # the default branch's run on the merge commit
    REVERT = "revert"  # the revert PR to merge once its required checks passed


class FixPRWait(BaseModel):
    """A phase in progress: its deadline and the next wake-up (a poll or a re-check)."""

    phase: FixPRPhase
    deadline: datetime
    wake_at: datetime


class FixPRMemory(BaseModel):
    """Everything one fix PR's workflow remembers; carried whole across continue-as-new."""

    input: FixPRInput
    status: FixPRStatus
    settings: FixPRSettings | None = None
    snapshot: ChecksSnapshot | None = None  # the PR's checks when they finished (or at the timeout)
    scan: ScanReport | None = None
    queued: FixPRDecision | None = None  # the decision the PR sits in the review queue with
    merge_outcome: str = ""  # the outcome a merge in progress ends with (when the branch stays green)
    requeue: bool = True  # a refused merge goes to the review queue (else it ends)
    awaiting_review: bool = False
    review: ReviewDecision | None = None  # the first review that counts
    nudged: bool = False  # a webhook said the PR or its checks changed: look now
    waiting: FixPRWait | None = None
    settles_run: bool = False  # ending a queued fix PR settles its `awaiting_review` run (`SettleRun`)
    holds_run: bool = False  # a proposed fix PR holds its run `awaiting_review` until it ends (`HoldRun`)
    tells_run: bool = False  # the CI failure workflow hears the route this PR takes (`TellRun`)
    told_run: bool = False  # ... and has been told
    done: bool = False

    @classmethod
    def new(cls, input: FixPRInput) -> FixPRMemory:
        return cls(input=input, status=FixPRStatus(pr=input.pr))


@dataclass(frozen=True)
class FixPRContext:
    """What a decision may read besides the memory: the time now, and which later rules the workflow's
    history has (`workflow.patched`: older histories replay as they ran)."""

    now: datetime
    settle_run: bool = True  # a queued fix PR's end settles the run it fixes (`SettleRun`)
    hold_proposed: bool = True  # a proposed fix PR holds its run until it ends (`HoldRun`, `SettleRun`)
    tell_run: bool = True  # the CI failure workflow hears the route (`TellRun`): proposed ends it awaiting
    hold_queued: bool = True  # a queued fix PR holds its run `awaiting_review` too (`HoldRun`, `SettleRun`)
    confirm_merge: bool = True  # routed to merge: its run hears it once the merge is confirmed or refused
    unheal_reverted: bool = True  # a reverted fix takes back its healed run (`HoldRun`, `SettleRun`)


class FixPREffect:
    """Something the workflow does for the fix PR decider."""

    feeds_back: ClassVar[bool] = False


@dataclass(frozen=True)
class LoadFixSettings(FixPREffect):
    """The fix PR settings of the project; result `FixPRSettings`."""

    feeds_back: ClassVar[bool] = True


@dataclass(frozen=True)
class ReadChecks(FixPREffect):
    """The PR, its head's checks and approvals now; result `ChecksSnapshot`."""

    feeds_back: ClassVar[bool] = True


@dataclass(frozen=True)
class ScanFix(FixPREffect):
    """Mender's own scan of the fix branch; result `ScanReport` (a failure: the scan did not run)."""

    feeds_back: ClassVar[bool] = True
    head_sha: str
    base: str
    config: ScanConfig
    timeout_seconds: float


@dataclass(frozen=True)
class LoadPrior(FixPREffect):
    """The playbook's measured success rate; result `float | None`."""

    feeds_back: ClassVar[bool] = True
    playbook: str


@dataclass(frozen=True)
class PublishEvidence(FixPREffect):
    """The evidence section and label on the PR, or (with `comment`) a comment; result None."""

    feeds_back: ClassVar[bool] = True
    section: str
    label: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class MergeFix(FixPREffect):
    """Merge the PR; result `MergeResult`."""

    feeds_back: ClassVar[bool] = True


@dataclass(frozen=True)
class EnableAutoMerge(FixPREffect):
    """GitLab: require one approval and merge when the pipeline succeeds, so GitLab merges the fix MR on
    that approval (best effort: the workflow merges on the approval it sees anyway)."""


@dataclass(frozen=True)
class CloseFix(FixPREffect):
    """Close the PR with the reason; result None."""

    feeds_back: ClassVar[bool] = True
    reason: str


@dataclass(frozen=True)
class EnqueueReview(FixPREffect):
    """Store the PR in the review queue; result the item's id."""

    feeds_back: ClassVar[bool] = True
    item: ReviewItem


@dataclass(frozen=True)
class AnnounceReview(FixPREffect):
    """Tell the reviewers in Slack (best effort)."""

    item: ReviewItem


@dataclass(frozen=True)
class CheckBacklog(FixPREffect):
    """Alert when the review queue is too long or too old (best effort)."""


@dataclass(frozen=True)
class ResolveReview(FixPREffect):
    """Write how the queued item ended; result bool."""

    feeds_back: ClassVar[bool] = True
    status: ReviewStatus
    by: str | None
    reason: str
    at: datetime


@dataclass(frozen=True)
class ReadDefaultRun(FixPREffect):
    """The default branch's run on the merge commit; result `CIRunEvent` or None."""

    feeds_back: ClassVar[bool] = True
    merge_sha: str


@dataclass(frozen=True)
class RevertFix(FixPREffect):
    """Open (or find) the revert PR and merge it once its checks passed; result `RevertResult`."""

    feeds_back: ClassVar[bool] = True
    merge_sha: str
    reason: str


@dataclass(frozen=True)
class AuditFixPR(FixPREffect):
    """One audit row about this fix PR (best effort); the playbook history reads them."""

    action: AuditAction
    actor: str
    outcome: str
    details: dict[str, Any]


@dataclass(frozen=True)
class HoldRun(FixPREffect):
    """The run a proposed fix PR fixes is not healed until it merges: a healed run goes back to
    `awaiting_review` (best effort; `SettleRun` ends it with the fix PR)."""


@dataclass(frozen=True)
class TellRun(FixPREffect):
    """Signal the CI failure workflow of the run this PR fixes the route it took (None: it ended without
    one), so a proposed or queued fix's run ends `awaiting_review` as the store holds it (best effort)."""

    route: Route | None
    reasons: tuple[str, ...] = ()  # why it took that route (`fixpr.route_reasons`)


@dataclass(frozen=True)
class SettleRun(FixPREffect):
    """The run a queued or proposed fix PR fixes (if still `awaiting_review`) ends as `outcome` (best
    effort)."""

    outcome: CIOutcome


@dataclass(frozen=True)
class FixPRLog(FixPREffect):
    level: str  # "warning" or "error"
    message: str


@dataclass
class FixPRStep:
    """A decision: the new memory and the effects to carry out, in order."""

    memory: FixPRMemory
    effects: list[FixPREffect] = field(default_factory=list)

    def then(self, next_step: Callable[[FixPRMemory], FixPRStep]) -> FixPRStep:
        """This step followed by the step decided on its memory: effects in order, the last memory."""
        other = next_step(self.memory)
        return FixPRStep(other.memory, [*self.effects, *other.effects])
