"""The fix PR workflow's boundary: one long-lived workflow per fix PR Mender opened for a failed run.

Id `fixpr/<project>/<number>`; started by the CI failure workflow once its fix PR is open. It waits for
the fix branch's checks, gathers evidence, scores it, routes the PR (merge, merge on approval, review
queue, blocked), watches a merged fix and reverts it when the default branch turns red.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from domain.ci_healing.fixpr_config import ScanConfig
from domain.ci_healing.fixpr_effects import FixPRMemory
from domain.ci_healing.fixpr_results import (
    ChecksSnapshot,
    FixPRInput,
    FixPRRef,
    FixPRSettings,
    FixPRStatus,
    MergeResult,
    RevertResult,
    fixpr_workflow_id,
)
from domain.shared.models import Frozen

__all__ = [  # the models the decider shares with activities and the status query, re-exported
    "ChecksSnapshot",
    "FixPRInput",
    "FixPRRef",
    "FixPRSettings",
    "FixPRStatus",
    "MergeResult",
    "RevertResult",
    "fixpr_workflow_id",
]

FIXPR_WORKFLOW = "FixPR"
REVIEW_SIGNAL = "review"
NUDGE_SIGNAL = "nudge"  # a check run or review of the PR changed: look now instead of at the next poll
FIXPR_STATUS_QUERY = "status"


class FixPRWorkflowInput(FixPRInput):
    """The workflow's input: what the CI failure workflow hands over (`FixPRInput`), and across
    continue-as-new the decider's whole memory."""

    carried: FixPRMemory | None = None


class ScanArgs(Frozen):
    pr: FixPRRef
    head_sha: str
    base: str  # the branch the fix goes into: dependencies already there are not the fix's doing
    files: list[str]
    config: ScanConfig


class PublishArgs(Frozen):
    """The evidence section and the decision's label for the PR."""

    pr: FixPRRef
    section: str
    label: str | None = None
    comment: str = ""


class CloseFixArgs(Frozen):
    pr: FixPRRef
    reason: str


class DefaultRunQuery(Frozen):
    pr: FixPRRef
    merge_sha: str


class RevertArgs(Frozen):
    pr: FixPRRef
    merge_sha: str
    reason: str
    files: list[str] = Field(default_factory=list)  # the files the fix changed
    playbook: str | None = None  # whose success rate the revert lowers


class SettleArgs(Frozen):
    """How the run a queued fix PR fixes ends once the fix PR does (`awaiting_review` runs only)."""

    workflow_id: str  # the CI failure workflow's id
    outcome: str  # approved_fixed or escalated


class ReviewResolution(Frozen):
    """How a queued item ended (written to the review queue table)."""

    workflow_id: str
    status: str  # approved, rejected, closed
    by: str | None = None
    reason: str = ""
    at: datetime
