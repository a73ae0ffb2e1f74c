"""PR commands inside the PR workflow: the logic behind the `command` update and its validator.

Update semantics:
- The validator rejects only malformed requests (unknown command, empty requester, idempotency key
  over 150 characters) and requests reaching a workflow that is finishing. A rejected update leaves no
  trace in history; the caller gets the error. Validators cannot mutate state, so they never judge
  duplicates: a repeated key is accepted and answered by the handler.
- The handler never raises for a business refusal (not permitted, invalid in the current state,
  refused or failed strategy, observe mode, open breaker): it answers `CommandAnswer(accepted=False,
  reason=...)`. A key seen before (or still in flight) runs nothing: the handler waits for the earlier
  answer and returns it with `duplicate=True`.
- Comment commands need permission (`commands.permission`: allowed_users, or a repository writer);
  API, CLI and reconciler commands are authenticated upstream. Comment commands are answered on the PR
  (`commands.reply`), once per key.
- Accepted commands run the classifier's strategy through `Remedies.act`, under `wf.busy`, so never
  concurrently with automatic remediation or another command. No budget limits them; each run is
  counted in the retry counts (also under `<budget>:command`) and journaled with the requester.
- Handled keys (the last `COMMANDS_KEPT`) and the `cancelled` flag are carried across continue-as-new.
- Every answer, duplicates included, is a `pr.command` audit row (`workflows/pr_audit.py`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from contracts.pr import Permission, PermissionArgs, ReplyArgs
    from domain.pr_healing.classifier import Decision, PRAction
    from domain.pr_healing.commands import (
        CANCEL,
        COMMANDS,
        MAX_KEY_LENGTH,
        CommandAnswer,
        CommandRecord,
        CommandRequest,
        CommandSource,
        CommandSpec,
        normalize,
        validate,
    )
    from domain.pr_healing.events import EventSource
    from domain.pr_healing.remediation import RemedyOutcome, remediation_event
    from workflows import pr_audit

if TYPE_CHECKING:
    from workflows.pr_lifecycle import PRLifecycleWorkflow

COMMANDS_KEPT = 100
GITHUB_CALL = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=3),
}
ACCEPTED_OUTCOMES = (RemedyOutcome.ACTED, RemedyOutcome.NOOP)


class Commands:
    """Command bookkeeping of one PR workflow: handled keys with their answers, and `cancelled`."""

    def __init__(self, wf: PRLifecycleWorkflow, records: list[CommandRecord], cancelled: bool) -> None:
        self.wf = wf
        self.records = {r.request.idempotency_key: r for r in records}
        self.cancelled = cancelled
        self.closing = False  # set once the workflow stops taking commands
        self._running: set[str] = set()

    def carried(self) -> list[CommandRecord]:
        return list(self.records.values())

    def check(self, request: CommandRequest) -> None:
        """The update validator: reject malformed requests only (raises, never mutates)."""
        if self.closing:
            raise ApplicationError("the PR workflow is finishing", type="CommandRejected", non_retryable=True)
        if normalize(request.command) not in COMMANDS:
            known = ", ".join(COMMANDS)
            raise ApplicationError(
                f"unknown command {request.command!r}; known: {known}",
                type="CommandRejected",
                non_retryable=True,
            )
        if not request.requester.strip():
            raise ApplicationError("a command needs a requester", type="CommandRejected", non_retryable=True)
        if len(request.idempotency_key) > MAX_KEY_LENGTH:
            raise ApplicationError(
                f"idempotency key longer than {MAX_KEY_LENGTH} characters",
                type="CommandRejected",
                non_retryable=True,
            )

    async def handle(self, request: CommandRequest) -> CommandAnswer:
        """The update handler: answer once per idempotency key, reply on the PR for comments."""
        key = request.idempotency_key
        if key in self.records or key in self._running:
            await workflow.wait_condition(lambda: key in self.records)
            duplicate = self.records[key].answer.model_copy(update={"duplicate": True})
            await pr_audit.record(pr_audit.command(self.wf.lifecycle.pr, request, duplicate))
            return duplicate
        self._running.add(key)
        try:
            answer = await self._answer(request, COMMANDS[normalize(request.command)])
            self.records[key] = CommandRecord(request=request, answer=answer, at=workflow.now())
            while len(self.records) > COMMANDS_KEPT:
                del self.records[next(iter(self.records))]
        finally:
            self._running.discard(key)
        await pr_audit.record(pr_audit.command(self.wf.lifecycle.pr, request, answer))
        if request.source is CommandSource.COMMENT:
            await self._reply(request, answer)
        return answer

    async def _answer(self, request: CommandRequest, spec: CommandSpec) -> CommandAnswer:
        await workflow.wait_condition(lambda: self.wf.policy is not None)
        if request.source is CommandSource.COMMENT:
            permission = await self._permission(request)
            if not permission.permitted:
                async with self.wf.busy:
                    return await self._refuse(request, spec, permission.reason)
        if spec.name == CANCEL:
            self.cancelled = True  # at once: automatic remediation stops at its next decision
        async with self.wf.busy:
            refusal = validate(spec.name, self.wf.lifecycle.state)
            if refusal:
                return await self._refuse(request, spec, refusal)
            if spec.name == CANCEL:
                reason = f"{spec.done} by @{request.requester}"
                await self._journal(request, spec, "cancelled", reason)
                return CommandAnswer(accepted=True, command=spec.name, reason=reason)
            return await self._run(request, spec)

    async def _run(self, request: CommandRequest, spec: CommandSpec) -> CommandAnswer:
        assert spec.action is not None
        snap = await self.wf.remedies.refresh()
        if snap is None:
            return await self._refuse(request, spec, "Mender could not read the PR from GitHub")
        refusal = validate(spec.name, self.wf.lifecycle.state)  # the refresh may have moved the PR on
        if refusal:
            return await self._refuse(request, spec, refusal)
        decision = Decision(action=spec.action, reason=f"{spec.name} by @{request.requester}")
        outcome, detail = await self.wf.remedies.act(decision, snap, request)
        if outcome == RemedyOutcome.ACTED:
            reason = f"{spec.done} triggered by @{request.requester}: {detail}"
        elif outcome == RemedyOutcome.NOOP:
            reason = f"`{spec.name}` by @{request.requester}: nothing to do ({detail})"
        elif outcome == RemedyOutcome.REFUSED:
            reason = detail.removeprefix("refused: ")
        else:
            reason = f"{outcome}: {detail}"
        return CommandAnswer(accepted=outcome in ACCEPTED_OUTCOMES, command=spec.name, reason=reason)

    async def _permission(self, request: CommandRequest) -> Permission:
        args = PermissionArgs(pr=self.wf.lifecycle.pr, login=request.requester)
        try:
            return await workflow.execute_activity(
                "commands.permission", args, result_type=Permission, **GITHUB_CALL
            )
        except ActivityError as exc:
            return Permission(
                permitted=False, reason=f"could not check @{request.requester}'s permission: {exc.cause}"
            )

    async def _refuse(self, request: CommandRequest, spec: CommandSpec, reason: str) -> CommandAnswer:
        await self._journal(request, spec, RemedyOutcome.REFUSED, reason)
        return CommandAnswer(accepted=False, command=spec.name, reason=reason)

    async def _journal(self, request: CommandRequest, spec: CommandSpec, outcome: str, reason: str) -> None:
        """A command that ran no strategy still leaves a line in the journal (source `command`)."""
        lc = self.wf.lifecycle
        event = remediation_event(
            lc.pr,
            spec.action or PRAction.NO_ACTION,
            outcome,
            f"command:{request.idempotency_key}",
            workflow.now(),
            lc.head_sha,
            reason=reason,
            command=spec.name,
            requester=request.requester,
            via=request.source.value,
        )
        await self.wf.fold([event.model_copy(update={"source": EventSource.COMMAND})])

    async def _reply(self, request: CommandRequest, answer: CommandAnswer) -> None:
        body = answer.reason if answer.accepted else f"`{answer.command}` refused: {answer.reason}"
        args = ReplyArgs(pr=self.wf.lifecycle.pr, key=request.idempotency_key, body=body)
        try:
            await workflow.execute_activity("commands.reply", args, **GITHUB_CALL)
        except ActivityError as exc:
            workflow.logger.warning("PR %s: reply to %s failed: %s", args.pr.key, request.command, exc.cause)
