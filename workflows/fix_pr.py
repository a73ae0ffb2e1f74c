"""One long-lived workflow per fix PR: wait for its checks, score the evidence, route it, watch the merge.

Id `fixpr/<project>/<number>`; started by the CI failure workflow when its fix PR is open
(`start_fix_pr`). A thin loop: it feeds each input (the start, a signal, a wait's timer, the result of
an effect) to the pure decider (`domain/ci_healing/fixpr_decider.py`) and carries out the effects it
returns (`workflows/fixpr_effects.py`). No rule lives here. The checks are polled
(`ci.fix_prs.poll_seconds`) or looked at at once on the `nudge` signal (sent by the webhook intake when
a check suite, check run, workflow run or review of the PR arrives); a human's review arrives as the
`review` signal (CLI, Admin API, Slack).
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from contracts.ci import CIPolicy, FixResult, RunAnalysis
    from contracts.fixpr import (
        FIXPR_STATUS_QUERY,
        FIXPR_WORKFLOW,
        NUDGE_SIGNAL,
        REVIEW_SIGNAL,
        FixPRInput,
        FixPRRef,
        FixPRStatus,
        FixPRWorkflowInput,
    )
    from domain.ci_healing import fixpr_decider as decider
    from domain.ci_healing.config import HISTORY_EVENTS_BEFORE_CONTINUE
    from domain.ci_healing.fixpr import has_own_workflow
    from domain.ci_healing.fixpr_effects import FixPRContext, FixPREffect, FixPRMemory, FixPRStep
    from domain.ci_healing.review_queue import ReviewDecision
    from domain.ci_healing.runs import CIRunRef
    from workflows.calls import REGULAR_CALLS_PATCH
    from workflows.effect_loop import HISTORY_BUDGET_PATCH, Woke, carry_out, history_full, wait_for_news
    from workflows.fixpr_effects import FixPREffectRunner


SETTLE_RUN_PATCH = "fixpr-settle-run"  # a queued fix PR's end settles its awaiting_review run
HOLD_PROPOSED_PATCH = "fixpr-hold-proposed"  # a proposed fix PR holds its run awaiting_review until it ends
TELL_RUN_PATCH = "fixpr-tell-run"  # the fixed run's CI failure workflow hears the route (signal fix_routed)
HOLD_QUEUED_PATCH = "fixpr-hold-queued"  # a queued fix PR holds its run awaiting_review until it ends
MERGE_CONFIRMED_PATCH = "fixpr-merge-confirmed"  # routed to merge: the run hears it once merged (or refused)
REVERT_UNHEALS_PATCH = "fixpr-revert-unheals"  # a reverted fix takes back its healed run (escalated)


@workflow.defn(name=FIXPR_WORKFLOW)
class FixPRWorkflow:
    """Earn the fix PR its merge, or hand it to a human with the evidence.

    Fails safe: an activity that fails after its retries leaves the PR to humans with the reason
    (outcome `failed: ...`, audited) instead of failing the workflow.
    """

    @workflow.init
    def __init__(self, input: FixPRWorkflowInput) -> None:
        given = FixPRInput.model_validate(input.model_dump(exclude={"carried"}))
        self.memory = input.carried or FixPRMemory.new(given)
        self.runner = FixPREffectRunner(given)
        self.shown: FixPRStatus | None = None  # the status as of the last wait, while effects are carried out
        self.settle_run = self.hold_proposed = self.budgeted = self.tell_run = True  # set by `run`
        self.hold_queued = self.confirm_merge = self.unheal_reverted = True

    @workflow.signal(name=REVIEW_SIGNAL)
    def on_review(self, decision: ReviewDecision) -> None:
        """A human's approval or rejection; only the first one while the PR waits for a review counts."""
        self.memory = decider.record_review(self.memory, decision)

    @workflow.signal(name=NUDGE_SIGNAL)
    def nudge(self) -> None:
        """A webhook says the PR's checks, reviews or the default branch changed: look now."""
        self.memory = decider.record_nudge(self.memory)

    @workflow.query(name=FIXPR_STATUS_QUERY)
    def status(self) -> FixPRStatus:
        return self.shown or self.memory.status

    @workflow.run
    async def run(self, input: FixPRWorkflowInput) -> FixPRStatus:
        self.runner.local = not workflow.patched(REGULAR_CALLS_PATCH)
        self.settle_run = workflow.patched(SETTLE_RUN_PATCH)
        self.hold_proposed = workflow.patched(HOLD_PROPOSED_PATCH)
        self.budgeted = workflow.patched(HISTORY_BUDGET_PATCH)
        self.tell_run = workflow.patched(TELL_RUN_PATCH)
        self.hold_queued = workflow.patched(HOLD_QUEUED_PATCH)
        self.confirm_merge = workflow.patched(MERGE_CONFIRMED_PATCH)
        self.unheal_reverted = workflow.patched(REVERT_UNHEALS_PATCH)
        if input.carried is None:
            await self._decide(lambda ctx: decider.start(self.memory, ctx))
        while not self.memory.done:
            if history_full(self._budget()):
                await workflow.wait_condition(workflow.all_handlers_finished)
                carried = self.memory.input.model_dump() | {"carried": self.memory}
                workflow.continue_as_new(FixPRWorkflowInput.model_validate(carried))
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
        settings = self.memory.settings
        return settings.history_events_before_continue if settings else HISTORY_EVENTS_BEFORE_CONTINUE

    def _context(self) -> FixPRContext:
        return FixPRContext(
            now=workflow.now(),
            settle_run=self.settle_run,
            hold_proposed=self.hold_proposed,
            tell_run=self.tell_run,
            hold_queued=self.hold_queued,
            confirm_merge=self.confirm_merge,
            unheal_reverted=self.unheal_reverted,
        )

    async def _decide(self, decide) -> None:  # type: ignore[no-untyped-def]
        self.shown = self.memory.status
        step: FixPRStep = decide(self._context())
        self.memory = step.memory
        try:
            await self._carry_out(step.effects)
        finally:
            self.shown = None

    async def _carry_out(self, effects: list[FixPREffect]) -> None:
        await carry_out(effects, self.runner.perform, self._resume)

    def _resume(self, effect: FixPREffect, result: object) -> list[FixPREffect]:
        step = decider.resume(self.memory, self._context(), effect, result)
        self.memory = step.memory
        return step.effects


async def start_fix_pr(
    run: CIRunRef,
    analysis: RunAnalysis,
    fix: FixResult,
    policy: CIPolicy,
    plan_approved: bool,
    follow_up: bool = False,
) -> None:
    """Start the fix PR's (or GitLab fix MR's: number = its iid) own workflow (`ci.fix_prs.enabled`); it
    outlives the caller."""
    if not (workflow.patched("fix-pr-workflow") and has_own_workflow(run, fix, policy)):
        return
    assert fix.pr_number is not None and fix.branch
    pr = FixPRRef(run=run, number=fix.pr_number, branch=fix.branch, url=fix.pr_url or "")
    input = FixPRInput(
        pr=pr,
        diagnosis=analysis.diagnosis,
        files=fix.files,
        failed_jobs=analysis.failed_jobs,
        title=fix.detail[:300],
        plan_approved=plan_approved,
        follow_up=follow_up,
    )
    try:
        await workflow.start_child_workflow(
            FIXPR_WORKFLOW, input, id=pr.workflow_id, parent_close_policy=ParentClosePolicy.ABANDON
        )
    except WorkflowAlreadyStartedError:  # the same fix PR's workflow runs already: it goes on alone
        workflow.logger.info("fix PR workflow %s already running", pr.workflow_id)
