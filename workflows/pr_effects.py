"""Carrying out the PR decider's effects: each effect is one activity, search-attribute upsert or log line.

`perform` returns the result of an effect that feeds back (a `Failed` when its activity failed after
its retries); best-effort effects (audit, breaker reports, replies) never fail the workflow.

Lean execution (runs started with `revision=LEAN_REVISION`): the search-attribute updates of one
decision are one upsert (`publish`, before anything that may leave the workflow task and after the
decision), and a store projection takes the audit rows that follow it into the same local activity and
transaction (`store.project_pr`). Runs started before replay as they ran. The revision travels in the
input rather than as a `workflow.patched` marker: a patch costs every new run a marker and a
search-attribute upsert.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError
from temporalio.exceptions import TimeoutError as TemporalTimeout

with workflow.unsafe.imports_passed_through():
    from contracts import activities as catalogue
    from contracts.breaker import BreakerOutcomeArgs, BreakerPermitArgs
    from contracts.merge_queue import ReleaseArgs, TurnArgs
    from contracts.pr import BotArgs, PermissionArgs, PRProjection, PRRecordUpdate, ReplyArgs, StrategyArgs
    from contracts.visibility import MENDER_LAST_EVENT_AT, MENDER_NEEDS_HUMAN, MENDER_STATE
    from domain.config import RepoPolicy
    from domain.pr_healing.effects import (
        Answer,
        AskPermit,
        AskTurn,
        Audit,
        CheckPermission,
        Effect,
        Failed,
        FetchSnapshot,
        Log,
        Notify,
        Publish,
        Record,
        ReleaseTurn,
        Reply,
        ReportToBreaker,
        RunStrategy,
        StrategyOutcome,
    )
    from domain.pr_healing.events import PRRef
    from domain.pr_healing.merge_queue import TurnRequest
    from domain.pr_healing.remedies import Strategy
    from workflows.audit_calls import audit, stamped
    from workflows.calls import call
    from workflows.reopen_saga import close_and_reopen

AUDIT_PATCH = "audit-pr-events"  # runs started before PR audit rows existed replay without them
STRATEGY_CALLS = {
    Strategy.UPDATE_BRANCH: catalogue.UPDATE_BRANCH,
    Strategy.REBUILD: catalogue.REBUILD,
    Strategy.MERGE: catalogue.MERGE,
}


def failure_kind(exc: ActivityError) -> str:
    """The kind of a failed call (`Failed.kind`): the activity's error type, or `ActivityTimeout` when
    it timed out (the worker died or hung: `remediation.MENDER_FAILURE_KINDS`)."""
    if isinstance(exc.cause, TemporalTimeout):
        return "ActivityTimeout"
    return str(getattr(exc.cause, "type", None) or "")


class EffectRunner:
    """Runs the effects of one PR workflow; `answers` collects command answers for the update."""

    def __init__(self, pr: PRRef) -> None:
        self.pr = pr
        self.answers: dict[str, Any] = {}
        self.lean = False  # set by the workflow from its input's revision
        self.local = (
            True  # store, configuration and audit calls as local activities (runs before REMOTE_REVISION)
        )
        self.changed_only = False  # VISIBLE_REVISION: upsert only values that differ from the current ones
        self._staged: dict[str, Any] = {}  # search-attribute updates not upserted yet, by name

    async def perform(
        self, effect: Effect, policy: RepoPolicy, following: deque[Effect] | None = None
    ) -> Any:
        """Carry out `effect`; in lean runs a projection takes its audits out of `following`."""
        if isinstance(effect, Publish):
            updates = [MENDER_STATE.value_set(effect.state), MENDER_NEEDS_HUMAN.value_set(effect.needs_human)]
            if effect.last_event_at:
                updates.append(MENDER_LAST_EVENT_AT.value_set(effect.last_event_at))
            if self.lean:
                self.stage(updates)
            else:
                workflow.upsert_search_attributes(updates)
            return None
        if isinstance(effect, Audit):
            if self.lean or workflow.patched(AUDIT_PATCH):
                await audit(effect.entry, local=self.local)
            return None
        if isinstance(effect, Log):
            getattr(workflow.logger, effect.level)(effect.message)
            return None
        if isinstance(effect, Answer):
            self.answers[effect.key] = effect.answer
            return None
        if self.lean and isinstance(effect, Record):
            return await self._project(effect, following if following is not None else deque())
        self.publish()  # what the workflow shows is current before it waits on the world
        if isinstance(effect, ReportToBreaker):
            args = BreakerOutcomeArgs(
                scope=policy.breaker_scope,
                requester=self._me(),
                ok=effect.ok,
                detail=effect.detail[:500],
                repo=self.pr.repo,
                repo_only=effect.repo_only,
            )
            return await self._best_effort(catalogue.REPORT_OUTCOME, args, "breaker outcome not reported")
        if isinstance(effect, Reply):
            args = ReplyArgs(pr=self.pr, key=effect.key, body=effect.body)
            return await self._best_effort(catalogue.REPLY, args, "command reply failed")
        if isinstance(effect, ReleaseTurn):
            args = ReleaseArgs(repo=self.pr.repo, base_ref=effect.base_ref, pr_number=self.pr.number)
            return await self._best_effort(catalogue.RELEASE_TURN, args, "merge queue turn not released")
        return await self._feeding_back(effect, policy)

    def stage(self, updates: list[Any]) -> None:
        """Search-attribute updates for the next `publish` (a later value of a key wins)."""
        self._staged.update({update.key.name: update for update in updates})

    def publish(self) -> None:
        """Upsert the staged search-attribute updates, all in one command (with `changed_only`, those
        whose value differs from the workflow's current one; none, none)."""
        updates = list(self._staged.values())
        self._staged = {}
        if self.changed_only:
            current = workflow.info().typed_search_attributes
            updates = [u for u in updates if current.get(u.key) != u.value]
        if updates:
            workflow.upsert_search_attributes(updates)

    async def _project(self, effect: Record, following: deque[Effect]) -> Any:
        """The projection and the audit rows that follow it (up to the next effect that is not a
        search-attribute update, log line or audit row) in one local activity; on failure the audit
        rows are recorded on their own, as they would have been."""
        audits, rest = [], []
        while following and isinstance(following[0], Publish | Log | Audit):
            taken = following.popleft()
            (audits if isinstance(taken, Audit) else rest).append(taken)
        following.extendleft(reversed(rest))
        entries = [stamped(a.entry) for a in audits]
        update = PRRecordUpdate.of(effect.lifecycle, list(effect.entries), effect.expires_at)
        try:
            return await call(
                catalogue.PROJECT_PR, PRProjection(record=update, audits=entries), local=self.local
            )
        except ActivityError as exc:
            for entry in entries:
                await audit(entry, local=self.local)
            return Failed(str(exc.cause or exc))

    async def _feeding_back(self, effect: Effect, policy: RepoPolicy) -> Any:
        try:
            if isinstance(effect, Record):
                update = PRRecordUpdate.of(effect.lifecycle, list(effect.entries), effect.expires_at)
                return await call(catalogue.RECORD_PR, update, local=self.local)
            if isinstance(effect, FetchSnapshot):
                return await call(catalogue.FETCH_SNAPSHOT, self.pr)
            if isinstance(effect, AskPermit):
                args = BreakerPermitArgs(scope=policy.breaker_scope, requester=self._me(), repo=self.pr.repo)
                return await call(catalogue.REQUEST_PERMIT, args)
            if isinstance(effect, AskTurn):
                return await call(catalogue.REQUEST_TURN, self._turn_args(effect, policy))
            if isinstance(effect, RunStrategy):
                return await self._strategy(effect)
            if isinstance(effect, Notify):
                return await call(catalogue.NOTIFY_ESCALATION, effect.notice)
            if isinstance(effect, CheckPermission):
                args = PermissionArgs(pr=self.pr, login=effect.request.requester)
                return await call(catalogue.PERMISSION, args)
        except ActivityError as exc:
            return Failed(str(exc.cause or exc), kind=failure_kind(exc))
        raise TypeError(f"no way to perform {type(effect).__name__}")

    def _turn_args(self, effect: AskTurn, policy: RepoPolicy) -> TurnArgs:
        plan = effect.plan
        request = TurnRequest(
            pr_number=self.pr.number,
            requester=self._me(),
            nearness=plan.nearness,
            head_sha=plan.head_sha,
            lease_seconds=policy.remediation.merge_queue.lease_seconds,
        )
        return TurnArgs(repo=self.pr.repo, base_ref=plan.base_ref or "main", request=request)

    async def _strategy(self, effect: RunStrategy) -> StrategyOutcome:
        if effect.strategy is Strategy.CLOSE_AND_REOPEN:
            return await close_and_reopen(self.pr, effect.plan.title)
        if effect.strategy is Strategy.NUDGE_BOT:
            args = BotArgs(pr=self.pr, bot=effect.bot, since=effect.plan.started_at)  # type: ignore[arg-type]
            result = await call(catalogue.RETRIGGER_BOT, args)
        else:
            args = StrategyArgs(pr=self.pr, head_sha=effect.plan.head_sha)
            result = await call(STRATEGY_CALLS[effect.strategy], args)
        return StrategyOutcome(ok=result.ok, noop=result.noop, detail=result.detail)

    async def _best_effort(self, ref: Any, arg: Any, what: str) -> None:
        try:
            await call(ref, arg, local=self.local)
        except ActivityError as exc:
            workflow.logger.warning("PR %s: %s: %s", self.pr.key, what, exc.cause)

    @staticmethod
    def _me() -> str:
        return workflow.info().workflow_id
