"""The PR lifecycle workflow: one long-lived workflow per bot PR, id `pr/<owner>/<repo>/<number>`."""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities import config as config_activities
    from activities import store as store_activities
    from domain import lifecycle as machine
    from domain.config import RepoPolicy
    from domain.events import PREvent, PRRef
    from domain.lifecycle import JournalEntry, Outcome, PRLifecycle, PRState
    from workflows.visibility import (
        MENDER_LAST_EVENT_AT,
        MENDER_NEEDS_HUMAN,
        MENDER_REPO,
        MENDER_STATE,
        UNTRACKED,
    )

EVENT_SIGNAL = "event"
STATUS_QUERY = "status"
ACTIVITY_TIMEOUT = timedelta(seconds=30)
ACTIVITY_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))


class PRWorkflowInput(BaseModel):
    """Start input; everything but `pr` is carried over by continue-as-new."""

    pr: PRRef
    carried: PRLifecycle | None = None
    recent: list[JournalEntry] = Field(default_factory=list)
    pending: list[PREvent] = Field(default_factory=list)
    settled_at: datetime | None = None


class PRStatus(BaseModel):
    """Answer of the `status` query: where the PR is and what happened to it lately."""

    pr: PRRef
    workflow_id: str
    state: PRState | None
    head_sha: str | None
    last_event_at: datetime | None
    invalid_events: int
    retry_counts: dict[str, int] = Field(default_factory=dict)
    recent_events: list[JournalEntry]


@workflow.defn(name="PRLifecycle")
class PRLifecycleWorkflow:
    """Folds every event about one PR into its lifecycle, records it, and keeps visibility current.

    Waits for the next event with the current state's staleness threshold as timeout. After MERGED or
    CLOSED it absorbs late events for a grace period, then completes. A PR never opened (first event
    not an opening) lingers briefly, then completes. History is bounded with continue-as-new.
    """

    @workflow.init
    def __init__(self, input: PRWorkflowInput) -> None:
        self._lifecycle = input.carried or PRLifecycle(pr=input.pr)
        self._recent: deque[JournalEntry] = deque(input.recent)
        self._inbox: list[PREvent] = list(input.pending)
        self._settled_at = input.settled_at  # when the PR became terminal, or when untracked began
        self._policy: RepoPolicy | None = None

    @workflow.signal(name=EVENT_SIGNAL)
    def event(self, event: PREvent) -> None:
        """Deliver one fact about the PR (webhook, reconciler or Mender itself); duplicates are no-ops."""
        self._inbox.append(event)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> PRStatus:
        """Current state, head, last event time, invalid-event count and the recent event log."""
        lc = self._lifecycle
        return PRStatus(
            pr=lc.pr,
            workflow_id=workflow.info().workflow_id,
            state=lc.state,
            head_sha=lc.head_sha,
            last_event_at=lc.last_event_at,
            invalid_events=lc.invalid_count,
            recent_events=list(self._recent),
        )

    @workflow.run
    async def run(self, input: PRWorkflowInput) -> PRStatus:
        self._policy = await self._load_policy()
        if self._settled_at is None:
            self._settled_at = workflow.now()
        workflow.upsert_search_attributes([MENDER_REPO.value_set(input.pr.repo)])
        while True:
            try:
                await workflow.wait_condition(lambda: bool(self._inbox), timeout=self._wait_time())
            except TimeoutError:
                if self._lifecycle.terminal or not self._lifecycle.tracked:
                    break
                workflow.logger.info("PR %s stale in %s", input.pr.key, self._lifecycle.state)
                self._policy = await self._load_policy()
                continue
            await self._fold_inbox()
            if self._history_too_long():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    PRWorkflowInput(
                        pr=input.pr,
                        carried=self._lifecycle,
                        recent=list(self._recent),
                        pending=self._inbox,
                        settled_at=self._settled_at,
                    )
                )
        await self._finish()
        return self.status()

    async def _load_policy(self) -> RepoPolicy:
        return await workflow.execute_activity(
            config_activities.repo_policy,
            self._lifecycle.pr.repo,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    def _wait_time(self) -> timedelta:
        assert self._policy is not None
        seconds = self._policy.stale_after(self._lifecycle.state)
        if self._lifecycle.terminal or not self._lifecycle.tracked:
            assert self._settled_at is not None
            seconds -= (workflow.now() - self._settled_at).total_seconds()
        return timedelta(seconds=max(seconds, 0.001))

    async def _fold_inbox(self) -> None:
        events, self._inbox = self._inbox, []
        was_terminal, was_tracked = self._lifecycle.terminal, self._lifecycle.tracked
        entries: list[JournalEntry] = []
        for event in events:
            self._lifecycle, transition = machine.apply(self._lifecycle, event)
            if transition.outcome is Outcome.DUPLICATE:
                continue
            if transition.flagged or transition.outcome is Outcome.IGNORED:
                workflow.logger.warning("PR %s: %s: %s", event.pr.key, transition.outcome, transition.reason)
            entry = JournalEntry(event=event, transition=transition)
            entries.append(entry)
            self._recent.append(entry)
        assert self._policy is not None
        while len(self._recent) > self._policy.recent_events_kept:
            self._recent.popleft()
        if self._lifecycle.terminal != was_terminal or self._lifecycle.tracked != was_tracked:
            self._settled_at = workflow.now()
        if entries:
            await self._record(entries)
            self._publish_visibility()

    async def _record(self, entries: list[JournalEntry], expires_at: datetime | None = None) -> None:
        if not self._lifecycle.tracked:
            # Nothing to project for a PR Mender never saw opened; the ignored events stay in history.
            return
        await workflow.execute_activity(
            store_activities.record_pr,
            store_activities.PRRecordUpdate.of(self._lifecycle, entries, expires_at),
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=ACTIVITY_RETRY,
        )

    def _publish_visibility(self) -> None:
        lc = self._lifecycle
        updates = [
            MENDER_STATE.value_set(lc.state.value if lc.state else UNTRACKED),
            MENDER_NEEDS_HUMAN.value_set(lc.state is PRState.NEEDS_INTERVENTION),
        ]
        if lc.last_event_at:
            updates.append(MENDER_LAST_EVENT_AT.value_set(lc.last_event_at))
        workflow.upsert_search_attributes(updates)

    def _history_too_long(self) -> bool:
        info = workflow.info()
        assert self._policy is not None
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._policy.history_events_before_continue
        )

    async def _finish(self) -> None:
        if self._lifecycle.terminal:
            # The store keeps the record for the retention period after the grace period ends.
            assert self._policy is not None
            expires = workflow.now() + timedelta(days=self._policy.store_retention_days)
            await self._record([], expires_at=expires)
