"""The activity catalogue: every activity's name, argument type, result type and kind of call.

Workflows call activities only through these references (`workflows.calls.call`), so a workflow never
imports an `activities/` module, and `tests/unit/test_activity_catalogue.py` checks that the worker
registers each name with exactly these types. The kind decides timeouts and retries
(`workflows.calls.OPTIONS`): one home for them. The lane decides the task queue an activity is polled
from (`Lane`, `lane_queue`): the worker runs slots of their own for each lane.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from contracts.breaker import BreakerOutcomeArgs, BreakerPermitArgs
from contracts.ci import (
    BranchQuery,
    CIPolicy,
    CIRecordUpdate,
    FixArgs,
    FixResult,
    FixVerdict,
    FlakeQuery,
    IncidentArgs,
    IncidentResult,
    LLMRequest,
    RerunResult,
    RunAnalysis,
)
from contracts.fixpr import (
    ChecksSnapshot,
    CloseFixArgs,
    DefaultRunQuery,
    FixPRRef,
    FixPRSettings,
    MergeResult,
    PublishArgs,
    RevertArgs,
    RevertResult,
    ReviewResolution,
    ScanArgs,
    SettleArgs,
)
from contracts.merge_queue import ReleaseArgs, TurnArgs
from contracts.pr import (
    BotArgs,
    BranchArgs,
    CloseArgs,
    OpenedPR,
    Permission,
    PermissionArgs,
    PRProjection,
    PRRecordUpdate,
    ReopenArgs,
    ReplyArgs,
    StrategyArgs,
    StrategyResult,
)
from contracts.sweeps import PollReport, SweepReport
from domain.ci_healing.approval import ApprovalRequest
from domain.ci_healing.approval_messages import (
    ApprovalResolution,
    PostedMessage,
    ResolvedApproval,
    StageNotice,
)
from domain.ci_healing.evidence import ScanReport
from domain.ci_healing.flakiness import FlakeHistory, TestReport
from domain.ci_healing.review_queue import ReviewItem
from domain.ci_healing.runs import CIRunEvent, CIRunRef
from domain.config import RepoPolicy
from domain.diagnosis.verdict import Diagnosis
from domain.pr_healing.events import PREvent, PRRef
from domain.pr_healing.merge_queue import Turn
from domain.pr_healing.snapshot import PRSnapshot
from domain.shared.audit import AuditEntry, RetentionReport
from domain.shared.breaker import Permit
from domain.shared.notifications import BreakerNotice, EscalationNotice, NoticeResult

A = TypeVar("A")
R = TypeVar("R")


class CallKind(StrEnum):
    """How an activity is called: each kind has one set of timeouts and retries."""

    CONFIG = "config"  # read the current configuration
    STORE = "store"  # write the store projection
    AUDIT = "audit"  # write the audit trail (best effort)
    GITHUB = "github"  # one GitHub read or idempotent write
    BREAKER = "breaker"  # ask or tell the circuit breaker
    NOTIFY = "notify"  # tell a human (Slack)
    NOTIFY_BREAKER = "notify_breaker"  # a breaker notice, retried for longer
    DELIVER = "deliver"  # hand an event to another workflow
    PROVIDER = "provider"  # one CI provider call (GitHub Actions, GitLab)
    ANALYSE = "analyse"  # stream and diagnose large logs (heartbeats)
    LLM = "llm"  # the model's second opinion (timeout from configuration)
    QUICK = "quick"  # small CI-side reads and notices
    RECONCILE = "reconcile"  # the reconciler's sweep
    POLL = "poll"  # the CI polling fallback's sweep
    RETENTION = "retention"  # the audit retention sweep


class Lane(StrEnum):
    """Where an activity waits for a worker slot: on the workflow's own task queue, or on a queue of its
    own beside it (`lane_queue`) with slots of its own, so that a staleness check and the remediation it
    decides never wait behind the bulk of the work (every event's store projection, the sweeps)."""

    MAIN = ""  # the workflow's task queue: configuration, breaker, merge queue, audit, notices, CI
    PROJECTIONS = "projections"  # store writes every event of every PR makes
    # a staleness check's (and a command's) GitHub reads: the slow part of a check (several requests),
    # so the quick calls of the same check (policy, breaker permit, audit) never queue behind them
    READS = "reads"
    # a remediation's GitHub writes (and a command's reply): paced under GitHub's write limit, a write
    # that waits for its turn holds a slot here, never one a staleness check's reads need
    WRITES = "writes"
    SWEEPS = "sweeps"  # the scheduled sweeps (reconciler, CI poller, audit retention): long-running


LANE_OF_KIND: dict[CallKind, Lane] = {
    CallKind.STORE: Lane.PROJECTIONS,
    CallKind.RECONCILE: Lane.SWEEPS,
    CallKind.POLL: Lane.SWEEPS,
    CallKind.RETENTION: Lane.SWEEPS,
}


def lane_queue(task_queue: str, lane: Lane) -> str:
    """The task queue of `lane` beside the workflows' `task_queue` (MAIN: that queue itself)."""
    return f"{task_queue}-{lane.value}" if lane.value else task_queue


# Calls that heartbeat while a live worker runs them (`runtime/activity_liveness.py`): a killed worker's
# call is retried after the heartbeat timeout of its kind (`workflows.calls`).
LIVENESS_KINDS = frozenset({CallKind.GITHUB, CallKind.PROVIDER, CallKind.RECONCILE, CallKind.POLL})


@dataclass(frozen=True)
class ActivityRef(Generic[A, R]):
    """A typed handle on one activity: what it is called, what it takes and gives, how to call it."""

    name: str
    arg: Any  # the argument's type, or None for an activity without argument
    result: Any  # the result's type (None for an activity that returns nothing)
    kind: CallKind
    lane: Lane = Lane.MAIN


def _ref(
    name: str, arg: type[A] | Any, result: type[R] | Any, kind: CallKind, lane: Lane | None = None
) -> ActivityRef[A, R]:
    return ActivityRef(name, arg, result, kind, lane or LANE_OF_KIND.get(kind, Lane.MAIN))


# PR healing
REPO_POLICY = _ref("config.repo_policy", str, RepoPolicy, CallKind.CONFIG)
RECORD_PR = _ref("store.record_pr", PRRecordUpdate, int, CallKind.STORE)
PROJECT_PR = _ref("store.project_pr", PRProjection, int, CallKind.STORE)
FETCH_SNAPSHOT = _ref("github.fetch_snapshot", PRRef, PRSnapshot, CallKind.GITHUB, Lane.READS)
UPDATE_BRANCH = _ref("github.update_branch", StrategyArgs, StrategyResult, CallKind.GITHUB, Lane.WRITES)
REBUILD = _ref("github.rebuild", StrategyArgs, StrategyResult, CallKind.GITHUB, Lane.WRITES)
RETRIGGER_BOT = _ref("github.retrigger_bot", BotArgs, StrategyResult, CallKind.GITHUB, Lane.WRITES)
MERGE = _ref("github.merge", StrategyArgs, StrategyResult, CallKind.GITHUB, Lane.WRITES)
FIND_DUPLICATE = _ref("reopen.find_duplicate", ReopenArgs, int | None, CallKind.GITHUB, Lane.WRITES)
CREATE_BRANCH = _ref("reopen.create_branch", ReopenArgs, str, CallKind.GITHUB, Lane.WRITES)
COPY_CHANGE = _ref("reopen.copy_change", BranchArgs, int, CallKind.GITHUB, Lane.WRITES)
OPEN_PR = _ref("reopen.open_pr", BranchArgs, OpenedPR, CallKind.GITHUB, Lane.WRITES)
CLOSE_PR = _ref("reopen.close_pr", CloseArgs, None, CallKind.GITHUB, Lane.WRITES)
DELETE_BRANCH = _ref("reopen.delete_branch", BranchArgs, None, CallKind.GITHUB, Lane.WRITES)
PERMISSION = _ref("commands.permission", PermissionArgs, Permission, CallKind.GITHUB, Lane.READS)
REPLY = _ref("commands.reply", ReplyArgs, None, CallKind.GITHUB, Lane.WRITES)
DELIVER_EVENT = _ref("lifecycle.deliver", PREvent, str, CallKind.DELIVER)
NOTIFY_ESCALATION = _ref("notify.escalation", EscalationNotice, NoticeResult, CallKind.NOTIFY)
NOTIFY_BREAKER = _ref("notify.breaker", BreakerNotice, NoticeResult, CallKind.NOTIFY_BREAKER)
REQUEST_PERMIT = _ref("breaker.request_permit", BreakerPermitArgs, Permit, CallKind.BREAKER)
REPORT_OUTCOME = _ref("breaker.report_outcome", BreakerOutcomeArgs, None, CallKind.BREAKER)
REQUEST_TURN = _ref("queue.request_turn", TurnArgs, Turn, CallKind.BREAKER)
RELEASE_TURN = _ref("queue.release_turn", ReleaseArgs, None, CallKind.BREAKER)
AUDIT_RECORD = _ref("audit.record", AuditEntry, bool, CallKind.AUDIT)

# CI healing
CI_POLICY = _ref("config.ci_policy", str, CIPolicy, CallKind.QUICK)
ANALYSE_RUN = _ref("ci.analyse", CIRunRef, RunAnalysis, CallKind.ANALYSE)
LLM_ANALYSE = _ref("llm.analyse", LLMRequest, Diagnosis, CallKind.LLM)
RERUN = _ref("ci.rerun", CIRunRef, RerunResult, CallKind.PROVIDER)
RUN_STATUS = _ref("ci.run_status", CIRunRef, CIRunEvent | None, CallKind.PROVIDER)
BRANCH_STATUS = _ref("ci.branch_status", BranchQuery, CIRunEvent | None, CallKind.PROVIDER)
OPEN_FIX = _ref("ci.open_fix", FixArgs, FixResult, CallKind.PROVIDER)
REPORT_FIX = _ref("ci.report_fix", FixVerdict, None, CallKind.PROVIDER)
ROLLBACK = _ref("ci.rollback", FixVerdict, None, CallKind.PROVIDER)
OPEN_INCIDENT = _ref("ci.open_incident", IncidentArgs, IncidentResult, CallKind.PROVIDER)
REQUEST_APPROVAL = _ref("approval.request", ApprovalRequest, PostedMessage, CallKind.QUICK)
RESOLVE_APPROVAL = _ref("approval.resolve", ApprovalResolution, ResolvedApproval, CallKind.QUICK)
NOTIFY_STAGE = _ref("ci.notify", StageNotice, PostedMessage, CallKind.QUICK)
RECORD_CI = _ref("store.record_ci", CIRecordUpdate, None, CallKind.QUICK)
RECORD_TESTS = _ref("store.record_tests", TestReport, None, CallKind.QUICK)
FLAKE_HISTORY = _ref("ci.flake_history", FlakeQuery, FlakeHistory, CallKind.QUICK)

# Fix PRs (issue 17): evidence, routing, the review queue, the watch after a merge
FIX_PR_SETTINGS = _ref("config.fix_pr_settings", str, FixPRSettings, CallKind.CONFIG)
PLAYBOOK_PRIOR = _ref("config.playbook_prior", str, float | None, CallKind.CONFIG)
FIX_PR_CHECKS = _ref("fixpr.checks", FixPRRef, ChecksSnapshot, CallKind.GITHUB)
FIX_PR_SCAN = _ref("fixpr.scan", ScanArgs, ScanReport, CallKind.PROVIDER)
FIX_PR_PUBLISH = _ref("fixpr.publish", PublishArgs, None, CallKind.GITHUB)
FIX_PR_MERGE = _ref("fixpr.merge", FixPRRef, MergeResult, CallKind.GITHUB)
FIX_PR_MERGE_AFTER_APPROVAL = _ref("fixpr.merge_after_approval", FixPRRef, MergeResult, CallKind.PROVIDER)
FIX_PR_CLOSE = _ref("fixpr.close", CloseFixArgs, None, CallKind.GITHUB)
FIX_PR_DEFAULT_RUN = _ref("fixpr.default_run", DefaultRunQuery, CIRunEvent | None, CallKind.PROVIDER)
FIX_PR_REVERT = _ref("fixpr.revert", RevertArgs, RevertResult, CallKind.GITHUB)
REVIEW_ENQUEUE = _ref("review.enqueue", ReviewItem, int, CallKind.STORE)
REVIEW_RESOLVE = _ref("review.resolve", ReviewResolution, bool, CallKind.STORE)
REVIEW_ANNOUNCE = _ref("review.announce", ReviewItem, None, CallKind.NOTIFY)
REVIEW_BACKLOG = _ref("review.backlog", None, bool, CallKind.NOTIFY)
REVIEW_SETTLE_RUN = _ref("review.settle_run", SettleArgs, bool, CallKind.STORE)
REVIEW_HOLD_RUN = _ref("review.hold_run", str, bool, CallKind.STORE)

# Scheduled sweeps
RECONCILE_SWEEP = _ref("reconcile.sweep", None, SweepReport, CallKind.RECONCILE)
CI_POLL = _ref("ci.poll", None, PollReport, CallKind.POLL)
AUDIT_SWEEP = _ref("audit.sweep", None, RetentionReport, CallKind.RETENTION)

CATALOGUE: tuple[ActivityRef[Any, Any], ...] = tuple(
    value for value in list(globals().values()) if isinstance(value, ActivityRef)
)
