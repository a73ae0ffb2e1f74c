"""The PR lifecycle workflow's boundary: its id, messages, input and status, and its activities' models."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from domain.config import RepoPolicy
from domain.pr_healing.commands import CommandRecord
from domain.pr_healing.events import PREvent, PRRef
from domain.pr_healing.lifecycle import JournalEntry, PRLifecycle, PRState
from domain.pr_healing.merge_queue import Membership
from domain.pr_healing.remediation import Expectation
from domain.shared.audit import AuditEntry

PR_WORKFLOW = "PRLifecycle"
EVENT_SIGNAL = "event"
REFRESH_SIGNAL = "refresh"
TURN_SIGNAL = "turn"  # from its merge queue: the turn to update the branch is this PR's
STATUS_QUERY = "status"
COMMAND_UPDATE = "command"


class PRWorkflowInput(BaseModel):
    """Start input; everything but `pr` is carried over by continue-as-new."""

    pr: PRRef
    carried: PRLifecycle | None = None
    recent: list[JournalEntry] = Field(default_factory=list)
    pending: list[PREvent] = Field(default_factory=list)
    settled_at: datetime | None = None
    expecting: Expectation | None = None
    html_url: str | None = None
    commands: list[CommandRecord] = Field(default_factory=list)  # handled command keys, bounded
    cancelled: bool = False
    verified_at: datetime | None = None
    # How the run carries out effects: 0 (absent) replays as runs always did; LEAN_REVISION batches the
    # search-attribute upserts and projections of a decision (`workflows/pr_effects.py`); QUEUE_REVISION
    # asks merge-queue-lite for a turn before a branch update; REMOTE_REVISION runs its store,
    # configuration and audit calls as regular activities, not local ones (a signal that arrives while a
    # local activity runs is applied before its result on replay: TMPRL1100 after a worker crash);
    # EVENT_TIME_REVISION counts staleness from the time of the PR's last event, not from when the
    # workflow applied it (`domain.pr_healing.decider.seconds_to_wait`). New
    # runs and every continue-as-new take LATEST_REVISION: a run keeps the mechanics it started with, so
    # old histories replay unchanged. VISIBLE_REVISION: the starter sets the opening's search attributes
    # with the start, and a run upserts only the values that differ from the ones it has.
    # CONCURRENT_CHECK_REVISION: a staleness check reads the policy and GitHub at once, and an audit row
    # is written while the next call runs (`workflows/pr_lifecycle.py`).
    revision: int = 0
    queue: Membership = Field(default_factory=Membership)
    # The repository's settings as the starter resolved them for the opening (its configuration, reloaded
    # with `mender.yaml`): the run's first decision needs no `config.repo_policy` call. None: the run
    # reads them (older runs, other starters, every continue-as-new); every staleness check reads them.
    policy: RepoPolicy | None = None
    unchecked: int = 0  # remediation attempts not checked because Mender failed (`PRMemory.unchecked`)
    checked_at: datetime | None = None  # when the last staleness check read the PR (carried over)


LEAN_REVISION = 1
QUEUE_REVISION = 2  # branch updates take turns in merge-queue-lite (`workflows/merge_queue.py`)
REMOTE_REVISION = 3  # store, configuration and audit calls are regular activities (replay-safe with signals)
# UNCHECKED_REVISION: a remediation whose activity timed out (Mender's worker died or hung) is not charged to
# its budget; a separate cap (`remediation.unchecked_attempts_max`) escalates (`unchecked_steps`); and
# a history grown by commands alone wakes the run to continue as new
UNCHECKED_REVISION = 4
VISIBLE_REVISION = 5  # an upsert carries only changed values (the opening's come with the start)
EVENT_TIME_REVISION = 6  # staleness counted from the last event's time (a late webhook is not fresh)
# A staleness check's calls that do not wait on each other go out together: two round trips fewer
# between the timer and the remediation (issue 15, stall -> action under load)
CONCURRENT_CHECK_REVISION = 7
LATEST_REVISION = CONCURRENT_CHECK_REVISION  # what new runs and every continue-as-new start with


class PRStatus(BaseModel):
    """Answer of the `status` query: where the PR is and what happened to it lately."""

    pr: PRRef
    workflow_id: str
    state: PRState | None
    head_sha: str | None
    last_event_at: datetime | None
    invalid_events: int
    retry_counts: dict[str, int] = Field(default_factory=dict)
    expecting: Expectation | None = None
    recent_events: list[JournalEntry]
    cancelled: bool = False  # `/cancel`: no automatic remediation any more
    commands: list[CommandRecord] = Field(default_factory=list)
    verified_at: datetime | None = None  # when Mender last read the PR from GitHub
    verifications: int = 0  # how often this run read it
    unchecked_attempts: int = 0  # remediations not checked because Mender itself failed (uncharged)


Bot = Literal["policy", "approver", "sod", "automerge"]


class StrategyArgs(BaseModel):
    pr: PRRef
    head_sha: str | None = None


class BotArgs(BaseModel):
    pr: PRRef
    bot: Bot
    since: datetime | None = None  # when this nudge was started: a retry finds its own earlier comment


class StrategyResult(BaseModel):
    """What a strategy did: `ok` when it acted (or nothing was needed, `noop`), else why not."""

    ok: bool
    noop: bool = False
    detail: str = ""


class ReopenArgs(BaseModel):
    pr: PRRef


class BranchArgs(BaseModel):
    pr: PRRef
    branch: str


class CloseArgs(BaseModel):
    pr: PRRef
    comment: str


class OpenedPR(BaseModel):
    number: int
    head_sha: str
    html_url: str | None = None


class PermissionArgs(BaseModel):
    pr: PRRef
    login: str


class Permission(BaseModel):
    permitted: bool
    reason: str


class ReplyArgs(BaseModel):
    pr: PRRef
    key: str  # the command's idempotency key: a retried reply is posted once
    body: str


class PRRecordUpdate(BaseModel):
    """The PR's current projection plus the new lines of its event log."""

    pr: PRRef
    state: str | None
    head_sha: str | None
    last_event_at: datetime | None
    invalid_count: int = 0
    retry_counts: dict[str, int] = Field(default_factory=dict)
    expires_at: datetime | None = None
    entries: list[JournalEntry] = Field(default_factory=list)

    @classmethod
    def of(
        cls, lifecycle: PRLifecycle, entries: list[JournalEntry], expires_at: datetime | None = None
    ) -> PRRecordUpdate:
        return cls(
            pr=lifecycle.pr,
            state=lifecycle.state,
            head_sha=lifecycle.head_sha,
            last_event_at=lifecycle.last_event_at,
            invalid_count=lifecycle.invalid_count,
            retry_counts=dict(lifecycle.retry_counts),
            expires_at=expires_at,
            entries=entries,
        )


class PRProjection(BaseModel):
    """One decision's projection: the PR record update and the audit entries that went with it."""

    record: PRRecordUpdate
    audits: list[AuditEntry] = Field(default_factory=list)
