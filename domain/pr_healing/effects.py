"""What the PR decider works on and asks for: the PR's memory, the decision context, and effects.

The workflow carries out effects in order. An effect marked `feeds_back` has a result (or a `Failed`)
that goes back to the decider (`decider.resume`), which answers with the next effects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, Field

from domain.config import RepoPolicy
from domain.pr_healing.classifier import Decision
from domain.pr_healing.commands import CommandAnswer, CommandRecord, CommandRequest, CommandSpec
from domain.pr_healing.events import PREvent, PRRef
from domain.pr_healing.lifecycle import JournalEntry, PRLifecycle
from domain.pr_healing.merge_queue import Membership
from domain.pr_healing.remediation import Expectation
from domain.pr_healing.remedies import Strategy
from domain.shared.audit import AuditEntry
from domain.shared.notifications import EscalationNotice


class PRMemory(BaseModel):
    """Everything one PR workflow remembers; carried whole across continue-as-new."""

    lifecycle: PRLifecycle
    recent: list[JournalEntry] = Field(default_factory=list)
    settled_at: datetime | None = None  # when the PR became terminal, or when untracked began
    expecting: Expectation | None = None
    html_url: str | None = None
    commands: list[CommandRecord] = Field(default_factory=list)  # handled command keys, oldest first
    cancelled: bool = False
    verified_at: datetime | None = None  # when GitHub was last read for this PR (trust but verify)
    verifications: int = 0  # reads of the PR from GitHub by this run
    checked_at: datetime | None = None  # when the last staleness check read the PR (or failed to)
    unprojected: list[JournalEntry] = Field(default_factory=list)  # journal lines the store has not taken yet
    queue: Membership = Field(default_factory=Membership)  # its place in its base's merge queue
    unchecked: int = 0  # attempts not checked because Mender itself failed (not charged to a budget)

    @property
    def pr(self) -> PRRef:
        return self.lifecycle.pr


@dataclass(frozen=True)
class Context:
    """What a decision may read besides the memory: the policy now, the time now, who decides."""

    policy: RepoPolicy
    now: datetime
    run_id: str = ""  # the workflow's first run id, stable across continue-as-new (audit keys)
    workflow_id: str = ""
    merge_queue_known: bool = True  # False: decide as before merge-queue-lite (to replay older runs)
    unchecked_uncharged: bool = True  # False: a timed-out remediation is charged (to replay older runs)
    # True: staleness counts from the last event's own time; False: from when the workflow last woke up
    # (runs started before EVENT_TIME_REVISION replay as they ran)
    stale_from_event_time: bool = True


@dataclass(frozen=True)
class StrategyOutcome:
    """What a strategy did on GitHub: acted (`ok`), nothing needed (`noop`), or refused and why.

    `replaced` is the lineage event of a close-and-reopen that opened the PR's replacement.
    """

    ok: bool
    noop: bool = False
    detail: str = ""
    replaced: PREvent | None = None


@dataclass(frozen=True)
class Failed:
    """An activity that failed after its retries, why, and its kind (the error type, when known)."""

    reason: str
    kind: str = ""


class Purpose(StrEnum):
    """Why the PR is read from GitHub."""

    STALE = "stale"  # the state's threshold passed: verify, then maybe act
    REFRESH = "refresh"  # somebody asked for a refresh: verify only
    COMMAND = "command"  # a command needs the live PR before it runs


@dataclass(frozen=True)
class Plan:
    """One remediation about to run: the decision, the head it was made on, and who asked."""

    decision: Decision
    head_sha: str | None
    title: str = ""
    attempt: int = 0
    command: CommandRequest | None = None
    spec: CommandSpec | None = None
    started_at: datetime | None = None  # when the strategy was started: its effect cannot be older
    base_ref: str | None = None  # the base branch (whose merge queue a branch update waits in)
    nearness: int = 0  # how near to merge the PR was (`merge_queue.nearness`): its place in the queue


class Effect:
    """Something the workflow does for the decider."""

    feeds_back: ClassVar[bool] = False


@dataclass(frozen=True)
class Record(Effect):
    """Project the lifecycle and the new journal lines into the store; result None or `Failed`."""

    feeds_back: ClassVar[bool] = True

    lifecycle: PRLifecycle
    entries: tuple[JournalEntry, ...] = ()
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Publish(Effect):
    """Set the search attributes (state, needs human, last event)."""

    state: str
    needs_human: bool
    last_event_at: datetime | None


@dataclass(frozen=True)
class Audit(Effect):
    entry: AuditEntry


@dataclass(frozen=True)
class Log(Effect):
    level: str  # "info", "warning" or "error"
    message: str


@dataclass(frozen=True)
class ReportToBreaker(Effect):
    ok: bool
    detail: str
    repo_only: bool = False  # a failure of this repository alone (gone, forbidden, archived)


@dataclass(frozen=True)
class FetchSnapshot(Effect):
    """Read the PR from GitHub; result `PRSnapshot` or `Failed`."""

    feeds_back: ClassVar[bool] = True
    purpose: Purpose
    before: tuple[str | None, str | None] = (None, None)  # (state, head) when the threshold passed
    command: CommandRequest | None = None
    spec: CommandSpec | None = None


@dataclass(frozen=True)
class AskPermit(Effect):
    """Ask the circuit breaker; result `Permit` or `Failed`."""

    feeds_back: ClassVar[bool] = True
    plan: Plan


@dataclass(frozen=True)
class AskTurn(Effect):
    """Ask the merge queue of the plan's base for the turn to update the branch; result `Turn` or `Failed`."""

    feeds_back: ClassVar[bool] = True
    plan: Plan


@dataclass(frozen=True)
class ReleaseTurn(Effect):
    """Leave the merge queue of `base_ref` (holding the turn or waiting): the next PR gets it."""

    base_ref: str


@dataclass(frozen=True)
class RunStrategy(Effect):
    """Carry out one remediation on GitHub; result `StrategyOutcome` or `Failed`."""

    feeds_back: ClassVar[bool] = True
    plan: Plan
    strategy: Strategy
    bot: str | None = None


@dataclass(frozen=True)
class Notify(Effect):
    """Tell a human that the PR needs them; result `NoticeResult` or `Failed`."""

    feeds_back: ClassVar[bool] = True
    notice: EscalationNotice
    reason: str


@dataclass(frozen=True)
class CheckPermission(Effect):
    """May this commenter command Mender? Result `Permission`-like (permitted, reason) or `Failed`."""

    feeds_back: ClassVar[bool] = True
    request: CommandRequest
    spec: CommandSpec


@dataclass(frozen=True)
class Reply(Effect):
    """Answer a comment command on the PR (once per idempotency key)."""

    key: str
    body: str


@dataclass(frozen=True)
class Answer(Effect):
    """The answer to a command update."""

    key: str
    answer: CommandAnswer


@dataclass
class PRStep:
    """A decision: the new memory and the effects to carry out, in order."""

    memory: PRMemory
    effects: list[Effect] = field(default_factory=list)

    def then(self, next_step: Callable[[PRMemory], PRStep]) -> PRStep:
        """This step followed by the step decided on its memory: effects in order, the last memory."""
        other = next_step(self.memory)
        return PRStep(other.memory, [*self.effects, *other.effects])
