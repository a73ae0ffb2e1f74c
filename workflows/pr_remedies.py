"""The healing half of the PR workflow: refresh, classify, act within budget, expect the effect.

Runs inside `PRLifecycleWorkflow` (deterministic code only); every side effect is an activity.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from contracts.breaker import BreakerOutcomeArgs, BreakerPermitArgs
    from contracts.pr import BotArgs, StrategyArgs, StrategyResult
    from domain.pr_healing.classifier import EFFECT_OF, Decision, PRAction, classify
    from domain.pr_healing.commands import HUMAN_MARK, CommandRequest
    from domain.pr_healing.events import EventSource, EventType, PREvent
    from domain.pr_healing.facts import missed_facts
    from domain.pr_healing.lifecycle import JournalEntry
    from domain.pr_healing.remediation import (
        Expectation,
        RemedyOutcome,
        escalation_notice,
        history_for_classifier,
        remediation_event,
    )
    from domain.pr_healing.snapshot import PRSnapshot
    from domain.shared.breaker import Permit
    from domain.shared.notifications import NoticeResult
    from workflows import pr_audit
    from workflows.reopen_saga import close_and_reopen

if TYPE_CHECKING:
    from workflows.pr_lifecycle import PRLifecycleWorkflow

GITHUB_CALL = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
}
BREAKER_CALL = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=2),
}
NOTIFY_CALL = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=5),
}


class Remedies:
    """Stateful helper of one PR workflow: `expecting` is carried across continue-as-new."""

    def __init__(self, wf: PRLifecycleWorkflow, expecting: Expectation | None) -> None:
        self.wf = wf
        self.expecting = expecting

    @property
    def _pr(self):
        return self.wf.lifecycle.pr

    async def refresh(self) -> PRSnapshot | None:
        """Trust but verify: read the PR from GitHub and fold in what the lifecycle missed."""
        try:
            snap = await workflow.execute_activity(
                "github.fetch_snapshot", self._pr, result_type=PRSnapshot, **GITHUB_CALL
            )
        except ActivityError as exc:
            workflow.logger.warning("PR %s: refresh failed: %s", self._pr.key, exc.cause)
            await self._report(ok=False, detail=f"refresh failed: {exc.cause}")
            return None
        if self.wf.html_url is None:
            self.wf.html_url = snap.html_url
        assert self.wf.policy is not None
        missed = missed_facts(self.wf.lifecycle, snap, self.wf.policy.policy_context, workflow.now())
        if missed:
            await self.wf.fold(missed)
        return snap

    async def on_stale(self) -> None:
        """The state's threshold passed (or an expected effect is overdue): refresh, then maybe act."""
        before = (self.wf.lifecycle.state, self.wf.lifecycle.head_sha)
        snap = await self.refresh()
        if snap is None:
            return
        if self.expecting is not None:
            if workflow.now() < self.expecting.deadline:
                return
            missed, self.expecting = self.expecting, None
            await self._remember(
                missed.action, RemedyOutcome.NO_EFFECT, f"{missed.action}:{missed.attempt}:effect"
            )
            await self._report(ok=False, detail=f"{missed.action} had no effect")
        lc = self.wf.lifecycle
        if (lc.state, lc.head_sha) != before or lc.terminal or self.wf.commands.cancelled:
            return
        assert self.wf.policy is not None
        policy = self.wf.policy
        decision = classify(
            lc.state,
            history_for_classifier(self.wf.recent),
            snap,
            lc.retry_counts,
            policy.retry_budgets,
            policy.remediation,
            policy.policy_context,
        )
        workflow.logger.info(
            "PR %s stale in %s: %s (%s)", self._pr.key, lc.state, decision.action, decision.reason
        )
        if decision.action is not PRAction.NO_ACTION:  # "wait" decisions are not audited (one per timeout)
            entry = pr_audit.classified(lc.pr, lc.state, snap.head_sha, decision, lc.retry_counts)
            await pr_audit.record(entry)
        await self.act(decision, snap)

    async def observe(self, entries: list[JournalEntry]) -> None:
        """Called for every folded batch: an expected effect counts the remediation as a success."""
        if self.expecting is None:
            return
        if any(e.event.source is not EventSource.MENDER and self.expecting.met_by(e.event) for e in entries):
            done, self.expecting = self.expecting, None
            await self._remember(done.action, RemedyOutcome.EFFECT, f"{done.action}:{done.attempt}:effect")
            await self._report(ok=True, detail=f"{done.action} took effect")

    async def act(
        self, decision: Decision, snap: PRSnapshot, command: CommandRequest | None = None
    ) -> tuple[str, str]:
        """Carry out one decision: escalate, record it (observe mode), or run the strategy.

        Returns (outcome, detail). A `command` (a human's) is not budget-checked by anyone: it is
        counted like any attempt plus under `<budget>:command`, and its records name the requester.
        """
        if decision.action is PRAction.NO_ACTION:
            return RemedyOutcome.NOOP, decision.reason
        if decision.action is PRAction.NEEDS_INTERVENTION:
            await self.escalate(decision.reason)
            return "escalated", decision.reason
        assert self.wf.policy is not None and decision.budget is not None
        action, head, budget = decision.action, snap.head_sha, decision.budget
        attempt = self.wf.lifecycle.retry_counts.get(budget, 0) + 1
        extra: dict[str, object] = {"reason": decision.reason}
        if command is not None:
            extra |= {"command": command.command, "requester": command.requester, "via": command.source.value}
        if self.wf.policy.mode == "observe":
            await self._remember(action, RemedyOutcome.OBSERVED, f"observe:{action}:{head}", **extra)
            return RemedyOutcome.OBSERVED, "Mender only observes this repository"
        if not await self._permit():
            await self._remember(action, RemedyOutcome.PAUSED, f"paused:{action}:{attempt}", **extra)
            return RemedyOutcome.PAUSED, "the GitHub circuit breaker is open"
        counts = {**self.wf.lifecycle.retry_counts, budget: attempt}
        if command is not None:
            counts[budget + HUMAN_MARK] = counts.get(budget + HUMAN_MARK, 0) + 1
        self.wf.lifecycle = self.wf.lifecycle.model_copy(update={"retry_counts": counts})
        key = f"{action}:{attempt}"
        try:
            result = await self._run(action, snap, attempt, direct=command is not None)
        except ActivityError as exc:
            await self._remember(action, RemedyOutcome.FAILED, key, detail=str(exc.cause), **extra)
            await self._report(ok=False, detail=f"{action} failed: {exc.cause}")
            return RemedyOutcome.FAILED, str(exc.cause)
        if not result.ok:
            await self._remember(action, RemedyOutcome.REFUSED, key, detail=result.detail, **extra)
            return RemedyOutcome.REFUSED, result.detail
        if result.noop:
            await self._remember(action, RemedyOutcome.NOOP, key, detail=result.detail, **extra)
            return RemedyOutcome.NOOP, result.detail
        if action in EFFECT_OF:
            deadline = workflow.now() + timedelta(seconds=self.wf.policy.remediation.effect_deadline_seconds)
            self.expecting = Expectation(action=action, attempt=attempt, deadline=deadline, head_sha=head)
        await self._remember(action, RemedyOutcome.ACTED, key, detail=result.detail, **extra)
        return RemedyOutcome.ACTED, result.detail

    async def _run(
        self, action: PRAction, snap: PRSnapshot, attempt: int, direct: bool = False
    ) -> StrategyResult:
        """The strategy of `action`; `direct` (a human's /merge) merges instead of nudging automerge."""
        pr, head = self._pr, snap.head_sha
        if action is PRAction.UPDATE_BRANCH:
            name, arg = "github.update_branch", StrategyArgs(pr=pr, head_sha=head)
        elif action is PRAction.RETRY_CHECKS:
            name, arg = "github.rebuild", StrategyArgs(pr=pr, head_sha=head)
        elif action is PRAction.RETRIGGER_POLICY_BOT:
            name, arg = "github.retrigger_bot", BotArgs(pr=pr, bot="policy")
        elif action is PRAction.RETRIGGER_APPROVER_BOT:
            name, arg = "github.retrigger_bot", BotArgs(pr=pr, bot="approver")
        elif action is PRAction.RETRIGGER_SOD_BOT:
            name, arg = "github.retrigger_bot", BotArgs(pr=pr, bot="sod")
        elif action is PRAction.RETRIGGER_MERGE and attempt == 1 and not direct:
            name, arg = "github.retrigger_bot", BotArgs(pr=pr, bot="automerge")
        elif action is PRAction.RETRIGGER_MERGE:
            # The automerge bot did not react to its trigger: Mender merges, green and exactly once.
            name, arg = "github.merge", StrategyArgs(pr=pr, head_sha=head)
        else:
            return await close_and_reopen(self.wf, snap.title)
        return await workflow.execute_activity(name, arg, result_type=StrategyResult, **GITHUB_CALL)

    async def escalate(self, reason: str) -> None:
        """NEEDS_INTERVENTION: record it, set MenderNeedsHuman, and tell a human everything tried."""
        lc = self.wf.lifecycle
        event = PREvent(
            key=f"escalated:{lc.head_sha}:{sum(lc.retry_counts.values())}",
            pr=lc.pr,
            type=EventType.ESCALATED,
            source=EventSource.MENDER,
            occurred_at=workflow.now(),
            head_sha=lc.head_sha,
            details={"reason": reason},
        )
        if not await self.wf.fold([event]):
            return
        notice = escalation_notice(lc.pr, reason, "NEEDS_INTERVENTION", self.wf.html_url, self.wf.recent)
        sent: NoticeResult | None = None
        error: str | None = None
        try:
            sent = await workflow.execute_activity(
                "notify.escalation", notice, result_type=NoticeResult, **NOTIFY_CALL
            )
        except ActivityError as exc:
            workflow.logger.error("PR %s: escalation notice failed: %s", lc.pr.key, exc.cause)
            error = f"escalation notice failed: {exc.cause or exc}"
        await pr_audit.record(pr_audit.escalated(lc.pr, reason, sent, error))

    async def _remember(self, action: PRAction, outcome: str, key: str, **details: object) -> None:
        event = remediation_event(
            self._pr,
            action,
            outcome,
            f"remediation:{key}",
            workflow.now(),
            self.wf.lifecycle.head_sha,
            **details,
        )
        if await self.wf.fold([event]):  # a repeated record (same key) is neither journaled nor audited
            await pr_audit.record(pr_audit.remediation(event))

    async def _permit(self) -> bool:
        assert self.wf.policy is not None
        args = BreakerPermitArgs(scope=self.wf.policy.breaker_scope, requester=workflow.info().workflow_id)
        try:
            permit = await workflow.execute_activity(
                "breaker.request_permit", args, result_type=Permit, **BREAKER_CALL
            )
        except ActivityError as exc:
            workflow.logger.warning("PR %s: breaker unreachable, not acting: %s", self._pr.key, exc.cause)
            return False
        return permit.granted

    async def _report(self, ok: bool, detail: str) -> None:
        assert self.wf.policy is not None
        args = BreakerOutcomeArgs(
            scope=self.wf.policy.breaker_scope,
            requester=workflow.info().workflow_id,
            ok=ok,
            detail=detail[:500],
        )
        try:
            await workflow.execute_activity("breaker.report_outcome", args, **BREAKER_CALL)
        except ActivityError as exc:
            workflow.logger.warning("PR %s: breaker outcome not reported: %s", self._pr.key, exc.cause)
