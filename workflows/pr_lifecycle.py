"""The PR lifecycle workflow: one long-lived workflow per bot PR, id `pr/<owner>/<repo>/<number>`."""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts.pr import (
        COMMAND_UPDATE,
        EVENT_SIGNAL,
        REFRESH_SIGNAL,
        STATUS_QUERY,
        PRRecordUpdate,
        PRStatus,
        PRWorkflowInput,
    )
    from contracts.visibility import (
        MENDER_LAST_EVENT_AT,
        MENDER_NEEDS_HUMAN,
        MENDER_REPO,
        MENDER_STATE,
        UNTRACKED,
    )
    from domain.config import RepoPolicy
    from domain.pr_healing import lifecycle as machine
    from domain.pr_healing.commands import CommandAnswer, CommandRequest
    from domain.pr_healing.events import PREvent
    from domain.pr_healing.lifecycle import JournalEntry, PRLifecycle, PRState, TransitionOutcome
    from workflows import pr_audit
    from workflows.calls import call
    from workflows.pr_commands import Commands
    from workflows.pr_remedies import Remedies


@workflow.defn(name="PRLifecycle")
class PRLifecycleWorkflow:
    """Follows one PR from opening to merge and heals it when it stalls.

    Waits for the next event with the current state's staleness threshold as timeout. On timeout it
    refreshes the PR from GitHub, folds missed facts in (source reconciler) and, if still stale, lets the
    classifier pick one remediation, which runs within its budget, behind the circuit breaker, and counts
    only once its effect is seen. After MERGED or CLOSED it absorbs late events for a grace period, then
    completes. A PR never opened lingers briefly, then completes. History is bounded by continue-as-new.
    """

    @workflow.init
    def __init__(self, input: PRWorkflowInput) -> None:
        self.lifecycle = input.carried or PRLifecycle(pr=input.pr)
        self.recent: deque[JournalEntry] = deque(input.recent)
        self._inbox: list[PREvent] = list(input.pending)
        self._settled_at = input.settled_at  # when the PR became terminal, or when untracked began
        self._refresh_requested = False
        self.policy: RepoPolicy | None = None
        self.html_url = input.html_url
        self.remedies = Remedies(self, input.expecting)
        self.commands = Commands(self, input.commands, input.cancelled)
        self.busy = asyncio.Lock()  # one actor at a time: the main loop or one command

    @workflow.signal(name=EVENT_SIGNAL)
    def event(self, event: PREvent) -> None:
        """Deliver one fact about the PR (webhook, reconciler or Mender itself); duplicates are no-ops."""
        self._inbox.append(event)

    @workflow.signal(name=REFRESH_SIGNAL)
    def refresh(self) -> None:
        """Ask for a trust-but-verify refresh now (the reconciler sends it when GitHub disagrees)."""
        self._refresh_requested = True

    @workflow.update(name=COMMAND_UPDATE)
    async def command(self, request: CommandRequest) -> CommandAnswer:
        """A PR command (comment, Admin API, CLI); semantics in `workflows/pr_commands.py`."""
        return await self.commands.handle(request)

    @command.validator
    def validate_command(self, request: CommandRequest) -> None:
        self.commands.check(request)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> PRStatus:
        """Current state, head, retry counts, pending expectation and the recent event log."""
        lc = self.lifecycle
        return PRStatus(
            pr=lc.pr,
            workflow_id=workflow.info().workflow_id,
            state=lc.state,
            head_sha=lc.head_sha,
            last_event_at=lc.last_event_at,
            invalid_events=lc.invalid_count,
            retry_counts=dict(lc.retry_counts),
            expecting=self.remedies.expecting,
            recent_events=list(self.recent),
            cancelled=self.commands.cancelled,
            commands=self.commands.carried(),
        )

    @workflow.run
    async def run(self, input: PRWorkflowInput) -> PRStatus:
        self.policy = await self.load_policy()
        if self._settled_at is None:
            self._settled_at = workflow.now()
        workflow.upsert_search_attributes([MENDER_REPO.value_set(input.pr.repo)])
        while True:
            try:
                await workflow.wait_condition(
                    lambda: bool(self._inbox) or self._refresh_requested or self._cut_short(),
                    timeout=self._wait_time(),
                )
            except TimeoutError:
                if self.lifecycle.terminal or not self.lifecycle.tracked:
                    break
                async with self.busy:
                    self.policy = await self.load_policy()
                    await self.remedies.on_stale()
                continue
            if self._cut_short() and not self._inbox:
                break
            if self._refresh_requested and not self._inbox:
                self._refresh_requested = False
                if self.lifecycle.tracked and not self.lifecycle.terminal:
                    async with self.busy:
                        await self.remedies.refresh()
                continue
            async with self.busy:
                await self.fold(self._take_inbox())
            if self._history_too_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    PRWorkflowInput(
                        pr=input.pr,
                        carried=self.lifecycle,
                        recent=list(self.recent),
                        pending=self._inbox,
                        settled_at=self._settled_at,
                        expecting=self.remedies.expecting,
                        html_url=self.html_url,
                        commands=self.commands.carried(),
                        cancelled=self.commands.cancelled,
                    )
                )
        self.commands.closing = True
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._finish()
        return self.status()

    def _cut_short(self) -> bool:
        """A cancelled PR that is over (or never tracked) needs no grace period."""
        return self.commands.cancelled and (self.lifecycle.terminal or not self.lifecycle.tracked)

    def _take_inbox(self) -> list[PREvent]:
        events, self._inbox = self._inbox, []
        return events

    async def load_policy(self) -> RepoPolicy:
        return await call(catalogue.REPO_POLICY, self.lifecycle.pr.repo)

    def _wait_time(self) -> timedelta:
        assert self.policy is not None
        seconds = self.policy.stale_after(self.lifecycle.state)
        if self.lifecycle.terminal or not self.lifecycle.tracked:
            assert self._settled_at is not None
            seconds -= (workflow.now() - self._settled_at).total_seconds()
        elif self.remedies.expecting is not None:
            left = (self.remedies.expecting.deadline - workflow.now()).total_seconds()
            seconds = min(seconds, left)
        return timedelta(seconds=max(seconds, 0.001))

    async def fold(self, events: list[PREvent]) -> list[JournalEntry]:
        """Apply events to the lifecycle, journal and record them, and keep visibility current."""
        was_terminal, was_tracked = self.lifecycle.terminal, self.lifecycle.tracked
        entries: list[JournalEntry] = []
        for event in events:
            self.lifecycle, transition = machine.apply(self.lifecycle, event)
            if transition.outcome is TransitionOutcome.DUPLICATE:
                continue
            if transition.flagged or transition.outcome is TransitionOutcome.IGNORED:
                workflow.logger.warning("PR %s: %s: %s", event.pr.key, transition.outcome, transition.reason)
            if self.html_url is None and event.details.get("html_url"):
                self.html_url = str(event.details["html_url"])
            entry = JournalEntry(event=event, transition=transition)
            entries.append(entry)
            self.recent.append(entry)
        assert self.policy is not None
        while len(self.recent) > self.policy.recent_events_kept:
            self.recent.popleft()
        if self.lifecycle.terminal != was_terminal or self.lifecycle.tracked != was_tracked:
            self._settled_at = workflow.now()
        if entries:
            await self.record(entries)
            self.publish_visibility()
            for entry in entries:
                if (
                    entry.transition.outcome is TransitionOutcome.APPLIED
                    and entry.transition.from_state is None
                ):
                    await pr_audit.record(pr_audit.detected(entry.event))  # the PR is tracked from now on
            await self.remedies.observe(entries)
        return entries

    async def record(self, entries: list[JournalEntry], expires_at: datetime | None = None) -> None:
        if not self.lifecycle.tracked:
            # Nothing to project for a PR Mender never saw opened; the ignored events stay in history.
            return
        await call(catalogue.RECORD_PR, PRRecordUpdate.of(self.lifecycle, entries, expires_at))

    def publish_visibility(self) -> None:
        lc = self.lifecycle
        updates = [
            MENDER_STATE.value_set(lc.state.value if lc.state else UNTRACKED),
            MENDER_NEEDS_HUMAN.value_set(lc.state is PRState.NEEDS_INTERVENTION),
        ]
        if lc.last_event_at:
            updates.append(MENDER_LAST_EVENT_AT.value_set(lc.last_event_at))
        workflow.upsert_search_attributes(updates)

    def _history_too_long(self) -> bool:
        info = workflow.info()
        assert self.policy is not None
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self.policy.history_events_before_continue
        )

    async def _finish(self) -> None:
        if self.lifecycle.terminal:
            # The store keeps the record for the retention period after the grace period ends.
            assert self.policy is not None
            expires = workflow.now() + timedelta(days=self.policy.store_retention_days)
            await self.record([], expires_at=expires)
