"""One workflow per failed pipeline run: diagnose, gate by risk, ask a human when needed, fix, verify.

Id `ci/<provider>/<project>/<run_id>`; started by signal-with-start of the first failure event (from a
webhook or the polling fallback), so a duplicate delivery or a poll of a known run starts nothing new.
A thin loop: it feeds each input (the start, a signal, a wait's timer, the result of an effect) to the
pure decider (`domain/ci_healing/decider.py`) and carries out the effects it returns
(`workflows/ci_effects.py`). No rule lives here.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from contracts.ci import (
        APPROVAL_SIGNAL,
        CI_WORKFLOW,
        FIX_ROUTED_SIGNAL,
        RUN_EVENT_SIGNAL,
        STATUS_QUERY,
        CIStatus,
        CIWorkflowInput,
        FixPRRouted,
    )
    from domain.ci_healing import decider
    from domain.ci_healing.approval import ApprovalDecision
    from domain.ci_healing.config import HISTORY_EVENTS_BEFORE_CONTINUE
    from domain.ci_healing.effects import CIContext, CIEffect, CIMemory, CIStep
    from domain.ci_healing.runs import CIRunEvent
    from workflows.calls import REGULAR_CALLS_PATCH
    from workflows.ci_effects import CIEffectRunner
    from workflows.effect_loop import HISTORY_BUDGET_PATCH, Woke, carry_out, history_full, wait_for_news


GITLAB_CI_EDITS_PATCH = "gitlab-ci-file-fixes"  # GitLab fix MRs may edit .gitlab-ci.yml
REVIEW_OUTCOME_PATCH = "ci-awaiting-review-outcome"  # a passing fix bound for review: awaiting_review
FIX_ROUTE_PATCH = "ci-fix-route"  # a verified fix PR's route (proposed: awaiting_review) ends the run
QUEUED_ROUTE_PATCH = "ci-queued-route"  # ... and routed to the review queue: awaiting_review too
UNROUTED_FIX_PATCH = "ci-unrouted-fix"  # ... and no route (ended first, none in time): healed only if merged


@workflow.defn(name=CI_WORKFLOW)
class CIFailureWorkflow:
    """Heal one failed pipeline run, or hand it to the right human with everything needed to decide.

    Fails safe: an activity that fails after its retries hands the run to a human with the reason
    (outcome `escalated`, audited, announced, recorded) instead of failing the workflow.
    """

    @workflow.init
    def __init__(self, input: CIWorkflowInput) -> None:
        self.memory = input.carried or CIMemory.new(input.run)
        self.runner = CIEffectRunner(input.run)
        self.shown: CIStatus | None = None  # the status as of the last wait, while effects are carried out
        self.gitlab_ci_edits = self.review_outcome = self.budgeted = self.fix_route = True  # set by `run`
        self.queued_route = self.unrouted_fix = True

    @workflow.signal(name=RUN_EVENT_SIGNAL)
    def run_event(self, event: CIRunEvent) -> None:
        """A run (attempt) of this pipeline, or of a fix branch for it, changed; duplicates are dropped."""
        self.memory = decider.record_event(self.memory, event)

    @workflow.signal(name=APPROVAL_SIGNAL)
    def approval(self, decision: ApprovalDecision) -> None:
        """An approver's answer from Slack; only the first answer to a pending request counts."""
        self.memory = decider.record_answer(self.memory, decision)

    @workflow.signal(name=FIX_ROUTED_SIGNAL)
    def fix_routed(self, routed: FixPRRouted) -> None:
        """The fix PR's own workflow took its route (proposed: the run is not healed until it merges)."""
        self.memory = decider.record_route(self.memory, routed)

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> CIStatus:
        """Stage, diagnosis, gate verdict, approval, attempts and the events seen.

        While a decision's effects are carried out, the status as of the last wait: a change (the
        outcome above all) shows once the effects decided with it (reports, audit, notices) are done.
        """
        return self.shown or self.memory.status

    @workflow.run
    async def run(self, input: CIWorkflowInput) -> CIStatus:
        """Detect → analyse (playbooks, then the LLM when unsure) → gate → approve → remediate → verify."""
        self.runner.local = not workflow.patched(REGULAR_CALLS_PATCH)
        self.gitlab_ci_edits = workflow.patched(GITLAB_CI_EDITS_PATCH)
        self.review_outcome = workflow.patched(REVIEW_OUTCOME_PATCH)
        self.budgeted = workflow.patched(HISTORY_BUDGET_PATCH)
        self.fix_route = workflow.patched(FIX_ROUTE_PATCH)
        self.queued_route = workflow.patched(QUEUED_ROUTE_PATCH)
        self.unrouted_fix = workflow.patched(UNROUTED_FIX_PATCH)
        if input.carried is None:
            await self._decide(lambda ctx: decider.start(self.memory, ctx))
        while not self.memory.done:
            if history_full(self._budget()):
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(CIWorkflowInput(run=input.run, carried=self.memory))
            seconds = decider.seconds_to_wait(self.memory, self._context())
            woke = await wait_for_news(lambda: decider.news(self.memory), seconds, self._budget())
            if woke is Woke.TIMER:
                await self._decide(lambda ctx: decider.on_timer(self.memory, ctx))
            elif woke is Woke.NEWS:
                await self._decide(lambda ctx: decider.on_news(self.memory, ctx))
        return self.memory.status

    def _budget(self) -> int | None:
        """`ci.history_events_before_continue` (None for runs from before `HISTORY_BUDGET_PATCH`)."""
        if not self.budgeted:
            return None
        policy = self.memory.policy
        return policy.ci.history_events_before_continue if policy else HISTORY_EVENTS_BEFORE_CONTINUE

    def _context(self) -> CIContext:
        return CIContext(
            now=workflow.now(),
            gitlab_ci_edits=self.gitlab_ci_edits,
            review_outcome=self.review_outcome,
            fix_route=self.fix_route,
            queued_route=self.queued_route,
            unrouted_fix=self.unrouted_fix,
        )

    async def _decide(self, decide) -> None:  # type: ignore[no-untyped-def]
        self.shown = self.memory.status
        step: CIStep = decide(self._context())
        self.memory = step.memory
        try:
            await self._carry_out(step.effects)
        finally:
            self.shown = None

    async def _carry_out(self, effects: list[CIEffect]) -> None:
        await carry_out(effects, self.runner.perform, self._resume)

    def _resume(self, effect: CIEffect, result: object) -> list[CIEffect]:
        step = decider.resume(self.memory, self._context(), effect, result)
        self.memory = step.memory
        return step.effects
