"""The PR lifecycle workflow: one long-lived workflow per bot PR, id `pr/<owner>/<repo>/<number>`.

A thin loop: it feeds each input (events, the staleness timer, a refresh request, a command, the result
of an effect) to the pure decider (`domain/pr_healing/decider.py`) and carries out the effects it
returns (`workflows/pr_effects.py`). No rule lives here.
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts.pr import (
        COMMAND_UPDATE,
        CONCURRENT_CHECK_REVISION,
        EVENT_SIGNAL,
        EVENT_TIME_REVISION,
        LATEST_REVISION,
        LEAN_REVISION,
        PR_WORKFLOW,
        QUEUE_REVISION,
        REFRESH_SIGNAL,
        REMOTE_REVISION,
        STATUS_QUERY,
        TURN_SIGNAL,
        UNCHECKED_REVISION,
        VISIBLE_REVISION,
        PRStatus,
        PRWorkflowInput,
    )
    from contracts.visibility import MENDER_REPO
    from domain.config import RepoPolicy
    from domain.pr_healing import audit_rows, decider
    from domain.pr_healing.commands import CommandAnswer, CommandRequest, malformed
    from domain.pr_healing.effects import Audit, Context, Effect, PRMemory, PRStep
    from domain.pr_healing.events import PREvent
    from domain.pr_healing.lifecycle import PRLifecycle
    from workflows.calls import call
    from workflows.pr_effects import EffectRunner


@workflow.defn(name=PR_WORKFLOW)
class PRLifecycleWorkflow:
    """Follows one PR from opening to merge and heals it when it stalls.

    Waits for the next event with the current state's staleness threshold as timeout; the decider says
    what a timeout, an event or a command means. After MERGED or CLOSED it absorbs late events for a
    grace period, then completes. History is bounded by continue-as-new.
    """

    @workflow.init
    def __init__(self, input: PRWorkflowInput) -> None:
        self.memory = PRMemory(
            lifecycle=input.carried or PRLifecycle(pr=input.pr),
            recent=input.recent,
            settled_at=input.settled_at,
            expecting=input.expecting,
            html_url=input.html_url,
            commands=input.commands,
            cancelled=input.cancelled,
            verified_at=input.verified_at,
            queue=input.queue,
            unchecked=input.unchecked,
            checked_at=input.checked_at,
        )
        self._inbox: list[PREvent] = list(input.pending)
        self._refresh_requested = False
        self._turn_offered = False
        self._closing = False
        self._running: set[str] = set()
        self.policy: RepoPolicy | None = input.policy  # None: read at the start of the run
        self.runner = EffectRunner(input.pr)
        self.revision = input.revision
        self.runner.lean = input.revision >= LEAN_REVISION
        self.runner.local = input.revision < REMOTE_REVISION
        self.runner.changed_only = input.revision >= VISIBLE_REVISION
        self.concurrent = input.revision >= CONCURRENT_CHECK_REVISION
        self._policy_read: asyncio.Task[None] | None = None  # a check's policy read, while GitHub is read
        self.busy = asyncio.Lock()  # one actor at a time: the main loop or one command

    @workflow.signal(name=EVENT_SIGNAL)
    def event(self, event: PREvent) -> None:
        """Deliver one fact about the PR (webhook, reconciler or Mender itself); duplicates are no-ops."""
        self._inbox.append(event)

    @workflow.signal(name=REFRESH_SIGNAL)
    def refresh(self) -> None:
        """Ask for a trust-but-verify refresh now (the reconciler sends it when GitHub disagrees)."""
        self._refresh_requested = True

    @workflow.signal(name=TURN_SIGNAL)
    def turn(self) -> None:
        """Its merge queue says the turn to update the branch is this PR's: look again now."""
        self._turn_offered = True

    @workflow.update(name=COMMAND_UPDATE)
    async def command(self, request: CommandRequest) -> CommandAnswer:
        """A PR command (comment, Admin API, CLI); semantics in `domain/pr_healing/command_steps.py`."""
        key = request.idempotency_key
        if key in self._running or decider.duplicate_of(self.memory, request) is not None:
            await workflow.wait_condition(lambda: decider.duplicate_of(self.memory, request) is not None)
            answer = decider.duplicate_of(self.memory, request)
            assert answer is not None
            await workflow.wait_condition(lambda: self.policy is not None)
            await self._carry_out([Audit(audit_rows.command(self.memory.pr, request, answer))])
            return answer
        self._running.add(key)
        try:
            self.memory = decider.arrives(self.memory, request)
            await workflow.wait_condition(lambda: self.policy is not None)
            async with self.busy:
                await self._decide(lambda ctx: decider.on_command(self.memory, ctx, request))
        finally:
            self._running.discard(key)
        return self.runner.answers.pop(key)

    @command.validator
    def validate_command(self, request: CommandRequest) -> None:
        """Reject malformed requests only (and any once the workflow is finishing)."""
        reason = "the PR workflow is finishing" if self._closing else malformed(request)
        if reason:
            raise ApplicationError(reason, type="CommandRejected", non_retryable=True)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> PRStatus:
        """Current state, head, retry counts, pending expectation and the recent event log."""
        m, lc = self.memory, self.memory.lifecycle
        return PRStatus(
            pr=lc.pr,
            workflow_id=workflow.info().workflow_id,
            state=lc.state,
            head_sha=lc.head_sha,
            last_event_at=lc.last_event_at,
            invalid_events=lc.invalid_count,
            retry_counts=dict(lc.retry_counts),
            expecting=m.expecting,
            recent_events=list(m.recent),
            cancelled=m.cancelled,
            commands=list(m.commands),
            verified_at=m.verified_at,
            verifications=m.verifications,
            unchecked_attempts=m.unchecked,
        )

    @workflow.run
    async def run(self, input: PRWorkflowInput) -> PRStatus:
        while self.policy is None:
            await self._load_policy(input.pr.repo)
        if self.memory.settled_at is None:
            self.memory = self.memory.model_copy(update={"settled_at": workflow.now()})
        if not self.runner.lean or workflow.info().typed_search_attributes.get(MENDER_REPO) != input.pr.repo:
            workflow.upsert_search_attributes([MENDER_REPO.value_set(input.pr.repo)])  # (the starter sets it)
        while True:
            if self._history_too_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(self._carried(input))
            try:
                await workflow.wait_condition(
                    lambda: (
                        bool(self._inbox)
                        or self._refresh_requested
                        or self._turn_offered
                        or decider.cut_short(self.memory)
                        or self._history_grew()
                    ),
                    timeout=timedelta(seconds=decider.seconds_to_wait(self.memory, self._context())),
                )
            except TimeoutError:
                if decider.settled(self.memory):
                    break
                async with self.busy:
                    if self.concurrent:  # awaited before the snapshot's result is decided on
                        self._policy_read = asyncio.create_task(self._load_policy(input.pr.repo))
                    else:
                        await self._load_policy(input.pr.repo)
                    await self._decide(lambda ctx: decider.on_stale(self.memory, ctx))
                continue
            if decider.cut_short(self.memory) and not self._inbox:
                break
            async with self.busy:
                if self._inbox:
                    events, self._inbox = self._inbox, []
                    await self._decide(lambda ctx, batch=events: decider.on_events(self.memory, ctx, batch))
                elif self._refresh_requested:
                    self._refresh_requested = False
                    if not decider.settled(self.memory):
                        await self._decide(lambda ctx: decider.on_refresh(self.memory, ctx))
                elif self._turn_offered:
                    self._turn_offered = False
                    await self._decide(lambda ctx: decider.on_turn(self.memory, ctx))
        self._closing = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._decide(lambda ctx: decider.closing(self.memory, ctx))
        return self.status()

    async def _load_policy(self, repo: str) -> None:
        """The repository's settings now; when the configuration cannot be read, the last ones stay."""
        try:
            self.policy = await call(catalogue.REPO_POLICY, repo, local=self.runner.local)
        except ActivityError as exc:
            workflow.logger.error("PR workflow %s: configuration not read: %s", repo, exc.cause or exc)
            if self.policy is None:
                await workflow.sleep(timedelta(seconds=30))

    def _context(self) -> Context:
        assert self.policy is not None
        info = workflow.info()
        return Context(
            policy=self.policy,
            now=workflow.now(),
            run_id=info.first_execution_run_id,
            workflow_id=info.workflow_id,
            merge_queue_known=self.revision >= QUEUE_REVISION,
            unchecked_uncharged=self.revision >= UNCHECKED_REVISION,
            stale_from_event_time=self.revision >= EVENT_TIME_REVISION,
        )

    async def _decide(self, decide) -> None:  # type: ignore[no-untyped-def]
        step: PRStep = decide(self._context())
        self.memory = step.memory
        await self._carry_out(step.effects)

    async def _carry_out(self, effects: list[Effect]) -> None:
        """Run effects in order; a result that feeds back gives the next effects, run before the rest.
        CONCURRENT_CHECK_REVISION: an audit row is written while the effects after it run (awaited at
        the end), and a check's policy read is awaited before a result is decided on."""
        assert self.policy is not None
        queue = deque(effects)
        audits: list[asyncio.Task[Any]] = []  # CONCURRENT_CHECK_REVISION: written while the rest runs
        while queue:
            effect = queue.popleft()
            if self.concurrent and isinstance(effect, Audit):
                audits.append(asyncio.create_task(self.runner.perform(effect, self.policy, queue)))
                continue
            result = await self.runner.perform(effect, self.policy, queue)
            if effect.feeds_back:
                await self._policy_read_done()
                step = decider.resume(self.memory, self._context(), effect, result)
                self.memory = step.memory
                queue.extendleft(reversed(step.effects))
        await self._policy_read_done()
        await asyncio.gather(*audits)
        self.runner.publish()

    async def _policy_read_done(self) -> None:
        """The staleness check's policy read started beside its GitHub read has its answer."""
        if self._policy_read is not None:  # (a command's audit may wait on it too: a task awaits twice)
            await self._policy_read
            self._policy_read = None

    def _history_grew(self) -> bool:
        """Commands alone (update handlers) grew the history past its budget: wake to continue as new
        (runs from before UNCHECKED_REVISION waited for their next event or threshold)."""
        return self.revision >= UNCHECKED_REVISION and self._history_too_long()

    def _history_too_long(self) -> bool:
        info = workflow.info()
        assert self.policy is not None
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.policy.history_events_before_continue
        )

    def _carried(self, input: PRWorkflowInput) -> PRWorkflowInput:
        m = self.memory
        return PRWorkflowInput(
            pr=input.pr,
            carried=m.lifecycle,
            recent=m.recent,
            pending=self._inbox,
            settled_at=m.settled_at,
            expecting=m.expecting,
            html_url=m.html_url,
            commands=m.commands,
            cancelled=m.cancelled,
            verified_at=m.verified_at,
            revision=LATEST_REVISION,  # a new run has no history to replay: the latest mechanics
            queue=m.queue,
            unchecked=m.unchecked,
            checked_at=m.checked_at,
        )
