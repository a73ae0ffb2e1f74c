"""The PR decider after a worker crash (the chaos tests' kill -9 right after GitHub applied a write):
the retried step reports what GitHub shows ("found after a retry"), and the facts that arrived while the
worker was down (the bot's answer, the merge) are folded after it in one batch. Table-tested."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.config import MenderConfig
from domain.pr_healing import decider
from domain.pr_healing.classifier import Decision, PRAction
from domain.pr_healing.effects import Context, Plan, PRMemory, Record, RunStrategy, StrategyOutcome
from domain.pr_healing.events import EventType, PREvent
from domain.pr_healing.lifecycle import PRLifecycle, PRState
from domain.pr_healing.remediation import RemedyOutcome
from domain.pr_healing.remedies import Strategy
from tests.support.events import HEAD, make_event
from tests.support.snapshots import PR

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NEW_HEAD = "b" * 40


def context(now: datetime = NOW) -> Context:
    policy = MenderConfig.model_validate({"mode": "act"}).policy_for(PR.repo)
    return Context(policy=policy, now=now, run_id="run-1")


def after(event: PREvent, seconds: float) -> PREvent:
    return event.model_copy(update={"occurred_at": NOW + timedelta(seconds=seconds)})


# (state before, action, strategy, the retry's report, facts that came while the worker was down, end state)
CASES = [
    pytest.param(
        PRState.POLICY_PASSED,
        PRAction.RETRIGGER_APPROVER_BOT,
        Strategy.NUDGE_BOT,
        "label 'approver-bot:recheck' found after a retry",
        [EventType.APPROVED, EventType.MERGED],
        PRState.MERGED,
        id="approver-label-then-merged",
    ),
    pytest.param(
        PRState.APPROVED,
        PRAction.RETRIGGER_MERGE,
        Strategy.MERGE,
        "merged (found after a retry)",
        [EventType.MERGED],
        PRState.MERGED,
        id="mender-merge",
    ),
    pytest.param(
        PRState.CHECKS_PASSED,
        PRAction.UPDATE_BRANCH,
        Strategy.UPDATE_BRANCH,
        f"updated (found after a retry): head {NEW_HEAD[:12]}",
        [EventType.SYNCHRONIZE],
        PRState.CREATED,
        id="branch-update",
    ),
]


@pytest.mark.parametrize(("state", "action", "strategy", "detail", "arrived", "end"), CASES)
def test_a_step_retried_after_a_crash_is_acted_and_its_effect_is_seen(
    state: PRState, action: PRAction, strategy: Strategy, detail: str, arrived: list[EventType], end: PRState
) -> None:
    m = PRMemory(lifecycle=PRLifecycle(pr=PR, state=state, head_sha=HEAD, retry_counts={}))
    plan = replace(Plan(decision=Decision(action=action, reason="r"), head_sha=HEAD), started_at=NOW)
    bot = "approver" if strategy is Strategy.NUDGE_BOT else None
    retried = decider.resume(
        m, context(), RunStrategy(plan, strategy, bot), StrategyOutcome(ok=True, detail=detail)
    )
    assert retried.memory.expecting is not None  # acted: its effect is awaited, not "nothing to do"
    events = [
        after(make_event(PR, kind, head_sha=NEW_HEAD if kind is EventType.SYNCHRONIZE else HEAD), n)
        for n, kind in enumerate(arrived, start=1)
    ]
    folded = decider.on_events(retried.memory, context(NOW + timedelta(seconds=30)), events)
    assert folded.memory.lifecycle.state is end
    assert folded.memory.expecting is None
    outcomes = [
        e.event.details["outcome"] for e in folded.memory.recent if e.event.type is EventType.REMEDIATION
    ]
    assert outcomes == [RemedyOutcome.ACTED, RemedyOutcome.EFFECT]
    records = [e for e in folded.effects if isinstance(e, Record)]
    assert records and records[-1].lifecycle.state is end  # the store is told what GitHub shows
