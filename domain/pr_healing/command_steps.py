"""The command half of the PR decider: permission, validity, the live PR, then the same `act`.

Semantics (the `command` update):
- Only malformed requests are rejected before they reach the decider (`commands.malformed`). Every
  business refusal (not permitted, invalid in the current state, refused or failed strategy, observe
  mode, open breaker) is an answer with `accepted=False` and the reason, journaled (source `command`).
- Comment commands need permission (`commands.permission`): a lookup that fails refuses, with why.
- An accepted command runs the classifier's strategy through `steps.act`; no budget limits it, each run
  is counted in the retry counts (also under `<budget>:command`) and journaled with the requester.
- `/cancel` takes effect on arrival (`arrives`): automatic remediation stops at its next decision.
- Each answer is kept under its idempotency key (`steps.keep_answer`), audited, replied to on the PR
  for comments, and handed to the update (`Answer`). A repeated key runs nothing: `duplicate_of`.
"""

from __future__ import annotations

from typing import Any

from domain.pr_healing.classifier import Decision, PRAction
from domain.pr_healing.commands import (
    CANCEL,
    COMMANDS,
    CommandAnswer,
    CommandRequest,
    CommandSource,
    CommandSpec,
    normalize,
    validate,
)
from domain.pr_healing.effects import (
    CheckPermission,
    Context,
    Failed,
    FetchSnapshot,
    Plan,
    PRMemory,
    PRStep,
    Purpose,
)
from domain.pr_healing.events import EventSource
from domain.pr_healing.remediation import RemedyOutcome, remediation_event
from domain.pr_healing.steps import act, answered, fold, verified


def spec_of(request: CommandRequest) -> CommandSpec:
    return COMMANDS[normalize(request.command)]


def arrives(m: PRMemory, request: CommandRequest) -> PRMemory:
    """On arrival, before waiting for its turn: `/cancel` stops automatic remediation at once."""
    if spec_of(request).name == CANCEL and not m.cancelled:
        return m.model_copy(update={"cancelled": True})
    return m


def duplicate_of(m: PRMemory, request: CommandRequest) -> CommandAnswer | None:
    """The earlier answer to this idempotency key, marked duplicate; None for a new key."""
    for record in m.commands:
        if record.request.idempotency_key == request.idempotency_key:
            return record.answer.model_copy(update={"duplicate": True})
    return None


def on_command(m: PRMemory, ctx: Context, request: CommandRequest) -> PRStep:
    """A new command, in its turn: comments need permission first."""
    spec = spec_of(request)
    if request.source is CommandSource.COMMENT:
        return PRStep(m, [CheckPermission(request, spec)])
    return _proceed(m, ctx, request, spec)


def on_permission(m: PRMemory, ctx: Context, effect: CheckPermission, result: Any) -> PRStep:
    request, spec = effect.request, effect.spec
    if isinstance(result, Failed):
        return refuse(
            m, ctx, request, spec, f"could not check @{request.requester}'s permission: {result.reason}"
        )
    if not result.permitted:
        return refuse(m, ctx, request, spec, result.reason)
    return _proceed(m, ctx, request, spec)


def _proceed(m: PRMemory, ctx: Context, request: CommandRequest, spec: CommandSpec) -> PRStep:
    refusal = validate(spec.name, m.lifecycle.state)
    if refusal:
        return refuse(m, ctx, request, spec, refusal)
    if spec.name == CANCEL:
        reason = f"{spec.done} by @{request.requester}"
        step = journal(m, ctx, request, spec, "cancelled", reason)
        answer = CommandAnswer(accepted=True, command=spec.name, reason=reason)
        return step.then(lambda mem: answered(mem, ctx, _plan(request, spec), answer))
    return PRStep(m, [FetchSnapshot(Purpose.COMMAND, command=request, spec=spec)])


def on_snapshot(m: PRMemory, ctx: Context, effect: FetchSnapshot, result: Any) -> PRStep:
    """The live PR for a command: fold what was missed, check validity again, then act."""
    request, spec = effect.command, effect.spec
    assert request is not None and spec is not None and spec.action is not None
    step = verified(m, ctx, result)
    if isinstance(result, Failed):
        return step.then(
            lambda mem: refuse(mem, ctx, request, spec, "Mender could not read the PR from GitHub")
        )
    refusal = validate(spec.name, step.memory.lifecycle.state)  # the refresh may have moved the PR on
    if refusal:
        return step.then(lambda mem: refuse(mem, ctx, request, spec, refusal))
    decision = Decision(action=spec.action, reason=f"{spec.name} by @{request.requester}")
    plan = Plan(decision=decision, head_sha=result.head_sha, title=result.title, command=request, spec=spec)
    return step.then(lambda mem: act(mem, ctx, plan))


def refuse(m: PRMemory, ctx: Context, request: CommandRequest, spec: CommandSpec, reason: str) -> PRStep:
    step = journal(m, ctx, request, spec, RemedyOutcome.REFUSED, reason)
    answer = CommandAnswer(accepted=False, command=spec.name, reason=reason)
    return step.then(lambda mem: answered(mem, ctx, _plan(request, spec), answer))


def journal(
    m: PRMemory, ctx: Context, request: CommandRequest, spec: CommandSpec, outcome: str, reason: str
) -> PRStep:
    """A command that ran no strategy still leaves a line in the journal (source `command`)."""
    event = remediation_event(
        m.pr,
        spec.action or PRAction.NO_ACTION,
        outcome,
        f"command:{request.idempotency_key}",
        ctx.now,
        m.lifecycle.head_sha,
        reason=reason,
        command=spec.name,
        requester=request.requester,
        via=request.source.value,
    )
    return fold(m, ctx, [event.model_copy(update={"source": EventSource.COMMAND})])[0]


def _plan(request: CommandRequest, spec: CommandSpec) -> Plan:
    decision = Decision(
        action=spec.action or PRAction.NO_ACTION, reason=f"{spec.name} by @{request.requester}"
    )
    return Plan(decision=decision, head_sha=None, command=request, spec=spec)
