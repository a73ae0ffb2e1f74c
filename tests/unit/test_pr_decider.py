"""The PR decider as tables: (memory, input) -> (memory, effects), without Temporal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.config import MenderConfig
from domain.pr_healing import decider
from domain.pr_healing.classifier import Decision, PRAction
from domain.pr_healing.commands import CommandRequest, CommandSource
from domain.pr_healing.effects import (
    Answer,
    AskPermit,
    Audit,
    CheckPermission,
    Context,
    Effect,
    Failed,
    FetchSnapshot,
    Log,
    Notify,
    Plan,
    PRMemory,
    Publish,
    Purpose,
    Record,
    Reply,
    ReportToBreaker,
    RunStrategy,
    StrategyOutcome,
)
from domain.pr_healing.events import EventSource, EventType
from domain.pr_healing.lifecycle import PRLifecycle, PRState
from domain.pr_healing.remediation import Expectation, RemedyOutcome
from domain.pr_healing.remedies import REMEDIES, Strategy
from domain.shared.breaker import BreakerState, Permit
from tests.support.events import HEAD, make_event
from tests.support.snapshots import PR, run, snapshot

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def context(**config: Any) -> Context:
    raw = {"mode": "act", **config}
    return Context(policy=MenderConfig.model_validate(raw).policy_for(PR.repo), now=NOW, run_id="run-1")


def memory(state: PRState | None = PRState.CHECKS_FAILED, **fields: Any) -> PRMemory:
    lifecycle = PRLifecycle(pr=PR, state=state, head_sha=HEAD, retry_counts=fields.pop("retry_counts", {}))
    return PRMemory(lifecycle=lifecycle, **fields)


def kinds(effects: list[Effect]) -> list[str]:
    return [type(e).__name__ for e in effects]


def journaled(m: PRMemory) -> list[tuple[str, str]]:
    """(action, outcome) of every remediation record in the journal."""
    return [
        (e.event.details["action"], e.event.details["outcome"])
        for e in m.recent
        if e.event.type is EventType.REMEDIATION
    ]


FLAKY = snapshot(runs=[run("build"), run("test", "failure", output="connection reset by peer")])
HARD = snapshot(runs=[run("test", "failure", output="AssertionError: 1 != 2")])
BEHIND = snapshot(mergeable_state="behind")
STALE_BEFORE = (PRState.CHECKS_FAILED.value, HEAD)


# --- events -------------------------------------------------------------------------------------


def test_an_opening_is_journaled_projected_published_and_audited_once() -> None:
    m = memory(state=None)
    opened = make_event(PR, EventType.OPENED, key="opened:x")
    step = decider.on_events(m, context(), [opened])
    assert step.memory.lifecycle.state is PRState.CREATED
    assert kinds(step.effects) == ["Record", "Publish", "Audit"]
    assert step.effects[2].entry.action == "pr.detected"  # type: ignore[attr-defined]
    again = decider.on_events(step.memory, context(), [opened])
    assert again.effects == [] and again.memory == step.memory


def test_events_for_a_pr_never_opened_are_published_but_not_projected() -> None:
    step = decider.on_events(memory(state=None), context(), [make_event(PR, EventType.CHECKS_FAILED)])
    assert "Record" not in kinds(step.effects)


@pytest.mark.parametrize(
    ("event_type", "source", "met"),
    [
        pytest.param(EventType.CHECKS_STARTED, EventSource.WEBHOOK, True, id="checks-started-by-github"),
        pytest.param(EventType.CHECKS_STARTED, EventSource.MENDER, False, id="own-record-is-no-effect"),
        pytest.param(EventType.APPROVED, EventSource.WEBHOOK, False, id="unrelated-event"),
    ],
)
def test_an_expected_effect_counts_only_when_github_shows_it(
    event_type: EventType, source: EventSource, met: bool
) -> None:
    expecting = Expectation(action=PRAction.RETRY_CHECKS, attempt=1, deadline=NOW + timedelta(minutes=5))
    m = memory(expecting=expecting)
    step = decider.on_events(m, context(), [make_event(PR, event_type, source=source)])
    assert (step.memory.expecting is None) is met
    assert (ReportToBreaker(True, "RETRY_CHECKS took effect") in step.effects) is met
    assert ((PRAction.RETRY_CHECKS.value, RemedyOutcome.EFFECT) in journaled(step.memory)) is met


# --- the staleness timer -----------------------------------------------------------------------


def test_a_stale_pr_is_verified_before_anything_is_decided() -> None:
    step = decider.on_stale(memory(), context())
    assert step.effects == [FetchSnapshot(Purpose.STALE, before=STALE_BEFORE)]


STALE_CASES = [
    pytest.param(
        memory(),
        FLAKY,
        {},
        ["Log", "Audit", "AskPermit"],
        PRAction.RETRY_CHECKS,
        id="transient-failure-asks-the-breaker-to-rebuild",
    ),
    pytest.param(
        memory(state=PRState.APPROVED),
        BEHIND,
        {},
        ["Log", "Audit", "AskTurn"],
        PRAction.UPDATE_BRANCH,
        id="behind-base-asks-its-merge-queue-for-a-turn",
    ),
    pytest.param(
        memory(state=PRState.APPROVED),
        BEHIND,
        {"remediation": {"merge_queue": {"enabled": False}}},
        ["Log", "Audit", "AskPermit"],
        PRAction.UPDATE_BRANCH,
        id="behind-base-without-a-queue-asks-to-update",
    ),
    pytest.param(
        memory(retry_counts={"rebuild": 3}),
        FLAKY,
        {},
        ["Log", "Audit", "Record", "Publish", "Notify"],
        PRAction.NEEDS_INTERVENTION,
        id="spent-budget-escalates",
    ),
    pytest.param(
        memory(),
        HARD,
        {},
        ["Log", "Audit", "Record", "Publish", "Notify"],
        PRAction.NEEDS_INTERVENTION,
        id="genuine-failure-goes-to-a-human",
    ),
    pytest.param(
        memory(),
        FLAKY,
        {"mode": "observe"},
        ["Log", "Audit", "Record", "Publish", "Audit"],
        PRAction.RETRY_CHECKS,
        id="observe-mode-records-what-it-would-do",
    ),
    pytest.param(
        memory(state=PRState.CHECKS_RUNNING),
        snapshot(runs=[run("test", None, status="in_progress")]),
        {},
        ["Log"],
        PRAction.NO_ACTION,
        id="running-checks-wait-unaudited",
    ),
]


@pytest.mark.parametrize(("m", "snap", "config", "expected", "action"), STALE_CASES)
def test_a_stale_pr_after_verification(
    m: PRMemory, snap: Any, config: dict[str, Any], expected: list[str], action: PRAction
) -> None:
    before = (m.lifecycle.state.value if m.lifecycle.state else None, HEAD)
    step = decider.resume(m, context(**config), FetchSnapshot(Purpose.STALE, before=before), snap)
    assert kinds(step.effects) == expected
    if expected[-1] in ("AskPermit", "AskTurn"):
        plan = step.effects[-1].plan  # type: ignore[attr-defined]
        assert (plan.decision.action, plan.attempt, plan.head_sha) == (action, 1, HEAD)
    if action is PRAction.NEEDS_INTERVENTION:
        assert step.memory.lifecycle.state is PRState.NEEDS_INTERVENTION
        assert isinstance(step.effects[-1], Notify)
    if config.get("mode") == "observe":
        assert journaled(step.memory) == [(action.value, RemedyOutcome.OBSERVED)]


def test_nothing_is_decided_when_the_pr_moved_while_it_was_read() -> None:
    moved = (PRState.CHECKS_RUNNING.value, HEAD)
    step = decider.resume(memory(), context(), FetchSnapshot(Purpose.STALE, before=moved), FLAKY)
    assert step.effects == []


def test_a_failed_read_is_reported_to_the_breaker_and_decides_nothing() -> None:
    effect = FetchSnapshot(Purpose.STALE, before=STALE_BEFORE)
    step = decider.resume(memory(), context(), effect, Failed("502 Bad Gateway"))
    assert kinds(step.effects) == ["Log", "ReportToBreaker"]
    assert step.effects[1] == ReportToBreaker(False, "refresh failed: 502 Bad Gateway")


def test_an_overdue_effect_is_recorded_as_no_effect_before_deciding_again() -> None:
    expecting = Expectation(action=PRAction.RETRY_CHECKS, attempt=1, deadline=NOW - timedelta(seconds=1))
    m = memory(expecting=expecting, retry_counts={"rebuild": 1})
    step = decider.resume(m, context(), FetchSnapshot(Purpose.STALE, before=STALE_BEFORE), FLAKY)
    assert step.memory.expecting is None
    assert journaled(step.memory)[0] == (PRAction.RETRY_CHECKS.value, RemedyOutcome.NO_EFFECT)
    assert ReportToBreaker(False, "RETRY_CHECKS had no effect") in step.effects
    assert step.effects[-1].plan.attempt == 2  # type: ignore[attr-defined]


def test_an_effect_not_yet_due_holds_any_new_decision() -> None:
    expecting = Expectation(action=PRAction.RETRY_CHECKS, attempt=1, deadline=NOW + timedelta(seconds=30))
    step = decider.resume(
        memory(expecting=expecting), context(), FetchSnapshot(Purpose.STALE, before=STALE_BEFORE), FLAKY
    )
    assert step.effects == [] and step.memory.expecting == expecting


# --- the breaker, the strategy and its result ----------------------------------------------------


def plan_for(action: PRAction, attempt: int = 1, command: CommandRequest | None = None) -> Plan:
    return Plan(decision=Decision(action=action, reason="r"), head_sha=HEAD, attempt=attempt, command=command)


@pytest.mark.parametrize(
    ("action", "attempt", "command", "strategy", "bot"),
    [
        pytest.param(PRAction.RETRY_CHECKS, 1, None, Strategy.REBUILD, None, id="rebuild"),
        pytest.param(PRAction.UPDATE_BRANCH, 2, None, Strategy.UPDATE_BRANCH, None, id="update"),
        pytest.param(PRAction.RETRIGGER_POLICY_BOT, 1, None, Strategy.NUDGE_BOT, "policy", id="policy-bot"),
        pytest.param(
            PRAction.RETRIGGER_MERGE, 1, None, Strategy.NUDGE_BOT, "automerge", id="merge-nudges-first"
        ),
        pytest.param(PRAction.RETRIGGER_MERGE, 2, None, Strategy.MERGE, None, id="merge-then-merges"),
        pytest.param(
            PRAction.RETRIGGER_MERGE,
            1,
            CommandRequest(
                command="/merge", requester="alice", source=CommandSource.API, idempotency_key="k"
            ),
            Strategy.MERGE,
            None,
            id="a-human-merge-merges",
        ),
        pytest.param(PRAction.CLOSE_AND_REOPEN, 1, None, Strategy.CLOSE_AND_REOPEN, None, id="reopen-saga"),
    ],
)
def test_a_granted_permit_counts_the_attempt_and_runs_the_strategy(
    action: PRAction, attempt: int, command: CommandRequest | None, strategy: Strategy, bot: str | None
) -> None:
    plan = plan_for(action, attempt, command)
    step = decider.resume(
        memory(), context(), AskPermit(plan), Permit(granted=True, state=BreakerState.CLOSED)
    )
    assert step.effects == [RunStrategy(replace(plan, started_at=NOW), strategy, bot)]
    budget = REMEDIES[action].budget
    assert step.memory.lifecycle.retry_counts[budget] == attempt
    assert (f"{budget}:command" in step.memory.lifecycle.retry_counts) is (command is not None)


@pytest.mark.parametrize(
    "answer", [Permit(granted=False, state=BreakerState.OPEN, reason="open"), Failed("breaker unreachable")]
)
def test_a_refused_or_unreachable_breaker_pauses_without_counting(answer: Any) -> None:
    step = decider.resume(memory(), context(), AskPermit(plan_for(PRAction.RETRY_CHECKS)), answer)
    assert "RunStrategy" not in kinds(step.effects)
    assert step.memory.lifecycle.retry_counts == {}
    assert journaled(step.memory) == [(PRAction.RETRY_CHECKS.value, RemedyOutcome.PAUSED)]


@pytest.mark.parametrize(
    ("result", "outcome", "expects", "breaker"),
    [
        pytest.param(StrategyOutcome(ok=True, detail="re-run"), RemedyOutcome.ACTED, True, None, id="acted"),
        pytest.param(
            StrategyOutcome(ok=True, noop=True), RemedyOutcome.NOOP, False, None, id="nothing-to-do"
        ),
        pytest.param(
            StrategyOutcome(ok=False, detail="running"), RemedyOutcome.REFUSED, False, None, id="refused"
        ),
        pytest.param(Failed("500"), RemedyOutcome.FAILED, False, False, id="failed"),
    ],
)
def test_the_strategy_result_is_journaled_and_an_action_expects_its_effect(
    result: Any, outcome: str, expects: bool, breaker: bool | None
) -> None:
    plan = plan_for(PRAction.RETRY_CHECKS)
    step = decider.resume(memory(), context(), RunStrategy(plan, Strategy.REBUILD), result)
    assert journaled(step.memory) == [(PRAction.RETRY_CHECKS.value, outcome)]
    assert (step.memory.expecting is not None) is expects
    if expects:
        assert step.memory.expecting.deadline == NOW + timedelta(seconds=300)  # type: ignore[union-attr]
        assert step.memory.expecting.head_sha == HEAD  # type: ignore[union-attr]
    reports = [e for e in step.effects if isinstance(e, ReportToBreaker)]
    assert [r.ok for r in reports] == ([] if breaker is None else [breaker])


def test_a_replacement_is_journaled_before_the_action_that_made_it() -> None:
    replaced = make_event(PR, EventType.REPLACED, key="replaced:7", source=EventSource.MENDER)
    result = StrategyOutcome(ok=True, detail="replaced by #7", replaced=replaced)
    plan = plan_for(PRAction.CLOSE_AND_REOPEN)
    step = decider.resume(memory(), context(), RunStrategy(plan, Strategy.CLOSE_AND_REOPEN), result)
    types = [e.event.type for e in step.memory.recent]
    assert types == [EventType.REPLACED, EventType.REMEDIATION]


def test_an_escalation_is_audited_with_the_notice_or_its_failure() -> None:
    step = decider.resume(
        memory(retry_counts={"rebuild": 3}),
        context(),
        FetchSnapshot(Purpose.STALE, before=STALE_BEFORE),
        FLAKY,
    )
    notify = step.effects[-1]
    assert isinstance(notify, Notify) and "budget is spent" in notify.reason
    failed = decider.resume(step.memory, context(), notify, Failed("slack down"))
    assert kinds(failed.effects) == ["Log", "Audit"]
    assert failed.effects[1].entry.outcome == "failed"  # type: ignore[attr-defined]


# --- commands ---------------------------------------------------------------------------------


def request(command: str, source: CommandSource = CommandSource.COMMENT, key: str = "c1") -> CommandRequest:
    return CommandRequest(command=command, requester="alice", source=source, idempotency_key=key)


def test_a_comment_command_needs_permission_and_a_denial_is_answered_on_the_pr() -> None:
    req = request("/rebuild")
    step = decider.on_command(memory(), context(), req)
    assert kinds(step.effects) == ["CheckPermission"]
    check = step.effects[0]
    assert isinstance(check, CheckPermission)
    denied = decider.resume(step.memory, context(), check, Failed("404"))
    assert kinds(denied.effects) == ["Record", "Publish", "Audit", "Reply", "Answer"]
    answer = denied.effects[-1]
    assert isinstance(answer, Answer) and not answer.answer.accepted
    assert "could not check @alice's permission: 404" in answer.answer.reason
    assert isinstance(denied.effects[3], Reply) and denied.effects[3].body.startswith("`/rebuild` refused")
    assert decider.duplicate_of(denied.memory, req) == answer.answer.model_copy(update={"duplicate": True})


def test_an_api_command_reads_the_live_pr_then_runs_the_same_act() -> None:
    req = request("/rebuild", CommandSource.API)
    step = decider.on_command(memory(), context(), req)
    fetch = step.effects[0]
    assert isinstance(fetch, FetchSnapshot) and fetch.purpose is Purpose.COMMAND
    acted = decider.resume(step.memory, context(), fetch, FLAKY)
    ask = acted.effects[-1]
    assert isinstance(ask, AskPermit) and ask.plan.command == req
    assert ask.plan.decision == Decision(action=PRAction.RETRY_CHECKS, reason="/rebuild by @alice")


def test_a_command_invalid_in_the_state_is_refused_without_reading_github() -> None:
    step = decider.on_command(
        memory(state=PRState.CHECKS_RUNNING), context(), request("/merge", CommandSource.API)
    )
    assert "FetchSnapshot" not in kinds(step.effects)
    answer = step.effects[-1]
    assert isinstance(answer, Answer) and not answer.answer.accepted


def test_cancel_takes_effect_on_arrival_and_is_answered() -> None:
    req = request("/cancel", CommandSource.API)
    m = decider.arrives(memory(), req)
    assert m.cancelled
    step = decider.on_command(m, context(), req)
    answer = step.effects[-1]
    assert isinstance(answer, Answer)
    assert answer.answer.reason == "Automatic remediation cancelled by @alice"
    cancelled = decider.resume(
        step.memory, context(), FetchSnapshot(Purpose.STALE, before=STALE_BEFORE), FLAKY
    )
    assert "AskPermit" not in kinds(cancelled.effects)


def test_answers_are_kept_for_the_last_hundred_keys() -> None:
    m = memory()
    for n in range(105):
        m = decider.on_command(m, context(), request("/merge", CommandSource.API, key=f"k{n}")).memory
    assert len(m.commands) == 100 and m.commands[0].request.idempotency_key == "k5"


# --- timers ------------------------------------------------------------------------------------


def test_the_wait_is_the_state_threshold_or_an_earlier_effect_deadline() -> None:
    ctx = context(lifecycle={"staleness_seconds": {"CHECKS_FAILED": 600}})
    assert decider.seconds_to_wait(memory(), ctx) == 600
    expecting = Expectation(action=PRAction.RETRY_CHECKS, attempt=1, deadline=NOW + timedelta(seconds=42))
    assert decider.seconds_to_wait(memory(expecting=expecting), ctx) == 42


def test_a_terminal_pr_waits_out_its_grace_period_then_sets_its_expiry() -> None:
    ctx = context(lifecycle={"terminal_grace_seconds": 60})
    m = memory(state=PRState.MERGED, settled_at=NOW - timedelta(seconds=45))
    assert decider.seconds_to_wait(m, ctx) == 15
    closing = decider.closing(m, ctx)
    assert closing.effects == [Record(m.lifecycle, (), expires_at=NOW + timedelta(days=30))]
    assert decider.closing(memory(), ctx).effects == []


def test_effects_that_need_an_answer_say_so() -> None:
    feeding = {Record, FetchSnapshot, AskPermit, RunStrategy, Notify, CheckPermission}
    for cls in (Record, Publish, Audit, Log, ReportToBreaker, Reply, Answer, *feeding):
        assert cls.feeds_back is (cls in feeding), cls.__name__
    assert replace(plan_for(PRAction.RETRY_CHECKS), attempt=3).attempt == 3


def test_facts_found_by_verification_move_the_pr_on_and_hold_the_decision() -> None:
    before = (PRState.CHECKS_PASSED.value, HEAD)
    m = memory(state=PRState.CHECKS_PASSED)
    step = decider.resume(m, context(), FetchSnapshot(Purpose.STALE, before=before), BEHIND)
    assert step.memory.lifecycle.state is not PRState.CHECKS_PASSED
    assert step.memory.recent and all(e.event.source is EventSource.RECONCILER for e in step.memory.recent)
    assert "AskPermit" not in kinds(step.effects)


OTHER = "c" * 40


@pytest.mark.parametrize(
    ("action", "event_type", "head", "seconds", "met"),
    [
        pytest.param(PRAction.RETRY_CHECKS, EventType.CHECKS_STARTED, HEAD, 1, True, id="rebuild-same-head"),
        pytest.param(
            PRAction.RETRY_CHECKS, EventType.CHECKS_STARTED, OTHER, 1, False, id="rebuild-other-head"
        ),
        pytest.param(
            PRAction.RETRY_CHECKS, EventType.CHECKS_STARTED, HEAD, -1, False, id="older-than-action"
        ),
        pytest.param(PRAction.UPDATE_BRANCH, EventType.SYNCHRONIZE, OTHER, 1, True, id="update-moves-head"),
        pytest.param(PRAction.UPDATE_BRANCH, EventType.SYNCHRONIZE, HEAD, 1, False, id="update-same-head"),
    ],
)
def test_an_effect_must_be_about_the_right_head_and_after_the_action(
    action: PRAction, event_type: EventType, head: str, seconds: int, met: bool
) -> None:
    expecting = Expectation(
        action=action, attempt=1, deadline=NOW + timedelta(minutes=5), head_sha=HEAD, since=NOW
    )
    event = make_event(PR, event_type, head_sha=head).model_copy(
        update={"occurred_at": NOW + timedelta(seconds=seconds)}
    )
    assert expecting.met_by(event) is met


def test_a_projection_the_store_refused_is_sent_again_with_the_next_one() -> None:
    opened = decider.on_events(memory(state=None), context(), [make_event(PR, EventType.OPENED)])
    record = opened.effects[0]
    assert isinstance(record, Record) and len(record.entries) == 1
    refused = decider.resume(opened.memory, context(), record, Failed("database is locked"))
    assert kinds(refused.effects) == ["Log"] and len(refused.memory.unprojected) == 1
    later = decider.on_events(refused.memory, context(), [make_event(PR, EventType.CHECKS_STARTED)])
    again = later.effects[0]
    assert isinstance(again, Record) and [e.event.type for e in again.entries] == [
        EventType.OPENED,
        EventType.CHECKS_STARTED,
    ]
    assert later.memory.unprojected == []
    assert decider.resume(later.memory, context(), again, None).effects == []


def test_the_store_backlog_is_bounded_and_says_what_it_dropped() -> None:
    m = memory()
    entries = tuple(decider.on_events(m, context(), [make_event(PR, EventType.APPROVED)]).memory.recent) * 600
    step = decider.resume(m, context(), Record(m.lifecycle, entries), Failed("down"))
    assert len(step.memory.unprojected) == decider.UNPROJECTED_KEPT
    assert "100 journal lines not projected" in step.effects[-1].message  # type: ignore[attr-defined]
