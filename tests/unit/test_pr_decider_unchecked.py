"""A remediation Mender could not check because it failed itself (its activity timed out: the worker
was killed or hung, every retry too) is not an ineffective attempt: it is journaled, not charged to the
budget and not blamed on GitHub's breaker; a cap of its own ends in an escalation that says why.
Table-tested on the pure decider (`domain/pr_healing/unchecked_steps.py`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TimeoutType
from temporalio.exceptions import TimeoutError as TemporalTimeout

from domain.config import MenderConfig
from domain.pr_healing import decider
from domain.pr_healing.classifier import Decision, PRAction
from domain.pr_healing.commands import COMMANDS, CommandRequest, CommandSource
from domain.pr_healing.effects import (
    Answer,
    AskPermit,
    Context,
    Failed,
    FetchSnapshot,
    Notify,
    Plan,
    PRMemory,
    PRStep,
    ReportToBreaker,
    RunStrategy,
)
from domain.pr_healing.events import EventType
from domain.pr_healing.lifecycle import PRLifecycle, PRState
from domain.pr_healing.remediation import MENDER_FAILURE_KINDS, RemedyOutcome
from domain.pr_healing.remedies import Strategy
from domain.shared.breaker import BreakerState, Permit
from tests.support.events import HEAD
from tests.support.snapshots import PR, snapshot

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KILLED = Failed("activity Heartbeat timeout", kind="ActivityTimeout")  # `pr_effects.failure_kind`
CONFLICT = snapshot(mergeable_state="dirty", mergeable=False)


def context(now: datetime = NOW, uncharged: bool = True, **remediation: Any) -> Context:
    raw = {"mode": "act", "remediation": {"close_and_reopen": True, **remediation}}
    policy = MenderConfig.model_validate(raw).policy_for(PR.repo)
    return Context(policy=policy, now=now, run_id="run-1", unchecked_uncharged=uncharged)


def memory(**counts: int) -> PRMemory:
    return PRMemory(lifecycle=PRLifecycle(pr=PR, state=PRState.APPROVED, head_sha=HEAD, retry_counts=counts))


def outcomes(m: PRMemory) -> list[str]:
    return [e.event.details["outcome"] for e in m.recent if e.event.type is EventType.REMEDIATION]


def one(effects: list[Any], kind: type) -> Any:
    [found] = [e for e in effects if isinstance(e, kind)]
    return found


def stale_cycle(m: PRMemory, ctx: Context, result: Any) -> PRStep:
    """Threshold passed -> GitHub read (a conflict) -> breaker grants -> the strategy ends in `result`."""
    step = decider.on_stale(m, ctx)
    fetch = one(step.effects, FetchSnapshot)
    step = decider.resume(step.memory, ctx, fetch, CONFLICT)
    if not any(isinstance(e, AskPermit) for e in step.effects):
        return step  # decided without acting (escalated)
    ask = one(step.effects, AskPermit)
    step = decider.resume(step.memory, ctx, ask, Permit(granted=True, state=BreakerState.CLOSED))
    run = one(step.effects, RunStrategy)
    assert run.strategy is Strategy.CLOSE_AND_REOPEN
    return decider.resume(step.memory, ctx, run, result)


@pytest.mark.parametrize(
    ("result", "uncharged", "charged", "outcome", "blamed_on_github"),
    [
        pytest.param(KILLED, True, 0, RemedyOutcome.UNCHECKED, False, id="worker-died-uncharged"),
        pytest.param(
            Failed("GitHub answered 502", kind="GitHubError"),
            True,
            1,
            RemedyOutcome.FAILED,
            True,
            id="github-5xx",
        ),
        pytest.param(KILLED, False, 1, RemedyOutcome.FAILED, True, id="older-run-replays-as-before"),
    ],
)
def test_only_a_failure_of_github_is_charged_to_the_budget(
    result: Failed, uncharged: bool, charged: int, outcome: str, blamed_on_github: bool
) -> None:
    step = stale_cycle(memory(), context(uncharged=uncharged), result)
    assert step.memory.lifecycle.retry_counts["close_and_reopen"] == charged
    assert outcomes(step.memory) == [outcome]
    assert any(isinstance(e, ReportToBreaker) for e in step.effects) is blamed_on_github
    assert step.memory.unchecked == (1 if outcome == RemedyOutcome.UNCHECKED else 0)


def test_a_close_and_reopen_killed_mid_saga_is_tried_again_not_escalated() -> None:
    """Budget 1: before, one killed attempt spent it and the next threshold asked a human."""
    m = stale_cycle(memory(), context(), KILLED).memory
    later = context(NOW + timedelta(hours=1))
    again = decider.on_stale(m, later)
    step = decider.resume(again.memory, later, one(again.effects, FetchSnapshot), CONFLICT)
    ask = one(step.effects, AskPermit)
    assert ask.plan.decision.action is PRAction.CLOSE_AND_REOPEN and ask.plan.attempt == 1
    assert step.memory.lifecycle.state is PRState.APPROVED  # no escalation

    before = stale_cycle(memory(), context(uncharged=False), KILLED).memory
    old = decider.on_stale(before, later)
    step = decider.resume(old.memory, later, one(old.effects, FetchSnapshot), CONFLICT)
    assert step.memory.lifecycle.state is PRState.NEEDS_INTERVENTION  # what older runs still do


def test_unchecked_attempts_are_capped_and_end_with_a_human_told_why() -> None:
    m, notices = memory(), []
    for hour in range(4):
        step = stale_cycle(m, context(NOW + timedelta(hours=hour), unchecked_attempts_max=2), KILLED)
        m = step.memory
        notices += [e for e in step.effects if isinstance(e, Notify)]
        if m.lifecycle.state is PRState.NEEDS_INTERVENTION:
            break
    assert hour == 2 and m.unchecked == 3  # two uncharged, the third asks a human
    assert outcomes(m) == [RemedyOutcome.UNCHECKED] * 3
    [notice] = notices
    assert "could not be checked 3 times because Mender itself failed" in notice.reason
    assert [a.outcome for a in notice.notice.actions] == [RemedyOutcome.UNCHECKED] * 3
    assert m.lifecycle.retry_counts["close_and_reopen"] == 0  # never charged


def test_a_cap_of_zero_escalates_the_first_unchecked_attempt() -> None:
    step = stale_cycle(memory(), context(unchecked_attempts_max=0), KILLED)
    assert step.memory.lifecycle.state is PRState.NEEDS_INTERVENTION
    assert "Mender itself failed" in one(step.effects, Notify).reason


def test_a_commanded_attempt_killed_is_answered_and_its_count_refunded() -> None:
    request = CommandRequest(
        command="/rebuild", requester="alice", source=CommandSource.API, idempotency_key="k"
    )
    decision = Decision(action=PRAction.RETRY_CHECKS, reason="r")
    plan = Plan(decision=decision, head_sha=HEAD, attempt=1, command=request, spec=COMMANDS["/rebuild"])
    ctx = context()
    granted = decider.resume(memory(), ctx, AskPermit(plan), Permit(granted=True, state=BreakerState.CLOSED))
    assert granted.memory.lifecycle.retry_counts == {"rebuild": 1, "rebuild:command": 1}
    run = one(granted.effects, RunStrategy)
    step = decider.resume(granted.memory, ctx, run, KILLED)
    assert step.memory.lifecycle.retry_counts == {"rebuild": 0, "rebuild:command": 0}
    answer = one(step.effects, Answer).answer
    assert not answer.accepted and "Mender failed" in answer.reason


@pytest.mark.parametrize(
    ("cause", "kind"),
    [
        (
            TemporalTimeout("heartbeat", type=TimeoutType.HEARTBEAT, last_heartbeat_details=[]),
            "ActivityTimeout",
        ),
        (
            TemporalTimeout("s2c", type=TimeoutType.START_TO_CLOSE, last_heartbeat_details=[]),
            "ActivityTimeout",
        ),
        (ApplicationError("502", type="GitHubError"), "GitHubError"),
        (None, ""),
    ],
)
def test_the_workflow_names_a_timed_out_call_a_failure_of_mender(
    cause: BaseException | None, kind: str
) -> None:
    from workflows.pr_effects import failure_kind

    error = ActivityError(
        "activity failed",
        scheduled_event_id=1,
        started_event_id=2,
        identity="w",
        activity_type="reopen.open_pr",
        activity_id="1",
        retry_state=RetryState.MAXIMUM_ATTEMPTS_REACHED,
    )
    error.__cause__ = cause
    assert failure_kind(error) == kind
    assert (kind in MENDER_FAILURE_KINDS) is isinstance(cause, TemporalTimeout)
