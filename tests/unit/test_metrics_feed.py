"""Audit entries move the right counters; LLM usage becomes tokens and cost."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from domain.shared.audit import AuditEntry
from runtime import metrics
from runtime.metrics_feed import observe_audit


def count(metric, *labels: str) -> float:
    return (metric.labels(*labels) if labels else metric)._value.get()


def entry(kind: str, result: str, target: str = "acme/api#1", **details: object) -> AuditEntry:
    return AuditEntry(action=kind, actor="mender", outcome=result, target=target, details=details)


def test_audit_rows_to_counters() -> None:
    cases = [
        (
            entry("pr.remediation", "failed", action="UPDATE_BRANCH", outcome="no effect"),
            metrics.REMEDIATIONS,
            ("UPDATE_BRANCH", "not_effective"),
        ),
        (entry("pr.escalated", "succeeded"), metrics.ESCALATIONS, ("pr", "succeeded")),
        (entry("pr.command", "refused"), metrics.COMMANDS, ("refused",)),
        (entry("breaker.change", "open", target="breaker/github"), metrics.BREAKER_TRIPS, ("github",)),
        (entry("ci.diagnosed", "flaky_test", action="retry"), metrics.CI_FAILURES, ("flaky_test", "retry")),
        (entry("ci.remediation", "succeeded"), metrics.CI_FIXES, ("succeeded",)),
        (entry("ci.approval", "timed_out"), metrics.APPROVALS, ("timed_out",)),
    ]
    for audited, metric, labels in cases:
        before = count(metric, *labels)
        observe_audit(audited, breaker_scopes=["github"])
        assert count(metric, *labels) == before + 1, audited.action
    assert count(metrics.BREAKER_STATE, "github") == 2  # open
    observe_audit(entry("breaker.change", "closed", target="breaker/github"), breaker_scopes=["github"])
    assert count(metrics.BREAKER_STATE, "github") == 0
    before = count(metrics.BREAKER_TRIPS, "other")
    observe_audit(entry("breaker.change", "open", target="breaker/x-1234"), breaker_scopes=["github"])
    assert count(metrics.BREAKER_TRIPS, "other") == before + 1  # unconfigured scopes stay bounded


def test_llm_usage_tokens_and_cost() -> None:
    prompt, completion, cost = (
        count(metrics.LLM_TOKENS, "prompt"),
        count(metrics.LLM_TOKENS, "completion"),
        count(metrics.LLM_COST),
    )
    metrics.llm_tokens(SimpleNamespace(prompt_tokens=1500, completion_tokens=500), usd_per_1k=0.002)
    metrics.llm_tokens(None, usd_per_1k=0.002)  # a reply without usage counts nothing
    assert count(metrics.LLM_TOKENS, "prompt") == prompt + 1500
    assert count(metrics.LLM_TOKENS, "completion") == completion + 500
    assert abs(count(metrics.LLM_COST) - cost - 0.004) < 1e-12  # 2,000 tokens at $0.002 per 1,000


def test_journal_latencies_see_state_changes_of_the_same_batch() -> None:
    from datetime import UTC, datetime, timedelta

    from domain.pr_healing.events import EventType, PREvent, PRRef
    from domain.pr_healing.lifecycle import JournalEntry, PRState, Transition, TransitionOutcome
    from runtime.metrics_feed import observe_journal

    t0 = datetime(2026, 12, 1, tzinfo=UTC)
    pr = PRRef(repo="acme/api", number=1)

    def line(
        key: str, kind: EventType, seconds: float, to: PRState | None = None, **details: object
    ) -> JournalEntry:
        outcome = TransitionOutcome.APPLIED if to else TransitionOutcome.NOTED
        return JournalEntry(
            event=PREvent(
                key=key, pr=pr, type=kind, occurred_at=t0 + timedelta(seconds=seconds), details=details
            ),
            transition=Transition(
                outcome=outcome, from_state=PRState.CHECKS_PASSED if to else None, to_state=to
            ),
        )

    stall = metrics.STALL_TO_ACTION.labels("RETRIGGER_MERGE")
    effect = metrics.ACTION_TO_EFFECT.labels("RETRIGGER_MERGE")
    stall_sum, effect_sum = stall._sum.get(), effect._sum.get()
    observe_journal(
        [],
        [
            line("approved", EventType.APPROVED, 0, PRState.APPROVED),
            line("r1", EventType.REMEDIATION, 40, action="RETRIGGER_MERGE", outcome="acted"),
            line("r2", EventType.REMEDIATION, 55, action="RETRIGGER_MERGE", outcome="effect seen"),
        ],
    )
    assert stall._sum.get() - stall_sum == pytest.approx(40)  # approved at 0 s, acted at 40 s
    assert effect._sum.get() - effect_sum == pytest.approx(15)  # acted at 40 s, effect at 55 s
