"""A duplicate command waits only for the answer of the first one (`PRLifecycleWorkflow.command`
waits until `decider.duplicate_of` gives one): every way a command can end records that answer, so a
duplicate never waits forever. Driven through the pure decider, one script of results per ending."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.pr import Permission
from domain.config import MenderConfig
from domain.pr_healing import decider
from domain.pr_healing.commands import CommandRequest, CommandSource
from domain.pr_healing.effects import (
    Answer,
    AskPermit,
    CheckPermission,
    Context,
    Failed,
    FetchSnapshot,
    Notify,
    PRMemory,
    Record,
    RunStrategy,
    StrategyOutcome,
)
from domain.pr_healing.lifecycle import PRLifecycle, PRState
from domain.shared.breaker import BreakerState, Permit
from domain.shared.notifications import NoticeResult
from tests.support.events import HEAD
from tests.support.snapshots import PR, run, snapshot

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FLAKY = snapshot(runs=[run("build"), run("test", "failure", output="connection reset by peer")])
GRANTED = Permit(granted=True, state=BreakerState.CLOSED)
ALLOWED = Permission(permitted=True, reason="write")


def drive(
    mode: str, state: PRState, request: CommandRequest, results: dict[type, Any]
) -> tuple[PRMemory, list]:
    """Run the command through the decider, answering each effect that feeds back from `results`."""
    ctx = Context(
        policy=MenderConfig.model_validate({"mode": mode}).policy_for(PR.repo), now=NOW, run_id="run-1"
    )
    m = PRMemory(lifecycle=PRLifecycle(pr=PR, state=state, head_sha=HEAD))
    m = decider.arrives(m, request)
    step = decider.on_command(m, ctx, request)
    done, pending = [], list(step.effects)
    m = step.memory
    while pending:
        effect = pending.pop(0)
        done.append(effect)
        if effect.feeds_back:
            result = None if isinstance(effect, Record) else results[type(effect)]
            step = decider.resume(m, ctx, effect, result)
            m = step.memory
            pending = [*step.effects, *pending]
    return m, done


@pytest.mark.parametrize(
    ("command", "source", "state", "mode", "results"),
    [
        pytest.param("/merge", CommandSource.API, PRState.CHECKS_RUNNING, "act", {}, id="invalid-in-state"),
        pytest.param(
            "/rebuild",
            CommandSource.COMMENT,
            PRState.CHECKS_FAILED,
            "act",
            {CheckPermission: Permission(permitted=False, reason="read only")},
            id="no-permission",
        ),
        pytest.param(
            "/rebuild",
            CommandSource.COMMENT,
            PRState.CHECKS_FAILED,
            "act",
            {CheckPermission: Failed("GitHub answered 502")},
            id="permission-unknown",
        ),
        pytest.param(
            "/rebuild",
            CommandSource.API,
            PRState.CHECKS_FAILED,
            "act",
            {FetchSnapshot: Failed("GitHub answered 502")},
            id="pr-unreadable",
        ),
        pytest.param(
            "/rebuild",
            CommandSource.API,
            PRState.CHECKS_FAILED,
            "act",
            {FetchSnapshot: FLAKY, AskPermit: Permit(granted=False, state=BreakerState.OPEN)},
            id="breaker-open",
        ),
        pytest.param(
            "/rebuild",
            CommandSource.COMMENT,
            PRState.CHECKS_FAILED,
            "act",
            {
                CheckPermission: ALLOWED,
                FetchSnapshot: FLAKY,
                AskPermit: GRANTED,
                RunStrategy: Failed("GitHub answered 422", kind="GitHubError"),
            },
            id="strategy-failed",
        ),
        pytest.param(
            "/rebuild",
            CommandSource.API,
            PRState.CHECKS_FAILED,
            "act",
            {
                FetchSnapshot: FLAKY,
                AskPermit: GRANTED,
                RunStrategy: Failed("Heartbeat timeout", kind="ActivityTimeout"),
            },
            id="worker-died",
        ),
        pytest.param(
            "/rebuild",
            CommandSource.API,
            PRState.CHECKS_FAILED,
            "act",
            {
                FetchSnapshot: FLAKY,
                AskPermit: GRANTED,
                RunStrategy: StrategyOutcome(ok=True, detail="re-run"),
            },
            id="acted",
        ),
        pytest.param(
            "/rebuild",
            CommandSource.API,
            PRState.CHECKS_FAILED,
            "observe",
            {FetchSnapshot: FLAKY},
            id="observe",
        ),
        pytest.param("/cancel", CommandSource.API, PRState.CHECKS_FAILED, "act", {}, id="cancel"),
        pytest.param(
            "/rebuild",
            CommandSource.API,
            PRState.CHECKS_FAILED,
            "act",
            {FetchSnapshot: snapshot(), Notify: NoticeResult(channel="C1", ts="1.0")},
            id="moved-on-meanwhile",
        ),
    ],
)
def test_every_ending_answers_so_a_duplicate_never_waits_forever(
    command: str, source: CommandSource, state: PRState, mode: str, results: dict[type, Any]
) -> None:
    request = CommandRequest(command=command, requester="alice", source=source, idempotency_key="k1")
    m, done = drive(mode, state, request, results)
    [answer] = [e for e in done if isinstance(e, Answer)]
    assert decider.duplicate_of(m, request) == answer.answer.model_copy(update={"duplicate": True})
